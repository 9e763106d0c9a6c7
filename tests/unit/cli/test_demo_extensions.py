"""The demo's extensions obey the extension rules (whatever day the demo is loaded on): the same
partners, the term starting the day after the old end, a finalized AKHIR evaluation of the old one."""
from datetime import date, timedelta

import pytest

from cli.demo_data import agreement_specs, evaluation_specs
from services.agreements.domain import rules

DAYS = [date(2026, 11, 30), date(2026, 12, 31), date(2027, 1, 1), date(2027, 2, 28), date(2028, 2, 29),
        date(2028, 7, 15)]


class OldSpec:
    """An ``AgreementSpec`` read as the extension rules read the old agreement."""

    def __init__(self, spec, partner_ids):
        self.stream_id, self.category, self.document_kind = spec.key, spec.category, spec.document_kind
        self.status, self.partner_ids = spec.target, partner_ids
        self.start_date, self.end_date = spec.start, spec.end
        self.final_evaluation_waiver = None


@pytest.mark.parametrize("today", DAYS, ids=str)
def test_every_demo_extension_is_a_legal_extension(today):
    specs = {s.key: s for s in agreement_specs(today)}
    extensions = [s for s in specs.values() if s.extends]
    assert extensions, "the demo shows an extension"
    for spec in extensions:
        old = specs[spec.extends]
        rules.check_extends(OldSpec(old, old.partners), category=spec.category, document_kind=spec.document_kind,
                            partner_ids=spec.partners, successions=(), start=spec.start)
        assert spec.start == old.end + timedelta(days=1)
        rules.check_term(spec.start, spec.end)
        finals = [e for e in evaluation_specs(today)
                  if e.agreement == old.key and e.period == rules.FINAL_PERIOD and e.target == "FINALIZED"]
        assert finals, f"{old.key} needs a finalized AKHIR evaluation before {spec.key} is submitted"
        # the old agreement is still in force, in its H-90 window, while its extension is under review
        assert old.target == "ACTIVE" and 0 <= (old.end - today).days <= 90
        assert all(old.start <= e.due and e.due >= old.end for e in finals)
