"""The annual recap: its documented definitions, and its counts and averages per category, partner
kind and lead OPD."""
import io
from datetime import date

from openpyxl import load_workbook

from services.evaluation.exports.annual_recap import annual_recap, recap_flags, recap_title, recap_workbook
from services.evaluation.exports.formatting import xlsx_bytes


def agreement(aid, **kw):
    base = {"_id": aid, "status": "ACTIVE", "category": "KSDD", "lead_opd": "DINKES",
            "partner_ids": ["p1"], "partner_kind_of": {"p1": "daerah_lain"}, "start_date": "2023-01-01",
            "end_date": "2027-12-31", "signed_on": "2022-12-20"}
    return {**base, **kw}


def test_recap_flags_follow_the_documented_definitions():
    assert recap_flags(agreement("a", signed_on="2025-03-01", start_date="2025-04-01"), 2025) == {
        "signed": True, "active": True, "expired": False, "terminated": False}
    expired = agreement("b", status="EXPIRED", start_date="2022-06-01", end_date="2024-12-31", signed_on="2022-05-20")
    assert recap_flags(expired, 2024) == {"signed": False, "active": True, "expired": True, "terminated": False}
    assert not any(recap_flags(expired, 2025).values())
    terminated = agreement("c", status="TERMINATED", terminated_on="2025-08-15")
    assert recap_flags(terminated, 2025)["terminated"] and recap_flags(terminated, 2025)["active"]
    assert not recap_flags(terminated, 2026)["active"]
    future = agreement("d", status="SIGNED", start_date="2027-01-15", end_date="2029-01-14", signed_on="2026-11-19")
    assert recap_flags(future, 2026) == {"signed": True, "active": False, "expired": False, "terminated": False}
    assert not any(recap_flags(agreement("e", status="DRAFT", signed_on=None), 2025).values())


def test_annual_recap_counts_and_averages_per_category_partner_kind_and_opd():
    agreements = [
        agreement("a1", signed_on="2025-02-01", start_date="2025-03-01"),
        agreement("a2", category="KSDPK", lead_opd="DISTAN", partner_kind_of={"p2": "pihak_ketiga"},
                  partner_ids=["p2"]),
        agreement("a3", status="EXPIRED", end_date="2025-06-30"),
        agreement("a4", status="DRAFT", signed_on=None),
    ]
    evaluations = [
        {"_id": "e1", "agreement_id": "a1", "status": "FINALIZED", "year": 2025, "overall": 80.0, "rating": 4,
         "lead_opd": "DINKES", "group_scores": {"pelaksanaan": 75.0}},
        {"_id": "e2", "agreement_id": "a2", "status": "FINALIZED", "year": 2025, "overall": 61.25, "rating": 3,
         "lead_opd": "DISTAN", "group_scores": {"pelaksanaan": 50.0}},
        {"_id": "e3", "agreement_id": "a1", "status": "FINALIZED", "year": 2024, "overall": 100.0, "rating": 5},
        {"_id": "e4", "agreement_id": "a1", "status": "SUBMITTED", "year": 2025},
    ]
    recap = annual_recap(agreements, evaluations, 2025, [("pelaksanaan", "Pelaksanaan")])
    totals = recap["totals"]
    assert (totals["signed"], totals["active"], totals["expired"], totals["terminated"]) == (1, 3, 1, 0)
    assert totals["evaluations_finalized"] == 2 and totals["average_score"] == 70.63  # (80 + 61.25) / 2
    assert totals["rating_distribution"] == {"4": 1, "3": 1}
    assert totals["average_group_scores"] == {"pelaksanaan": {"label": "Pelaksanaan", "average": 62.5}}
    categories = {r["key"]: r for r in recap["by_category"]}
    assert set(categories) == {"KSDD", "KSDPK", "KSDPL", "KSDLL", "SINERGI"}  # every category, even at zero
    assert (categories["KSDD"]["active"], categories["KSDD"]["signed"], categories["KSDD"]["expired"]) == (2, 1, 1)
    assert categories["KSDD"]["average_score"] == 80.0 and categories["KSDPK"]["average_score"] == 61.25
    assert categories["SINERGI"]["active"] == 0 and categories["SINERGI"]["average_score"] is None
    kinds = {r["key"]: r for r in recap["by_partner_kind"]}
    assert kinds["daerah_lain"]["active"] == 2 and kinds["pihak_ketiga"]["evaluations_finalized"] == 1
    opds = {r["key"]: r for r in recap["by_opd"]}
    assert set(opds) == {"DINKES", "DISTAN"} and opds["DISTAN"]["average_score"] == 61.25
    assert sum(r["active"] for r in recap["by_category"]) == totals["active"]


def test_the_recap_workbook_has_a_summary_and_a_sheet_per_dimension():
    recap = {**annual_recap([agreement("a1", signed_on="2025-02-01")], [], 2025), "title": recap_title(2025)}
    sheets, notes = recap_workbook(recap, date(2026, 1, 2))
    book = load_workbook(io.BytesIO(xlsx_bytes(sheets, notes)))
    assert book.sheetnames == ["Ringkasan", "Per Kategori", "Per Jenis Mitra", "Per OPD", "Keterangan"]
    assert [c.value for c in book["Ringkasan"]["A"]][:3] == ["Uraian", "Ditandatangani", "Berlaku"]
    assert [c.value for c in book["Ringkasan"]["B"]][1:3] == [1, 1]
    assert book["Per Kategori"]["A2"].value == "Kerja Sama Daerah dengan Daerah Lain (KSDD)"
    assert book["Keterangan"]["B1"].value == "Rekapitulasi Tahunan Kerja Sama Daerah Tahun 2025"
    assert book["Keterangan"]["B2"].value == "02 Januari 2026"
