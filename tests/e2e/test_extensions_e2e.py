"""Extensions (perpanjangan) over HTTP: a legal extension accepted once the old agreement's AKHIR
evaluation, finalized in the evaluation service, reaches the agreements service through the
evaluation topic; one accepted on the leadership's recorded waiver; refused ones (another partner,
an overlapping term, a second live extension, no final evaluation yet)."""
from cli.workflow import post_until_accepted
from tests.e2e.flows import act, draft, register_verified, to_ready
from tests.e2e.test_evaluation_e2e import full_answers, in_register, post, schedule
from tests.support import wait_until

# The old term has ended (the AKHIR period is over); it was signed before it started.
OLD = {"start_date": "2025-01-01", "end_date": "2026-06-30"}
NEXT = {"start_date": "2026-07-01", "end_date": "2029-06-30"}
SIGN = {"signatory_name": "Dr. H. Bambang Bayu Suseno", "signatory_position": "kepala_daerah",
        "signed_on": "2024-12-20"}


def old_agreement(stack):
    """An agreement with a fresh partner, signed (the scheduler then activates and expires it)."""
    partner = register_verified(stack)
    old = draft(stack, partner, title="Kesepakatan Bersama yang akan diperpanjang", **OLD).json()
    to_ready(stack, old["id"], reviewed_on="2024-12-10")
    act(stack, old["id"], "sign", "pimpinan", SIGN)
    return partner, old["id"]


def extension(stack, partner, old_id, **fields):
    return draft(stack, partner, **{"title": "Perpanjangan Kesepakatan Bersama", "extends_agreement_id": old_id,
                                    **NEXT, **fields})


def submitted_with(stack, agreement_id):
    """What the submission recorded as the final evaluation (read from the stored events)."""
    events = stack.call("GET", "agreements", f"/api/v1/streams/{agreement_id}/events", role="auditor").json()["events"]
    return next(e["data"]["final_evaluation"] for e in events if e["event_type"] == "agreement.submitted")


def test_an_extension_needs_the_same_partner_the_next_day_and_the_finalized_akhir_evaluation(stack):
    partner, old_id = old_agreement(stack)
    stranger = register_verified(stack)

    other = extension(stack, stranger, old_id)
    assert other.status_code == 422 and other.json()["rule"] == "extension_partner_mismatch", other.text
    overlapping = extension(stack, partner, old_id, start_date="2026-06-01")
    assert overlapping.status_code == 422 and overlapping.json()["rule"] == "extension_overlaps_old_term"
    late = extension(stack, partner, old_id, start_date="2026-10-01")
    assert late.status_code == 422 and late.json()["rule"] == "extension_gap_too_long"

    legal = extension(stack, partner, old_id)
    assert legal.status_code == 201, legal.text
    ext_id = legal.json()["id"]
    assert legal.json()["extends_agreement_id"] == old_id
    second = extension(stack, partner, old_id, title="Perpanjangan kedua")
    assert second.status_code == 409 and second.json()["rule"] == "one_live_extension"
    assert ext_id in second.json()["detail"]

    submit = stack.call("POST", "agreements", f"/api/v1/agreements/{ext_id}/submit", json={})
    assert submit.status_code == 409 and submit.json()["rule"] == "final_evaluation_required", submit.text

    # The final evaluation, in the evaluation service
    wait_until(lambda: in_register(stack, old_id)["status"] in ("SIGNED", "ACTIVE", "EXPIRED"), 30,
               what="the signed agreement in the register")
    akhir = schedule(stack, old_id, period="AKHIR", year=2026, due_date="2026-12-31")["stream_id"]
    assert post(stack, akhir, "answers", {"answers": full_answers(stack)}).status_code == 200
    assert post(stack, akhir, "submit").status_code == 200
    assert post(stack, akhir, "finalize").json()["status"] == "FINALIZED"

    # … reaches the agreements service's replica through the evaluation topic
    accepted = post_until_accepted(stack.client, "agreements", f"/api/v1/agreements/{ext_id}/submit", {},
                                   stack.caller("kerjasama"), patience=30,
                                   waiting_for=frozenset({"final_evaluation_required"}))
    assert accepted.status_code == 200 and accepted.json()["status"] == "SUBMITTED", accepted.text
    assert submitted_with(stack, ext_id) == {"evaluation_id": akhir}

    # once the live extension is cancelled, another may be drafted
    act(stack, ext_id, "cancel", "kerjasama", {"reason": "Diganti rancangan dengan ruang lingkup baru"})
    again = extension(stack, partner, old_id, title="Perpanjangan dengan ruang lingkup baru")
    assert again.status_code == 201, again.text


def test_the_leaderships_waiver_stands_in_for_the_final_evaluation(stack):
    partner, old_id = old_agreement(stack)
    ext_id = extension(stack, partner, old_id).json()["id"]
    submit = stack.call("POST", "agreements", f"/api/v1/agreements/{ext_id}/submit", json={})
    assert submit.status_code == 409 and submit.json()["rule"] == "final_evaluation_required"

    reason = {"reason": "Kinerja kerja sama telah dinilai dalam audit kinerja Inspektorat tahun 2026"}
    refused = stack.call("POST", "agreements", f"/api/v1/agreements/{old_id}/waive-final-evaluation", json=reason)
    assert refused.status_code == 403 and refused.json()["rule"] == "access_denied"
    waived = act(stack, old_id, "waive-final-evaluation", "pimpinan", reason)
    assert waived["final_evaluation_waiver"]["reason"] == reason["reason"]

    submitted = act(stack, ext_id, "submit", "kerjasama")
    assert submitted["status"] == "SUBMITTED"
    assert submitted_with(stack, ext_id) == {"waived": True, "waived_on": waived["final_evaluation_waiver"]["waived_on"]}
