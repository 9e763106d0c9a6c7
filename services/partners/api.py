"""HTTP ↔ partner commands and queries (nothing else lives here)."""
from __future__ import annotations

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields

from shared.application import CommandContext
from shared.auth import current_actor, requires
from shared.http import command_endpoint, ext, idempotent, versioned
from shared.schema import Schema

from services.partners.domain import Partner
from services.partners.handlers import PartnerHandlers
from services.partners.schemas import (
    ContactsSchema, NoteSchema, OptionalReasonSchema, PartnerSchema, ReasonSchema, RegisterPartnerSchema,
    UpdateProfileSchema,
)

blp = Blueprint("partners", __name__, url_prefix="/api/v1/partners",
                description="Partner registry (Mitra): register, verify, deactivate")

WRITERS = ("kerjasama",)
VERIFIERS = ("kerjasama", "pimpinan")


def handlers() -> PartnerHandlers:
    return ext().services["handlers"]


def ctx() -> CommandContext:
    return CommandContext(actor=current_actor(), correlation_id=g.correlation_id)


def show(partner: Partner, status: int = 200, headers=None):
    personal = current_actor().role != "publik"
    return versioned(partner.snapshot(include_personal_data=personal), partner.version, status, headers)


class VersionQuery(Schema):
    version = fields.Integer(load_default=None, metadata={"description": "state as of this version"})


@blp.route("")
class Partners(MethodView):
    @blp.arguments(RegisterPartnerSchema)
    @blp.response(201, PartnerSchema)
    @blp.doc(parameters=[{"in": "header", "name": "Idempotency-Key", "schema": {"type": "string"}}])
    @requires(*WRITERS)
    @idempotent
    def post(self, data):
        """Register a partner."""
        contacts = data.pop("contacts", [])
        partner, _ = handlers().register(data, contacts, ctx())
        return show(partner, 201, {"Location": f"/api/v1/partners/{partner.stream_id}"})


@blp.route("/<partner_id>")
class PartnerResource(MethodView):
    @blp.arguments(VersionQuery, location="query")
    @blp.response(200, PartnerSchema)
    @requires()
    def get(self, query, partner_id):
        """A partner, folded from its stream (ETag = version); ``?version=`` for an earlier state."""
        return show(handlers().get(partner_id, query["version"]))


def command(path: str, schema, roles, summary: str, call):
    """``POST /<partner_id>/<path>`` running ``call(handlers, partner_id, expected, data, ctx)``."""
    command_endpoint(blp, f"/<partner_id>/{path}", schema, PartnerSchema, roles, summary,
                     lambda expected, data, partner_id: call(handlers(), partner_id, expected, data, ctx()),
                     show, endpoint=path)


command("profile", UpdateProfileSchema, WRITERS, "Update the profile",
        lambda h, pid, exp, data, c: h.update_profile(pid, exp, data, c))
command("contacts", ContactsSchema, WRITERS, "Replace the contact persons (at most two)",
        lambda h, pid, exp, data, c: h.set_contacts(pid, exp, data["contacts"], c))
command("verify", NoteSchema, VERIFIERS, "Verify the partner",
        lambda h, pid, exp, data, c: h.verify(pid, exp, data["note"], c))
command("deactivate", ReasonSchema, VERIFIERS, "Deactivate the partner",
        lambda h, pid, exp, data, c: h.deactivate(pid, exp, data["reason"], c))
command("reactivate", OptionalReasonSchema, VERIFIERS, "Reactivate a deactivated partner",
        lambda h, pid, exp, data, c: h.reactivate(pid, exp, data["reason"], c))
