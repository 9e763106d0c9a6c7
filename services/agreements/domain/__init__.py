"""The agreements domain: the Agreement aggregate, its events, vocabularies and named rules (pure, no I/O)."""
from .agreement import (
    ACTIVITY_FIELDS, AMENDABLE_FIELDS, EDITABLE_FIELDS, EVENT_TYPES, KB_TERMS_FOR_PKS, REMINDER_DAYS, Agreement,
    EventType, new_agreement_id,
)
from .rules import (
    ADDENDUM_COMMAND_STATES, APPROVED_TERMS, COMMAND_ROLES, COMMAND_STATES, EDITORIAL_FIELDS, FOREIGN_CATEGORIES,
    HEAD_POSITIONS, MAX_EXTENSION_GAP_DAYS, MAX_TERM_YEARS, PARTNER_KIND_FOR_CATEGORY, AddendumStatus, AttachmentKind,
    Category, DocumentKind, KsddType, PartnerKind, PartnerStatus, PartnerSuccession, PartnerView, Role, Rule,
    SignatoryPosition, Status, add_years, latest_end, may,
)
from .workplan import Activity, Report, activity_progress, agreement_progress, period_bounds, period_key

__all__ = [
    "ACTIVITY_FIELDS", "AMENDABLE_FIELDS", "EDITABLE_FIELDS", "EVENT_TYPES", "KB_TERMS_FOR_PKS", "REMINDER_DAYS",
    "Agreement",
    "EventType", "new_agreement_id",
    "ADDENDUM_COMMAND_STATES", "APPROVED_TERMS", "COMMAND_ROLES", "COMMAND_STATES", "EDITORIAL_FIELDS",
    "FOREIGN_CATEGORIES", "HEAD_POSITIONS", "MAX_EXTENSION_GAP_DAYS", "MAX_TERM_YEARS", "PARTNER_KIND_FOR_CATEGORY",
    "AddendumStatus", "AttachmentKind", "Category", "DocumentKind", "KsddType", "PartnerKind", "PartnerStatus",
    "PartnerSuccession", "PartnerView", "Role", "Rule", "SignatoryPosition", "Status", "add_years", "latest_end", "may",
    "Activity", "Report", "activity_progress", "agreement_progress", "period_bounds", "period_key",
]
