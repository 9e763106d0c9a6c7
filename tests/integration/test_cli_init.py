"""`python -m cli.init` (the compose `init` service / Kubernetes Job) against the real broker."""
import os
import subprocess
import sys

from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType

from cli.init import topics
from tests.support import ROOT


def test_init_creates_every_topic_with_its_partitions_and_infinite_retention_idempotently(settings):
    env = {**os.environ, "JALIN_PREFIX": settings.prefix, "JALIN_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
           "JALIN_TOPIC_PARTITIONS": "4"}
    for _ in range(2):  # the second run finds everything in place
        result = subprocess.run([sys.executable, "-m", "cli.init", "--timeout", "60"], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr
    wanted = topics(settings)
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        described = {t["name"]: len(t["partitions"]) for t in admin.describe_topics(wanted)}
        assert described == {name: 4 for name in wanted}
        configs = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, t) for t in wanted])["topic"]
        assert {name: configs[name]["retention.ms"]["value"] for name in wanted} == {name: "-1" for name in wanted}
    finally:
        admin.delete_topics(wanted)
        admin.close()
