"""Open data: published agreements as an Open Contracting (OCDS) / IATI-inspired release package.

Signed, active, expired and terminated agreements, one release each, without personal data: a
partner is an organisation (never its contact persons), an individual partner is not named
(docs/open-data.md describes the shape). Pure: the route (``export_api.open_data``) reads the
documents with ``queries.open_data_rows``.
"""
from __future__ import annotations

import hashlib
from datetime import date, datetime, timezone
from typing import Mapping

from services.evaluation.exports.formatting import (
    CATEGORY_LABELS, DOCUMENT_LABELS, PARTNER_KIND_LABELS, SCOPE_LABELS, STATUS_LABELS, rating_label, scope_of,
    to_date,
)
from services.evaluation.vocabulary import SIGNED_OR_LATER, AgreementStatus as S, funding_names, opd_name, urusan_names

# How OCDS names the contract statuses that are published.
OCDS_STATUS = {S.SIGNED: "pending", S.ACTIVE: "active", S.EXPIRED: "terminated", S.TERMINATED: "terminated"}


def ocid(agreement_id: str) -> str:
    return f"ocds-jalin-{agreement_id}"


def open_party(partner_id: str, partner: Mapping | None, fallback_name: str) -> dict:
    """A partner as a public party: organisation facts only — never contact persons, identifiers or
    addresses; an individual (perseorangan) is not named."""
    partner = partner or {}
    individual = partner.get("subtype") == "perseorangan"
    party = {"id": partner_id, "name": "Perseorangan (nama tidak dipublikasikan)" if individual
             else partner.get("name") or fallback_name, "roles": ["partner"],
             "details": {"kind": partner.get("kind"), "kindLabel": PARTNER_KIND_LABELS.get(partner.get("kind")),
                         "subtype": partner.get("subtype"), "scope": partner.get("cooperation_scope")}}
    if not individual:
        if partner.get("country"):
            party["address"] = {"countryName": partner["country"]}
        if partner.get("region_code"):
            party["identifier"] = {"scheme": "ID-KEMENDAGRI", "id": partner["region_code"]}
        if partner.get("website"):
            party["contactPoint"] = {"url": partner["website"]}  # the organisation's site, not a person
    return party


def open_release(doc: Mapping, partners: Mapping[str, Mapping], published: str) -> dict:
    """One agreement as an OCDS-style release (see docs/open-data.md)."""
    aid = doc["_id"]
    names = doc.get("partner_names") or {}
    value = doc.get("value")
    tags = ["contract"]
    if doc.get("activities"):
        tags.append("implementation")
    if doc.get("amendment_count"):
        tags.append("contractAmendment")
    if doc.get("status") in (S.EXPIRED, S.TERMINATED):
        tags.append("contractTermination")
    parties = [open_party(pid, partners.get(pid), names.get(pid, pid)) for pid in doc.get("partner_ids") or []]
    if doc.get("lead_opd"):
        parties.append({"id": f"opd-{doc['lead_opd']}", "name": doc["lead_opd"], "roles": ["leadAgency"]})
    start, end = to_date(doc.get("start_date")), to_date(doc.get("end_date"))
    activities = []
    for activity_id, activity in sorted((doc.get("activities") or {}).items()):
        activities.append({
            "id": activity_id, "title": activity.get("name"), "indicator": activity.get("indicator"),
            "target": {"value": activity.get("target"), "unit": activity.get("unit")},
            "period": {"startDate": activity.get("schedule_start"), "endDate": activity.get("schedule_end")},
            "budget": {"amount": activity.get("budget"), "currency": "IDR"},
            "responsibleOrganization": activity.get("responsible_opd"),
            "latestReportPeriod": activity.get("last_period"), "realisation": activity.get("realisation"),
            "progressPercent": activity.get("progress"),
        })
    scope_text = doc.get("scope") if doc.get("scope") not in SCOPE_LABELS else None
    latest = doc.get("latest_evaluation") or {}
    return {
        "ocid": ocid(aid), "id": f"{aid}-v{doc.get('version', 0)}", "date": doc.get("updated_at") or published,
        "tag": tags, "language": "id", "parties": parties,
        "contracts": [{
            "id": aid, "title": doc.get("title"), "description": doc.get("purpose") or None,
            "status": OCDS_STATUS.get(doc.get("status")), "statusDetails": STATUS_LABELS.get(doc.get("status")),
            "period": {"startDate": doc.get("start_date"), "endDate": doc.get("end_date"),
                       "durationInDays": (end - start).days + 1 if start and end else None},
            "value": {"amount": value, "currency": "IDR"} if value is not None else None,
            "dateSigned": doc.get("signed_on"),
            "items": [{"id": str(n), "description": name,
                       "classification": {"scheme": "ID-URUSAN-PEMERINTAHAN", "id": code, "description": name}}
                      for n, (code, name) in enumerate(zip(doc.get("urusan") or [],
                                                           urusan_names(doc.get("urusan") or [])), start=1)],
            "implementation": {"progressPercent": doc.get("progress"), "activities": activities},
        }],
        "cooperation": {
            "category": doc.get("category"), "categoryLabel": CATEGORY_LABELS.get(doc.get("category")),
            "documentKind": doc.get("document_kind"),
            "documentKindLabel": DOCUMENT_LABELS.get(doc.get("document_kind")),
            "scope": scope_of(doc), "ksddType": doc.get("ksdd_type"), "leadOpd": doc.get("lead_opd"),
            "leadOpdName": opd_name(doc.get("lead_opd")),
            "urusan": list(doc.get("urusan") or []), "location": doc.get("location") or None,
            "scopeOfWork": scope_text or None, "fundingScheme": doc.get("funding_scheme"),
            "fundingSources": [{"source": f.get("source"), "name": name, "amount": f.get("amount"),
                                "budgetedInApbd": f.get("budgeted")}
                               for f, name in zip(doc.get("funding") or [], funding_names(doc.get("funding") or []))],
            "burdensPublic": doc.get("burdens_public"),
            "ourNumber": doc.get("our_number"), "partnerNumber": doc.get("partner_number"),
            "parentAgreement": ocid(doc["parent_kb_id"]) if doc.get("parent_kb_id") else None,
            "extendsAgreement": ocid(doc["extends_agreement_id"]) if doc.get("extends_agreement_id") else None,
            "activatedOn": doc.get("activated_on"), "expiredOn": doc.get("expired_on"),
            "terminatedOn": doc.get("terminated_on"), "amendmentCount": doc.get("amendment_count") or 0,
            "latestEvaluation": {"score": doc.get("latest_score"), "rating": doc.get("latest_rating"),
                                 "ratingLabel": rating_label(doc.get("latest_rating")) or None,
                                 "period": latest.get("period"), "year": latest.get("year")}
            if doc.get("latest_score") is not None else None,
        },
    }


def open_data_package(docs: list[Mapping], partners: Mapping[str, Mapping], uri: str, on: date,
                      published: str | None = None) -> dict:
    published = published or datetime.now(timezone.utc).isoformat(timespec="seconds")
    releases = [open_release(doc, partners, published) for doc in docs]
    digest = hashlib.sha256("".join(r["id"] for r in releases).encode()).hexdigest()[:16]
    return {
        "uri": uri, "version": "1.1", "publishedDate": published,
        "publisher": {"name": "Bagian Kerja Sama Sekretariat Daerah (Jalin)"},
        "license": "https://creativecommons.org/licenses/by/4.0/",
        "publicationPolicy": "Naskah kerja sama yang telah ditandatangani, berlaku, berakhir atau diakhiri; "
                             "tanpa data pribadi (lihat docs/open-data.md).",
        "jalin": {"schema": "jalin-open-data/1", "asOf": on.isoformat(), "statuses": list(SIGNED_OR_LATER),
                  "count": len(releases), "etag": digest},
        "releases": releases,
    }
