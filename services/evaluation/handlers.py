"""Evaluation (monev) use cases: load the stream, let the domain decide with the right rubric, append.

One method per command (services/evaluation/commands.py), named after the ``Evaluation`` method
it calls. The agreement an evaluation is about is looked up in the agreements register (a port:
the evaluation service's own read model of the agreements topic), which also gives its term.

One evaluation per (agreement, year, period, assessor) among those not cancelled: a rule across
streams, so it is kept here with a unique key claimed before the append (``shared.uniqueness``). A
claim whose stream was cancelled, or never appended, is taken over; a fresh one still being
appended by a concurrent request is not (``PENDING_CLAIM_SECONDS``).
"""
from __future__ import annotations

from datetime import date

from shared.application import Clock, CommandContext, Repository, StreamNotFound
from shared.domain import DomainError, NewEvent, Refusal
from shared.uniqueness import UniqueKeys

from services.evaluation.agreement_register import AgreementFacts, AgreementRegister
from services.evaluation.commands import (
    CancelEvaluation, EvaluationCommand, FinalizeEvaluation, ReturnForRevision, SaveAnswers, ScheduleEvaluation,
    SubmitEvaluation,
)
from services.evaluation.domain import Evaluation, Rubric, Status, new_stream_id
from services.evaluation.rubric_catalog import RubricCatalog
from services.evaluation.vocabulary import EVALUABLE


# How long a claimed evaluation key whose stream does not exist yet counts as held: longer than any
# append takes, short enough that a request that died after claiming frees the key soon.
PENDING_CLAIM_SECONDS = 30.0


def evaluation_key(agreement_id: str, year: int, period: str, assessor_kind: str) -> str:
    """The key that is unique among evaluations not cancelled."""
    return f"evaluation:{agreement_id}:{year}:{period}:{assessor_kind}"


class EvaluationHandlers:
    """Schedule, answer, submit, return, finalize and cancel evaluations."""

    def __init__(self, repository: Repository[Evaluation], rubrics: RubricCatalog, agreements: AgreementRegister,
                 clock: Clock, timezone: str = "Asia/Jakarta", *, unique_keys: UniqueKeys):
        self.repository = repository
        self.rubrics = rubrics
        self.agreements = agreements
        self.clock = clock
        self.timezone = timezone
        self.unique_keys = unique_keys

    def today(self) -> date:
        return self.clock.today(self.timezone)

    def _evaluable(self, agreement_id: str) -> AgreementFacts:
        agreement = self.agreements.lookup(agreement_id)
        if agreement is None:
            raise DomainError("agreement_not_found", f"{agreement_id} is not in the register (yet)",
                              fields={"agreement_id": ["unknown agreement"]})
        if agreement.status not in EVALUABLE:
            raise DomainError("agreement_not_evaluable", f"only signed agreements are evaluated; this one is "
                              f"{agreement.status}", kind=Refusal.CONFLICT,
                              fields={"agreement_id": [f"status {agreement.status}"]})
        if agreement.start_date is None or agreement.last_day is None:
            raise DomainError("agreement_term_unknown", f"the register has no term for {agreement_id} (yet)",
                              kind=Refusal.CONFLICT, fields={"agreement_id": ["term unknown"]})
        return agreement

    def _live(self, evaluation_id: str) -> bool | None:
        """Whether ``evaluation_id`` holds its key: not cancelled (None: not stored, perhaps not yet)."""
        try:
            return self.repository.load(evaluation_id).status != Status.CANCELLED
        except StreamNotFound:
            return None

    def _reserve(self, evaluation: Evaluation) -> None:
        """Claim the evaluation's (agreement, year, period, assessor) or refuse it as a duplicate."""
        key = evaluation_key(evaluation.agreement_id, evaluation.year, evaluation.period, evaluation.assessor_kind)
        holder = self.unique_keys.claim(key, evaluation.stream_id, self._live, pending_for=PENDING_CLAIM_SECONDS)
        if holder is not None:
            raise DomainError("evaluation_already_scheduled",
                              f"{evaluation.period} {evaluation.year} of {evaluation.agreement_id} by "
                              f"{evaluation.assessor_kind} is already scheduled as {holder}", kind=Refusal.CONFLICT,
                              fields={"period": [f"already scheduled: {holder}"]})

    def get(self, evaluation_id: str, version: int | None = None) -> Evaluation:
        return self.repository.load(evaluation_id, to_version=version)

    def _load(self, cmd: EvaluationCommand) -> tuple[Evaluation, Rubric | None]:
        """The evaluation at the caller's version, and the rubric version it was scheduled with."""
        evaluation = self.repository.load(cmd.evaluation_id, expected_version=cmd.expected_version)
        rubric = self.rubrics.get(evaluation.rubric_id, evaluation.rubric_version) if evaluation.rubric_id else None
        return evaluation, rubric

    def _save(self, evaluation: Evaluation, new_events: list[NewEvent], ctx: CommandContext) -> Evaluation:
        self.repository.save(evaluation, new_events, ctx)
        return evaluation

    # ------------------------------------------------------------ commands

    def schedule(self, cmd: ScheduleEvaluation, ctx: CommandContext) -> Evaluation:
        agreement = self._evaluable(cmd.agreement_id)
        evaluation = Evaluation(new_stream_id())
        new_events = evaluation.schedule(role=ctx.actor.role, agreement_id=cmd.agreement_id,
                                         agreement_lead_opd=agreement.lead_opd, period=cmd.period, year=cmd.year,
                                         due_date=cmd.due_date, assessor_kind=cmd.assessor_kind,
                                         rubric=self.rubrics.current, term_start=agreement.start_date,
                                         term_end=agreement.last_day, today=self.today())
        self._reserve(evaluation)
        return self._save(evaluation, new_events, ctx)

    def save_answers(self, cmd: SaveAnswers, ctx: CommandContext) -> Evaluation:
        evaluation, rubric = self._load(cmd)
        return self._save(evaluation, evaluation.save_answers(answers=cmd.answers, role=ctx.actor.role, rubric=rubric,
                                                              opd=ctx.actor.opd), ctx)

    def submit(self, cmd: SubmitEvaluation, ctx: CommandContext) -> Evaluation:
        evaluation, rubric = self._load(cmd)
        return self._save(evaluation, evaluation.submit(role=ctx.actor.role, rubric=rubric, opd=ctx.actor.opd), ctx)

    def return_for_revision(self, cmd: ReturnForRevision, ctx: CommandContext) -> Evaluation:
        evaluation, _ = self._load(cmd)
        return self._save(evaluation, evaluation.return_for_revision(reason=cmd.reason, role=ctx.actor.role), ctx)

    def finalize(self, cmd: FinalizeEvaluation, ctx: CommandContext) -> Evaluation:
        evaluation, rubric = self._load(cmd)
        return self._save(evaluation, evaluation.finalize(role=ctx.actor.role, rubric=rubric), ctx)

    def cancel(self, cmd: CancelEvaluation, ctx: CommandContext) -> Evaluation:
        evaluation, _ = self._load(cmd)
        return self._save(evaluation, evaluation.cancel(reason=cmd.reason, role=ctx.actor.role), ctx)
