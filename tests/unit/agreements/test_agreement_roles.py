"""Who may send which command (DOMAIN.md §5) and how OPD officers are scoped to their own work."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from shared.domain import Refusal
from services.agreements.domain import COMMAND_ROLES, Agreement, Role
from tests.unit.agreements.test_agreement_builders import (
    funded, END, LEAD_OPD, SIGNED_ON, START, Stream, at, draft_kwargs, file_meta, kb_amended, partner_for, refused,
    signed_pks, with_activity,
)

ROLES = [r.value for r in Role]

# The policy, written out from DOMAIN.md §5. ``admin`` sends none of them: it manages configuration and dead
# letters, not the workflow (segregation of duties).
EXPECTED = {
    "draft": {"kerjasama"},
    "edit_draft": {"kerjasama"},
    "submit": {"kerjasama"},
    "cancel": {"kerjasama"},
    "start_review": {"kerjasama", "tkksd"},
    "return_for_revision": {"kerjasama", "tkksd"},
    "record_review": {"tkksd"},
    "reject": {"pimpinan"},  # the TKKSD recommends; the head of region decides
    "approve_dprd": {"pimpinan"},
    "approve_central": {"pimpinan"},
    "sign": {"pimpinan"},
    "waive_final_evaluation": {"pimpinan"},
    "draft_addendum": {"kerjasama"},
    "edit_addendum": {"kerjasama"},
    "submit_addendum": {"kerjasama"},
    "withdraw_addendum": {"kerjasama"},
    "record_addendum_review": {"tkksd"},
    "approve_addendum_dprd": {"pimpinan"},
    "approve_addendum_central": {"pimpinan"},
    "reject_addendum": {"pimpinan"},
    "sign_addendum": {"pimpinan"},
    "terminate": {"pimpinan", "kerjasama"},
    "activate": {"kerjasama", "service"},
    "expire": {"kerjasama", "service"},
    "raise_expiry_reminder": {"kerjasama", "service"},
    "attach_document": {"kerjasama", "pimpinan"},
    "add_activity": {"kerjasama", "opd"},
    "update_activity": {"kerjasama", "opd"},
    "remove_activity": {"kerjasama", "opd"},
    "file_report": {"kerjasama", "opd"},
    "record_parent_change": {"service"},
    "acknowledge_parent_change": {"kerjasama"},
}

SIGN = dict(signatory_name="Bupati", signatory_position="kepala_daerah", signed_on=SIGNED_ON)


def scenario(command: str):
    """A stream where ``command`` is allowed, and the arguments (besides role/opd) to send it."""
    if command == "draft":
        kwargs = draft_kwargs()
        del kwargs["role"]
        return Stream(), kwargs
    if command in ("edit_draft", "submit", "cancel", "attach_document"):
        stream = at("DRAFT")
        return stream, {
            "edit_draft": {"changes": {"title": "Judul baru"}},
            "submit": {"partners": [partner_for("KSDD")]},
            "cancel": {"reason": "Batal"},
            "attach_document": {"kind": "kak", "file": file_meta()},
        }[command]
    if command in ("start_review", "return_for_revision"):
        return at("SUBMITTED"), ({} if command == "start_review" else {"reason": "Perbaiki"})
    if command in ("record_review", "reject"):
        return at("UNDER_REVIEW"), ({"recommended": True, "notes": "", "reviewed_on": date(2024, 12, 1)}
                                    if command == "record_review" else {"reason": "Ditolak"})
    if command == "approve_dprd":
        return at("AWAITING_DPRD", burdens_public=True), {"approval_ref": "DPRD-1", "approved_on": SIGNED_ON}
    if command == "approve_central":
        return at("AWAITING_CENTRAL", "KSDPL"), {"approval_ref": "PUSAT-1", "approved_on": SIGNED_ON}
    if command == "sign":
        return at("READY_TO_SIGN"), SIGN
    if "addendum" in command:
        return addendum_scenario(command)
    if command in ("terminate", "activate", "expire", "raise_expiry_reminder", "waive_final_evaluation"):
        return at("SIGNED"), {
            "waive_final_evaluation": {"reason": "Dievaluasi melalui audit kinerja Inspektorat"},
            "terminate": {"reason": "Diakhiri", "on": date(2025, 6, 1)},
            "activate": {"on": START},
            "expire": {"on": END + timedelta(days=1)},
            "raise_expiry_reminder": {"on": END - timedelta(days=90)},
        }[command]
    if command in ("record_parent_change", "acknowledge_parent_change"):
        stream = signed_pks()
        kb_before, kb_after = kb_amended(stream, end_date=END - timedelta(days=30))
        change = dict(kb_before=kb_before, kb_after=kb_after, cause_event_id="evt-kb-1",
                      cause_event_type="agreement.amended")
        if command == "record_parent_change":
            return stream, change
        stream.do("record_parent_change", role="service", **change)
        return stream, {"note": "Ditinjau"}
    activity = dict(activity_id="act-2", name="Sosialisasi", indicator="Desa", target=10, unit="desa",
                    schedule_start=START, schedule_end=END, responsible_opd=LEAD_OPD, budget=0)
    stream = with_activity(signed_pks())
    return stream, {
        "add_activity": activity,
        "update_activity": {"activity_id": "act-1", "changes": {"target": 50}},
        "remove_activity": {"activity_id": "act-1"},
        "file_report": {"activity_id": "act-1", "period": "2025-TW1", "realisation": 10, "filed_on": date(2025, 4, 1)},
    }[command]


def addendum_scenario(command: str):
    """A signed foreign KB with an addendum of its value at the stage where ``command`` is allowed."""
    stream = at("SIGNED", "KSDPL")
    if command == "draft_addendum":
        return stream, {"reason": "Nilai bertambah", "changes": {"funding": funded(amount=1)}}
    stream.do("draft_addendum", role="kerjasama", reason="Nilai bertambah", changes={"funding": funded(amount=1)})
    one = {"addendum_no": 1}
    stages = [("submit_addendum", {}), ("record_addendum_review", {"recommended": True, "notes": "",
                                                                   "reviewed_on": SIGNED_ON}),
              ("approve_addendum_dprd", {"approval_ref": "DPRD-2", "approved_on": SIGNED_ON}),
              ("approve_addendum_central", {"approval_ref": "PUSAT-2", "approved_on": SIGNED_ON}),
              ("sign_addendum", {"number": "ADD-1", **SIGN})]
    extra = {"edit_addendum": {"changes": {"funding": funded(amount=2)}}, "withdraw_addendum": {"reason": "Ditarik"},
             "reject_addendum": {"reason": "Ditolak"}}
    if command in extra:
        return stream, {**one, **extra[command]}
    for name, kwargs in stages:
        if name == command:
            return stream, {**one, **kwargs}
        stream.do(name, role={"submit_addendum": "kerjasama", "record_addendum_review": "tkksd"}.get(name, "pimpinan"),
                  **one, **kwargs)
    raise AssertionError(command)


def test_the_domain_table_is_the_documented_policy():
    assert {c: set(r) for c, r in COMMAND_ROLES.items()} == EXPECTED


@pytest.mark.parametrize("command", sorted(EXPECTED))
@pytest.mark.parametrize("role", ROLES)
def test_each_role_may_send_exactly_its_commands(command, role):
    stream, kwargs = scenario(command)
    before = stream.agreement.snapshot()
    if role in EXPECTED[command]:
        events = stream.do(command, role=role, opd=LEAD_OPD, **kwargs) if role == "opd" else \
            stream.do(command, role=role, **kwargs)
        assert len(events) == 1
    else:
        with refused("role_not_allowed", Refusal.FORBIDDEN):
            stream.do(command, role=role, **kwargs)
        assert stream.agreement.snapshot() == before


def test_an_unknown_role_is_refused():
    stream, kwargs = scenario("submit")
    with refused("role_not_allowed", Refusal.FORBIDDEN):
        stream.do("submit", role="superuser", **kwargs)


def test_permission_is_checked_before_the_state():
    with refused("role_not_allowed", Refusal.FORBIDDEN):
        at("DRAFT").do("sign", role="auditor", **SIGN)


# --- OPD scoping -----------------------------------------------------------------------------------

def test_only_the_lead_opd_edits_the_work_plan():
    stream = with_activity(signed_pks())
    for command, kwargs in (("add_activity", scenario("add_activity")[1]),
                            ("update_activity", {"activity_id": "act-1", "changes": {"target": 60}}),
                            ("remove_activity", {"activity_id": "act-1"})):
        for other in ("DINKES", None):
            with refused("opd_not_responsible", Refusal.FORBIDDEN):
                stream.do(command, role="opd", opd=other, **kwargs)
    assert stream.do("update_activity", role="opd", opd=LEAD_OPD, activity_id="act-1", changes={"target": 60})


def test_a_report_is_filed_by_the_activity_s_responsible_opd_or_kerjasama():
    stream = with_activity(signed_pks(), responsible_opd="DINKES")
    report = dict(activity_id="act-1", period="2025-TW1", realisation=5, filed_on=date(2025, 3, 31))
    for other in (LEAD_OPD, "BAPPEDA", None):  # even the lead OPD reports only for its own activities
        with refused("opd_not_responsible", Refusal.FORBIDDEN):
            stream.do("file_report", role="opd", opd=other, **report)
    stream.do("file_report", role="opd", opd="DINKES", **report)
    stream.do("file_report", role="kerjasama", **{**report, "period": "2025-TW2", "filed_on": date(2025, 4, 1)})
    with refused("role_not_allowed", Refusal.FORBIDDEN):  # admin runs the system, not the work plan
        stream.do("file_report", role="admin", **{**report, "period": "2025-TW3", "filed_on": date(2025, 7, 1)})
    assert sorted(stream.agreement.activities["act-1"].reports) == ["2025-TW1", "2025-TW2"]


def test_opd_of_other_roles_is_ignored():
    stream = with_activity(signed_pks(), responsible_opd="DINKES")
    stream.do("file_report", role="kerjasama", opd="BAPPEDA", activity_id="act-1", period="2025-TW1", realisation=5,
              filed_on=date(2025, 4, 1))


# --- segregation of duties ------------------------------------------------------------------------

REVIEW = dict(role="tkksd", recommended=True, notes="Layak", reviewed_on=date(2024, 12, 1))


def test_the_drafter_may_not_record_the_review_of_their_draft():
    stream = at("UNDER_REVIEW", actor="siti")
    before = stream.agreement.snapshot()
    with refused("reviewer_is_author", Refusal.FORBIDDEN):
        stream.do("record_review", actor="siti", **REVIEW)
    assert stream.agreement.snapshot() == before
    stream.do("record_review", actor="budi", **REVIEW)
    assert stream.status == "READY_TO_SIGN"


def test_the_last_editor_may_not_record_the_review_and_the_rule_survives_a_rebuild():
    stream = at("DRAFT", actor="siti")
    stream.do("edit_draft", role="kerjasama", actor="andi", changes={"title": "Judul revisi"})
    stream.do("submit", role="kerjasama", partners=[partner_for("KSDD")])
    stream.do("start_review", role="tkksd")
    rebuilt = Stream(stream.rebuilt())
    for author in ("siti", "andi"):  # the drafter and the last editor
        with refused("reviewer_is_author", Refusal.FORBIDDEN):
            rebuilt.do("record_review", actor=author, **REVIEW)
    rebuilt.do("record_review", actor="budi", **REVIEW)


def test_a_stream_without_recorded_authors_binds_no_reviewer():
    stream = at("UNDER_REVIEW")
    legacy = [{"event_type": e.type, "data": {k: v for k, v in e.data.items() if k != "author"}}
              for e in stream.events]
    old = Stream(Agreement.rebuild(stream.agreement.stream_id, legacy))
    old.do("record_review", actor="anyone", **REVIEW)
    assert old.status == "READY_TO_SIGN"


@pytest.mark.parametrize("command", sorted(EXPECTED))
def test_admin_runs_the_system_not_the_workflow(command):
    """Segregation of duties: admin is refused every agreement command, whatever the state."""
    stream, kwargs = scenario(command)
    with refused("role_not_allowed", Refusal.FORBIDDEN):
        stream.do(command, role="admin", **kwargs)
