"""Query schemas of the evaluation service's read APIs, and the monev command schemas.

Each command schema's ``post_load`` builds its command (services/evaluation/commands.py): the
route hands a typed command to its handler, never a dict.
"""
from __future__ import annotations

from marshmallow import fields, post_load, validate

from shared.schema import Schema

from services.evaluation.commands import (
    CancelEvaluation, FinalizeEvaluation, ReturnForRevision, SaveAnswers, ScheduleEvaluation, SubmitEvaluation,
)
from services.evaluation.domain import ASSESSOR_KINDS, PERIODS, Status

from services.evaluation.vocabulary import CATEGORIES, STATUSES as AGREEMENT_STATUSES

# The partner vocabulary as published in partner events (the contract, not the partners code).
KINDS = ("daerah_lain", "pihak_ketiga", "pemda_luar_negeri", "lembaga_luar_negeri", "pemerintah_pusat")
STATUSES = ("REGISTERED", "VERIFIED", "DEACTIVATED")


class PageQuery(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=200))


class PartnerListQuery(PageQuery):
    kind = fields.String(validate=validate.OneOf(KINDS))
    status = fields.String(validate=validate.OneOf(STATUSES))
    scope = fields.String(validate=validate.OneOf(("dalam_negeri", "luar_negeri")))
    q = fields.String(validate=validate.Length(min=1, max=100), metadata={"description": "text in the name"})
    sort = fields.String(load_default="name", validate=validate.OneOf(
        ("name", "-name", "registered_at", "-registered_at", "updated_at", "-updated_at")))


class ContactOut(Schema):
    name = fields.String()
    position = fields.String()
    phone = fields.String(allow_none=True)
    email = fields.String(allow_none=True)


class PartnerItem(Schema):
    id = fields.String()
    version = fields.Integer(metadata={"description": "the partner stream version this item reflects"})
    name = fields.String()
    kind = fields.String()
    subtype = fields.String()
    status = fields.String()
    country = fields.String()
    region_code = fields.String()
    cooperation_scope = fields.String()
    registered_at = fields.String()
    updated_at = fields.String()
    contacts = fields.List(fields.Nested(ContactOut))


class PartnerPage(Schema):
    items = fields.List(fields.Nested(PartnerItem))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()


class AgreementListQuery(PageQuery):
    status = fields.List(fields.String(validate=validate.OneOf(AGREEMENT_STATUSES)),
                         metadata={"description": "repeat for several"})
    category = fields.String(validate=validate.OneOf(CATEGORIES))
    document_kind = fields.String(validate=validate.OneOf(("KB", "PKS")))
    partner = fields.String(metadata={"description": "partner id"})
    opd = fields.String(metadata={"description": "lead or responsible OPD code"})
    year = fields.Integer(validate=validate.Range(min=2000, max=2100), metadata={"description": "start year"})
    scope = fields.String(validate=validate.OneOf(("dalam_negeri", "luar_negeri")))
    expiring = fields.Integer(validate=validate.Range(min=1, max=3650),
                              metadata={"description": "only SIGNED/ACTIVE agreements ending within this many days"})
    overdue_report = fields.Boolean(metadata={"description": "only ACTIVE agreements with a report past due"})
    parent_changed = fields.Boolean(metadata={
        "description": "true: only PKS left outside their KB by a change of the KB (addendum, termination) "
                       "and not yet acknowledged; false: all others"})
    q = fields.String(validate=validate.Length(min=1, max=100), metadata={"description": "text in the title"})
    sort = fields.String(load_default="-start_date", validate=validate.OneOf(
        ("start_date", "-start_date", "end_date", "-end_date", "title", "-title", "progress", "-progress",
         "updated_at", "-updated_at")))


class AgreementItem(Schema):
    id = fields.String()
    version = fields.Integer(metadata={"description": "the agreement stream version this item reflects"})
    status = fields.String()
    category = fields.String()
    document_kind = fields.String()
    title = fields.String()
    lead_opd = fields.String()
    start_date = fields.String()
    end_date = fields.String()
    cooperation_scope = fields.String(metadata={"description": "dalam_negeri or luar_negeri"})
    scope = fields.String(metadata={"description": "the agreement's scope (ruang lingkup), as drafted"})
    partners = fields.List(fields.Dict())
    progress = fields.Float()
    expiring_within_90_days = fields.Boolean()
    days_to_end = fields.Integer(allow_none=True)
    report_overdue = fields.Boolean()
    parent_changed = fields.Boolean(metadata={
        "description": "a change of its KB left this PKS outside the KB; awaits review (acknowledge-parent-change)"})
    parent_changes = fields.List(fields.Dict(), metadata={"description": "the changes of its KB recorded on a PKS"})
    activities = fields.List(fields.Dict(), metadata={
        "description": "the work plan, in GET /api/v1/agreements/<id> only (register list items leave it out)"})


class AgreementPage(Schema):
    items = fields.List(fields.Nested(AgreementItem))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()
    as_of = fields.String()


EVALUATION_STATUSES = Status.ALL


class ScheduleEvaluationSchema(Schema):
    agreement_id = fields.String(required=True, validate=validate.Length(min=3, max=100))
    period = fields.String(required=True, validate=validate.OneOf(PERIODS))
    year = fields.Integer(required=True, validate=validate.Range(min=2000, max=2100))
    due_date = fields.Date(required=True)
    assessor_kind = fields.String(required=True, validate=validate.OneOf(ASSESSOR_KINDS))

    @post_load
    def command(self, data, **_) -> ScheduleEvaluation:
        return ScheduleEvaluation(agreement_id=data["agreement_id"], period=data["period"], year=data["year"],
                                  due_date=data["due_date"], assessor_kind=data["assessor_kind"])


class SaveAnswersSchema(Schema):
    answers = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=100)), required=True,
                          metadata={"description": "indicator id → option key, text, or list of evidence refs; "
                                                   "null clears a draft answer (see GET /api/v1/rubric)"})

    @post_load
    def command(self, data, **_) -> SaveAnswers:
        return SaveAnswers(answers=data["answers"])


class SubmitEvaluationSchema(Schema):
    """No body."""

    @post_load
    def command(self, data, **_) -> SubmitEvaluation:
        return SubmitEvaluation()


class ReturnForRevisionSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=3, max=2000))

    @post_load
    def command(self, data, **_) -> ReturnForRevision:
        return ReturnForRevision(reason=data["reason"])


class FinalizeEvaluationSchema(Schema):
    """No body."""

    @post_load
    def command(self, data, **_) -> FinalizeEvaluation:
        return FinalizeEvaluation()


class CancelEvaluationSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=3, max=2000))

    @post_load
    def command(self, data, **_) -> CancelEvaluation:
        return CancelEvaluation(reason=data["reason"])


class EvaluationSchema(Schema):
    stream_id = fields.String()
    version = fields.Integer()
    status = fields.String(validate=validate.OneOf(EVALUATION_STATUSES))
    agreement_id = fields.String()
    period = fields.String()
    year = fields.Integer()
    due_date = fields.String()
    assessor_kind = fields.String()
    answers = fields.Dict()
    result = fields.Dict(allow_none=True)


class EvaluationListQuery(PageQuery):
    status = fields.List(fields.String(validate=validate.OneOf(EVALUATION_STATUSES)))
    agreement = fields.String()
    opd = fields.String()
    year = fields.Integer(validate=validate.Range(min=2000, max=2100))
    period = fields.String(validate=validate.OneOf(PERIODS))
    due = fields.String(validate=validate.OneOf(("overdue", "upcoming")),
                        metadata={"description": "overdue: past due and not finalized/cancelled; "
                                                 "upcoming: due within `within` days"})
    within = fields.Integer(load_default=30, validate=validate.Range(min=1, max=366))
    sort = fields.String(load_default="due_date", validate=validate.OneOf(
        ("due_date", "-due_date", "overall", "-overall", "updated_at", "-updated_at")))


class EvaluationPage(Schema):
    items = fields.List(fields.Dict())
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()
    as_of = fields.String()
