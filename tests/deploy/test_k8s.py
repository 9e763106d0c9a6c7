"""deploy/k8s: every overlay rendered by kustomize and validated against the Kubernetes schemas."""
from __future__ import annotations

import dataclasses

import pytest

from shared.config import Settings
from tests.deploy import checks

SETTING_NAMES = {f.name for f in dataclasses.fields(Settings)} - {"extra"}

TARGETS = ("base",) + checks.OVERLAYS


@pytest.mark.parametrize("target", TARGETS)
def test_renders_and_matches_the_kubernetes_schemas(rendered, target):
    resources = rendered[target]
    assert len(resources) > 10
    assert checks.k8s_schema_errors(resources) == []


@pytest.mark.parametrize("target", TARGETS)
def test_every_pod_is_hardened_sized_and_probed(rendered, target):
    assert checks.pod_policy_errors(rendered[target]) == []


@pytest.mark.parametrize("target", TARGETS)
def test_references_resolve_and_scaling_respects_partitions(rendered, target):
    assert checks.k8s_reference_errors(rendered[target]) == []


@pytest.mark.parametrize("target", TARGETS)
def test_every_process_is_deployed_with_its_command(rendered, target, processes):
    assert checks.k8s_process_errors(rendered[target], processes) == []


@pytest.mark.parametrize("target", TARGETS)
def test_everything_lives_in_the_jalin_namespace(rendered, target):
    for res in rendered[target]:
        if res["kind"] == "Namespace":
            assert res["metadata"]["name"] == "jalin"
        else:
            assert res["metadata"].get("namespace") == "jalin", f"{res['kind']}/{res['metadata']['name']}"


def test_base_has_every_building_block(rendered):
    kinds = {}
    for res in rendered["base"]:
        kinds.setdefault(res["kind"], set()).add(res["metadata"]["name"])
    assert kinds["Deployment"] == set(checks.PROCESSES)
    assert kinds["Service"] == {"partners-api", "agreements-api", "evaluation-api"}
    assert kinds["HorizontalPodAutoscaler"] == {"partners-api", "agreements-api", "evaluation-api",
                                                "evaluation-projector"}
    assert kinds["Job"] == {"jalin-init"}
    assert {"Namespace", "ConfigMap", "Secret", "Ingress", "PodDisruptionBudget"} <= kinds.keys()
    namespace = next(r for r in rendered["base"] if r["kind"] == "Namespace")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    ingress = next(r for r in rendered["base"] if r["kind"] == "Ingress")
    assert ingress["spec"]["tls"][0]["secretName"] == "jalin-tls"


def test_production_uses_the_operators_and_pinned_images(rendered):
    from tests.support import load_stack

    resources = rendered["production"]
    by_kind = {}
    for res in resources:
        by_kind.setdefault(res["kind"], []).append(res)
    kafka = by_kind["Kafka"][0]
    assert kafka["apiVersion"] == "kafka.strimzi.io/v1"
    assert kafka["spec"]["kafka"]["version"] == load_stack().KAFKA_VERSION  # what the tests run
    assert sum(p["spec"]["replicas"] for p in by_kind["KafkaNodePool"]) >= 3
    assert {t["spec"]["replicas"] for t in by_kind["KafkaTopic"]} == {3}
    mongo = by_kind["MongoDBCommunity"][0]
    assert mongo["spec"]["members"] >= 3
    uri_secret = mongo["spec"]["users"][0]["connectionStringSecretName"]
    assert "Job" not in by_kind  # KafkaTopic resources create the topics (replicated)
    for dep in by_kind["Deployment"]:
        container = dep["spec"]["template"]["spec"]["containers"][0]
        assert container["image"] == "registry.example/jalin/jalin:0.1.0"
        env = {e["name"]: e for e in container.get("env", [])}
        assert env["JALIN_MONGO_URI"]["valueFrom"]["secretKeyRef"]["name"] == uri_secret
    cm, _ = checks.config_data(resources)
    assert cm["JALIN_ENV"] == "production"
    assert "HS256" not in cm["JALIN_JWT_ALGORITHMS"]
    assert cm["JALIN_JWT_JWKS"].startswith("https://")
    # The overlay's settings pass the start-up checks once the cluster's Secret holds real values.
    settings = Settings.from_env({k.removeprefix("JALIN_").lower(): v for k, v in cm.items()
                                  if k.removeprefix("JALIN_").lower() in SETTING_NAMES}
                                 | {"jwt_secret": "0" * 64})
    assert settings.jwt_jwks == cm["JALIN_JWT_JWKS"] and not settings.development
    assert cm["JALIN_KAFKA_BOOTSTRAP"] == f"{kafka['metadata']['name']}-kafka-bootstrap:9092"
    replicas = {d["metadata"]["name"]: d["spec"].get("replicas") for d in by_kind["Deployment"]}
    assert replicas["partners-relay"] == 2 and replicas["agreements-scheduler"] == 1
    hpas = {h["metadata"]["name"]: h["spec"] for h in by_kind["HorizontalPodAutoscaler"]}
    assert hpas["partners-api"]["minReplicas"] >= 3


def _settings_of(resources) -> dict:
    cm, secret = checks.config_data(resources)
    values = {**cm, **secret}
    return {k.removeprefix("JALIN_").lower(): v for k, v in values.items()
            if k.removeprefix("JALIN_").lower() in SETTING_NAMES}


def test_the_base_placeholders_refuse_to_start(rendered):
    """Applied as is, the base's CHANGE-ME secret is refused, naming the problem (fail closed)."""
    with pytest.raises(RuntimeError, match="placeholder"):
        Settings.from_env(_settings_of(rendered["base"]))
    dev = Settings.from_env(_settings_of(rendered["dev"]))  # the dev overlay is development
    assert dev.development


def test_dev_runs_its_own_kafka_and_mongodb(rendered):
    statefulsets = {r["metadata"]["name"]: r for r in rendered["dev"] if r["kind"] == "StatefulSet"}
    images = {name: s["spec"]["template"]["spec"]["containers"][0]["image"] for name, s in statefulsets.items()}
    assert images["kafka"].startswith("apache/kafka:4.") and images["mongodb"].startswith("mongo:8.")
    cm, secret = checks.config_data(rendered["dev"])
    assert cm["JALIN_KAFKA_BOOTSTRAP"] == "kafka:9092"
    assert "replicaSet=rs0" in secret["JALIN_MONGO_URI"]
