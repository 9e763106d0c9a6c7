"""The register's list rows: one slim document per agreement, built from the full ``agreements``
document, in a collection of its own.

``GET /api/v1/agreements`` filters, sorts and pages these rows; the full document (with the work
plan and the long texts) is read by ``_id`` only (``GET /api/v1/agreements/<id>``, the policy's
scope check, the exports). A list query never decodes what no list shows: on FerretDB every query
not by ``_id`` decodes every document of its collection, so the size of that collection's documents
is the price of every page.

Rows are derived, not projected: the projections that write an agreement document (agreements,
evaluations) ``touch`` it, and once per batch (``AgreementsProjection.before_flush``) each touched
document is read by ``_id`` and its row replaced with ``row_of(document)``. A row is a pure function of its document, so
the same events give the same rows in any order and a re-applied batch changes nothing.
"""
from __future__ import annotations

from typing import Mapping

from pymongo import ASCENDING, DeleteOne, ReplaceOne
from pymongo.database import Database

from shared.readmodel import UnitOfWork

AGREEMENTS, ROWS = "agreements", "agreement_rows"

# What a register row carries: what the list shows (dashboard table, CLI, other systems), filters
# and sorts on. A new field of the agreement that lists need is one more line here.
ROW_FIELDS = (
    "version", "updated_at", "status", "category", "document_kind", "cooperation_scope", "ksdd_type",
    "title", "our_number", "partner_number", "urusan", "scope", "lead_opd", "opds",
    "start_date", "end_date", "year", "value", "funding", "funding_scheme", "burdens_public",
    "partner_ids", "partner_names", "partner_kind_of", "partner_subtype_of",
    "parent_kb_id", "extends_agreement_id", "drafted_at", "signed_on", "activated_on", "expired_on",
    "terminated_on", "closing_reason", "reminder_raised_on", "amendment_count", "document_count",
    "progress", "report_due_by", "latest_evaluation", "latest_score", "latest_rating", "latest_scored_at",
    "addenda", "open_addendum", "parent_changed", "parent_changes",
)
# The filters and sorts of GET /api/v1/agreements (schemas.AgreementListQuery), each indexed (MongoDB
# uses them; FerretDB's SQLite backend ignores them and scans the slim rows).
INDEXED = ("status", "category", "document_kind", "year", "cooperation_scope", "partner_ids", "opds",
           "end_date", "report_due_by", "start_date", "title", "progress", "updated_at", "parent_changed")


def row_of(doc: Mapping) -> dict:
    """The register row of a full agreement document (the one place a row is shaped)."""
    return {"_id": doc["_id"], **{k: doc[k] for k in ROW_FIELDS if k in doc}}


class AgreementRows:
    """Keeps ``agreement_rows`` in step with ``agreements`` (see the module docstring).

    Owned by ``AgreementsProjection`` (which writes the rows, so a rebuild of it rebuilds them);
    ``EvaluationsProjection`` is given the same instance and touches the agreements it writes.
    """

    def __init__(self) -> None:
        self._touched: set[str] = set()

    def setup(self, db: Database) -> None:
        for field in INDEXED:
            db[ROWS].create_index([(field, ASCENDING)])

    def touch(self, agreement_id: str) -> None:
        """The agreement document ``agreement_id`` was written in this batch: its row is rebuilt."""
        self._touched.add(agreement_id)

    def before_flush(self, uow: UnitOfWork) -> None:
        # Ids left over from a batch that failed are rebuilt too: harmless, a row is a function
        # of its document.
        touched, self._touched = sorted(self._touched), set()
        for agreement_id in touched:
            doc = uow.find_one(AGREEMENTS, {"_id": agreement_id}, {"activities": 0, "_seen": 0})
            if doc is not None and "version" in doc:  # filled in by its own stream (see ``FILLED``)
                uow.add(ROWS, ReplaceOne({"_id": agreement_id}, row_of(doc), upsert=True))
            else:
                uow.add(ROWS, DeleteOne({"_id": agreement_id}))
