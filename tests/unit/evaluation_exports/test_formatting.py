"""Formatting of the exports: Indonesian dates, money and decimals, labels, CSV safety, the CSV and
XLSX writers."""
import csv
import io
from datetime import date, datetime, timezone

import pytest
from openpyxl import load_workbook

from services.evaluation.domain import ASSESSOR_KINDS
from services.evaluation.domain import Status as EvaluationStatus
from services.evaluation.exports.formatting import (
    ASSESSOR_LABELS, CATEGORY_LABELS, Column, DATE, DECIMAL, EVALUATION_STATUS_LABELS, INT, MONEY,
    PARTNER_KIND_LABELS, STATUS_LABELS, cell_text, csv_bytes, format_date, format_decimal, format_rupiah, period_label,
    rating_label, register_columns, safe_text, scored_groups, scope_of, to_date, xlsx_bytes,
)
from services.evaluation.schemas import KINDS
from services.evaluation.vocabulary import CATEGORIES, STATUSES


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


def test_every_value_of_the_vocabulary_has_its_indonesian_label():
    assert set(STATUS_LABELS) == set(STATUSES)
    assert list(CATEGORY_LABELS) == list(CATEGORIES)  # the recap lists categories in this order
    assert set(EVALUATION_STATUS_LABELS) == set(EvaluationStatus.ALL)
    assert set(ASSESSOR_LABELS) == set(ASSESSOR_KINDS)
    assert list(PARTNER_KIND_LABELS) == list(KINDS)


def test_the_scope_is_the_recorded_one_else_the_categorys():
    assert scope_of({"cooperation_scope": "luar_negeri", "category": "KSDD"}) == "luar_negeri"
    assert scope_of({"category": "KSDLL"}) == "luar_negeri" and scope_of({"category": "KSDPL"}) == "luar_negeri"
    assert scope_of({"category": "KSDPK"}) == "dalam_negeri" and scope_of({}) == "dalam_negeri"


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
