"""Partner command and query handlers: load the stream, let the domain decide, append."""
from __future__ import annotations

from typing import Any, Mapping

from shared.application import CommandContext, Repository, new_stream_id
from shared.domain import DomainError, Refusal
from shared.uniqueness import UniqueKeys

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


class PartnerHandlers:
    """The partner service's use cases."""

    def __init__(self, repository: Repository[Partner], unique_keys: UniqueKeys):
        self.repository = repository
        self.unique_keys = unique_keys

    def _claim(self, profile: Mapping[str, Any], stream_id: str) -> None:
        exists = lambda sid: self.repository.store.version(sid) > 0  # noqa: E731
        for key in identity_keys(profile):
            holder = self.unique_keys.claim(key, stream_id, exists)
            if holder is not None:
                field = key.split(":", 1)[0]
                raise DomainError("partner_already_registered", f"{key} is already registered as {holder}",
                                  kind=Refusal.CONFLICT, fields={"region_code" if field == "region" else f"identifiers.{field}":
                                                      [f"already registered: {holder}"]})

    def register(self, profile: Mapping[str, Any], contacts: list[dict], ctx: CommandContext):
        stream_id = new_stream_id(Partner.stream_type)
        partner, new_events = Partner.register(stream_id, profile, contacts)
        self._claim(partner.profile, stream_id)
        envelopes = self.repository.save(partner, new_events, ctx)
        return partner, envelopes

    def get(self, partner_id: str, version: int | None = None) -> Partner:
        return self.repository.load(partner_id, to_version=version)

    def _run(self, partner_id: str, expected: int | None, ctx: CommandContext, decide) -> Partner:
        partner = self.repository.load(partner_id, expected_version=expected)
        new_events = decide(partner)
        self.repository.save(partner, new_events, ctx)
        return partner

    def update_profile(self, partner_id, expected, changes, ctx):
        def decide(partner: Partner):
            before = identity_keys(partner.profile)
            new_events = partner.update_profile(changes)
            self._claim(partner.profile, partner_id)
            for key in set(before) - set(identity_keys(partner.profile)):
                self.unique_keys.release(key, partner_id)
            return new_events
        return self._run(partner_id, expected, ctx, decide)

    def set_contacts(self, partner_id, expected, contacts, ctx):
        return self._run(partner_id, expected, ctx, lambda p: p.set_contacts(contacts))

    def verify(self, partner_id, expected, note, ctx):
        return self._run(partner_id, expected, ctx, lambda p: p.verify(note))

    def deactivate(self, partner_id, expected, reason, ctx):
        return self._run(partner_id, expected, ctx, lambda p: p.deactivate(reason))

    def reactivate(self, partner_id, expected, reason, ctx):
        return self._run(partner_id, expected, ctx, lambda p: p.reactivate(reason))
