"""``jalin audit``: verify every stream of every service, export a bundle, state as of a moment.

Uses the services' HTTP APIs with an auditor token (``--token`` or ``JALIN_AUDIT_TOKEN``;
locally one is minted) and reads the Kafka topics directly for the cross-check.
"""
from __future__ import annotations

import hashlib
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from kafka import KafkaConsumer, TopicPartition
from tqdm import tqdm

from shared.auth import mint_token
from shared.config import Settings
from shared.envelope import compute_hash, verify_chain
from shared.kafka import decode

from services.evaluation.audit import SERVICES, AuditClient


def auditor_client(settings: Settings, token: str | None = None) -> AuditClient:
    token = token or settings.audit_token or mint_token(settings, "auditor", sub="jalin-audit-cli")
    return AuditClient(settings, token)


def kafka_ends(settings: Settings, topic: str) -> dict[int, int]:
    """The topic's end offset per partition now: the Kafka side of an audit's cut."""
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap.split(","), enable_auto_commit=False,
                             group_id=None)
    try:
        partitions = [TopicPartition(topic, p) for p in (consumer.partitions_for_topic(topic) or [])]
        return {tp.partition: end for tp, end in consumer.end_offsets(partitions).items()} if partitions else {}
    finally:
        consumer.close()


def read_topic(settings: Settings, topic: str, start: dict[int, int] | None = None,
               end: dict[int, int] | None = None) -> dict[tuple[str, int], str]:
    """``{(stream_id, version): hash}`` of a topic's messages from ``start`` (default: the beginning)
    up to ``end`` (exclusive; default: the end offsets when called), read without a consumer group.

    Messages past ``end`` are ignored even when a poll returns them, so a read bounded by a cut
    sees exactly the topic as of that cut, however busy it is meanwhile.
    """
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap.split(","), enable_auto_commit=False,
                             group_id=None, max_partition_fetch_bytes=8 << 20)
    try:
        partitions = [TopicPartition(topic, p) for p in (consumer.partitions_for_topic(topic) or [])]
        if not partitions:
            return {}
        consumer.assign(partitions)
        ends = {tp: (end or {}).get(tp.partition, 0) for tp in partitions} if end is not None \
            else consumer.end_offsets(partitions)
        for tp in partitions:
            if start is not None and tp.partition in start:
                consumer.seek(tp, start[tp.partition])
            else:
                consumer.seek_to_beginning(tp)
        seen: dict[tuple[str, int], str] = {}
        while any(consumer.position(tp) < ends[tp] for tp in partitions):
            for tp, messages in consumer.poll(timeout_ms=1000, max_records=5000).items():
                for message in messages:
                    if message.offset < ends[tp]:
                        event = decode(message.value)
                        seen[(event["stream_id"], event["version"])] = event["hash"]
        return seen
    finally:
        consumer.close()


def progress_bar(enabled: bool | None, total: int | None, desc: str) -> tqdm:
    """Events/s and ETA on stderr when it is a terminal (``enabled=None``), or as asked."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    return tqdm(total=total, desc=desc, unit="ev", unit_scale=True, disable=not enabled, file=sys.stderr,
                dynamic_ncols=True, smoothing=0.1)


def expected_events(settings: Settings) -> int | None:
    """About how many events the stores hold (what Kafka holds), for a progress bar's ETA; None
    when Kafka does not answer (the bar then shows the rate only)."""
    try:
        return sum(sum(kafka_ends(settings, settings.topic(s)).values()) for s in SERVICES) or None
    except Exception:  # only an estimate: an export does not need Kafka
        return None


ATTACHING = ("agreement.document_attached", "agreement.report_filed")


@dataclass
class StoreScan:
    """What a whole-store audit keeps of one service's store: hashes and links, not the events."""

    commits: dict[str, list[tuple[int, list[dict], list[str]]]] = field(default_factory=dict)
    stored: dict[tuple[str, int], str] = field(default_factory=dict)      # (stream, version) -> hash of content
    published: dict[tuple[str, int], bool] = field(default_factory=dict)  # its commit's outbox flag, as read
    attaching: dict[str, list[dict]] = field(default_factory=dict)       # stream -> events that attach files
    events: int = 0


def scan_store(client: AuditClient, service: str, bar: tqdm) -> StoreScan:
    """Read ``service``'s store in one pass, keeping per event only what verification needs."""
    scan = StoreScan()
    for commit in client.log(service):
        sid = commit["stream_id"]
        events = commit["events"]
        links = [{k: e.get(k) for k in ("stream_id", "version", "prev_hash", "hash")} for e in events]
        hashes = [compute_hash(e) for e in events]  # of what is stored now, not its (editable) hash field
        scan.commits.setdefault(sid, []).append((commit["first_version"], links, hashes))
        for event, actual in zip(events, hashes):
            scan.stored[(sid, event.get("version"))] = actual
            scan.published[(sid, event.get("version"))] = bool(commit.get("published"))
            if event.get("event_type") in ATTACHING:
                scan.attaching.setdefault(sid, []).append(event)
        scan.events += len(events)
        bar.update(len(events))
    return scan


def verify_all(settings: Settings, client: AuditClient, check_kafka: bool = True,
               progress: bool | None = False) -> dict:
    """Check every stream: chain, contiguous versions, agreement with Kafka, attachments.

    Each store is read in one pass (``AuditClient.log``). Store and Kafka are compared as of one
    cut: Kafka's end offsets are taken before any store is read, so everything Kafka held then
    was committed before the store pass (absent from the store = deleted). An event stored but
    not in Kafka at the cut is new since, or waits for the relay, unless Kafka has it by the end of
    the pass or its commit was already marked published when read: the relay marks a commit only
    after Kafka has it, so only such an event (or one whose published copy differs) is a finding.
    Events still awaiting the relay are counted (``awaiting_relay``), not reported.
    """
    findings: list[dict] = []
    totals = {}
    cut = {service: kafka_ends(settings, settings.topic(service)) for service in SERVICES} if check_kafka else {}
    expected = sum(sum(ends.values()) for ends in cut.values()) or None  # ETA: about what Kafka holds
    # Kafka as of the cut does not depend on the stores: read it beside the store passes.
    kafka = ThreadPoolExecutor(max_workers=1, thread_name_prefix="audit-kafka")
    at_cut = {service: kafka.submit(read_topic, settings, settings.topic(service), end=cut[service])
              for service in cut}
    with kafka, progress_bar(progress, expected, "verify") as bar:
        for service in SERVICES:
            bar.set_description(f"verify {service}")
            scan = scan_store(client, service, bar)
            for sid, commits in scan.commits.items():
                commits.sort(key=lambda c: c[0])
                links = [link for _first, ls, _h in commits for link in ls]
                hashes = [h for _first, _ls, hs in commits for h in hs]
                for problem in verify_chain(links, sid, computed=hashes):
                    findings.append({"service": service, "stream_id": sid, **problem.as_dict()})
            for sid, events in scan.attaching.items():
                findings += check_attachments(client, sid, events)
            totals[service] = {"streams": len(scan.commits), "events": len(scan.stored)}
            if check_kafka:
                findings += compare_with_kafka(settings, service, cut[service], at_cut[service].result(), scan,
                                               totals[service])
    return {"checked_at": datetime.now(timezone.utc).isoformat(), "totals": totals, "findings": findings,
            "intact": not findings}


def compare_with_kafka(settings: Settings, service: str, cut: dict[int, int], published: dict[tuple[str, int], str],
                       scan: StoreScan, totals: dict) -> list[dict]:
    """Findings of one service's store against its topic as of ``cut``, ``published`` being what the
    topic held then (see ``verify_all``)."""
    topic = settings.topic(service)
    stored = scan.stored
    findings = []
    for key in sorted(set(published) - set(stored)):
        findings.append({"service": service, "stream_id": key[0], "version": key[1],
                         "problem": "missing_from_store",
                         "detail": "published to Kafka but absent from the event store (deleted?)"})
    for key in sorted(set(published) & set(stored)):
        if published[key] != stored[key]:
            findings.append({"service": service, "stream_id": key[0], "version": key[1],
                             "problem": "differs_from_kafka",
                             "detail": "stored event's content differs from the published one (edited?)"})
    later = set(stored) - set(published)
    since = read_topic(settings, topic, start=cut) if later else {}  # from the cut to now: after the pass
    awaiting = 0
    for key in sorted(later, key=lambda k: (k[0], k[1] if isinstance(k[1], int) else -1)):
        if key in since:
            if since[key] != stored[key]:
                findings.append({"service": service, "stream_id": key[0], "version": key[1],
                                 "problem": "differs_from_kafka",
                                 "detail": "stored event's content differs from the published one (edited?)"})
        elif scan.published[key]:
            findings.append({"service": service, "stream_id": key[0], "version": key[1],
                             "problem": "not_in_kafka",
                             "detail": "marked published but absent from Kafka (forged, or lost by the broker)"})
        else:
            awaiting += 1
    totals.update(in_kafka=len(published), after_cut=len(later) - awaiting, awaiting_relay=awaiting)
    return findings


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


def export_bundle(client: AuditClient, out: Path, progress: bool | None = False,
                  expected: int | None = None) -> dict:
    """Write ``<service>.jsonl`` + ``manifest.json`` for offline verification.

    Each store is read in one pass and written as it is read; a stream's events go out in version
    order (a commit that arrives before its predecessor waits for it; past a hole, what is stored
    follows in version order), so ``cli.verify_bundle`` checks each chain line by line.
    """
    out.mkdir(parents=True, exist_ok=True)
    manifest = {"created_at": datetime.now(timezone.utc).isoformat(), "files": {}, "streams": {},
                "hash_rule": "sha256(canonical_json(envelope without hash)); prev_hash chains from 64 zeros"}
    with progress_bar(progress, expected, "export") as bar:
        for service in SERVICES:
            bar.set_description(f"export {service}")
            name = f"{service}.jsonl"
            count = 0
            following: dict[str, int] = {}           # stream -> the first version its next commit must have
            waiting: dict[str, dict[int, dict]] = {}  # stream -> commits that came before their predecessor
            with open(out / name, "w", encoding="utf-8") as fh:
                def write(commit: dict) -> None:
                    nonlocal count
                    sid, events = commit["stream_id"], commit["events"]
                    for event in events:
                        fh.write(json.dumps(event, ensure_ascii=False, sort_keys=True) + "\n")
                    count += len(events)
                    bar.update(len(events))
                    following[sid] = commit["last_version"] + 1
                    if events:
                        head = manifest["streams"].setdefault(sid, {"service": service, "events": 0})
                        head.update(events=head["events"] + len(events), last_version=events[-1]["version"],
                                    last_hash=events[-1]["hash"])

                for commit in client.log(service):
                    sid = commit["stream_id"]
                    if commit["first_version"] != following.get(sid, 1):
                        waiting.setdefault(sid, {})[commit["first_version"]] = commit
                        continue
                    write(commit)
                    while following[sid] in waiting.get(sid, {}):
                        write(waiting[sid].pop(following[sid]))
                for sid, rest in waiting.items():
                    for first in sorted(rest):
                        write(rest[first])
            manifest["files"][name] = {"events": count,
                                       "sha256": hashlib.sha256((out / name).read_bytes()).hexdigest()}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    return manifest


def format_report(report: dict) -> str:
    lines = [f"audit verification at {report['checked_at']}"]
    for service, totals in report["totals"].items():
        lines.append(f"  {service:11s} " + ", ".join(f"{k} {v}" for k, v in totals.items()))
    awaiting = sum(t.get("awaiting_relay", 0) for t in report["totals"].values())
    if awaiting:
        lines.append(f"  {awaiting} event(s) stored but still awaiting the relay (not yet in Kafka; not a finding)")
    if report["intact"]:
        lines.append("RESULT: every stream intact, event stores and Kafka agree")
    else:
        lines.append(f"RESULT: {len(report['findings'])} finding(s)")
        for f in report["findings"]:
            lines.append(f"  - {f['problem']:20s} {f['stream_id']} v{f.get('version')}: {f['detail']}")
    return "\n".join(lines)
