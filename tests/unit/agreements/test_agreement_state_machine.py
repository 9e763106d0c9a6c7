"""Random command sequences against an independent model of the lifecycle (DOMAIN.md §2).

Every command is tried in every state it meets: where the model allows it, it must succeed and
lead where the model says; elsewhere it must be refused with 409 and leave the aggregate
unchanged. After every step the stream rebuilt from its (JSON round-tripped) events must equal
the live aggregate.

Addenda are modelled too (their own lifecycle on the agreement's stream): one open at a time, a
substantive one reviewed (and approved again when its change needs it) before it is signed, an
editorial one signed straight from its draft, the agreement's terms changed only at the signing.
"""
from __future__ import annotations

from datetime import date, timedelta

import copy

import pytest
from hypothesis import HealthCheck, assume, settings, strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine, initialize, invariant, precondition, rule, run_state_machine_as_test,
)

from services.agreements.domain import Status
from shared.domain import DomainError, Refusal
from tests.unit.agreements.test_agreement_builders import (
    funded,
    END, SIGNED_ON, START, TODAY, at, drafted, file_meta, partner_for, step,
)

PRE_SIGNING = {"DRAFT", "SUBMITTED", "UNDER_REVIEW", "AWAITING_DPRD", "AWAITING_CENTRAL", "READY_TO_SIGN"}
IN_FORCE = {"SIGNED", "ACTIVE"}
WORK_PLAN_OPEN = IN_FORCE | {"DRAFT"}  # the rencana kerja is drafted with the PKS
ENDED = {"EXPIRED", "TERMINATED"}
ALL_STATES = {s.value for s in Status}
ADDENDUM_OPEN = {"DRAFT", "UNDER_REVIEW", "AWAITING_DPRD", "AWAITING_CENTRAL", "READY_TO_SIGN"}
FOREIGN = {"KSDPL", "KSDLL"}

CASES = [(c, "KB") for c in ("KSDD", "KSDPK", "KSDPL", "KSDLL", "SINERGI")] + \
        [(c, "PKS") for c in ("KSDD", "KSDPK", "KSDLL", "SINERGI")]
SIGNATORY = dict(signatory_name="Bupati", signatory_position="kepala_daerah")


# How to reach the end states that are not on the normal path: (from, command, arguments).
FINISH = {
    "REJECTED": ("SUBMITTED", "reject", dict(role="pimpinan", reason="Ditolak")),
    "CANCELLED": ("DRAFT", "cancel", dict(role="kerjasama", reason="Dibatalkan")),
    "TERMINATED": ("ACTIVE", "terminate", dict(role="pimpinan", reason="Diakhiri", on=date(2025, 6, 1))),
}


class AgreementLifecycle(RuleBasedStateMachine):
    """Subclassed once per starting state (``start_at``) so that every state is explored."""

    start_at = "DRAFT"

    @initialize(case=st.sampled_from(CASES), burdens_public=st.booleans(), budgeted=st.booleans())
    def start(self, case, burdens_public, budgeted):
        category, kind = case
        self.foreign = category in FOREIGN
        self.dprd = burdens_public or not budgeted or self.foreign
        self.work_plan = kind == "PKS" or category == "SINERGI"
        path = ["DRAFT", "SUBMITTED", "UNDER_REVIEW"] + ["AWAITING_DPRD"] * self.dprd + \
            ["AWAITING_CENTRAL"] * self.foreign + ["READY_TO_SIGN", "SIGNED", "ACTIVE", "EXPIRED"]
        walk_to, finish, finish_kwargs = FINISH.get(self.start_at, (self.start_at, None, None))
        assume(walk_to in path)
        self.parent = at("SIGNED", category).agreement if kind == "PKS" and category != "SINERGI" else None
        self.stream = drafted(category, kind, parent=self.parent, burdens_public=burdens_public,
                              funding=funded(budgeted=budgeted))
        self.partners = [partner_for(category)]
        self.reminded = False
        self.flagged = False  # a change of the KB recorded on the PKS and not yet acknowledged
        self.activities = 0
        self.addendum = None      # the latest addendum's status (None before the first)
        self.addendum_no = 0
        self.substantive = False
        self.value = self.stream.agreement.value
        for _ in range(path.index(walk_to)):
            step(self.stream)
        self.model = walk_to
        if finish:
            self.stream.do(finish, **finish_kwargs)
            self.model = self.start_at

    def attempt(self, command, allowed, goes_to=None, named=None, **kwargs):
        """Send ``command``; the model decides whether it must succeed or be refused."""
        agreement = self.stream.agreement
        before = agreement.snapshot()
        if self.model in allowed:
            events = self.stream.do(command, **kwargs)
            assert agreement.version == before["version"] + len(events)
            if goes_to is not None:
                self.model = goes_to
            return events
        with pytest.raises(DomainError) as err:
            self.stream.do(command, **kwargs)
        assert err.value.rule == (named or {}).get(self.model, "invalid_transition")
        assert err.value.kind == Refusal.CONFLICT
        assert agreement.snapshot() == before
        return None

    @rule()
    def edit_draft(self):
        events = self.attempt("edit_draft", {"DRAFT"}, role="kerjasama",
                              changes={"title": f"Judul v{self.stream.agreement.version}"})
        assert events is None or len(events) == 1

    @rule()
    def submit(self):
        self.attempt("submit", {"DRAFT"}, "SUBMITTED", role="kerjasama", partners=self.partners,
                     parent_kb=self.parent)

    @rule()
    def start_review(self):
        self.attempt("start_review", {"SUBMITTED"}, "UNDER_REVIEW", role="tkksd")

    @rule()
    def return_for_revision(self):
        self.attempt("return_for_revision", {"SUBMITTED", "UNDER_REVIEW"}, "DRAFT", role="tkksd", reason="Perbaiki")

    @rule(recommended=st.booleans())
    def record_review(self, recommended):
        # an unfavourable recommendation returns the draft for revision; rejecting is a separate decision
        after = ("AWAITING_DPRD" if self.dprd else "READY_TO_SIGN") if recommended else "DRAFT"
        self.attempt("record_review", {"UNDER_REVIEW"}, after, role="tkksd", recommended=recommended,
                     notes="Catatan TKKSD", reviewed_on=date(2024, 12, 1))

    @rule()
    def approve_dprd(self):
        self.attempt("approve_dprd", {"AWAITING_DPRD"}, "AWAITING_CENTRAL" if self.foreign else "READY_TO_SIGN",
                     role="pimpinan", approval_ref="DPRD-1", approved_on=date(2024, 12, 5))

    @rule()
    def approve_central(self):
        self.attempt("approve_central", {"AWAITING_CENTRAL"}, "READY_TO_SIGN",
                     named={"AWAITING_DPRD": "dprd_approval_required"},
                     role="pimpinan", approval_ref="PUSAT-1", approved_on=date(2024, 12, 10))

    @rule()
    def sign(self):
        self.attempt("sign", {"READY_TO_SIGN"}, "SIGNED",
                     named={"AWAITING_DPRD": "dprd_approval_required",
                            "AWAITING_CENTRAL": "central_approval_required"},
                     role="pimpinan", signed_on=SIGNED_ON, parent_kb=self.parent, **SIGNATORY)

    @property
    def kb_in_force(self) -> bool:
        return self.parent is None or self.parent.status in IN_FORCE

    @rule()
    def activate(self):
        self.attempt("activate", {"SIGNED"} if self.kb_in_force else set(), "ACTIVE",
                     named={"SIGNED": "parent_kb_not_in_force"}, role="service", on=START, parent_kb=self.parent)

    @precondition(lambda self: self.parent is not None and self.parent.status in IN_FORCE
                  and self.model in IN_FORCE | ENDED)
    @rule()
    def kb_terminated(self):
        """The KB is terminated under a signed PKS; the cascade records it on the PKS, once."""
        kb_before = copy.deepcopy(self.parent)
        [event] = self.parent.terminate(role="pimpinan", reason="KB diakhiri", on=date(2025, 6, 1), today=TODAY)
        args = dict(role="service", kb_before=kb_before, kb_after=self.parent, cause_event_id=f"kb-{id(event)}",
                    cause_event_type=event.type)
        recorded = self.stream.do("record_parent_change", **args)
        assert len(recorded) == (0 if self.model in ENDED else 1)
        assert self.stream.do("record_parent_change", **args) == []  # redelivered: nothing more
        self.flagged = self.flagged or bool(recorded)
        if recorded:
            assert recorded[0].data["outside_kb"] and recorded[0].data["problems"] == ["parent_kb_not_in_force"]

    @rule()
    def acknowledge_parent_change(self):
        self.attempt("acknowledge_parent_change", ALL_STATES if self.flagged else set(),
                     named={s: "no_parent_change_pending" for s in ALL_STATES}, role="kerjasama", note="Sudah ditinjau")
        self.flagged = False

    @invariant()
    def the_review_flag_follows_the_model(self):
        assert self.stream.agreement.parent_change_pending == self.flagged

    @rule()
    def expire(self):
        self.attempt("expire", IN_FORCE, "EXPIRED", role="service", on=END + timedelta(days=1))

    @rule()
    def terminate(self):
        self.attempt("terminate", IN_FORCE, "TERMINATED", role="pimpinan", reason="Diakhiri", on=date(2026, 1, 1))

    @rule()
    def reject(self):
        self.attempt("reject", PRE_SIGNING, "REJECTED", role="pimpinan", reason="Ditolak")

    @rule()
    def cancel(self):
        self.attempt("cancel", PRE_SIGNING, "CANCELLED", role="kerjasama", reason="Dibatalkan")

    @rule()
    def raise_expiry_reminder(self):
        events = self.attempt("raise_expiry_reminder", IN_FORCE, role="service", on=END - timedelta(days=30))
        if events is not None:
            assert len(events) == (0 if self.reminded else 1)
            self.reminded = True

    # --- addenda -------------------------------------------------------------------------------

    def attempt_addendum(self, command, agreement_states, addendum_states, goes_to=None, **kwargs):
        """Send an addendum command to the latest addendum; the model decides the outcome or the refusal."""
        agreement = self.stream.agreement
        before = agreement.snapshot()
        no = max(self.addendum_no, 1)
        if self.model in agreement_states and self.addendum in addendum_states:
            events = self.stream.do(command, addendum_no=no, **kwargs)
            assert agreement.version == before["version"] + len(events) and agreement.addenda[-1]["status"] == goes_to
            self.addendum = goes_to
            return events
        if self.model not in agreement_states:
            named, kind = "invalid_transition", Refusal.CONFLICT
        elif self.addendum is None:
            named, kind = "addendum_not_found", Refusal.NOT_FOUND
        else:
            named, kind = {
                ("approve_addendum_central", "AWAITING_DPRD"): "dprd_approval_required",
                ("sign_addendum", "AWAITING_DPRD"): "dprd_approval_required",
                ("sign_addendum", "AWAITING_CENTRAL"): "central_approval_required",
                ("sign_addendum", "UNDER_REVIEW"): "addendum_review_required",
                ("sign_addendum", "DRAFT"): "addendum_review_required",
            }.get((command, self.addendum), "invalid_transition"), Refusal.CONFLICT
        with pytest.raises(DomainError) as err:
            self.stream.do(command, addendum_no=no, **kwargs)
        assert (err.value.rule, err.value.kind) == (named, kind)
        assert agreement.snapshot() == before
        return None

    @property
    def open_addendum(self):
        return self.addendum in ADDENDUM_OPEN

    @rule(substantive=st.booleans())
    def draft_addendum(self, substantive):
        agreement = self.stream.agreement
        changes = {"funding": funded(amount=agreement.version * 1000)} if substantive else {"title": f"Judul v{agreement.version}"}
        if self.model in IN_FORCE and not self.open_addendum:
            events = self.stream.do("draft_addendum", role="kerjasama", reason="Perubahan", changes=changes)
            self.addendum_no += 1
            assert events[0].data["addendum_no"] == self.addendum_no and events[0].data["substantive"] == substantive
            self.addendum, self.substantive = "DRAFT", substantive
            return
        before = agreement.snapshot()
        with pytest.raises(DomainError) as err:
            self.stream.do("draft_addendum", role="kerjasama", reason="Perubahan", changes=changes)
        assert err.value.rule == ("addendum_in_progress" if self.model in IN_FORCE else "invalid_transition")
        assert agreement.snapshot() == before

    @rule()
    def submit_addendum(self):
        self.attempt_addendum("submit_addendum", IN_FORCE, {"DRAFT"}, "UNDER_REVIEW", role="kerjasama")

    @rule(recommended=st.booleans())
    def record_addendum_review(self, recommended):
        # a change of value asks the DPRD (and for foreign cooperation the central government) again
        # when the agreement needs them; a change of title alone needs neither
        needs_dprd, needs_central = self.substantive and self.dprd, self.substantive and self.foreign
        after = "DRAFT" if not recommended else ("AWAITING_DPRD" if needs_dprd else "AWAITING_CENTRAL"
                                                 if needs_central else "READY_TO_SIGN")
        self.attempt_addendum("record_addendum_review", IN_FORCE, {"UNDER_REVIEW"}, after, role="tkksd",
                              recommended=recommended, notes="Catatan", reviewed_on=date(2025, 6, 1))

    @rule()
    def approve_addendum_dprd(self):
        self.attempt_addendum("approve_addendum_dprd", IN_FORCE, {"AWAITING_DPRD"},
                              "AWAITING_CENTRAL" if self.foreign else "READY_TO_SIGN", role="pimpinan",
                              approval_ref="DPRD-ADD", approved_on=date(2025, 6, 1))

    @rule()
    def approve_addendum_central(self):
        self.attempt_addendum("approve_addendum_central", IN_FORCE, {"AWAITING_CENTRAL"}, "READY_TO_SIGN",
                              role="pimpinan", approval_ref="PUSAT-ADD", approved_on=date(2025, 6, 1))

    @rule()
    def sign_addendum(self):
        signable = {"READY_TO_SIGN"} | (set() if self.substantive else {"DRAFT"})
        proposed = dict(self.stream.agreement.addenda[-1]["changes"]) if self.addendum else {}
        events = self.attempt_addendum("sign_addendum", IN_FORCE, signable, "SIGNED", role="pimpinan",
                                       number=f"ADD-{self.addendum_no}", signed_on=date(2025, 6, 1), **SIGNATORY)
        if events is not None:
            assert [e.type for e in events] == ["agreement.amended"] and events[0].data["changes"] == proposed
            self.value = proposed.get("value", self.value)

    @rule()
    def withdraw_addendum(self):
        self.attempt_addendum("withdraw_addendum", IN_FORCE | ENDED, ADDENDUM_OPEN, "WITHDRAWN", role="kerjasama",
                              reason="Ditarik")

    @rule()
    def reject_addendum(self):
        self.attempt_addendum("reject_addendum", IN_FORCE | ENDED, ADDENDUM_OPEN, "REJECTED", role="pimpinan",
                              reason="Ditolak")

    @rule()
    def attach_document(self):
        self.attempt("attach_document", ALL_STATES - {"REJECTED", "CANCELLED"}, role="kerjasama", kind="other",
                     file=file_meta())

    @rule()
    def add_activity(self):
        named = {} if self.work_plan else {s: "work_plan_requires_pks" for s in WORK_PLAN_OPEN}
        events = self.attempt("add_activity", WORK_PLAN_OPEN if self.work_plan else set(), named=named, role="kerjasama",
                              activity_id=f"act-{self.activities}", name="Kegiatan", indicator="Peserta", target=10,
                              unit="orang", schedule_start=START, schedule_end=END, responsible_opd="DINKES")
        if events:
            self.activities += 1

    @precondition(lambda self: self.activities > 0)
    @rule(realisation=st.integers(0, 20))
    def file_report(self, realisation):
        self.attempt("file_report", IN_FORCE | ENDED, role="kerjasama", activity_id="act-0", period="2025-TW1",
                     realisation=realisation, filed_on=date(2025, 4, 1))
        assert self.stream.agreement.activity_progress("act-0") == min(100, realisation * 10) or \
            self.model not in IN_FORCE | ENDED

    @invariant()
    def status_follows_the_model(self):
        assert self.stream.status == self.model

    @invariant()
    def only_a_signed_addendum_changes_the_terms_and_one_is_open_at_most(self):
        agreement = self.stream.agreement
        assert agreement.value == self.value
        assert sum(a["status"] in ADDENDUM_OPEN for a in agreement.addenda) <= 1
        assert [a["addendum_no"] for a in agreement.addenda] == list(range(1, self.addendum_no + 1))
        assert len(agreement.amendments) == sum(a["status"] == "SIGNED" for a in agreement.addenda)

    @invariant()
    def rebuilding_from_the_events_gives_the_same_state(self):
        rebuilt = self.stream.rebuilt()
        assert rebuilt.version == len(self.stream.events) == self.stream.agreement.version
        assert rebuilt.snapshot() == self.stream.agreement.snapshot()
        assert rebuilt.progress == self.stream.agreement.progress


@pytest.mark.parametrize("start_at", sorted(ALL_STATES))
def test_lifecycle_follows_the_model_from_every_state(start_at):
    machine = type(f"AgreementLifecycleFrom{start_at.title()}", (AgreementLifecycle,), {"start_at": start_at})
    run_state_machine_as_test(machine, settings=settings(
        max_examples=40, stateful_step_count=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]))
