"""One contract per port, run against the in-memory fake AND the real adapter on FerretDB."""
import hashlib
import io
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

import pytest
from bson import Binary

from shared.domain import DomainError, Refusal
from shared.eventstore import ConcurrencyError, InMemoryEventStore
from shared.idempotency import InMemoryIdempotencyStore, MongoIdempotencyStore, StoredResponse
from shared.mongo_eventstore import MongoEventStore
from shared.relay import InMemoryLease, MongoLease
from shared.readmodel import UnitOfWork
from shared.uniqueness import InMemoryUniqueKeys, MongoUniqueKeys
from services.agreements.files import GridFSAttachmentStore
from services.agreements.partner_replica import PartnerReplicaProjection, ReplicaPartnerDirectory
from services.agreements.ports import InMemoryAttachmentStore, InMemoryPartnerDirectory, TooLarge

NOW = datetime(2025, 3, 1, 8, 0, tzinfo=timezone.utc)


def ev(stream_id, version, **data):
    return {"event_id": f"{stream_id}-{version}", "event_type": "x.happened", "stream_id": stream_id,
            "stream_type": "x", "version": version, "data": data, "hash": f"h{version}", "prev_hash": "p"}


@pytest.fixture(params=["memory", "mongo"])
def store(request):
    if request.param == "memory":
        return InMemoryEventStore()
    db = request.getfixturevalue("db")
    store = MongoEventStore(db)
    store.ensure_indexes()
    return store


class TestEventStoreContract:
    def test_append_and_load_in_order(self, store):
        store.append("x-1", "x", 0, [ev("x-1", 1), ev("x-1", 2)], NOW)
        store.append("x-1", "x", 2, [ev("x-1", 3, k="é")], NOW)
        assert [e["version"] for e in store.load("x-1")] == [1, 2, 3]
        assert store.load("x-1")[2]["data"] == {"k": "é"}
        assert [e["version"] for e in store.load("x-1", 2, 2)] == [2]
        assert store.version("x-1") == 3 and store.version("x-none") == 0
        assert store.load("x-none") == []

    def test_same_expected_version_twice_conflicts_and_stores_nothing(self, store):
        store.append("x-1", "x", 0, [ev("x-1", 1)], NOW)
        with pytest.raises(ConcurrencyError):
            store.append("x-1", "x", 0, [ev("x-1", 1, other=True)], NOW)
        assert store.load("x-1")[0]["data"] == {}

    def test_stale_expected_version_conflicts(self, store):
        store.append("x-1", "x", 0, [ev("x-1", 1), ev("x-1", 2)], NOW)
        with pytest.raises(ConcurrencyError):
            store.append("x-1", "x", 1, [ev("x-1", 2)], NOW)

    def test_malformed_append_is_refused(self, store):
        with pytest.raises(ValueError):
            store.append("x-1", "x", 0, [ev("x-1", 2)], NOW)
        with pytest.raises(ValueError):
            store.append("x-1", "x", 0, [], NOW)

    def test_outbox_lists_unpublished_commits_oldest_first(self, store):
        store.append("x-1", "x", 0, [ev("x-1", 1)], NOW)
        store.append("x-2", "x", 0, [ev("x-2", 1)], NOW.replace(minute=1))
        store.append("x-1", "x", 1, [ev("x-1", 2), ev("x-1", 3)], NOW.replace(minute=2))
        pending = store.unpublished()
        assert [(c.stream_id, c.first_version, c.last_version) for c in pending] == \
            [("x-1", 1, 1), ("x-2", 1, 1), ("x-1", 2, 3)]
        store.mark_published([pending[0].id, pending[2].id])
        assert [c.id for c in store.unpublished()] == [pending[1].id]
        assert store.unpublished_count() == 1

    def test_stream_ids(self, store):
        store.append("x-1", "x", 0, [ev("x-1", 1)], NOW)
        store.append("x-2", "x", 0, [ev("x-2", 1)], NOW)
        store.append("x-1", "x", 1, [ev("x-1", 2)], NOW)
        assert sorted(store.stream_ids()) == ["x-1", "x-2"]


@pytest.fixture(params=["memory", "mongo"])
def idem(request):
    return InMemoryIdempotencyStore() if request.param == "memory" else MongoIdempotencyStore(
        request.getfixturevalue("db"))


class TestIdempotencyContract:
    def test_first_reserves_then_replays(self, idem):
        assert idem.reserve("k", "f1").fresh
        in_progress = idem.reserve("k", "f1")
        assert not in_progress.fresh and in_progress.response is None
        idem.complete("k", StoredResponse(201, b'{"a":1}', {"ETag": '"1"'}))
        done = idem.reserve("k", "f1")
        assert not done.fresh and done.response.status == 201 and done.response.body == b'{"a":1}'
        assert not idem.reserve("k", "other").fingerprint_matches

    def test_release_allows_a_retry(self, idem):
        idem.reserve("k", "f")
        idem.release("k")
        assert idem.reserve("k", "f").fresh

    def test_stale_reservation_is_taken_over(self, idem):
        idem.stale_after = 0.0
        idem.reserve("k", "f")
        assert idem.reserve("k", "f").fresh


@pytest.fixture(params=["memory", "mongo"])
def lease_factory(request):
    if request.param == "memory":
        lease = InMemoryLease()
        return lambda: lease
    db = request.getfixturevalue("db")
    return lambda: MongoLease(db, "relay:test")


class TestLeaseContract:
    def test_one_holder_at_a_time_until_released_or_expired(self, lease_factory):
        a, b = lease_factory(), lease_factory()
        assert a.acquire("one", 30)
        assert a.acquire("one", 30)  # renewal
        assert not b.acquire("two", 30)
        a.release("one")
        assert b.acquire("two", 0.001)
        import time
        time.sleep(0.01)
        assert a.acquire("one", 30)  # two's lease expired


@pytest.fixture(params=["memory", "mongo"])
def keys(request):
    return InMemoryUniqueKeys() if request.param == "memory" else MongoUniqueKeys(request.getfixturevalue("db"))


class TestUniqueKeysContract:
    def test_claims(self, keys):
        live = {"s1"}
        exists = live.__contains__
        assert keys.claim("region:15.71", "s1", exists) is None
        assert keys.claim("region:15.71", "s1", exists) is None       # the owner again
        assert keys.claim("region:15.71", "s2", exists) == "s1"       # a live holder wins
        live.clear()                                                   # s1's append never happened
        assert keys.claim("region:15.71", "s2", exists) is None       # so the key is taken over
        keys.release("region:15.71", "s2")
        assert keys.claim("region:15.71", "s3", exists) is None


# --- the agreements service's ports --------------------------------------------------------------

class ReplicaFed:
    """Gives the real ``ReplicaPartnerDirectory`` its partners the way production does: partner
    events applied by the replica's projection (so the contract also holds the projection's shape)."""

    def __init__(self, db):
        self.db, self.versions, self.state = db, {}, {}

    def __call__(self, id, name, kind, status="verified", country="ID"):
        if id not in self.versions:
            self._apply(id, "partner.registered", {"name": name, "kind": kind, "country": country,
                                                   "region_code": "15.71", "contacts": []})
            self.state[id] = {"name": name, "country": country, "status": "registered"}
        old = self.state[id]
        if (name, country) != (old["name"], old["country"]):
            self._apply(id, "partner.profile_updated", {"changes": {"name": name, "country": country}})
        if status != old["status"]:
            event_type = {"verified": "partner.verified", "deactivated": "partner.deactivated",
                          "registered": "partner.verification_revoked"}[status]
            self._apply(id, event_type, {"reason": "uji"} if status != "verified" else {})
        self.state[id] = {"name": name, "country": country, "status": status}

    def _apply(self, stream_id, event_type, data):
        self.versions[stream_id] = self.versions.get(stream_id, 0) + 1
        uow = UnitOfWork(self.db)
        PartnerReplicaProjection().apply({"event_type": event_type, "stream_id": stream_id,
                                          "version": self.versions[stream_id], "data": data}, uow)
        uow.flush()


@pytest.fixture(params=["memory", "mongo"])
def directory(request):
    """``(directory, given)``: ``given(id, name, kind, status, country)`` makes a partner known as such."""
    if request.param == "memory":
        fake = InMemoryPartnerDirectory()
        return fake, fake.add
    db = request.getfixturevalue("db")
    return ReplicaPartnerDirectory(db), ReplicaFed(db)


class TestPartnerDirectoryContract:
    def test_views_in_the_order_asked_each_once_and_the_missing(self, directory):
        partners, given = directory
        given("partner-a", "Kota Jambi", "daerah_lain")
        given("partner-b", "PT Angkasa", "pihak_ketiga", status="registered")
        views, missing = partners.views(["partner-b", "partner-x", "partner-a", "partner-b", "partner-y"])
        assert [v["id"] for v in views] == ["partner-b", "partner-a"] and missing == ["partner-x", "partner-y"]
        assert partners.views([]) == ([], [])

    def test_a_view_holds_what_the_rules_need(self, directory):
        partners, given = directory
        given("partner-my", "Kerajaan Negeri Johor", "pemda_luar_negeri", country="MY")
        given("partner-off", "CV Lama", "pihak_ketiga", status="deactivated")
        views, _ = partners.views(["partner-my", "partner-off"])
        assert views == [
            {"id": "partner-my", "name": "Kerajaan Negeri Johor", "kind": "pemda_luar_negeri", "status": "verified",
             "country": "MY"},
            {"id": "partner-off", "name": "CV Lama", "kind": "pihak_ketiga", "status": "deactivated",
             "country": "ID"},
        ]

    def test_the_latest_state_is_seen(self, directory):
        partners, given = directory
        given("partner-a", "Kota Jambi", "daerah_lain", status="registered")
        given("partner-a", "Pemerintah Kota Jambi", "daerah_lain", status="verified")
        assert partners.views(["partner-a"])[0][0]["name"] == "Pemerintah Kota Jambi"
        given("partner-a", "Pemerintah Kota Jambi", "daerah_lain", status="registered")
        assert partners.views(["partner-a"])[0][0]["status"] == "registered"


@dataclass
class Attachments:
    store: object
    tamper: Callable[[str, bytes], None]   # rewrite a file's bytes behind the store's back
    count: Callable[[], int]               # files held


@pytest.fixture(params=["memory", "mongo"])
def attachments(request):
    if request.param == "memory":
        fake = InMemoryAttachmentStore(max_bytes=1024 * 1024)
        return Attachments(fake, fake.tamper, lambda: len(fake.files))
    db = request.getfixturevalue("db")

    def tamper(file_id, content):
        db["attachments.chunks"].update_one({"files_id": file_id, "n": 0}, {"$set": {"data": Binary(content)}})

    return Attachments(GridFSAttachmentStore(db, 1024 * 1024), tamper,
                       lambda: db["attachments.files"].count_documents({}))


class TestAttachmentStoreContract:
    def test_put_then_meta_and_verified_bytes(self, attachments):
        store = attachments.store
        content = bytes(range(256)) * 2400  # beyond one GridFS chunk
        meta = store.put(io.BytesIO(content), "Naskah KB – Muaro Jambi.pdf", "application/pdf", "siti")
        assert meta == {"file_id": meta["file_id"], "filename": "Naskah KB – Muaro Jambi.pdf", "size": len(content),
                        "media_type": "application/pdf", "sha256": hashlib.sha256(content).hexdigest()}
        assert store.meta(meta["file_id"]) == meta
        stored = store.get_verified(meta["file_id"], meta["sha256"])
        assert stored.content == content and stored.meta == meta
        assert store.get_verified(meta["file_id"]).content == content

    def test_an_empty_file_is_a_file(self, attachments):
        meta = attachments.store.put(io.BytesIO(b""), "kosong.txt", "text/plain", "siti")
        assert meta["size"] == 0 and meta["sha256"] == hashlib.sha256(b"").hexdigest()
        assert attachments.store.get_verified(meta["file_id"]).content == b""

    def test_beyond_the_limit_is_refused_and_nothing_is_kept(self, attachments):
        with pytest.raises(TooLarge):
            attachments.store.put(io.BytesIO(b"x" * (1024 * 1024 + 1)), "besar.bin", "application/octet-stream", "s")
        assert attachments.count() == 0

    def test_unknown_files(self, attachments):
        assert attachments.store.meta("file-none") is None
        with pytest.raises(DomainError) as info:
            attachments.store.get_verified("file-none")
        assert (info.value.rule, info.value.kind) == ("file_not_found", Refusal.NOT_FOUND)

    def test_bytes_that_no_longer_match_their_hash_are_refused(self, attachments):
        store = attachments.store
        meta = store.put(io.BytesIO(b"%PDF-1.7 asli!"), "kb.pdf", "application/pdf", "siti")
        with pytest.raises(DomainError) as info:
            store.get_verified(meta["file_id"], "0" * 64)  # not the hash the event recorded
        assert (info.value.rule, info.value.kind) == ("attachment_tampered", Refusal.CONFLICT)
        attachments.tamper(meta["file_id"], b"%PDF-1.7 palsu")
        with pytest.raises(DomainError) as info:
            store.get_verified(meta["file_id"], meta["sha256"])
        assert info.value.rule == "attachment_tampered"

    def test_delete_removes_and_is_idempotent(self, attachments):
        store = attachments.store
        keep = store.put(io.BytesIO(b"tetap"), "a.txt", "text/plain", "siti")
        gone = store.put(io.BytesIO(b"hapus"), "b.txt", "text/plain", "siti")
        store.delete(gone["file_id"])
        store.delete(gone["file_id"])
        store.delete("file-none")
        assert store.meta(gone["file_id"]) is None and store.meta(keep["file_id"]) == keep
        assert attachments.count() == 1
