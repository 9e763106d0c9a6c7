"""Evaluations (monev) over HTTP: schedule, answer, submit, finalize → score in the register and stats."""
from tests.e2e.flows import signed_kb
from tests.support import wait_until


def in_register(stack, agreement_id):
    return wait_until(lambda: (r := stack.call("GET", "evaluation", f"/api/v1/agreements/{agreement_id}"))
                      .status_code == 200 and r.json(), 30, what="agreement in the register")


def full_answers(stack, level=0):
    """An answer to every option-based indicator, ``level`` steps from the best option."""
    rubric = stack.call("GET", "evaluation", "/api/v1/rubric").json()
    return {i["id"]: i["options"][min(level, len(i["options"]) - 1)]["key"]
            for i in rubric["indicators"] if i.get("options")}


def schedule(stack, agreement_id, **over):
    body = {"agreement_id": agreement_id, "period": "TAHUNAN", "year": 2026, "due_date": "2026-12-31",
            "assessor_kind": "kerjasama", **over}
    r = stack.call("POST", "evaluation", "/api/v1/evaluations", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def post(stack, evaluation_id, command, body=None, role="kerjasama"):
    return stack.call("POST", "evaluation", f"/api/v1/evaluations/{evaluation_id}/{command}", role=role,
                      json=body or {})


def stats(stack):
    return stack.call("GET", "evaluation", "/api/v1/stats/overview").json()


def test_finalized_score_reaches_the_register_and_the_statistics(stack):
    _partner, kb = signed_kb(stack)
    in_register(stack, kb["id"])
    wait_until(lambda: stack.call("GET", "evaluation", f"/api/v1/agreements/{kb['id']}").json()["status"]
               in ("SIGNED", "ACTIVE"), 30, what="signed in the register")
    before = stats(stack)["evaluations"]
    evaluation = schedule(stack, kb["id"])
    eid = evaluation["stream_id"]
    assert evaluation["status"] == "SCHEDULED"
    assert post(stack, eid, "answers", {"answers": full_answers(stack)}).json()["status"] == "IN_PROGRESS"
    assert post(stack, eid, "submit").json()["status"] == "SUBMITTED"
    final = post(stack, eid, "finalize").json()
    assert final["status"] == "FINALIZED" and final["result"]["overall"] == 100.0 and final["result"]["rating"] == 5
    item = wait_until(lambda: (i := stack.call("GET", "evaluation", f"/api/v1/agreements/{kb['id']}").json())
                      .get("latest_score") is not None and i, 30, what="score in the register")
    assert item["latest_score"] == 100.0 and item["latest_rating"] == 5
    assert item["latest_evaluation"]["status"] == "FINALIZED"
    after = wait_until(lambda: (s := stats(stack)["evaluations"])["total"] > before.get("total", 0)
                       and s.get("by_status", {}).get("FINALIZED", 0) > before.get("by_status", {}).get("FINALIZED", 0)
                       and s, 30, what="statistics recomputed")
    assert after["rating_distribution"].get("5", 0) == before.get("rating_distribution", {}).get("5", 0) + 1
    timeline = stack.call("GET", "evaluation", "/api/v1/feed", params={"subject": kb["id"], "per_page": 100}).json()
    types = {e["event_type"] for e in timeline["items"]}
    assert {"agreement.drafted", "agreement.signed", "evaluation.scheduled", "evaluation.finalized"} <= types


def test_bad_answers_incomplete_and_second_finalization_are_refused(stack):
    _partner, kb = signed_kb(stack)
    in_register(stack, kb["id"])
    wait_until(lambda: stack.call("GET", "evaluation", f"/api/v1/agreements/{kb['id']}").json()["status"]
               in ("SIGNED", "ACTIVE"), 30, what="signed in the register")
    eid = schedule(stack, kb["id"], period="TW1")["stream_id"]
    answers = full_answers(stack)
    indicator = next(iter(answers))
    r = post(stack, eid, "answers", {"answers": {indicator: "luar_biasa"}})
    assert r.status_code == 422 and r.json()["rule"] == "answer_outside_scale" and indicator in r.json()["errors"]
    r = post(stack, eid, "answers", {"answers": {"no_such_indicator": "baik"}})
    assert r.status_code == 422 and r.json()["rule"] == "unknown_indicator"
    assert stack.call("GET", "evaluation", f"/api/v1/evaluations/{eid}").json()["version"] == 1  # nothing stored
    post(stack, eid, "answers", {"answers": {indicator: answers[indicator]}})
    r = post(stack, eid, "submit")
    assert r.status_code == 422 and r.json()["rule"] == "evaluation_incomplete"
    post(stack, eid, "answers", {"answers": answers})
    post(stack, eid, "submit")
    assert post(stack, eid, "finalize").status_code == 200
    r = post(stack, eid, "finalize")
    assert r.status_code == 409 and r.json()["rule"] == "already_finalized"


def test_evaluations_of_unsigned_agreements_and_by_the_wrong_role_are_refused(stack):
    r = stack.call("POST", "evaluation", "/api/v1/evaluations", json={
        "agreement_id": "agreement-unknown", "period": "TW1", "year": 2026, "due_date": "2026-03-31",
        "assessor_kind": "opd"})
    assert r.status_code == 422 and r.json()["rule"] == "agreement_not_found"
    r = stack.call("POST", "evaluation", "/api/v1/evaluations", role="opd", json={
        "agreement_id": "agreement-unknown", "period": "TW1", "year": 2026, "due_date": "2026-03-31",
        "assessor_kind": "opd"})
    assert r.status_code == 403


def test_overdue_evaluations_are_listed(stack):
    _partner, kb = signed_kb(stack)
    wait_until(lambda: (r := stack.call("GET", "evaluation", f"/api/v1/agreements/{kb['id']}")).status_code == 200
               and r.json()["status"] in ("SIGNED", "ACTIVE"), 30, what="signed in the register")
    eid = schedule(stack, kb["id"], period="TW2", due_date="2026-06-30")["stream_id"]
    listed = wait_until(lambda: [i for i in stack.call("GET", "evaluation", "/api/v1/evaluations",
                                                       params={"due": "overdue", "per_page": 200}).json()["items"]
                                 if i["id"] == eid], 30, what="overdue evaluation listed")
    assert listed[0]["overdue"] is True and listed[0]["agreement_title"]
    # counted from the statistics' calendar, recomputed a few seconds after events are applied
    wait_until(lambda: stats(stack)["today"]["evaluations_overdue"] >= 1, 30, what="overdue in the overview")
