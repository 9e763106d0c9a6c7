"""Agreements service parts on the real broker and DB: partner replica, rules against it, concurrency."""
import io
import threading
from datetime import datetime, timezone

import pytest

from shared.application import CommandContext, FixedClock, Repository, VersionMismatch
from shared.consumer import ConsumerRunner
from shared.domain import DomainError
from shared.envelope import GENESIS_HASH, Actor, seal
from shared.kafka import KafkaPublisher, ensure_topics, make_consumer
from shared.mongo_eventstore import MongoEventStore
from services.agreements.commands import (
    DraftAgreement, EditDraft, RecordReview, SignAgreement, StartReview, SubmitAgreement,
)
from services.agreements.domain import Agreement
from services.agreements.evaluation_replica import ReplicaEvaluationDirectory
from services.agreements.extension_index import MongoExtensionIndex
from services.agreements.files import GridFSAttachmentStore
from services.agreements.handlers import AgreementHandlers
from services.agreements.partner_replica import COLLECTION, PartnerReplicaProjection, ReplicaPartnerDirectory
from services.agreements.scheduler import tick
from tests.support import wait_until

NOW = datetime(2026, 3, 1, 3, 0, tzinfo=timezone.utc)
STAFF = CommandContext(Actor("siti", "kerjasama"))


def partner_events(pid, *types, name="Kota Jambi", kind="daerah_lain"):
    prev, out = GENESIS_HASH, []
    for version, event_type in enumerate(("partner.registered",) + types, start=1):
        data = {"name": name, "kind": kind, "country": "ID", "region_code": "15.71", "contacts": []} \
            if event_type == "partner.registered" else {"reason": "x"} if event_type == "partner.deactivated" else {}
        event = seal(event_type=event_type, data=data, stream_id=pid, stream_type="partner", version=version,
                     prev_hash=prev, occurred_at=NOW, actor=Actor("a", "kerjasama"), correlation_id="c")
        prev = event["hash"]
        out.append(event)
    return out


@pytest.fixture
def service(settings, mongo):
    db = mongo[settings.database("agreements")]
    store = MongoEventStore(db)
    store.ensure_indexes()
    clock = FixedClock(NOW)
    handlers = AgreementHandlers(Repository(store, Agreement, clock), ReplicaPartnerDirectory(db),
                                 GridFSAttachmentStore(db, 1024 * 1024), clock,
                                 evaluations=ReplicaEvaluationDirectory(db), extensions=MongoExtensionIndex(db))
    return db, handlers, clock


@pytest.fixture
def replica(settings, service):
    db = service[0]
    topic = settings.topic("partners")
    ensure_topics(settings, [topic])
    runner = ConsumerRunner("replica", db, [PartnerReplicaProjection()])
    consumer = make_consumer(settings, f"{settings.prefix}.replica", [topic])
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(consumer, stop), kwargs={"maintain_every": 0.2})
    thread.start()
    publisher = KafkaPublisher(settings)
    yield lambda events: publisher.publish([(topic, e["stream_id"], e) for e in events])
    stop.set()
    thread.join()
    consumer.close()


def draft_body(pid):
    from datetime import date
    return DraftAgreement(category="KSDD", ksdd_type="wajib", document_kind="KB", title="KB Uji",
                          partner_ids=(pid,), start_date=date(2026, 4, 1), end_date=date(2028, 3, 31),
                          lead_opd="SETDA", urusan=("perhubungan",), burdens_public=False, budgeted_in_apbd=True)


def test_replica_catches_up_and_rules_use_it(service, replica):
    db, handlers, _ = service
    replica(partner_events("partner-v", "partner.verified") + partner_events("partner-u", name="Kab. Belum")
            + partner_events("partner-d", "partner.verified", "partner.deactivated", name="Kab. Nonaktif"))
    wait_until(lambda: db[COLLECTION].count_documents({"version": {"$gte": 1}}) == 3 and
               db[COLLECTION].find_one({"_id": "partner-d"})["status"] == "deactivated", what="replica caught up")
    assert db[COLLECTION].find_one({"_id": "partner-v"})["status"] == "verified"

    good = handlers.draft(draft_body("partner-v"), STAFF)
    assert handlers.submit(SubmitAgreement(good.stream_id), STAFF, 1).status == "SUBMITTED"
    for pid in ("partner-u", "partner-d"):
        unverified = handlers.draft(draft_body(pid), STAFF)
        with pytest.raises(DomainError) as info:
            handlers.submit(SubmitAgreement(unverified.stream_id), STAFF, 1)
        assert info.value.rule == "partner_not_verified"
        assert handlers.get(unverified.stream_id).status == "DRAFT"
    with pytest.raises(DomainError) as info:
        handlers.draft(draft_body("partner-unknown"), STAFF)
    assert info.value.rule == "partner_not_found"


def test_two_officers_editing_the_same_draft_one_wins(service):
    db, handlers, _ = service
    db[COLLECTION].insert_one({"_id": "partner-v", "name": "Kota Jambi", "kind": "daerah_lain",
                               "status": "verified", "country": "ID", "version": 2})
    agreement = handlers.draft(draft_body("partner-v"), STAFF)
    handlers.edit_draft(EditDraft(agreement.stream_id, {"title": "Versi Budi"}),
                        CommandContext(Actor("budi", "kerjasama")), 1)
    with pytest.raises(VersionMismatch):
        handlers.edit_draft(EditDraft(agreement.stream_id, {"title": "Versi Ani"}),
                            CommandContext(Actor("ani", "kerjasama")), 1)
    assert handlers.get(agreement.stream_id).title == "Versi Budi"


def test_scheduler_activates_reminds_expires_once_under_a_moved_clock(service):
    db, handlers, clock = service
    db[COLLECTION].insert_one({"_id": "partner-v", "name": "Kota Jambi", "kind": "daerah_lain",
                               "status": "verified", "country": "ID", "version": 2})
    aid = handlers.draft(draft_body("partner-v"), STAFF).stream_id
    handlers.submit(SubmitAgreement(aid), STAFF)
    handlers.start_review(StartReview(aid), CommandContext(Actor("t", "tkksd")))
    handlers.record_review(RecordReview(aid, recommended=True), CommandContext(Actor("t", "tkksd")))
    handlers.sign(SignAgreement(aid, signatory_name="Bupati", signatory_position="kepala_daerah"),
                  CommandContext(Actor("p", "pimpinan")))
    assert tick(handlers)["activate"] == 0  # starts 2026-04-01
    clock.moment = datetime(2026, 4, 1, 1, 0, tzinfo=timezone.utc)  # 08:00 WIB on the start date
    assert tick(handlers)["activate"] == 1 and handlers.get(aid).status == "ACTIVE"
    clock.moment = datetime(2028, 1, 5, tzinfo=timezone.utc)  # within H-90 of 2028-03-31
    assert tick(handlers)["raise_expiry_reminder"] == 1
    assert tick(handlers)["raise_expiry_reminder"] == 0  # once
    clock.moment = datetime(2028, 4, 1, 1, tzinfo=timezone.utc)
    assert tick(handlers)["expire"] == 1 and handlers.get(aid).status == "EXPIRED"
    assert tick(handlers) == {"activate": 0, "raise_expiry_reminder": 0, "expire": 0, "conflicts": 0}


def test_attachment_store_round_trip_and_limit(service):
    _db, handlers, _ = service
    meta = handlers.files.put(io.BytesIO(b"abc" * 1000), "kak.pdf", "application/pdf", "siti")
    assert handlers.files.get_verified(meta["file_id"]).content == b"abc" * 1000
    from services.agreements.files import TooLarge
    with pytest.raises(TooLarge):
        handlers.files.put(io.BytesIO(b"x" * (1024 * 1024 + 1)), "big.pdf", "application/pdf", "siti")


def test_attachment_store_sanitises_names_and_refuses_other_media_types(service):
    _db, handlers, _ = service
    meta = handlers.files.put(io.BytesIO(b"%PDF"), "naskah\r\nSet-Cookie: x.pdf", "application/pdf", "siti")
    assert meta["filename"] == "naskah Set-Cookie: x.pdf" and handlers.files.meta(meta["file_id"]) == meta
    from shared.domain import DomainError
    with pytest.raises(DomainError) as refused:
        handlers.files.put(io.BytesIO(b"<html>"), "a.html", "text/html", "siti")
    assert refused.value.rule == "media_type_not_allowed"
    assert _db["attachments.files"].count_documents({"filename": "a.html"}) == 0  # nothing stored
    stored = handlers.files.get_verified(meta["file_id"])
    assert b"".join(stored.chunks()) == b"%PDF" == stored.content
