"""Read-model answers cheap to repeat (services/evaluation/read_cache.py), against the running system:
the ETag follows exactly the read model an answer is built from, a matching If-None-Match gets 304,
and the per-process answer cache never gives one caller's scope to another."""
import uuid

import pytest
from pymongo import MongoClient

from services.evaluation.read_model_pointer import CONSUMER, ReadModelPointer
from shared import checkpoint
from tests.e2e.flows import draft, register_verified
from tests.support import wait_until

REGISTER = "/api/v1/agreements"


def get(stack, path, role="kerjasama", etag=None, **params):
    headers = stack.headers(role, **({"If-None-Match": etag} if etag else {}))
    return stack.call("GET", "evaluation", path, role=None, headers=headers, params=params)


def as_caller(stack, caller, path, **params):
    headers = {"Authorization": f"Bearer {stack.client.token(caller)}"}
    return stack.call("GET", "evaluation", path, role=None, headers=headers, params=params)


@pytest.fixture(scope="module")
def checkpoint_of(stack):
    """The projector's checkpoint counter of one read-model collection, read straight from the DB."""
    client = MongoClient(stack.profile.mongo_uri)
    pointer = ReadModelPointer(client, stack.settings, cache_seconds=0)
    yield lambda collection: checkpoint.read(pointer.db(), CONSUMER)[1].get(collection, 0)
    client.close()


def revalidated(stack, checkpoint_of, collection, path, etag, **params):
    """A conditional GET of ``path`` and whether ``collection`` changed meanwhile (the e2e system is
    live: the scheduler and other tests write too, so "unchanged" is read off the checkpoint)."""
    before = checkpoint_of(collection)
    answer = get(stack, path, etag=etag, **params)
    return answer, checkpoint_of(collection) != before


def test_the_etag_changes_exactly_when_the_read_model_it_reads_changes(stack, checkpoint_of):
    name = f"Mitra Cache {uuid.uuid4().hex[:6]}"
    partner = register_verified(stack, name=name)
    wait_until(lambda: get(stack, "/api/v1/partners", q=name).json()["total"] == 1, 30, what="partner projected")

    register = get(stack, REGISTER, partner=partner)
    assert register.status_code == 200 and register.json()["total"] == 0
    register_tag = register.headers["ETag"]
    assert register.headers["Cache-Control"] == "private, no-cache"
    # Same read model, same tag: 304 (unless the rows moved in between: then a new tag, never a stale 304).
    again, moved = revalidated(stack, checkpoint_of, "agreement_rows", REGISTER, register_tag, partner=partner)
    assert (again.status_code == 304 and again.content == b"" and again.headers["ETag"] == register_tag) or moved
    register_tag = again.headers["ETag"]
    partners = get(stack, "/api/v1/partners", q=name)
    partners_tag = partners.headers["ETag"]

    # An agreement is drafted: the register (its rows) changes, the partners read model does not.
    agreement = draft(stack, partner, title=f"KB Cache {uuid.uuid4().hex[:6]}").json()["id"]
    changed = wait_until(lambda: (lambda r: r if r.status_code == 200 and r.json()["total"] == 1 else None)(
        get(stack, REGISTER, etag=register_tag, partner=partner)), 30, what="the draft in the register")
    assert [i["id"] for i in changed.json()["items"]] == [agreement]
    assert changed.headers["ETag"] != register_tag
    current, moved = revalidated(stack, checkpoint_of, "agreement_rows", REGISTER, changed.headers["ETag"],
                                 partner=partner)
    assert current.status_code == 304 or moved
    unchanged, moved = revalidated(stack, checkpoint_of, "partners", "/api/v1/partners", partners_tag, q=name)
    assert (unchanged.status_code == 304 and unchanged.headers["ETag"] == partners_tag) or moved

    # Another partner: now the partners read model changed, and its ETag with it.
    register_verified(stack, name=f"{name} kedua")
    moved = wait_until(lambda: (lambda r: r if r.status_code == 200 else None)(
        get(stack, "/api/v1/partners", etag=partners_tag, q=name)), 30, what="the partners' ETag moves")
    assert moved.json()["total"] == 2 and moved.headers["ETag"] != partners_tag

    # A tag that is not the current one (a stale or a made-up one) gets the answer.
    assert get(stack, REGISTER, etag='"not-a-tag"', partner=partner).status_code == 200


def test_the_answer_cache_never_serves_one_callers_scope_to_another(stack):
    partner = register_verified(stack)
    agreement = draft(stack, partner, lead_opd="DISKOMINFO", title=f"KB Lingkup {uuid.uuid4().hex[:6]}").json()["id"]
    wait_until(lambda: get(stack, REGISTER, partner=partner).json()["total"] == 1, 30, what="draft in the register")

    officer = stack.caller("opd", opd="DISKOMINFO")
    other_officer = stack.caller("opd", opd="DINKES")
    expected = {"kerjasama": [agreement], "opd-DISKOMINFO": [agreement], "opd-DINKES": [], "publik": []}
    tags = {}
    # Every scope asks the same URL, several times and in turns (two gunicorn workers, each with its
    # own cache: both get warmed by every scope), all at the same read-model position.
    for _round in range(4):
        for scope, answer in (("kerjasama", get(stack, REGISTER, partner=partner)),
                              ("publik", get(stack, REGISTER, role="publik", partner=partner)),
                              ("opd-DISKOMINFO", as_caller(stack, officer, REGISTER, partner=partner)),
                              ("opd-DINKES", as_caller(stack, other_officer, REGISTER, partner=partner))):
            assert answer.status_code == 200
            assert [i["id"] for i in answer.json()["items"]] == expected[scope], scope
            assert tags.setdefault(scope, answer.headers["ETag"]) == answer.headers["ETag"]
    assert len(set(tags.values())) == 4
    # one caller's tag is no good to another: the public gets its own answer, not a 304
    public = get(stack, REGISTER, role="publik", etag=tags["kerjasama"], partner=partner)
    assert public.status_code == 200 and public.json()["total"] == 0
