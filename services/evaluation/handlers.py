"""Evaluation (monev) use cases: load the stream, let the domain decide with the right rubric, append."""
from __future__ import annotations

from datetime import date
from typing import Any, Mapping

from shared.application import Clock, CommandContext, Repository
from shared.domain import DomainError, Refusal

from services.evaluation.domain import Evaluation, new_stream_id
from services.evaluation.rubrics import RubricCatalog

EVALUABLE = ("SIGNED", "ACTIVE", "EXPIRED", "TERMINATED")


class EvaluationHandlers:
    """Schedule, answer, submit, return, finalize and cancel evaluations."""

    def __init__(self, repository: Repository[Evaluation], rubrics: RubricCatalog, readside,
                 clock: Clock, timezone: str = "Asia/Jakarta"):
        self.repository = repository
        self.rubrics = rubrics
        self.readside = readside  # the agreements register this service builds from the agreements topic
        self.clock = clock
        self.timezone = timezone

    def today(self) -> date:
        return self.clock.today(self.timezone)

    def _agreement(self, agreement_id: str) -> dict:
        doc = self.readside.db()["agreements"].find_one({"_id": agreement_id}, {"status": 1, "lead_opd": 1})
        if doc is None:
            raise DomainError("agreement_not_found", f"{agreement_id} is not in the register (yet)",
                              fields={"agreement_id": ["unknown agreement"]})
        if doc["status"] not in EVALUABLE:
            raise DomainError("agreement_not_evaluable", f"only signed agreements are evaluated; this one is "
                              f"{doc['status']}", kind=Refusal.CONFLICT, fields={"agreement_id": [f"status {doc['status']}"]})
        return doc

    def get(self, evaluation_id: str, version: int | None = None) -> Evaluation:
        return self.repository.load(evaluation_id, to_version=version)

    def schedule(self, data: Mapping[str, Any], ctx: CommandContext) -> Evaluation:
        agreement = self._agreement(data["agreement_id"])
        evaluation = Evaluation(new_stream_id())
        new_events = evaluation.schedule(role=ctx.actor.role, agreement_id=data["agreement_id"],
                                         agreement_lead_opd=agreement["lead_opd"], period=data["period"],
                                         year=data["year"], due_date=data["due_date"],
                                         assessor_kind=data["assessor_kind"], rubric=self.rubrics.current)
        self.repository.save(evaluation, new_events, ctx)
        return evaluation

    def _run(self, evaluation_id, expected, ctx, decide) -> Evaluation:
        evaluation = self.repository.load(evaluation_id, expected_version=expected)
        rubric = self.rubrics.get(evaluation.rubric_id, evaluation.rubric_version) if evaluation.rubric_id else None
        self.repository.save(evaluation, decide(evaluation, rubric), ctx)
        return evaluation

    def save_answers(self, evaluation_id, expected, answers, ctx):
        return self._run(evaluation_id, expected, ctx, lambda e, r: e.save_answers(
            answers, role=ctx.actor.role, rubric=r, opd=ctx.actor.opd))

    def submit(self, evaluation_id, expected, ctx):
        return self._run(evaluation_id, expected, ctx,
                         lambda e, r: e.submit(role=ctx.actor.role, rubric=r, opd=ctx.actor.opd))

    def return_for_revision(self, evaluation_id, expected, reason, ctx):
        return self._run(evaluation_id, expected, ctx, lambda e, r: e.return_for_revision(reason, role=ctx.actor.role))

    def finalize(self, evaluation_id, expected, ctx):
        return self._run(evaluation_id, expected, ctx, lambda e, r: e.finalize(role=ctx.actor.role, rubric=r))

    def cancel(self, evaluation_id, expected, reason, ctx):
        return self._run(evaluation_id, expected, ctx, lambda e, r: e.cancel(reason, role=ctx.actor.role))
