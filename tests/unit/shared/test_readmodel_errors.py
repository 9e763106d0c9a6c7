"""Which database failures stop a batch (transient) and which point at an event (refused writes)."""
import bson
from bson.errors import InvalidDocument
from pymongo.errors import AutoReconnect, BulkWriteError, NetworkTimeout, OperationFailure, ServerSelectionTimeoutError

from shared.consumer import storable, stored_envelope
from shared.readmodel import is_transient, safe_key


def test_an_unavailable_database_is_transient():
    for exc in (AutoReconnect("down"), NetworkTimeout("slow"), ServerSelectionTimeoutError("no server")):
        assert is_transient(exc)
    labelled = OperationFailure("primary stepped down", 189)
    labelled._add_error_label("RetryableWriteError")
    assert is_transient(labelled)


def test_what_the_database_refuses_for_its_content_is_not():
    for exc in (InvalidDocument("Key names must not contain the NULL byte"),
                OverflowError("MongoDB can only handle up to 8-byte ints"),
                BulkWriteError({"writeErrors": [{"code": 2, "errmsg": "bad key"}]}),
                OperationFailure("invalid key"), KeyError("nModified"), UnicodeEncodeError("utf-8", "", 0, 1, "x")):
        assert not is_transient(exc)


def test_safe_keys_are_storable_and_distinct():
    values = ["a\x00b", "$where", "urusan 1.2", "pariwisata", 2025]
    keys = [safe_key(v) for v in values]
    assert keys[3:] == ["pariwisata", "2025"]
    assert len(set(keys)) == len(values)
    bson.encode({k: 1 for k in keys})
    assert not any(k.startswith("$") or "." in k or "\x00" in k for k in keys)


def test_an_envelope_bson_cannot_hold_is_kept_as_json():
    plain = {"stream_id": "s", "version": 1, "data": {"n": 1}}
    assert storable(plain) == {"envelope": plain}
    for hostile in ({"n": 10**30}, {"a\x00b": 1}, {"$x": 1}, {"a.b": [1]}):
        envelope = {"stream_id": "s", "version": 2, "data": hostile}
        kept = storable(envelope)
        assert set(kept) == {"envelope_json"}
        assert stored_envelope(kept) == envelope
