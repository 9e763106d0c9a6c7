"""HTTP routes of the exports (DOMAIN.md §6): they parse the query, ask ``queries`` for the documents
and hand them to the pure ``exports`` modules.

- ``GET /api/v1/exports/agreements.csv|.xlsx`` — the register, with the filters of
  ``GET /api/v1/agreements`` (no paging: every matching row), Indonesian headers;
- ``GET /api/v1/exports/evaluations.csv|.xlsx`` — evaluation results (group scores, overall, 1–5
  rating), with the filters of ``GET /api/v1/evaluations``;
- ``GET /api/v1/exports/open-data.json`` — signed, active, expired and terminated agreements in an
  Open Contracting (OCDS) / IATI-inspired shape, without personal data (docs/open-data.md);
- ``GET /api/v1/exports/annual-recap?year=`` (JSON) and ``annual-recap.xlsx?year=`` — the annual
  recap for the report to the Governor / Minister of Home Affairs.

CSV is comma-separated (``?delimiter=semicolon`` for spreadsheets set to the Indonesian locale).

Who may export: the register — every role but ``publik`` (OPD officers get their OPD's rows only);
evaluation results and the recap — kerjasama, pimpinan, auditor (and admin); open data — any
authenticated role, ``publik`` included.
"""
from __future__ import annotations

from datetime import date
from typing import Mapping

from flask import Response, jsonify, request
from flask_smorest import Blueprint
from marshmallow import fields, validate

from shared.auth import current_actor
from shared.schema import Schema

from services.evaluation import queries
from services.evaluation.bootstrap import current
from services.evaluation.exports.annual_recap import annual_recap, recap_title, recap_workbook
from services.evaluation.exports.formatting import (
    RATING_LABELS, csv_bytes, evaluation_columns, format_date, register_columns, scored_groups, xlsx_bytes,
)
from services.evaluation.exports.open_data import open_data_package
from services.evaluation.schemas import AgreementListQuery, EvaluationListQuery
from services.evaluation.vocabulary import CATEGORIES

blp = Blueprint("exports", __name__, url_prefix="/api/v1/exports",
                description="Exports: register and evaluation results (CSV/XLSX), open data (OCDS-inspired JSON), "
                            "annual recap")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"
DELIMITERS = {"comma": ",", "semicolon": ";"}


# ------------------------------------------------------------------------------ schemas

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


# ------------------------------------------------------------------------------ responses

def file_response(content_type: str, description: str) -> dict:
    """OpenAPI description of a 200 answer that is a file, not a JSON schema."""
    schema = {"type": "object"} if content_type == "application/json" else {"type": "string", "format": "binary"}
    return {"200": {"description": description, "content": {content_type: {"schema": schema}}}}


def attachment(body: bytes, filename: str, mimetype: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def filters_note(args: Mapping) -> str:
    """The filters of an export, for its "Keterangan" sheet."""
    shown = {k: v for k, v in args.items() if k not in ("delimiter", "sort") and v not in (None, [], "")}
    return ", ".join(f"{k}={','.join(map(str, v)) if isinstance(v, list) else v}" for k, v in shown.items()) or "-"


def current_rubric() -> dict:
    return current().rubrics.current.to_dict()


# ------------------------------------------------------------------------------ register

@blp.route("/agreements.csv")
@blp.arguments(RegisterExportQuery, location="query")
@blp.doc(responses=file_response("text/csv", "The register as CSV (UTF-8 with BOM)"))
def register_csv(args):
    """The agreements register as CSV: the filters of GET /api/v1/agreements, every matching row."""
    on = current().today()
    docs = queries.register_rows(current().read_db(), args, on, current_actor())
    return attachment(csv_bytes(register_columns(), docs, DELIMITERS[args["delimiter"]]),
                      f"register-kerja-sama-{on.isoformat()}.csv", CSV)


@blp.route("/agreements.xlsx")
@blp.arguments(RegisterExportQuery, location="query")
@blp.doc(responses=file_response(XLSX, "The register as an Excel workbook"))
def register_xlsx(args):
    """The agreements register as XLSX (typed cells, Indonesian formats, a "Keterangan" sheet)."""
    on = current().today()
    docs = queries.register_rows(current().read_db(), args, on, current_actor())
    notes = [("Data", "Register kerja sama daerah"), ("Per tanggal", format_date(on)),
             ("Filter", filters_note(args)), ("Jumlah baris", len(docs)),
             ("Diekspor oleh", f"{current_actor().role}"),
             ("Sumber", "Jalin — read model layanan evaluasi (GET /api/v1/agreements)")]
    return attachment(xlsx_bytes([("Register Kerja Sama", register_columns(), docs)], notes),
                      f"register-kerja-sama-{on.isoformat()}.xlsx", XLSX)


# ------------------------------------------------------------------------------ evaluations

def evaluation_export(args) -> tuple[list[dict], list, dict, date]:
    """The rows, the columns (the rubric's scored groups, then any other group the rows carry), the rubric
    and the date they are as of."""
    on = current().today()
    docs = queries.evaluation_rows(current().read_db(), args, on, current_actor())
    rubric = current_rubric()
    groups = scored_groups(rubric)
    known = {g for g, _ in groups}
    extra = sorted({g for d in docs for g in (d.get("group_scores") or {}) if g not in known})
    return docs, evaluation_columns(groups + [(g, g) for g in extra]), rubric, on


@blp.route("/evaluations.csv")
@blp.arguments(EvaluationExportQuery, location="query")
@blp.doc(responses=file_response("text/csv", "Evaluation results as CSV (UTF-8 with BOM)"))
def evaluations_csv(args):
    """Evaluation results (group scores, overall, 1–5 rating) as CSV, with the filters of GET /api/v1/evaluations."""
    docs, columns, _, on = evaluation_export(args)
    return attachment(csv_bytes(columns, docs, DELIMITERS[args["delimiter"]]),
                      f"hasil-evaluasi-kerja-sama-{on.isoformat()}.csv", CSV)


@blp.route("/evaluations.xlsx")
@blp.arguments(EvaluationExportQuery, location="query")
@blp.doc(responses=file_response(XLSX, "Evaluation results as an Excel workbook"))
def evaluations_xlsx(args):
    """Evaluation results as XLSX."""
    docs, columns, rubric, on = evaluation_export(args)
    notes = [("Data", "Hasil monitoring dan evaluasi kerja sama"), ("Per tanggal", format_date(on)),
             ("Filter", filters_note(args)), ("Jumlah baris", len(docs)),
             ("Rubrik", f"{rubric.get('label_id', rubric.get('rubric_id'))} (versi {rubric.get('rubric_version')})"),
             ("Predikat", "; ".join(f"{n} = {label}" for n, label in sorted(RATING_LABELS.items(), reverse=True)))]
    return attachment(xlsx_bytes([("Hasil Evaluasi", columns, docs)], notes),
                      f"hasil-evaluasi-kerja-sama-{on.isoformat()}.xlsx", XLSX)


# ------------------------------------------------------------------------------ open data

@blp.route("/open-data.json")
@blp.arguments(OpenDataQuery, location="query")
@blp.doc(responses=file_response("application/json",
                                  "Open data package (OCDS-inspired), no personal data; see docs/open-data.md"))
def open_data(args):
    """Signed, active, expired and terminated agreements as an OCDS/IATI-inspired release package."""
    on = current().today()
    docs, partners = queries.open_data_rows(current().read_db(), args.get("category"), args.get("year"))
    response = jsonify(open_data_package(docs, partners, request.base_url, on))
    response.headers["Content-Disposition"] = f'inline; filename="open-data-kerja-sama-{on.isoformat()}.json"'
    return response


# ------------------------------------------------------------------------------ annual recap

def recap_of(year: int) -> tuple[dict, date]:
    on = current().today()
    agreements, evaluations = queries.recap_rows(current().read_db(), year)
    recap = annual_recap(agreements, evaluations, year, scored_groups(current_rubric()))
    return {**recap, "as_of": on.isoformat(), "title": recap_title(year)}, on


@blp.route("/annual-recap")
@blp.arguments(RecapQuery, location="query")
@blp.doc(responses=file_response("application/json", "The annual recap (JSON)"))
def annual_recap_json(args):
    """The annual recap: per category, partner kind and lead OPD — signed, active, expired, terminated
    that year, and the average score of that year's finalized evaluations."""
    recap, _ = recap_of(args["year"])
    return jsonify(recap)


@blp.route("/annual-recap.xlsx")
@blp.arguments(RecapQuery, location="query")
@blp.doc(responses=file_response(XLSX, "The annual recap as an Excel workbook"))
def annual_recap_xlsx(args):
    """The annual recap as XLSX: a summary sheet and one sheet per category, partner kind and OPD."""
    recap, on = recap_of(args["year"])
    sheets, notes = recap_workbook(recap, on)
    return attachment(xlsx_bytes(sheets, notes), f"rekap-tahunan-kerja-sama-{args['year']}.xlsx", XLSX)
