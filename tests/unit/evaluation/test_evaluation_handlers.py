"""The monev handlers with in-memory fakes: every command through its handler, as the API sends it."""
import json
from datetime import date, datetime, timezone

import pytest

from shared.application import CommandContext, FixedClock, Repository, StreamNotFound, VersionMismatch
from shared.domain import DomainError, InvalidTransition, Refusal
from shared.envelope import Actor, verify_chain
from shared.eventstore import InMemoryEventStore
from shared.uniqueness import InMemoryUniqueKeys

from services.evaluation.agreement_register import InMemoryAgreementRegister
from services.evaluation.commands import (
    CancelEvaluation, FinalizeEvaluation, ReturnForRevision, SaveAnswers, ScheduleEvaluation, SubmitEvaluation,
)
from services.evaluation.domain import Evaluation, Rubric
from services.evaluation.handlers import EvaluationHandlers
from services.evaluation.rubric_catalog import RubricCatalog
from services.evaluation.schemas import (
    CancelEvaluationSchema, FinalizeEvaluationSchema, ReturnForRevisionSchema, SaveAnswersSchema,
    ScheduleEvaluationSchema, SubmitEvaluationSchema,
)
from services.evaluation.vocabulary import AgreementStatus, EVALUABLE

from .conftest import LEAD_OPD, RUBRIC_FILE, best_answers

NOW = datetime(2025, 7, 1, 3, 0, tzinfo=timezone.utc)
STAFF = CommandContext(Actor("sari", "kerjasama"), correlation_id="corr-1")
LEAD = CommandContext(Actor("opd-pupr", "opd", opd=LEAD_OPD))
OTHER_OPD = CommandContext(Actor("opd-kominfo", "opd", opd="DISKOMINFO"))
TKKSD = CommandContext(Actor("tkksd-1", "tkksd"))
AUDITOR = CommandContext(Actor("bpk", "auditor"))
SIGNED = "agreement-signed"
TERM = (date(2025, 1, 1), date(2027, 12, 31))
SCHEDULE = ScheduleEvaluation(agreement_id=SIGNED, period="TW2", year=2025, due_date=date(2025, 7, 15),
                              assessor_kind="opd")


@pytest.fixture
def store():
    return InMemoryEventStore()


@pytest.fixture
def register():
    register = InMemoryAgreementRegister()
    register.record(SIGNED, AgreementStatus.SIGNED, LEAD_OPD, *TERM)
    return register


@pytest.fixture
def catalog(rubric):
    return RubricCatalog([rubric], rubric.rubric_id)


@pytest.fixture
def keys():
    return InMemoryUniqueKeys()


@pytest.fixture
def handlers(store, register, catalog, keys):
    return EvaluationHandlers(Repository(store, Evaluation, FixedClock(NOW)), catalog, register, FixedClock(NOW),
                              unique_keys=keys)


def types_of(store, evaluation_id):
    return [e["event_type"] for e in store.load(evaluation_id)]


def answered(handlers, rubric, ctx=STAFF, schedule=SCHEDULE) -> Evaluation:
    evaluation = handlers.schedule(schedule, STAFF)
    return handlers.save_answers(SaveAnswers(answers=best_answers(rubric)).addressed(evaluation.stream_id, 1), ctx)


def submitted(handlers, rubric) -> Evaluation:
    evaluation = answered(handlers, rubric)
    return handlers.submit(SubmitEvaluation().addressed(evaluation.stream_id, 2), STAFF)


# ---------------------------------------------------------------- schedule

def test_schedule_records_the_agreement_its_lead_opd_and_the_current_rubric(handlers, store, rubric):
    evaluation = handlers.schedule(SCHEDULE, STAFF)
    assert evaluation.status == "SCHEDULED" and evaluation.version == 1
    [stored] = store.load(evaluation.stream_id)
    assert stored["event_type"] == "evaluation.scheduled" and stored["data"] == {
        "agreement_id": SIGNED, "agreement_lead_opd": LEAD_OPD, "period": "TW2", "year": 2025,
        "due_date": "2025-07-15", "assessor_kind": "opd", "rubric_id": rubric.rubric_id,
        "rubric_version": rubric.rubric_version}
    assert stored["actor"]["sub"] == "sari" and stored["correlation_id"] == "corr-1"
    assert stored["occurred_at"].startswith("2025-07-01T03:00:00")


@pytest.mark.parametrize("status", list(EVALUABLE))
def test_every_signed_or_later_agreement_can_be_evaluated(handlers, register, status):
    register.record("agreement-x", status, "DINAS-X", *TERM)
    cmd = ScheduleEvaluation(agreement_id="agreement-x", period="TAHUNAN", year=2025, due_date=date(2025, 12, 31),
                             assessor_kind="tkksd")
    assert handlers.schedule(cmd, STAFF).agreement_lead_opd == "DINAS-X"


@pytest.mark.parametrize("status", [s for s in AgreementStatus if s not in EVALUABLE])
def test_an_agreement_not_yet_signed_is_not_evaluable(handlers, register, store, status):
    register.record("agreement-x", status, "DINAS-X", *TERM)
    with pytest.raises(DomainError) as refused:
        handlers.schedule(ScheduleEvaluation(agreement_id="agreement-x", period="TW1", year=2025,
                                             due_date=date(2025, 4, 15), assessor_kind="opd"), STAFF)
    assert refused.value.rule == "agreement_not_evaluable" and refused.value.kind is Refusal.CONFLICT
    assert refused.value.fields == {"agreement_id": [f"status {status}"]}
    assert list(store.stream_ids()) == []


def test_an_agreement_the_register_does_not_know_is_refused(handlers, store):
    with pytest.raises(DomainError) as refused:
        handlers.schedule(ScheduleEvaluation(agreement_id="agreement-unknown", period="TW1", year=2025,
                                             due_date=date(2025, 4, 15), assessor_kind="opd"), STAFF)
    assert refused.value.rule == "agreement_not_found" and refused.value.kind is Refusal.INVALID
    assert list(store.stream_ids()) == []


@pytest.mark.parametrize("ctx", [LEAD, TKKSD, AUDITOR])
def test_only_managers_schedule(handlers, store, ctx):
    with pytest.raises(DomainError) as refused:
        handlers.schedule(SCHEDULE, ctx)
    assert refused.value.rule == "role_not_allowed" and refused.value.kind is Refusal.FORBIDDEN
    assert list(store.stream_ids()) == []


def refusal(call) -> DomainError:
    with pytest.raises(DomainError) as refused:
        call()
    return refused.value


def test_the_same_agreement_year_period_and_assessor_is_scheduled_once(handlers, store):
    first = handlers.schedule(SCHEDULE, STAFF)
    again = refusal(lambda: handlers.schedule(SCHEDULE, STAFF))
    assert again.rule == "evaluation_already_scheduled" and again.kind is Refusal.CONFLICT
    assert first.stream_id in again.detail and list(store.stream_ids()) == [first.stream_id]
    # another assessor, period or year is another evaluation
    for other in ({"assessor_kind": "tkksd"}, {"period": "TW1", "due_date": date(2025, 4, 30)},
                  {"period": "TAHUNAN", "due_date": date(2026, 1, 31)}):
        handlers.schedule(ScheduleEvaluation(**{**SCHEDULE.__dict__, **other}), STAFF)
    assert len(list(store.stream_ids())) == 4


def test_a_cancelled_evaluation_frees_its_slot(handlers):
    first = handlers.schedule(SCHEDULE, STAFF)
    handlers.cancel(CancelEvaluation(reason="jadwal salah").addressed(first.stream_id, 1), STAFF)
    second = handlers.schedule(SCHEDULE, STAFF)
    assert second.stream_id != first.stream_id and second.status == "SCHEDULED"
    # and the new one holds it again
    assert refusal(lambda: handlers.schedule(SCHEDULE, STAFF)).rule == "evaluation_already_scheduled"


def test_a_slot_left_by_a_schedule_that_never_appended_is_taken_over_after_a_while(handlers, keys, store):
    key = f"evaluation:{SIGNED}:2025:TW2:opd"
    keys.claim(key, "evaluation-crashed", lambda _: None)  # claimed now; its append never happened
    assert refusal(lambda: handlers.schedule(SCHEDULE, STAFF)).rule == "evaluation_already_scheduled"
    keys.claimed_at[key] -= 60  # a minute later the claim is evidently dead
    assert handlers.schedule(SCHEDULE, STAFF).status == "SCHEDULED"


def test_two_concurrent_schedules_give_one_evaluation(handlers, store):
    import threading
    barrier, outcomes = threading.Barrier(6), []

    def schedule():
        barrier.wait()
        try:
            outcomes.append(handlers.schedule(SCHEDULE, STAFF).stream_id)
        except DomainError as error:
            outcomes.append(error.rule)

    threads = [threading.Thread(target=schedule) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(o for o in outcomes if not o.startswith("evaluation-")) == ["evaluation_already_scheduled"] * 5
    assert len(list(store.stream_ids())) == 1


@pytest.mark.parametrize("period, year, due, rule", [
    ("TW4", 2024, date(2025, 1, 31), "period_outside_term"),        # before the term starts
    ("TAHUNAN", 2028, date(2029, 1, 31), "period_outside_term"),    # after it ends
    ("AKHIR", 2025, date(2028, 1, 31), "period_outside_term"),      # AKHIR is of the year the term ends
    ("TW4", 2025, date(2026, 1, 31), "period_not_started"),         # today is 1 July 2025
    ("TW3", 2025, date(2025, 8, 31), "period_not_ended"),           # due before the quarter ends
    ("TAHUNAN", 2025, date(2025, 11, 30), "period_not_ended"),
])
def test_the_period_must_fit_the_term_and_today(handlers, store, period, year, due, rule):
    error = refusal(lambda: handlers.schedule(ScheduleEvaluation(agreement_id=SIGNED, period=period, year=year,
                                                                 due_date=due, assessor_kind="opd"), STAFF))
    assert error.rule == rule, error.detail
    assert list(store.stream_ids()) == []


@pytest.mark.parametrize("period, year, due", [
    ("TW2", 2025, date(2025, 7, 15)),       # started, due after it ends
    ("TW1", 2025, date(2025, 3, 1)),        # already ended: a due date before its end is only late
    ("TAHUNAN", 2025, date(2026, 1, 31)),   # planned ahead, due after the year
    ("AKHIR", 2027, date(2028, 2, 28)),     # the final evaluation, planned ahead
])
def test_periods_that_fit(handlers, period, year, due):
    cmd = ScheduleEvaluation(agreement_id=SIGNED, period=period, year=year, due_date=due, assessor_kind="opd")
    assert handlers.schedule(cmd, STAFF).status == "SCHEDULED"


def test_a_terminated_agreement_ends_at_its_termination(handlers, register):
    register.record("agreement-t", AgreementStatus.TERMINATED, LEAD_OPD, *TERM, terminated_on=date(2025, 5, 20))
    schedule = lambda period, year, due: handlers.schedule(  # noqa: E731
        ScheduleEvaluation(agreement_id="agreement-t", period=period, year=year, due_date=due,
                           assessor_kind="kerjasama"), STAFF)
    assert refusal(lambda: schedule("TW3", 2025, date(2025, 10, 31))).rule == "period_outside_term"
    assert schedule("TW2", 2025, date(2025, 7, 31)).status == "SCHEDULED"  # TW2 up to 20 May
    assert schedule("AKHIR", 2025, date(2025, 8, 31)).status == "SCHEDULED"


# ---------------------------------------------------------------- save_answers

def test_save_answers_merges_and_null_clears(handlers, store, rubric):
    evaluation = handlers.schedule(SCHEDULE, STAFF)
    best = rubric.indicator("kesesuaian_tujuan").options[0].key
    first = handlers.save_answers(SaveAnswers(answers={"kesesuaian_tujuan": best, "saran": " lanjutkan "})
                                  .addressed(evaluation.stream_id, 1), LEAD)
    assert first.status == "IN_PROGRESS" and first.answers["saran"] == "lanjutkan"
    cleared = handlers.save_answers(SaveAnswers(answers={"saran": None}).addressed(evaluation.stream_id, 2), LEAD)
    assert "saran" not in cleared.answers and "kesesuaian_tujuan" in cleared.answers
    assert types_of(store, evaluation.stream_id) == ["evaluation.scheduled", "evaluation.answers_saved",
                                                     "evaluation.answers_saved"]


def test_only_the_lead_opd_answers_an_opd_assessed_evaluation(handlers, store, rubric):
    evaluation = handlers.schedule(SCHEDULE, STAFF)
    for ctx, rule in ((OTHER_OPD, "opd_not_responsible"), (TKKSD, "role_not_allowed"), (AUDITOR, "role_not_allowed")):
        with pytest.raises(DomainError) as refused:
            handlers.save_answers(SaveAnswers(answers=best_answers(rubric)).addressed(evaluation.stream_id, 1), ctx)
        assert refused.value.rule == rule and refused.value.kind is Refusal.FORBIDDEN
    assert store.version(evaluation.stream_id) == 1
    assert handlers.save_answers(SaveAnswers(answers=best_answers(rubric)).addressed(evaluation.stream_id, 1),
                                 LEAD).version == 2


def test_answers_outside_the_rubric_are_refused(handlers):
    evaluation = handlers.schedule(SCHEDULE, STAFF)
    with pytest.raises(DomainError) as unknown:
        handlers.save_answers(SaveAnswers(answers={"no_such_indicator": "x"}).addressed(evaluation.stream_id, 1), STAFF)
    assert unknown.value.rule == "unknown_indicator"
    with pytest.raises(DomainError) as outside:
        handlers.save_answers(SaveAnswers(answers={"kesesuaian_tujuan": "sangat"}).addressed(evaluation.stream_id, 1),
                              STAFF)
    assert outside.value.rule == "answer_outside_scale"


def test_an_evaluation_is_answered_with_the_rubric_it_was_scheduled_with(store, register, rubric):
    """A newer rubric version becoming current does not change the rubric of scheduled evaluations."""
    doc = json.loads(RUBRIC_FILE.read_text(encoding="utf-8"))
    newer = Rubric.from_json(json.dumps({**doc, "rubric_version": rubric.rubric_version + 1}))
    old_only = EvaluationHandlers(Repository(store, Evaluation), RubricCatalog([rubric], rubric.rubric_id), register,
                                  FixedClock(NOW), unique_keys=InMemoryUniqueKeys())
    evaluation = old_only.schedule(SCHEDULE, STAFF)
    both = EvaluationHandlers(Repository(store, Evaluation), RubricCatalog([rubric, newer], rubric.rubric_id),
                              register, FixedClock(NOW), unique_keys=InMemoryUniqueKeys())
    assert both.rubrics.current.rubric_version == rubric.rubric_version + 1
    saved = both.save_answers(SaveAnswers(answers=best_answers(rubric)).addressed(evaluation.stream_id, 1), STAFF)
    assert saved.rubric_version == rubric.rubric_version
    newer_only = EvaluationHandlers(Repository(store, Evaluation), RubricCatalog([newer], rubric.rubric_id),
                                    register, FixedClock(NOW), unique_keys=InMemoryUniqueKeys())
    with pytest.raises(DomainError) as gone:
        newer_only.submit(SubmitEvaluation().addressed(evaluation.stream_id, 2), STAFF)
    assert gone.value.rule == "rubric_unknown" and gone.value.kind is Refusal.CONFLICT


# ---------------------------------------------------------------- submit

def test_submit_needs_every_required_answer(handlers, rubric):
    evaluation = handlers.schedule(SCHEDULE, STAFF)
    first_required = rubric.required_ids[0]
    partial = {k: v for k, v in best_answers(rubric).items() if k != first_required}
    handlers.save_answers(SaveAnswers(answers=partial).addressed(evaluation.stream_id, 1), LEAD)
    with pytest.raises(DomainError) as incomplete:
        handlers.submit(SubmitEvaluation().addressed(evaluation.stream_id, 2), LEAD)
    assert incomplete.value.rule == "evaluation_incomplete" and first_required in incomplete.value.fields


def test_the_lead_opd_submits_its_answers(handlers, store, rubric):
    evaluation = answered(handlers, rubric, ctx=LEAD)
    done = handlers.submit(SubmitEvaluation().addressed(evaluation.stream_id, 2), LEAD)
    assert done.status == "SUBMITTED" and done.submission_count == 1
    assert store.load(evaluation.stream_id)[-1]["actor"] == {"sub": "opd-pupr", "role": "opd", "opd": LEAD_OPD}


def test_a_scheduled_evaluation_without_answers_cannot_be_submitted(handlers):
    evaluation = handlers.schedule(SCHEDULE, STAFF)
    with pytest.raises(InvalidTransition):
        handlers.submit(SubmitEvaluation().addressed(evaluation.stream_id, 1), STAFF)


# ---------------------------------------------------------------- return_for_revision

def test_return_for_revision_reopens_the_answers(handlers, store, rubric):
    evaluation = submitted(handlers, rubric)
    returned = handlers.return_for_revision(ReturnForRevision(reason="bukti kurang").addressed(evaluation.stream_id, 3),
                                            STAFF)
    assert returned.status == "IN_PROGRESS" and returned.return_reasons == ["bukti kurang"]
    again = handlers.submit(SubmitEvaluation().addressed(evaluation.stream_id, 4), LEAD)
    assert again.submission_count == 2
    assert types_of(store, evaluation.stream_id)[-2:] == ["evaluation.returned", "evaluation.submitted"]


def test_only_managers_return_and_only_a_submission(handlers, rubric):
    evaluation = answered(handlers, rubric)
    with pytest.raises(InvalidTransition):
        handlers.return_for_revision(ReturnForRevision(reason="belum").addressed(evaluation.stream_id, 2), STAFF)
    handlers.submit(SubmitEvaluation().addressed(evaluation.stream_id, 2), STAFF)
    with pytest.raises(DomainError) as refused:
        handlers.return_for_revision(ReturnForRevision(reason="bukti kurang").addressed(evaluation.stream_id, 3), LEAD)
    assert refused.value.rule == "role_not_allowed"


# ---------------------------------------------------------------- finalize

def test_finalize_scores_the_submission_once(handlers, store, rubric):
    evaluation = submitted(handlers, rubric)
    final = handlers.finalize(FinalizeEvaluation().addressed(evaluation.stream_id, 3), STAFF)
    assert final.status == "FINALIZED" and final.result["overall"] == 100
    last = store.load(evaluation.stream_id)[-1]
    assert last["event_type"] == "evaluation.finalized"
    assert (last["data"]["rubric_id"], last["data"]["rubric_version"]) == (rubric.rubric_id, rubric.rubric_version)
    with pytest.raises(InvalidTransition) as twice:
        handlers.finalize(FinalizeEvaluation().addressed(evaluation.stream_id, 4), STAFF)
    assert twice.value.rule == "already_finalized"
    assert verify_chain(store.load(evaluation.stream_id), evaluation.stream_id) == []


def test_an_assessor_cannot_finalize(handlers, rubric):
    evaluation = submitted(handlers, rubric)
    with pytest.raises(DomainError) as refused:
        handlers.finalize(FinalizeEvaluation().addressed(evaluation.stream_id, 3), LEAD)
    assert refused.value.rule == "role_not_allowed"


# ---------------------------------------------------------------- cancel

def test_cancel_records_the_reason_and_the_status_it_left(handlers, store, rubric):
    evaluation = answered(handlers, rubric)
    cmd = CancelEvaluation(reason="perjanjian diakhiri").addressed(evaluation.stream_id, 2)
    cancelled = handlers.cancel(cmd, STAFF)
    assert cancelled.status == "CANCELLED" and cancelled.cancelled_from == "IN_PROGRESS"
    assert store.load(evaluation.stream_id)[-1]["data"] == {"reason": "perjanjian diakhiri",
                                                            "from_status": "IN_PROGRESS"}


def test_a_submission_cannot_be_cancelled_nor_by_an_assessor(handlers, rubric):
    evaluation = handlers.schedule(SCHEDULE, STAFF)
    with pytest.raises(DomainError) as forbidden:
        handlers.cancel(CancelEvaluation(reason="tidak jadi").addressed(evaluation.stream_id, 1), LEAD)
    assert forbidden.value.rule == "role_not_allowed"
    handlers.cancel(CancelEvaluation(reason="jadwal diganti").addressed(evaluation.stream_id, 1), STAFF)
    later = submitted(handlers, rubric)  # the same slot, free again
    with pytest.raises(InvalidTransition):
        handlers.cancel(CancelEvaluation(reason="tidak jadi").addressed(later.stream_id, 3), STAFF)


# ---------------------------------------------------------------- every command: version and existence

def test_a_stale_expected_version_is_refused_and_nothing_is_stored(handlers, store, rubric):
    evaluation = answered(handlers, rubric)
    with pytest.raises(VersionMismatch) as stale:
        handlers.submit(SubmitEvaluation().addressed(evaluation.stream_id, 1), STAFF)
    assert (stale.value.expected, stale.value.current) == (1, 2)
    assert store.version(evaluation.stream_id) == 2


@pytest.mark.parametrize("handle, cmd", [
    (EvaluationHandlers.save_answers, SaveAnswers(answers={"saran": "x"})),
    (EvaluationHandlers.submit, SubmitEvaluation()),
    (EvaluationHandlers.return_for_revision, ReturnForRevision(reason="bukti kurang")),
    (EvaluationHandlers.finalize, FinalizeEvaluation()),
    (EvaluationHandlers.cancel, CancelEvaluation(reason="tidak jadi")),
])
def test_a_command_on_an_unknown_evaluation_is_not_found(handlers, handle, cmd):
    with pytest.raises(StreamNotFound):
        handle(handlers, cmd.addressed("evaluation-00000000-0000-0000-0000-000000000000", None), STAFF)


def test_get_folds_the_stream_up_to_a_version(handlers, rubric):
    evaluation = submitted(handlers, rubric)
    assert handlers.get(evaluation.stream_id).status == "SUBMITTED"
    assert handlers.get(evaluation.stream_id, version=1).status == "SCHEDULED"


# ---------------------------------------------------------------- the schemas build the commands

def test_schemas_build_their_commands():
    assert ScheduleEvaluationSchema().load({"agreement_id": SIGNED, "period": "TW2", "year": 2025,
                                            "due_date": "2025-07-15", "assessor_kind": "opd"}) == SCHEDULE
    assert SaveAnswersSchema().load({"answers": {"saran": None}}) == SaveAnswers(answers={"saran": None})
    assert SubmitEvaluationSchema().load({}) == SubmitEvaluation()
    assert FinalizeEvaluationSchema().load({}) == FinalizeEvaluation()
    assert ReturnForRevisionSchema().load({"reason": "bukti kurang"}) == ReturnForRevision(reason="bukti kurang")
    assert CancelEvaluationSchema().load({"reason": "tidak jadi"}) == CancelEvaluation(reason="tidak jadi")
