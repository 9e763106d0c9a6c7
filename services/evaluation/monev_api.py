"""HTTP ↔ evaluation (monev) commands: the evaluation service's own event-sourced aggregate."""
from __future__ import annotations

from typing import Callable

from flask import g, jsonify
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields

from shared.application import CommandContext
from shared.auth import current_actor
from shared.http import command_endpoint, idempotent, versioned
from shared.schema import Schema

from services.evaluation.bootstrap import current
from services.evaluation.commands import EvaluationCommand, ScheduleEvaluation
from services.evaluation.domain import Evaluation
from services.evaluation.handlers import EvaluationHandlers
from services.evaluation.schemas import (
    CancelEvaluationSchema, EvaluationSchema, FinalizeEvaluationSchema, ReturnForRevisionSchema, SaveAnswersSchema,
    ScheduleEvaluationSchema, SubmitEvaluationSchema,
)

blp = Blueprint("evaluations", __name__, url_prefix="/api/v1",
                description="Evaluations (monev): schedule, answer, submit, finalize")



def handlers() -> EvaluationHandlers:
    return current().handlers


def ctx() -> CommandContext:
    return CommandContext(actor=current_actor(), correlation_id=g.correlation_id)


def show(evaluation: Evaluation, status: int = 200, headers=None):
    return versioned(evaluation.snapshot(), evaluation.version, status, headers)


class VersionQuery(Schema):
    version = fields.Integer(load_default=None)


@blp.route("/rubric")
@blp.doc(summary="The current evaluation rubric (indicators, scales, groups, weights, rating thresholds)")
def rubric():
    return jsonify(current().rubrics.current.to_dict())


@blp.route("/evaluations", methods=["POST"])
@blp.arguments(ScheduleEvaluationSchema)
@blp.response(201, EvaluationSchema)
@idempotent
def schedule(cmd: ScheduleEvaluation):
    """Schedule an evaluation of a signed agreement for a period (TW1–TW4, TAHUNAN, AKHIR)."""
    evaluation = handlers().schedule(cmd, ctx())
    return show(evaluation, 201, {"Location": f"/api/v1/evaluations/{evaluation.stream_id}"})


@blp.route("/evaluations/<evaluation_id>")
class EvaluationResource(MethodView):
    @blp.arguments(VersionQuery, location="query")
    @blp.response(200, EvaluationSchema)
    def get(self, query, evaluation_id):
        """An evaluation folded from its stream (ETag = version)."""
        return show(handlers().get(evaluation_id, query["version"]))


def on_evaluation(handle: Callable[[EvaluationHandlers, EvaluationCommand, CommandContext], Evaluation]):
    """A ``command_endpoint`` runner: address the command to the path's evaluation at the If-Match
    version, then ``handle`` it (an unbound ``EvaluationHandlers`` method)."""
    def run(expected: int | None, cmd: EvaluationCommand, evaluation_id: str) -> Evaluation:
        return handle(handlers(), cmd.addressed(evaluation_id, expected), ctx())
    return run


command_endpoint(blp, "/evaluations/<evaluation_id>/answers", SaveAnswersSchema, EvaluationSchema,
                 "Save draft answers (merged; null clears one)", on_evaluation(EvaluationHandlers.save_answers), show,
                 endpoint="evaluation_answers")
command_endpoint(blp, "/evaluations/<evaluation_id>/submit", SubmitEvaluationSchema, EvaluationSchema,
                 "Submit the answers (all required indicators answered)", on_evaluation(EvaluationHandlers.submit),
                 show, endpoint="evaluation_submit")
command_endpoint(blp, "/evaluations/<evaluation_id>/return", ReturnForRevisionSchema, EvaluationSchema,
                 "Return a submission for revision", on_evaluation(EvaluationHandlers.return_for_revision), show,
                 endpoint="evaluation_return")
command_endpoint(blp, "/evaluations/<evaluation_id>/finalize", FinalizeEvaluationSchema, EvaluationSchema,
                 "Score and finalize (the score is recorded in the event)", on_evaluation(EvaluationHandlers.finalize),
                 show, endpoint="evaluation_finalize")
command_endpoint(blp, "/evaluations/<evaluation_id>/cancel", CancelEvaluationSchema, EvaluationSchema,
                 "Cancel a scheduled or in-progress evaluation", on_evaluation(EvaluationHandlers.cancel), show,
                 endpoint="evaluation_cancel")
