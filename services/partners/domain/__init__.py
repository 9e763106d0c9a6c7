"""The partner registry's pure domain (DOMAIN.md §1)."""
from services.partners.domain.partner import (  # noqa: F401
    COOPERATION_SCOPE, KINDS, PIHAK_KETIGA_SUBTYPES, STATUSES, Partner, events,
)
