"""Exports over HTTP: register and evaluation results as CSV/XLSX (Indonesian headers, the API's
totals for the same filters, OPD scoping), open data without personal data, the annual recap."""
import csv
import io
import json
import uuid
from datetime import date

import pytest
from openpyxl import load_workbook

from tests.e2e.flows import act, draft, register_verified, to_ready
from tests.support import wait_until

YEAR = date.today().year - 1
CONTACT = {"name": "Siti Kontak Rahasia", "position": "Kepala Bagian Kerja Sama",
           "phone": "+62 812 0000 1111", "email": "siti.rahasia@example.org"}
REGISTER_HEADERS = {"Nomor", "Judul", "Kategori", "Jenis Dokumen", "Mitra", "OPD Pengampu", "Tanggal Mulai",
                    "Tanggal Berakhir", "Status", "Nilai (Rp)", "Progres (%)", "Skor Terakhir"}
EVALUATION_HEADERS = {"Judul Kerja Sama", "Periode", "Tahun", "Penilai", "Status", "Skor Pelaksanaan",
                      "Skor Hasil dan Dampak", "Skor Administrasi", "Skor Relevansi", "Skor Akhir (0–100)",
                      "Nilai (1–5)", "Predikat"}


def get(stack, path, role="kerjasama", opd=None, **params):
    headers = {"Authorization": f"Bearer {stack.token(role, opd=opd)}"}
    return stack.call("GET", "evaluation", path, role=None, headers=headers, params=params)


def api_total(stack, path, role="kerjasama", opd=None, **params):
    r = get(stack, path, role, opd, per_page=1, **params)
    assert r.status_code == 200, r.text
    return r.json()["total"]


def read_csv(response, delimiter=","):
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in response.headers["Content-Disposition"]
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=delimiter))


def read_xlsx(response):
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(response.content))
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    return book, [c for c in rows[0]], rows[1:]


def answers(stack, level):
    rubric = get(stack, "/api/v1/rubric").json()
    return {i["id"]: i["options"][min(level, len(i["options"]) - 1)]["key"]
            for i in rubric["indicators"] if i.get("options")}


def evaluate(stack, agreement_id, period, level):
    r = stack.call("POST", "evaluation", "/api/v1/evaluations", json={
        "agreement_id": agreement_id, "period": period, "year": YEAR, "due_date": f"{YEAR + 1}-01-31",
        "assessor_kind": "kerjasama"})
    assert r.status_code == 201, r.text
    eid = r.json()["stream_id"]
    for command, body in (("answers", {"answers": answers(stack, level)}), ("submit", {}), ("finalize", {})):
        r = stack.call("POST", "evaluation", f"/api/v1/evaluations/{eid}/{command}", json=body)
        assert r.status_code == 200, r.text
    return eid


@pytest.fixture(scope="module")
def seeded(stack):
    """A KB and a PKS signed last year with a work plan, two finalized evaluations of last year."""
    tag = uuid.uuid4().hex[:6]
    partner = register_verified(stack, name=f"Pemerintah Kabupaten Ekspor {tag}", contacts=[CONTACT])
    kb = draft(stack, partner, title=f"Kesepakatan Bersama Ekspor {tag}", start_date=f"{YEAR}-03-01",
               end_date=f"{YEAR + 3}-02-28").json()
    to_ready(stack, kb["id"], reviewed_on=f"{YEAR}-02-01")  # the paper is older than its entry
    act(stack, kb["id"], "sign", "pimpinan", {"signatory_name": "Bupati Muaro Jambi",
                                              "signatory_position": "kepala_daerah", "signed_on": f"{YEAR}-02-15"})
    pks = draft(stack, partner, document_kind="PKS", parent_kb_id=kb["id"], title=f"=PKS Ekspor {tag}",
                lead_opd="DISKOMINFO", start_date=f"{YEAR}-04-01", end_date=f"{YEAR + 2}-12-31",
                value=1_250_000_000, funding=[{"source": "apbd", "amount": 1_250_000_000, "budgeted": True}]).json()
    to_ready(stack, pks["id"], reviewed_on=f"{YEAR}-03-10")
    act(stack, pks["id"], "sign", "pimpinan", {"signatory_name": "Sekretaris Daerah", "power_of_attorney_ref":
                                               "SK-KUASA/1", "signatory_position": "sekretaris_daerah",
                                               "signed_on": f"{YEAR}-03-20"})
    act(stack, pks["id"], "activities", "kerjasama", {
        "activity_id": "portal", "name": "Portal layanan", "indicator": "layanan daring", "target": 10,
        "unit": "layanan", "schedule_start": f"{YEAR}-04-01", "schedule_end": f"{YEAR + 1}-12-31",
        "responsible_opd": "DISKOMINFO", "budget": 100_000_000})
    for aid in (kb["id"], pks["id"]):
        wait_until(lambda a=aid: (r := get(stack, f"/api/v1/agreements/{a}")).status_code == 200
                   and r.json().get("status") == "ACTIVE", 30, what="seeded agreement active in the register")
    evaluations = [evaluate(stack, pks["id"], "TAHUNAN", 0), evaluate(stack, kb["id"], "TAHUNAN", 1)]
    wait_until(lambda: all(e in {i["id"] for i in get(stack, "/api/v1/evaluations", year=YEAR, status="FINALIZED",
                                                      per_page=200).json()["items"]} for e in evaluations),
               30, what="finalized evaluations in the read model")
    wait_until(lambda: get(stack, f"/api/v1/agreements/{pks['id']}").json().get("latest_score") is not None, 30,
               what="latest score in the register")
    return {"partner": partner, "kb": kb["id"], "pks": pks["id"], "tag": tag, "evaluations": evaluations}


FILTERS = [{}, {"status": "ACTIVE"}, {"category": "KSDD", "document_kind": "PKS"}, {"q": "Ekspor"},
           {"opd": "DISKOMINFO"}, {"year": YEAR}, {"expiring": 3650}]


@pytest.mark.parametrize("filters", FILTERS, ids=lambda f: ",".join(f) or "all")
def test_register_csv_and_xlsx_have_the_apis_rows(stack, seeded, filters):
    total = api_total(stack, "/api/v1/agreements", **filters)
    rows = read_csv(get(stack, "/api/v1/exports/agreements.csv", **filters))
    assert len(rows) == total
    assert REGISTER_HEADERS <= set(rows[0] if rows else REGISTER_HEADERS)
    _book, header, data = read_xlsx(get(stack, "/api/v1/exports/agreements.xlsx", **filters))
    assert REGISTER_HEADERS <= set(header) and len(data) == total


def test_register_rows_are_in_indonesian_format(stack, seeded):
    rows = read_csv(get(stack, "/api/v1/exports/agreements.csv", partner=seeded["partner"], delimiter="semicolon"),
                    ";")
    pks = next(r for r in rows if r["ID Sistem"] == seeded["pks"])
    assert pks["Judul"] == f"'=PKS Ekspor {seeded['tag']}"  # never a formula
    assert pks["Nilai (Rp)"] == "1.250.000.000" and pks["Status"] == "Berlaku"
    assert pks["Tanggal Mulai"] == f"01 April {YEAR}" and pks["Tanggal Penandatanganan"] == f"20 Maret {YEAR}"
    assert pks["Jenis Dokumen"].startswith("Perjanjian Kerja Sama") and pks["Skor Terakhir"] == "100,00"
    book, header, data = read_xlsx(get(stack, "/api/v1/exports/agreements.xlsx", partner=seeded["partner"]))
    row = dict(zip(header, next(r for r in data if seeded["pks"] in r)))
    assert row["Nilai (Rp)"] == 1_250_000_000 and row["Tanggal Mulai"].date() == date(YEAR, 4, 1)
    assert row["Judul"] == f"=PKS Ekspor {seeded['tag']}"
    assert "Keterangan" in book.sheetnames


def test_register_export_is_scoped_for_opd_officers_and_refused_to_the_public(stack, seeded):
    for opd in ("DISKOMINFO", "DISPAR"):
        rows = read_csv(get(stack, "/api/v1/exports/agreements.csv", role="opd", opd=opd))
        assert len(rows) == api_total(stack, "/api/v1/agreements", role="opd", opd=opd)
        assert (seeded["pks"] in {r["ID Sistem"] for r in rows}) == (opd == "DISKOMINFO")
    assert get(stack, "/api/v1/exports/agreements.csv", role="publik").status_code == 403
    assert get(stack, "/api/v1/exports/agreements.xlsx", role="publik").status_code == 403
    r = stack.call("GET", "evaluation", "/api/v1/exports/agreements.csv", role=None)
    assert r.status_code == 401


@pytest.mark.parametrize("filters", [{}, {"year": YEAR, "status": "FINALIZED"}, {"opd": "DISKOMINFO"}],
                         ids=lambda f: ",".join(f) or "all")
def test_evaluation_results_csv_and_xlsx(stack, seeded, filters):
    total = api_total(stack, "/api/v1/evaluations", **filters)
    rows = read_csv(get(stack, "/api/v1/exports/evaluations.csv", **filters))
    assert len(rows) == total and EVALUATION_HEADERS <= set(rows[0])
    _book, header, data = read_xlsx(get(stack, "/api/v1/exports/evaluations.xlsx", role="pimpinan", **filters))
    assert len(data) == total and EVALUATION_HEADERS <= set(header)
    mine = [r for r in rows if r["ID Evaluasi"] in seeded["evaluations"]]
    if filters.get("opd") != "DISKOMINFO":
        assert len(mine) == 2
    for row in mine:
        assert row["Status"] == "Final" and row["Periode"] == "Tahunan" and row["Tahun"] == str(YEAR)
        assert row["Nilai (1–5)"] in ("1", "2", "3", "4", "5") and "," in row["Skor Akhir (0–100)"]


def test_evaluation_results_and_recap_are_for_leaders_and_auditors(stack, seeded):
    for role in ("kerjasama", "pimpinan", "auditor"):
        assert get(stack, "/api/v1/exports/evaluations.csv", role=role).status_code == 200
        assert get(stack, "/api/v1/exports/annual-recap", role=role, year=YEAR).status_code == 200
    for role, opd in (("opd", "DISKOMINFO"), ("publik", None), ("tkksd", None)):
        assert get(stack, "/api/v1/exports/evaluations.xlsx", role=role, opd=opd).status_code == 403
        assert get(stack, "/api/v1/exports/annual-recap.xlsx", role=role, opd=opd, year=YEAR).status_code == 403
    assert get(stack, "/api/v1/exports/annual-recap").status_code == 422  # the year is required


def keys_of(value):
    if isinstance(value, dict):
        for key, inner in value.items():
            yield key
            yield from keys_of(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from keys_of(inner)


def test_open_data_has_the_signed_agreements_and_no_personal_data(stack, seeded):
    for role in ("publik", "opd", "kerjasama"):
        r = get(stack, "/api/v1/exports/open-data.json", role=role)
        assert r.status_code == 200, r.text
    package = r.json()
    assert package["version"] == "1.1" and package["releases"]
    # the same agreements the public sees in the register (signed, active, expired, terminated)
    assert len(package["releases"]) == package["jalin"]["count"] == api_total(stack, "/api/v1/agreements",
                                                                              role="publik")
    keys = set(keys_of(package))
    assert not keys & {"contacts", "contact", "email", "phone", "telephone", "identifiers", "npwp", "nib",
                       "signatory", "actor"}
    text = json.dumps(package, ensure_ascii=False)
    assert CONTACT["name"] not in text and CONTACT["email"] not in text and CONTACT["phone"] not in text
    release = next(r for r in package["releases"] if r["contracts"][0]["id"] == seeded["pks"])
    assert release["ocid"] == f"ocds-jalin-{seeded['pks']}" and release["language"] == "id"
    contract = release["contracts"][0]
    assert contract["status"] == "active" and contract["value"] == {"amount": 1_250_000_000, "currency": "IDR"}
    assert contract["dateSigned"] == f"{YEAR}-03-20" and contract["implementation"]["activities"][0]["id"] == "portal"
    assert release["cooperation"]["parentAgreement"] == f"ocds-jalin-{seeded['kb']}"
    assert {p["roles"][0] for p in release["parties"]} == {"partner", "leadAgency"}
    filtered = get(stack, "/api/v1/exports/open-data.json", role="publik", category="KSDD", year=YEAR).json()
    assert len(filtered["releases"]) == api_total(stack, "/api/v1/agreements", role="publik", category="KSDD",
                                                  year=YEAR)


def all_items(stack, path, **params):
    items, page = [], 1
    while True:
        body = get(stack, path, per_page=200, page=page, **params).json()
        items += body["items"]
        if page * 200 >= body["total"]:
            return items
        page += 1


def test_annual_recap_totals_match_the_apis_counts(stack, seeded):
    recap = get(stack, "/api/v1/exports/annual-recap", year=YEAR).json()
    register = all_items(stack, "/api/v1/agreements")
    first, last, year = f"{YEAR}-01-01", f"{YEAR}-12-31", str(YEAR)
    public = [i for i in register if i["status"] in ("SIGNED", "ACTIVE", "EXPIRED", "TERMINATED")]
    expected = {
        "signed": sum(1 for i in public if (i.get("signed_on") or "")[:4] == year),
        "active": sum(1 for i in public if i["start_date"] <= last and i["end_date"] >= first
                      and (i.get("signed_on") or "") <= last and not (i.get("terminated_on") or "9") < first),
        "expired": sum(1 for i in public if i["status"] == "EXPIRED" and i["end_date"][:4] == year),
        "terminated": sum(1 for i in public
                          if i["status"] == "TERMINATED" and (i.get("terminated_on") or "")[:4] == year),
    }
    assert {k: recap["totals"][k] for k in expected} == expected
    assert expected["signed"] >= 2 and expected["active"] >= 2
    finalized = all_items(stack, "/api/v1/evaluations", year=YEAR, status="FINALIZED")
    assert recap["totals"]["evaluations_finalized"] == len(finalized) >= 2
    mean = sum(e["overall"] for e in finalized) / len(finalized)
    assert abs(recap["totals"]["average_score"] - mean) < 0.006
    for dimension in ("by_category", "by_partner_kind", "by_opd"):
        assert all({"key", "label", "signed", "active", "expired", "terminated", "evaluations_finalized",
                    "average_score"} <= set(row) for row in recap[dimension])
    by_category = recap["by_category"]
    assert sum(r["active"] for r in by_category) == expected["active"]
    assert sum(r["evaluations_finalized"] for r in by_category) == len(finalized)
    assert {r["key"] for r in by_category} >= {"KSDD", "KSDPK", "KSDPL", "KSDLL", "SINERGI"}
    assert any(r["key"] == "DISKOMINFO" and r["evaluations_finalized"] >= 1 for r in recap["by_opd"])

    book = load_workbook(io.BytesIO(get(stack, "/api/v1/exports/annual-recap.xlsx", role="pimpinan",
                                        year=YEAR).content))
    assert book.sheetnames[:4] == ["Ringkasan", "Per Kategori", "Per Jenis Mitra", "Per OPD"]
    header = [c.value for c in book["Per Kategori"][1]]
    assert header[:4] == ["Kategori", "Ditandatangani", "Berlaku", "Berakhir"]
    summary = {row[0]: row[1] for row in book["Ringkasan"].iter_rows(min_row=2, values_only=True)}
    assert summary["Berlaku"] == expected["active"] and summary["Evaluasi final"] == len(finalized)


def test_publik_statistics_count_only_what_the_public_register_shows(stack, seeded):
    partner = seeded["partner"]
    r = draft(stack, partner, title=f"Rancangan Ekspor {seeded['tag']}", start_date=f"{YEAR + 1}-01-01",
              end_date=f"{YEAR + 2}-12-31")  # a draft under negotiation: internal only
    assert r.status_code == 201, r.text
    wait_until(lambda: get(stack, f"/api/v1/portfolios/partners/{partner}").json().get("agreements") == 3, 30,
               what="the draft counted in the internal portfolio")
    internal = get(stack, f"/api/v1/portfolios/partners/{partner}").json()
    public = get(stack, f"/api/v1/portfolios/partners/{partner}", role="publik").json()
    assert (internal["agreements"], public["agreements"]) == (3, 2)
    assert public["signed_or_later"] == internal["signed_or_later"] == 2

    overview = wait_until(lambda: (o := get(stack, "/api/v1/stats/overview", role="publik").json())["agreements"][
        "total"] == api_total(stack, "/api/v1/agreements", role="publik") and o, 30, what="public overview refreshed")
    assert set(overview["agreements"]["by_status"]) <= {"SIGNED", "ACTIVE", "EXPIRED", "TERMINATED"}
    assert "DRAFT" in get(stack, "/api/v1/stats/overview").json()["agreements"]["by_status"]
