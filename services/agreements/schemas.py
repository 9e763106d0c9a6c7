"""Request and response schemas of the agreements API (the single source of validation).

Each command's schema builds its command (``commands.py``) in ``post_load``; the target's ids
come from the route's path, which the endpoint puts in marshmallow's load ``Context`` (see
``shared.http.command_endpoint``). Dates the body leaves out stay ``None``: the handler fills
them from the server clock.
"""
from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, post_load, validate, validates_schema
from marshmallow.experimental.context import Context

from shared.schema import Schema

from services.agreements.commands import (
    ActivateAgreement, AddActivity, AmendAgreement, ApproveCentral, ApproveDprd, AttachDocument, CancelAgreement,
    DraftAgreement, EditDraft, ExpireAgreement, FileReport, RecordReview, RejectAgreement, RemoveActivity,
    ReturnForRevision, SignAgreement, StartReview, SubmitAgreement, TerminateAgreement, UpdateActivity,
    WaiveFinalEvaluation,
)
from services.agreements.domain import AttachmentKind, Category, DocumentKind, KsddType, SignatoryPosition, Status

OPD_CODE = validate.Regexp(r"^[A-Z0-9][A-Z0-9._-]{1,39}$", error="an OPD code such as DISKOMINFO")
TEXT = validate.Length(max=2000)
SHORT = validate.Length(min=1, max=200)
PERIOD = validate.Regexp(r"^\d{4}-TW[1-4]$", error="a quarter such as 2025-TW1")


def one_of(enum):
    return validate.OneOf([m.value for m in enum])


def path(name: str) -> Any:
    """A path parameter of the route being served (``agreement_id``, ``activity_id``)."""
    return Context.get()[name]


class Empty(Schema):
    """A command without a body."""


class SubmitSchema(Empty):
    @post_load
    def command(self, data, **_):
        return SubmitAgreement(agreement_id=path("agreement_id"))


class StartReviewSchema(Empty):
    @post_load
    def command(self, data, **_):
        return StartReview(agreement_id=path("agreement_id"))


class NonEmpty(Schema):
    @validates_schema
    def something(self, data, **_):
        if not data:
            raise ValidationError("give at least one field")


class TermsFields(Schema):
    title = fields.String(validate=validate.Length(min=3, max=500))
    our_number = fields.String(allow_none=True, validate=validate.Length(max=100))
    partner_number = fields.String(allow_none=True, validate=validate.Length(max=100))
    urusan = fields.List(fields.String(validate=SHORT), validate=validate.Length(max=20))
    purpose = fields.String(validate=TEXT)
    scope = fields.String(validate=TEXT)
    location = fields.String(validate=validate.Length(max=500))
    lead_opd = fields.String(validate=OPD_CODE)
    start_date = fields.Date()
    end_date = fields.Date()
    value = fields.Integer(validate=validate.Range(min=0), metadata={"description": "rupiah"})
    funding_scheme = fields.String(allow_none=True, validate=validate.Length(max=200))
    burdens_public = fields.Boolean()
    budgeted_in_apbd = fields.Boolean()
    ksdd_type = fields.String(allow_none=True, validate=one_of(KsddType))


class PartnerSuccessionSchema(Schema):
    predecessor_id = fields.String(required=True, validate=SHORT,
                                   metadata={"description": "a partner of the agreement being extended"})
    successor_id = fields.String(required=True, validate=SHORT,
                                 metadata={"description": "its legal successor, a partner of the extension"})
    basis = fields.String(required=True, validate=validate.Length(min=3, max=500),
                          metadata={"description": "the legal basis of the succession (e.g. a Perpres)"})


class DraftSchema(TermsFields):
    category = fields.String(required=True, validate=one_of(Category))
    document_kind = fields.String(required=True, validate=one_of(DocumentKind))
    title = fields.String(required=True, validate=validate.Length(min=3, max=500))
    partner_ids = fields.List(fields.String(validate=SHORT), required=True, validate=validate.Length(min=1, max=10))
    start_date = fields.Date(required=True)
    end_date = fields.Date(required=True)
    lead_opd = fields.String(required=True, validate=OPD_CODE)
    urusan = fields.List(fields.String(validate=SHORT), required=True, validate=validate.Length(min=1, max=20))
    burdens_public = fields.Boolean(required=True)
    budgeted_in_apbd = fields.Boolean(required=True)
    parent_kb_id = fields.String(allow_none=True, metadata={"description": "the KB a PKS implements"})
    extends_agreement_id = fields.String(allow_none=True, metadata={"description": "the agreement this extends"})
    partner_successions = fields.List(
        fields.Nested(PartnerSuccessionSchema), validate=validate.Length(max=10),
        metadata={"description": "an extension's partners that take the place of the old agreement's"})

    @post_load
    def command(self, data, **_):
        return DraftAgreement(**{**data, "partner_ids": tuple(data["partner_ids"]), "urusan": tuple(data["urusan"]),
                                 "partner_successions": tuple(data.get("partner_successions", ()))})


class EditDraftSchema(TermsFields, NonEmpty):
    partner_ids = fields.List(fields.String(validate=SHORT), validate=validate.Length(min=1, max=10))
    parent_kb_id = fields.String()

    @post_load
    def command(self, data, **_):
        changes = dict(data)  # the fields of the terms; the parties and the KB link are resolved apart
        partner_ids = changes.pop("partner_ids", None)
        parent_kb_id = changes.pop("parent_kb_id", None)
        return EditDraft(agreement_id=path("agreement_id"), changes=changes, parent_kb_id=parent_kb_id,
                         partner_ids=tuple(partner_ids) if partner_ids is not None else None)


class ReasonSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=3, max=2000))


class ReturnForRevisionSchema(ReasonSchema):
    @post_load
    def command(self, data, **_):
        return ReturnForRevision(agreement_id=path("agreement_id"), reason=data["reason"])


class RejectSchema(ReasonSchema):
    @post_load
    def command(self, data, **_):
        return RejectAgreement(agreement_id=path("agreement_id"), reason=data["reason"])


class CancelSchema(ReasonSchema):
    @post_load
    def command(self, data, **_):
        return CancelAgreement(agreement_id=path("agreement_id"), reason=data["reason"])


class ReviewSchema(Schema):
    recommended = fields.Boolean(required=True)
    notes = fields.String(load_default="", validate=TEXT)
    reviewed_on = fields.Date(load_default=None)

    @post_load
    def command(self, data, **_):
        return RecordReview(agreement_id=path("agreement_id"), recommended=data["recommended"], notes=data["notes"],
                            reviewed_on=data["reviewed_on"])


class ApprovalSchema(Schema):
    approval_ref = fields.String(required=True, validate=SHORT, metadata={"description": "letter/decree number"})
    approved_on = fields.Date(load_default=None)


class ApproveDprdSchema(ApprovalSchema):
    @post_load
    def command(self, data, **_):
        return ApproveDprd(agreement_id=path("agreement_id"), approval_ref=data["approval_ref"],
                           approved_on=data["approved_on"])


class ApproveCentralSchema(ApprovalSchema):
    @post_load
    def command(self, data, **_):
        return ApproveCentral(agreement_id=path("agreement_id"), approval_ref=data["approval_ref"],
                              approved_on=data["approved_on"])


class SignSchema(Schema):
    signatory_name = fields.String(required=True, validate=SHORT)
    signatory_position = fields.String(required=True, validate=one_of(SignatoryPosition))
    signed_on = fields.Date(load_default=None)
    power_of_attorney_ref = fields.String(load_default=None, allow_none=True, validate=SHORT)
    partner_signatory_name = fields.String(load_default=None, allow_none=True, validate=SHORT)
    partner_signatory_position = fields.String(load_default=None, allow_none=True, validate=SHORT)
    our_number = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))
    partner_number = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))

    @post_load
    def command(self, data, **_):
        return SignAgreement(agreement_id=path("agreement_id"), **data)


class OnSchema(Schema):
    on = fields.Date(load_default=None, metadata={"description": "defaults to today (Asia/Jakarta)"})


class ActivateSchema(OnSchema):
    @post_load
    def command(self, data, **_):
        return ActivateAgreement(agreement_id=path("agreement_id"), on=data["on"])


class ExpireSchema(OnSchema):
    @post_load
    def command(self, data, **_):
        return ExpireAgreement(agreement_id=path("agreement_id"), on=data["on"])


class TerminateSchema(ReasonSchema, OnSchema):
    @post_load
    def command(self, data, **_):
        return TerminateAgreement(agreement_id=path("agreement_id"), reason=data["reason"], on=data["on"])


class AmendmentChanges(NonEmpty):
    title = fields.String(validate=validate.Length(min=3, max=500))
    urusan = fields.List(fields.String(validate=SHORT))
    purpose = fields.String(validate=TEXT)
    scope = fields.String(validate=TEXT)
    location = fields.String(validate=validate.Length(max=500))
    lead_opd = fields.String(validate=OPD_CODE)
    end_date = fields.Date()
    value = fields.Integer(validate=validate.Range(min=0))
    funding_scheme = fields.String(allow_none=True)


class AmendSchema(Schema):
    number = fields.String(required=True, validate=SHORT, metadata={"description": "the addendum's number"})
    signed_on = fields.Date(load_default=None)
    reason = fields.String(required=True, validate=validate.Length(min=3, max=2000))
    changes = fields.Nested(AmendmentChanges, required=True)
    signatory_name = fields.String(required=True, validate=SHORT)
    signatory_position = fields.String(required=True, validate=one_of(SignatoryPosition))
    power_of_attorney_ref = fields.String(load_default=None, allow_none=True, validate=SHORT)
    partner_number = fields.String(load_default=None, allow_none=True)

    @post_load
    def command(self, data, **_):
        return AmendAgreement(agreement_id=path("agreement_id"), **data)


class WaiveFinalEvaluationSchema(ReasonSchema):
    @post_load
    def command(self, data, **_):
        return WaiveFinalEvaluation(agreement_id=path("agreement_id"), reason=data["reason"])


class ActivityFields(Schema):
    name = fields.String(validate=validate.Length(min=3, max=300))
    indicator = fields.String(validate=validate.Length(min=3, max=500))
    target = fields.Float(validate=validate.Range(min=0, min_inclusive=False))
    unit = fields.String(validate=validate.Length(min=1, max=50))
    schedule_start = fields.Date()
    schedule_end = fields.Date()
    responsible_opd = fields.String(validate=OPD_CODE)
    budget = fields.Integer(validate=validate.Range(min=0), metadata={"description": "rupiah"})


class AddActivitySchema(ActivityFields):
    activity_id = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9][a-z0-9-]{0,39}$"))
    name = fields.String(required=True, validate=validate.Length(min=3, max=300))
    indicator = fields.String(required=True, validate=validate.Length(min=3, max=500))
    target = fields.Float(required=True, validate=validate.Range(min=0, min_inclusive=False))
    unit = fields.String(required=True, validate=validate.Length(min=1, max=50))
    schedule_start = fields.Date(required=True)
    schedule_end = fields.Date(required=True)
    responsible_opd = fields.String(required=True, validate=OPD_CODE)
    budget = fields.Integer(load_default=0, validate=validate.Range(min=0))

    @post_load
    def command(self, data, **_):
        return AddActivity(agreement_id=path("agreement_id"), **data)


class UpdateActivitySchema(ActivityFields, NonEmpty):
    @post_load
    def command(self, data, **_):
        return UpdateActivity(agreement_id=path("agreement_id"), activity_id=path("activity_id"), changes=dict(data))


class RemoveActivitySchema(Empty):
    @post_load
    def command(self, data, **_):
        return RemoveActivity(agreement_id=path("agreement_id"), activity_id=path("activity_id"))


class ReportSchema(Schema):
    period = fields.String(required=True, validate=PERIOD)
    realisation = fields.Float(required=True, validate=validate.Range(min=0),
                               metadata={"description": "cumulative realisation at the end of the period"})
    obstacles = fields.String(load_default="", validate=TEXT, metadata={"description": "kendala"})
    solutions = fields.String(load_default="", validate=TEXT, metadata={"description": "solusi"})
    evidence = fields.List(fields.String(validate=SHORT), load_default=list,
                           metadata={"description": "file ids from POST /api/v1/files"})
    filed_on = fields.Date(load_default=None)

    @post_load
    def command(self, data, **_):
        return FileReport(agreement_id=path("agreement_id"), activity_id=path("activity_id"),
                          **{**data, "evidence": tuple(data["evidence"])})


class UploadForm(Schema):
    kind = fields.String(required=True, validate=one_of(AttachmentKind))


class AttachDocumentForm(UploadForm):
    """The form fields of an attachment; the load ``Context`` also holds the parsed ``upload``."""

    @post_load
    def command(self, data, **_):
        upload = path("upload")
        return AttachDocument(agreement_id=path("agreement_id"), kind=data["kind"], stream=upload["stream"],
                              filename=upload["filename"], media_type=upload["media_type"])


class FileMeta(Schema):
    file_id = fields.String()
    filename = fields.String()
    size = fields.Integer()
    media_type = fields.String()
    sha256 = fields.String()


class AgreementSchema(Schema):
    """An agreement folded from its stream (see the domain's snapshot for every field)."""

    id = fields.String()
    version = fields.Integer()
    status = fields.String(validate=one_of(Status))
    category = fields.String()
    document_kind = fields.String()
    title = fields.String()
    partner_ids = fields.List(fields.String())
    start_date = fields.Date()
    end_date = fields.Date()
    progress = fields.Float()
