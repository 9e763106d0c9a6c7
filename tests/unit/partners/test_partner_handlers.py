"""The partner handlers with in-memory fakes: every command through its handler, as the API sends it."""
import time
from datetime import datetime, timezone

import pytest

from shared.application import CommandContext, FixedClock, Repository, StreamNotFound, VersionMismatch
from shared.domain import DomainError, InvalidTransition, Refusal
from shared.envelope import Actor, verify_chain
from shared.eventstore import InMemoryEventStore
from shared.uniqueness import InMemoryUniqueKeys

from services.partners.commands import (
    DeactivatePartner, ReactivatePartner, RegisterPartner, SetPartnerContacts, UpdatePartnerProfile, VerifyPartner,
)
from services.partners.domain import Partner
from services.partners.handlers import PartnerHandlers
from services.partners.schemas import (
    DeactivatePartnerSchema, ReactivatePartnerSchema, RegisterPartnerSchema, SetPartnerContactsSchema,
    UpdatePartnerProfileSchema, VerifyPartnerSchema,
)

NOW = datetime(2025, 3, 3, 2, 0, tzinfo=timezone.utc)
STAFF = CommandContext(Actor("sari", "kerjasama", name="Sari"), correlation_id="corr-1")
KOTA_JAMBI = RegisterPartner(kind="daerah_lain", name="Kota Jambi", region_code="15.71")
COMPANY = RegisterPartner(kind="pihak_ketiga", name="PT Sawit Makmur", subtype="badan_usaha",
                          identifiers={"nib": "1234567890123", "npwp": "012345678901234"})
CONTACT = {"name": "Budi Santoso", "position": "Kepala Bagian", "phone": "+62 741 123456", "email": None}


@pytest.fixture
def store():
    return InMemoryEventStore()


@pytest.fixture
def keys():
    return InMemoryUniqueKeys()


@pytest.fixture
def handlers(store, keys):
    return PartnerHandlers(Repository(store, Partner, FixedClock(NOW)), keys)


def events_of(store, partner_id):
    return [(e["event_type"], e["data"]) for e in store.load(partner_id)]


# ---------------------------------------------------------------- register

def test_register_stores_the_given_profile_and_contacts(handlers, store):
    cmd = RegisterPartner(kind="daerah_lain", name="Kota Jambi", region_code="15.71", contacts=(CONTACT,))
    partner = handlers.register(cmd, STAFF)
    assert partner.status == "REGISTERED" and partner.version == 1
    assert events_of(store, partner.stream_id) == [("partner.registered", {
        "kind": "daerah_lain", "name": "Kota Jambi", "region_code": "15.71", "country": "ID",
        "cooperation_scope": "dalam_negeri", "contacts": [CONTACT]})]
    stored = store.load(partner.stream_id)
    assert stored[0]["actor"]["sub"] == "sari" and stored[0]["correlation_id"] == "corr-1"
    assert stored[0]["occurred_at"].startswith("2025-03-03T02:00:00")
    assert verify_chain(stored, partner.stream_id) == []


def test_register_refused_by_a_rule_stores_nothing(handlers, store, keys):
    with pytest.raises(DomainError) as refused:
        handlers.register(RegisterPartner(kind="daerah_lain", name="Kab. X"), STAFF)
    assert refused.value.rule == "region_code_required"
    assert list(store.stream_ids()) == [] and keys.keys == {}


def test_a_region_code_is_registered_once(handlers, store):
    first = handlers.register(KOTA_JAMBI, STAFF)
    with pytest.raises(DomainError) as refused:
        handlers.register(RegisterPartner(kind="daerah_lain", name="Pemkot Jambi", region_code="15.71"), STAFF)
    assert refused.value.rule == "partner_already_registered" and refused.value.kind is Refusal.CONFLICT
    assert refused.value.fields == {"region_code": [f"already registered: {first.stream_id}"]}
    assert list(store.stream_ids()) == [first.stream_id]


@pytest.mark.parametrize("identifiers, field", [({"nib": "1234567890123"}, "identifiers.nib"),
                                                ({"npwp": "012345678901234"}, "identifiers.npwp")])
def test_nib_and_npwp_are_registered_once(handlers, identifiers, field):
    first = handlers.register(COMPANY, STAFF)
    twin = RegisterPartner(kind="pihak_ketiga", name="PT Lain", subtype="lembaga", identifiers=identifiers)
    with pytest.raises(DomainError) as refused:
        handlers.register(twin, STAFF)
    assert refused.value.fields == {field: [f"already registered: {first.stream_id}"]}


def test_a_key_left_by_an_append_that_never_happened_is_taken_over(handlers, keys):
    a_minute_ago = time.time() - 60
    keys.claim("region:15.71", "partner-crashed-before-append", lambda sid: None, now=lambda: a_minute_ago)
    partner = handlers.register(KOTA_JAMBI, STAFF)
    assert keys.keys["region:15.71"] == partner.stream_id


def test_a_key_claimed_by_a_registration_still_appending_is_not_taken(handlers, keys):
    keys.claim("region:15.71", "partner-appending-now", lambda sid: None)
    with pytest.raises(DomainError) as refused:
        handlers.register(KOTA_JAMBI, STAFF)
    assert refused.value.rule == "partner_already_registered"


# ---------------------------------------------------------------- update_profile

def test_update_profile_changes_only_the_given_fields(handlers, store):
    partner = handlers.register(KOTA_JAMBI, STAFF)
    cmd = UpdatePartnerProfile(website="https://jambikota.go.id").addressed(partner.stream_id, 1)
    updated = handlers.update_profile(cmd, STAFF)
    assert updated.version == 2 and updated.profile["website"] == "https://jambikota.go.id"
    assert events_of(store, partner.stream_id)[-1] == ("partner.profile_updated",
                                                       {"changes": {"website": "https://jambikota.go.id"}})


def test_update_profile_without_a_change_records_nothing(handlers, store):
    partner = handlers.register(KOTA_JAMBI, STAFF)
    unchanged = handlers.update_profile(UpdatePartnerProfile(name="Kota Jambi").addressed(partner.stream_id, None),
                                        STAFF)
    assert unchanged.version == 1 and store.version(partner.stream_id) == 1


def test_an_identity_change_revokes_verification(handlers, store):
    partner = handlers.register(KOTA_JAMBI, STAFF)
    handlers.verify(VerifyPartner(note="checked").addressed(partner.stream_id, 1), STAFF)
    renamed = handlers.update_profile(UpdatePartnerProfile(name="Pemerintah Kota Jambi")
                                      .addressed(partner.stream_id, 2), STAFF)
    assert renamed.status == "REGISTERED"
    assert [t for t, _ in events_of(store, partner.stream_id)][-2:] == [
        "partner.profile_updated", "partner.verification_revoked"]


def test_a_new_region_code_is_claimed_and_the_old_one_freed(handlers, keys):
    partner = handlers.register(KOTA_JAMBI, STAFF)
    handlers.update_profile(UpdatePartnerProfile(region_code="15.05").addressed(partner.stream_id, 1), STAFF)
    assert keys.keys == {"region:15.05": partner.stream_id}
    other = handlers.register(RegisterPartner(kind="daerah_lain", name="Kota Jambi (baru)", region_code="15.71"),
                              STAFF)
    assert keys.keys["region:15.71"] == other.stream_id


def test_update_profile_to_a_taken_region_code_is_refused(handlers, store, keys):
    jambi = handlers.register(KOTA_JAMBI, STAFF)
    muaro = handlers.register(RegisterPartner(kind="daerah_lain", name="Kab. Muaro Jambi", region_code="15.05"),
                              STAFF)
    with pytest.raises(DomainError) as refused:
        handlers.update_profile(UpdatePartnerProfile(region_code="15.71").addressed(muaro.stream_id, 1), STAFF)
    assert refused.value.rule == "partner_already_registered"
    assert store.version(muaro.stream_id) == 1
    assert keys.keys == {"region:15.71": jambi.stream_id, "region:15.05": muaro.stream_id}


def test_a_stale_expected_version_is_refused(handlers, store):
    partner = handlers.register(KOTA_JAMBI, STAFF)
    handlers.update_profile(UpdatePartnerProfile(website="https://a.example").addressed(partner.stream_id, 1), STAFF)
    with pytest.raises(VersionMismatch) as stale:
        handlers.update_profile(UpdatePartnerProfile(website="https://b.example").addressed(partner.stream_id, 1),
                                STAFF)
    assert (stale.value.expected, stale.value.current) == (1, 2)
    assert store.version(partner.stream_id) == 2


# ---------------------------------------------------------------- set_contacts

def test_set_contacts_replaces_them_and_the_same_list_records_nothing(handlers, store):
    partner = handlers.register(KOTA_JAMBI, STAFF)
    with_contact = handlers.set_contacts(SetPartnerContacts(contacts=(CONTACT,)).addressed(partner.stream_id, 1), STAFF)
    assert with_contact.contacts == [CONTACT] and with_contact.version == 2
    again = handlers.set_contacts(SetPartnerContacts(contacts=(CONTACT,)).addressed(partner.stream_id, 2), STAFF)
    assert again.version == 2
    cleared = handlers.set_contacts(SetPartnerContacts(contacts=()).addressed(partner.stream_id, 2), STAFF)
    assert cleared.contacts == [] and events_of(store, partner.stream_id)[-1] == ("partner.contacts_set",
                                                                                   {"contacts": []})


def test_more_than_two_contacts_are_refused(handlers):
    partner = handlers.register(KOTA_JAMBI, STAFF)
    with pytest.raises(DomainError) as refused:
        handlers.set_contacts(SetPartnerContacts(contacts=(CONTACT,) * 3).addressed(partner.stream_id, 1), STAFF)
    assert refused.value.rule == "too_many_contacts"


# ---------------------------------------------------------------- verify, deactivate, reactivate

def test_verify_records_the_note_and_only_once(handlers, store):
    partner = handlers.register(KOTA_JAMBI, STAFF)
    verified = handlers.verify(VerifyPartner(note="SK Walikota checked").addressed(partner.stream_id, 1), STAFF)
    assert verified.status == "VERIFIED"
    assert events_of(store, partner.stream_id)[-1] == ("partner.verified", {"note": "SK Walikota checked"})
    with pytest.raises(InvalidTransition) as twice:
        handlers.verify(VerifyPartner().addressed(partner.stream_id, None), STAFF)
    assert twice.value.rule == "already_verified"


def test_deactivate_then_reactivate_restores_the_status_held_before(handlers, store):
    partner = handlers.register(KOTA_JAMBI, STAFF)
    handlers.verify(VerifyPartner().addressed(partner.stream_id, 1), STAFF)
    off = handlers.deactivate(DeactivatePartner(reason="kerja sama berakhir").addressed(partner.stream_id, 2), STAFF)
    assert off.status == "DEACTIVATED" and off.deactivation_reason == "kerja sama berakhir"
    with pytest.raises(InvalidTransition) as blocked:
        handlers.set_contacts(SetPartnerContacts(contacts=()).addressed(partner.stream_id, 3), STAFF)
    assert blocked.value.rule == "partner_deactivated"
    back = handlers.reactivate(ReactivatePartner(reason="diperpanjang").addressed(partner.stream_id, 3), STAFF)
    assert back.status == "VERIFIED" and back.version == 4
    assert events_of(store, partner.stream_id)[-1] == ("partner.reactivated",
                                                       {"reason": "diperpanjang", "status": "VERIFIED"})


def test_deactivate_twice_and_reactivate_an_active_partner_are_refused(handlers):
    partner = handlers.register(KOTA_JAMBI, STAFF)
    with pytest.raises(InvalidTransition) as active:
        handlers.reactivate(ReactivatePartner().addressed(partner.stream_id, None), STAFF)
    assert active.value.rule == "not_deactivated"
    handlers.deactivate(DeactivatePartner(reason="duplikat").addressed(partner.stream_id, None), STAFF)
    with pytest.raises(InvalidTransition) as twice:
        handlers.deactivate(DeactivatePartner(reason="duplikat").addressed(partner.stream_id, None), STAFF)
    assert twice.value.rule == "already_deactivated"


@pytest.mark.parametrize("handle, cmd", [
    (PartnerHandlers.update_profile, UpdatePartnerProfile(name="X Y")),
    (PartnerHandlers.set_contacts, SetPartnerContacts(contacts=())),
    (PartnerHandlers.verify, VerifyPartner()),
    (PartnerHandlers.deactivate, DeactivatePartner(reason="tidak ada")),
    (PartnerHandlers.reactivate, ReactivatePartner()),
])
def test_a_command_on_an_unknown_partner_is_not_found(handlers, handle, cmd):
    with pytest.raises(StreamNotFound):
        handle(handlers, cmd.addressed("partner-unknown", None), STAFF)


def test_get_folds_the_stream_up_to_a_version(handlers):
    partner = handlers.register(KOTA_JAMBI, STAFF)
    handlers.verify(VerifyPartner().addressed(partner.stream_id, 1), STAFF)
    assert handlers.get(partner.stream_id).status == "VERIFIED"
    assert handlers.get(partner.stream_id, version=1).status == "REGISTERED"


# ---------------------------------------------------------------- the schemas build the commands

def test_schemas_build_their_commands():
    register = RegisterPartnerSchema().load({"kind": "pihak_ketiga", "name": "PT Sawit Makmur",
                                             "subtype": "badan_usaha",
                                             "identifiers": {"nib": "1234567890123", "npwp": "01.234.567.8-901.234"},
                                             "website": None})
    assert register == RegisterPartner(kind="pihak_ketiga", name="PT Sawit Makmur", subtype="badan_usaha",
                                       identifiers={"nib": "1234567890123", "npwp": "012345678901234"})
    assert register.profile() == {"kind": "pihak_ketiga", "name": "PT Sawit Makmur", "subtype": "badan_usaha",
                                  "identifiers": {"nib": "1234567890123", "npwp": "012345678901234"}}
    assert UpdatePartnerProfileSchema().load({"website": None, "description": "d"}).changes() == {"description": "d"}
    assert SetPartnerContactsSchema().load({"contacts": [{"name": "Budi", "position": "Kabag"}]}) == \
        SetPartnerContacts(contacts=({"name": "Budi", "position": "Kabag", "phone": None, "email": None},))
    assert VerifyPartnerSchema().load({}) == VerifyPartner(note=None)
    assert DeactivatePartnerSchema().load({"reason": "berakhir"}) == DeactivatePartner(reason="berakhir")
    assert ReactivatePartnerSchema().load({}) == ReactivatePartner(reason=None)
