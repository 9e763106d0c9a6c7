"""Operations on the running system: a blue/green rebuild under load, dead letters, switching back."""
import threading
import uuid

import requests
from pymongo import MongoClient

from services.evaluation.read_model_pointer import ReadModelPointer
from services.evaluation.rebuild import Progress, Rebuild
from services.evaluation.bootstrap import build
from shared.envelope import GENESIS_HASH, Actor, seal
from shared.kafka import KafkaPublisher
import pytest

from tests.e2e.conftest import running_stack
from tests.e2e.test_audit_e2e import settings_for
from tests.support import wait_until


@pytest.fixture(scope="module")
def stack():
    """A stack of its own: a rebuild replays the whole log, so it gets a log of its own size."""
    yield from running_stack({"partners": 18401, "agreements": 18402, "evaluation": 18403}, label="o")


def test_rebuild_under_load_switches_without_failed_requests_then_switches_back(stack, capsys):
    seed = f"Awal {uuid.uuid4().hex[:8]}"  # something already projected before the rebuild starts
    stack.call("POST", "partners", "/api/v1/partners", json={"name": seed, "kind": "pemerintah_pusat"})
    wait_until(lambda: stack.call("GET", "evaluation", "/api/v1/partners", params={"q": seed}).json()["total"] == 1,
               60, what="a partner in the read model")
    settings = settings_for(stack)
    readside = ReadModelPointer(MongoClient(settings.mongo_uri), settings)
    before = readside.pointer(fresh=True)
    stop = threading.Event()
    failures, writes, reads = [], [], []

    def load():  # commands keep coming during the rebuild
        while not stop.is_set():
            r = stack.call("POST", "partners", "/api/v1/partners", json={
                "name": f"Beban {uuid.uuid4().hex[:8]}", "kind": "pemerintah_pusat"})
            (writes if r.status_code == 201 else failures).append(r.status_code)
            stop.wait(0.1)  # a steady stream of commands, not a flood
    def read():  # and the dashboards keep reading
        while not stop.is_set():
            for path in ("/api/v1/agreements", "/api/v1/partners", "/api/v1/stats/overview"):
                try:
                    r = stack.call("GET", "evaluation", path)
                    (reads if r.status_code == 200 else failures).append(r.status_code)
                except requests.RequestException as exc:
                    failures.append(repr(exc))

    threads = [threading.Thread(target=load), threading.Thread(target=read)]
    for t in threads:
        t.start()
    try:
        result = Rebuild(settings, readside, build(settings).projector_runner, build(settings).source_topics,
                         progress=Progress(every=1.0)).run()
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert result.switched, result.report
    assert all(row["match"] for row in result.report.values())
    assert result.report["partners"]["new_count"] == result.report["partners"]["old_count"] > 0
    assert not failures and writes and reads
    after = readside.pointer(fresh=True)
    assert after["generation"] == result.generation and after["database"] != before["database"]
    assert "events/s" in capsys.readouterr().err  # plain progress lines when not on a terminal

    # the projector resumed on the new generation: new commands show up in the new database
    name = f"Sesudah {uuid.uuid4().hex[:8]}"
    stack.call("POST", "partners", "/api/v1/partners", json={"name": name, "kind": "pemerintah_pusat"})
    wait_until(lambda: stack.call("GET", "evaluation", "/api/v1/partners", params={"q": name}).json()["total"] == 1,
               90, what="projected into the new generation")
    new_db = MongoClient(settings.mongo_uri)[result.database]
    assert new_db["partners"].count_documents({"name": name}) == 1

    back = readside.switch_back()
    assert back["database"] == before["database"]
    wait_until(lambda: stack.call("GET", "evaluation", "/api/v1/partners", params={"q": name}).json()["total"] == 1,
               90, what="the old generation catches up after switching back")


def test_single_projection_rebuild_copies_the_rest_and_switches(stack):
    from services.evaluation.bootstrap import projections
    from services.evaluation.rebuild import closure

    from tests.e2e.flows import draft, register_verified

    draft(stack, register_verified(stack))
    wait_until(lambda: stack.call("GET", "evaluation", "/api/v1/agreements").json()["total"] >= 1, 60,
               what="an agreement in the register")
    settings = settings_for(stack)
    readside = ReadModelPointer(MongoClient(settings.mongo_uri), settings)
    wait_until(lambda: readside.client[readside.pointer(fresh=True)["database"]]["agreements"]
               .count_documents({}) >= 1, 60, what="the agreement in the live generation's database")
    chosen = closure(projections(), {"partners"})
    assert [p.name for p in chosen] == ["partners"]
    keep = tuple(c for p in projections() if p.name != "partners" for c in p.collections)
    result = Rebuild(settings, readside, lambda db: build(settings).projector_runner(db, only={"partners"}),
                     build(settings).source_topics,
                     keep_collections=keep).run()
    assert result.switched and all(row["match"] for row in result.report.values()), result.report
    assert result.report["agreements"]["new_count"] == result.report["agreements"]["old_count"] > 0
    # agreements share their collection with the evaluations projection: both are rebuilt together
    assert {p.name for p in closure(projections(), {"agreements"})} == {"agreements", "evaluations"}
    readside.switch_back()


def test_poison_event_dead_letter_can_be_inspected_retried_and_discarded(stack):
    settings = settings_for(stack)
    sid = f"agreement-{uuid.uuid4()}"
    poison = seal(event_type="agreement.report_filed", data={"nonsense": True}, stream_id=sid,
                  stream_type="agreement", version=1, prev_hash=GENESIS_HASH, occurred_at=__import__("datetime")
                  .datetime.now(__import__("datetime").timezone.utc), actor=Actor("x", "admin"), correlation_id="c")
    KafkaPublisher(settings).publish([(settings.topic("agreements"), sid, poison)])
    letter_id = f"{sid}:1"
    letter = wait_until(lambda: (r := stack.call("GET", "evaluation", f"/api/v1/deadletters/{letter_id}",
                                                 role="admin")).status_code == 200 and r.json(), 90,
                        what="dead letter listed")
    assert letter["status"] == "open" and "KeyError" in letter["error"] and letter["envelope"]["stream_id"] == sid
    listed = stack.call("GET", "evaluation", "/api/v1/deadletters", role="auditor", params={"status": "open"}).json()
    assert letter_id in [i["id"] for i in listed["items"]]
    assert stack.call("POST", "evaluation", f"/api/v1/deadletters/{letter_id}/retry", role="auditor",
                      json={}).status_code == 403
    assert stack.call("POST", "evaluation", f"/api/v1/deadletters/{letter_id}/retry", role="admin",
                      json={}).status_code == 202
    again = wait_until(lambda: (d := stack.call("GET", "evaluation", f"/api/v1/deadletters/{letter_id}",
                                                role="admin").json())["status"] == "open" and d["attempts"] > 3 and d,
                       30, what="retried (and failed again: the handler is still broken)")
    assert [h["status"] for h in again["history"]][:1] == ["retry_requested"]
    r = stack.call("POST", "evaluation", f"/api/v1/deadletters/{letter_id}/discard", role="admin",
                   json={"reason": "event dari uji coba, bukan data nyata"})
    assert r.status_code == 202
    done = wait_until(lambda: (d := stack.call("GET", "evaluation", f"/api/v1/deadletters/{letter_id}",
                                               role="admin").json())["status"] == "discarded" and d, 30,
                      what="discarded")
    assert any(h.get("reason") == "event dari uji coba, bukan data nyata" for h in done["history"])
    bad = stack.call("POST", "evaluation", f"/api/v1/deadletters/{letter_id}/discard", role="admin", json={})
    assert bad.status_code == 422
