"""Each named rule of DOMAIN.md §2 with its boundaries."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, strategies as st

from shared.domain import Refusal
from services.agreements.domain import HEAD_POSITIONS, Rule, SignatoryPosition, add_years, latest_end
from tests.unit.agreements.test_agreement_builders import (
    END, KIND_FOR, SIGNED_ON, START, TODAY, Stream, advance, amend, at, draft_kwargs, drafted, funded, partner,
    partner_for, refused,
)

CATEGORIES = list(KIND_FOR)
ONE_DAY = timedelta(days=1)


def draft(**overrides):
    return Stream().do("draft", **draft_kwargs(**overrides))


# --- term ------------------------------------------------------------------------------------------

def test_exactly_five_years_is_allowed_and_one_day_more_is_refused():
    draft(start_date=date(2024, 1, 1), end_date=date(2028, 12, 31))
    draft(start_date=date(2024, 1, 1), end_date=date(2029, 1, 1))
    with refused("term_exceeds_five_years", Refusal.INVALID) as err:
        draft(start_date=date(2024, 1, 1), end_date=date(2029, 1, 2))
    assert err.value.fields == {"end_date": "must be on or before 2029-01-01"}


def test_five_years_from_29_february_ends_on_28_february():
    assert add_years(date(2024, 2, 29), 5) == date(2029, 2, 28)
    draft(start_date=date(2024, 2, 29), end_date=date(2029, 2, 28))
    with refused("term_exceeds_five_years"):
        draft(start_date=date(2024, 2, 29), end_date=date(2029, 3, 1))


def test_end_must_be_after_start():
    draft(start_date=START, end_date=START + ONE_DAY)
    for end in (START, START - ONE_DAY):
        with refused("end_before_start", Refusal.INVALID) as err:
            draft(start_date=START, end_date=end)
        assert "end_date" in err.value.fields


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)))
def test_the_five_year_boundary_holds_for_any_start(start):
    limit = latest_end(start)
    assert 365 * 5 + 1 <= (limit - start).days <= 365 * 5 + 2
    assert draft(start_date=start, end_date=limit)
    with refused("term_exceeds_five_years"):
        draft(start_date=start, end_date=limit + ONE_DAY)


# --- vocabulary and plain fields -------------------------------------------------------------------

def test_ksdd_needs_its_type_and_others_have_none():
    for ksdd_type in ("wajib", "sukarela"):
        draft(ksdd_type=ksdd_type)
    for ksdd_type in (None, "lainnya"):
        with refused("ksdd_type_invalid"):
            draft(ksdd_type=ksdd_type)
    with refused("ksdd_type_invalid"):
        Stream().do("draft", **draft_kwargs("KSDPK", ksdd_type="wajib"))


@pytest.mark.parametrize("value", [-1, 1.5, True, "100"])
def test_value_is_whole_rupiah_zero_or_more(value):
    with refused("invalid_amount") as err:
        draft(value=value)
    assert "value" in err.value.fields


def test_zero_value_is_allowed():
    assert draft(value=0, funding=[])[0].data["value"] == 0


@pytest.mark.parametrize("field, value", [("category", "KSDX"), ("document_kind", "ADENDUM")])
def test_unknown_vocabulary_is_refused(field, value):
    # An ADENDUM is not drafted: it is recorded on the signed agreement with ``amend``.
    with refused("invalid_value") as err:
        Stream().do("draft", **{**draft_kwargs(), field: value})
    assert field in err.value.fields


# --- partners --------------------------------------------------------------------------------------

@pytest.mark.parametrize("category", CATEGORIES)
@pytest.mark.parametrize("kind", sorted(set(KIND_FOR.values())))
def test_each_category_takes_one_kind_of_partner(category, kind):
    kwargs = draft_kwargs(category, partners=[partner(kind)])
    if kind == KIND_FOR[category]:
        assert Stream().do("draft", **kwargs)
    else:
        with refused("category_partner_mismatch", Refusal.INVALID):
            Stream().do("draft", **kwargs)


def test_an_agreement_needs_a_partner():
    with refused("partners_required"):
        draft(partners=[])


def test_partners_may_be_given_as_plain_dicts():
    events = draft(partners=[{"id": "p-1", "name": "Kota Jambi", "kind": "daerah_lain", "status": "verified"}])
    assert events[0].data["partner_ids"] == ["p-1"]


@pytest.mark.parametrize("status", ["registered", "deactivated"])
def test_only_verified_partners_can_be_submitted(status):
    good, bad = partner("daerah_lain", pid="p-good"), partner("daerah_lain", pid="p-bad", status=status)
    stream = drafted(partners=[good, bad])
    with refused("partner_not_verified", Refusal.INVALID) as err:
        stream.do("submit", role="kerjasama", partners=[good, bad])
    assert err.value.fields == {"partner_ids": ["p-bad"]}
    stream.do("submit", role="kerjasama", partners=[good, partner("daerah_lain", pid="p-bad")])
    assert stream.status == "SUBMITTED"


def test_a_partner_missing_from_the_replica_counts_as_not_verified():
    stream = drafted(partners=[partner(pid="p-1"), partner(pid="p-2")])
    with refused("partner_not_verified") as err:
        stream.do("submit", role="kerjasama", partners=[partner(pid="p-1")])
    assert err.value.fields == {"partner_ids": ["p-2"]}


def test_partner_kind_is_checked_again_at_submission():
    stream = drafted(partners=[partner(pid="p-1")])
    with refused("category_partner_mismatch"):
        stream.do("submit", role="kerjasama", partners=[partner("pihak_ketiga", pid="p-1")])


# --- DPRD and central approval ---------------------------------------------------------------------

@pytest.mark.parametrize("category", CATEGORIES)
@pytest.mark.parametrize("burdens_public", [False, True])
@pytest.mark.parametrize("source,budgeted", [("apbd", False), ("apbd", True), ("csr_tjsl", None),
                                             ("mitra", None), ("apbn", None)])
def test_when_dprd_and_central_approval_are_required(category, burdens_public, source, budgeted):
    """DPRD: the public is burdened, APBD money is not yet budgeted, or foreign. Money that is not the
    region's (partner, APBN, CSR/TJSL) does not send a PKS to the DPRD."""
    foreign = category in ("KSDPL", "KSDLL")
    stream = at("UNDER_REVIEW", category, burdens_public=burdens_public, funding=funded(source, budgeted))
    snap = stream.agreement.snapshot()
    assert snap["dprd_required"] == (burdens_public or budgeted is False or foreign)
    assert snap["central_required"] == foreign
    advance(stream, "SIGNED")
    assert (snap["dprd_required"], foreign) == (stream.agreement.dprd_approval is not None,
                                                 stream.agreement.central_approval is not None)


# --- signatories -----------------------------------------------------------------------------------

POSITIONS = [p.value for p in SignatoryPosition]


def sign(stream, position, poa):
    return stream.do("sign", role="pimpinan", signatory_name="Pejabat", signatory_position=position,
                     signed_on=SIGNED_ON, power_of_attorney_ref=poa, parent_kb=getattr(stream, "parent", None))


@pytest.mark.parametrize("position", POSITIONS)
@pytest.mark.parametrize("poa", [None, "SK-KUASA/1/2024"])
def test_a_kb_is_signed_only_by_the_head_or_acting_head_in_person(position, poa):
    stream = at("READY_TO_SIGN")
    if position in HEAD_POSITIONS and poa is None:
        sign(stream, position, poa)
        assert stream.status == "SIGNED"
    else:
        with refused("signatory_not_authorised", Refusal.INVALID):
            sign(stream, position, poa)


@pytest.mark.parametrize("position", POSITIONS)
@pytest.mark.parametrize("poa", [None, "SK-KUASA/1/2024"])
def test_a_pks_may_be_signed_under_a_power_of_attorney(position, poa):
    stream = at("READY_TO_SIGN", document_kind="PKS")
    if position in HEAD_POSITIONS or poa:
        sign(stream, position, poa)
        assert stream.agreement.signing["signatory"] == {"name": "Pejabat", "position": position,
                                                         "power_of_attorney_ref": poa}
    else:
        with refused("signatory_not_authorised"):
            sign(stream, position, poa)


def test_the_head_positions_are_exactly_the_head_and_acting_heads():
    assert HEAD_POSITIONS == {"kepala_daerah", "plt_kepala_daerah", "pj_kepala_daerah"}


def test_an_unknown_signatory_position_is_refused():
    with refused("invalid_value"):
        sign(at("READY_TO_SIGN"), "camat", None)


# --- a PKS and its KB ------------------------------------------------------------------------------

def test_a_pks_needs_a_kb():
    with refused("pks_requires_signed_kb") as err:
        Stream().do("draft", **draft_kwargs(document_kind="PKS"))
    assert "parent_kb_id" in err.value.fields


def test_the_parent_must_be_a_kb_of_the_same_category():
    pks = at("SIGNED", document_kind="PKS").agreement
    with refused("pks_requires_signed_kb"):
        drafted(document_kind="PKS", parent=pks)
    other = at("SIGNED", "KSDPK").agreement
    with refused("pks_requires_signed_kb"):
        drafted(document_kind="PKS", parent=other)


def test_a_pks_may_be_drafted_while_its_kb_is_pending_but_submitted_only_once_it_is_signed():
    kb = at("UNDER_REVIEW")
    pks = drafted(document_kind="PKS", parent=kb.agreement)
    assert pks.agreement.parent_kb_id == kb.agreement.stream_id
    with refused("pks_requires_signed_kb") as err:
        advance(pks, "SUBMITTED")
    assert err.value.fields == {"parent_kb_id": "must be SIGNED or ACTIVE"}
    advance(kb, "ACTIVE")
    pks.parent = kb.agreement
    advance(pks, "SIGNED")


def test_submission_and_signing_need_the_kb_passed_in():
    stream = at("DRAFT", document_kind="PKS")
    with refused("pks_requires_signed_kb"):
        stream.do("submit", role="kerjasama", partners=[partner_for("KSDD")])
    kb = stream.parent
    advance(stream, "READY_TO_SIGN")
    stream.parent = None
    with refused("pks_requires_signed_kb"):
        advance(stream, "SIGNED")
    stream.parent = kb
    advance(stream, "SIGNED")


def test_passing_another_kb_than_the_one_on_record_is_a_programming_error():
    stream = at("DRAFT", document_kind="PKS")
    stream.parent = at("SIGNED").agreement
    with pytest.raises(ValueError):
        advance(stream, "SUBMITTED")


@pytest.mark.parametrize("kb_end", ["EXPIRED", "TERMINATED"])
def test_a_pks_is_not_signed_once_its_kb_has_ended(kb_end):
    stream = at("READY_TO_SIGN", document_kind="PKS")
    kb = Stream(stream.parent)
    if kb_end == "EXPIRED":
        kb.do("expire", role="service", on=END + ONE_DAY)
    else:
        kb.do("terminate", role="pimpinan", reason="Diakhiri", on=date(2025, 6, 1))
    with refused("pks_requires_signed_kb"):
        advance(stream, "SIGNED")


def test_pks_partners_must_be_party_to_the_kb():
    a, b, c = (partner(pid=p) for p in ("p-a", "p-b", "p-c"))
    kb = at("SIGNED", partners=[a, b]).agreement
    assert drafted(document_kind="PKS", parent=kb, partners=[a, b])
    assert drafted(document_kind="PKS", parent=kb, partners=[b])  # a PKS with some parties of a multi-party KB
    with refused("pks_partner_mismatch") as err:
        drafted(document_kind="PKS", parent=kb, partners=[a, c])
    assert err.value.fields == {"partner_ids": ["p-c"]}


def test_partner_mismatch_is_checked_again_at_submission():
    a, b = partner(pid="p-a"), partner(pid="p-b")
    kb = at("SIGNED", partners=[a]).agreement
    stream = drafted(document_kind="PKS", parent=kb, partners=[a])
    stream.do("edit_draft", role="kerjasama", changes={}, partners=[b])
    with refused("pks_partner_mismatch"):
        advance(stream, "SUBMITTED")


def test_a_pks_lies_within_its_kb_period_boundaries_included():
    kb = at("SIGNED").agreement
    assert drafted(document_kind="PKS", parent=kb, start_date=START, end_date=END)
    for start, end in ((START - ONE_DAY, END), (START, END + ONE_DAY)):
        with refused("pks_outside_kb_period") as err:
            drafted(document_kind="PKS", parent=kb, start_date=start, end_date=end)
        assert set(err.value.fields) == {"start_date", "end_date"}


def test_an_amendment_keeps_a_pks_within_its_kb():
    stream = at("SIGNED", document_kind="PKS")
    signing = dict(signatory_name="Kepala Dinas", signatory_position="kepala_perangkat_daerah",
                   power_of_attorney_ref="SK-KUASA/2/2025")
    base = dict(role="kerjasama", reason="Ubah jadwal")
    with refused("pks_requires_signed_kb"):
        stream.do("draft_addendum", **base, changes={"end_date": END - ONE_DAY})
    with refused("pks_outside_kb_period"):
        stream.do("draft_addendum", **base, changes={"end_date": END + ONE_DAY}, parent_kb=stream.parent)
    amend(stream, {"end_date": END - ONE_DAY}, **signing)
    # no date change: no KB needed
    stream.do("draft_addendum", **base, changes={"title": "Tanpa ubah tanggal"})
    stream.do("sign_addendum", role="pimpinan", addendum_no=2, number="ADD-2", signed_on=date(2025, 7, 1),
              today=TODAY, **signing)
    assert stream.agreement.end_date == END - ONE_DAY and stream.agreement.title == "Tanpa ubah tanggal"


def test_sinergi_needs_no_kb():
    stream = at("SIGNED", "SINERGI", "PKS")
    assert stream.agreement.parent_kb_id is None and stream.status == "SIGNED"


def test_only_a_pks_has_a_parent():
    kb = at("SIGNED").agreement
    with refused("parent_kb_not_allowed"):
        drafted(document_kind="KB", parent=kb)
    with refused("parent_kb_not_allowed"):
        at("DRAFT").do("edit_draft", role="kerjasama", changes={}, parent_kb=kb)


def test_every_rule_name_is_snake_case_and_unique():
    names = [r.value for r in Rule]
    assert len(names) == len(set(names))
    assert all(n == n.lower() and " " not in n for n in names)
