"""The evaluation projector, as deployed, fed hostile events straight into its topic.

The edge now refuses these values (shared.schema), but events stored before may hold them, and an
event can reach a topic by other ways than the API. Whatever an event holds, the projector must
not stop: an event whose writes the database refuses is dead-lettered and holds back its own
stream only; values that are merely odd are applied, and the derived statistics stay writable.
"""
import threading
from datetime import datetime, timezone

import pytest

from services.evaluation.readside import CONSUMER
from services.evaluation.workers import build_runner
from shared.consumer import DEAD_LETTERS, PARKED
from shared.envelope import GENESIS_HASH, Actor, seal
from shared.kafka import KafkaPublisher, ensure_topics, make_consumer
from shared.metrics import Metrics
from tests.support import wait_until

T0 = datetime(2025, 3, 3, 2, 0, tzinfo=timezone.utc)
KERJASAMA = Actor("u-ks", "kerjasama", "Bagian Kerja Sama")


def drafted(**changes):
    data = {"category": "KSDD", "ksdd_type": "sukarela", "document_kind": "KB", "title": "Kesepakatan Bersama Uji",
            "our_number": None, "partner_number": None, "urusan": ["pariwisata"], "purpose": "Promosi",
            "scope": "Wisata", "location": "Muaro Jambi", "lead_opd": "DISPARPORA", "start_date": "2025-04-01",
            "end_date": "2027-12-31", "value": 100_000_000, "funding_scheme": "APBD", "burdens_public": False,
            "budgeted_in_apbd": True, "partner_ids": ["partner-kota-jambi"], "parent_kb_id": None,
            "extends_agreement_id": None}
    data.update(changes)
    return data


def stream(sid, *items):
    events, prev = [], GENESIS_HASH
    for version, (event_type, data) in enumerate(items, start=1):
        event = seal(event_type=event_type, data=data, stream_id=sid, stream_type="agreement", version=version,
                     prev_hash=prev, occurred_at=T0, actor=KERJASAMA, correlation_id=f"c-{sid}-{version}")
        prev = event["hash"]
        events.append(event)
    return events


# What the database refuses when the event's writes are flushed (the value or key lands in a document).
REFUSED = {
    "value_beyond_64_bits": drafted(value=10**30),
    "nul_in_partner_id": drafted(partner_ids=["mitra\u0000x"]),   # partner ids are keys of partner_kind_of
    "dot_in_partner_id": drafted(partner_ids=["mitra.x"]),
}
# Odd but storable: applied like any other event.
ODD = {
    "nul_in_urusan": drafted(urusan=["a\u0000b", "$where", "urusan 1.2"]),  # urusan are keys of the statistics
    "control_in_title": drafted(title="Judul\u0001\u001f"),
}


@pytest.fixture
def projector(settings, mongo):
    db = mongo[settings.database("readside")]
    topic = settings.topic("agreements")
    ensure_topics(settings, [topic, f"{settings.prefix}.{CONSUMER}.dlq"])
    metrics = Metrics()
    runner = build_runner(settings, db, metrics)
    runner.refresh_every = 0.2
    consumer = make_consumer(settings, f"{settings.prefix}.{CONSUMER}", [topic])
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(consumer, stop), kwargs={"maintain_every": 0.2})
    thread.start()
    publisher = KafkaPublisher(settings)

    class P:
        pass

    p = P()
    p.db, p.thread = db, thread
    p.send = lambda events: publisher.publish([(topic, e["stream_id"], e) for e in events])
    yield p
    stop.set()
    thread.join()
    consumer.close()
    publisher.reset()


def register_doc(db, sid):
    return db["agreements"].find_one({"_id": sid, "version": {"$exists": True}})


def test_hostile_events_never_stop_the_projector(projector):
    sent = []
    for kind, data in {**REFUSED, **ODD}.items():
        events = stream(f"agreement-{kind.replace('_', '-')}", ("agreement.drafted", data),
                        ("agreement.submitted", {"dprd_required": False, "central_required": False}))
        sent.append((kind, events))
        projector.send(events)
    good = stream("agreement-after", ("agreement.drafted", drafted(title="Sesudahnya")))
    projector.send(good)

    wait_until(lambda: register_doc(projector.db, "agreement-after"), 60, what="a later agreement in the register")
    for kind, events in sent:
        sid = events[0]["stream_id"]
        if kind in REFUSED:
            wait_until(lambda: projector.db[DEAD_LETTERS].find_one({"_id": f"{sid}:1", "status": "open"}), 60,
                       what=f"{kind} dead-lettered")
            wait_until(lambda: projector.db[PARKED].find_one({"_id": f"{sid}:2"}), 30,
                       what=f"{kind}: the rest of its stream held back")
            assert register_doc(projector.db, sid) is None
        else:
            wait_until(lambda: (register_doc(projector.db, sid) or {}).get("status") == "SUBMITTED", 60,
                       what=f"{kind} applied")
    # The derived statistics still refresh, with the odd urusan as keys they can hold.
    wait_until(lambda: (projector.db["statistics"].find_one({"_id": "overview"}) or {})
               .get("agreements", {}).get("total") == 1 + len(ODD), 60, what="statistics refreshed")
    by_urusan = projector.db["statistics"].find_one({"_id": "overview"})["agreements"]["by_urusan"]
    assert by_urusan["a\ufffdb"] == 1 and by_urusan["\uff04where"] == 1 and by_urusan["urusan 1\uff0e2"] == 1
    assert projector.thread.is_alive()
