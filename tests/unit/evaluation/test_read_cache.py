"""The per-process answer cache of the query API (services/evaluation/read_cache.py), without a server."""
import threading

from shared.envelope import Actor

from services.evaluation import queries
from services.evaluation.read_cache import AnswerCache, etag_of, normalised


def test_list_filters_are_sets_and_argument_order_does_not_matter():
    assert normalised({"status": ["SIGNED", "ACTIVE"], "page": 1}) == normalised({"page": 1, "status": ["ACTIVE", "SIGNED"]})
    assert normalised({"page": 1}) != normalised({"page": 2})


def test_scopes_that_see_different_answers_are_different_keys():
    scopes = {queries.scope_of(Actor(role="kerjasama", sub="k")), queries.scope_of(Actor(role="publik", sub="p")),
              queries.scope_of(Actor(role="opd", sub="o", opd="DINKES")),
              queries.scope_of(Actor(role="opd", sub="o", opd="DISTAN"))}
    assert len(scopes) == 4
    # same scope, other person: the same answers, so one cached page serves both
    assert queries.scope_of(Actor(role="kerjasama", sub="a")) == queries.scope_of(Actor(role="admin", sub="b"))
    assert etag_of(("agreements", (), ("publik", ""))) != etag_of(("agreements", (), ("internal", "")))


def test_concurrent_identical_requests_compute_once():
    cache, calls, release = AnswerCache(), [], threading.Event()

    def compute():
        calls.append(1)
        release.wait(5)
        return b"page"

    results = []
    threads = [threading.Thread(target=lambda: results.append(cache.get("k", compute))) for _ in range(20)]
    for t in threads:
        t.start()
    release.set()
    for t in threads:
        t.join(10)
    assert results == [b"page"] * 20 and len(calls) == 1 and cache.misses == 1 and cache.hits == 19


def test_a_failed_computation_is_not_cached_and_waiters_compute_themselves():
    cache = AnswerCache()

    def fail():
        raise RuntimeError("database away")

    try:
        cache.get("k", fail)
    except RuntimeError:
        pass
    assert len(cache) == 0 and cache.get("k", lambda: b"ok") == b"ok"


def test_the_cache_is_bounded_by_entries_and_bytes():
    cache = AnswerCache(max_entries=3, max_bytes=80)
    for key in "abcd":
        cache.get(key, lambda: b"x" * 10)
    assert len(cache) == 3 and cache.get("a", lambda: b"recomputed") == b"recomputed"
    cache.get("big", lambda: b"y" * 70)  # more than an eighth of the budget: answered, not kept
    assert "big" not in cache._entries
