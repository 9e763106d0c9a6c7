"""Query schemas of the evaluation service's read APIs."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

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
