"""HTTP ↔ agreement commands and queries (nothing else lives here)."""
from __future__ import annotations

from flask import Response, g, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import ValidationError, fields
from marshmallow.experimental.context import Context as LoadContext

from shared.application import CommandContext
from shared.auth import current_actor
from shared.http import COMMAND_HEADERS, Problem, command_endpoint, expected_version, ext, idempotent, versioned
from shared.schema import Schema

from services.agreements import schemas as s
from services.agreements.bootstrap import current
from services.agreements.domain import Agreement
from services.agreements.handlers import AgreementHandlers
from services.agreements.ports import TooLarge
from services.agreements.uploads import download_headers, served_media_type

blp = Blueprint("agreements", __name__, url_prefix="/api/v1",
                description="Agreements (KB/MoU, PKS, addenda), their workflow, work plans and reports")

def handlers() -> AgreementHandlers:
    return current().handlers


def ctx() -> CommandContext:
    return CommandContext(actor=current_actor(), correlation_id=g.correlation_id)


def show(agreement: Agreement, status: int = 200, headers=None):
    return versioned(agreement.snapshot(), agreement.version, status, headers)


class VersionQuery(Schema):
    version = fields.Integer(load_default=None, metadata={"description": "state as of this version"})


@blp.route("/agreements")
class Agreements(MethodView):
    @blp.arguments(s.DraftSchema)
    @blp.response(201, s.AgreementSchema)
    @blp.doc(parameters=[{"in": "header", "name": "Idempotency-Key", "schema": {"type": "string"}}])
    @idempotent
    def post(self, cmd):
        """Draft an agreement (a KB, a PKS under its KB, or an extension of an earlier agreement)."""
        agreement = handlers().draft(cmd, ctx())
        return show(agreement, 201, {"Location": f"/api/v1/agreements/{agreement.stream_id}"})


@blp.route("/agreements/<agreement_id>")
class AgreementResource(MethodView):
    @blp.arguments(VersionQuery, location="query")
    @blp.response(200, s.AgreementSchema)
    def get(self, query, agreement_id):
        """An agreement folded from its stream (ETag = version); ``?version=`` for an earlier state."""
        return show(handlers().get(agreement_id, query["version"]))


def command(path, schema, summary, handle):
    """``POST /agreements/<agreement_id>/<path>``: ``schema`` builds the command (path ids included),
    ``handle`` — the ``AgreementHandlers`` method for it — runs it with the caller and ``If-Match``."""
    command_endpoint(blp, f"/agreements/<agreement_id>/{path}", schema, s.AgreementSchema, summary,
                     lambda expected, cmd, **_path: handle(handlers(), cmd, ctx(), expected),
                     show, endpoint=path.replace("/", "_").replace("<", "").replace(">", ""))


command("edit", s.EditDraftSchema, "Edit a draft", AgreementHandlers.edit_draft)
command("submit", s.SubmitSchema, "Submit a draft (partners must be verified)", AgreementHandlers.submit)
command("start-review", s.StartReviewSchema, "TKKSD takes up the review", AgreementHandlers.start_review)
command("return", s.ReturnForRevisionSchema, "Return to draft for revision",
        AgreementHandlers.return_for_revision)
command("review", s.ReviewSchema, "Record the TKKSD review result", AgreementHandlers.record_review)
command("dprd-approval", s.ApproveDprdSchema, "Record the DPRD approval", AgreementHandlers.approve_dprd)
command("central-approval", s.ApproveCentralSchema, "Record the central-government approval",
        AgreementHandlers.approve_central)
command("sign", s.SignSchema, "Record the signing", AgreementHandlers.sign)
command("activate", s.ActivateSchema, "Activate once the start date is reached",
        AgreementHandlers.activate)
command("expire", s.ExpireSchema, "Expire after the end date", AgreementHandlers.expire)
command("terminate", s.TerminateSchema, "Terminate early, with the reason",
        AgreementHandlers.terminate)
command("reject", s.RejectSchema, "Reject (before signing)", AgreementHandlers.reject)
command("cancel", s.CancelSchema, "Cancel (before signing)", AgreementHandlers.cancel)
command("amend", s.AmendSchema, "Record a signed addendum (ADENDUM)", AgreementHandlers.amend)
command("waive-final-evaluation", s.WaiveFinalEvaluationSchema,
        "Waive the final (AKHIR) evaluation an extension of this agreement needs, with the reason",
        AgreementHandlers.waive_final_evaluation)
command("activities", s.AddActivitySchema, "Add an activity to the work plan",
        AgreementHandlers.add_activity)
command("activities/<activity_id>/update", s.UpdateActivitySchema, "Change an activity",
        AgreementHandlers.update_activity)
command("activities/<activity_id>/remove", s.RemoveActivitySchema, "Remove an activity without reports",
        AgreementHandlers.remove_activity)
command("activities/<activity_id>/reports", s.ReportSchema, "File an implementation report",
        AgreementHandlers.file_report)


def _upload():
    """The multipart ``file`` part, read under the upload limit (413 beyond it)."""
    request.max_content_length = ext().settings.max_upload_bytes + 64 * 1024
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise Problem(422, "Unprocessable Content", "a multipart part named 'file' is required",
                      rule="validation_failed", errors={"file": ["Missing data for required field."]})
    # Filename and media type are sanitised and allow-listed by the attachment store (files.py).
    return {"stream": upload.stream, "filename": upload.filename, "media_type": upload.mimetype}


def _too_large():
    return Problem(413, "Content Too Large", f"files are limited to {ext().settings.max_upload_bytes} bytes",
                   rule="file_too_large")


@blp.route("/agreements/<agreement_id>/documents", methods=["POST"])
@blp.doc(summary="Attach a document (multipart: file, kind = signed_scan|kak|feasibility_study|other)",
         parameters=COMMAND_HEADERS)
@idempotent
def attach_document(agreement_id):
    upload = _upload()
    try:
        with LoadContext({"agreement_id": agreement_id, "upload": upload}):
            cmd = s.AttachDocumentForm().load({"kind": request.form.get("kind")})
    except ValidationError as exc:
        raise Problem(422, "Unprocessable Content", "some fields are invalid", rule="validation_failed",
                      errors={k: v for k, v in exc.messages.items()}) from exc
    try:
        agreement = handlers().attach_document(cmd, ctx(), expected_version())
    except TooLarge:
        raise _too_large() from None
    return show(agreement, 201)


@blp.route("/files", methods=["POST"])
@blp.doc(summary="Upload report evidence (multipart: file); refer to it by file_id in a report")
def upload_file():
    upload = _upload()
    try:
        meta = handlers().upload_evidence(upload["stream"], upload["filename"], upload["media_type"], ctx())
    except TooLarge:
        raise _too_large() from None
    return meta, 201


@blp.route("/agreements/<agreement_id>/files/<file_id>")
@blp.doc(summary="Download an attachment; refused (409 attachment_tampered) if it no longer matches its hash")
def download(agreement_id, file_id):
    stored = handlers().attachment(agreement_id, file_id)
    response = Response(stored.chunks(), mimetype=served_media_type(stored.meta["media_type"]),
                        headers=download_headers(stored.meta), direct_passthrough=True)
    response.content_length = stored.meta["size"]
    response.headers["Digest"] = f"sha-256={stored.meta['sha256']}"
    return response
