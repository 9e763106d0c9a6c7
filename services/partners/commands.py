"""The partner service's commands: what a caller asks for, as types (pure Python).

Each command is built by its schema's ``post_load`` (services/partners/schemas.py) and handled
by the ``PartnerHandlers`` method of the same verb, which calls the ``Partner`` method of that
verb. Who asks travels beside the command in the ``CommandContext``; a command on an existing
partner names it and, from ``If-Match``, the version the caller saw (None: whatever is current).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping


def _given(fields: Mapping[str, Any]) -> dict[str, Any]:
    # A field left out (or sent as null) is not part of the profile: the domain never sees None.
    return {name: value for name, value in fields.items() if value is not None}


@dataclass(frozen=True, kw_only=True)
class PartnerCommand:
    """A command on one existing partner; the route addresses it (path id, If-Match version)."""

    partner_id: str = ""
    expected_version: int | None = None

    def addressed(self, partner_id: str, expected_version: int | None):
        """This command aimed at ``partner_id`` as the caller saw it at ``expected_version``."""
        return replace(self, partner_id=partner_id, expected_version=expected_version)


@dataclass(frozen=True)
class RegisterPartner:
    """Register a new partner (status REGISTERED)."""

    kind: str
    name: str
    subtype: str | None = None
    country: str | None = None
    region_code: str | None = None
    identifiers: Mapping[str, str] | None = None
    address: Mapping[str, str] | None = None
    website: str | None = None
    description: str | None = None
    contacts: tuple[Mapping[str, Any], ...] = ()

    def profile(self) -> dict[str, Any]:
        """The profile fields given (contacts are not part of the profile)."""
        return _given({"kind": self.kind, "name": self.name, "subtype": self.subtype, "country": self.country,
                       "region_code": self.region_code, "identifiers": self.identifiers, "address": self.address,
                       "website": self.website, "description": self.description})


@dataclass(frozen=True)
class UpdatePartnerProfile(PartnerCommand):
    """Change some profile fields; the ones left as None stay as they are (the kind never changes)."""

    name: str | None = None
    subtype: str | None = None
    country: str | None = None
    region_code: str | None = None
    identifiers: Mapping[str, str] | None = None
    address: Mapping[str, str] | None = None
    website: str | None = None
    description: str | None = None

    def changes(self) -> dict[str, Any]:
        """The fields to change, with their new values."""
        return _given({"name": self.name, "subtype": self.subtype, "country": self.country,
                       "region_code": self.region_code, "identifiers": self.identifiers, "address": self.address,
                       "website": self.website, "description": self.description})


@dataclass(frozen=True)
class SetPartnerContacts(PartnerCommand):
    """Replace the contact persons (at most two; none clears them)."""

    contacts: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True)
class VerifyPartner(PartnerCommand):
    """Confirm a registered partner's identity (REGISTERED → VERIFIED)."""

    note: str | None = None


@dataclass(frozen=True)
class DeactivatePartner(PartnerCommand):
    """Stop cooperating with a partner (→ DEACTIVATED); a reason is required."""

    reason: str


@dataclass(frozen=True)
class ReactivatePartner(PartnerCommand):
    """Restore a deactivated partner to the status it held before."""

    reason: str | None = None
