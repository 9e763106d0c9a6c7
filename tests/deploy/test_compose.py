"""docker-compose.yml: the Compose specification schema, references, hardening, processes."""
from __future__ import annotations

import pytest

from tests.deploy import checks


def test_compose_file_matches_the_compose_specification(compose_doc):
    assert checks.compose_schema_errors(compose_doc) == []


def test_references_pins_and_hardening(compose_doc):
    assert checks.compose_semantic_errors(compose_doc) == []


def test_every_process_runs_with_its_command_after_topic_initialisation(compose_doc, processes):
    assert checks.compose_process_errors(compose_doc, processes) == []


def test_env_example_documents_exactly_the_variables_compose_uses(compose_text, dotenv):
    assert checks.dotenv_errors(compose_text, dotenv) == []


def test_env_example_holds_no_secret_and_compose_refuses_to_start_without_them(compose_raw, dotenv):
    for name in checks.REQUIRED_SECRETS:
        assert dotenv[name] == "", f"{name} must stay empty in .env.example"
    with pytest.raises(checks.InterpolationError):
        checks.interpolate(compose_raw, dotenv)


def test_real_kafka_and_mongodb_images(compose_doc):
    from tests.support import load_stack

    services = compose_doc["services"]
    assert services["kafka"]["image"] == f"apache/kafka:{load_stack().KAFKA_VERSION}"  # what the tests run
    major = services["mongo"]["image"].split(":")[1].split(".")[0]
    assert services["mongo"]["image"].startswith("mongo:") and major in ("7", "8")
    assert "--replSet" in services["mongo"]["command"]
    assert "rs.initiate" in " ".join(services["mongo"]["healthcheck"]["test"])
    env = services["kafka"]["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft, no ZooKeeper
    assert env["KAFKA_LOG_RETENTION_MS"] == "-1"


def test_apis_publish_their_ports_and_the_dashboard(compose_doc):
    for name, port in (("partners-api", 8001), ("agreements-api", 8002), ("evaluation-api", 8003)):
        svc = compose_doc["services"][name]
        assert svc["environment"]["JALIN_BIND"] == f"0.0.0.0:{port}"
        assert svc["ports"] == [f"127.0.0.1:{port}:{port}"]
        assert f"127.0.0.1:{port}/readyz" in " ".join(svc["healthcheck"]["test"])


def test_docker_compose_itself_accepts_the_file(compose_text, compose_env, tmp_path):
    result = checks.docker_compose_config(compose_text, compose_env, tmp_path)
    assert result.returncode == 0, result.stderr


def test_docker_compose_itself_refuses_to_start_with_the_placeholder_secrets(compose_text, dotenv, tmp_path):
    result = checks.docker_compose_config(compose_text, dotenv, tmp_path)
    assert result.returncode != 0 and "required variable" in result.stderr, result.stderr
