"""The read side's filters, sorting, scope and per-document flags (services/evaluation/queries.py), without
a database: what GET /api/v1/agreements, /evaluations and the exports ask the read models."""
from datetime import date

import pytest

from shared.envelope import Actor

from services.evaluation import queries
from services.evaluation.vocabulary import SIGNED_OR_LATER

ON = date(2026, 3, 10)
KERJASAMA = Actor(role="kerjasama", sub="k1")
OPD = Actor(role="opd", sub="o1", opd="DINKES")
PUBLIK = Actor(role="publik", sub="p1")


def test_sort_puts_id_last_so_pages_are_stable():
    assert queries.sort_spec("-start_date") == [("start_date", -1), ("_id", 1)]
    assert queries.sort_spec("name", {"name": "name_lower"}) == [("name_lower", 1), ("_id", 1)]


def test_register_filter_combines_every_filter():
    args = {"status": ["ACTIVE"], "category": "KSDD", "document_kind": "PKS", "year": 2025, "scope": "dalam_negeri",
            "partner": "p1", "opd": "DINKES", "q": "air (bersih)"}
    assert queries.register_filter(args, ON, KERJASAMA) == {
        "status": {"$in": ["ACTIVE"]}, "category": "KSDD", "document_kind": "PKS", "year": 2025,
        "cooperation_scope": "dalam_negeri", "partner_ids": "p1", "opds": "DINKES",
        "title": {"$regex": r"air\ \(bersih\)", "$options": "i"}}


def test_expiring_keeps_live_statuses_and_bounds_the_end_date():
    query = queries.register_filter({"expiring": 90, "status": ["ACTIVE", "EXPIRED"]}, ON, KERJASAMA)
    assert query == {"status": {"$in": ["ACTIVE"]}, "end_date": {"$gte": "2026-03-10", "$lte": "2026-06-08"}}
    assert queries.register_filter({"expiring": 30}, ON, KERJASAMA)["status"] == {"$in": ["SIGNED", "ACTIVE"]}


def test_overdue_report_means_active_with_a_report_due_before_today():
    assert queries.register_filter({"overdue_report": True}, ON, KERJASAMA) == {
        "status": "ACTIVE", "report_due_by": {"$lt": "2026-03-10"}}


def test_parent_changed_lists_the_pks_flagged_for_review_or_all_others():
    assert queries.register_filter({"parent_changed": True}, ON, KERJASAMA) == {"parent_changed": True}
    assert queries.register_filter({"parent_changed": False}, ON, KERJASAMA) == {"parent_changed": {"$ne": True}}
    assert "parent_changed" not in queries.register_filter({"parent_changed": True}, ON, PUBLIK)  # an internal flag


def test_an_opd_officer_sees_their_opds_agreements_only():
    assert queries.register_filter({"opd": "DISTAN"}, ON, OPD)["opds"] == "DINKES"


@pytest.mark.parametrize("asked, seen", [
    ({}, {"$in": list(SIGNED_OR_LATER)}),
    ({"status": ["DRAFT", "SIGNED"]}, {"$in": ["SIGNED"]}),
    ({"status": ["DRAFT"]}, {"$in": []}),
    ({"overdue_report": True}, "ACTIVE"),
])
def test_the_public_sees_signed_agreements_only(asked, seen):
    assert queries.register_filter(asked, ON, PUBLIK)["status"] == seen


def test_the_public_cannot_open_a_draft_by_its_id():
    assert queries.agreement_scope(PUBLIK, {"_id": "a1"}) == {"_id": "a1", "status": {"$in": list(SIGNED_OR_LATER)}}
    assert queries.agreement_scope(KERJASAMA, {"_id": "a1"}) == {"_id": "a1"}


def test_evaluation_filter_due_and_scope():
    overdue = queries.evaluation_filter({"due": "overdue", "opd": "X"}, ON, OPD)
    assert overdue == {"lead_opd": "DINKES", "status": {"$in": ["SCHEDULED", "IN_PROGRESS", "SUBMITTED"]},
                       "due_date": {"$lt": "2026-03-10"}}
    upcoming = queries.evaluation_filter({"due": "upcoming", "within": 30, "year": 2026}, ON, KERJASAMA)
    assert upcoming["due_date"] == {"$gte": "2026-03-10", "$lte": "2026-04-09"} and upcoming["year"] == 2026


def test_the_flags_of_an_agreement_match_its_filters():
    live = {"status": "ACTIVE", "end_date": "2026-06-08", "report_due_by": "2026-03-09"}
    assert queries.days_to_end(live, ON) == 90 and queries.expiring_within(live, ON, 90)
    assert not queries.expiring_within(live, ON, 89) and queries.report_overdue(live, ON)
    ended = {"status": "EXPIRED", "end_date": "2026-03-01", "report_due_by": "2026-01-01"}
    assert queries.days_to_end(ended, ON) is None and not queries.expiring_within(ended, ON, 90)
    assert not queries.report_overdue(ended, ON)
    assert queries.days_to_end({"status": "SIGNED"}, ON) is None


def test_an_evaluation_is_overdue_while_open_and_past_due():
    assert queries.evaluation_overdue({"status": "SUBMITTED", "due_date": "2026-03-09"}, ON)
    assert not queries.evaluation_overdue({"status": "FINALIZED", "due_date": "2026-03-09"}, ON)
    assert not queries.evaluation_overdue({"status": "SCHEDULED", "due_date": "2026-03-10"}, ON)
    assert not queries.evaluation_overdue({"status": "SCHEDULED"}, ON)


def test_live_counts_are_counted_from_the_calendar_for_today():
    calendar = {"live_end_dates": {"2026-03-10": 1, "2026-04-09": 2, "2026-05-09": 3, "2026-06-08": 4,
                                   "2026-06-09": 5, "2026-03-09": 6},
                "active_report_due": {"2026-03-09": 2, "2026-03-10": 7},
                "open_evaluation_due": {"2026-01-01": 3}}
    assert queries.live_counts(calendar, ON) == {"expiring_within_30": 3, "expiring_within_60": 6,
                                                 "expiring_within_90": 10, "reports_overdue": 2,
                                                 "evaluations_overdue": 3}
