"""A small dataset for the browser tests, written through the public HTTP APIs only.

3 partners (a neighbouring city with a contact person, a university, a foreign institution),
5 agreements (ACTIVE KB expiring within 90 days and its ACTIVE PKS with a work plan whose report
is overdue, an ACTIVE KB with a university, a foreign KB under review, a draft), one finalized
evaluation and one overdue evaluation.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from cli.workflow import KB_SIGNATORY, AgreementWorkflow, post_until_accepted
from tests.e2e.flows import draft, register_verified
from tests.support import wait_until

# Personal data that must never appear in the publik view.
CONTACT = {"name": "Budi Santoso Wicaksono", "position": "Kepala Bagian Kerja Sama",
           "phone": "+62 741 555 0123", "email": "budi.wicaksono@jambikota.go.id"}
UNIVERSITY_CONTACT = {"name": "Siti Rahmawati Lubis", "position": "Direktur Kerja Sama",
                      "phone": "+62 741 555 0456", "email": "siti.lubis@unja.ac.id"}
PERSONAL_STRINGS = [CONTACT["name"], CONTACT["email"], CONTACT["phone"], UNIVERSITY_CONTACT["name"],
                    UNIVERSITY_CONTACT["email"], UNIVERSITY_CONTACT["phone"], "Budi Santoso", "Siti Rahmawati"]


def local_today() -> date:
    return datetime.now(ZoneInfo("Asia/Jakarta")).date()


def _shift_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def post(stack, service, path, body=None, expect=200):
    """A command; its answer, asserted to have status ``expect``. Sent again while the scheduler
    changes the same stream meanwhile."""
    r = post_until_accepted(stack.client, service, path, body or {}, patience=15,
                            waiting_for=frozenset({"concurrent_modification"}))
    assert r.status_code == expect, f"POST {path}: {r.status_code} {r.text}"
    return r.json()


def act(stack, agreement_id, command, caller, body=None):
    """An agreement command (sent again while the scheduler changes the same stream meanwhile)."""
    r = AgreementWorkflow(stack.client, agreement_id).send(command, caller, body or {})
    assert r.status_code == 200, f"{command}: {r.status_code} {r.text}"
    return r.json()


def walk_to(stack, agreement_id, status):
    """Through the workflow up to ``status`` (signatories: the Bupati for a KB, the Sekda under a
    power of attorney for a PKS)."""
    flow = AgreementWorkflow(stack.client, agreement_id)
    assert flow.walk_to(status), f"{agreement_id} stopped at {flow.status}: {flow.last and flow.last.text}"
    return flow.snap


def _register_item(stack, agreement_id):
    r = stack.call("GET", "evaluation", f"/api/v1/agreements/{agreement_id}")
    return r.json() if r.status_code == 200 else None


def seed(stack) -> dict:
    today = local_today()
    kota = register_verified(stack, name="Pemerintah Kota Jambi", region_code="15.71", contacts=[CONTACT],
                             website="https://jambikota.go.id")
    unja = register_verified(stack, name="Universitas Jambi", kind="pihak_ketiga", subtype="perguruan_tinggi",
                             contacts=[UNIVERSITY_CONTACT])
    jica = register_verified(stack, name="Japan International Cooperation Agency", kind="lembaga_luar_negeri",
                             country="JP")

    # A1: KB with Kota Jambi, started three years ago, ends in 60 days (expiring, ACTIVE).
    kb_start, kb_end = _shift_years(today, -3), today + timedelta(days=60)
    kb = draft(stack, kota, title="Kesepakatan Bersama Pengelolaan Sampah Regional Kota Jambi dan Muaro Jambi",
               start_date=kb_start.isoformat(), end_date=kb_end.isoformat(), urusan=["lingkungan_hidup"],
               value=1_250_000_000, funding=[{"source": "apbd", "amount": 1_250_000_000, "budgeted": True}],
               our_number="01/KB/KS/2023").json()
    walk_to(stack, kb["id"], "SIGNED")

    # A2: PKS under it, led by DLH, with a work plan (60 % and 100 % → 80 %) and a report now overdue.
    pks_start = _shift_years(today, -2)
    pks = draft(stack, kota, document_kind="PKS", parent_kb_id=kb["id"], lead_opd="DLH",
                title="Perjanjian Kerja Sama Pengangkutan Sampah Terpadu", start_date=pks_start.isoformat(),
                end_date=kb_end.isoformat(), urusan=["lingkungan_hidup"], value=450_000_000,
                funding=[{"source": "apbd", "amount": 450_000_000, "budgeted": True}]).json()
    walk_to(stack, pks["id"], "SIGNED")
    first_quarter = f"{pks_start.year + 1}-TW1"
    for activity, realisation in (({"activity_id": "armada", "name": "Pengadaan armada pengangkut sampah",
                                     "target": 10, "unit": "unit"}, 6),
                                  ({"activity_id": "pelatihan", "name": "Pelatihan petugas kebersihan",
                                    "target": 4, "unit": "angkatan"}, 4)):
        act(stack, pks["id"], "activities", "kerjasama", {
            "indicator": "capaian fisik", "responsible_opd": "DLH", "schedule_start": pks_start.isoformat(),
            "schedule_end": (kb_end - timedelta(days=1)).isoformat(), "budget": 150_000_000, **activity})
        act(stack, pks["id"], f"activities/{activity['activity_id']}/reports", stack.caller("opd", opd="DLH"),
            {"period": first_quarter, "realisation": realisation, "obstacles": "musim hujan",
             "solutions": "jadwal ulang"})

    # A3: KB with the university, ACTIVE, with a finalized evaluation.
    unja_kb = draft(stack, unja, category="KSDPK", ksdd_type=None,
                    title="Kesepakatan Bersama Tridharma Perguruan Tinggi untuk Pembangunan Daerah",
                    start_date=date(today.year - 1, 2, 1).isoformat(), end_date=date(today.year + 2, 1, 31).isoformat(),
                    urusan=["pendidikan"], value=0).json()
    walk_to(stack, unja_kb["id"], "SIGNED")

    # A4: a foreign KB under TKKSD review (the public does not see it).
    foreign = draft(stack, jica, category="KSDLL", ksdd_type=None,
                    title="Kesepakatan Bersama Peningkatan Kapasitas Penanggulangan Bencana",
                    start_date=date(today.year + 1, 3, 1).isoformat(), end_date=date(today.year + 4, 2, 28).isoformat(),
                    urusan=["trantibum_linmas"]).json()
    walk_to(stack, foreign["id"], "UNDER_REVIEW")

    # A5: a draft.
    drafted = draft(stack, kota, title="Kesepakatan Bersama Pengembangan Wisata Sungai Batanghari",
                    start_date=date(today.year + 1, 1, 1).isoformat(), end_date=date(today.year + 3, 12, 31).isoformat(),
                    urusan=["pariwisata"], value=75_500_000,
                    funding=[{"source": "apbd", "amount": 75_500_000, "budgeted": True}]).json()

    # Wait for the scheduler (activation, H-90 reminders) and the projector before evaluations.
    for agreement_id in (kb["id"], pks["id"], unja_kb["id"]):
        wait_until(lambda a=agreement_id: (i := _register_item(stack, a)) and i["status"] == "ACTIVE", 30,
                   what=f"{agreement_id} ACTIVE in the register")

    # A3 has had an addendum of its scope: drafted, reviewed by the TKKSD, signed (after activation,
    # so that the scheduler does not race its commands).
    act(stack, unja_kb["id"], "addenda", "kerjasama",
        {"reason": "Perluasan ruang lingkup ke pengabdian masyarakat", "changes": {"scope": "Tridharma dan KKN"}})
    for command, caller, body in (("submit", "kerjasama", {}), ("review", "tkksd", {"recommended": True}),
                                  ("sign", "pimpinan", {"number": "ADD.01/KB/SETDA-KS", **KB_SIGNATORY})):
        act(stack, unja_kb["id"], f"addenda/1/{command}", caller, body)

    rubric = stack.call("GET", "evaluation", "/api/v1/rubric").json()
    answers = {i["id"]: i["options"][min(1 if n % 2 else 0, len(i["options"]) - 1)]["key"]
               for n, i in enumerate(ind for ind in rubric["indicators"] if ind.get("options"))}
    evaluation = _evaluation(stack, unja_kb["id"], period="TAHUNAN", year=today.year - 1,
                             due_date=date(today.year, 1, 31).isoformat())
    for command, body in (("answers", {"answers": answers}), ("submit", {}), ("finalize", {})):
        post(stack, "evaluation", f"/api/v1/evaluations/{evaluation}/{command}", body)
    overdue_due = today - timedelta(days=20)
    # a quarter that had ended long before its (past) due date: the guards refuse one due before it ends
    overdue = _evaluation(stack, pks["id"], period="TW1", year=overdue_due.year - 1, due_date=overdue_due.isoformat(),
                          assessor_kind="opd")

    ids = {"kota": kota, "unja": unja, "jica": jica, "kb": kb["id"], "pks": pks["id"], "unja_kb": unja_kb["id"],
           "foreign": foreign["id"], "draft": drafted["id"], "evaluation": evaluation, "overdue_evaluation": overdue}
    settle(stack, ids)
    return ids


def _evaluation(stack, agreement_id, assessor_kind="kerjasama", **fields):
    return post(stack, "evaluation", "/api/v1/evaluations",
                {"agreement_id": agreement_id, "assessor_kind": assessor_kind, **fields}, expect=201)["stream_id"]


def settle(stack, ids) -> None:
    """Wait until every read model reflects the whole dataset (and nothing more is coming)."""
    def stats_complete():
        s = stack.call("GET", "evaluation", "/api/v1/stats/overview").json()
        a, e = s.get("agreements", {}), s.get("evaluations", {})
        return (a.get("total") == 5 and a.get("by_status", {}).get("ACTIVE") == 3
                and e.get("total") == 2 and e.get("by_status", {}).get("FINALIZED") == 1
                and s.get("partners", {}).get("total") == 3 and s["today"]["evaluations_overdue"] == 1
                and s["today"]["expiring_within_90"] == 2 and s)
    wait_until(stats_complete, 45, interval=0.25, what="statistics of the seeded dataset")
    # The scheduler's H-90 reminders for the two agreements ending within 90 days are the last
    # events it records for this dataset.
    for agreement_id in (ids["kb"], ids["pks"]):
        wait_until(lambda a=agreement_id: (_register_item(stack, a) or {}).get("reminder_raised_on"), 30,
                   what=f"H-90 reminder of {agreement_id}")
    wait_until(lambda: (_register_item(stack, ids["unja_kb"]) or {}).get("latest_score") is not None, 30,
               what="score in the register")

    def feeds_stable():
        counts = [stack.call("GET", "evaluation", "/api/v1/feed", params={"subject": ids[k], "per_page": 1})
                  .json()["total"] for k in ("kb", "pks", "unja_kb")]
        stable = counts == getattr(feeds_stable, "last", None)
        feeds_stable.last = counts
        return stable
    wait_until(feeds_stable, 30, interval=0.5, what="timelines stable")
