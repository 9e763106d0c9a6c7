"""Pure helpers of the exports: Indonesian dates, money and decimals, labels, CSV safety, the CSV and
XLSX writers, the annual recap and the open-data release (no personal data)."""
import csv
import io
import json
from datetime import date, datetime, timezone

import pytest
from openpyxl import load_workbook

from services.evaluation.exports import (
    cell_text,
    CATEGORY_LABELS, Column, DATE, DECIMAL, INT, MONEY, annual_recap, csv_bytes, format_date, format_decimal,
    format_rupiah, open_data_package, open_party, period_label, rating_label, recap_flags, register_columns,
    safe_text, scored_groups, to_date, xlsx_bytes,
)


@pytest.mark.parametrize("value, text", [
    (date(2026, 1, 5), "05 Januari 2026"),
    ("2024-12-31", "31 Desember 2024"),
    ("2025-05-17", "17 Mei 2025"),
    ("2023-08-01", "01 Agustus 2023"),
    (datetime(2025, 3, 9, 12, 0), "09 Maret 2025"),
    # an aware moment is read in Asia/Jakarta (UTC+7): 20:00 UTC on 31 Oct is 1 Nov there
    (datetime(2025, 10, 31, 20, 0, tzinfo=timezone.utc), "01 November 2025"),
    ("2025-10-31T20:00:00+00:00", "01 November 2025"),
    (None, ""), ("", ""), ("bukan tanggal", ""),
])
def test_dates_are_dd_mmmm_yyyy_in_indonesian(value, text):
    assert format_date(value) == text


def test_every_month_has_its_indonesian_name():
    names = [format_date(date(2026, m, 1)).split()[1] for m in range(1, 13)]
    assert names == ["Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September",
                     "Oktober", "November", "Desember"]


@pytest.mark.parametrize("value, text", [
    (0, "0"), (999, "999"), (1000, "1.000"), (4_500_000_000, "4.500.000.000"), (1_234_567, "1.234.567"),
    (-25_000, "-25.000"), (None, ""),
])
def test_money_uses_indonesian_grouping(value, text):
    assert format_rupiah(value) == text


def test_money_with_the_currency_prefix():
    assert format_rupiah(5_250_000_000, prefix=True) == "Rp 5.250.000.000"
    assert format_rupiah(None, prefix=True) == ""


@pytest.mark.parametrize("value, places, text", [
    (82.5, 2, "82,50"), (100, 2, "100,00"), (0, 2, "0,00"), (1234.5, 2, "1.234,50"), (66.665, 2, "66,67"),
    (-1.005, 2, "-1,01"), (40.0, 1, "40,0"), (1234567.891, 0, "1.234.568"), (None, 2, ""), (True, 2, ""),
])
def test_decimals_use_a_comma_and_round_half_up(value, places, text):
    assert format_decimal(value, places) == text


@pytest.mark.parametrize("period, label", [
    ("TW1", "Triwulan I"), ("TW4", "Triwulan IV"), ("TAHUNAN", "Tahunan"), ("AKHIR", "Akhir"),
    ("2026-TW2", "Triwulan II 2026"), (None, ""),
])
def test_period_labels(period, label):
    assert period_label(period) == label


def test_rating_labels():
    assert [rating_label(n) for n in (5, 4, 3, 2, 1)] == ["Sangat Baik", "Baik", "Cukup", "Kurang", "Sangat Kurang"]
    assert rating_label(None) == rating_label("5") == rating_label(True) == ""


@pytest.mark.parametrize("text, safe", [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"), ("+62 741", "'+62 741"), ("-1", "'-1"),
    ("@SUM(A1)", "'@SUM(A1)"), ("Kesepakatan Bersama", "Kesepakatan Bersama"), (None, ""), (12, "12"),
])
def test_text_is_never_a_formula(text, safe):
    assert safe_text(text) == safe


def test_to_date_accepts_dates_datetimes_and_iso_text():
    assert to_date("2026-02-28") == date(2026, 2, 28)
    assert to_date(date(2026, 2, 28)) == date(2026, 2, 28)
    assert to_date("2026-02-30") is None and to_date(42) is None


REGISTER_DOC = {
    "_id": "agreement-1", "our_number": "01/KB/SETDA-KS/2024", "title": "=Kesepakatan Bersama Uji",
    "category": "KSDD", "document_kind": "KB", "partner_ids": ["partner-1", "partner-2"],
    "partner_names": {"partner-1": "Pemerintah Kota Jambi", "partner-2": "Pemerintah Kabupaten Tebo"},
    "partner_kind_of": {"partner-1": "daerah_lain", "partner-2": "daerah_lain"}, "urusan": ["perhubungan"],
    "lead_opd": "DISHUB", "start_date": "2024-01-05", "end_date": "2028-12-31", "signed_on": "2023-12-20",
    "status": "ACTIVE", "value": 1_250_000_000, "progress": 45.5, "latest_score": 80.73, "latest_rating": 4,
    "amendment_count": 1,
}


def test_csv_has_indonesian_headers_and_formats():
    body = csv_bytes(register_columns(), [REGISTER_DOC])
    assert body.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert len(rows) == 1
    row = rows[0]
    assert {"Nomor", "Judul", "Kategori", "Jenis Dokumen", "Mitra", "OPD Pengampu", "Tanggal Mulai",
            "Tanggal Berakhir", "Status", "Nilai (Rp)", "Progres (%)", "Skor Terakhir"} <= set(row)
    assert row["Tanggal Mulai"] == "05 Januari 2024" and row["Tanggal Berakhir"] == "31 Desember 2028"
    assert row["Nilai (Rp)"] == "1.250.000.000" and row["Progres (%)"] == "45,50" and row["Skor Terakhir"] == "80,73"
    assert row["Mitra"] == "Pemerintah Kota Jambi; Pemerintah Kabupaten Tebo" and row["Status"] == "Berlaku"
    assert row["Kategori"] == CATEGORY_LABELS["KSDD"] and row["Lingkup"] == "Dalam Negeri"
    assert row["Judul"] == "'=Kesepakatan Bersama Uji"  # neutralised
    semicolon = csv_bytes(register_columns(), [REGISTER_DOC], ";").decode("utf-8-sig")
    assert semicolon.splitlines()[0].startswith("Nomor;Nomor Mitra;Judul;")


def test_xlsx_cells_are_typed_with_indonesian_formats():
    columns = [Column("Judul", lambda d: d["title"]),
               Column("Tanggal Mulai", lambda d: to_date(d["start_date"]), DATE),
               Column("Nilai (Rp)", lambda d: d["value"], MONEY),
               Column("Progres (%)", lambda d: d["progress"], DECIMAL),
               Column("Nilai (1–5)", lambda d: d["latest_rating"], INT)]
    data = xlsx_bytes([("Register", columns, [REGISTER_DOC])], [("Filter", "status=ACTIVE")])
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["Register", "Keterangan"]
    sheet = book["Register"]
    assert [c.value for c in sheet[1]] == ["Judul", "Tanggal Mulai", "Nilai (Rp)", "Progres (%)", "Nilai (1–5)"]
    title, start, value, progress, rating = sheet[2]
    assert title.value == "=Kesepakatan Bersama Uji" and title.data_type == "s"  # text, not a formula
    assert start.value == datetime(2024, 1, 5) and start.number_format == "[$-421]dd mmmm yyyy"
    assert value.value == 1_250_000_000 and value.number_format == "#,##0"
    assert progress.value == 45.5 and rating.value == 4
    assert book["Keterangan"]["B1"].value == "status=ACTIVE"


RUBRIC = {"groups": [{"id": "pelaksanaan", "label_id": "Pelaksanaan"},
                    {"id": "rekomendasi", "label_id": "Rekomendasi"}],
          "indicators": [{"id": "a", "group": "pelaksanaan", "scored": True},
                         {"id": "b", "group": "rekomendasi", "scored": False}]}


def test_only_scored_groups_get_a_column():
    assert scored_groups(RUBRIC) == [("pelaksanaan", "Pelaksanaan")]


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


def test_open_data_has_no_personal_data():
    partners = {
        "p1": {"_id": "p1", "name": "Pemerintah Kota Jambi", "kind": "daerah_lain", "region_code": "15.71",
               "country": "ID", "contacts": [{"name": "Hendra", "email": "h@jambikota.example", "phone": "+62 1"}],
               "identifiers": {"npwp": "0123456789012345"}, "address": {"street": "Jl. Rahasia 1"}},
        "p2": {"_id": "p2", "name": "Budi Santoso", "kind": "pihak_ketiga", "subtype": "perseorangan",
               "country": "ID", "identifiers": {"npwp": "9999999999999999"}},
    }
    doc = agreement("a1", partner_ids=["p1", "p2"], partner_names={"p1": "Pemerintah Kota Jambi", "p2": "Budi Santoso"},
                    value=100, title="PKS Uji", version=7, activities={"x": {"name": "Kegiatan", "target": 10}})
    package = open_data_package([doc], partners, "http://example/api/v1/exports/open-data.json", date(2026, 1, 1),
                                published="2026-01-01T00:00:00+00:00")
    text = json.dumps(package, ensure_ascii=False)
    for secret in ("contacts", "email", "phone", "Hendra", "npwp", "Jl. Rahasia", "Budi Santoso", "9999"):
        assert secret not in text, secret
    release = package["releases"][0]
    assert release["ocid"] == "ocds-jalin-a1" and release["id"] == "a1-v7"
    assert release["contracts"][0]["value"] == {"amount": 100, "currency": "IDR"}
    assert release["contracts"][0]["status"] == "active" and "implementation" in release["tag"]
    assert [p["name"] for p in release["parties"]][:2] == ["Pemerintah Kota Jambi",
                                                           "Perseorangan (nama tidak dipublikasikan)"]
    assert open_party("p1", partners["p1"], "x")["identifier"] == {"scheme": "ID-KEMENDAGRI", "id": "15.71"}


def test_stored_text_with_control_characters_still_exports():
    """Events stored before the edge refused control characters may carry them: the export drops
    what a cell cannot hold instead of failing (it answered 500)."""
    doc = {**REGISTER_DOC, "title": "Judul\u0001 dengan\u0000 kendali\u001f", "our_number": "12\u000b/KB"}
    columns = [Column("Judul", lambda d: d["title"]), Column("Nomor", lambda d: d["our_number"], DATE)]
    book = load_workbook(io.BytesIO(xlsx_bytes([("Register", columns, [doc])], [("Filter", "q=a\u0002b")])))
    assert [c.value for c in book["Register"][2]] == ["Judul dengan kendali", "12/KB"]
    assert book["Keterangan"]["B1"].value == "q=ab"
    body = csv_bytes(register_columns(), [doc]).decode("utf-8-sig")
    assert "Judul dengan kendali" in body and "\u0001" not in body and "\u0000" not in body
    assert "baris satu\nbaris dua" == cell_text("baris satu\nbaris dua")  # line breaks stay
