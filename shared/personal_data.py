"""Personal data, defined once, and the public (``publik``) views built from that definition.

UU 27/2022 (Pelindungan Data Pribadi) protects data about an identified or identifiable person:
names, contact details, identity numbers, addresses. In Jalin these are the partners' contact
persons, identifiers (an individual's NPWP is their tax number; a company's NIB/NPWP are kept
out too, so the public view never has to tell which is which), street addresses, the name of a
partner who is an individual (subtype ``perseorangan``), the names of signatories, and free text
written by officers (reasons, notes), which may name people.

The public gets WHITELISTED views: only the fields listed here as public reach a ``publik``
caller, so a field added later stays internal until someone decides it is public. Every place
that answers ``publik`` (the partners service, the read models, the register, portfolios, open
data, the dashboard through those APIs) shapes its answer with these functions.
"""
from __future__ import annotations

from typing import Any, Mapping

INDIVIDUAL = "perseorangan"
PUBLIC_INDIVIDUAL_NAME = "Perseorangan"

# Where personal data lives (documentation and tests: the public views below never contain these).
PERSONAL_DATA: dict[str, tuple[str, ...]] = {
    "partner": ("contacts", "identifiers", "address", "deactivation_reason",
                "name (of an individual)", "description (of an individual)"),
    "agreement": ("signatory_name", "partner_signatory_name", "power_of_attorney_ref", "closing_reason",
                  "reason", "notes", "obstacles", "solutions", "partner names (of individuals)"),
}

PARTNER_PUBLIC_FIELDS = ("id", "version", "name", "kind", "subtype", "country", "region_code", "status",
                         "cooperation_scope", "website", "description")
AGREEMENT_PUBLIC_FIELDS = (
    "id", "version", "status", "category", "document_kind", "title", "our_number", "partner_number", "urusan",
    "purpose", "scope", "location", "lead_opd", "start_date", "end_date", "year", "value", "funding_scheme",
    "funding", "burdens_public", "ksdd_type", "cooperation_scope", "parent_kb_id",
    "extends_agreement_id", "partner_ids", "partners", "signed_on", "activated_on", "expired_on", "terminated_on",
    "progress", "activities", "amendment_count", "document_count", "latest_score", "latest_rating",
    "days_to_end", "expiring_within_90_days", "report_overdue", "report_due_by", "updated_at")
ACTIVITY_PUBLIC_FIELDS = ("activity_id", "name", "indicator", "target", "unit", "schedule_start", "schedule_end",
                          "responsible_opd", "budget", "realisation", "progress", "last_period")


def is_individual(partner: Mapping[str, Any]) -> bool:
    return partner.get("subtype") == INDIVIDUAL


def public_partner_name(name: str | None, subtype: str | None) -> str | None:
    """An individual is not named in public; an organisation is."""
    return PUBLIC_INDIVIDUAL_NAME if subtype == INDIVIDUAL else name


def public_partner(partner: Mapping[str, Any]) -> dict:
    """A partner as the public sees it: organisation facts only; an individual as "Perseorangan"
    with its kind, country and region, nothing that identifies the person."""
    view = {k: partner[k] for k in PARTNER_PUBLIC_FIELDS if k in partner}
    if is_individual(partner):
        view["name"] = PUBLIC_INDIVIDUAL_NAME
        view.pop("description", None)
        view.pop("website", None)
    return view


def public_agreement(agreement: Mapping[str, Any]) -> dict:
    """A register entry as the public sees it: the agreement's public terms, partners named unless
    they are individuals, activities without officers' free text."""
    view = {k: agreement[k] for k in AGREEMENT_PUBLIC_FIELDS if k in agreement}
    if "partners" in view:
        view["partners"] = [{"id": p.get("id"), "kind": p.get("kind"),
                             "name": public_partner_name(p.get("name"), p.get("subtype"))}
                            for p in view["partners"]]
    if "activities" in view:
        view["activities"] = [{k: a[k] for k in ACTIVITY_PUBLIC_FIELDS if k in a} for a in view["activities"]]
    return view
