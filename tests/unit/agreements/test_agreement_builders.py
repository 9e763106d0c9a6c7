"""Builders shared by the agreement unit tests (imported by the other test modules), and their own checks."""
from __future__ import annotations

import copy
import inspect
import json
from datetime import date, timedelta

import pytest

from services.agreements.domain import Agreement, PartnerView, Status, new_agreement_id
from shared.domain import DomainError, Refusal

START = date(2025, 1, 1)
END = date(2027, 12, 31)
SIGNED_ON = date(2024, 12, 20)
TODAY = date(2030, 1, 1)  # "today" for the domain's date bounds: after every date these tests use
LEAD_OPD = "DISKOMINFO"
SHA = "ab" * 32

KIND_FOR = {
    "KSDD": "daerah_lain", "KSDPK": "pihak_ketiga", "KSDPL": "pemda_luar_negeri",
    "KSDLL": "lembaga_luar_negeri", "SINERGI": "pemerintah_pusat",
}
COUNTRY_FOR = {"pemda_luar_negeri": "MY", "lembaga_luar_negeri": "JP"}


def partner(kind: str = "daerah_lain", pid: str | None = None, status: str = "verified",
            region_code: str | None = None) -> PartnerView:
    """A partner view; another region is Kota Jambi (15.71, bordering Muaro Jambi) unless told."""
    if kind == "daerah_lain" and region_code is None:
        region_code = "15.71"
    return PartnerView(id=pid or f"partner-{kind}", name=f"Mitra {kind}", kind=kind, status=status,
                       country=COUNTRY_FOR.get(kind, "ID"), region_code=region_code)


def partner_for(category: str, **kwargs) -> PartnerView:
    return partner(KIND_FOR[category], **kwargs)


def file_meta(n: int = 1) -> dict:
    return {"file_id": f"file-{n}", "filename": f"bukti-{n}.pdf", "size": 1024 * n,
            "media_type": "application/pdf", "sha256": SHA}


def funded(source: str = "apbd", budgeted: bool | None = True, amount: int = 150_000_000) -> list[dict]:
    """One funding source for ``draft_kwargs`` (its value is 150 million)."""
    return [{"source": source, "amount": amount, "budgeted": budgeted}]


def draft_kwargs(category: str = "KSDD", document_kind: str = "KB", **overrides) -> dict:
    """Arguments of a valid ``draft`` (domestic, APBD money budgeted, not burdening the public: no DPRD)."""
    kwargs = dict(
        role="kerjasama", category=category, document_kind=document_kind, title="Kerja sama pengelolaan sampah",
        partners=[partner_for(category)], start_date=START, end_date=END, lead_opd=LEAD_OPD,
        urusan=["lingkungan_hidup"], burdens_public=False, value=150_000_000,
        funding=[{"source": "apbd", "amount": 150_000_000, "budgeted": True}],
        funding_scheme="APBD", purpose="Mengurangi sampah", scope="Pengangkutan", location="Sengeti",
        ksdd_type="sukarela" if category == "KSDD" else None,
    )
    kwargs.update(overrides)
    return kwargs


def envelopes(events) -> list[dict]:
    """Stored-envelope stand-ins, passed through canonical JSON to prove the data serialisable."""
    return [{"event_type": e.type,
             "data": json.loads(json.dumps(e.data, sort_keys=True, ensure_ascii=False, allow_nan=False))}
            for e in events]


class Stream:
    """An agreement with the events it decided, as a handler would store them."""

    def __init__(self, agreement: Agreement | None = None):
        self.agreement = agreement or Agreement(new_agreement_id())
        self.events = []

    @property
    def status(self) -> str | None:
        return self.agreement.status

    def do(self, command: str, **kwargs):
        method = getattr(self.agreement, command)
        parameters = inspect.signature(method).parameters
        if "today" in parameters:
            kwargs.setdefault("today", TODAY)  # the server's date, as the handler passes it
        if "actor" in parameters:  # the token subject, as the handler passes it: one user per role here
            kwargs.setdefault("actor", f"user-{kwargs.get('role')}")
        new = method(**kwargs)
        self.events.extend(new)
        return new

    def rebuilt(self) -> Agreement:
        return Agreement.rebuild(self.agreement.stream_id, envelopes(self.events))


def drafted(category: str = "KSDD", document_kind: str = "KB", parent: Agreement | None = None, **overrides) -> Stream:
    stream = Stream()
    if parent is not None:
        overrides.setdefault("partners", [partner_for(category)])
    stream.do("draft", **draft_kwargs(category, document_kind, parent_kb=parent, **overrides))
    stream.parent = parent
    return stream


def step(stream: Stream) -> None:
    """Move one step along the normal path (with the role DOMAIN §5 gives each step)."""
    a, parent = stream.agreement, getattr(stream, "parent", None)
    views = [partner(KIND_FOR[a.category], pid=pid) for pid in a.partner_ids]
    if a.status == Status.DRAFT:
        stream.do("submit", role="kerjasama", partners=views, parent_kb=parent)
    elif a.status == Status.SUBMITTED:
        stream.do("start_review", role="tkksd")
    elif a.status == Status.UNDER_REVIEW:
        stream.do("record_review", role="tkksd", recommended=True, notes="Layak", reviewed_on=date(2024, 12, 1))
    elif a.status == Status.AWAITING_DPRD:
        stream.do("approve_dprd", role="pimpinan", approval_ref="KEP-DPRD/12/2024", approved_on=date(2024, 12, 5))
    elif a.status == Status.AWAITING_CENTRAL:
        stream.do("approve_central", role="pimpinan", approval_ref="KEMENDAGRI/100/2024",
                  approved_on=date(2024, 12, 10))
    elif a.status == Status.READY_TO_SIGN:
        stream.do("sign", role="pimpinan", signatory_name="Bupati", signatory_position="kepala_daerah",
                  signed_on=SIGNED_ON, our_number="100/KS/2024", partner_number="200/KS/2024", parent_kb=parent)
    elif a.status == Status.SIGNED:
        stream.do("activate", role="service", on=START, parent_kb=parent)
    elif a.status == Status.ACTIVE:
        stream.do("expire", role="service", on=END + timedelta(days=1))
    else:
        raise AssertionError(f"no next step from {a.status}")


def advance(stream: Stream, target: str) -> Stream:
    for _ in range(12):
        if stream.status == target:
            return stream
        step(stream)
    raise AssertionError(f"{target} not reached, stopped at {stream.status}")


def at(target: str, category: str = "KSDD", document_kind: str = "KB", parent: Agreement | None = None,
       **overrides) -> Stream:
    """A stream of a freshly drafted agreement moved along the normal path to ``target``."""
    if document_kind == "PKS" and parent is None and category != "SINERGI":
        parent = at("SIGNED", category).agreement
    return advance(drafted(category, document_kind, parent=parent, **overrides), target)


def signed_pks(**overrides) -> Stream:
    return at("SIGNED", "KSDD", "PKS", **overrides)


def kb_amended(pks: Stream, signed_on: date = date(2025, 6, 1), **changes) -> tuple[Agreement, Agreement]:
    """Record an addendum with ``changes`` on the KB of ``pks``; returns the KB (before, after) it."""
    kb = pks.parent
    before = copy.deepcopy(kb)
    amend(Stream(kb), changes, on=signed_on, number=f"ADD-KB-{kb.version}", reason="Adendum KB")
    return before, kb


def with_activity(stream: Stream, activity_id: str = "act-1", responsible_opd: str = LEAD_OPD, **overrides) -> Stream:
    kwargs = dict(role="kerjasama", activity_id=activity_id, name="Pelatihan operator", indicator="Operator terlatih",
                  target=40, unit="orang", schedule_start=START, schedule_end=date(2025, 12, 31),
                  responsible_opd=responsible_opd, budget=25_000_000)
    kwargs.update(overrides)
    stream.do("add_activity", **kwargs)
    return stream


def amend(stream: Stream, changes: dict, *, on: date = date(2025, 6, 1), number: str | None = None,
          reason: str = "Perubahan ketentuan", parent_kb: Agreement | None = None, **signing) -> list:
    """Take an addendum of ``changes`` through its whole lifecycle (draft, and when needed the TKKSD
    review and the approvals, all dated ``on``) and sign it; the events of the signing."""
    a = stream.agreement
    parent_kb = parent_kb if parent_kb is not None else getattr(stream, "parent", None)
    stream.do("draft_addendum", role="kerjasama", reason=reason, changes=changes, parent_kb=parent_kb)
    addendum = a.open_addendum
    no = addendum["addendum_no"]
    if addendum["substantive"]:
        stream.do("submit_addendum", role="kerjasama", addendum_no=no)
        stream.do("record_addendum_review", role="tkksd", addendum_no=no, recommended=True, notes="Layak",
                  reviewed_on=on)
    if a.open_addendum["status"] == "AWAITING_DPRD":
        stream.do("approve_addendum_dprd", role="pimpinan", addendum_no=no, approval_ref="KEP-DPRD/ADD",
                  approved_on=on)
    if a.open_addendum["status"] == "AWAITING_CENTRAL":
        stream.do("approve_addendum_central", role="pimpinan", addendum_no=no, approval_ref="KEMENDAGRI/ADD",
                  approved_on=on)
    kwargs = dict(signatory_name="Bupati", signatory_position="kepala_daerah")
    kwargs.update(signing)
    return stream.do("sign_addendum", role="pimpinan", addendum_no=no, number=number or f"ADD-{no}", signed_on=on,
                     parent_kb=parent_kb, **kwargs)


def refused(rule: str, status: int | None = None):
    """Context manager: the block raises DomainError ``rule`` (with ``status`` when given)."""
    return _Refused(rule, status)


class _Refused:
    def __init__(self, rule, status):
        self.rule, self.status = rule, status
        self._raises = pytest.raises(DomainError)

    def __enter__(self):
        self.info = self._raises.__enter__()
        return self.info

    def __exit__(self, *exc):
        if not self._raises.__exit__(*exc):
            return False  # another kind of exception: let it propagate unchanged
        error = self.info.value
        assert error.rule == self.rule, f"expected {self.rule}, got {error.rule}: {error.detail}"
        if self.status is not None:
            assert error.kind == self.status
        return True


# --- the builders' own checks ---------------------------------------------------------------------

@pytest.mark.parametrize("target", ["DRAFT", "SUBMITTED", "UNDER_REVIEW", "READY_TO_SIGN", "SIGNED", "ACTIVE",
                                    "EXPIRED"])
def test_at_reaches_each_state_on_the_domestic_path(target):
    assert at(target).status == target


def test_signed_pks_points_at_a_signed_kb():
    pks = signed_pks().agreement
    assert pks.status == "SIGNED" and pks.document_kind == "PKS" and pks.parent_kb_id.startswith("agreement-")


def test_refused_fails_on_another_rule():
    with pytest.raises(AssertionError):
        with refused("term_exceeds_five_years"):
            raise DomainError("end_before_start", "x")
