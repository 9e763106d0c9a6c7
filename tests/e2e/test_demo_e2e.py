"""The Muaro Jambi demo (make run's main job) over HTTP: loads every kind of data, a second run
creates nothing new, the register shows every state of the lifecycle, and what was loaded passes
the controlled vocabularies and the domain's rules a Bagian Kerja Sama officer would check."""
import re
from datetime import date

import pytest

from cli.demo import describe, load_demo
from cli.demo_data import NUMBER_PATTERN, partner_specs
from shared.vocabularies import load as load_vocabularies
from tests.support import wait_until

STATES = ("DRAFT", "SUBMITTED", "UNDER_REVIEW", "AWAITING_DPRD", "AWAITING_CENTRAL", "READY_TO_SIGN", "SIGNED",
          "ACTIVE", "EXPIRED", "TERMINATED", "REJECTED", "CANCELLED")
EVALUATION_STATES = ("SCHEDULED", "IN_PROGRESS", "SUBMITTED", "FINALIZED", "CANCELLED")


def totals(stack) -> dict:
    """What the read APIs count (every test's data shares the stack: compare, do not assume)."""
    get = lambda path: stack.call("GET", "evaluation", path, params={"per_page": 1}).json()["total"]  # noqa: E731
    return {"partners": get("/api/v1/partners"), "agreements": get("/api/v1/agreements"),
            "evaluations": get("/api/v1/evaluations")}


def settled(stack, previous=None):
    """The read models' totals once they stop moving (the same twice, 1 s apart)."""
    state = {"last": previous}

    def check():
        now = totals(stack)
        stable, state["last"] = now == state["last"], now
        return stable and now
    return wait_until(check, 30, interval=1.0, what="read models settled")


@pytest.fixture(scope="module")
def first(stack):
    """The first load of the demo (the other tests read what it loaded)."""
    return load_demo(stack.urls, stack.settings, timeout=100)


def test_demo_loads_every_state_and_a_second_run_creates_nothing(stack, first):
    print(describe(first))
    # Every step the domain refused is a warning; the scheduler (every second here) may have done
    # an activation or expiry first, which the loader counts as done, not as a warning.
    assert first["warnings"] == [], first["warnings"]
    assert first["agreements"]["total"] >= 20 and first["partners"]["total"] >= 15
    after_first = settled(stack)

    second = load_demo(stack.urls, stack.settings, timeout=60)
    print(describe(second))
    assert second["partners"]["created"] == second["agreements"]["created"] == 0
    assert second["evaluations"]["created"] == 0
    if second["reports_filed"]:
        # The e2e scheduler runs every second, so it can expire a past-dated agreement before the
        # first load filed its last reports (the loader skips those); the second run completes them
        # and a third must file nothing at all.
        assert load_demo(stack.urls, stack.settings, timeout=60)["reports_filed"] == 0
    assert second["agreement_ids"] == first["agreement_ids"]
    assert second["evaluation_ids"] == first["evaluation_ids"]
    assert settled(stack, after_first) == after_first

    # every state of the lifecycle is in the register, with the demo's partners of every kind
    for status in STATES:
        r = stack.call("GET", "evaluation", "/api/v1/agreements", params={"status": status, "per_page": 200})
        ids = {i["id"] for i in r.json()["items"]}
        assert ids & set(first["agreement_ids"].values()), f"no demo agreement is {status}"
    kinds = {p["kind"] for pid in first["partner_ids"].values()
             for p in [stack.call("GET", "partners", f"/api/v1/partners/{pid}").json()]}
    assert kinds == {"daerah_lain", "pihak_ketiga", "pemda_luar_negeri", "lembaga_luar_negeri", "pemerintah_pusat"}

    # the rejected agreement was first reviewed negatively (back to draft), then rejected by the leaders;
    # the addendum went through the TKKSD review before it was signed
    written = [stack.call("GET", "agreements", f"/api/v1/agreements/{aid}").json()
               for aid in first["agreement_ids"].values()]
    rejected = [a for a in written if a["status"] == "REJECTED"]
    assert rejected and all(any(r.get("negative_review") for r in a["revision_requests"]) for a in rejected)
    addenda = [x for a in written for x in a.get("addenda") or []]
    assert addenda and all(x["status"] == "SIGNED" and x["review"]["recommended"] for x in addenda)

    # evaluations in every status, finalized ones spread over four years with different ratings
    demo_evaluations = set(first["evaluation_ids"].values())
    listed = [e for e in stack.call("GET", "evaluation", "/api/v1/evaluations",
                                    params={"per_page": 200}).json()["items"] if e["id"] in demo_evaluations]
    assert len(listed) == len(demo_evaluations)
    assert {e["status"] for e in listed} == set(EVALUATION_STATES)
    finalized = [e for e in listed if e["status"] == "FINALIZED"]
    assert len({e["year"] for e in finalized}) >= 4 and len({e["rating"] for e in finalized}) >= 3

    # work plans with quarterly reports, an agreement in its H-90 window, reports overdue
    demo_agreements = set(first["agreement_ids"].values())
    items = [i for i in stack.call("GET", "evaluation", "/api/v1/agreements", params={"per_page": 200}).json()["items"]
             if i["id"] in demo_agreements]
    # the work plan is in the full agreement (a register list item is a slim row without it)
    full = [stack.call("GET", "evaluation", f"/api/v1/agreements/{i['id']}").json() for i in items]
    reported = [a for i in full for a in i["activities"] if a.get("report_count")]
    assert len(reported) >= 8
    assert any(i["expiring_within_90_days"] for i in items)
    assert any(i["report_overdue"] for i in items)
    assert any(i.get("latest_score") is not None for i in items)


def test_the_demo_passes_the_vocabularies_and_the_rules(stack, first):
    vocab = load_vocabularies()
    served = stack.call("GET", "agreements", "/api/v1/vocabularies", role="publik").json()
    assert served["version"] == vocab.version and served == stack.call(
        "GET", "evaluation", "/api/v1/vocabularies", role="publik").json()
    today = date.fromisoformat(first["today"])
    agreements = [stack.call("GET", "agreements", f"/api/v1/agreements/{aid}").json()
                  for aid in first["agreement_ids"].values()]
    regions = {spec.body["name"]: spec.body.get("region_code") for spec in partner_specs()}
    partners = {pid: stack.call("GET", "partners", f"/api/v1/partners/{pid}").json()
                for pid in first["partner_ids"].values()}
    pattern = re.compile("^" + re.escape(NUMBER_PATTERN).replace(re.escape("{seq:02d}"), r"\d{2}")
                         .replace(re.escape("{series}"), "(KB|NK|PKS)").replace(re.escape("{year}"), r"\d{4}") + "$")
    numbers = [a["our_number"] for a in agreements if a["our_number"]]
    assert len(numbers) == len(set(numbers)), "two agreements carry the same number"
    assert all(pattern.match(n) for n in numbers), numbers
    pj_signed = 0
    for a in agreements:
        what = f"{a['title'][:60]} ({a['status']})"
        assert a["urusan"] and not vocab.urusan.unknown(a["urusan"]), what
        assert vocab.opd.has(a["lead_opd"]), what
        assert all(vocab.opd.has(act["responsible_opd"]) for act in a["activities"]), what
        assert all(vocab.funding_sources.has(f["source"]) for f in a["funding"]), what
        assert a["value"] == sum(f["amount"] for f in a["funding"]), what
        if a["ksdd_type"] == "wajib":
            assert all(vocab.borders(vocab.region_code, partners[p]["region_code"]) for p in a["partner_ids"]), what
        if a["signing"]:
            signatory = a["signing"]["signatory"]
            assert re.search(r"[a-z]", signatory["name"]) and not signatory["name"].startswith(
                ("Bupati", "Pj", "Sekretaris", "Kepala")), f"a title, not a name: {signatory['name']}"
            partner_signatory = a["signing"]["partner_signatory"]
            if partner_signatory:
                assert partner_signatory["name"] != partner_signatory["position"], what
            if a["document_kind"] == "KB":
                assert signatory["position"] in ("kepala_daerah", "pj_kepala_daerah", "plt_kepala_daerah"), what
                assert not signatory["power_of_attorney_ref"], what
                pj_signed += signatory["position"] == "pj_kepala_daerah"
            else:
                assert signatory["position"] == "kepala_perangkat_daerah" and signatory["power_of_attorney_ref"], what
            dated = [a["review"] and a["review"]["reviewed_on"], a["dprd_approval"] and a["dprd_approval"]["approved_on"],
                     a["central_approval"] and a["central_approval"]["approved_on"], a["signing"]["signed_on"]]
            dated = [d for d in dated if d]
            assert dated == sorted(dated) and dated[-1] <= today.isoformat(), what
        if a["termination"]:
            assert vocab.termination_reasons.has(a["termination"]["reason_code"]), what
            assert a["signing"]["signed_on"] <= a["termination"]["terminated_on"] <= today.isoformat(), what
        assert a["dprd_required"] == (a["burdens_public"] or any(f["budgeted"] is False for f in a["funding"])
                                      or a["category"] in ("KSDPL", "KSDLL")), what
        if a["status"] in ("SIGNED", "ACTIVE", "EXPIRED", "TERMINATED"):
            assert (a["dprd_approval"] is not None) == a["dprd_required"], what
    assert pj_signed >= 1, "no KB is signed by a Pj Bupati"
    # the CSR-funded PKS did not go to the DPRD; Tebo (no common border) is not KSDD wajib
    by_title = {a["title"]: a for a in agreements}
    psr = next(a for t, a in by_title.items() if "Peremajaan Sawit" in t)
    assert psr["dprd_approval"] is None and {f["source"] for f in psr["funding"]} == {"csr_tjsl", "lainnya"}
    assert not vocab.borders(vocab.region_code, regions["Pemerintah Kabupaten Tebo"])
    tebo = next(a for t, a in by_title.items() if "Kabupaten Tebo" in t)
    assert tebo["ksdd_type"] == "sukarela"

    # quarterly evaluations only for quarters that have ended, relative to the day the demo was loaded
    demo_evaluations = set(first["evaluation_ids"].values())
    quarter_ends = {1: (3, 31), 2: (6, 30), 3: (9, 30), 4: (12, 31)}
    for e in stack.call("GET", "evaluation", "/api/v1/evaluations", params={"per_page": 200}).json()["items"]:
        if e["id"] in demo_evaluations and e["period"].startswith("TW"):
            month, day = quarter_ends[int(e["period"][2])]
            assert date(e["year"], month, day) < today, f"{e['period']} {e['year']} has not ended on {today}"
