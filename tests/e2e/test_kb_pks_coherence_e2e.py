"""A KB and its PKS over HTTP with every process running (issue 11 point 2): an addendum shortening the
KB flags the PKS that now sticks out, a termination of the KB flags every PKS, the register shows
and filters the flag, and a signed PKS under the terminated KB is refused activation."""
from tests.e2e.flows import act, addendum, draft, signed_kb, to_ready
from tests.support import wait_until

SIGNATORY = {"signatory_name": "Dr. Hj. Masnah Busro", "signatory_position": "kepala_daerah"}
PKS_SIGNATORY = {"signatory_name": "Ir. Agus Sudibyo", "signatory_position": "kepala_perangkat_daerah",
                 "power_of_attorney_ref": "800/SK-KUASA/2026"}


def write_side(stack, agreement_id):
    return stack.call("GET", "agreements", f"/api/v1/agreements/{agreement_id}").json()


def register_item(stack, agreement_id):
    r = stack.call("GET", "evaluation", f"/api/v1/agreements/{agreement_id}")
    return r.json() if r.status_code == 200 else None


def flagged(stack, partner):
    r = stack.call("GET", "evaluation", "/api/v1/agreements", params={"partner": partner, "parent_changed": "true"})
    assert r.status_code == 200, r.text
    return {i["id"] for i in r.json()["items"]}


def parent_changes(stack, agreement_id):
    events = stack.call("GET", "agreements", f"/api/v1/streams/{agreement_id}/events", role="auditor").json()
    return [e for e in events["events"] if e["event_type"] == "agreement.parent_changed"]


def signed_pks(stack, partner, kb_id, **fields):
    pks = draft(stack, partner, document_kind="PKS", parent_kb_id=kb_id, lead_opd="DISKOMINFO", **fields).json()
    to_ready(stack, pks["id"])
    return act(stack, pks["id"], "sign", "pimpinan", PKS_SIGNATORY)


def test_kb_addendum_and_termination_flag_its_pks_and_stop_activation(stack):
    partner, kb = signed_kb(stack, start_date="2026-01-01", end_date="2030-12-31")
    wait_until(lambda: write_side(stack, kb["id"])["status"] == "ACTIVE", 30, what="the KB comes into force")
    # A runs to the KB's end; B ends earlier and starts in the future, so it stays SIGNED.
    long_pks = signed_pks(stack, partner, kb["id"], title="PKS Jaringan Desa", start_date="2026-02-01",
                          end_date="2030-06-30")
    later_pks = signed_pks(stack, partner, kb["id"], title="PKS Pelatihan", start_date="2027-03-01",
                           end_date="2028-12-31")
    wait_until(lambda: write_side(stack, long_pks["id"])["status"] == "ACTIVE", 30, what="PKS A comes into force")
    assert write_side(stack, later_pks["id"])["status"] == "SIGNED"

    # An addendum shortens the KB to 2029-12-31: A (to 2030-06-30) now sticks out, B still fits.
    addendum(stack, kb["id"], {"end_date": "2029-12-31"}, "Masa berlaku disesuaikan",
             {"number": "01/ADD-KB/2026", **SIGNATORY})
    wait_until(lambda: (i := register_item(stack, long_pks["id"])) and i["parent_changed"], 60,
               what="the PKS sticking out of the shortened KB is flagged in the register")
    wait_until(lambda: parent_changes(stack, later_pks["id"]), 60, what="the change is recorded on PKS B too")
    [on_long] = parent_changes(stack, long_pks["id"])
    assert on_long["data"]["outside_kb"] is True and on_long["data"]["problems"] == ["pks_outside_kb_period"]
    assert on_long["data"]["changes"] == {"end_date": {"before": "2030-12-31", "after": "2029-12-31"}}
    assert on_long["data"]["cause"]["event_type"] == "agreement.amended"
    assert on_long["causation_id"] == on_long["data"]["cause"]["event_id"]
    [on_later] = parent_changes(stack, later_pks["id"])
    assert on_later["data"]["outside_kb"] is False
    assert write_side(stack, long_pks["id"])["parent_change_pending"] is True
    assert write_side(stack, later_pks["id"])["parent_change_pending"] is False
    assert flagged(stack, partner) == {long_pks["id"]}
    item = register_item(stack, long_pks["id"])
    assert item["parent_changes"][0]["changes"]["end_date"]["after"] == "2029-12-31"

    # The Bagian Kerja Sama reviews and acknowledges it, with a note; nobody else may.
    r = stack.call("POST", "agreements", f"/api/v1/agreements/{long_pks['id']}/acknowledge-parent-change",
                   role="pimpinan", json={"note": "Ditinjau"})
    assert r.status_code == 403
    acknowledged = act(stack, long_pks["id"], "acknowledge-parent-change", "kerjasama",
                       {"note": "Adendum PKS disiapkan agar berakhir 31 Desember 2029"})
    assert acknowledged["parent_change_pending"] is False
    r = stack.call("POST", "agreements", f"/api/v1/agreements/{long_pks['id']}/acknowledge-parent-change",
                   json={"note": "Lagi"})
    assert r.status_code == 409 and r.json()["rule"] == "no_parent_change_pending"
    wait_until(lambda: not register_item(stack, long_pks["id"])["parent_changed"], 30, what="flag cleared")

    # The KB is terminated: every live PKS under it is flagged.
    act(stack, kb["id"], "terminate", "kerjasama", {"reason": "Kesepakatan diakhiri bersama"})
    wait_until(lambda: flagged(stack, partner) == {long_pks["id"], later_pks["id"]}, 60,
               what="both PKS flagged after the KB's termination")
    for pks in (long_pks, later_pks):
        changes = parent_changes(stack, pks["id"])
        assert len(changes) == 2  # one per KB event, whatever the redeliveries
        assert changes[-1]["data"]["changes"]["status"] == {"before": "ACTIVE", "after": "TERMINATED"}
        assert "parent_kb_not_in_force" in changes[-1]["data"]["problems"]

    # B's start date comes: neither the scheduler nor an officer brings it into force.
    try:
        stack.set_today("2027-03-02")
        r = stack.call("POST", "agreements", f"/api/v1/agreements/{later_pks['id']}/activate", json={})
        assert r.status_code == 409 and r.json()["rule"] == "parent_kb_not_in_force", r.text
        assert write_side(stack, later_pks["id"])["status"] == "SIGNED"
    finally:
        stack.set_today(None)
    events = stack.call("GET", "agreements", f"/api/v1/streams/{later_pks['id']}/events", role="auditor").json()
    assert "agreement.activated" not in [e["event_type"] for e in events["events"]] and events["chain_intact"]
