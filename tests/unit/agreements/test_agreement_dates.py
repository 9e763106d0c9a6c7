"""Dates of acts: random dates on every dated command; every history the domain accepts is in order.

The client may give the date of an act (review, approvals, signing, addenda, termination, reports)
because the paper often predates the entry, but never after today and never before the previous
step of the same agreement (rules ``date_in_future`` and ``date_before_previous_step``).
"""
from __future__ import annotations

import inspect
from datetime import date, timedelta

from hypothesis import given, settings, strategies as st

from services.agreements.domain import Status
from shared.domain import DomainError
from tests.unit.agreements.test_agreement_builders import (
    funded, END, START, TODAY, at, drafted, partner_for, with_activity,
)

DATE_RULES = {"date_in_future", "date_before_previous_step"}
days = st.integers(min_value=-60, max_value=30).map(lambda n: date(2024, 12, 1) + timedelta(days=n))


def dated_acts(agreement):
    """Every dated act the aggregate recorded, in the order it recorded them."""
    snapshot = agreement.snapshot()
    acts = [snapshot["review"]["reviewed_on"]] if snapshot.get("review") else []
    for key in ("dprd_approval", "central_approval"):
        if snapshot.get(key):
            acts.append(snapshot[key]["approved_on"])
    if snapshot.get("signing"):
        acts.append(snapshot["signing"]["signed_on"])
    for addendum in snapshot.get("addenda") or []:
        acts += [record[key] for record, key in ((addendum["review"], "reviewed_on"),
                                                 (addendum["dprd_approval"], "approved_on"),
                                                 (addendum["central_approval"], "approved_on")) if record]
        acts += [addendum["signed_on"]] if addendum["signed_on"] else []
    if snapshot.get("termination"):
        acts.append(snapshot["termination"]["terminated_on"])
    return [date.fromisoformat(d) for d in acts]


@settings(max_examples=150, deadline=None)
@given(reviewed=days, dprd=days, central=days, signed=days, addendum_reviewed=days, addendum_approved=days,
       amended=days, terminated=days, today=st.sampled_from([date(2024, 12, 10), date(2024, 12, 31), TODAY]))
def test_every_accepted_history_is_in_order(reviewed, dprd, central, signed, addendum_reviewed, addendum_approved,
                                            amended, terminated, today):
    stream = drafted("KSDPL", burdens_public=True)
    stream.do("submit", role="kerjasama", partners=[partner_for("KSDPL")], parent_kb=None)
    stream.do("start_review", role="tkksd")
    steps = [
        ("record_review", dict(role="tkksd", recommended=True, notes="Layak", reviewed_on=reviewed)),
        ("approve_dprd", dict(role="pimpinan", approval_ref="DPRD-1", approved_on=dprd)),
        ("approve_central", dict(role="pimpinan", approval_ref="PUSAT-1", approved_on=central)),
        ("sign", dict(role="pimpinan", signatory_name="Bupati", signatory_position="kepala_daerah",
                      signed_on=signed)),
        # an addendum of the value: TKKSD review, DPRD and central approval again, then its signing
        ("draft_addendum", dict(role="kerjasama", reason="Nilai bertambah", changes={"funding": funded(amount=200_000_000)})),
        ("submit_addendum", dict(role="kerjasama", addendum_no=1)),
        ("record_addendum_review", dict(role="tkksd", addendum_no=1, recommended=True, notes="Layak",
                                        reviewed_on=addendum_reviewed)),
        ("approve_addendum_dprd", dict(role="pimpinan", addendum_no=1, approval_ref="DPRD-2",
                                       approved_on=addendum_approved)),
        ("approve_addendum_central", dict(role="pimpinan", addendum_no=1, approval_ref="PUSAT-2",
                                          approved_on=addendum_approved)),
        ("sign_addendum", dict(role="pimpinan", addendum_no=1, number="ADD-1", signed_on=amended,
                               signatory_name="Bupati", signatory_position="kepala_daerah")),
        ("terminate", dict(role="pimpinan", reason="Diakhiri", on=terminated)),
    ]
    for command, kwargs in steps:
        before = stream.agreement.snapshot()
        try:
            dated = "today" in inspect.signature(getattr(stream.agreement, command)).parameters
            stream.do(command, **({"today": today} if dated else {}), **kwargs)
        except DomainError as refusal:
            assert refusal.rule in DATE_RULES, refusal
            assert stream.agreement.snapshot() == before  # a refusal changes nothing
            break
    acts = dated_acts(stream.agreement)
    assert acts == sorted(acts) and all(act <= today for act in acts)


def test_a_report_is_not_dated_before_the_signing_nor_after_today():
    stream = with_activity(at("ACTIVE", "KSDD", "PKS"))
    report = dict(role="kerjasama", activity_id="act-1", period="2025-TW1", realisation=10)
    for filed_on, rule in ((date(2024, 12, 1), "date_before_previous_step"), (TODAY + timedelta(days=1),
                                                                                "date_in_future")):
        try:
            stream.do("file_report", filed_on=filed_on, **report)
        except DomainError as refusal:
            assert refusal.rule == rule
        else:
            raise AssertionError(f"a report filed on {filed_on} was accepted")
    stream.do("file_report", filed_on=date(2025, 4, 1), **report)
    assert stream.agreement.status == Status.ACTIVE and START < date(2025, 4, 1) < END
