"""The Muaro Jambi demo (make run's main job) over HTTP: loads every kind of data, a second run
creates nothing new, and the register shows every state of the lifecycle."""
from cli.demo import describe, load_demo
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


def test_demo_loads_every_state_and_a_second_run_creates_nothing(stack):
    first = load_demo(stack.urls, stack.settings, timeout=100)
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
