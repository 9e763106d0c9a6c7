"""Request and response schemas of the partner API (the single source of validation).

Each command schema's ``post_load`` builds its command (services/partners/commands.py): the
route hands a typed command to its handler, never a dict.
"""
from __future__ import annotations

import re

from marshmallow import ValidationError, fields, post_load, pre_load, validate, validates_schema

from shared.schema import Schema

from services.partners.commands import (
    DeactivatePartner, ReactivatePartner, RegisterPartner, SetPartnerContacts, UpdatePartnerProfile, VerifyPartner,
)
from services.partners.domain import KINDS, PIHAK_KETIGA_SUBTYPES, STATUSES

REGION_CODE = r"^\d{2}(\.\d{2}){0,3}$"  # Kemendagri: 15, 15.05, 15.05.01, 15.05.01.2001
COUNTRY = r"^[A-Z]{2}$"                  # ISO 3166-1 alpha-2


def _digits(value: str) -> str:
    return re.sub(r"[.\-\s]", "", value or "")


class ContactSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=2, max=120))
    position = fields.String(required=True, validate=validate.Length(min=2, max=120))
    phone = fields.String(load_default=None, allow_none=True,
                          validate=validate.Regexp(r"^\+?[0-9][0-9 ()\-]{5,19}$", error="not a phone number"))
    email = fields.Email(load_default=None, allow_none=True)


class IdentifiersSchema(Schema):
    nib = fields.String(load_default=None, allow_none=True,
                        validate=validate.Regexp(r"^\d{13}$", error="NIB is 13 digits"))
    npwp = fields.String(load_default=None, allow_none=True,
                         validate=validate.Regexp(r"^\d{15,16}$", error="NPWP is 15 or 16 digits"))

    @pre_load
    def normalise(self, data, **_):
        if isinstance(data, dict) and isinstance(data.get("npwp"), str):
            data = {**data, "npwp": _digits(data["npwp"])}
        return data

    @post_load
    def drop_empty(self, data, **_):
        return {k: v for k, v in data.items() if v}


class AddressSchema(Schema):
    street = fields.String(load_default=None, validate=validate.Length(max=300))
    city = fields.String(load_default=None, validate=validate.Length(max=120))
    province = fields.String(load_default=None, validate=validate.Length(max=120))
    postal_code = fields.String(load_default=None, validate=validate.Regexp(r"^[0-9A-Za-z \-]{3,10}$"))

    @post_load
    def drop_empty(self, data, **_):
        return {k: v for k, v in data.items() if v}


class ProfileFields(Schema):
    name = fields.String(validate=validate.Length(min=2, max=200))
    subtype = fields.String(allow_none=True, validate=validate.OneOf(PIHAK_KETIGA_SUBTYPES))
    country = fields.String(validate=validate.Regexp(COUNTRY, error="ISO 3166-1 alpha-2, e.g. ID"))
    region_code = fields.String(allow_none=True, validate=validate.Regexp(REGION_CODE, error="e.g. 15.05"))
    identifiers = fields.Nested(IdentifiersSchema)
    address = fields.Nested(AddressSchema)
    website = fields.Url(allow_none=True)
    description = fields.String(allow_none=True, validate=validate.Length(max=2000))


class RegisterPartnerSchema(ProfileFields):
    name = fields.String(required=True, validate=validate.Length(min=2, max=200))
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    contacts = fields.List(fields.Nested(ContactSchema), load_default=list, validate=validate.Length(max=2))

    @post_load
    def command(self, data, **_) -> RegisterPartner:
        return RegisterPartner(
            kind=data["kind"], name=data["name"], subtype=data.get("subtype"), country=data.get("country"),
            region_code=data.get("region_code"), identifiers=data.get("identifiers"), address=data.get("address"),
            website=data.get("website"), description=data.get("description"), contacts=tuple(data["contacts"]))


class UpdatePartnerProfileSchema(ProfileFields):
    @validates_schema
    def require_something(self, data, **_):
        if not data:
            raise ValidationError("give at least one field to change")

    @post_load
    def command(self, data, **_) -> UpdatePartnerProfile:
        return UpdatePartnerProfile(
            name=data.get("name"), subtype=data.get("subtype"), country=data.get("country"),
            region_code=data.get("region_code"), identifiers=data.get("identifiers"), address=data.get("address"),
            website=data.get("website"), description=data.get("description"))


class SetPartnerContactsSchema(Schema):
    contacts = fields.List(fields.Nested(ContactSchema), required=True, validate=validate.Length(max=2))

    @post_load
    def command(self, data, **_) -> SetPartnerContacts:
        return SetPartnerContacts(contacts=tuple(data["contacts"]))


class VerifyPartnerSchema(Schema):
    note = fields.String(load_default=None, validate=validate.Length(max=1000))

    @post_load
    def command(self, data, **_) -> VerifyPartner:
        return VerifyPartner(note=data["note"])


class DeactivatePartnerSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=3, max=1000))

    @post_load
    def command(self, data, **_) -> DeactivatePartner:
        return DeactivatePartner(reason=data["reason"])


class ReactivatePartnerSchema(Schema):
    reason = fields.String(load_default=None, validate=validate.Length(max=1000))

    @post_load
    def command(self, data, **_) -> ReactivatePartner:
        return ReactivatePartner(reason=data["reason"])


class PartnerSchema(Schema):
    """A partner as returned by the API (contacts omitted for the publik role)."""

    id = fields.String()
    version = fields.Integer()
    status = fields.String(validate=validate.OneOf(STATUSES))
    kind = fields.String()
    subtype = fields.String()
    cooperation_scope = fields.String()
    name = fields.String()
    country = fields.String()
    region_code = fields.String()
    identifiers = fields.Nested(IdentifiersSchema)
    address = fields.Nested(AddressSchema)
    website = fields.String()
    description = fields.String()
    deactivation_reason = fields.String()
    contacts = fields.List(fields.Nested(ContactSchema))
