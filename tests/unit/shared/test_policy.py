"""The access policy: fail closed, roles per operation, OPD officers scoped to their resources."""
import pytest

from shared.envelope import Actor
from shared.policy import EVERYONE, Policy, allow, is_write, operate

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


# --- segregation of duties: admin runs the system, not the workflow -------------------------------

def test_a_workflow_write_that_lists_admin_stops_the_policy_from_being_built():
    with pytest.raises(ValueError, match="segregation of duties") as err:
        Policy({"GET /api/v1/things": allow("admin", "kerjasama"),  # reading is fine
                "POST /api/v1/things/<thing_id>/sign": allow("admin", "pimpinan"),
                "DELETE /api/v1/things/<thing_id>": allow("*")})  # "*" includes admin
    assert "POST /api/v1/things/<thing_id>/sign" in str(err.value) and "DELETE" in str(err.value)


def test_admin_is_given_system_operations_only():
    policy = Policy({"POST /api/v1/deadletters/<letter_id>/retry": operate("admin"),
                     "POST /api/v1/things/<thing_id>/sign": allow("pimpinan")})
    assert policy.decide(Actor("root", "admin"), "POST", "/api/v1/deadletters/<letter_id>/retry").allowed
    refused = policy.decide(Actor("root", "admin"), "POST", "/api/v1/things/<thing_id>/sign")
    assert not refused.allowed and "admin" in refused.reason


@pytest.mark.parametrize("service", ["partners", "agreements", "evaluation"])
def test_no_service_gives_admin_a_workflow_command(service):
    """Every write admin may call in the real services is a dead-letter operation."""
    import importlib
    rules = importlib.import_module(f"services.{service}.policy").RULES
    admin_writes = sorted(op for op, rule in rules.items() if is_write(op) and "admin" in rule.roles)
    assert all("/deadletters/" in op and rules[op].system for op in admin_writes), admin_writes
    assert any(not is_write(op) and "admin" in rule.roles for op, rule in rules.items())  # it still reads
