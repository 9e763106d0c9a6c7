"""Agreements against the controlled vocabularies (shared/vocabularies) and funding sources:
one test per named rule, the DPRD decision from the sources, and old events lifted by the upcaster."""
from datetime import date

import pytest

from services.agreements.domain import Agreement
from services.agreements.upcasters import UPCASTERS
from shared.domain import Refusal
from tests.unit.agreements.test_agreement_builders import (
    Stream, amend, at, draft_kwargs, drafted, envelopes, funded, partner, refused,
)


def draft(**overrides):
    return Stream().do("draft", **draft_kwargs(**overrides))


def test_urusan_must_come_from_the_uu_23_2014_list():
    assert draft(urusan=["kesehatan", "kesehatan"])[0].data["urusan"] == ["kesehatan"]
    for urusan in (["perencanaan pembangunan"], ["Kesehatan"], []):
        with refused("unknown_urusan", Refusal.INVALID):
            draft(urusan=urusan)


def test_the_lead_and_responsible_opd_come_from_the_catalogue_and_setda_sections_are_not_opds():
    with refused("unknown_opd", Refusal.INVALID) as err:
        draft(lead_opd="SETDA-KS")
    assert "lead_opd" in err.value.fields
    stream = at("SIGNED", "KSDD", "PKS", parent=at("SIGNED").agreement)
    activity = dict(role="kerjasama", activity_id="a-1", name="Kegiatan", indicator="Indikator", target=1,
                    unit="paket", schedule_start=date(2025, 2, 1), schedule_end=date(2025, 12, 31))
    with refused("unknown_opd"):
        stream.do("add_activity", **activity, responsible_opd="KESRA")
    stream.do("add_activity", **activity, responsible_opd="DINKES")
    with refused("unknown_opd"):
        stream.do("update_activity", role="kerjasama", activity_id="a-1", changes={"responsible_opd": "X"})


def test_ksdd_wajib_needs_a_bordering_region():
    tebo = partner(region_code="15.09", pid="p-tebo")
    with refused("ksdd_wajib_requires_neighbour", Refusal.INVALID):
        draft(ksdd_type="wajib", partners=[tebo])
    draft(ksdd_type="sukarela", partners=[tebo])  # voluntary cooperation needs no border
    draft(ksdd_type="wajib", partners=[partner(region_code="16.06", pid="p-muba")])  # across the province line
    with refused("ksdd_wajib_requires_neighbour"):
        draft(ksdd_type="wajib", partners=[partner(region_code="15", pid="p-prov")])  # the province itself


def test_submission_checks_the_border_again_with_the_partners_as_they_are_now():
    stream = drafted(ksdd_type="wajib", partners=[partner(pid="p-1")])
    with refused("ksdd_wajib_requires_neighbour"):
        stream.do("submit", role="kerjasama", partners=[partner(pid="p-1", region_code="15.09")])


def test_funding_sources_are_checked_against_the_vocabulary_and_the_value():
    with refused("unknown_funding_source"):
        draft(funding=[{"source": "dak", "amount": 150_000_000}])
    with refused("invalid_funding"):
        draft(funding=funded() + funded(amount=1), value=150_000_001)
    with refused("invalid_funding"):
        draft(funding=funded(budgeted=None))  # APBD money says whether it is budgeted
    with refused("invalid_funding"):
        draft(funding=[{"source": "mitra", "amount": 0}], value=0)
    with refused("funding_required"):
        draft(funding=[], value=5)
    with refused("value_differs_from_funding", Refusal.INVALID):
        draft(funding=funded(), value=1)
    data = draft(funding=funded() + funded("csr_tjsl", True, 50), value=None)[0].data
    assert data["value"] == 150_000_050  # left out: the sum of the sources
    assert data["funding"][1] == {"source": "csr_tjsl", "amount": 50, "budgeted": None}  # not the region's money


@pytest.mark.parametrize("funding, dprd", [
    (funded(budgeted=True), False), (funded(budgeted=False), True), (funded("csr_tjsl", None), False),
    (funded("mitra", None) + funded(amount=1, budgeted=False), True), ([], False)])
def test_dprd_follows_from_the_sources(funding, dprd):
    value = sum(f["amount"] for f in funding)
    assert drafted("KSDPK", funding=funding, value=value).agreement.dprd_required is dprd


def test_an_addendum_changes_the_funding_and_the_value_follows():
    stream = at("ACTIVE")
    with refused("value_differs_from_funding"):
        stream.do("draft_addendum", role="kerjasama", reason="Nilai", changes={"value": 1})
    amend(stream, {"funding": funded() + funded("csr_tjsl", None, 50_000_000)}, reason="Tambahan dana CSR",
          signatory_name="Drs. H. Bachyuni Deliansyah")
    assert stream.agreement.value == 200_000_000 and len(stream.agreement.funding) == 2


def test_a_termination_names_its_ground():
    stream = at("ACTIVE")
    with refused("unknown_termination_reason", Refusal.INVALID):
        stream.do("terminate", role="pimpinan", reason="Alasan", reason_code="bosan", on=date(2026, 1, 1))
    stream.do("terminate", role="pimpinan", reason="Disepakati", reason_code="kesepakatan_para_pihak",
              on=date(2026, 1, 1))
    assert stream.agreement.termination["reason_code"] == "kesepakatan_para_pihak"


def _v1(stream: Stream) -> list[dict]:
    """The stream's envelopes as a version 1 writer stored them (``budgeted_in_apbd``, no funding)."""
    out = []
    for env in envelopes(stream.events):
        env = {**env, "schema_version": 1}
        if env["event_type"] == "agreement.drafted":
            data = dict(env["data"])
            flag = not any(f["budgeted"] is False for f in data.pop("funding"))
            env["data"] = {**data, "budgeted_in_apbd": flag}
        out.append(env)
    return out


@pytest.mark.parametrize("flag", [True, False])
def test_old_events_with_budgeted_in_apbd_are_read_through_the_upcaster(flag):
    stream = drafted(funding=funded(budgeted=flag))
    old = _v1(stream)
    assert "budgeted_in_apbd" in old[0]["data"] and "funding" not in old[0]["data"]
    lifted = [UPCASTERS.upcast(e) for e in old]
    assert lifted[0]["schema_version"] == 2 and old[0]["schema_version"] == 1  # the stored one is untouched
    agreement = Agreement.rebuild("agreement-old", lifted)
    assert agreement.funding == funded(budgeted=flag) and agreement.dprd_required is (not flag)
    # a later value change of such an agreement keeps deriving the funding as the flag did
    edited = UPCASTERS.upcast({"event_type": "agreement.draft_edited", "schema_version": 1,
                               "data": {"changes": {"value": 7, "budgeted_in_apbd": True}}})
    agreement.apply(edited["event_type"], edited["data"])
    assert agreement.funding == [{"source": "apbd", "amount": 7, "budgeted": True}]
    assert agreement.dprd_required is False
