"""The evaluation projections on FerretDB, fed a recorded event log: the expected documents,
exactly, whatever the delivery — batches of any size, every event twice, a whole replay over the
same database, or the streams interleaved in another order (as a rebuild from three topics may)."""
import random
from datetime import datetime, timedelta, timezone
from unittest.mock import ANY

import pytest

from services.evaluation.bootstrap import projections
from services.evaluation.projections.agreement_rows import ROWS, row_of
from services.evaluation.rebuild import collection_digest
from shared.checkpoint import CHECKPOINTS
from shared.consumer import DEAD_LETTERS, PARKED, POSITIONS, ConsumerRunner
from shared.envelope import GENESIS_HASH, Actor, seal

T0 = datetime(2024, 1, 8, 2, 0, tzinfo=timezone.utc)
KERJASAMA = Actor("u-ks", "kerjasama", "Bagian Kerja Sama")
OPD = Actor("u-opd", "opd", "Dinas Kominfo", opd="DISKOMINFO")
P_KOTA, P_UNIV = "partner-kota-jambi", "partner-unja"
KB, PKS = "agreement-kb", "agreement-pks"
E_TW1, E_TW3, E_2025 = "evaluation-2024-tw1", "evaluation-2024-tw3", "evaluation-2025-tw1"


class Log:
    def __init__(self):
        self.events, self.heads, self.t = [], {}, T0

    def emit(self, stream_type, sid, event_type, data, actor=KERJASAMA):
        version, prev = self.heads.get(sid, (0, GENESIS_HASH))
        self.t += timedelta(hours=1)
        event = seal(event_type=event_type, data=data, stream_id=sid, stream_type=stream_type, version=version + 1,
                     prev_hash=prev, occurred_at=self.t, actor=actor, correlation_id=f"c-{len(self.events)}")
        self.heads[sid] = (version + 1, event["hash"])
        self.events.append(event)


def terms(title, kind, start, partner):
    return {"category": "KSDD" if partner == P_KOTA else "KSDPK", "ksdd_type": None, "document_kind": kind,
            "title": title, "our_number": None, "partner_number": None, "urusan": ["komunikasi_informatika"],
            "purpose": "Layanan publik", "scope": "Data", "location": "Muaro Jambi", "lead_opd": "DISKOMINFO",
            "start_date": start, "end_date": "2027-12-31", "value": 100_000_000, "funding_scheme": "APBD",
            "burdens_public": False, "budgeted_in_apbd": True, "partner_ids": [partner], "parent_kb_id": None,
            "extends_agreement_id": None}


def recorded() -> list[dict]:
    log = Log()
    log.emit("partner", P_KOTA, "partner.registered", {"name": "Pemerintah Kota Jambi", "kind": "daerah_lain",
                                                       "region_code": "15.71"})
    log.emit("partner", P_KOTA, "partner.verified", {"note": "ok"})
    log.emit("partner", P_UNIV, "partner.registered", {
        "name": "Universitas Jambi", "kind": "pihak_ketiga", "subtype": "perguruan_tinggi",
        "contacts": [{"name": "Dr. Sari", "position": "Wakil Rektor", "email": "sari@unja.ac.id"}]})
    log.emit("agreement", KB, "agreement.drafted", terms("KB Smart City", "KB", "2024-02-01", P_KOTA))
    log.emit("agreement", KB, "agreement.draft_edited", {"changes": {"title": "KB Kota Cerdas"}})
    log.emit("agreement", KB, "agreement.submitted", {"dprd_required": False, "central_required": False})
    log.emit("agreement", PKS, "agreement.drafted", terms("PKS Magang", "PKS", "2024-01-01", P_UNIV))
    for event_type, data in (("submitted", {}), ("review_started", {}),
                             ("review_recorded", {"recommended": True, "next_status": "READY_TO_SIGN"}),
                             ("signed", {"signed_on": "2024-01-15"}), ("activated", {"activated_on": "2024-01-15"})):
        log.emit("agreement", PKS, f"agreement.{event_type}", data)
    log.emit("agreement", PKS, "agreement.activity_added", {
        "activity_id": "magang", "name": "Magang mahasiswa", "indicator": "mahasiswa", "target": 20, "unit": "orang",
        "schedule_start": "2024-01-15", "schedule_end": "2025-12-31", "responsible_opd": "DISKOMINFO", "budget": 0})
    for period, realisation in (("2024-TW1", 4), ("2024-TW2", 10)):
        log.emit("agreement", PKS, "agreement.report_filed", {"activity_id": "magang", "period": period,
                                                               "realisation": realisation}, actor=OPD)
    log.emit("partner", P_UNIV, "partner.profile_updated", {"changes": {"name": "Universitas Jambi (UNJA)"}})
    for sid, period, year, overall, rating in ((E_TW1, "TW1", 2024, 62.5, 3), (E_TW3, "TW3", 2024, 81.25, 4),
                                               (E_2025, "TW1", 2025, None, None)):
        log.emit("evaluation", sid, "evaluation.scheduled", {
            "agreement_id": PKS, "agreement_lead_opd": "DISKOMINFO", "period": period, "year": year,
            "due_date": f"{year}-12-15", "assessor_kind": "opd", "rubric_id": "monev-default", "rubric_version": 1})
        if overall is not None:
            log.emit("evaluation", sid, "evaluation.answers_saved", {"answers": {"i1": 3}}, actor=OPD)
            log.emit("evaluation", sid, "evaluation.submitted", {"submission_number": 1}, actor=OPD)
            log.emit("evaluation", sid, "evaluation.finalized", {
                "overall": overall, "rating": rating, "group_scores": {"hasil": overall}})
    return log.events


def interleaved(events: list[dict], seed: int) -> list[dict]:
    """The same events with the streams interleaved at random, each stream's order kept."""
    rnd, queues = random.Random(seed), {}
    for event in events:
        queues.setdefault(event["stream_id"], []).append(event)
    out = []
    while queues:
        sid = rnd.choice(sorted(queues))
        out.append(queues[sid].pop(0))
        if not queues[sid]:
            del queues[sid]
    return out


def project(db, deliveries: list[list[dict]]) -> ConsumerRunner:
    runner = ConsumerRunner("evaluation-projector", db, projections())
    runner.setup()
    for batch in deliveries:
        runner.handle(batch)
    runner.refresh(force=True)
    return runner


def batches(events, size):
    return [events[i:i + size] for i in range(0, len(events), size)]


def snapshot(db) -> dict:
    names = sorted(set(db.list_collection_names()) - {POSITIONS, PARKED, DEAD_LETTERS, CHECKPOINTS})
    return {name: collection_digest(db, name) for name in names}


@pytest.fixture
def fresh(mongo, settings):
    def make():
        mongo.drop_database(settings.database("test"))
        return mongo[settings.database("test")]
    return make


def test_the_recorded_log_gives_exactly_the_expected_documents(fresh):
    db = fresh()
    events = recorded()
    project(db, batches(events, 7))

    pks = db["agreements"].find_one({"_id": PKS})
    assert (pks["status"], pks["version"], pks["year"], pks["opds"]) == ("ACTIVE", 9, 2024, ["DISKOMINFO"])
    assert pks["activities"]["magang"]["realisation"] == 10 and pks["activities"]["magang"]["progress"] == 50.0
    assert pks["activities"]["magang"]["periods"] == ["2024-TW1", "2024-TW2"] and pks["progress"] == 50.0
    assert pks["partner_names"] == {P_UNIV: "Universitas Jambi (UNJA)"}
    assert pks["partner_kind_of"] == {P_UNIV: "pihak_ketiga"}
    # the latest evaluation is the 2025 one (only scheduled); the latest score is 2024 TW3's, not TW1's
    assert pks["latest_evaluation"] == {"id": E_2025, "status": "SCHEDULED", "period": "TW1", "year": 2025}
    assert (pks["latest_score"], pks["latest_rating"]) == (81.25, 4)
    kb = db["agreements"].find_one({"_id": KB})
    assert (kb["status"], kb["title"], kb["version"], kb["cooperation_scope"]) == \
        ("SUBMITTED", "KB Kota Cerdas", 3, "dalam_negeri")
    assert "latest_evaluation" not in kb
    # every filled-in agreement has its register row, shaped from its document, without the work plan
    filled = {d["_id"]: d for d in db["agreements"].find({"version": {"$exists": True}})}
    rows = {r["_id"]: r for r in db[ROWS].find()}
    assert set(rows) == set(filled) and all(rows[aid] == row_of(doc) for aid, doc in filled.items())
    assert rows[PKS]["latest_score"] == 81.25 and "activities" not in rows[PKS]

    evaluations = {d["_id"]: d for d in db["evaluations"].find()}
    assert {k: (d["status"], d.get("overall"), d["agreement_title"]) for k, d in evaluations.items()} == {
        E_TW1: ("FINALIZED", 62.5, "PKS Magang"), E_TW3: ("FINALIZED", 81.25, "PKS Magang"),
        E_2025: ("SCHEDULED", None, "PKS Magang")}
    partners = {d["_id"]: (d["status"], d["name"], d["version"]) for d in db["partners"].find()}
    assert partners == {P_KOTA: ("VERIFIED", "Pemerintah Kota Jambi", 2),
                        P_UNIV: ("REGISTERED", "Universitas Jambi (UNJA)", 2)}
    assert db["feed"].count_documents({}) == len(events)
    assert db["feed"].count_documents({"subject_ids": PKS}) == 9 + 9  # its own events and its evaluations'

    overview = db["statistics"].find_one({"_id": "overview"})
    assert overview["agreements"]["total"] == 2
    assert overview["agreements"]["by_status"] == {"ACTIVE": 1, "SUBMITTED": 1}
    assert overview["evaluations"]["by_status"] == {"FINALIZED": 2, "SCHEDULED": 1}
    assert overview["evaluations"]["rating_distribution"] == {"3": 1, "4": 1}
    assert overview["evaluations"]["average_score"] == round((62.5 + 81.25) / 2, 2)
    assert overview["partners"]["by_kind"] == {"daerah_lain": 1, "pihak_ketiga": 1}
    unja = db["partner_portfolios"].find_one({"_id": P_UNIV})
    assert (unja["agreements"], unja["active"], unja["average_score"], unja["average_progress"]) == (1, 1, 81.25, 50.0)
    kota = db["partner_portfolios"].find_one({"_id": P_KOTA})
    assert (kota["agreements"], kota["signed_or_later"]) == (1, 0)

    # the public view: the same figures over signed agreements only (the KB is still a submitted draft)
    public = db["statistics"].find_one({"_id": "public_overview"})
    assert (public["agreements"]["total"], public["agreements"]["by_status"]) == (1, {"ACTIVE": 1})
    assert public["evaluations"] == overview["evaluations"]  # all three are the signed PKS's
    assert public["partners"] == overview["partners"]
    assert db["public_partner_portfolios"].find_one({"_id": P_UNIV}) == {**unja, "computed_at": ANY}
    assert db["public_partner_portfolios"].find_one({"_id": P_KOTA}) is None
    assert [d["_id"] for d in db["public_opd_portfolios"].find()] == ["DISKOMINFO"]
    assert db["public_opd_portfolios"].find_one({"_id": "DISKOMINFO"})["agreements"] == 1
    assert db["opd_portfolios"].find_one({"_id": "DISKOMINFO"})["agreements"] == 2


def test_duplicates_replays_and_other_interleavings_give_the_same_documents(fresh):
    events = recorded()
    expected = snapshot((lambda db: (project(db, batches(events, 7)), db)[1])(fresh()))
    assert expected["agreements"][0] == 2 and expected["feed"][0] == len(events)

    # every batch delivered twice, then the whole log again (a consumer restarted from offset 0)
    db = fresh()
    project(db, [b for batch in batches(events, 5) for b in (batch, batch)] + batches(events, 40))
    assert snapshot(db) == expected

    # a replay over the same database with a new runner (positions read back from the database)
    project(db, batches(events, 3))
    assert snapshot(db) == expected

    # other orders across streams (a rebuild reads three topics of several partitions each)
    for seed, size in ((1, 1), (2, 4), (3, 11), (4, 40)):
        db = fresh()
        project(db, batches(interleaved(events, seed), size))
        assert snapshot(db) == expected, f"interleaving seed {seed}, batches of {size}"


def test_evaluations_arriving_before_their_agreement_still_fill_it_in(fresh):
    events = recorded()
    evaluations_first = [e for e in events if e["stream_type"] == "evaluation"] + \
                        [e for e in events if e["stream_type"] != "evaluation"]
    db = fresh()
    project(db, batches(evaluations_first, 6))
    pks = db["agreements"].find_one({"_id": PKS})
    assert (pks["latest_score"], pks["latest_evaluation"]["id"], pks["status"]) == (81.25, E_2025, "ACTIVE")
    assert db["evaluations"].find_one({"_id": E_TW1})["agreement_title"] == "PKS Magang"
