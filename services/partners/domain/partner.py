"""Partner (Mitra): a party the region cooperates with, from registration to deactivation.

Status: REGISTERED → VERIFIED → DEACTIVATED; reactivation restores the status held before.
A verified partner whose identity (name, identifiers, country, region code) changes goes back
to REGISTERED: what was verified is no longer what is recorded.
"""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Mapping

from shared.domain import Aggregate, DomainError, InvalidTransition, NewEvent, Refusal

KINDS = ("daerah_lain", "pihak_ketiga", "pemda_luar_negeri", "lembaga_luar_negeri", "pemerintah_pusat")
PIHAK_KETIGA_SUBTYPES = ("badan_usaha", "perguruan_tinggi", "lembaga", "yayasan", "ormas", "perseorangan")
STATUSES = ("REGISTERED", "VERIFIED", "DEACTIVATED")
FOREIGN_KINDS = ("pemda_luar_negeri", "lembaga_luar_negeri")
COOPERATION_SCOPE = {kind: ("luar_negeri" if kind in FOREIGN_KINDS else "dalam_negeri") for kind in KINDS}
IDENTITY_FIELDS = ("name", "identifiers", "country", "region_code")
PROFILE_FIELDS = ("name", "subtype", "country", "region_code", "identifiers", "address", "website", "description")

events = SimpleNamespace(
    REGISTERED="partner.registered",
    PROFILE_UPDATED="partner.profile_updated",
    CONTACTS_SET="partner.contacts_set",
    VERIFIED="partner.verified",
    VERIFICATION_REVOKED="partner.verification_revoked",
    DEACTIVATED="partner.deactivated",
    REACTIVATED="partner.reactivated",
)


def check_profile(profile: Mapping[str, Any]) -> None:
    """Cross-field rules of DOMAIN.md §1 (field shapes are checked at the edge)."""
    kind, country = profile["kind"], profile.get("country") or "ID"
    subtype, region = profile.get("subtype"), profile.get("region_code")
    if kind == "pihak_ketiga" and subtype not in PIHAK_KETIGA_SUBTYPES:
        raise DomainError("subtype_required", "a pihak_ketiga partner needs a subtype",
                          fields={"subtype": [f"one of {', '.join(PIHAK_KETIGA_SUBTYPES)}"]})
    if kind != "pihak_ketiga" and subtype:
        raise DomainError("subtype_not_applicable", f"a {kind} partner has no subtype",
                          fields={"subtype": ["only for pihak_ketiga"]})
    if kind in FOREIGN_KINDS and country == "ID":
        raise DomainError("foreign_partner_in_indonesia", f"a {kind} partner must be outside Indonesia",
                          fields={"country": ["must not be ID for a foreign partner"]})
    if kind not in FOREIGN_KINDS and country != "ID":
        raise DomainError("domestic_partner_abroad", f"a {kind} partner must be in Indonesia",
                          fields={"country": ["must be ID"]})
    if kind == "daerah_lain" and not region:
        raise DomainError("region_code_required", "another region needs its Kemendagri region code",
                          fields={"region_code": ["required for daerah_lain"]})
    if kind in FOREIGN_KINDS and region:
        raise DomainError("region_code_not_applicable", "Kemendagri region codes are Indonesian",
                          fields={"region_code": ["not for foreign partners"]})
    if subtype == "badan_usaha" and not (profile.get("identifiers") or {}).get("nib"):
        raise DomainError("nib_required", "a company (badan_usaha) needs its NIB",
                          fields={"identifiers.nib": ["required for badan_usaha"]})


class Partner(Aggregate):
    """The partner aggregate."""

    stream_type = "partner"

    def __init__(self, stream_id: str):
        super().__init__(stream_id)
        self.profile: dict[str, Any] = {}
        self.contacts: list[dict] = []
        self.status = ""
        self.status_before_deactivation = ""
        self.verified = None
        self.deactivation_reason = None

    # ---------------------------------------------------------------- commands

    @classmethod
    def register(cls, stream_id: str, profile: Mapping[str, Any], contacts: list[dict] | None = None):
        """Register a new partner; returns ``(partner, events)``."""
        profile = {"country": "ID", **profile}
        check_profile(profile)
        partner = cls(stream_id)
        data = {**profile, "cooperation_scope": COOPERATION_SCOPE[profile["kind"]], "contacts": list(contacts or [])}
        return partner, [partner._emit(events.REGISTERED, data)]

    def update_profile(self, changes: Mapping[str, Any]) -> list[NewEvent]:
        """Change profile fields (the kind is fixed); identity changes revoke verification."""
        self._require_active("update_profile")
        if "kind" in changes and changes["kind"] != self.profile["kind"]:
            raise DomainError("kind_immutable", "the kind of a partner cannot change; register a new partner",
                              fields={"kind": ["cannot change"]}, kind=Refusal.CONFLICT)
        changed = {k: v for k, v in changes.items() if k in PROFILE_FIELDS and self.profile.get(k) != v}
        if not changed:
            return []
        check_profile({**self.profile, **changed})
        out = [self._emit(events.PROFILE_UPDATED, {"changes": changed})]
        if self.status == "VERIFIED" and any(k in IDENTITY_FIELDS for k in changed):
            out.append(self._emit(events.VERIFICATION_REVOKED,
                                  {"reason": "identity changed: " + ", ".join(sorted(set(changed) & set(IDENTITY_FIELDS)))}))
        return out

    def set_contacts(self, contacts: list[dict]) -> list[NewEvent]:
        """Replace the contact persons (at most two)."""
        self._require_active("set_contacts")
        if len(contacts) > 2:
            raise DomainError("too_many_contacts", "a partner has at most two contact persons",
                              fields={"contacts": ["at most 2"]})
        if contacts == self.contacts:
            return []
        return [self._emit(events.CONTACTS_SET, {"contacts": list(contacts)})]

    def verify(self, note: str | None = None) -> list[NewEvent]:
        if self.status != "REGISTERED":
            raise InvalidTransition("verify", self.status,
                                    "already_verified" if self.status == "VERIFIED" else "partner_deactivated")
        return [self._emit(events.VERIFIED, {"note": note})]

    def deactivate(self, reason: str) -> list[NewEvent]:
        if self.status == "DEACTIVATED":
            raise InvalidTransition("deactivate", self.status, "already_deactivated")
        return [self._emit(events.DEACTIVATED, {"reason": reason})]

    def reactivate(self, reason: str | None = None) -> list[NewEvent]:
        if self.status != "DEACTIVATED":
            raise InvalidTransition("reactivate", self.status, "not_deactivated")
        return [self._emit(events.REACTIVATED, {"reason": reason, "status": self.status_before_deactivation})]

    def _require_active(self, command: str) -> None:
        if self.status == "DEACTIVATED":
            raise InvalidTransition(command, self.status, "partner_deactivated")

    # ---------------------------------------------------------------- state changes

    def when_partner_registered(self, data):
        self.profile = {k: v for k, v in data.items() if k not in ("contacts", "cooperation_scope")}
        self.contacts = list(data.get("contacts") or [])
        self.status = "REGISTERED"

    def when_partner_profile_updated(self, data):
        self.profile.update(data["changes"])

    def when_partner_contacts_set(self, data):
        self.contacts = list(data["contacts"])

    def when_partner_verified(self, data):
        self.status = "VERIFIED"
        self.verified = {"note": data.get("note")}

    def when_partner_verification_revoked(self, data):
        self.status = "REGISTERED"
        self.verified = None

    def when_partner_deactivated(self, data):
        self.status_before_deactivation = self.status
        self.status = "DEACTIVATED"
        self.deactivation_reason = data.get("reason")

    def when_partner_reactivated(self, data):
        self.status = data.get("status") or "REGISTERED"
        self.deactivation_reason = None

    # ---------------------------------------------------------------- views

    @property
    def cooperation_scope(self) -> str:
        return COOPERATION_SCOPE[self.profile["kind"]]

    def snapshot(self) -> dict:
        """The partner as a JSON-able dict, personal data included (the edge shapes public views)."""
        out = {"id": self.stream_id, "version": self.version, "status": self.status,
               "cooperation_scope": self.cooperation_scope, **self.profile}
        if self.deactivation_reason:
            out["deactivation_reason"] = self.deactivation_reason
        out["contacts"] = self.contacts
        return out
