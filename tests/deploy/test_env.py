"""Every environment variable the code reads is set by compose and by the Kubernetes configuration."""
from __future__ import annotations

import pytest

from tests.deploy import checks


def test_the_scan_finds_the_variables_the_code_reads(code_vars):
    every, web = code_vars
    from shared.config import ENV_VARS

    assert set(ENV_VARS) <= every and {"JALIN_MONGO_URI", "JALIN_KAFKA_BOOTSTRAP"} <= every
    assert {"JALIN_BIND", "JALIN_WEB_WORKERS", "JALIN_WEB_THREADS"} <= web


def test_compose_sets_every_variable_in_every_jalin_container(compose_doc, code_vars):
    assert checks.compose_env_errors(compose_doc, *code_vars) == []


@pytest.mark.parametrize("target", ("base", "dev"))
def test_kubernetes_configmap_and_secret_set_every_variable(rendered, target, code_vars):
    assert checks.k8s_env_errors(rendered[target], *code_vars) == []


def test_production_configmap_and_the_externally_created_secret_set_every_variable(rendered, code_vars):
    """Production's Secret is created in the cluster with the keys of the base's placeholder Secret
    (deploy/README.md), so `kubectl apply -k` never overwrites real secrets with placeholders."""
    _cm, base_secret = checks.config_data(rendered["base"])
    assert checks.k8s_env_errors(rendered["production"], *code_vars, external_secret_keys=set(base_secret)) == []
    assert not [r for r in rendered["production"] if r["kind"] == "Secret"]


def test_init_creates_the_topics_the_workers_use():
    from cli.init import DLQ_CONSUMERS, topics
    from services.agreements.kb_cascade import NAME as KB_CASCADE
    from services.agreements.workers import REPLICA
    from services.evaluation.workers import CONSUMER
    from shared.config import Settings

    assert set(DLQ_CONSUMERS) == {CONSUMER, REPLICA, KB_CASCADE}
    settings = Settings(prefix="jalin")
    assert topics(settings)[:3] == [settings.topic(s) for s in ("partners", "agreements", "evaluation")]
