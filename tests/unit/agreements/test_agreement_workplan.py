"""Work plans, implementation reports and progress (DOMAIN.md §3)."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, strategies as st

from shared.domain import Refusal
from services.agreements.domain import activity_progress, agreement_progress, period_bounds, period_key
from tests.unit.agreements.test_agreement_builders import (
    END, LEAD_OPD, START, amend, at, file_meta, refused, signed_pks, with_activity,
)

ONE_DAY = timedelta(days=1)


def report(stream, period="2025-TW1", realisation=10, filed_on=date(2025, 4, 5), activity_id="act-1", **kw):
    return stream.do("file_report", role="kerjasama", activity_id=activity_id, period=period,
                     realisation=realisation, filed_on=filed_on, **kw)


# --- activities ------------------------------------------------------------------------------------

def test_activities_are_added_updated_and_removed():
    stream = signed_pks()
    added = with_activity(stream).events[-1]
    assert added.type == "agreement.activity_added"
    assert added.data == {"activity_id": "act-1", "name": "Pelatihan operator", "indicator": "Operator terlatih",
                          "target": 40, "unit": "orang", "schedule_start": "2025-01-01",
                          "schedule_end": "2025-12-31", "responsible_opd": LEAD_OPD, "budget": 25_000_000}
    updated = stream.do("update_activity", role="kerjasama", activity_id="act-1",
                        changes={"target": 50, "schedule_end": date(2026, 6, 30), "name": "Pelatihan operator"})
    assert updated[0].data == {"activity_id": "act-1", "changes": {"target": 50, "schedule_end": "2026-06-30"}}
    assert stream.do("update_activity", role="kerjasama", activity_id="act-1", changes={"target": 50}) == []
    activity = stream.agreement.snapshot()["activities"][0]
    assert (activity["target"], activity["schedule_end"], activity["progress"]) == (50, "2026-06-30", 0)
    removed = stream.do("remove_activity", role="kerjasama", activity_id="act-1")
    assert removed[0].type == "agreement.activity_removed" and stream.agreement.activities == {}


def test_a_kb_has_no_work_plan_except_a_sinergi_nota_kesepakatan():
    with refused("work_plan_requires_pks", Refusal.CONFLICT):
        with_activity(at("SIGNED"))
    assert with_activity(at("ACTIVE", "SINERGI")).agreement.activities


@pytest.mark.parametrize("status", ["SUBMITTED", "UNDER_REVIEW", "READY_TO_SIGN", "EXPIRED"])
def test_the_work_plan_is_frozen_from_submission_to_signing_and_after_the_end(status):
    with refused("invalid_transition", Refusal.CONFLICT):
        with_activity(at(status, document_kind="PKS"))


def test_the_work_plan_is_drafted_with_the_pks_and_the_term_must_keep_holding_it():
    stream = with_activity(at("DRAFT", document_kind="PKS"))
    assert "act-1" in stream.agreement.activities
    with refused("activity_outside_period", Refusal.INVALID):
        stream.do("edit_draft", role="kerjasama", changes={"end_date": date(2025, 6, 30)})
    with refused("activity_outside_period", Refusal.INVALID):
        stream.do("edit_draft", role="kerjasama", changes={"start_date": date(2025, 2, 1)})
    stream.do("edit_draft", role="kerjasama", changes={"end_date": date(2026, 12, 31)})


def test_activity_ids_are_unique_and_must_exist():
    stream = with_activity(signed_pks())
    with refused("activity_exists", Refusal.CONFLICT):
        with_activity(stream)
    with refused("activity_not_found", Refusal.NOT_FOUND):
        stream.do("update_activity", role="kerjasama", activity_id="nope", changes={"target": 1})
    with refused("activity_not_found", Refusal.NOT_FOUND):
        stream.do("remove_activity", role="kerjasama", activity_id="nope")
    with refused("activity_not_found", Refusal.NOT_FOUND):
        report(stream, activity_id="nope")


def test_activity_schedule_lies_within_the_term_boundaries_included():
    stream = signed_pks()
    with_activity(stream, "a", schedule_start=START, schedule_end=END)
    with_activity(stream, "b", schedule_start=END, schedule_end=END)  # a one-day activity
    with refused("activity_outside_period"):
        with_activity(stream, "c", schedule_start=START - ONE_DAY, schedule_end=END)
    with refused("activity_outside_period"):
        with_activity(stream, "c", schedule_start=START, schedule_end=END + ONE_DAY)
    with refused("schedule_end_before_start"):
        with_activity(stream, "c", schedule_start=date(2025, 6, 2), schedule_end=date(2025, 6, 1))
    with refused("activity_outside_period"):
        stream.do("update_activity", role="kerjasama", activity_id="a", changes={"schedule_end": END + ONE_DAY})


@pytest.mark.parametrize("target", [0, -1, True])
def test_target_must_be_positive(target):
    with refused("invalid_target"):
        with_activity(signed_pks(), target=target)


def test_budget_is_whole_rupiah():
    with refused("invalid_amount"):
        with_activity(signed_pks(), budget=-5)
    with refused("field_not_editable"):
        with_activity(signed_pks()).do("update_activity", role="kerjasama", activity_id="act-1",
                                       changes={"reports": []})


def test_an_activity_with_reports_cannot_be_removed():
    stream = with_activity(signed_pks())
    report(stream)
    with refused("activity_has_reports", Refusal.CONFLICT):
        stream.do("remove_activity", role="kerjasama", activity_id="act-1")


def test_an_amendment_cannot_cut_off_scheduled_activities():
    stream = with_activity(signed_pks(), schedule_end=date(2026, 12, 31))
    with refused("activity_outside_period"):
        stream.do("draft_addendum", role="kerjasama", reason="Dipersingkat", changes={"end_date": date(2026, 12, 30)},
                  parent_kb=stream.parent)
    amend(stream, {"end_date": date(2026, 12, 31)}, reason="Dipersingkat")


def test_an_addendum_is_checked_again_against_the_work_plan_when_signed():
    stream = signed_pks()
    stream.do("draft_addendum", role="kerjasama", reason="Dipersingkat", changes={"end_date": date(2026, 6, 30)},
              parent_kb=stream.parent)
    stream.do("submit_addendum", role="kerjasama", addendum_no=1)
    stream.do("record_addendum_review", role="tkksd", addendum_no=1, recommended=True, notes="",
              reviewed_on=date(2025, 6, 1))
    with_activity(stream, schedule_end=date(2026, 12, 31))  # added while the addendum was under way
    with refused("activity_outside_period"):
        stream.do("sign_addendum", role="pimpinan", addendum_no=1, number="ADD-1", signed_on=date(2025, 7, 1),
                  signatory_name="Bupati", signatory_position="kepala_daerah", parent_kb=stream.parent)


# --- reports ---------------------------------------------------------------------------------------

def test_a_report_records_realisation_obstacles_solutions_and_evidence():
    stream = with_activity(signed_pks())
    events = report(stream, realisation=12, obstacles="Cuaca", solutions="Jadwal ulang",
                    evidence=[file_meta(1), file_meta(2)])
    assert events[0].type == "agreement.report_filed"
    assert events[0].data == {"activity_id": "act-1", "period": "2025-TW1", "realisation": 12, "obstacles": "Cuaca",
                              "solutions": "Jadwal ulang", "evidence": [file_meta(1), file_meta(2)],
                              "filed_on": "2025-04-05"}
    assert stream.agreement.snapshot()["activities"][0]["reports"][0]["evidence"][1]["file_id"] == "file-2"


@pytest.mark.parametrize("period", ["2025-TW5", "2025-Q1", "2025", "25-TW1", "2025-tw1", "", None])
def test_periods_are_quarters(period):
    with refused("invalid_period") as err:
        report(with_activity(signed_pks()), period=period)
    assert "period" in err.value.fields


def test_period_bounds_and_order():
    assert period_bounds("2025-TW1") == (date(2025, 1, 1), date(2025, 3, 31))
    assert period_bounds("2024-TW1") == (date(2024, 1, 1), date(2024, 3, 31))
    assert period_bounds("2025-TW2") == (date(2025, 4, 1), date(2025, 6, 30))
    assert period_bounds("2025-TW3") == (date(2025, 7, 1), date(2025, 9, 30))
    assert period_bounds("2025-TW4") == (date(2025, 10, 1), date(2025, 12, 31))
    assert sorted(["2026-TW1", "2025-TW4", "2025-TW2"], key=period_key) == ["2025-TW2", "2025-TW4", "2026-TW1"]


def test_a_period_must_overlap_the_term():
    stream = with_activity(signed_pks())  # term 2025-01-01 .. 2027-12-31
    report(stream, period="2027-TW4", filed_on=date(2028, 1, 5))
    for period in ("2024-TW4", "2028-TW1"):
        with refused("period_outside_agreement"):
            report(stream, period=period, filed_on=date(2028, 6, 1))


def test_a_period_can_be_reported_from_its_first_day():
    stream = with_activity(signed_pks())
    with refused("period_not_started"):
        report(stream, period="2025-TW2", filed_on=date(2025, 3, 31))
    report(stream, period="2025-TW2", filed_on=date(2025, 4, 1))


@pytest.mark.parametrize("realisation", [-1, True, "5"])
def test_realisation_is_a_number_zero_or_more(realisation):
    with refused("invalid_realisation"):
        report(with_activity(signed_pks()), realisation=realisation)


def test_evidence_metadata_is_checked():
    with refused("invalid_attachment") as err:
        report(with_activity(signed_pks()), evidence=[file_meta(), {"file_id": "x"}])
    assert "evidence[1].sha256" in err.value.fields


@pytest.mark.parametrize("status", ["EXPIRED", "TERMINATED"])
def test_late_reports_are_accepted_after_the_end(status):
    stream = with_activity(at("ACTIVE", document_kind="PKS"))
    if status == "EXPIRED":
        stream.do("expire", role="service", on=END + ONE_DAY)
    else:
        stream.do("terminate", role="pimpinan", reason="Selesai lebih awal", on=date(2025, 9, 1))
    report(stream, period="2025-TW3", filed_on=date(2028, 1, 10))
    with refused("invalid_transition", Refusal.CONFLICT):
        with_activity(stream, "act-2")


def test_reports_are_refused_before_signing_and_once_cancelled():
    stream = at("DRAFT", document_kind="PKS")
    with refused("invalid_transition", Refusal.CONFLICT):
        report(stream)


def test_a_kb_takes_no_reports():
    with refused("work_plan_requires_pks", Refusal.CONFLICT):
        report(at("ACTIVE"))


# --- progress --------------------------------------------------------------------------------------

def test_progress_follows_the_latest_cumulative_realisation():
    stream = with_activity(signed_pks(), target=40)
    assert stream.agreement.activity_progress("act-1") == 0
    report(stream, "2025-TW1", 10)
    assert stream.agreement.activity_progress("act-1") == 25
    report(stream, "2025-TW2", 30, filed_on=date(2025, 7, 1))
    assert stream.agreement.activity_progress("act-1") == 75  # cumulative: not 10 + 30
    report(stream, "2025-TW1", 12)  # a late correction of an earlier quarter does not lower progress
    assert stream.agreement.activity_progress("act-1") == 75
    report(stream, "2025-TW2", 20, filed_on=date(2025, 7, 2))  # filing a period again replaces it
    assert stream.agreement.activity_progress("act-1") == 50
    assert [r["realisation"] for r in stream.agreement.snapshot()["activities"][0]["reports"]] == [12, 20]


def test_progress_is_capped_at_100_and_averaged_over_activities():
    stream = with_activity(with_activity(signed_pks(), "a", target=10), "b", target=3)
    assert stream.agreement.progress == 0
    report(stream, realisation=25, activity_id="a")
    report(stream, realisation=1, activity_id="b")
    assert stream.agreement.activity_progress("a") == 100
    assert stream.agreement.progress == pytest.approx((100 + 100 / 3) / 2)
    snap = stream.agreement.snapshot()
    assert snap["progress"] == 66.67 and [a["progress"] for a in snap["activities"]] == [100, 33.33]


def test_an_agreement_without_activities_has_zero_progress():
    assert signed_pks().agreement.snapshot()["progress"] == 0
    assert agreement_progress([]) == 0


@given(st.floats(min_value=0.01, max_value=1e9), st.floats(min_value=0, max_value=1e9),
       st.floats(min_value=0, max_value=1e9))
def test_activity_progress_is_bounded_and_monotone(target, low, extra):
    p_low, p_high = activity_progress(target, low), activity_progress(target, low + extra)
    assert 0 <= p_low <= p_high <= 100
    assert p_low == min(100.0, low / target * 100)


@given(st.lists(st.floats(min_value=0, max_value=100), min_size=1, max_size=20))
def test_agreement_progress_is_the_mean(values):
    assert agreement_progress(values) == pytest.approx(sum(values) / len(values))
    assert min(values) - 1e-9 <= agreement_progress(values) <= max(values) + 1e-9
