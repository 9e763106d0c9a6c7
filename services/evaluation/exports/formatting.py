"""Formatting of the exports: Indonesian dates, money and decimals, labels, the columns of each
table, and the CSV and XLSX writers.

Pure (no Flask, no database): tests/unit/evaluation_exports. CSV: UTF-8 with a byte-order mark
(spreadsheets then read the accents right), dates as "05 Januari 2026", money as "4.500.000.000",
decimals with a comma ("82,50"). XLSX: typed cells (real dates, numbers) shown with Indonesian
formats, so sums and sorting work. Text that a spreadsheet would run as a formula (starting with
= + - @) is neutralised.

Labels are keyed by the vocabulary (``services.evaluation.vocabulary`` for the agreements service's
statuses and categories, the evaluation domain for evaluation statuses and assessors), so a value
added there without its Indonesian label fails tests/unit/evaluation_exports/test_formatting.py.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Callable, Iterable, Mapping
from zoneinfo import ZoneInfo

from services.evaluation.domain import ASSESSOR_KERJASAMA, ASSESSOR_OPD, ASSESSOR_TKKSD
from services.evaluation.domain import Status as EvaluationStatus
from services.evaluation.vocabulary import (
    AgreementStatus as S, Category, cooperation_scope, funding_names, opd_name, urusan_names,
)

# ------------------------------------------------------------------------------ labels

BULAN = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober",
         "November", "Desember")
CATEGORY_LABELS = {
    Category.KSDD: "Kerja Sama Daerah dengan Daerah Lain (KSDD)",
    Category.KSDPK: "Kerja Sama Daerah dengan Pihak Ketiga (KSDPK)",
    Category.KSDPL: "Kerja Sama Daerah dengan Pemerintah Daerah di Luar Negeri (KSDPL)",
    Category.KSDLL: "Kerja Sama Daerah dengan Lembaga di Luar Negeri (KSDLL)",
    Category.SINERGI: "Sinergi dengan Pemerintah Pusat",
}
DOCUMENT_LABELS = {"KB": "Kesepakatan Bersama (KB/MoU/Nota Kesepakatan)", "PKS": "Perjanjian Kerja Sama (PKS)"}
PARTNER_KIND_LABELS = {
    "daerah_lain": "Daerah Lain",
    "pihak_ketiga": "Pihak Ketiga",
    "pemda_luar_negeri": "Pemerintah Daerah di Luar Negeri",
    "lembaga_luar_negeri": "Lembaga di Luar Negeri",
    "pemerintah_pusat": "Pemerintah Pusat",
}
STATUS_LABELS = {
    S.DRAFT: "Draf", S.SUBMITTED: "Diajukan", S.UNDER_REVIEW: "Dalam Kajian TKKSD",
    S.AWAITING_DPRD: "Menunggu Persetujuan DPRD", S.AWAITING_CENTRAL: "Menunggu Persetujuan Pemerintah Pusat",
    S.READY_TO_SIGN: "Siap Ditandatangani", S.SIGNED: "Ditandatangani", S.ACTIVE: "Berlaku",
    S.EXPIRED: "Berakhir", S.TERMINATED: "Diakhiri", S.REJECTED: "Ditolak", S.CANCELLED: "Dibatalkan",
}
EVALUATION_STATUS_LABELS = {
    EvaluationStatus.SCHEDULED: "Dijadwalkan", EvaluationStatus.IN_PROGRESS: "Sedang Diisi",
    EvaluationStatus.SUBMITTED: "Diajukan", EvaluationStatus.FINALIZED: "Final",
    EvaluationStatus.CANCELLED: "Dibatalkan",
}
ASSESSOR_LABELS = {ASSESSOR_OPD: "Perangkat Daerah", ASSESSOR_KERJASAMA: "Bagian Kerja Sama", ASSESSOR_TKKSD: "TKKSD"}
SCOPE_LABELS = {"dalam_negeri": "Dalam Negeri", "luar_negeri": "Luar Negeri"}
RATING_LABELS = {5: "Sangat Baik", 4: "Baik", 3: "Cukup", 2: "Kurang", 1: "Sangat Kurang"}
ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}

# ------------------------------------------------------------------------------ pure helpers


def to_date(value: Any, tz: str = "Asia/Jakarta") -> date | None:
    """A date from a ``date``, a ``datetime`` (aware ones are read in ``tz``) or an ISO string."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.astimezone(ZoneInfo(tz)).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            if len(text) == 10:
                return date.fromisoformat(text)
            return to_date(datetime.fromisoformat(text.replace("Z", "+00:00")), tz)
        except ValueError:
            return None
    return None


def format_date(value: Any, tz: str = "Asia/Jakarta") -> str:
    """``dd MMMM yyyy`` in Indonesian: ``date(2026, 1, 5)`` → ``"05 Januari 2026"``; empty for none."""
    day = to_date(value, tz)
    return f"{day.day:02d} {BULAN[day.month - 1]} {day.year}" if day else ""


def _group_thousands(digits: str) -> str:
    return ".".join(reversed([digits[max(i - 3, 0):i] for i in range(len(digits), 0, -3)]))


def format_decimal(value: Any, places: int = 2) -> str:
    """Indonesian number: ``.`` groups thousands, ``,`` before the decimals (``1234.5`` → ``"1.234,50"``);
    halves round away from zero; empty for none."""
    if value is None or value == "" or isinstance(value, bool):
        return ""
    number = Decimal(str(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    sign = "-" if number < 0 else ""
    whole, _, fraction = f"{abs(number):f}".partition(".")
    text = _group_thousands(whole)
    return f"{sign}{text},{fraction}" if places > 0 else f"{sign}{text}"


def format_rupiah(value: Any, prefix: bool = False) -> str:
    """Whole rupiah with Indonesian grouping: ``4500000000`` → ``"4.500.000.000"`` (``"Rp 4.500.000.000"``
    with ``prefix``); empty for none."""
    text = format_decimal(value, 0)
    return f"Rp {text}" if prefix and text else text


def period_label(period: str | None) -> str:
    """``TW1`` → ``Triwulan I``, ``TAHUNAN`` → ``Tahunan``, ``AKHIR`` → ``Akhir``; a reporting period
    ``2026-TW2`` → ``Triwulan II 2026``."""
    if not period:
        return ""
    match = re.fullmatch(r"(?:(\d{4})-)?TW([1-4])", period)
    if match:
        year, quarter = match.groups()
        return f"Triwulan {ROMAN[int(quarter)]}" + (f" {year}" if year else "")
    return {"TAHUNAN": "Tahunan", "AKHIR": "Akhir"}.get(period, period)


def rating_label(rating: Any) -> str:
    """``4`` → ``"Baik"``; empty for none."""
    return RATING_LABELS.get(rating, "") if isinstance(rating, int) and not isinstance(rating, bool) else ""


# Characters no spreadsheet cell may hold (XLSX is XML: C0 controls other than tab and line
# breaks, lone surrogates and U+FFFE/U+FFFF). The edge refuses them now, but events stored before
# may hold them, and an export must never fail on one row.
_NOT_IN_CELLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def cell_text(value: Any) -> str:
    """``value`` as text a CSV or XLSX cell can hold (characters cells cannot hold are dropped)."""
    return _NOT_IN_CELLS.sub("", "" if value is None else str(value))


def safe_text(value: Any) -> str:
    """Text for a spreadsheet cell: a leading ``= + - @`` (or tab/CR) is neutralised with ``'`` so
    the cell is never run as a formula (CSV/formula injection)."""
    text = cell_text(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def scope_of(doc: Mapping) -> str:
    """dalam_negeri or luar_negeri: as the read model records it, else from the category, which decides it."""
    if doc.get("cooperation_scope") in SCOPE_LABELS:
        return doc["cooperation_scope"]
    return cooperation_scope(doc.get("category"))


def partner_kinds(doc: Mapping) -> list[str]:
    """The kinds of an agreement's partners, as the read model records them."""
    kinds = doc.get("partner_kind_of")
    if isinstance(kinds, Mapping):
        return sorted({k for k in kinds.values() if k})
    return sorted({k for k in doc.get("partner_kinds") or [] if k and k != "unknown"})


def partner_names(doc: Mapping) -> list[str]:
    names = doc.get("partner_names") or {}
    return [names.get(pid, pid) for pid in doc.get("partner_ids") or []]


# ------------------------------------------------------------------------------ columns

TEXT, DATE, MONEY, DECIMAL, INT, NUMBER = "text", "date", "money", "decimal", "int", "number"


@dataclass(frozen=True)
class Column:
    header: str
    get: Callable[[Mapping], Any]
    kind: str = TEXT
    width: int = 18


def csv_value(kind: str, value: Any) -> str:
    """A typed value as the Indonesian text a CSV cell holds."""
    if value is None:
        return ""
    if kind == DATE:
        return format_date(value)
    if kind == MONEY:
        return format_rupiah(value)
    if kind == DECIMAL:
        return format_decimal(value, 2)
    if kind == INT:
        return str(value)
    if kind == NUMBER:
        return str(value) if isinstance(value, int) else format_decimal(value, 2)
    return safe_text(value)


def register_columns() -> list[Column]:
    return [
        Column("Nomor", lambda d: d.get("our_number"), width=24),
        Column("Nomor Mitra", lambda d: d.get("partner_number"), width=22),
        Column("Judul", lambda d: d.get("title"), width=60),
        Column("Kategori", lambda d: CATEGORY_LABELS.get(d.get("category"), d.get("category")), width=36),
        Column("Jenis Dokumen", lambda d: DOCUMENT_LABELS.get(d.get("document_kind"), d.get("document_kind")),
               width=30),
        Column("Mitra", lambda d: "; ".join(partner_names(d)), width=40),
        Column("Jenis Mitra", lambda d: "; ".join(PARTNER_KIND_LABELS.get(k, k) for k in partner_kinds(d)),
               width=22),
        Column("Lingkup", lambda d: SCOPE_LABELS[scope_of(d)], width=14),
        Column("Urusan", lambda d: "; ".join(urusan_names(d.get("urusan") or [])), width=36),
        Column("OPD Pengampu", lambda d: opd_name(d.get("lead_opd")), width=36),
        Column("Tanggal Mulai", lambda d: to_date(d.get("start_date")), DATE),
        Column("Tanggal Berakhir", lambda d: to_date(d.get("end_date")), DATE),
        Column("Tanggal Penandatanganan", lambda d: to_date(d.get("signed_on")), DATE),
        Column("Status", lambda d: STATUS_LABELS.get(d.get("status"), d.get("status")), width=24),
        Column("Nilai (Rp)", lambda d: d.get("value"), MONEY, 18),
        Column("Sumber Pendanaan", lambda d: "; ".join(funding_names(d.get("funding") or [])), width=36),
        Column("Skema Pendanaan", lambda d: d.get("funding_scheme"), width=36),
        Column("Progres (%)", lambda d: d.get("progress"), DECIMAL, 12),
        Column("Skor Terakhir", lambda d: d.get("latest_score"), DECIMAL, 14),
        Column("Nilai Terakhir (1–5)", lambda d: d.get("latest_rating"), INT, 12),
        Column("Predikat Terakhir", lambda d: rating_label(d.get("latest_rating")), width=16),
        Column("Jumlah Adendum", lambda d: d.get("amendment_count") or 0, INT, 10),
        Column("ID Sistem", lambda d: d.get("_id") or d.get("id"), width=44),
    ]


def scored_groups(rubric: Mapping) -> list[tuple[str, str]]:
    """``(group id, Indonesian label)`` of the rubric's groups that carry a score."""
    scored = {i["group"] for i in rubric.get("indicators", []) if i.get("scored")}
    return [(g["id"], g.get("label_id") or g["id"]) for g in rubric.get("groups", []) if g["id"] in scored]


def evaluation_columns(groups: list[tuple[str, str]]) -> list[Column]:
    columns = [
        Column("ID Evaluasi", lambda d: d.get("_id") or d.get("id"), width=44),
        Column("Judul Kerja Sama", lambda d: d.get("agreement_title"), width=60),
        Column("Kategori", lambda d: CATEGORY_LABELS.get(d.get("category"), d.get("category")), width=36),
        Column("OPD Pengampu", lambda d: d.get("lead_opd"), width=16),
        Column("Periode", lambda d: period_label(d.get("period")), width=14),
        Column("Tahun", lambda d: d.get("year"), INT, 8),
        Column("Penilai", lambda d: ASSESSOR_LABELS.get(d.get("assessor_kind"), d.get("assessor_kind")), width=20),
        Column("Batas Waktu", lambda d: to_date(d.get("due_date")), DATE),
        Column("Status", lambda d: EVALUATION_STATUS_LABELS.get(d.get("status"), d.get("status")), width=14),
    ]
    columns += [Column(f"Skor {label}", lambda d, g=gid: (d.get("group_scores") or {}).get(g), DECIMAL, 14)
                for gid, label in groups]
    columns += [
        Column("Skor Akhir (0–100)", lambda d: d.get("overall"), DECIMAL, 14),
        Column("Nilai (1–5)", lambda d: d.get("rating"), INT, 10),
        Column("Predikat", lambda d: rating_label(d.get("rating")), width=14),
        Column("Tanggal Final", lambda d: to_date(d.get("finalized_at")), DATE),
        Column("ID Kerja Sama", lambda d: d.get("agreement_id"), width=44),
    ]
    return columns


# ------------------------------------------------------------------------------ writers

def csv_bytes(columns: list[Column], docs: Iterable[Mapping], delimiter: str = ",") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow([c.header for c in columns])
    for doc in docs:
        writer.writerow([csv_value(c.kind, c.get(doc)) for c in columns])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


NUMBER_FORMATS = {DATE: "[$-421]dd mmmm yyyy", MONEY: "#,##0", DECIMAL: "#,##0.00", INT: "0"}


def _sheet(workbook, title: str, columns: list[Column], docs: Iterable[Mapping], first: bool = False):
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    sheet = workbook.active if first else workbook.create_sheet()
    sheet.title = title[:31]
    sheet.append([c.header for c in columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
        cell.alignment = Alignment(vertical="top", wrap_text=True)
    for row, doc in enumerate(docs, start=2):
        for col, column in enumerate(columns, start=1):
            value = column.get(doc)
            cell = sheet.cell(row=row, column=col)
            if column.kind == TEXT:
                cell.value = cell_text(value)
                cell.data_type = "s"  # never a formula, whatever the text starts with
            else:
                cell.value = cell_text(value) if isinstance(value, str) else value
                if column.kind in NUMBER_FORMATS:
                    cell.number_format = NUMBER_FORMATS[column.kind]
    for col, column in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(col)].width = column.width
    sheet.freeze_panes = "A2"
    if sheet.max_row > 1:
        sheet.auto_filter.ref = sheet.dimensions
    return sheet


def xlsx_bytes(sheets: list[tuple[str, list[Column], Iterable[Mapping]]],
               notes: list[tuple[str, Any]] | None = None) -> bytes:
    """A workbook with one sheet per ``(title, columns, docs)`` and a "Keterangan" sheet of ``notes``."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    for index, (title, columns, docs) in enumerate(sheets):
        _sheet(workbook, title, columns, docs, first=index == 0)
    if notes:
        sheet = workbook.create_sheet("Keterangan")
        for key, value in notes:
            sheet.append([cell_text(key), cell_text(value)])
            sheet.cell(row=sheet.max_row, column=2).data_type = "s"
            sheet.cell(row=sheet.max_row, column=1).font = Font(bold=True)
        sheet.column_dimensions["A"].width, sheet.column_dimensions["B"].width = 28, 80
    workbook.properties.creator = "Jalin — Kerja Sama Daerah"
    workbook.properties.language = "id-ID"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()

