"""HTTP ↔ evaluation (monev) commands: the evaluation service's own event-sourced aggregate."""
from __future__ import annotations

from flask import g, jsonify
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields

from shared.application import CommandContext
from shared.auth import current_actor, requires
from shared.http import command_endpoint, ext, idempotent, versioned
from shared.schema import Schema

from services.evaluation.domain import Evaluation
from services.evaluation.handlers import EvaluationHandlers
from services.evaluation.schemas import (
    AnswersSchema, EvaluationReasonSchema, EvaluationSchema, NoBody, ScheduleSchema,
)

blp = Blueprint("evaluations", __name__, url_prefix="/api/v1",
                description="Evaluations (monev): schedule, answer, submit, finalize")

MANAGERS = ("kerjasama",)
ASSESSORS = ("kerjasama", "opd", "tkksd")
READERS = ("kerjasama", "opd", "tkksd", "pimpinan", "auditor", "service")


def handlers() -> EvaluationHandlers:
    return ext().services["evaluation_handlers"]


def ctx() -> CommandContext:
    return CommandContext(actor=current_actor(), correlation_id=g.correlation_id)


def show(evaluation: Evaluation, status: int = 200, headers=None):
    return versioned(evaluation.snapshot(), evaluation.version, status, headers)


class VersionQuery(Schema):
    version = fields.Integer(load_default=None)


@blp.route("/rubric")
@blp.doc(summary="The current evaluation rubric (indicators, scales, groups, weights, rating thresholds)")
@requires()
def rubric():
    return jsonify(handlers().rubrics.current.to_dict())


@blp.route("/evaluations", methods=["POST"])
@blp.arguments(ScheduleSchema)
@blp.response(201, EvaluationSchema)
@requires(*MANAGERS)
@idempotent
def schedule(data):
    """Schedule an evaluation of a signed agreement for a period (TW1–TW4, TAHUNAN, AKHIR)."""
    evaluation = handlers().schedule(data, ctx())
    return show(evaluation, 201, {"Location": f"/api/v1/evaluations/{evaluation.stream_id}"})


@blp.route("/evaluations/<evaluation_id>")
class EvaluationResource(MethodView):
    @blp.arguments(VersionQuery, location="query")
    @blp.response(200, EvaluationSchema)
    @requires(*READERS)
    def get(self, query, evaluation_id):
        """An evaluation folded from its stream (ETag = version)."""
        return show(handlers().get(evaluation_id, query["version"]))


def command(path, schema, roles, summary, run):
    command_endpoint(blp, f"/evaluations/<evaluation_id>/{path}", schema, EvaluationSchema, roles, summary,
                     lambda expected, data, evaluation_id: run(handlers(), evaluation_id, expected, data, ctx()),
                     show, endpoint=f"evaluation_{path}")


command("answers", AnswersSchema, ASSESSORS, "Save draft answers (merged; null clears one)",
        lambda h, eid, exp, d, c: h.save_answers(eid, exp, d["answers"], c))
command("submit", NoBody, ASSESSORS, "Submit the answers (all required indicators answered)",
        lambda h, eid, exp, d, c: h.submit(eid, exp, c))
command("return", EvaluationReasonSchema, MANAGERS, "Return a submission for revision",
        lambda h, eid, exp, d, c: h.return_for_revision(eid, exp, d["reason"], c))
command("finalize", NoBody, MANAGERS, "Score and finalize (the score is recorded in the event)",
        lambda h, eid, exp, d, c: h.finalize(eid, exp, c))
command("cancel", EvaluationReasonSchema, MANAGERS, "Cancel a scheduled or in-progress evaluation",
        lambda h, eid, exp, d, c: h.cancel(eid, exp, d["reason"], c))
