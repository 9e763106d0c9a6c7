"""``jalin audit``: verify every stream of every service, export a bundle, state as of a moment.

Uses the services' HTTP APIs with an auditor token (``--token`` or ``JALIN_AUDIT_TOKEN``;
locally one is minted) and reads the Kafka topics directly for the cross-check.
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path

from kafka import KafkaConsumer, TopicPartition

from shared.auth import mint_token
from shared.config import Settings
from shared.envelope import compute_hash, verify_chain
from shared.kafka import decode

from services.evaluation.audit import SERVICES, AuditClient


def auditor_client(settings: Settings, token: str | None = None) -> AuditClient:
    token = token or settings.audit_token or mint_token(settings, "auditor", sub="jalin-audit-cli")
    return AuditClient(settings, token)


def read_topic(settings: Settings, topic: str) -> dict[tuple[str, int], str]:
    """``{(stream_id, version): hash}`` of everything in a topic (read without a consumer group)."""
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap.split(","), enable_auto_commit=False,
                             group_id=None, consumer_timeout_ms=2000)
    try:
        partitions = [TopicPartition(topic, p) for p in (consumer.partitions_for_topic(topic) or [])]
        if not partitions:
            return {}
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        seen: dict[tuple[str, int], str] = {}
        while any(consumer.position(tp) < ends[tp] for tp in partitions):
            for messages in consumer.poll(timeout_ms=1000).values():
                for message in messages:
                    event = decode(message.value)
                    seen[(event["stream_id"], event["version"])] = event["hash"]
        return seen
    finally:
        consumer.close()


def verify_all(settings: Settings, client: AuditClient, check_kafka: bool = True) -> dict:
    """Check every stream: chain, contiguous versions, agreement with Kafka, attachments."""
    findings: list[dict] = []
    totals = {}
    for service in SERVICES:
        stored: dict[tuple[str, int], str] = {}
        streams = 0
        for sid in client.stream_ids(service):
            streams += 1
            events = client.events(sid) or []
            for problem in verify_chain(events, sid):
                findings.append({"service": service, "stream_id": sid, **problem.as_dict()})
            for event in events:
                # the hash of what is stored now (not the hash field, which an editor may leave as it was)
                stored[(sid, event["version"])] = compute_hash(event)
            if service == "agreements":
                findings += check_attachments(client, sid, events)
        totals[service] = {"streams": streams, "events": len(stored)}
        if check_kafka:
            published = read_topic(settings, settings.topic(service))
            for key in sorted(set(published) - set(stored)):
                findings.append({"service": service, "stream_id": key[0], "version": key[1],
                                 "problem": "missing_from_store",
                                 "detail": "published to Kafka but absent from the event store (deleted?)"})
            for key in sorted(set(published) & set(stored)):
                if published[key] != stored[key]:
                    findings.append({"service": service, "stream_id": key[0], "version": key[1],
                                     "problem": "differs_from_kafka",
                                     "detail": "stored event's content differs from the published one (edited?)"})
            for key in sorted(set(stored) - set(published)):
                findings.append({"service": service, "stream_id": key[0], "version": key[1],
                                 "problem": "not_in_kafka",
                                 "detail": "stored but not (yet) published: relay backlog or a forged event"})
            totals[service]["in_kafka"] = len(published)
    return {"checked_at": datetime.now(timezone.utc).isoformat(), "totals": totals, "findings": findings,
            "intact": not findings}


def check_attachments(client: AuditClient, agreement_id: str, events: list[dict]) -> list[dict]:
    """Download every attached file; the service refuses (409) bytes that no longer match their hash."""
    findings = []
    for event in events:
        files = [event["data"]["file"]] if event["event_type"] == "agreement.document_attached" else \
            event["data"].get("evidence", []) if event["event_type"] == "agreement.report_filed" else []
        for meta in files:
            status = client.download_status(agreement_id, meta["file_id"])
            if status != 200:
                findings.append({"service": "agreements", "stream_id": agreement_id, "version": event["version"],
                                 "problem": "attachment_tampered" if status == 409 else "attachment_unreadable",
                                 "detail": f"{meta['file_id']} ({meta['filename']}): HTTP {status}"})
    return findings


def export_bundle(client: AuditClient, out: Path) -> dict:
    """Write ``<service>.jsonl`` + ``manifest.json`` for offline verification."""
    out.mkdir(parents=True, exist_ok=True)
    manifest = {"created_at": datetime.now(timezone.utc).isoformat(), "files": {}, "streams": {},
                "hash_rule": "sha256(canonical_json(envelope without hash)); prev_hash chains from 64 zeros"}
    for service in SERVICES:
        name = f"{service}.jsonl"
        count = 0
        with open(out / name, "w", encoding="utf-8") as fh:
            for sid in client.stream_ids(service):
                events = client.events(sid) or []
                for event in events:
                    fh.write(json.dumps(event, ensure_ascii=False, sort_keys=True) + "\n")
                count += len(events)
                if events:
                    manifest["streams"][sid] = {"service": service, "events": len(events),
                                                "last_version": events[-1]["version"],
                                                "last_hash": events[-1]["hash"]}
        manifest["files"][name] = {"events": count,
                                   "sha256": hashlib.sha256((out / name).read_bytes()).hexdigest()}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    return manifest


def format_report(report: dict) -> str:
    lines = [f"audit verification at {report['checked_at']}"]
    for service, totals in report["totals"].items():
        lines.append(f"  {service:11s} " + ", ".join(f"{k} {v}" for k, v in totals.items()))
    if report["intact"]:
        lines.append("RESULT: every stream intact, event stores and Kafka agree")
    else:
        lines.append(f"RESULT: {len(report['findings'])} finding(s)")
        for f in report["findings"]:
            lines.append(f"  - {f['problem']:20s} {f['stream_id']} v{f.get('version')}: {f['detail']}")
    return "\n".join(lines)
