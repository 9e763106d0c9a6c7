"""Fixtures for the evaluation domain tests: the default rubric and evaluations in each state."""
from __future__ import annotations

import json
import uuid
from datetime import date
from pathlib import Path

import pytest

from services.evaluation.domain import Evaluation, Rubric

RUBRIC_FILE = Path(__file__).resolve().parents[3] / "services" / "evaluation" / "rubric_default.json"
LEAD_OPD = "DINAS-PUPR"
# The agreement's term and the server's today an evaluation is scheduled against (TW2 2025 has started).
TERM = dict(term_start=date(2025, 1, 1), term_end=date(2027, 12, 31), today=date(2025, 7, 1))


def load_default_rubric() -> Rubric:
    return Rubric.from_json(RUBRIC_FILE.read_text(encoding="utf-8"))


def best_answers(rubric: Rubric) -> dict:
    """An answer for every option-based indicator: its first (best) option."""
    return {i.id: i.options[0].key for i in rubric.indicators if i.options}


@pytest.fixture
def rubric() -> Rubric:
    return load_default_rubric()


@pytest.fixture
def complete_answers(rubric) -> dict:
    return best_answers(rubric)


@pytest.fixture
def make_evaluation(rubric):
    """Build an evaluation and drive it to ``status`` through its own commands."""

    def make(status: str = "SCHEDULED", *, assessor_kind: str = "opd", due_date: date = date(2025, 7, 15)) -> Evaluation:
        evaluation = Evaluation(f"evaluation-{uuid.uuid4()}")
        evaluation.schedule(role="kerjasama", agreement_id="agreement-1", agreement_lead_opd=LEAD_OPD,
                            period="TW2", year=2025, due_date=due_date, assessor_kind=assessor_kind, rubric=rubric,
                            **TERM)
        if status == "SCHEDULED":
            return evaluation
        if status == "CANCELLED":
            evaluation.cancel("tidak jadi", role="kerjasama")
            return evaluation
        evaluation.save_answers(best_answers(rubric), role="kerjasama", rubric=rubric)
        if status == "IN_PROGRESS":
            return evaluation
        evaluation.submit(role="kerjasama", rubric=rubric)
        if status == "SUBMITTED":
            return evaluation
        evaluation.finalize(role="kerjasama", rubric=rubric)
        assert status == "FINALIZED", status
        return evaluation

    return make


def as_envelopes(events) -> list[dict]:
    """NewEvents as stored envelopes would carry them (through a JSON round trip)."""
    return [{"event_type": e.type, "data": json.loads(json.dumps(e.data))} for e in events]


@pytest.fixture
def envelopes():
    return as_envelopes
