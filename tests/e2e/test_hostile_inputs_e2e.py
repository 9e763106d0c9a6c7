"""Inputs that cannot break outputs, over HTTP (issue 10, point 8): each observation reproduced.

Hostile values are refused at the edge with 422 problem+json naming the field; what is already
stored (events written before the edge refused it) still exports; uploads keep a safe filename and
an allowed media type, and downloads are never sniffed or rendered by a browser.
"""
import io
import json
import uuid
from datetime import datetime, timezone

import pytest
from openpyxl import load_workbook

from shared.config import Settings
from shared.envelope import GENESIS_HASH, Actor, seal
from shared.kafka import KafkaPublisher
from tests.e2e.flows import draft, register_verified
from tests.support import wait_until

DRAFT = {"category": "KSDD", "ksdd_type": "sukarela", "document_kind": "KB", "title": "Kesepakatan Bersama Uji",
         "partner_ids": ["partner-x"], "start_date": "2026-01-01", "end_date": "2030-12-31",
         "lead_opd": "SETDA", "urusan": ["pariwisata"], "burdens_public": False}


def problem(response, status=422):
    assert response.status_code == status, f"{response.status_code} {response.text[:300]}"
    assert response.headers["Content-Type"].startswith("application/problem+json")
    return response.json()


def raw_post(stack, service, path, body: str, role="kerjasama"):
    return stack.call("POST", service, path, role=role, data=body.encode("utf-8"),
                      headers={"Content-Type": "application/json"})


@pytest.mark.parametrize("changes, field", [
    ({"urusan": ["a\u0000b"]}, "urusan.0"),              # was accepted, then stopped the projector for good
    ({"title": "Judul\u0001 kendali"}, "title"),          # was accepted, then every XLSX export with it answered 500
    ({"purpose": "Tujuan\u0000"}, "purpose"),
    ({"urusan": ["u"] * 5000}, "urusan"),
])
def test_hostile_strings_and_arrays_are_refused_field_by_field(stack, changes, field):
    body = problem(stack.call("POST", "agreements", "/api/v1/agreements", json={**DRAFT, **changes}))
    assert field in body["errors"], body


def test_a_number_beyond_64_bits_is_a_422_not_a_500(stack):
    body = json.dumps(DRAFT)[:-1] + ', "value": ' + str(10**30) + "}"
    assert "value" in problem(raw_post(stack, "agreements", "/api/v1/agreements", body))["errors"]


@pytest.mark.parametrize("service, path", [
    ("agreements", "/api/v1/agreements"),
    ("partners", "/api/v1/partners"),
    ("evaluation", "/api/v1/evaluations"),
])
def test_a_body_nested_2000_levels_deep_is_a_4xx_not_a_500(stack, service, path):
    assert problem(raw_post(stack, service, path, "[" * 2000 + "]" * 2000))["rule"] == "nesting_too_deep"
    deep_object = '{"name": ' + '{"a": ' * 2000 + "1" + "}" * 2000 + "}"
    assert problem(raw_post(stack, service, path, deep_object))["rule"] == "nesting_too_deep"


def test_partner_contacts_with_control_characters_are_refused(stack):
    body = problem(stack.call("POST", "partners", "/api/v1/partners", json={
        "name": "Mitra Uji", "kind": "pemerintah_pusat", "contacts": [{"name": "Sa\u0000ri", "position": "Staf"}]}))
    assert "contacts.0.name" in body["errors"]


def test_a_stored_title_with_a_control_character_still_exports(stack):
    """An event stored before the edge refused control characters (produced here straight into the
    topic, as the relay would have published it) must not break the XLSX export."""
    word = f"kendali{uuid.uuid4().hex[:8]}"
    sid = f"agreement-{uuid.uuid4()}"
    data = {**DRAFT, "title": f"Judul\u0001 {word}\u001f", "our_number": None, "partner_number": None,
            "purpose": "", "scope": "", "location": "", "value": 0, "funding_scheme": None,
            "parent_kb_id": None, "extends_agreement_id": None}
    event = seal(event_type="agreement.drafted", data=data, stream_id=sid, stream_type="agreement", version=1,
                 prev_hash=GENESIS_HASH, occurred_at=datetime.now(timezone.utc),
                 actor=Actor("u-ks", "kerjasama", "Bagian Kerja Sama"), correlation_id="c-legacy")
    publisher = KafkaPublisher(Settings.from_env({"prefix": stack.settings.prefix,
                                                  "kafka_bootstrap": stack.profile.kafka_bootstrap}))
    try:
        publisher.publish([(stack.settings.topic("agreements"), sid, event)])
    finally:
        publisher.close()
    wait_until(lambda: stack.call("GET", "evaluation", f"/api/v1/agreements/{sid}").status_code == 200, 60,
               what="the legacy agreement in the register")
    r = stack.call("GET", "evaluation", "/api/v1/exports/agreements.xlsx", params={"q": word})
    assert r.status_code == 200, r.text[:300]
    sheet = load_workbook(io.BytesIO(r.content)).worksheets[0]
    header = [c.value for c in sheet[1]]
    titles = [row[header.index("Judul")].value for row in sheet.iter_rows(min_row=2)]
    assert titles == [f"Judul {word}"]
    csv = stack.call("GET", "evaluation", "/api/v1/exports/agreements.csv", params={"q": word})
    assert csv.status_code == 200 and "\u0001" not in csv.text


def multipart(filename_param: str, content: bytes, media_type: str, kind: str | None = "kak"):
    """A multipart body written by hand: clients (and requests) escape what a hostile one may send."""
    boundary = uuid.uuid4().hex
    parts = []
    if kind:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\n{kind}\r\n'.encode())
    parts.append(f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; {filename_param}\r\n"
                 f"Content-Type: {media_type}\r\n\r\n".encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def upload(stack, path, filename_param, content, media_type, kind="kak"):
    body, ctype = multipart(filename_param, content, media_type, kind)
    return stack.call("POST", "agreements", path, data=body, headers={"Content-Type": ctype})


def test_a_filename_with_cr_lf_is_sanitised_and_downloads_work(stack):
    kb = draft(stack, register_verified(stack)).json()
    path = f"/api/v1/agreements/{kb['id']}/documents"
    content = b"%PDF-1.4 kerangka acuan kerja"
    # RFC 2231 lets a client put any byte in the name: here CR LF and a header of its own.
    r = upload(stack, path, "filename*=UTF-8''kak%0D%0AX-Injected%3A%20yes%0D%0A.pdf", content, "application/pdf")
    assert r.status_code == 201, r.text
    meta = r.json()["documents"][-1]["file"]
    assert "\r" not in meta["filename"] and "\n" not in meta["filename"] and meta["filename"].endswith(".pdf")
    events = stack.call("GET", "agreements", f"/api/v1/streams/{kb['id']}/events", role="auditor").json()["events"]
    assert events[-1]["data"]["file"]["filename"] == meta["filename"]  # what the event keeps for good
    download = stack.call("GET", "agreements", f"/api/v1/agreements/{kb['id']}/files/{meta['file_id']}")
    assert download.status_code == 200 and download.content == content
    assert "X-Injected" not in download.headers
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Content-Type"] == "application/pdf"
    disposition = download.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and "filename*=UTF-8''" in disposition


@pytest.mark.parametrize("media_type, filename", [
    ("text/html", "laporan.html"),
    ("image/svg+xml", "foto.svg"),
    ("application/javascript", "x.js"),
    ("application/octet-stream", "tanpa-jenis"),
])
def test_only_document_and_evidence_media_types_are_accepted(stack, media_type, filename):
    kb = draft(stack, register_verified(stack)).json()
    r = upload(stack, f"/api/v1/agreements/{kb['id']}/documents", f'filename="{filename}"', b"<script>1</script>",
               media_type)
    body = problem(r)
    assert body["rule"] == "media_type_not_allowed" and "file" in body["errors"]
    r = upload(stack, "/api/v1/files", f'filename="{filename}"', b"<script>1</script>", media_type, kind=None)
    assert problem(r)["rule"] == "media_type_not_allowed"
    assert stack.call("GET", "agreements", f"/api/v1/agreements/{kb['id']}").json()["documents"] == []


def test_evidence_keeps_its_allowed_media_type(stack):
    r = upload(stack, "/api/v1/files", 'filename="foto kegiatan.JPG"', b"\xff\xd8\xff\xe0 jpeg", "image/jpeg", kind=None)
    assert r.status_code == 201, r.text
    assert r.json()["media_type"] == "image/jpeg" and r.json()["filename"] == "foto kegiatan.JPG"
    r = upload(stack, "/api/v1/files", 'filename="rekap.xlsx"', b"PK\x03\x04", "application/octet-stream", kind=None)
    assert r.status_code == 201 and r.json()["media_type"].endswith("spreadsheetml.sheet")  # from the extension


def test_odd_values_stored_before_the_vocabularies_keep_the_read_model_moving(stack):
    """Urusan and OPD codes are vocabulary codes now, so the edge refuses odd ones by name; what an
    older event still carries (an urusan with a dot or a leading $, an OPD code with a dot) and becomes
    a key in a read model is applied, the statistics keep refreshing, nothing is dead-lettered, and
    later commands reach the read model as usual."""
    partner = register_verified(stack)
    for fields, rule in (({"urusan": ["Urusan 1.2", "$where"]}, "unknown_urusan"), ({"lead_opd": "DINAS.PU"}, "unknown_opd")):
        r = draft(stack, partner, **fields)
        assert r.status_code == 422 and r.json()["rule"] == rule, r.text
    sid = f"agreement-{uuid.uuid4()}"
    data = {**DRAFT, "partner_ids": [partner], "title": "Naskah lama yang aneh", "urusan": ["Urusan 1.2", "$where"],
            "lead_opd": "DINAS.PU", "our_number": None, "partner_number": None, "purpose": "", "scope": "",
            "location": "", "value": 5_000_000, "funding_scheme": None, "parent_kb_id": None,
            "extends_agreement_id": None, "budgeted_in_apbd": False}  # schema version 1: the old flag
    event = seal(event_type="agreement.drafted", data=data, stream_id=sid, stream_type="agreement", version=1,
                 prev_hash=GENESIS_HASH, occurred_at=datetime.now(timezone.utc),
                 actor=Actor("u-ks", "kerjasama", "Bagian Kerja Sama"), correlation_id="c-legacy-odd")
    publisher = KafkaPublisher(Settings.from_env({"prefix": stack.settings.prefix,
                                                  "kafka_bootstrap": stack.profile.kafka_bootstrap}))
    try:
        publisher.publish([(stack.settings.topic("agreements"), sid, event)])
    finally:
        publisher.close()
    later = draft(stack, partner, title="Sesudah yang aneh").json()
    for agreement_id in (sid, later["id"]):
        wait_until(lambda: stack.call("GET", "evaluation", f"/api/v1/agreements/{agreement_id}").status_code == 200,
                   60, what="in the register")

    def counted():
        figures = stack.call("GET", "evaluation", "/api/v1/stats/overview").json()["agreements"]
        return figures["by_urusan"].get("Urusan 1\uff0e2") and figures["by_lead_opd"].get("DINAS\uff0ePU")
    wait_until(counted, 60, what="statistics refreshed with the odd values as keys")
    letters = stack.call("GET", "evaluation", "/api/v1/deadletters", role="admin", params={"status": "open"}).json()
    assert not [d for d in letters["items"] if d["stream_id"] in (sid, later["id"])]
    # the projector lifted the old flag into funding sources (shared/vocabularies/funding.py)
    legacy = stack.call("GET", "evaluation", f"/api/v1/agreements/{sid}").json()
    assert legacy["funding"] == [{"source": "apbd", "amount": 5_000_000, "budgeted": False}]


def test_a_query_number_beyond_64_bits_is_refused(stack):
    partner = register_verified(stack)
    agreement = draft(stack, partner).json()
    huge = str(10**30)
    for service, path, params in (
            ("agreements", f"/api/v1/agreements/{agreement['id']}", {"version": huge}),
            ("partners", f"/api/v1/partners/{partner}", {"version": huge}),
            ("agreements", f"/api/v1/streams/{agreement['id']}/events", {"from": huge}),
            ("agreements", f"/api/v1/streams/{agreement['id']}/state", {"version": huge})):
        r = stack.call("GET", service, path, role="auditor" if "streams" in path else "kerjasama", params=params)
        assert r.status_code == 422, f"{path}: {r.status_code} {r.text[:200]}"
        assert r.headers["Content-Type"].startswith("application/problem+json")
