"""Property-based fuzzing of every operation of every service (schemathesis, from each service's own
OpenAPI document) against the running stack: no answer is a 5xx, and every 4xx is problem+json.

Bodies, query strings, path parameters and headers are generated from the schemas and also broken
on purpose (negative cases); each call is made with a token whose role the policy allows for the
operation, so the generated input reaches the edge's validation and the domain behind it. The
stack is a fresh one of its own (its own prefix and API ports): what the fuzzer creates is seen by
no other test.
"""
import re

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from shared.auth import mint_token

from services.agreements.policy import RULES as AGREEMENT_RULES
from services.evaluation.policy import RULES as EVALUATION_RULES
from services.partners.policy import RULES as PARTNER_RULES
from tests.e2e.conftest import running_stack

RULES = {"partners": PARTNER_RULES, "agreements": AGREEMENT_RULES, "evaluation": EVALUATION_RULES}
EXAMPLES = 12  # per operation and mode; ~95 operations × 2 modes


@pytest.fixture(scope="module")
def fuzz_stack():
    yield from running_stack({"partners": 18501, "agreements": 18502, "evaluation": 18503}, label="z")


def role_for(service: str, method: str, path: str) -> str:
    """A role the policy lets through for ``method path`` (an OpenAPI path), preferring staff roles."""
    rule = next(r for key, r in RULES[service].items()
                if key.split(" ", 1)[0] == method.upper()
                and re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", key.split(" ", 1)[1]) == path)
    return next(role for role in ("kerjasama", "admin", "pimpinan", "tkksd", "auditor", "service", "opd", "publik")
                if role in rule.roles)


def content_type(response) -> str:
    value = {k.lower(): v for k, v in response.headers.items()}.get("content-type") or ""
    return value[0] if isinstance(value, list) else value


@pytest.mark.parametrize("service", ["partners", "agreements", "evaluation"])
def test_no_operation_answers_5xx_and_every_refusal_is_problem_json(fuzz_stack, service):
    spec = fuzz_stack.call("GET", service, "/api/v1/openapi.json", role=None).json()
    schema = schemathesis.openapi.from_dict(spec)
    base_url = fuzz_stack.urls[service]
    findings: list[str] = []
    calls = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        role = role_for(service, operation.method, operation.path)
        token = mint_token(fuzz_stack.settings, role, opd="DISKOMINFO" if role == "opd" else None, sub="fuzzer")
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                strategy = operation.as_strategy(generation_mode=mode)
            except Exception:  # noqa: BLE001 - a schema with nothing to break in this mode
                continue

            @settings(max_examples=EXAMPLES, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))
            @given(case=strategy)
            def probe(case):
                nonlocal calls
                calls += 1
                headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
                response = case.call(base_url=base_url, headers=headers, timeout=30)
                where = f"{operation.method.upper()} {response.request.url} ({mode.value}, {role})"
                if response.status_code >= 500:
                    findings.append(f"{where}: {response.status_code} {response.text[:200]}")
                elif response.status_code >= 400 and not content_type(response).startswith("application/problem+json"):
                    findings.append(f"{where}: {response.status_code} is not problem+json: "
                                    f"{content_type(response)} {response.text[:120]}")

            probe()
    assert calls > 100, f"only {calls} generated calls for {service}"
    assert not findings, "\n".join(findings[:40])
