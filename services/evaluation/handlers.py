"""Evaluation (monev) use cases: load the stream, let the domain decide with the right rubric, append.

One method per command (services/evaluation/commands.py), named after the ``Evaluation`` method
it calls. The agreement an evaluation is about is looked up in the agreements register (a port:
the evaluation service's own read model of the agreements topic).
"""
from __future__ import annotations

from datetime import date

from shared.application import Clock, CommandContext, Repository
from shared.domain import DomainError, NewEvent, Refusal

from services.evaluation.agreement_register import AgreementFacts, AgreementRegister
from services.evaluation.commands import (
    CancelEvaluation, EvaluationCommand, FinalizeEvaluation, ReturnForRevision, SaveAnswers, ScheduleEvaluation,
    SubmitEvaluation,
)
from services.evaluation.domain import Evaluation, Rubric, new_stream_id
from services.evaluation.rubric_catalog import RubricCatalog
from services.evaluation.vocabulary import EVALUABLE


class EvaluationHandlers:
    """Schedule, answer, submit, return, finalize and cancel evaluations."""

    def __init__(self, repository: Repository[Evaluation], rubrics: RubricCatalog, agreements: AgreementRegister,
                 clock: Clock, timezone: str = "Asia/Jakarta"):
        self.repository = repository
        self.rubrics = rubrics
        self.agreements = agreements
        self.clock = clock
        self.timezone = timezone

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
        return agreement

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
                                         rubric=self.rubrics.current)
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
