"""Business flows reused by e2e tests: a verified partner, an agreement driven through its workflow."""
import uuid

from tests.support import wait_until


def register_verified(stack, **profile):
    body = {"name": f"Mitra {uuid.uuid4().hex[:6]}", "kind": "daerah_lain",
            "region_code": f"{uuid.uuid4().int % 80 + 11}.{uuid.uuid4().int % 90 + 10}.{uuid.uuid4().int % 90 + 10}"}
    body.update(profile)
    if body["kind"] != "daerah_lain":
        body.pop("region_code")
    partner = stack.call("POST", "partners", "/api/v1/partners", json=body).json()
    r = stack.call("POST", "partners", f"/api/v1/partners/{partner['id']}/verify", json={})
    assert r.status_code == 200, r.text
    return partner["id"]


def draft(stack, partner_id, **fields):
    body = {"category": "KSDD", "ksdd_type": "sukarela", "document_kind": "KB", "title": "Kesepakatan Bersama Uji",
            "partner_ids": [partner_id], "start_date": "2026-01-01", "end_date": "2030-12-31",
            "lead_opd": "SETDA-KS", "urusan": ["pariwisata"], "burdens_public": False, "budgeted_in_apbd": True}
    body.update(fields)

    def attempt():  # the partner reaches the agreements service's replica through Kafka
        r = stack.call("POST", "agreements", "/api/v1/agreements", json=body)
        return r if not (r.status_code == 422 and r.json().get("rule") == "partner_not_found") else None
    return wait_until(attempt, 30, what="partner in the agreements replica")


def act(stack, agreement_id, command, role, body=None, expect=200, **kw):
    r = stack.call("POST", "agreements", f"/api/v1/agreements/{agreement_id}/{command}", role=role,
                   json=body or {}, **kw)
    assert r.status_code == expect, f"{command}: {r.status_code} {r.text}"
    return r.json()


def submit(stack, agreement_id):
    """Submit once the agreements service's partner replica has seen the verification (via Kafka)."""
    def attempt():
        r = stack.call("POST", "agreements", f"/api/v1/agreements/{agreement_id}/submit", json={})
        if r.status_code == 422 and r.json().get("rule") == "partner_not_verified":
            return None
        assert r.status_code == 200, f"submit: {r.status_code} {r.text}"
        return r.json()
    return wait_until(attempt, 30, what="partner verification in the agreements replica")


def to_ready(stack, agreement_id, reviewed_on=None):
    """Submitted, reviewed (on ``reviewed_on``, else today) and recommended: READY_TO_SIGN (or awaiting approvals)."""
    submit(stack, agreement_id)
    act(stack, agreement_id, "start-review", "tkksd")
    review = {"recommended": True, "notes": "layak", **({"reviewed_on": reviewed_on} if reviewed_on else {})}
    return act(stack, agreement_id, "review", "tkksd", review)


def signed_kb(stack, **fields):
    """A signed KB with a fresh verified partner; returns (partner_id, agreement)."""
    partner = register_verified(stack)
    kb = draft(stack, partner, **fields).json()
    to_ready(stack, kb["id"])
    return partner, act(stack, kb["id"], "sign", "pimpinan", {"signatory_name": "Bupati Muaro Jambi",
                                                             "signatory_position": "kepala_daerah"})
