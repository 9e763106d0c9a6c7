"""Every operation of every service × every role (and, for OPD officers, their own and another OPD),
generated from the services' OpenAPI documents and judged against the access policy.

A cell the policy refuses must answer 403 ``access_denied`` (never 2xx); a cell it allows must not
be refused for access (it may still be refused by validation or the domain). The matrix is printed
as a table. Every operation must have a rule and every rule an operation. Independently of the rules,
``admin`` must be refused every write but the dead-letter operations (segregation of duties).
"""
import re

import jwt

from shared.auth import mint_token
from shared.policy import EVERYONE

from services.agreements.policy import RULES as AGREEMENT_RULES
from services.evaluation.policy import RULES as EVALUATION_RULES
from services.partners.policy import RULES as PARTNER_RULES
from tests.e2e.flows import signed_kb
from tests.e2e.test_evaluation_e2e import in_register, schedule
from tests.support import wait_until

OWN_OPD, OTHER_OPD = "DISKOMINFO", "DINKES"
RULES = {"partners": PARTNER_RULES, "agreements": AGREEMENT_RULES, "evaluation": EVALUATION_RULES}


def openapi_path(flask_rule: str) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", flask_rule)


def actors():
    for role in sorted(EVERYONE):
        if role == "opd":
            yield "opd(own)", role, OWN_OPD
            yield "opd(other)", role, OTHER_OPD
        else:
            yield role, role, None


def expected(service, method, flask_rule, query, opd, role, world):
    """What the policy says for this cell, resolving OPDs from the world this test made."""
    rule = RULES[service][f"{method} {flask_rule}"]
    if role not in rule.roles:
        return False
    if role != "opd" or not rule.scope:
        return True
    responsible = {"agreement": {OWN_OPD}, "evaluation": {OWN_OPD},
                   "feed": {OWN_OPD} if query.get("subject") in (world["agreement"], world["evaluation"]) else set()}
    return opd in responsible[rule.scope]


def test_every_operation_for_every_role_is_decided_by_the_policy(stack, capsys):
    partner, kb = signed_kb(stack, lead_opd=OWN_OPD)
    wait_until(lambda: in_register(stack, kb["id"])["status"] in ("SIGNED", "ACTIVE") or None, 30,
               what="the signed KB in the register")
    evaluation = schedule(stack, kb["id"])
    world = {"agreement": kb["id"], "evaluation": evaluation["stream_id"], "partner": partner}
    values = {"agreement_id": kb["id"], "evaluation_id": evaluation["stream_id"], "partner_id": partner,
              "stream_id": kb["id"], "activity_id": "no-such-activity", "file_id": "no-such-file",
              "letter_id": "no-such-letter", "key": OWN_OPD, "addendum_no": "1"}

    rows, unexpected, admin_writes = [], [], []
    for service in ("partners", "agreements", "evaluation"):
        spec = stack.call("GET", service, "/api/v1/openapi.json", role=None).json()
        by_path = {openapi_path(key.split(" ", 1)[1]): key.split(" ", 1)[1] for key in RULES[service]}
        documented = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops if m in ("get", "post")}
        ruled = {(key.split(" ", 1)[0], openapi_path(key.split(" ", 1)[1])) for key in RULES[service]}
        assert documented == ruled, (f"{service}: operations without a rule {sorted(documented - ruled)}, "
                                     f"rules without an operation {sorted(ruled - documented)}")
        for method, path in sorted(documented, key=lambda mp: (mp[1], mp[0])):
            flask_rule = by_path[path]
            url = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)
            query = {"subject": kb["id"]} if path == "/api/v1/feed" else {}
            cells = []
            for label, role, opd in actors():
                token = mint_token(stack.settings, role, opd=opd, sub=f"matrix-{label}")
                r = stack.call(method, service, url, role=None, headers={"Authorization": f"Bearer {token}"},
                               params=query, **({"json": {}} if method == "POST" else {}))
                denied = r.status_code == 403 and r.headers.get("Content-Type", "").startswith(
                    "application/problem+json") and r.json().get("rule") == "access_denied"
                allowed = expected(service, method, flask_rule, query, opd, role, world)
                ok = (not denied and r.status_code != 401) if allowed else denied
                if not ok:
                    unexpected.append(f"{method} {url} as {label}: {r.status_code} {r.text[:160]}")
                if role == "admin" and method == "POST" and "/deadletters/" not in path and not denied:
                    admin_writes.append(f"{method} {url}: {r.status_code}")
                cells.append(("·" if not allowed else str(r.status_code)) + ("" if ok else "!"))
            rows.append((f"{method:4s} {path}", cells))

    labels = [label for label, _, _ in actors()]
    width = max(len(name) for name, _ in rows)
    with capsys.disabled():
        print("\naccess matrix (· = refused by the policy with 403 access_denied; a number = the status of an "
              "allowed call; ! = not what the policy says)")
        print(" " * width + " " + " ".join(f"{label:>10s}" for label in labels))
        for name, cells in rows:
            print(f"{name:{width}s} " + " ".join(f"{cell:>10s}" for cell in cells))
    assert not unexpected, "\n".join(unexpected)
    assert not admin_writes, "admin reached workflow commands:\n" + "\n".join(admin_writes)


def test_an_opd_token_without_its_opd_is_refused(stack):
    token = mint_token(stack.settings, "kerjasama", sub="no-opd")  # then claim opd without an OPD:
    claims = jwt.decode(token, options={"verify_signature": False})
    claims["role"] = "opd"
    forged = jwt.encode(claims, stack.settings.jwt_secret, algorithm="HS256")
    r = stack.call("GET", "evaluation", "/api/v1/agreements", role=None, headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 403 and r.json()["rule"] == "access_denied" and "opd" in r.json()["detail"]
