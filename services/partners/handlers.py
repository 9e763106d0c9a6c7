"""Partner command and query handlers: load the stream, let the domain decide, append.

One method per command (services/partners/commands.py), named after the ``Partner`` method it
calls; the unique identity keys (region code, NIB, NPWP) are claimed here, beside the append.
"""
from __future__ import annotations

from typing import Any, Mapping

from shared.application import CommandContext, Repository, new_stream_id
from shared.domain import DomainError, NewEvent, Refusal
from shared.uniqueness import UniqueKeys

from services.partners.commands import (
    DeactivatePartner, PartnerCommand, ReactivatePartner, RegisterPartner, SetPartnerContacts, UpdatePartnerProfile,
    VerifyPartner,
)
from services.partners.domain import Partner


def identity_keys(profile: Mapping[str, Any]) -> list[str]:
    """Keys that must be unique among partners: region code, NIB, NPWP."""
    keys = []
    if profile.get("kind") == "daerah_lain" and profile.get("region_code"):
        keys.append(f"region:{profile['region_code']}")
    for name in ("nib", "npwp"):
        value = (profile.get("identifiers") or {}).get(name)
        if value:
            keys.append(f"{name}:{value}")
    return keys


PENDING_CLAIM_SECONDS = 30.0


class PartnerHandlers:
    """The partner service's use cases."""

    def __init__(self, repository: Repository[Partner], unique_keys: UniqueKeys):
        self.repository = repository
        self.unique_keys = unique_keys

    def _claim(self, profile: Mapping[str, Any], stream_id: str) -> None:
        # A holder not stored (None) may be a registration still appending: its claim counts for
        # PENDING_CLAIM_SECONDS, after which a failed registration's claim is taken over.
        exists = lambda sid: True if self.repository.store.version(sid) > 0 else None  # noqa: E731
        for key in identity_keys(profile):
            holder = self.unique_keys.claim(key, stream_id, exists, pending_for=PENDING_CLAIM_SECONDS)
            if holder is not None:
                name = key.split(":", 1)[0]
                field = "region_code" if name == "region" else f"identifiers.{name}"
                raise DomainError("partner_already_registered", f"{key} is already registered as {holder}",
                                  kind=Refusal.CONFLICT, fields={field: [f"already registered: {holder}"]})

    def get(self, partner_id: str, version: int | None = None) -> Partner:
        return self.repository.load(partner_id, to_version=version)

    def _load(self, cmd: PartnerCommand) -> Partner:
        return self.repository.load(cmd.partner_id, expected_version=cmd.expected_version)

    def _save(self, partner: Partner, new_events: list[NewEvent], ctx: CommandContext) -> Partner:
        self.repository.save(partner, new_events, ctx)
        return partner

    # ------------------------------------------------------------ commands

    def register(self, cmd: RegisterPartner, ctx: CommandContext) -> Partner:
        stream_id = new_stream_id(Partner.stream_type)
        partner, new_events = Partner.register(stream_id=stream_id, profile=cmd.profile(), contacts=list(cmd.contacts))
        self._claim(partner.profile, stream_id)
        return self._save(partner, new_events, ctx)

    def update_profile(self, cmd: UpdatePartnerProfile, ctx: CommandContext) -> Partner:
        partner = self._load(cmd)
        before = identity_keys(partner.profile)
        new_events = partner.update_profile(changes=cmd.changes())
        self._claim(partner.profile, partner.stream_id)
        # Keys the new profile no longer holds are freed for other partners.
        for key in set(before) - set(identity_keys(partner.profile)):
            self.unique_keys.release(key, partner.stream_id)
        return self._save(partner, new_events, ctx)

    def set_contacts(self, cmd: SetPartnerContacts, ctx: CommandContext) -> Partner:
        partner = self._load(cmd)
        return self._save(partner, partner.set_contacts(contacts=list(cmd.contacts)), ctx)

    def verify(self, cmd: VerifyPartner, ctx: CommandContext) -> Partner:
        partner = self._load(cmd)
        return self._save(partner, partner.verify(note=cmd.note), ctx)

    def deactivate(self, cmd: DeactivatePartner, ctx: CommandContext) -> Partner:
        partner = self._load(cmd)
        return self._save(partner, partner.deactivate(reason=cmd.reason), ctx)

    def reactivate(self, cmd: ReactivatePartner, ctx: CommandContext) -> Partner:
        partner = self._load(cmd)
        return self._save(partner, partner.reactivate(reason=cmd.reason), ctx)
