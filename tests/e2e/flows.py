"""Business flows reused by e2e tests: a verified partner, an agreement driven through its workflow.

The workflow itself (which command follows which status, retries while Kafka carries a partner to
the agreements service) is cli/workflow.py's, shared with the demo loader and the browser seed.
"""
import uuid

from cli import workflow
from cli.workflow import AgreementWorkflow


def register_verified(stack, **profile):
    body = {"name": f"Mitra {uuid.uuid4().hex[:6]}", "kind": "daerah_lain",
            "region_code": f"{uuid.uuid4().int % 80 + 11}.{uuid.uuid4().int % 90 + 10}.{uuid.uuid4().int % 90 + 10}"}
    body.update(profile)
    if body["kind"] != "daerah_lain":
        body.pop("region_code")
    return workflow.register_verified(stack.client, body)


def draft(stack, partner_id, **fields):
    """The answer to drafting (sent again until the agreements replica knows the partner)."""
    body = {"category": "KSDD", "ksdd_type": "sukarela", "document_kind": "KB", "title": "Kesepakatan Bersama Uji",
            "partner_ids": [partner_id], "start_date": "2026-01-01", "end_date": "2030-12-31",
            "lead_opd": "SETDA", "urusan": ["pariwisata"], "burdens_public": False}
    body.update(fields)
    r = workflow.draft(stack.client, body)
    assert r.status_code == 201 or r.json().get("rule") != "partner_not_found", "partner never reached the replica"
    return r


def act(stack, agreement_id, command, role, body=None, expect=200, **kw):
    r = AgreementWorkflow(stack.client, agreement_id).send(command, stack.caller(role), body or {}, **kw)
    assert r.status_code == expect, f"{command}: {r.status_code} {r.text}"
    return r.json()


def to_ready(stack, agreement_id, reviewed_on=None):
    """Submitted, taken up and reviewed (recommended, on ``reviewed_on``, else today); the review's answer."""
    flow = AgreementWorkflow(stack.client, agreement_id)
    assert flow.walk_to("UNDER_REVIEW"), f"{agreement_id} stopped at {flow.status}: {flow.last and flow.last.text}"
    review = {"recommended": True, "notes": "layak", **({"reviewed_on": reviewed_on} if reviewed_on else {})}
    r = flow.send("review", "tkksd", review)
    assert r.status_code == 200, f"review: {r.status_code} {r.text}"
    return r.json()


def signed_kb(stack, **fields):
    """A signed KB with a fresh verified partner; returns (partner_id, agreement)."""
    partner = register_verified(stack)
    kb = draft(stack, partner, **fields).json()
    to_ready(stack, kb["id"])
    return partner, act(stack, kb["id"], "sign", "pimpinan", {"signatory_name": "Bupati Muaro Jambi",
                                                             "signatory_position": "kepala_daerah"})


def addendum(stack, agreement_id, changes, reason, signing):
    """An addendum through its lifecycle: drafted, reviewed by the TKKSD, approved again when the
    amended terms need it, then signed; the signing's answer (the agreement as amended)."""
    drafted = act(stack, agreement_id, "addenda", "kerjasama", {"reason": reason, "changes": changes})
    no = drafted["addenda"][-1]["addendum_no"]
    act(stack, agreement_id, f"addenda/{no}/submit", "kerjasama")
    status = act(stack, agreement_id, f"addenda/{no}/review", "tkksd",
                 {"recommended": True, "notes": "Layak"})["addenda"][-1]["status"]
    for step in ("dprd", "central"):
        if status == f"AWAITING_{step.upper()}":
            status = act(stack, agreement_id, f"addenda/{no}/{step}-approval", "pimpinan",
                         {"approval_ref": f"{step.upper()}/ADD/{no}"})["addenda"][-1]["status"]
    return act(stack, agreement_id, f"addenda/{no}/sign", "pimpinan", signing)
