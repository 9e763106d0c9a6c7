"""Dates of acts: random dates on every dated command; every history the domain accepts is in order.

The client may give the date of an act (review, approvals, signing, addenda, termination, reports)
because the paper often predates the entry, but never after today and never before the previous
step of the same agreement (rules ``date_in_future`` and ``date_before_previous_step``), and an act about
the term (review, approvals, signing, addendum, termination) never after its end (``date_after_end``).
Reports may be filed late, after the end; activation and expiry days follow from the term.
"""
from __future__ import annotations

import inspect
from datetime import date, timedelta

from hypothesis import event, given, settings, strategies as st

from services.agreements.domain import Agreement, Status, latest_end, period_bounds
from shared.domain import DomainError
from tests.unit.agreements.test_agreement_builders import (
    END, LEAD_OPD, SIGNED_ON, START, TODAY, at, drafted, envelopes, funded, partner_for, refused, with_activity,
)

SIGN = dict(signatory_name="Bupati", signatory_position="kepala_daerah", signed_on=SIGNED_ON)

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


# --- within the term (rule ``date_after_end``) --------------------------------------------------------

def test_an_act_about_the_term_is_not_dated_after_its_end():
    """Review, approvals, signing, addenda and termination lie within the term they are about."""
    after = END + timedelta(days=1)
    review = at("UNDER_REVIEW", burdens_public=True)
    with refused("date_after_end"):
        review.do("record_review", role="tkksd", recommended=True, notes="", reviewed_on=after)
    dprd = at("AWAITING_DPRD", burdens_public=True)
    with refused("date_after_end"):
        dprd.do("approve_dprd", role="pimpinan", approval_ref="DPRD-1", approved_on=after)
    central = at("AWAITING_CENTRAL", "KSDPL")
    with refused("date_after_end"):
        central.do("approve_central", role="pimpinan", approval_ref="PUSAT-1", approved_on=after)
    ready = at("READY_TO_SIGN")
    with refused("date_after_end"):
        ready.do("sign", role="pimpinan", **{**SIGN, "signed_on": after})
    active = at("ACTIVE")
    with refused("date_after_end"):
        active.do("terminate", role="pimpinan", reason="Diakhiri", on=after)
    active.do("draft_addendum", role="kerjasama", reason="Ubah", changes={"title": "Baru"})
    with refused("date_after_end"):
        active.do("sign_addendum", role="pimpinan", addendum_no=1, number="ADD-1", **{**SIGN, "signed_on": after})
    active.do("withdraw_addendum", role="kerjasama", addendum_no=1, reason="Tidak jadi")
    # the last day of the term is still within it
    active.do("terminate", role="pimpinan", reason="Diakhiri", on=END)
    assert active.agreement.termination["terminated_on"] == END.isoformat()


def test_an_addendum_is_not_signed_after_the_end_it_sets():
    stream = at("ACTIVE")
    stream.do("draft_addendum", role="kerjasama", reason="Dipersingkat", changes={"end_date": date(2025, 3, 31)})
    stream.do("submit_addendum", role="kerjasama", addendum_no=1)
    stream.do("record_addendum_review", role="tkksd", addendum_no=1, recommended=True, notes="Layak",
              reviewed_on=date(2025, 3, 31))
    with refused("date_after_end"):
        stream.do("sign_addendum", role="pimpinan", addendum_no=1, number="ADD-1",
                  **{**SIGN, "signed_on": date(2025, 4, 1)})
    stream.do("sign_addendum", role="pimpinan", addendum_no=1, number="ADD-1", **{**SIGN, "signed_on": date(2025, 3, 31)})
    assert stream.agreement.end_date == date(2025, 3, 31)


def test_date_rules_come_in_order_today_then_previous_step_then_end():
    stream = at("ACTIVE")
    with refused("date_in_future"):
        stream.do("terminate", role="pimpinan", reason="x", on=TODAY + timedelta(days=1))
    with refused("date_before_previous_step"):
        stream.do("terminate", role="pimpinan", reason="x", on=SIGNED_ON - timedelta(days=1))


# --- histories of random commands ---------------------------------------------------------------------

ACT_DATES = {  # event type → the field holding the date of the act the client gave
    "agreement.review_recorded": "reviewed_on", "agreement.dprd_approved": "approved_on",
    "agreement.central_approved": "approved_on", "agreement.signed": "signed_on", "agreement.amended": "signed_on",
    "agreement.terminated": "terminated_on", "agreement.addendum_review_recorded": "reviewed_on",
    "agreement.addendum_dprd_approved": "approved_on", "agreement.addendum_central_approved": "approved_on",
}
ADDENDUM_COMMANDS = ["draft_addendum", "submit_addendum", "record_addendum_review", "approve_addendum_dprd",
                     "approve_addendum_central", "sign_addendum"]
COMMANDS = ["submit", "start_review", "return_for_revision", "edit_draft", "record_review", "approve_dprd",
            "approve_central", "sign", "activate", "raise_expiry_reminder", *ADDENDUM_COMMANDS, "file_report",
            "terminate", "expire"]

NEXT = {"DRAFT": ["submit"], "SUBMITTED": ["start_review"], "UNDER_REVIEW": ["record_review"],
        "AWAITING_DPRD": ["approve_dprd"], "AWAITING_CENTRAL": ["approve_central"], "READY_TO_SIGN": ["sign"],
        "SIGNED": ["activate", "draft_addendum", "file_report", "terminate"],
        "ACTIVE": ["draft_addendum", "file_report", "file_report", "terminate", "expire", "raise_expiry_reminder"]}
# The next step of an open addendum (an editorial one may be signed from its draft).
ADDENDUM_NEXT = {"DRAFT": ["submit_addendum", "sign_addendum"], "UNDER_REVIEW": ["record_addendum_review"],
                 "AWAITING_DPRD": ["approve_addendum_dprd"], "AWAITING_CENTRAL": ["approve_addendum_central"],
                 "READY_TO_SIGN": ["sign_addendum"]}


def command_args(data, command, agreement, today):
    """Role and arguments for ``command`` with a random date around ``today`` (often before, sometimes after)."""
    def some_day(field):
        return today + timedelta(days=data.draw(st.integers(-300, 20), label=field))

    sign = dict(signatory_name="Pj. Bupati", signatory_position="pj_kepala_daerah")
    if command == "submit":
        return "kerjasama", dict(partners=[partner_for(agreement.category, pid=p) for p in agreement.partner_ids])
    if command == "start_review":
        return "tkksd", {}
    if command == "return_for_revision":
        return "tkksd", dict(reason="Perbaiki")
    if command == "edit_draft":
        end = agreement.start_date + timedelta(days=data.draw(st.integers(200, 1800), label="new term"))
        return "kerjasama", dict(changes={"end_date": end})
    if command == "record_review":
        return "tkksd", dict(recommended=True, notes="Layak", reviewed_on=some_day("reviewed_on"))
    if command in ("approve_dprd", "approve_central"):
        return "pimpinan", dict(approval_ref="REF-1", approved_on=some_day("approved_on"))
    if command == "sign":
        return "pimpinan", dict(signed_on=some_day("signed_on"), **sign)
    no = dict(addendum_no=(agreement.open_addendum or {}).get("addendum_no", 1))
    if command == "draft_addendum":
        changes = data.draw(st.sampled_from([{"title": "Judul adendum"}, {"end_date": None}]), label="changes")
        if "end_date" in changes:
            changes = {"end_date": agreement.end_date + timedelta(days=data.draw(st.integers(-400, 200),
                                                                                 label="new end"))}
        return "kerjasama", dict(reason="Ubah", changes=changes)
    if command == "submit_addendum":
        return "kerjasama", no
    if command == "record_addendum_review":
        return "tkksd", dict(no, recommended=True, notes="Layak", reviewed_on=some_day("addendum reviewed_on"))
    if command in ("approve_addendum_dprd", "approve_addendum_central"):
        return "pimpinan", dict(no, approval_ref="REF-2", approved_on=some_day("addendum approved_on"))
    if command == "sign_addendum":
        return "pimpinan", dict(no, number="ADD", signed_on=some_day("addendum"), **sign)
    if command == "terminate":
        return "pimpinan", dict(reason="Diakhiri", on=some_day("terminated_on"))
    if command == "file_report":
        year = data.draw(st.integers(agreement.start_date.year, agreement.end_date.year), label="report year")
        quarter = data.draw(st.integers(1, 4), label="quarter")
        return "opd", dict(opd=LEAD_OPD, activity_id="act-1", period=f"{year}-TW{quarter}", realisation=5,
                           filed_on=some_day("filed_on"))
    return "service", dict(on=today)  # activate, raise_expiry_reminder, expire: the scheduler's day


def check_history(history):
    """Every accepted act lies between the previous step and the day it was recorded, within its term."""
    latest = None  # the latest dated step so far: acts and the activation day
    signed_on = None
    for event, today, start, end in history:
        data = event.data
        if event.type in ACT_DATES:
            day = date.fromisoformat(data[ACT_DATES[event.type]])
            assert day <= today, (event.type, day, today)
            assert latest is None or day >= latest, (event.type, day, latest)
            assert day <= end, (event.type, day, end)
            if event.type == "agreement.amended" and "end_date" in data["changes"]:
                assert day <= date.fromisoformat(data["changes"]["end_date"])
            if event.type == "agreement.signed":
                signed_on = day
            latest = day
        elif event.type == "agreement.activated":
            day = date.fromisoformat(data["activated_on"])
            assert start <= day <= end and day >= signed_on and day <= today
            latest = max(latest, day)
        elif event.type == "agreement.expired":
            assert date.fromisoformat(data["expired_on"]) == end + timedelta(days=1) > latest
        elif event.type == "agreement.report_filed":
            day = date.fromisoformat(data["filed_on"])
            assert signed_on <= day <= today
            assert day >= period_bounds(data["period"])[0]


@settings(max_examples=200, deadline=None)
@given(data=st.data(), category=st.sampled_from(["SINERGI", "KSDPL"]), burdens=st.booleans(),
       start_offset=st.integers(0, 1500), length=st.integers(100, 1826))
def test_every_accepted_command_sequence_is_in_order_and_within_its_term(data, category, burdens, start_offset,
                                                                        length):
    """Random commands with random dates on a random term, the clock moving forward: whatever the
    domain accepts forms a history in order (rules ``date_in_future``, ``date_before_previous_step``,
    ``date_after_end``); whatever it refuses changes nothing."""
    start = date(2023, 1, 1) + timedelta(days=start_offset)
    end = min(start + timedelta(days=length), latest_end(start))
    stream = drafted(category, burdens_public=burdens, start_date=start, end_date=end, partners=[
        partner_for(category)])
    if category == "SINERGI":  # a nota kesepakatan carries a work plan: reports can be filed on it
        with_activity(stream, schedule_start=start, schedule_end=end)
    today = start - timedelta(days=data.draw(st.integers(0, 400), label="first today"))
    history = []
    for _ in range(data.draw(st.integers(1, 30), label="steps")):
        today += timedelta(days=data.draw(st.integers(0, 120), label="clock"))
        agreement = stream.agreement
        # mostly the next step of the procedure (so histories get far), sometimes any command at all
        likely = NEXT.get(agreement.status) or COMMANDS
        if agreement.status in ("SIGNED", "ACTIVE") and agreement.open_addendum:
            likely = ADDENDUM_NEXT[agreement.open_addendum["status"]] + likely
        command = data.draw(st.sampled_from(likely) | st.sampled_from(COMMANDS), label="command")
        role, kwargs = command_args(data, command, agreement, today)
        before, term = agreement.snapshot(), (agreement.start_date, agreement.end_date)
        try:
            new = stream.do(command, role=role, today=today, **kwargs) if "today" in inspect.signature(
                getattr(agreement, command)).parameters else stream.do(command, role=role, **kwargs)
        except DomainError:
            assert stream.agreement.snapshot() == before  # a refusal changes nothing
            continue
        history += [(event, today, *term) for event in new]
    check_history(history)
    for kind in sorted({event.type for event, *_ in history}):
        event(kind)  # hypothesis statistics: which acts the generated histories reach
    assert Agreement.rebuild(stream.agreement.stream_id, envelopes(stream.events)).snapshot() == \
        stream.agreement.snapshot()
