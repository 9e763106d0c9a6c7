"""The agreements domain: the Agreement aggregate, its events, vocabularies and named rules (pure, no I/O)."""
from .agreement import (
    ACTIVITY_FIELDS, AMENDABLE_FIELDS, EDITABLE_FIELDS, EVENT_TYPES, REMINDER_DAYS, Agreement, EventType,
    new_agreement_id,
)
from .rules import (
    COMMAND_ROLES, COMMAND_STATES, FOREIGN_CATEGORIES, HEAD_POSITIONS, MAX_EXTENSION_GAP_DAYS, MAX_TERM_YEARS,
    PARTNER_KIND_FOR_CATEGORY, AttachmentKind, Category, DocumentKind, KsddType, PartnerKind, PartnerStatus,
    PartnerSuccession, PartnerView, Role, Rule,
    SignatoryPosition, Status, add_years, latest_end, may,
)
from .workplan import Activity, Report, activity_progress, agreement_progress, period_bounds, period_key

__all__ = [
    "ACTIVITY_FIELDS", "AMENDABLE_FIELDS", "EDITABLE_FIELDS", "EVENT_TYPES", "REMINDER_DAYS", "Agreement",
    "EventType", "new_agreement_id",
    "COMMAND_ROLES", "COMMAND_STATES", "FOREIGN_CATEGORIES", "HEAD_POSITIONS", "MAX_EXTENSION_GAP_DAYS",
    "MAX_TERM_YEARS", "PARTNER_KIND_FOR_CATEGORY", "AttachmentKind", "Category", "DocumentKind", "KsddType",
    "PartnerKind", "PartnerStatus", "PartnerSuccession", "PartnerView", "Role", "Rule", "SignatoryPosition", "Status", "add_years", "latest_end", "may",
    "Activity", "Report", "activity_progress", "agreement_progress", "period_bounds", "period_key",
]
