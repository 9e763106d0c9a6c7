"""Upcasters of the agreement stream: stored events never change, old shapes are lifted on read.

``agreement.drafted`` and ``agreement.draft_edited`` v1 carried the flag ``budgeted_in_apbd``;
v2 carries ``funding`` (sources with amounts). The mapping lives in
``shared.vocabularies.funding`` because the evaluation projector reads the same events; this
module is the agreements service's registry (its repository and stream API use it).
"""
from __future__ import annotations

from shared.vocabularies.funding import LEGACY_FLAG, agreement_upcasters

UPCASTERS = agreement_upcasters()

__all__ = ["LEGACY_FLAG", "UPCASTERS"]
