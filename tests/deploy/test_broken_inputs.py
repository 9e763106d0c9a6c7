"""Each validator FAILS on a deliberately broken input, so the checks above cannot pass silently."""
from __future__ import annotations

import copy

import pytest
import yaml

from tests.deploy import checks


def _errors_mention(errors: list[str], *words: str) -> bool:
    return any(all(w in e for w in words) for e in errors)


# ------------------------------------------------------------------------------------------ Compose

def test_compose_schema_rejects_a_broken_file(compose_doc):
    broken = copy.deepcopy(compose_doc)
    broken["services"]["partners-api"]["ports"] = 8001                 # not a list
    broken["services"]["partners-relay"]["depends_on"]["kafka"]["condition"] = "whenever"
    broken["services"]["kafka"]["restart_policy"] = "always"           # no such key
    broken["servces"] = {}                                             # typo at the top level
    errors = checks.compose_schema_errors(broken)
    assert _errors_mention(errors, "services/partners-api/ports")
    assert _errors_mention(errors, "services/partners-relay/depends_on")
    assert _errors_mention(errors, "restart_policy")
    assert _errors_mention(errors, "servces")


def test_docker_compose_itself_rejects_a_broken_file(compose_raw, compose_env, tmp_path):
    broken = copy.deepcopy(compose_raw)
    broken["services"]["partners-relay"]["depends_on"]["brokr"] = {"condition": "service_healthy"}
    result = checks.docker_compose_config(yaml.safe_dump(broken), compose_env, tmp_path)
    assert result.returncode != 0 and "brokr" in result.stderr, result.stderr
    broken = copy.deepcopy(compose_raw)
    broken["services"]["kafka"]["healthcheck"]["interval"] = "often"
    result = checks.docker_compose_config(yaml.safe_dump(broken), compose_env, tmp_path)
    assert result.returncode != 0 and "often" in result.stderr, result.stderr


def test_compose_semantics_reject_dangling_references_and_weak_settings(compose_doc):
    broken = copy.deepcopy(compose_doc)
    services = broken["services"]
    services["partners-relay"]["depends_on"]["brokr"] = {"condition": "service_started"}
    del services["kafka"]["healthcheck"]                          # others wait for it to be healthy
    services["mongo"]["volumes"].append("mongo-logs:/var/log/mongodb")   # undeclared volume
    services["mongo"]["ports"] = ["27017:27017"]                  # database exposed
    services["kafka"]["image"] = "apache/kafka:latest"
    services["evaluation-api"]["read_only"] = False
    services["evaluation-api"]["cap_drop"] = []
    services["agreements-scheduler"].pop("healthcheck")
    errors = checks.compose_semantic_errors(broken)
    for words in (("brokr",), ("waits for kafka", "no healthcheck"), ("mongo-logs",), ("mongo", "publishes"),
                  ("kafka", "not pinned"), ("evaluation-api", "read_only"), ("evaluation-api", "cap_drop"),
                  ("agreements-scheduler", "without a healthcheck")):
        assert _errors_mention(errors, *words), (words, errors)


def test_compose_process_check_rejects_a_missing_or_changed_process(compose_doc, processes):
    broken = copy.deepcopy(compose_doc)
    del broken["services"]["evaluation-projector"]
    broken["services"]["partners-relay"]["command"] = ["python", "-m", "services.partners.workers", "relai"]
    errors = checks.compose_process_errors(broken, processes)
    assert _errors_mention(errors, "evaluation-projector", "not a compose service")
    assert _errors_mention(errors, "partners-relay", "relai")


def test_dotenv_check_rejects_an_undocumented_variable(compose_text, dotenv):
    errors = checks.dotenv_errors(compose_text + "\nx-extra: ${UNDOCUMENTED_SETTING}\n", dotenv)
    assert _errors_mention(errors, "UNDOCUMENTED_SETTING", "not documented")


# ------------------------------------------------------------------------------------------ Kubernetes

BROKEN_DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: broken
  namespace: jalin
  labels: {app.kubernetes.io/part-of: jalin}
spec:
  replicas: "two"
  selector:
    matchLabels: {app: broken}
  template:
    metadata:
      labels: {app: broken}
    spec:
      containers:
        - name: broken
          image: jalin:latest
          imagePullPolicyy: Always
          securityContext:
            runAsUser: 0
"""


def test_kubernetes_schemas_reject_a_broken_manifest():
    errors = checks.k8s_schema_errors([yaml.safe_load(BROKEN_DEPLOYMENT)])
    assert _errors_mention(errors, "Deployment/broken", "replicas")  # kubernetes-validate: first error only
    typo = yaml.safe_load(BROKEN_DEPLOYMENT)
    typo["spec"]["replicas"] = 2
    errors = checks.k8s_schema_errors([typo])
    assert _errors_mention(errors, "Deployment/broken", "imagePullPolicyy")  # strict: unknown fields are errors


def test_kubernetes_schemas_reject_unknown_kinds_instead_of_skipping_them():
    errors = checks.k8s_schema_errors([{"apiVersion": "example.com/v1", "kind": "Widget",
                                        "metadata": {"name": "w"}}])
    assert _errors_mention(errors, "Widget/w", "no schema")


def test_crd_schemas_reject_broken_custom_resources(rendered):
    resources = copy.deepcopy(rendered["production"])
    topic = next(r for r in resources if r["kind"] == "KafkaTopic")
    topic["spec"]["partitions"] = "six"
    kafka = next(r for r in resources if r["kind"] == "Kafka")
    kafka["spec"]["kafka"]["listeners"][0]["type"] = "public"
    kafka["spec"]["zookeeper"] = {"replicas": 3}                  # gone in Strimzi 1.x
    mongo = next(r for r in resources if r["kind"] == "MongoDBCommunity")
    del mongo["spec"]["users"][0]["roles"]
    errors = checks.k8s_schema_errors([topic, kafka, mongo])
    assert _errors_mention(errors, f"KafkaTopic/{topic['metadata']['name']}", "partitions")
    assert _errors_mention(errors, "Kafka/jalin-kafka", "type")
    assert _errors_mention(errors, "Kafka/jalin-kafka", "zookeeper")
    assert _errors_mention(errors, "MongoDBCommunity/jalin-mongodb", "roles")


def test_pod_policy_rejects_a_root_writable_unprobed_pod(rendered):
    resources = copy.deepcopy(rendered["production"])
    deployment = next(r for r in resources if r["kind"] == "Deployment" and r["metadata"]["name"] == "partners-api")
    pod = deployment["spec"]["template"]["spec"]
    pod["securityContext"] = {"runAsUser": 0}
    container = pod["containers"][0]
    container["securityContext"] = {"readOnlyRootFilesystem": False}
    del container["readinessProbe"]
    del container["resources"]["limits"]
    container["image"] = "jalin:latest"
    errors = checks.pod_policy_errors([deployment]) + checks.pod_policy_errors(
        [yaml.safe_load(BROKEN_DEPLOYMENT)])
    for words in (("partners-api", "runAsNonRoot"), ("partners-api", "uid 0"), ("partners-api", "allowPrivilegeEscalation"),
                  ("partners-api", "drop ALL"), ("partners-api", "readOnlyRootFilesystem"),
                  ("partners-api", "readiness"), ("partners-api", "memory limit"), ("partners-api", "not pinned"),
                  ("partners-api", "seccomp"), ("broken", "uid 0")):
        assert _errors_mention(errors, *words), (words, errors)


def test_reference_check_rejects_dangling_references_and_too_many_consumers(rendered):
    resources = copy.deepcopy(rendered["production"])
    hpa = next(r for r in resources if r["kind"] == "HorizontalPodAutoscaler"
               and r["metadata"]["name"] == "evaluation-projector")
    hpa["spec"]["maxReplicas"] = 12                               # > 6 partitions
    service = next(r for r in resources if r["kind"] == "Service" and r["metadata"]["name"] == "partners-api")
    service["spec"]["selector"] = {"app.kubernetes.io/name": "partner-api"}
    ingress = next(r for r in resources if r["kind"] == "Ingress")
    ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] = "dashboard"
    topic = next(r for r in resources if r["kind"] == "KafkaTopic")
    topic["spec"]["config"]["retention.ms"] = 604800000
    errors = checks.k8s_reference_errors(resources)
    for words in (("evaluation-projector", "maxReplicas 12"), ("Service/partners-api", "selects no pod"),
                  ("backend Service dashboard",), ("retention.ms",)):
        assert _errors_mention(errors, *words), (words, errors)


def test_process_check_rejects_a_missing_deployment(rendered, processes):
    resources = [r for r in rendered["dev"] if r["metadata"]["name"] != "agreements-scheduler"]
    assert _errors_mention(checks.k8s_process_errors(resources, processes), "agreements-scheduler")


def test_kustomize_build_fails_on_a_broken_kustomization(tmp_path):
    (tmp_path / "kustomization.yaml").write_text("resources:\n  - missing.yaml\n")
    with pytest.raises(RuntimeError, match="kustomize build"):
        checks.kustomize_build(tmp_path)


# ------------------------------------------------------------------------------------------ Dockerfile

ROOT_DOCKERFILE = """\
FROM python:latest
ADD https://example.invalid/app.tar.gz /app/
RUN apt-get update && apt-get install -y gcc
ENV API_TOKEN=abc123
USER root
CMD python -m app
"""


def test_dockerfile_rules_reject_an_image_running_as_root():
    errors = checks.dockerfile_errors(ROOT_DOCKERFILE)
    for words in (("multi-stage",), ("python:latest", "not pinned"), ("ADD", "URL"), ("USER root",),
                  ("PYTHONDONTWRITEBYTECODE",), ("build tool",), ("secret",), ("exec (JSON) form",)):
        assert _errors_mention(errors, *words), (words, errors)
    assert _errors_mention(checks.dockerfile_errors(ROOT_DOCKERFILE.replace("USER root\n", "")), "no USER")


def test_hadolint_rejects_an_image_running_as_root(tmp_path):
    result = checks.hadolint(ROOT_DOCKERFILE, tmp_path)
    assert result.returncode != 0
    assert "DL3007" in result.stdout   # :latest
    assert "DL3002" in result.stdout   # last USER is root


# ------------------------------------------------------------------------------------------ environment

def test_env_checks_reject_a_missing_variable(compose_doc, rendered, code_vars):
    every, web = code_vars
    broken = copy.deepcopy(compose_doc)
    del broken["services"]["evaluation-projector"]["environment"]["JALIN_PREFIX"]
    broken["services"]["partners-api"]["environment"]["JALIN_MONGO_URL"] = "typo"
    errors = checks.compose_env_errors(broken, every, web)
    assert _errors_mention(errors, "evaluation-projector", "JALIN_PREFIX is not set")
    assert _errors_mention(errors, "partners-api", "JALIN_MONGO_URL", "typo")
    # a variable the code starts reading tomorrow must be configured everywhere
    assert _errors_mention(checks.compose_env_errors(compose_doc, every | {"JALIN_NEW_SETTING"}, web),
                           "JALIN_NEW_SETTING is not set")
    assert _errors_mention(checks.k8s_env_errors(rendered["dev"], every | {"JALIN_NEW_SETTING"}, web),
                           "JALIN_NEW_SETTING", "neither")
    assert _errors_mention(checks.k8s_env_errors(rendered["production"], every, web, external_secret_keys=set()),
                           "JALIN_JWT_SECRET", "neither")
    resources = copy.deepcopy(rendered["dev"])
    configmap = next(r for r in resources if r["kind"] == "ConfigMap")
    del configmap["data"]["JALIN_TIMEZONE"]
    configmap["data"]["JALIN_TIME_ZONE"] = "Asia/Jakarta"
    errors = checks.k8s_env_errors(resources, every, web)
    assert _errors_mention(errors, "JALIN_TIMEZONE", "neither")
    assert _errors_mention(errors, "JALIN_TIME_ZONE", "typo")


def test_the_scan_sees_literal_reads(tmp_path):
    source = tmp_path / "mod.py"
    source.write_text('import os\nA = os.environ.get("JALIN_ALPHA", "1")\nB = os.environ["JALIN_BETA"]\n'
                      'C = os.getenv("JALIN_GAMMA")\n# JALIN_NOT_READ in a comment\n')
    assert checks.scan_env_reads([source]) == {"JALIN_ALPHA", "JALIN_BETA", "JALIN_GAMMA"}
