"""The access policy: fail closed, roles per operation, OPD officers scoped to their resources."""
import pytest

from shared.envelope import Actor
from shared.policy import EVERYONE, Policy, allow

RESOURCES = {"agreement-1": {"DINKES", "DISDIK"}, "agreement-2": {"DPUPR"}}
POLICY = Policy({
    "GET /api/v1/things": allow("*"),
    "GET /api/v1/things/<thing_id>": allow("kerjasama", "opd", scope="thing"),
    "POST /api/v1/things/<thing_id>/do": allow("kerjasama"),
}, {"thing": lambda path, query: RESOURCES.get(path["thing_id"])})


def officer(opd="DINKES"):
    return Actor("o-1", "opd", opd=opd)


def test_an_operation_without_a_rule_is_refused():
    decision = POLICY.decide(Actor("a", "admin"), "DELETE", "/api/v1/things/<thing_id>")
    assert not decision.allowed and "no access rule" in decision.reason


@pytest.mark.parametrize("role", sorted(EVERYONE - {"opd"}))
def test_roles_are_decided_per_operation(role):
    assert POLICY.decide(Actor("x", role), "GET", "/api/v1/things").allowed
    assert POLICY.decide(Actor("x", role), "POST", "/api/v1/things/<thing_id>/do").allowed == (role == "kerjasama")


def test_an_officer_reaches_only_resources_of_their_opd():
    rule = "/api/v1/things/<thing_id>"
    assert POLICY.decide(officer("DISDIK"), "GET", rule, {"thing_id": "agreement-1"}).allowed
    refused = POLICY.decide(officer("DINKES"), "GET", rule, {"thing_id": "agreement-2"})
    assert not refused.allowed and "DINKES" in refused.reason
    # a resource that does not exist is left to the view (404 for everyone alike)
    assert POLICY.decide(officer(), "GET", rule, {"thing_id": "agreement-9"}).allowed


def test_an_opd_token_without_its_opd_is_refused_everywhere():
    decision = POLICY.decide(officer(opd=None), "GET", "/api/v1/things")
    assert not decision.allowed and "claim 'opd'" in decision.reason


def test_a_scope_without_a_resolver_and_an_unknown_role_are_configuration_errors():
    with pytest.raises(ValueError, match="resolver"):
        Policy({"GET /x": allow("opd", scope="nowhere")})
    with pytest.raises(ValueError, match="unknown role"):
        allow("superuser")


def test_lists_are_filtered_to_the_officers_opd():
    assert Policy.opd_of(officer("DINKES")) == "DINKES" and Policy.opd_of(Actor("k", "kerjasama")) is None
