"""The Evaluation aggregate: scheduling, answers, submission, revision, finalisation, cancellation."""
from __future__ import annotations

import json
import uuid
from datetime import date, datetime

import pytest

from services.evaluation.domain import (
    EVALUATION_ANSWERS_SAVED, EVALUATION_CANCELLED, EVALUATION_FINALIZED, EVALUATION_RETURNED,
    EVALUATION_SCHEDULED, EVALUATION_SUBMITTED, Evaluation, Rubric, Status, score,
)
from shared.domain import DomainError, InvalidTransition, Refusal

from .conftest import TERM

LEAD_OPD = "DINAS-PUPR"


def schedule_args(rubric, **overrides):
    args = dict(role="kerjasama", agreement_id="agreement-1", agreement_lead_opd=LEAD_OPD, period="TW2",
                year=2025, due_date=date(2025, 7, 15), assessor_kind="opd", rubric=rubric, **TERM)
    args.update(overrides)
    return args


def new_evaluation() -> Evaluation:
    return Evaluation(f"evaluation-{uuid.uuid4()}")


def rule_of(excinfo) -> tuple[str, int]:
    return excinfo.value.rule, excinfo.value.kind


# -- schedule ----------------------------------------------------------------------------
def test_schedule_records_the_plan_and_the_rubric(rubric):
    evaluation = new_evaluation()
    events = evaluation.schedule(**schedule_args(rubric))
    assert [e.type for e in events] == [EVALUATION_SCHEDULED]
    assert events[0].data == {
        "agreement_id": "agreement-1", "agreement_lead_opd": LEAD_OPD, "period": "TW2", "year": 2025,
        "due_date": "2025-07-15", "assessor_kind": "opd", "rubric_id": "monev-ksd-standar", "rubric_version": 1,
    }
    assert evaluation.status == Status.SCHEDULED
    assert evaluation.due_date == date(2025, 7, 15)
    assert evaluation.version == 1
    assert Evaluation.stream_type == "evaluation"


@pytest.mark.parametrize("period", ["TW1", "TW2", "TW3", "TW4", "TAHUNAN", "AKHIR"])
@pytest.mark.parametrize("assessor_kind", ["opd", "kerjasama", "tkksd"])
def test_every_period_and_assessor_kind_can_be_scheduled(rubric, period, assessor_kind):
    evaluation = new_evaluation()
    # AKHIR evaluates the whole term: of the year it ends, due after it
    year, due = (2027, date(2028, 1, 31)) if period == "AKHIR" else (2025, date(2026, 1, 31))
    evaluation.schedule(**schedule_args(rubric, period=period, assessor_kind=assessor_kind, year=year, due_date=due,
                                        today=date(2026, 1, 5)))
    assert (evaluation.period, evaluation.assessor_kind) == (period, assessor_kind)


def test_due_date_may_be_an_iso_string(rubric):
    evaluation = new_evaluation()
    evaluation.schedule(**schedule_args(rubric, due_date="2025-12-31"))
    assert evaluation.due_date == date(2025, 12, 31)


@pytest.mark.parametrize("override, rule, field", [
    ({"period": "TW5"}, "unknown_period", "period"),
    ({"period": "tw1"}, "unknown_period", "period"),
    ({"year": 1999}, "invalid_year", "year"),
    ({"year": "2025"}, "invalid_year", "year"),
    ({"year": True}, "invalid_year", "year"),
    ({"due_date": "15-07-2025"}, "invalid_due_date", "due_date"),
    ({"due_date": datetime(2025, 7, 15, 9, 0)}, "invalid_due_date", "due_date"),
    ({"due_date": None}, "invalid_due_date", "due_date"),
    ({"assessor_kind": "dprd"}, "unknown_assessor_kind", "assessor_kind"),
    ({"agreement_id": " "}, "agreement_required", "agreement_id"),
    ({"agreement_lead_opd": ""}, "lead_opd_required", "agreement_lead_opd"),
])
def test_schedule_refuses_invalid_input(rubric, override, rule, field):
    evaluation = new_evaluation()
    with pytest.raises(DomainError) as caught:
        evaluation.schedule(**schedule_args(rubric, **override))
    assert rule_of(caught) == (rule, Refusal.INVALID)
    assert field in caught.value.fields
    assert evaluation.status is None and evaluation.version == 0


def test_schedule_reports_every_faulty_field(rubric):
    with pytest.raises(DomainError) as caught:
        new_evaluation().schedule(**schedule_args(rubric, period="X", year=1, assessor_kind="x"))
    assert caught.value.rule == "unknown_period"
    assert set(caught.value.fields) == {"period", "year", "assessor_kind"}


def test_schedule_needs_an_evaluation_stream_id(rubric):
    with pytest.raises(DomainError) as caught:
        Evaluation("agreement-123").schedule(**schedule_args(rubric))
    assert caught.value.rule == "invalid_stream_id"


@pytest.mark.parametrize("role", ["admin", "opd", "tkksd", "pimpinan", "auditor", "publik"])
def test_only_kerjasama_schedules(rubric, role):
    with pytest.raises(DomainError) as caught:
        new_evaluation().schedule(**schedule_args(rubric, role=role))
    assert rule_of(caught) == ("role_not_allowed", Refusal.FORBIDDEN)


def test_scheduling_twice_is_refused(rubric, make_evaluation):
    evaluation = make_evaluation()
    with pytest.raises(InvalidTransition) as caught:
        evaluation.schedule(**schedule_args(rubric))
    assert rule_of(caught) == ("already_scheduled", Refusal.CONFLICT)


@pytest.mark.parametrize("command", ["save_answers", "submit", "finalize", "cancel", "return_for_revision"])
def test_nothing_happens_before_scheduling(rubric, command):
    evaluation = new_evaluation()
    calls = {
        "save_answers": lambda: evaluation.save_answers({"dampak": "baik"}, role="kerjasama", rubric=rubric),
        "submit": lambda: evaluation.submit(role="kerjasama", rubric=rubric),
        "finalize": lambda: evaluation.finalize(role="kerjasama", rubric=rubric),
        "cancel": lambda: evaluation.cancel("x", role="kerjasama"),
        "return_for_revision": lambda: evaluation.return_for_revision("x", role="kerjasama"),
    }
    with pytest.raises(InvalidTransition) as caught:
        calls[command]()
    assert rule_of(caught) == ("not_scheduled", Refusal.CONFLICT)


# -- answers -----------------------------------------------------------------------------
def test_saving_answers_starts_the_evaluation_and_merges_drafts(rubric, make_evaluation):
    evaluation = make_evaluation()
    events = evaluation.save_answers({"dampak": "baik", "koordinasi": "cukup"}, role="opd", opd=LEAD_OPD,
                                     rubric=rubric)
    assert [e.type for e in events] == [EVALUATION_ANSWERS_SAVED]
    assert events[0].data == {"answers": {"dampak": "baik", "koordinasi": "cukup"}}
    assert evaluation.status == Status.IN_PROGRESS
    evaluation.save_answers({"koordinasi": "sangat_baik", "saran": "  tambah pelatihan  "}, role="opd",
                            opd=LEAD_OPD, rubric=rubric)
    assert evaluation.answers == {"dampak": "baik", "koordinasi": "sangat_baik", "saran": "tambah pelatihan"}


def test_none_or_empty_clears_a_draft_answer(rubric, make_evaluation):
    evaluation = make_evaluation()
    evaluation.save_answers({"dampak": "baik", "saran": "a", "bukti": ["BA-1"]}, role="kerjasama", rubric=rubric)
    events = evaluation.save_answers({"dampak": None, "saran": "   ", "bukti": []}, role="kerjasama", rubric=rubric)
    assert events[0].data == {"answers": {"dampak": None, "saran": None, "bukti": None}}
    assert evaluation.answers == {}


def test_evidence_references_are_a_list_without_repeats(rubric, make_evaluation):
    evaluation = make_evaluation()
    evaluation.save_answers({"bukti": ["BA-12/2025", " foto-kegiatan.jpg ", "BA-12/2025"]}, role="kerjasama",
                            rubric=rubric)
    assert evaluation.answers["bukti"] == ["BA-12/2025", "foto-kegiatan.jpg"]


def test_unknown_indicator_is_refused(rubric, make_evaluation):
    evaluation = make_evaluation()
    with pytest.raises(DomainError) as caught:
        evaluation.save_answers({"dampak": "baik", "anggaran": "besar"}, role="kerjasama", rubric=rubric)
    assert rule_of(caught) == ("unknown_indicator", Refusal.INVALID)
    assert set(caught.value.fields) == {"anggaran"}
    assert evaluation.answers == {} and evaluation.status == Status.SCHEDULED


@pytest.mark.parametrize("indicator, answer", [
    ("kesesuaian_tujuan", "ya"),                 # English instead of the machine key
    ("kesesuaian_tujuan", "Sesuai"),             # the label, not the key
    ("ketepatan_waktu", "sangat_baik"),          # a key of another scale
    ("koordinasi", "tidak_sesuai"),
    ("dampak", 100),                             # a score, not an option
    ("koordinasi", ["baik"]),
    ("rekomendasi", "ditunda"),                  # choice outside its options
])
def test_answer_outside_its_scale_is_refused(rubric, make_evaluation, indicator, answer):
    evaluation = make_evaluation()
    with pytest.raises(DomainError) as caught:
        evaluation.save_answers({indicator: answer}, role="kerjasama", rubric=rubric)
    assert rule_of(caught) == ("answer_outside_scale", Refusal.INVALID)
    assert list(caught.value.fields) == [indicator]
    assert ", ".join(rubric.indicator(indicator).option_keys) in caught.value.fields[indicator]
    assert evaluation.version == 1


def test_every_faulty_answer_is_named(rubric, make_evaluation):
    with pytest.raises(DomainError) as caught:
        make_evaluation().save_answers({"dampak": "x", "koordinasi": "y", "saran": 5, "kontribusi_mitra": "baik"},
                                       role="kerjasama", rubric=rubric)
    assert caught.value.rule == "answer_outside_scale"
    assert set(caught.value.fields) == {"dampak", "koordinasi", "saran"}


@pytest.mark.parametrize("indicator, answer", [
    ("saran", 12), ("saran", "x" * 4001), ("bukti", "BA-1"), ("bukti", ["ok", ""]), ("bukti", ["x"] * 51),
])
def test_malformed_text_or_references_are_refused(rubric, make_evaluation, indicator, answer):
    with pytest.raises(DomainError) as caught:
        make_evaluation().save_answers({indicator: answer}, role="kerjasama", rubric=rubric)
    assert rule_of(caught) == ("invalid_answer", Refusal.INVALID)
    assert list(caught.value.fields) == [indicator]


@pytest.mark.parametrize("answers", [{}, None, ["dampak"], "dampak=baik"])
def test_answers_must_be_a_non_empty_mapping(rubric, make_evaluation, answers):
    with pytest.raises(DomainError) as caught:
        make_evaluation().save_answers(answers, role="kerjasama", rubric=rubric)
    assert caught.value.rule == "invalid_answers"


@pytest.mark.parametrize("status", ["SUBMITTED", "FINALIZED", "CANCELLED"])
def test_answers_are_frozen_outside_draft_states(rubric, make_evaluation, status):
    evaluation = make_evaluation(status)
    with pytest.raises(InvalidTransition) as caught:
        evaluation.save_answers({"dampak": "kurang"}, role="kerjasama", rubric=rubric)
    assert rule_of(caught) == ("invalid_transition", Refusal.CONFLICT)


def test_answers_need_the_scheduled_rubric_version(rubric, make_evaluation):
    newer = Rubric.from_dict({**rubric.to_dict(), "rubric_version": 2})
    with pytest.raises(DomainError) as caught:
        make_evaluation().save_answers({"dampak": "baik"}, role="kerjasama", rubric=newer)
    assert rule_of(caught) == ("rubric_mismatch", Refusal.CONFLICT)


# -- who may answer and submit --------------------------------------------------------------
@pytest.mark.parametrize("assessor_kind, role, opd, allowed", [
    ("opd", "opd", LEAD_OPD, None),
    ("opd", "opd", "DINAS-KESEHATAN", ("opd_not_responsible", Refusal.FORBIDDEN)),
    ("opd", "opd", None, ("opd_not_responsible", Refusal.FORBIDDEN)),
    ("opd", "tkksd", None, ("role_not_allowed", Refusal.FORBIDDEN)),
    ("opd", "kerjasama", None, None),
    ("opd", "admin", None, ("role_not_allowed", Refusal.FORBIDDEN)),  # admin runs the system, not monev
    ("tkksd", "tkksd", None, None),
    ("tkksd", "opd", LEAD_OPD, ("role_not_allowed", Refusal.FORBIDDEN)),
    ("kerjasama", "opd", LEAD_OPD, ("role_not_allowed", Refusal.FORBIDDEN)),
    ("kerjasama", "tkksd", None, ("role_not_allowed", Refusal.FORBIDDEN)),
    ("kerjasama", "kerjasama", None, None),
    ("opd", "pimpinan", None, ("role_not_allowed", Refusal.FORBIDDEN)),
    ("opd", "auditor", None, ("role_not_allowed", Refusal.FORBIDDEN)),
    ("opd", "publik", None, ("role_not_allowed", Refusal.FORBIDDEN)),
])
def test_who_may_answer_and_submit(rubric, make_evaluation, complete_answers, assessor_kind, role, opd, allowed):
    evaluation = make_evaluation(assessor_kind=assessor_kind)
    if allowed is None:
        evaluation.save_answers(complete_answers, role=role, opd=opd, rubric=rubric)
        evaluation.submit(role=role, opd=opd, rubric=rubric)
        assert evaluation.status == Status.SUBMITTED
        return
    with pytest.raises(DomainError) as caught:
        evaluation.save_answers(complete_answers, role=role, opd=opd, rubric=rubric)
    assert rule_of(caught) == allowed
    evaluation.save_answers(complete_answers, role="kerjasama", rubric=rubric)
    with pytest.raises(DomainError) as caught:
        evaluation.submit(role=role, opd=opd, rubric=rubric)
    assert rule_of(caught) == allowed
    assert evaluation.status == Status.IN_PROGRESS


# -- submit -------------------------------------------------------------------------------
def test_submit_needs_every_required_indicator(rubric, make_evaluation, complete_answers):
    evaluation = make_evaluation()
    partial = {k: v for k, v in complete_answers.items() if k not in ("koordinasi", "rekomendasi")}
    evaluation.save_answers(partial, role="opd", opd=LEAD_OPD, rubric=rubric)
    with pytest.raises(DomainError) as caught:
        evaluation.submit(role="opd", opd=LEAD_OPD, rubric=rubric)
    assert rule_of(caught) == ("evaluation_incomplete", Refusal.INVALID)
    assert set(caught.value.fields) == {"koordinasi", "rekomendasi"}
    assert evaluation.missing(rubric) == ["koordinasi", "rekomendasi"]
    assert evaluation.status == Status.IN_PROGRESS


def test_optional_indicators_may_stay_empty(rubric, make_evaluation, complete_answers):
    evaluation = make_evaluation()
    evaluation.save_answers(complete_answers, role="opd", opd=LEAD_OPD, rubric=rubric)
    events = evaluation.submit(role="opd", opd=LEAD_OPD, rubric=rubric)
    assert [e.type for e in events] == [EVALUATION_SUBMITTED]
    assert events[0].data == {"submission_number": 1}
    assert evaluation.status == Status.SUBMITTED
    assert "saran" not in evaluation.answers


@pytest.mark.parametrize("status", ["SCHEDULED", "SUBMITTED", "FINALIZED", "CANCELLED"])
def test_submit_only_from_in_progress(rubric, make_evaluation, status):
    with pytest.raises(InvalidTransition) as caught:
        make_evaluation(status).submit(role="kerjasama", rubric=rubric)
    assert rule_of(caught) == ("invalid_transition", Refusal.CONFLICT)


# -- return for revision --------------------------------------------------------------------
def test_return_for_revision_reopens_the_answers(rubric, make_evaluation):
    evaluation = make_evaluation("SUBMITTED")
    answers_before = dict(evaluation.answers)
    events = evaluation.return_for_revision("  lampirkan berita acara  ", role="kerjasama")
    assert [e.type for e in events] == [EVALUATION_RETURNED]
    assert events[0].data == {"reason": "lampirkan berita acara"}
    assert evaluation.status == Status.IN_PROGRESS
    assert evaluation.answers == answers_before
    evaluation.save_answers({"bukti": ["BA-7/2025"]}, role="opd", opd=LEAD_OPD, rubric=rubric)
    assert evaluation.submit(role="opd", opd=LEAD_OPD, rubric=rubric)[0].data == {"submission_number": 2}
    assert evaluation.return_reasons == ["lampirkan berita acara"]


@pytest.mark.parametrize("status", ["SCHEDULED", "IN_PROGRESS", "FINALIZED", "CANCELLED"])
def test_return_only_from_submitted(make_evaluation, status):
    with pytest.raises(InvalidTransition):
        make_evaluation(status).return_for_revision("alasan", role="kerjasama")


@pytest.mark.parametrize("role", ["admin", "opd", "tkksd", "pimpinan"])
def test_only_kerjasama_returns(make_evaluation, role):
    with pytest.raises(DomainError) as caught:
        make_evaluation("SUBMITTED").return_for_revision("alasan", role=role)
    assert rule_of(caught) == ("role_not_allowed", Refusal.FORBIDDEN)


@pytest.mark.parametrize("reason", ["", "   ", None, "x" * 2001])
def test_return_needs_a_reason(make_evaluation, reason):
    with pytest.raises(DomainError) as caught:
        make_evaluation("SUBMITTED").return_for_revision(reason, role="kerjasama")
    assert caught.value.rule in ("reason_required", "reason_too_long")
    assert "reason" in caught.value.fields


# -- finalize -----------------------------------------------------------------------------
def test_finalize_records_the_scores_and_the_rubric(rubric, make_evaluation):
    evaluation = make_evaluation()
    answers = {"kesesuaian_tujuan": "sesuai", "ketepatan_waktu": "terlambat", "kontribusi_mitra": "kurang",
               "koordinasi": "baik", "capaian_indikator": "tercapai", "dampak": "baik", "inovasi_manfaat": "cukup",
               "kelengkapan_dokumen": "lengkap", "pelaporan_berkala": "tidak_rutin",
               "kesesuaian_kebutuhan_daerah": "sebagian", "rekomendasi": "dilanjutkan"}
    evaluation.save_answers(answers, role="opd", opd=LEAD_OPD, rubric=rubric)
    evaluation.submit(role="opd", opd=LEAD_OPD, rubric=rubric)
    events = evaluation.finalize(role="kerjasama", rubric=rubric)
    assert [e.type for e in events] == [EVALUATION_FINALIZED]
    data = events[0].data
    assert data["rubric_id"] == "monev-ksd-standar" and data["rubric_version"] == 1
    assert data["group_scores"] == {"pelaksanaan": 56.25, "hasil_dampak": 83.33, "administrasi": 75,
                                    "relevansi": 50}
    assert data["overall"] == 66.15 and data["rating"] == 3
    assert data["group_weights"] == {"pelaksanaan": 1, "hasil_dampak": 1, "administrasi": 1, "relevansi": 1}
    assert data["indicator_scores"]["koordinasi"] == 75
    assert data["answers"] == answers
    assert json.loads(json.dumps(data)) == data
    assert evaluation.status == Status.FINALIZED
    assert evaluation.result["overall"] == 66.15 and evaluation.result["rating"] == 3


def test_second_finalization_is_refused(rubric, make_evaluation):
    evaluation = make_evaluation("FINALIZED")
    version = evaluation.version
    with pytest.raises(InvalidTransition) as caught:
        evaluation.finalize(role="kerjasama", rubric=rubric)
    assert rule_of(caught) == ("already_finalized", Refusal.CONFLICT)
    assert evaluation.version == version


@pytest.mark.parametrize("status", ["SCHEDULED", "IN_PROGRESS", "CANCELLED"])
def test_finalize_only_a_submission(rubric, make_evaluation, status):
    with pytest.raises(InvalidTransition) as caught:
        make_evaluation(status).finalize(role="kerjasama", rubric=rubric)
    assert rule_of(caught) == ("invalid_transition", Refusal.CONFLICT)


def test_an_incomplete_draft_cannot_be_finalized(rubric, make_evaluation):
    evaluation = make_evaluation()
    evaluation.save_answers({"dampak": "baik"}, role="kerjasama", rubric=rubric)
    with pytest.raises(InvalidTransition):
        evaluation.finalize(role="kerjasama", rubric=rubric)


def test_finalize_rechecks_completeness_of_a_recorded_submission(rubric, envelopes):
    # A stream whose submission lacks required answers (e.g. written before a rule existed).
    stream_id = f"evaluation-{uuid.uuid4()}"
    source = Evaluation(stream_id)
    history = source.schedule(**schedule_args(rubric))
    history += source.save_answers({"dampak": "baik"}, role="kerjasama", rubric=rubric)
    evaluation = Evaluation.rebuild(stream_id, [
        *envelopes(history),
        {"event_type": EVALUATION_SUBMITTED, "data": {"submission_number": 1}},
    ])
    assert evaluation.status == Status.SUBMITTED
    with pytest.raises(DomainError) as caught:
        evaluation.finalize(role="kerjasama", rubric=rubric)
    assert caught.value.rule == "evaluation_incomplete"
    assert "koordinasi" in caught.value.fields


@pytest.mark.parametrize("role", ["admin", "opd", "tkksd", "pimpinan", "auditor"])
def test_only_kerjasama_finalizes(rubric, make_evaluation, role):
    with pytest.raises(DomainError) as caught:
        make_evaluation("SUBMITTED").finalize(role=role, rubric=rubric)
    assert rule_of(caught) == ("role_not_allowed", Refusal.FORBIDDEN)


def test_finalize_needs_the_scheduled_rubric_version(rubric, make_evaluation):
    newer = Rubric.from_dict({**rubric.to_dict(), "rubric_version": 2})
    evaluation = make_evaluation("SUBMITTED")
    with pytest.raises(DomainError) as caught:
        evaluation.finalize(role="kerjasama", rubric=newer)
    assert rule_of(caught) == ("rubric_mismatch", Refusal.CONFLICT)
    assert evaluation.status == Status.SUBMITTED


def test_a_later_rubric_change_does_not_rewrite_a_finalized_result(rubric, complete_answers, envelopes):
    live = new_evaluation()
    events = live.schedule(**schedule_args(rubric))
    events += live.save_answers(complete_answers, role="kerjasama", rubric=rubric)
    events += live.submit(role="kerjasama", rubric=rubric)
    events += live.finalize(role="kerjasama", rubric=rubric)
    # the rubric is reconfigured afterwards: stricter scale scores, a new version
    raw = rubric.to_dict()
    raw.update(rubric_version=2, scale_scores={"scale3": [80, 40, 0], "scale4": [80, 60, 40, 20]})
    stricter = Rubric.from_dict(raw)
    assert score(stricter, complete_answers).overall == 80  # what re-scoring would say today
    rebuilt = Evaluation.rebuild(live.stream_id, envelopes(events))
    assert rebuilt.result["overall"] == 100 and rebuilt.result["rating"] == 5
    assert (rebuilt.result["rubric_id"], rebuilt.result["rubric_version"]) == ("monev-ksd-standar", 1)
    with pytest.raises(InvalidTransition):
        rebuilt.finalize(role="kerjasama", rubric=stricter)


# -- cancel -------------------------------------------------------------------------------
@pytest.mark.parametrize("status", ["SCHEDULED", "IN_PROGRESS"])
def test_cancel_from_scheduled_or_in_progress(make_evaluation, status):
    evaluation = make_evaluation(status)
    events = evaluation.cancel("kerja sama diakhiri", role="kerjasama")
    assert [e.type for e in events] == [EVALUATION_CANCELLED]
    assert events[0].data == {"reason": "kerja sama diakhiri", "from_status": status}
    assert evaluation.status == Status.CANCELLED
    assert (evaluation.cancel_reason, evaluation.cancelled_from) == ("kerja sama diakhiri", status)


@pytest.mark.parametrize("status", ["SUBMITTED", "FINALIZED", "CANCELLED"])
def test_cancel_refused_after_submission_or_closing(make_evaluation, status):
    with pytest.raises(InvalidTransition) as caught:
        make_evaluation(status).cancel("alasan", role="kerjasama")
    assert rule_of(caught) == ("invalid_transition", Refusal.CONFLICT)


def test_cancel_needs_a_manager_and_a_reason(make_evaluation):
    with pytest.raises(DomainError) as caught:
        make_evaluation().cancel("alasan", role="opd")
    assert rule_of(caught) == ("role_not_allowed", Refusal.FORBIDDEN)
    with pytest.raises(DomainError) as caught:
        make_evaluation().cancel("", role="kerjasama")
    assert rule_of(caught) == ("reason_required", Refusal.INVALID)


# -- overdue ------------------------------------------------------------------------------
@pytest.mark.parametrize("status, today, overdue", [
    ("SCHEDULED", date(2025, 7, 14), False),
    ("SCHEDULED", date(2025, 7, 15), False),   # due today is not yet overdue
    ("SCHEDULED", date(2025, 7, 16), True),
    ("IN_PROGRESS", date(2025, 8, 1), True),
    ("SUBMITTED", date(2025, 8, 1), True),      # waiting for finalisation still counts
    ("FINALIZED", date(2026, 1, 1), False),
    ("CANCELLED", date(2026, 1, 1), False),
])
def test_overdue(make_evaluation, status, today, overdue):
    assert make_evaluation(status, due_date=date(2025, 7, 15)).overdue(today) is overdue


def test_an_unscheduled_evaluation_is_never_overdue():
    assert new_evaluation().overdue(date(2100, 1, 1)) is False


def test_overdue_accepts_a_datetime_as_its_day(make_evaluation):
    assert make_evaluation(due_date=date(2025, 7, 15)).overdue(datetime(2025, 7, 16, 0, 1)) is True


# -- events and rebuild -------------------------------------------------------------------
def test_event_type_constants():
    assert (EVALUATION_SCHEDULED, EVALUATION_ANSWERS_SAVED, EVALUATION_SUBMITTED, EVALUATION_RETURNED,
            EVALUATION_FINALIZED, EVALUATION_CANCELLED) == (
        "evaluation.scheduled", "evaluation.answers_saved", "evaluation.submitted", "evaluation.returned",
        "evaluation.finalized", "evaluation.cancelled")


def test_rebuild_equals_the_live_aggregate(rubric, complete_answers, envelopes):
    live = new_evaluation()
    events = live.schedule(**schedule_args(rubric, assessor_kind="tkksd"))
    events += live.save_answers({"dampak": "cukup", "bukti": ["BA-1"]}, role="tkksd", rubric=rubric)
    events += live.save_answers({**complete_answers, "bukti": None}, role="tkksd", rubric=rubric)
    events += live.submit(role="tkksd", rubric=rubric)
    events += live.return_for_revision("perbaiki", role="kerjasama")
    events += live.save_answers({"saran": "lanjutkan"}, role="tkksd", rubric=rubric)
    events += live.submit(role="tkksd", rubric=rubric)
    events += live.finalize(role="kerjasama", rubric=rubric)
    stored = envelopes(events)
    rebuilt = Evaluation.rebuild(live.stream_id, stored)
    assert rebuilt.snapshot() == live.snapshot()
    assert rebuilt.version == live.version == 8
    assert json.loads(json.dumps(live.snapshot())) == live.snapshot()
    assert live.snapshot()["status"] == "FINALIZED"
    assert live.snapshot()["submission_count"] == 2


def test_snapshot_is_a_copy(make_evaluation):
    evaluation = make_evaluation("IN_PROGRESS")
    snapshot = evaluation.snapshot()
    snapshot["answers"]["dampak"] = "kurang"
    assert evaluation.answers["dampak"] == "baik"


def test_unknown_event_types_are_ignored_on_rebuild(make_evaluation, envelopes, rubric):
    source = Evaluation(f"evaluation-{uuid.uuid4()}")
    events = source.schedule(**schedule_args(rubric))
    stored = [*envelopes(events), {"event_type": "evaluation.reminder_sent", "data": {}}]
    rebuilt = Evaluation.rebuild(source.stream_id, stored)
    assert rebuilt.status == Status.SCHEDULED and rebuilt.version == 2
