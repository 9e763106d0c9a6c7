"""Partner rules and lifecycle (DOMAIN.md §1), pure."""
import pytest

from shared.domain import DomainError, InvalidTransition, Refusal
from services.partners.domain import Partner

KOTA_JAMBI = {"name": "Kota Jambi", "kind": "daerah_lain", "region_code": "15.71"}
COMPANY = {"name": "PT Sawit Makmur", "kind": "pihak_ketiga", "subtype": "badan_usaha",
           "identifiers": {"nib": "1234567890123"}}
UNIVERSITY = {"name": "Universitas Jambi", "kind": "pihak_ketiga", "subtype": "perguruan_tinggi"}
FOREIGN = {"name": "Negeri Sembilan", "kind": "pemda_luar_negeri", "country": "MY"}


def registered(profile=KOTA_JAMBI):
    partner, _ = Partner.register("partner-1", profile, [])
    return partner


@pytest.mark.parametrize("profile", [KOTA_JAMBI, COMPANY, UNIVERSITY, FOREIGN,
                                     {"name": "Kemendagri", "kind": "pemerintah_pusat"}])
def test_valid_profiles_register(profile):
    partner, events = Partner.register("partner-1", profile, [])
    assert [e.type for e in events] == ["partner.registered"]
    assert partner.status == "REGISTERED" and partner.version == 1


def test_scope_follows_kind():
    assert registered(FOREIGN).cooperation_scope == "luar_negeri"
    assert registered().cooperation_scope == "dalam_negeri"


@pytest.mark.parametrize("profile, rule", [
    ({"name": "X", "kind": "pihak_ketiga"}, "subtype_required"),
    ({**KOTA_JAMBI, "subtype": "badan_usaha"}, "subtype_not_applicable"),
    ({**FOREIGN, "country": "ID"}, "foreign_partner_in_indonesia"),
    ({**KOTA_JAMBI, "country": "MY"}, "domestic_partner_abroad"),
    ({"name": "Kab. X", "kind": "daerah_lain"}, "region_code_required"),
    ({**FOREIGN, "region_code": "15.05"}, "region_code_not_applicable"),
    ({**COMPANY, "identifiers": {}}, "nib_required"),
])
def test_cross_field_rules(profile, rule):
    with pytest.raises(DomainError) as info:
        Partner.register("partner-1", profile, [])
    assert info.value.rule == rule and info.value.fields


def test_verify_deactivate_reactivate_restores_previous_status():
    partner = registered()
    partner.verify("checked")
    partner.deactivate("merged")
    assert partner.status == "DEACTIVATED"
    partner.reactivate()
    assert partner.status == "VERIFIED"


@pytest.mark.parametrize("steps, command, rule", [
    (["verify"], "verify", "already_verified"),
    (["deactivate"], "deactivate", "already_deactivated"),
    ([], "reactivate", "not_deactivated"),
    (["deactivate"], "verify", "partner_deactivated"),
])
def test_refused_transitions(steps, command, rule):
    partner = registered()
    for step in steps:
        getattr(partner, step)(*(["why"] if step == "deactivate" else []))
    with pytest.raises(InvalidTransition) as info:
        getattr(partner, command)(*(["why"] if command == "deactivate" else []))
    assert info.value.rule == rule and info.value.kind == Refusal.CONFLICT


def test_identity_change_revokes_verification_but_address_does_not():
    partner = registered()
    partner.verify()
    assert [e.type for e in partner.update_profile({"address": {"city": "Jambi"}})] == ["partner.profile_updated"]
    assert partner.status == "VERIFIED"
    events = partner.update_profile({"name": "Pemerintah Kota Jambi"})
    assert [e.type for e in events] == ["partner.profile_updated", "partner.verification_revoked"]
    assert partner.status == "REGISTERED"


def test_no_change_records_nothing_and_kind_is_fixed():
    partner = registered()
    assert partner.update_profile({"name": "Kota Jambi"}) == []
    with pytest.raises(DomainError) as info:
        partner.update_profile({"kind": "pemerintah_pusat"})
    assert info.value.rule == "kind_immutable"


def test_at_most_two_contacts():
    partner = registered()
    contact = {"name": "Budi", "position": "Kabag", "phone": None, "email": None}
    partner.set_contacts([contact, contact])
    with pytest.raises(DomainError):
        partner.set_contacts([contact] * 3)


def test_rebuild_equals_live_state():
    partner = registered(COMPANY)
    history = []
    history += [{"event_type": "partner.registered", "data": {**COMPANY, "country": "ID", "contacts": [],
                                                               "cooperation_scope": "dalam_negeri"}}]
    for event in partner.verify() + partner.update_profile({"website": "https://sawit.example"}) + \
            partner.deactivate("closed"):
        history.append({"event_type": event.type, "data": event.data})
    assert Partner.rebuild("partner-1", history).snapshot() == partner.snapshot()
