"""Audit over the running system: verified histories, time travel, tamper detection, bundles."""
import json
import subprocess
import threading
import uuid
import sys
import time
from datetime import datetime, timezone

from pymongo import MongoClient

from cli.audit import auditor_client, export_bundle, verify_all
from shared.config import Settings
from tests.e2e.flows import act, draft, register_verified, signed_kb, to_ready
from tests.support import ROOT, wait_until


def settings_for(stack):
    return Settings.from_env({"prefix": stack.settings.prefix, "mongo_uri": stack.profile.mongo_uri,
                              "kafka_bootstrap": stack.profile.kafka_bootstrap,
                              "partners_url": stack.urls["partners"], "agreements_url": stack.urls["agreements"],
                              "evaluation_url": stack.urls["evaluation"]})


def published(stack, settings):
    """Wait until every relay has published its backlog (verify compares stores with Kafka)."""
    client = MongoClient(stack.profile.mongo_uri)
    wait_until(lambda: all(client[settings.database(s)]["commits"].count_documents({"published": False}) == 0
                           for s in ("partners", "agreements", "evaluation")), 30, what="relays idle")


def test_audit_stream_timeline_and_state_as_of(stack):
    partner, kb = signed_kb(stack)
    # what the projection showed at some point, to compare with the audit fold at the same version
    seen = wait_until(lambda: (r := stack.call("GET", "evaluation", f"/api/v1/agreements/{kb['id']}"))
                      .status_code == 200 and r.json(), 30, what="in the register")
    r = stack.call("GET", "evaluation", f"/api/v1/audit/streams/{kb['id']}", role="auditor")
    assert r.status_code == 200 and r.json()["verification"]["intact"] is True
    audited = r.json()["events"]
    assert [e["version"] for e in audited] == list(range(1, len(audited) + 1))
    # the scheduler may have activated it since (its start date has come)
    assert [e["event_type"] for e in audited[kb["version"]:]] in ([], ["agreement.activated"])
    assert stack.call("GET", "evaluation", f"/api/v1/audit/streams/{kb['id']}", role="kerjasama").status_code == 403

    wait_until(lambda: (i := stack.call("GET", "evaluation", f"/api/v1/agreements/{kb['id']}")).status_code == 200
               and i.json()["status"] in ("SIGNED", "ACTIVE"), 30, what="in the register")
    evaluation = stack.call("POST", "evaluation", "/api/v1/evaluations", json={
        "agreement_id": kb["id"], "period": "TW1", "year": 2026, "due_date": "2026-04-30",
        "assessor_kind": "kerjasama"}).json()
    wait_until(lambda: stack.call("GET", "evaluation", "/api/v1/evaluations",
                                  params={"agreement": kb["id"]}).json()["total"] == 1, 30, what="evaluation projected")
    timeline = stack.call("GET", "evaluation", f"/api/v1/audit/agreements/{kb['id']}/timeline", role="auditor").json()
    assert timeline["intact"] is True
    assert set(timeline["streams"]) == {kb["id"], partner, evaluation["stream_id"]}
    stamps = [e["occurred_at"] for e in timeline["events"]]
    assert stamps == sorted(stamps)
    assert {e["stream_type"] for e in timeline["events"]} == {"partner", "agreement", "evaluation"}

    # As of the moment it was signed (before the scheduler activated it), folded by the agreements domain.
    events = stack.call("GET", "agreements", f"/api/v1/streams/{kb['id']}/events", role="auditor").json()["events"]
    signed = next(e for e in events if e["event_type"] == "agreement.signed")
    state = stack.call("GET", "evaluation", f"/api/v1/audit/streams/{kb['id']}/state", role="auditor",
                       params={"as_of": signed["occurred_at"].replace("Z", "+00:00")}).json()
    assert state["state"]["status"] == "SIGNED" and state["version"] == signed["version"]
    assert stack.call("GET", "evaluation", f"/api/v1/audit/streams/{kb['id']}/state", role="auditor",
                      params={"version": 1}).json()["state"]["status"] == "DRAFT"
    folded = stack.call("GET", "evaluation", f"/api/v1/audit/streams/{kb['id']}/state", role="auditor",
                        params={"version": seen["version"]}).json()["state"]
    for field in ("status", "title", "category", "document_kind", "start_date", "end_date", "lead_opd"):
        assert folded[field] == seen[field], field  # the read model and the domain fold agree
    before = stack.call("GET", "evaluation", f"/api/v1/audit/streams/{kb['id']}/state", role="auditor",
                        params={"as_of": "2001-01-01T00:00:00+00:00"})
    assert before.status_code == 404
    # The same fold through the CLI.
    out = subprocess.run([sys.executable, "-m", "cli.main", "audit", "as-of", kb["id"], "--version", "1"],
                         capture_output=True, text=True, cwd=ROOT, env=cli_env(stack), timeout=60)
    assert out.returncode == 0 and json.loads(out.stdout)["state"]["status"] == "DRAFT"


def cli_env(stack):
    import os
    settings = settings_for(stack)
    return {**os.environ, "JALIN_PREFIX": settings.prefix, "JALIN_MONGO_URI": settings.mongo_uri,
            "JALIN_KAFKA_BOOTSTRAP": settings.kafka_bootstrap, "JALIN_PARTNERS_URL": settings.partners_url,
            "JALIN_AGREEMENTS_URL": settings.agreements_url, "JALIN_EVALUATION_URL": settings.evaluation_url}


def test_verify_names_every_kind_of_tampering_and_bundles_verify_offline(stack, tmp_path):
    settings = settings_for(stack)
    client = auditor_client(settings)
    # Streams to tamper with: a partner with several single-event commits, an agreement with a document.
    partner = register_verified(stack)
    for n in range(3):
        stack.call("POST", "partners", f"/api/v1/partners/{partner}/profile", json={"description": f"catatan {n}"})
    kb = draft(stack, partner).json()
    r = stack.call("POST", "agreements", f"/api/v1/agreements/{kb['id']}/documents",
                   files={"file": ("kak.pdf", b"%PDF kerangka acuan kerja", "application/pdf")}, data={"kind": "kak"})
    assert r.status_code == 201
    published(stack, settings)
    mine = {partner, kb["id"]}

    baseline = verify_all(settings, client)
    assert not [f for f in baseline["findings"] if f["stream_id"] in mine]
    assert baseline["totals"]["partners"]["streams"] >= 1 and baseline["totals"]["partners"]["in_kafka"] >= 1

    bundle = tmp_path / "bundle"
    export_bundle(client, bundle)
    ok = subprocess.run([sys.executable, "-m", "cli.verify_bundle", str(bundle)], capture_output=True, text=True,
                        cwd=ROOT, timeout=60)
    assert ok.returncode == 0 and "bundle intact" in ok.stdout
    lines = (bundle / "partners.jsonl").read_text(encoding="utf-8").splitlines()
    index = next(i for i, line in enumerate(lines) if json.loads(line)["stream_id"] == partner)
    edited = json.loads(lines[index])
    edited["data"]["name"] = "Nama Palsu"
    lines[index] = json.dumps(edited, ensure_ascii=False, sort_keys=True)
    (bundle / "partners.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    bad = subprocess.run([sys.executable, "-m", "cli.verify_bundle", str(bundle)], capture_output=True, text=True,
                         cwd=ROOT, timeout=60)
    assert bad.returncode == 1 and f"{partner} v1: content does not match its hash" in bad.stdout

    db = MongoClient(stack.profile.mongo_uri)
    commits = db[settings.database("partners")]["commits"]
    # edit a field of v1, delete v3, swap the contents of v4 and v5
    commits.update_one({"_id": f"{partner}:1"}, {"$set": {"events.0.data.name": "Nama Palsu"}})
    commits.delete_one({"_id": f"{partner}:3"})
    four, five = commits.find_one({"_id": f"{partner}:4"}), commits.find_one({"_id": f"{partner}:5"})
    commits.update_one({"_id": four["_id"]}, {"$set": {"events": five["events"]}})
    commits.update_one({"_id": five["_id"]}, {"$set": {"events": four["events"]}})
    # change an attachment's bytes
    meta = r.json()["documents"][0]["file"]
    chunks = db[settings.database("agreements")]["attachments.chunks"]
    chunk = chunks.find_one({"files_id": meta["file_id"]})
    chunks.update_one({"_id": chunk["_id"]}, {"$set": {"data": bytes(chunk["data"]).replace(b"kerangka", b"KERANGKA")}})

    report = verify_all(settings, client)
    found = {(f["stream_id"], f.get("version"), f["problem"]) for f in report["findings"] if f["stream_id"] in mine}
    assert (partner, 1, "hash_mismatch") in found and (partner, 1, "differs_from_kafka") in found   # edited
    assert (partner, 3, "missing_from_store") in found                                              # deleted
    assert (partner, 4, "version_gap") in found or (partner, 5, "version_gap") in found              # swapped
    assert any(p == "broken_link" for s, _v, p in found if s == partner)
    assert any(s == kb["id"] and p == "attachment_tampered" for s, _v, p in found)                   # bytes
    assert report["intact"] is False
    out = subprocess.run([sys.executable, "-m", "cli.main", "audit", "verify"], capture_output=True, text=True,
                         cwd=ROOT, env=cli_env(stack), timeout=120)
    assert out.returncode == 1 and "attachment_tampered" in out.stdout and partner in out.stdout


def test_verify_during_a_burst_of_commands_reports_nothing(stack):
    """Commands committed and published while verify reads are after its cut: never findings."""
    settings = settings_for(stack)
    client = auditor_client(settings)
    partners = [register_verified(stack) for _ in range(3)]
    published(stack, settings)
    # Streams another test tampered with on this stack are not this test's business.
    flagged = {f["stream_id"] for f in verify_all(settings, client)["findings"]}

    stop = threading.Event()
    made, refused = [], []

    def burst():
        n = 0
        while not stop.is_set():
            n += 1
            if n % 3:  # new versions of existing streams, and new streams
                r = stack.call("POST", "partners", f"/api/v1/partners/{partners[n % 3]}/profile",
                               json={"description": f"catatan {n}"})
            else:
                code = uuid.uuid4().int
                r = stack.call("POST", "partners", "/api/v1/partners",
                               json={"name": f"Mitra Ledakan {n}", "kind": "daerah_lain",
                                     "region_code": f"{code % 80 + 11}.{code // 80 % 90 + 10}.{code // 7200 % 90 + 10}"})
            (made if r.status_code in (200, 201) else refused).append((time.monotonic(), r.status_code, r.text))

    worker = threading.Thread(target=burst, daemon=True)
    worker.start()
    try:
        wait_until(lambda: len(made) >= 5, 30, what="the burst under way")
        started = time.monotonic()
        report = verify_all(settings, client)
        ended = time.monotonic()
    finally:
        stop.set()
        worker.join(30)
    assert refused == []
    assert sum(started < t < ended for t, _status, _text in made) >= 3, "commands must arrive while verify runs"
    assert [f for f in report["findings"] if f["stream_id"] not in flagged] == []
    # the verify did meet events newer than its cut (stored, not in Kafka when it started)
    assert sum(t["after_cut"] + t["awaiting_relay"] for t in report["totals"].values()) > 0
