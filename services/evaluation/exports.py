"""Exports of the evaluation service's read models (DOMAIN.md §6):

- ``GET /api/v1/exports/agreements.csv|.xlsx`` — the register, with the filters of
  ``GET /api/v1/agreements`` (no paging: every matching row), Indonesian headers;
- ``GET /api/v1/exports/evaluations.csv|.xlsx`` — evaluation results (group scores, overall, 1–5
  rating), with the filters of ``GET /api/v1/evaluations``;
- ``GET /api/v1/exports/open-data.json`` — signed, active, expired and terminated agreements in an
  Open Contracting (OCDS) / IATI-inspired shape, without personal data (docs/open-data.md);
- ``GET /api/v1/exports/annual-recap?year=`` (JSON) and ``annual-recap.xlsx?year=`` — the annual
  recap for the report to the Governor / Minister of Home Affairs.

CSV: UTF-8 with a byte-order mark (spreadsheets then read the accents right), comma-separated
(``?delimiter=semicolon`` for spreadsheets set to the Indonesian locale), dates as "05 Januari
2026", money as "4.500.000.000", decimals with a comma ("82,50"). XLSX: typed cells (real dates,
numbers) shown with Indonesian formats, so sums and sorting work. Text that a spreadsheet would run
as a formula (starting with = + - @) is neutralised.

Who may export: the register — every role but ``publik`` (OPD officers get their OPD's rows only);
evaluation results and the recap — kerjasama, pimpinan, auditor (and admin); open data — any
authenticated role, ``publik`` included.

The formatting helpers at the top are pure (tests/unit/evaluation_exports).
"""
from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Callable, Iterable, Mapping
from zoneinfo import ZoneInfo

from flask import Response, jsonify, request
from flask_smorest import Blueprint
from marshmallow import fields, validate

from shared.auth import current_actor, requires
from shared.readmodel import FILLED
from shared.http import ext
from shared.schema import Schema

from services.evaluation.schemas import AgreementListQuery, CATEGORIES, EvaluationListQuery

blp = Blueprint("exports", __name__, url_prefix="/api/v1/exports",
                description="Exports: register and evaluation results (CSV/XLSX), open data (OCDS-inspired JSON), "
                            "annual recap")

REGISTER_ROLES = ("kerjasama", "tkksd", "pimpinan", "opd", "auditor", "service")
RESULT_ROLES = ("kerjasama", "pimpinan", "auditor")
OPEN_DATA_STATUSES = ("SIGNED", "ACTIVE", "EXPIRED", "TERMINATED")
FOREIGN = ("KSDPL", "KSDLL")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# ------------------------------------------------------------------------------ vocabulary

BULAN = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober",
         "November", "Desember")
CATEGORY_LABELS = {
    "KSDD": "Kerja Sama Daerah dengan Daerah Lain (KSDD)",
    "KSDPK": "Kerja Sama Daerah dengan Pihak Ketiga (KSDPK)",
    "KSDPL": "Kerja Sama Daerah dengan Pemerintah Daerah di Luar Negeri (KSDPL)",
    "KSDLL": "Kerja Sama Daerah dengan Lembaga di Luar Negeri (KSDLL)",
    "SINERGI": "Sinergi dengan Pemerintah Pusat",
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
    "DRAFT": "Draf", "SUBMITTED": "Diajukan", "UNDER_REVIEW": "Dalam Kajian TKKSD",
    "AWAITING_DPRD": "Menunggu Persetujuan DPRD", "AWAITING_CENTRAL": "Menunggu Persetujuan Pemerintah Pusat",
    "READY_TO_SIGN": "Siap Ditandatangani", "SIGNED": "Ditandatangani", "ACTIVE": "Berlaku",
    "EXPIRED": "Berakhir", "TERMINATED": "Diakhiri", "REJECTED": "Ditolak", "CANCELLED": "Dibatalkan",
}
EVALUATION_STATUS_LABELS = {"SCHEDULED": "Dijadwalkan", "IN_PROGRESS": "Sedang Diisi", "SUBMITTED": "Diajukan",
                            "FINALIZED": "Final", "CANCELLED": "Dibatalkan"}
ASSESSOR_LABELS = {"opd": "Perangkat Daerah", "kerjasama": "Bagian Kerja Sama", "tkksd": "TKKSD"}
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


def cooperation_scope(doc: Mapping) -> str:
    """dalam_negeri or luar_negeri (from the category, which decides it)."""
    if doc.get("cooperation_scope") in SCOPE_LABELS:
        return doc["cooperation_scope"]
    return "luar_negeri" if doc.get("category") in FOREIGN else "dalam_negeri"


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
        Column("Lingkup", lambda d: SCOPE_LABELS[cooperation_scope(d)], width=14),
        Column("Urusan", lambda d: ", ".join(d.get("urusan") or []), width=36),
        Column("OPD Pengampu", lambda d: d.get("lead_opd"), width=16),
        Column("Tanggal Mulai", lambda d: to_date(d.get("start_date")), DATE),
        Column("Tanggal Berakhir", lambda d: to_date(d.get("end_date")), DATE),
        Column("Tanggal Penandatanganan", lambda d: to_date(d.get("signed_on")), DATE),
        Column("Status", lambda d: STATUS_LABELS.get(d.get("status"), d.get("status")), width=24),
        Column("Nilai (Rp)", lambda d: d.get("value"), MONEY, 18),
        Column("Sumber Pendanaan", lambda d: d.get("funding_scheme"), width=36),
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


def file_response(content_type: str, description: str) -> dict:
    """OpenAPI description of a 200 answer that is a file, not a JSON schema."""
    schema = {"type": "object"} if content_type == "application/json" else {"type": "string", "format": "binary"}
    return {"200": {"description": description, "content": {content_type: {"schema": schema}}}}


def attachment(body: bytes, filename: str, mimetype: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


# ------------------------------------------------------------------------------ queries
# The same filters as GET /api/v1/agreements and GET /api/v1/evaluations (services/evaluation/api.py),
# without paging.

def register_query(args: Mapping, on: date, actor) -> dict:
    from services.evaluation.api import register_query as query
    return query(args, on, actor)


def evaluation_query(args: Mapping, on: date, actor) -> dict:
    from services.evaluation.api import evaluation_query as query
    return query(args, on, actor)


def _sort(spec: str) -> list:
    return [(spec.lstrip("-"), -1 if spec.startswith("-") else 1), ("_id", 1)]


def _db():
    from services.evaluation.api import read_db
    return read_db()


def _today() -> date:
    from services.evaluation.api import today
    return today()


def _rubric() -> dict:
    return ext().services["evaluation_handlers"].rubrics.current.to_dict()


# ------------------------------------------------------------------------------ schemas

DELIMITERS = {"comma": ",", "semicolon": ";"}


class RegisterExportQuery(AgreementListQuery):
    class Meta:
        exclude = ("page", "per_page")

    delimiter = fields.String(load_default="comma", validate=validate.OneOf(tuple(DELIMITERS)),
                              metadata={"description": "CSV only: semicolon suits spreadsheets in the Indonesian "
                                                       "locale"})


class EvaluationExportQuery(EvaluationListQuery):
    class Meta:
        exclude = ("page", "per_page")

    delimiter = fields.String(load_default="comma", validate=validate.OneOf(tuple(DELIMITERS)))


class OpenDataQuery(Schema):
    category = fields.String(validate=validate.OneOf(CATEGORIES))
    year = fields.Integer(validate=validate.Range(min=2000, max=2100), metadata={"description": "start year"})


class RecapQuery(Schema):
    year = fields.Integer(required=True, validate=validate.Range(min=2000, max=2100))


# ------------------------------------------------------------------------------ register

def _register_docs(args) -> tuple[list[dict], date]:
    on = _today()
    docs = list(_db()["agreements"].find({**register_query(args, on, current_actor()), **FILLED}).sort(_sort(args["sort"])))
    return docs, on


def _filters_note(args: Mapping) -> str:
    shown = {k: v for k, v in args.items() if k not in ("delimiter", "sort") and v not in (None, [], "")}
    return ", ".join(f"{k}={','.join(map(str, v)) if isinstance(v, list) else v}" for k, v in shown.items()) or "-"


@blp.route("/agreements.csv")
@blp.arguments(RegisterExportQuery, location="query")
@blp.doc(responses=file_response("text/csv", "The register as CSV (UTF-8 with BOM)"))
@requires(*REGISTER_ROLES)
def register_csv(args):
    """The agreements register as CSV: the filters of GET /api/v1/agreements, every matching row."""
    docs, on = _register_docs(args)
    return attachment(csv_bytes(register_columns(), docs, DELIMITERS[args["delimiter"]]),
                      f"register-kerja-sama-{on.isoformat()}.csv", "text/csv; charset=utf-8")


@blp.route("/agreements.xlsx")
@blp.arguments(RegisterExportQuery, location="query")
@blp.doc(responses=file_response(XLSX, "The register as an Excel workbook"))
@requires(*REGISTER_ROLES)
def register_xlsx(args):
    """The agreements register as XLSX (typed cells, Indonesian formats, a "Keterangan" sheet)."""
    docs, on = _register_docs(args)
    notes = [("Data", "Register kerja sama daerah"), ("Per tanggal", format_date(on)),
             ("Filter", _filters_note(args)), ("Jumlah baris", len(docs)),
             ("Diekspor oleh", f"{current_actor().role}"),
             ("Sumber", "Jalin — read model layanan evaluasi (GET /api/v1/agreements)")]
    return attachment(xlsx_bytes([("Register Kerja Sama", register_columns(), docs)], notes),
                      f"register-kerja-sama-{on.isoformat()}.xlsx", XLSX)


# ------------------------------------------------------------------------------ evaluations

def _evaluation_docs(args) -> tuple[list[dict], date, list[Column]]:
    on = _today()
    docs = list(_db()["evaluations"].find({**evaluation_query(args, on, current_actor()), **FILLED}).sort(_sort(args["sort"])))
    groups = scored_groups(_rubric())
    known = {g for g, _ in groups}
    extra = sorted({g for d in docs for g in (d.get("group_scores") or {}) if g not in known})
    return docs, on, evaluation_columns(groups + [(g, g) for g in extra])


@blp.route("/evaluations.csv")
@blp.arguments(EvaluationExportQuery, location="query")
@blp.doc(responses=file_response("text/csv", "Evaluation results as CSV (UTF-8 with BOM)"))
@requires(*RESULT_ROLES)
def evaluations_csv(args):
    """Evaluation results (group scores, overall, 1–5 rating) as CSV, with the filters of GET /api/v1/evaluations."""
    docs, on, columns = _evaluation_docs(args)
    return attachment(csv_bytes(columns, docs, DELIMITERS[args["delimiter"]]),
                      f"hasil-evaluasi-kerja-sama-{on.isoformat()}.csv", "text/csv; charset=utf-8")


@blp.route("/evaluations.xlsx")
@blp.arguments(EvaluationExportQuery, location="query")
@blp.doc(responses=file_response(XLSX, "Evaluation results as an Excel workbook"))
@requires(*RESULT_ROLES)
def evaluations_xlsx(args):
    """Evaluation results as XLSX."""
    docs, on, columns = _evaluation_docs(args)
    rubric = _rubric()
    notes = [("Data", "Hasil monitoring dan evaluasi kerja sama"), ("Per tanggal", format_date(on)),
             ("Filter", _filters_note(args)), ("Jumlah baris", len(docs)),
             ("Rubrik", f"{rubric.get('label_id', rubric.get('rubric_id'))} (versi {rubric.get('rubric_version')})"),
             ("Predikat", "; ".join(f"{n} = {label}" for n, label in sorted(RATING_LABELS.items(), reverse=True)))]
    return attachment(xlsx_bytes([("Hasil Evaluasi", columns, docs)], notes),
                      f"hasil-evaluasi-kerja-sama-{on.isoformat()}.xlsx", XLSX)


# ------------------------------------------------------------------------------ open data

OCDS_STATUS = {"SIGNED": "pending", "ACTIVE": "active", "EXPIRED": "terminated", "TERMINATED": "terminated"}


def ocid(agreement_id: str) -> str:
    return f"ocds-jalin-{agreement_id}"


def open_party(partner_id: str, partner: Mapping | None, fallback_name: str) -> dict:
    """A partner as a public party: organisation facts only — never contact persons, identifiers or
    addresses; an individual (perseorangan) is not named."""
    partner = partner or {}
    individual = partner.get("subtype") == "perseorangan"
    party = {"id": partner_id, "name": "Perseorangan (nama tidak dipublikasikan)" if individual
             else partner.get("name") or fallback_name, "roles": ["partner"],
             "details": {"kind": partner.get("kind"), "kindLabel": PARTNER_KIND_LABELS.get(partner.get("kind")),
                         "subtype": partner.get("subtype"), "scope": partner.get("cooperation_scope")}}
    if not individual:
        if partner.get("country"):
            party["address"] = {"countryName": partner["country"]}
        if partner.get("region_code"):
            party["identifier"] = {"scheme": "ID-KEMENDAGRI", "id": partner["region_code"]}
        if partner.get("website"):
            party["contactPoint"] = {"url": partner["website"]}  # the organisation's site, not a person
    return party


def open_release(doc: Mapping, partners: Mapping[str, Mapping], published: str) -> dict:
    """One agreement as an OCDS-style release (see docs/open-data.md)."""
    aid = doc["_id"]
    names = doc.get("partner_names") or {}
    value = doc.get("value")
    tags = ["contract"]
    if doc.get("activities"):
        tags.append("implementation")
    if doc.get("amendment_count"):
        tags.append("contractAmendment")
    if doc.get("status") in ("EXPIRED", "TERMINATED"):
        tags.append("contractTermination")
    parties = [open_party(pid, partners.get(pid), names.get(pid, pid)) for pid in doc.get("partner_ids") or []]
    if doc.get("lead_opd"):
        parties.append({"id": f"opd-{doc['lead_opd']}", "name": doc["lead_opd"], "roles": ["leadAgency"]})
    start, end = to_date(doc.get("start_date")), to_date(doc.get("end_date"))
    activities = []
    for activity_id, activity in sorted((doc.get("activities") or {}).items()):
        activities.append({
            "id": activity_id, "title": activity.get("name"), "indicator": activity.get("indicator"),
            "target": {"value": activity.get("target"), "unit": activity.get("unit")},
            "period": {"startDate": activity.get("schedule_start"), "endDate": activity.get("schedule_end")},
            "budget": {"amount": activity.get("budget"), "currency": "IDR"},
            "responsibleOrganization": activity.get("responsible_opd"),
            "latestReportPeriod": activity.get("last_period"), "realisation": activity.get("realisation"),
            "progressPercent": activity.get("progress"),
        })
    scope_text = doc.get("scope") if doc.get("scope") not in SCOPE_LABELS else None
    latest = doc.get("latest_evaluation") or {}
    return {
        "ocid": ocid(aid), "id": f"{aid}-v{doc.get('version', 0)}", "date": doc.get("updated_at") or published,
        "tag": tags, "language": "id", "parties": parties,
        "contracts": [{
            "id": aid, "title": doc.get("title"), "description": doc.get("purpose") or None,
            "status": OCDS_STATUS.get(doc.get("status")), "statusDetails": STATUS_LABELS.get(doc.get("status")),
            "period": {"startDate": doc.get("start_date"), "endDate": doc.get("end_date"),
                       "durationInDays": (end - start).days + 1 if start and end else None},
            "value": {"amount": value, "currency": "IDR"} if value is not None else None,
            "dateSigned": doc.get("signed_on"),
            "items": [{"id": str(n), "description": u, "classification": {"scheme": "ID-URUSAN-PEMERINTAHAN",
                                                                        "description": u}}
                      for n, u in enumerate(doc.get("urusan") or [], start=1)],
            "implementation": {"progressPercent": doc.get("progress"), "activities": activities},
        }],
        "cooperation": {
            "category": doc.get("category"), "categoryLabel": CATEGORY_LABELS.get(doc.get("category")),
            "documentKind": doc.get("document_kind"),
            "documentKindLabel": DOCUMENT_LABELS.get(doc.get("document_kind")),
            "scope": cooperation_scope(doc), "ksddType": doc.get("ksdd_type"), "leadOpd": doc.get("lead_opd"),
            "urusan": list(doc.get("urusan") or []), "location": doc.get("location") or None,
            "scopeOfWork": scope_text or None, "fundingScheme": doc.get("funding_scheme"),
            "burdensPublic": doc.get("burdens_public"), "budgetedInApbd": doc.get("budgeted_in_apbd"),
            "ourNumber": doc.get("our_number"), "partnerNumber": doc.get("partner_number"),
            "parentAgreement": ocid(doc["parent_kb_id"]) if doc.get("parent_kb_id") else None,
            "extendsAgreement": ocid(doc["extends_agreement_id"]) if doc.get("extends_agreement_id") else None,
            "activatedOn": doc.get("activated_on"), "expiredOn": doc.get("expired_on"),
            "terminatedOn": doc.get("terminated_on"), "amendmentCount": doc.get("amendment_count") or 0,
            "latestEvaluation": {"score": doc.get("latest_score"), "rating": doc.get("latest_rating"),
                                 "ratingLabel": rating_label(doc.get("latest_rating")) or None,
                                 "period": latest.get("period"), "year": latest.get("year")}
            if doc.get("latest_score") is not None else None,
        },
    }


def open_data_package(docs: list[Mapping], partners: Mapping[str, Mapping], uri: str, on: date,
                      published: str | None = None) -> dict:
    published = published or datetime.now(timezone.utc).isoformat(timespec="seconds")
    releases = [open_release(doc, partners, published) for doc in docs]
    digest = hashlib.sha256("".join(r["id"] for r in releases).encode()).hexdigest()[:16]
    return {
        "uri": uri, "version": "1.1", "publishedDate": published,
        "publisher": {"name": "Bagian Kerja Sama Sekretariat Daerah (Jalin)"},
        "license": "https://creativecommons.org/licenses/by/4.0/",
        "publicationPolicy": "Naskah kerja sama yang telah ditandatangani, berlaku, berakhir atau diakhiri; "
                             "tanpa data pribadi (lihat docs/open-data.md).",
        "jalin": {"schema": "jalin-open-data/1", "asOf": on.isoformat(), "statuses": list(OPEN_DATA_STATUSES),
                  "count": len(releases), "etag": digest},
        "releases": releases,
    }


@blp.route("/open-data.json")
@blp.arguments(OpenDataQuery, location="query")
@blp.doc(responses=file_response("application/json",
                                  "Open data package (OCDS-inspired), no personal data; see docs/open-data.md"))
@requires()
def open_data(args):
    """Signed, active, expired and terminated agreements as an OCDS/IATI-inspired release package."""
    on, db = _today(), _db()
    query: dict = {"status": {"$in": list(OPEN_DATA_STATUSES)}}
    for name in ("category", "year"):
        if args.get(name) is not None:
            query[name] = args[name]
    docs = list(db["agreements"].find({**query, **FILLED}).sort([("start_date", -1), ("_id", 1)]))
    ids = sorted({pid for d in docs for pid in d.get("partner_ids") or []})
    partners = {p["_id"]: p for p in db["partners"].find({"_id": {"$in": ids}}, {"contacts": 0})}
    response = jsonify(open_data_package(docs, partners, request.base_url, on))
    response.headers["Content-Disposition"] = f'inline; filename="open-data-kerja-sama-{on.isoformat()}.json"'
    return response


# ------------------------------------------------------------------------------ annual recap

RECAP_COUNTS = ("signed", "active", "expired", "terminated")
RECAP_DEFINITIONS = {
    "signed": "ditandatangani pada tahun itu (tanggal penandatanganan)",
    "active": "berlaku pada suatu waktu dalam tahun itu (telah ditandatangani; jangka waktunya beririsan dengan "
              "tahun itu; tidak diakhiri sebelum tahun itu)",
    "expired": "berakhir karena jangka waktunya habis pada tahun itu (tanggal berakhir)",
    "terminated": "diakhiri sebelum waktunya pada tahun itu (tanggal pengakhiran)",
    "evaluations_finalized": "evaluasi (monev) berstatus final untuk periode tahun itu",
    "average_score": "rata-rata skor akhir (0–100) evaluasi final tersebut",
}


def recap_flags(doc: Mapping, year: int) -> dict[str, bool]:
    """Which of the recap's counts an agreement falls in for ``year``."""
    first, last = f"{year}-01-01", f"{year}-12-31"
    status, signed_on = doc.get("status"), doc.get("signed_on")
    in_force_status = status in OPEN_DATA_STATUSES
    return {
        "signed": bool(signed_on and signed_on[:4] == str(year) and in_force_status),
        "active": bool(in_force_status and (doc.get("start_date") or "9999") <= last
                       and (doc.get("end_date") or "0000") >= first and (signed_on or "0000") <= last
                       and not (doc.get("terminated_on") and doc["terminated_on"] < first)),
        "expired": status == "EXPIRED" and (doc.get("end_date") or "")[:4] == str(year),
        "terminated": status == "TERMINATED" and (doc.get("terminated_on") or "")[:4] == str(year),
    }


def _average(values: list[float]) -> float | None:
    if not values:
        return None
    return float((sum(Decimal(str(v)) for v in values) / len(values)).quantize(Decimal("0.01"), ROUND_HALF_UP))


def annual_recap(agreements: list[Mapping], evaluations: list[Mapping], year: int,
                 rubric_groups: list[tuple[str, str]] | None = None) -> dict:
    """The recap for ``year`` from register documents and evaluation documents (pure).

    Each evaluation is attributed through its agreement (category, partner kinds, lead OPD).
    """
    by_id = {d.get("_id") or d.get("id"): d for d in agreements}
    final = [e for e in evaluations if e.get("status") == "FINALIZED" and e.get("year") == year
             and e.get("overall") is not None]
    books: dict[str, dict[str, dict]] = {"category": {}, "partner_kind": {}, "opd": {}}
    labels = {"category": CATEGORY_LABELS, "partner_kind": PARTNER_KIND_LABELS, "opd": {}}
    for key in CATEGORIES:
        books["category"][key] = None  # keep every category and kind in the table, even at zero
    for key in PARTNER_KIND_LABELS:
        books["partner_kind"][key] = None

    def keys_of(doc: Mapping) -> dict[str, list[str]]:
        return {"category": [doc["category"]] if doc.get("category") else [],
                "partner_kind": partner_kinds(doc),
                "opd": [doc["lead_opd"]] if doc.get("lead_opd") else []}

    def book(dimension: str, key: str) -> dict:
        if books[dimension].get(key) is None:
            books[dimension][key] = {**{c: 0 for c in RECAP_COUNTS}, "scores": []}
        return books[dimension][key]

    totals = {c: 0 for c in RECAP_COUNTS}
    for doc in agreements:
        flags = recap_flags(doc, year)
        if not any(flags.values()):
            continue
        for name, on in flags.items():
            totals[name] += on
        for dimension, keys in keys_of(doc).items():
            for key in keys:
                entry = book(dimension, key)
                for name, on in flags.items():
                    entry[name] += on
    groups: dict[str, list[float]] = {}
    ratings: dict[str, int] = {}
    for evaluation in final:
        agreement = by_id.get(evaluation.get("agreement_id")) or {
            "category": evaluation.get("category"), "lead_opd": evaluation.get("lead_opd")}
        keys = keys_of(agreement)
        if evaluation.get("lead_opd"):
            keys["opd"] = [evaluation["lead_opd"]]
        for dimension, values in keys.items():
            for key in values:
                book(dimension, key)["scores"].append(evaluation["overall"])
        for gid, score in (evaluation.get("group_scores") or {}).items():
            groups.setdefault(gid, []).append(score)
        rating = str(evaluation.get("rating"))
        ratings[rating] = ratings.get(rating, 0) + 1

    def rows(dimension: str) -> list[dict]:
        out = []
        for key, entry in books[dimension].items():
            entry = entry or {**{c: 0 for c in RECAP_COUNTS}, "scores": []}
            out.append({"key": key, "label": labels[dimension].get(key, key),
                        **{c: entry[c] for c in RECAP_COUNTS}, "evaluations_finalized": len(entry["scores"]),
                        "average_score": _average(entry["scores"])})
        order = list(labels[dimension]) if labels[dimension] else sorted(books[dimension])
        return sorted(out, key=lambda r: (order.index(r["key"]) if r["key"] in order else len(order), r["key"]))

    group_labels = dict(rubric_groups or [])
    return {
        "year": year,
        "definitions": RECAP_DEFINITIONS,
        "totals": {**totals, "evaluations_finalized": len(final),
                   "average_score": _average([e["overall"] for e in final]),
                   "average_rating": _average([e["rating"] for e in final if e.get("rating") is not None]),
                   "rating_distribution": dict(sorted(ratings.items(), reverse=True)),
                   "average_group_scores": {gid: {"label": group_labels.get(gid, gid), "average": _average(v)}
                                            for gid, v in groups.items()}},
        "by_category": rows("category"),
        "by_partner_kind": rows("partner_kind"),
        "by_opd": rows("opd"),
    }


def _recap(year: int) -> tuple[dict, date]:
    db, on = _db(), _today()
    agreements = list(db["agreements"].find({"status": {"$in": list(OPEN_DATA_STATUSES)}},
                                            {"activities": 0, "partner_names": 0}))
    evaluations = list(db["evaluations"].find({"year": year, "status": "FINALIZED"}))
    recap = annual_recap(agreements, evaluations, year, scored_groups(_rubric()))
    return {**recap, "as_of": on.isoformat(),
            "title": f"Rekapitulasi Tahunan Kerja Sama Daerah Tahun {year}"}, on


@blp.route("/annual-recap")
@blp.arguments(RecapQuery, location="query")
@blp.doc(responses=file_response("application/json", "The annual recap (JSON)"))
@requires(*RESULT_ROLES)
def annual_recap_json(args):
    """The annual recap: per category, partner kind and lead OPD — signed, active, expired, terminated
    that year, and the average score of that year's finalized evaluations."""
    recap, _ = _recap(args["year"])
    return jsonify(recap)


RECAP_COLUMNS = [
    Column("Ditandatangani", lambda r: r["signed"], INT, 16),
    Column("Berlaku", lambda r: r["active"], INT, 12),
    Column("Berakhir", lambda r: r["expired"], INT, 12),
    Column("Diakhiri", lambda r: r["terminated"], INT, 12),
    Column("Evaluasi Final", lambda r: r["evaluations_finalized"], INT, 16),
    Column("Rata-rata Skor", lambda r: r["average_score"], DECIMAL, 16),
]


@blp.route("/annual-recap.xlsx")
@blp.arguments(RecapQuery, location="query")
@blp.doc(responses=file_response(XLSX, "The annual recap as an Excel workbook"))
@requires(*RESULT_ROLES)
def annual_recap_xlsx(args):
    """The annual recap as XLSX: a summary sheet and one sheet per category, partner kind and OPD."""
    recap, on = _recap(args["year"])
    totals = recap["totals"]
    summary = [{"item": "Ditandatangani", "value": totals["signed"]}, {"item": "Berlaku", "value": totals["active"]},
               {"item": "Berakhir", "value": totals["expired"]}, {"item": "Diakhiri", "value": totals["terminated"]},
               {"item": "Evaluasi final", "value": totals["evaluations_finalized"]},
               {"item": "Rata-rata skor (0–100)", "value": totals["average_score"]},
               {"item": "Rata-rata nilai (1–5)", "value": totals["average_rating"]}]
    summary += [{"item": f"Rata-rata skor {g['label']}", "value": g["average"]}
                for g in totals["average_group_scores"].values()]
    sheets = [("Ringkasan", [Column("Uraian", lambda r: r["item"], width=36),
                             Column("Jumlah / Nilai", lambda r: r["value"], NUMBER, 16)], summary)]
    for title, header, rows in (("Per Kategori", "Kategori", recap["by_category"]),
                                ("Per Jenis Mitra", "Jenis Mitra", recap["by_partner_kind"]),
                                ("Per OPD", "OPD Pengampu", recap["by_opd"])):
        sheets.append((title, [Column(header, lambda r: r["label"], width=48)] + RECAP_COLUMNS, rows))
    notes = [("Judul", recap["title"]), ("Per tanggal", format_date(on))]
    notes += [(f"Definisi: {k}", v) for k, v in RECAP_DEFINITIONS.items()]
    return attachment(xlsx_bytes(sheets, notes), f"rekap-tahunan-kerja-sama-{args['year']}.xlsx", XLSX)
