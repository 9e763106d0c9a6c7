"""Random command sequences: only allowed transitions happen, refusals change nothing, and
folding the emitted events always rebuilds the live aggregate."""
from __future__ import annotations

import json
import uuid
from datetime import date
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from services.evaluation.domain import Evaluation, Rubric, Status, score
from shared.domain import DomainError

RUBRIC = Rubric.from_json(
    (Path(__file__).resolve().parents[3] / "services" / "evaluation" / "rubric_default.json").read_text(encoding="utf-8"))
LEAD_OPD = "DINAS-PUPR"

ALLOWED = {
    (None, Status.SCHEDULED),
    (Status.SCHEDULED, Status.IN_PROGRESS), (Status.IN_PROGRESS, Status.IN_PROGRESS),
    (Status.IN_PROGRESS, Status.SUBMITTED), (Status.SUBMITTED, Status.IN_PROGRESS),
    (Status.SUBMITTED, Status.FINALIZED),
    (Status.SCHEDULED, Status.CANCELLED), (Status.IN_PROGRESS, Status.CANCELLED),
}

ROLES = st.sampled_from(["admin", "kerjasama", "opd", "tkksd", "pimpinan"])
# managing commands mostly come from the Bagian Kerja Sama, so that sequences reach the late states
MANAGER_ROLES = st.sampled_from(["kerjasama", "kerjasama", "admin", "opd"])
OPDS = st.sampled_from([LEAD_OPD, LEAD_OPD, "DINAS-LAIN", None])


def answer_values(indicator):
    if indicator.options:
        return st.one_of(st.sampled_from(indicator.option_keys), st.none(), st.just("di_luar_skala"))
    if indicator.kind == "text":
        return st.one_of(st.text(max_size=20), st.none())
    return st.one_of(st.lists(st.text(min_size=1, max_size=8), max_size=3), st.none())


ANSWERS = st.fixed_dictionaries({}, optional={
    **{i.id: answer_values(i) for i in RUBRIC.indicators}, "indikator_asing": st.just("x")})
COMPLETE_ANSWERS = st.fixed_dictionaries(
    {i.id: st.sampled_from(i.option_keys) for i in RUBRIC.indicators if i.required and i.options})


class EvaluationMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.live = Evaluation(f"evaluation-{uuid.uuid4()}")
        self.events: list[dict] = []

    def _run(self, command, *args, **kwargs):
        before = self.live.snapshot()
        status_before = self.live.status
        try:
            new = getattr(self.live, command)(*args, **kwargs)
        except DomainError:
            assert self.live.snapshot() == before, f"a refused {command} changed the state"
            return None
        for event in new:
            assert json.loads(json.dumps(event.data)) == dict(event.data)
            self.events.append({"event_type": event.type, "data": json.loads(json.dumps(event.data))})
        assert (status_before, self.live.status) in ALLOWED, (command, status_before, self.live.status)
        return new

    @initialize(assessor_kind=st.sampled_from(["opd", "kerjasama", "tkksd"]), scheduled=st.booleans())
    def start(self, assessor_kind, scheduled):
        # half the runs start scheduled, so that sequences reach the late states often enough
        if scheduled:
            self.schedule(assessor_kind, "kerjasama")

    @rule(assessor_kind=st.sampled_from(["opd", "kerjasama", "tkksd"]), role=MANAGER_ROLES)
    def schedule(self, assessor_kind, role):
        self._run("schedule", role=role, agreement_id="agreement-9", agreement_lead_opd=LEAD_OPD, period="TAHUNAN",
                  year=2025, due_date=date(2025, 12, 31), assessor_kind=assessor_kind, rubric=RUBRIC,
                  term_start=date(2025, 1, 1), term_end=date(2027, 12, 31), today=date(2025, 11, 1))

    @rule(answers=ANSWERS, role=ROLES, opd=OPDS)
    def save_answers(self, answers, role, opd):
        self._run("save_answers", answers, role=role, opd=opd, rubric=RUBRIC)

    @rule(answers=COMPLETE_ANSWERS, role=ROLES, opd=OPDS)
    def save_complete_answers(self, answers, role, opd):
        self._run("save_answers", answers, role=role, opd=opd, rubric=RUBRIC)

    @rule(role=ROLES, opd=OPDS)
    def submit(self, role, opd):
        if self._run("submit", role=role, opd=opd, rubric=RUBRIC):
            assert self.live.missing(RUBRIC) == []

    @rule(role=MANAGER_ROLES)
    def return_for_revision(self, role):
        self._run("return_for_revision", "perbaiki", role=role)

    @rule(role=MANAGER_ROLES)
    def finalize(self, role):
        answers = dict(self.live.answers)
        new = self._run("finalize", role=role, rubric=RUBRIC)
        if new:
            expected = score(RUBRIC, answers)
            assert new[0].data["rating"] == expected.rating
            assert new[0].data["overall"] == float(expected.overall)

    @rule(role=st.sampled_from(["kerjasama", "opd", "tkksd", "pimpinan"]))  # rarely, or nothing gets far
    def cancel(self, role):
        self._run("cancel", "dibatalkan", role=role)

    @invariant()
    def rebuild_equals_live(self):
        rebuilt = Evaluation.rebuild(self.live.stream_id, self.events)
        assert rebuilt.snapshot() == self.live.snapshot()
        assert rebuilt.version == len(self.events)

    @invariant()
    def answers_only_hold_valid_values(self):
        for indicator_id, value in self.live.answers.items():
            indicator = RUBRIC.indicator(indicator_id)
            assert indicator is not None
            if indicator.options:
                assert value in indicator.option_keys
            assert value not in (None, "", [])

    @invariant()
    def closed_evaluations_are_never_overdue(self):
        if self.live.status in Status.CLOSED or self.live.status is None:
            assert not self.live.overdue(date(2100, 1, 1))
        else:
            assert self.live.overdue(date(2026, 1, 1)) and not self.live.overdue(date(2025, 12, 31))


TestEvaluationStateMachine = EvaluationMachine.TestCase
TestEvaluationStateMachine.settings = settings(max_examples=200, stateful_step_count=30, deadline=None)
