"""HTTP ↔ partner commands and queries (nothing else lives here)."""
from __future__ import annotations

from typing import Callable

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields

from shared.application import CommandContext
from shared.auth import current_actor
from shared.http import command_endpoint, idempotent, versioned
from shared.personal_data import public_partner
from shared.policy import Policy
from shared.schema import Schema

from services.partners.bootstrap import current
from services.partners.commands import PartnerCommand, RegisterPartner
from services.partners.domain import Partner
from services.partners.handlers import PartnerHandlers
from services.partners.schemas import (
    DeactivatePartnerSchema, PartnerSchema, ReactivatePartnerSchema, RegisterPartnerSchema, SetPartnerContactsSchema,
    UpdatePartnerProfileSchema, VerifyPartnerSchema,
)

blp = Blueprint("partners", __name__, url_prefix="/api/v1/partners",
                description="Partner registry (Mitra): register, verify, deactivate")



def handlers() -> PartnerHandlers:
    return current().handlers


def ctx() -> CommandContext:
    return CommandContext(actor=current_actor(), correlation_id=g.correlation_id)


def show(partner: Partner, status: int = 200, headers=None):
    """The partner; ``publik`` gets the public view (shared/personal_data.py)."""
    snapshot = partner.snapshot()
    body = public_partner(snapshot) if Policy.sees_public_view(current_actor()) else snapshot
    return versioned(body, partner.version, status, headers)


class VersionQuery(Schema):
    version = fields.Integer(load_default=None, metadata={"description": "state as of this version"})


@blp.route("")
class Partners(MethodView):
    @blp.arguments(RegisterPartnerSchema)
    @blp.response(201, PartnerSchema)
    @blp.doc(parameters=[{"in": "header", "name": "Idempotency-Key", "schema": {"type": "string"}}])
    @idempotent
    def post(self, cmd: RegisterPartner):
        """Register a partner."""
        partner = handlers().register(cmd, ctx())
        return show(partner, 201, {"Location": f"/api/v1/partners/{partner.stream_id}"})


@blp.route("/<partner_id>")
class PartnerResource(MethodView):
    @blp.arguments(VersionQuery, location="query")
    @blp.response(200, PartnerSchema)
    def get(self, query, partner_id):
        """A partner, folded from its stream (ETag = version); ``?version=`` for an earlier state."""
        return show(handlers().get(partner_id, query["version"]))


def on_partner(handle: Callable[[PartnerHandlers, PartnerCommand, CommandContext], Partner]):
    """A ``command_endpoint`` runner: address the command to the path's partner at the If-Match
    version, then ``handle`` it (an unbound ``PartnerHandlers`` method)."""
    def run(expected: int | None, cmd: PartnerCommand, partner_id: str) -> Partner:
        return handle(handlers(), cmd.addressed(partner_id, expected), ctx())
    return run


command_endpoint(blp, "/<partner_id>/profile", UpdatePartnerProfileSchema, PartnerSchema,
                 "Update the profile", on_partner(PartnerHandlers.update_profile), show, endpoint="profile")
command_endpoint(blp, "/<partner_id>/contacts", SetPartnerContactsSchema, PartnerSchema,
                 "Replace the contact persons (at most two)", on_partner(PartnerHandlers.set_contacts), show,
                 endpoint="contacts")
command_endpoint(blp, "/<partner_id>/verify", VerifyPartnerSchema, PartnerSchema,
                 "Verify the partner", on_partner(PartnerHandlers.verify), show, endpoint="verify")
command_endpoint(blp, "/<partner_id>/deactivate", DeactivatePartnerSchema, PartnerSchema,
                 "Deactivate the partner", on_partner(PartnerHandlers.deactivate), show, endpoint="deactivate")
command_endpoint(blp, "/<partner_id>/reactivate", ReactivatePartnerSchema, PartnerSchema,
                 "Reactivate a deactivated partner", on_partner(PartnerHandlers.reactivate), show,
                 endpoint="reactivate")
