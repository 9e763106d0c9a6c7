"""Generated demo data as sealed, hash-chained events (partners, agreements, evaluations).

The shapes follow the domain code (services/partners, services/agreements/domain/agreement.py,
services/evaluation/domain/evaluation.py) and carry every key the evaluation projections read.
One *unit* is the Muaro Jambi demo scale: 12 partners, 30 agreements, 25 evaluations.
Events are published straight to the service topics with ``shared.kafka.KafkaPublisher``
(keys = stream ids, as the relays publish them), bypassing the HTTP APIs and event stores.
"""
from __future__ import annotations

import random
import time
import uuid
from datetime import date, datetime, timedelta, timezone

from shared.envelope import GENESIS_HASH, Actor, seal
from shared.kafka import KafkaPublisher, ensure_topics

PARTNERS_PER_UNIT, AGREEMENTS_PER_UNIT, EVALUATIONS_PER_UNIT = 12, 30, 25
OPDS = ("SETDA", "DISKOMINFO", "DINKES", "DISDIK", "DISPAR", "BAPPEDA", "DPMPTSP", "DINSOS")
URUSAN = ("pariwisata", "pendidikan", "kesehatan", "komunikasi_informatika", "pertanian", "perhubungan")
ACTORS = {"kerjasama": Actor("bench-kerjasama", "kerjasama", "Bench Kerjasama"),
          "tkksd": Actor("bench-tkksd", "tkksd", "Bench TKKSD"),
          "pimpinan": Actor("bench-pimpinan", "pimpinan", "Bupati Muaro Jambi"),
          "opd": Actor("bench-opd", "opd", "Bench OPD", opd="DISKOMINFO"),
          "service": Actor("agreements-scheduler", "service", "Scheduler")}
GROUPS = {"perencanaan": 0.25, "pelaksanaan": 0.4, "hasil": 0.35}


class Streams:
    """Seals events per stream, keeping version and hash chain."""

    def __init__(self, t0: datetime):
        self.t = t0
        self.heads: dict[str, tuple[int, str]] = {}
        self.out: list[tuple[str, str, dict]] = []  # (service, stream_id, envelope)

    def emit(self, service: str, stream_type: str, sid: str, event_type: str, data: dict, role="kerjasama"):
        version, prev = self.heads.get(sid, (0, GENESIS_HASH))
        self.t += timedelta(milliseconds=7)
        env = seal(event_type=event_type, data=data, stream_id=sid, stream_type=stream_type, version=version + 1,
                   prev_hash=prev, occurred_at=self.t, actor=ACTORS[role], correlation_id=str(uuid.uuid4()))
        self.heads[sid] = (version + 1, env["hash"])
        self.out.append((service, sid, env))
        return env


def _partner(s: Streams, rnd: random.Random, i: int) -> tuple[str, str]:
    sid = f"partner-{uuid.uuid4()}"
    if i % 3 == 0:
        kind, data = "daerah_lain", {"name": f"Pemerintah Kabupaten Bench {i:06d}", "kind": "daerah_lain",
                                     "region_code": f"{11 + i % 80}.{10 + i % 90:02d}.{10 + i % 89:02d}"}
    else:
        kind, data = "pihak_ketiga", {
            "name": f"Yayasan Bench {i:06d}", "kind": "pihak_ketiga", "subtype": "yayasan", "country": "ID",
            "identifiers": {"npwp": f"{8_000_000_000_000_000 + i:016d}"},
            "address": {"street": "Jl. Lintas Timur No. 12", "city": "Sengeti", "province": "Jambi",
                        "postal_code": "36381"},
            "website": "https://yayasan-bench.or.id", "description": "Yayasan pendidikan; mitra program daerah.",
            "cooperation_scope": "dalam_negeri",
            "contacts": [{"name": "Budi Santoso", "position": "Ketua", "phone": "+62 811 7400 123",
                          "email": "budi@yayasan-bench.or.id"}]}
    s.emit("partners", "partner", sid, "partner.registered", data)
    if rnd.random() < 0.9:
        s.emit("partners", "partner", sid, "partner.verified", {"note": "dokumen legalitas lengkap"})
    return sid, kind


def _agreement(s: Streams, rnd: random.Random, i: int, partner: tuple[str, str]) -> tuple[str, str, str, bool]:
    """Drafts one agreement and drives it to a random stage; returns (id, lead_opd, status, active)."""
    sid = f"agreement-{uuid.uuid4()}"
    pid, kind = partner
    category = "KSDD" if kind == "daerah_lain" else "KSDPK"
    pks = i % 2 == 1
    lead = OPDS[i % len(OPDS)]
    year = 2022 + i % 5
    start = date(year, 1 + i % 12, 1)
    end = start + timedelta(days=365 * 3)
    s.emit("agreements", "agreement", sid, "agreement.drafted", {
        "category": category, "ksdd_type": "sukarela" if category == "KSDD" else None,
        "document_kind": "PKS" if pks else "KB", "title": f"Kerja Sama Bench {i:06d}",
        "our_number": f"{i:04d}/KS/{year}", "partner_number": None, "urusan": [URUSAN[i % len(URUSAN)]],
        "purpose": "Peningkatan layanan publik", "scope": "Pertukaran data dan pelatihan", "location": "Muaro Jambi",
        "lead_opd": lead, "start_date": start.isoformat(), "end_date": end.isoformat(),
        "value": 50_000_000 * (1 + i % 5), "funding_scheme": "APBD", "burdens_public": False,
        "budgeted_in_apbd": True, "partner_ids": [pid], "parent_kb_id": None, "extends_agreement_id": None})
    stage = rnd.random()
    if stage < 0.05:
        return sid, lead, "DRAFT", False
    s.emit("agreements", "agreement", sid, "agreement.draft_edited", {"changes": {"title": f"Kerja Sama Bench {i:06d} (rev)"}})
    s.emit("agreements", "agreement", sid, "agreement.submitted", {"dprd_required": False, "central_required": False})
    if stage < 0.10:
        return sid, lead, "SUBMITTED", False
    s.emit("agreements", "agreement", sid, "agreement.review_started", {}, role="tkksd")
    s.emit("agreements", "agreement", sid, "agreement.review_recorded", {
        "recommended": True, "notes": "layak", "reviewed_on": start.isoformat(), "next_status": "READY_TO_SIGN"},
        role="tkksd")
    if stage < 0.14:
        return sid, lead, "READY_TO_SIGN", False
    s.emit("agreements", "agreement", sid, "agreement.signed", {
        "signed_on": start.isoformat(), "signatory": {"name": "Bupati Muaro Jambi", "position": "kepala_daerah",
                                                      "power_of_attorney_ref": None},
        "partner_signatory": None, "our_number": f"{i:04d}/KS/{year}", "partner_number": f"P-{i:05d}"},
        role="pimpinan")
    s.emit("agreements", "agreement", sid, "agreement.activated", {"activated_on": start.isoformat()}, role="service")
    if pks:
        for a in range(2):
            aid = f"kegiatan-{a + 1}"
            s.emit("agreements", "agreement", sid, "agreement.activity_added", {
                "activity_id": aid, "name": f"Kegiatan {a + 1}", "indicator": "peserta terlatih", "target": 10,
                "unit": "orang", "schedule_start": start.isoformat(), "schedule_end": end.isoformat(),
                "responsible_opd": lead, "budget": 25_000_000})
            for q in range(1, 3):
                s.emit("agreements", "agreement", sid, "agreement.report_filed", {
                    "activity_id": aid, "period": f"{year}-TW{q}", "realisation": 3 * q, "obstacles": "cuaca",
                    "solutions": "jadwal ulang", "evidence": [],
                    "filed_on": (start + timedelta(days=95 * q)).isoformat()}, role="opd")
    return sid, lead, "ACTIVE", True


def _evaluation(s: Streams, rnd: random.Random, i: int, agreement: tuple[str, str]):
    sid = f"evaluation-{uuid.uuid4()}"
    aid, lead = agreement
    year = 2023 + i % 4
    s.emit("evaluation", "evaluation", sid, "evaluation.scheduled", {
        "agreement_id": aid, "agreement_lead_opd": lead, "period": ("TW1", "TW2", "TW3", "TW4", "TAHUNAN")[i % 5],
        "year": year,
        "due_date": f"{year}-12-15", "assessor_kind": "opd", "rubric_id": "monev-default", "rubric_version": 1})
    stage = rnd.random()
    if stage < 0.1:
        return
    answers = {f"i{k}": rnd.randint(1, 5) for k in range(1, 9)}
    s.emit("evaluation", "evaluation", sid, "evaluation.answers_saved", {"answers": answers}, role="opd")
    if stage < 0.2:
        return
    s.emit("evaluation", "evaluation", sid, "evaluation.submitted", {"submission_number": 1}, role="opd")
    if stage < 0.35:
        return
    groups = {g: round(rnd.uniform(40, 100), 2) for g in GROUPS}
    overall = round(sum(groups[g] * w for g, w in GROUPS.items()), 2)
    rating = 5 if overall >= 85 else 4 if overall >= 70 else 3 if overall >= 55 else 2
    s.emit("evaluation", "evaluation", sid, "evaluation.finalized", {
        "rubric_id": "monev-default", "rubric_version": 1,
        "indicator_scores": {k: v * 20 for k, v in answers.items()}, "group_scores": groups,
        "group_weights": GROUPS, "overall": overall, "rating": rating, "answers": answers})


def generate(units: float, seed: int = 7, t0: datetime | None = None) -> list[tuple[str, str, dict]]:
    """Events of ``units`` × the demo (partners first, then agreements, then evaluations)."""
    rnd = random.Random(seed)
    s = Streams(t0 or datetime(2026, 1, 1, tzinfo=timezone.utc))
    partners = [_partner(s, rnd, i) for i in range(int(PARTNERS_PER_UNIT * units))]
    agreements = [_agreement(s, rnd, i, partners[i % len(partners)]) for i in range(int(AGREEMENTS_PER_UNIT * units))]
    active = [(a[0], a[1]) for a in agreements if a[3]] or [(a[0], a[1]) for a in agreements]
    for i in range(int(EVALUATIONS_PER_UNIT * units)):
        _evaluation(s, rnd, i, active[i % len(active)])
    return s.out


def generate_events(target: int, seed: int = 7) -> list[tuple[str, str, dict]]:
    """About ``target`` events of the same mix (whole demo units, scaled)."""
    per_unit = len(generate(1, seed))
    return generate(max(1.0, target / per_unit), seed)


def publish(settings, events, chunk: int = 250) -> float:
    """Publish ``(service, key, envelope)`` to ``<prefix>.<service>.events``; returns seconds.
    ``chunk`` events per call: each call must fit the publisher's send budget (5 s), also on a busy machine."""
    ensure_topics(settings, [settings.topic(svc) for svc in ("partners", "agreements", "evaluation")])
    publisher = KafkaPublisher(settings)
    start = time.perf_counter()
    for i in range(0, len(events), chunk):
        publisher.publish([(settings.topic(svc), key, env) for svc, key, env in events[i:i + chunk]])
    seconds = time.perf_counter() - start
    close = getattr(publisher, "close", None)
    if close:
        close()
    return seconds


def counts(events) -> dict:
    out: dict = {}
    for _svc, _key, env in events:
        out[env["stream_type"]] = out.get(env["stream_type"], 0) + 1
    return out
