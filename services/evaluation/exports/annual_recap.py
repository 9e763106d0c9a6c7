"""The annual recap for the report to the Governor / Minister of Home Affairs (DOMAIN.md §6).

Per category, partner kind and lead OPD: agreements signed, in force, expired and terminated in a
year, and the average score of that year's finalized evaluations (definitions in
``RECAP_DEFINITIONS``, shown in the workbook too). Pure: the routes (``export_api``) read the
documents with ``queries.recap_rows``.
"""
from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Mapping

from services.evaluation.domain import Status as EvaluationStatus
from services.evaluation.exports.formatting import (
    CATEGORY_LABELS, DECIMAL, INT, NUMBER, PARTNER_KIND_LABELS, Column, format_date, partner_kinds,
)
from services.evaluation.vocabulary import CATEGORIES, SIGNED_OR_LATER, AgreementStatus as S

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
    in_force_status = status in SIGNED_OR_LATER
    return {
        "signed": bool(signed_on and signed_on[:4] == str(year) and in_force_status),
        "active": bool(in_force_status and (doc.get("start_date") or "9999") <= last
                       and (doc.get("end_date") or "0000") >= first and (signed_on or "0000") <= last
                       and not (doc.get("terminated_on") and doc["terminated_on"] < first)),
        "expired": status == S.EXPIRED and (doc.get("end_date") or "")[:4] == str(year),
        "terminated": status == S.TERMINATED and (doc.get("terminated_on") or "")[:4] == str(year),
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
    final = [e for e in evaluations if e.get("status") == EvaluationStatus.FINALIZED and e.get("year") == year
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


def recap_title(year: int) -> str:
    return f"Rekapitulasi Tahunan Kerja Sama Daerah Tahun {year}"


RECAP_COLUMNS = [
    Column("Ditandatangani", lambda r: r["signed"], INT, 16),
    Column("Berlaku", lambda r: r["active"], INT, 12),
    Column("Berakhir", lambda r: r["expired"], INT, 12),
    Column("Diakhiri", lambda r: r["terminated"], INT, 12),
    Column("Evaluasi Final", lambda r: r["evaluations_finalized"], INT, 16),
    Column("Rata-rata Skor", lambda r: r["average_score"], DECIMAL, 16),
]


def recap_workbook(recap: Mapping, on: date) -> tuple[list[tuple[str, list[Column], list]], list[tuple[str, Any]]]:
    """The recap as the sheets and notes of ``xlsx_bytes``: a summary sheet and one sheet per category,
    partner kind and OPD."""
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
    return sheets, notes
