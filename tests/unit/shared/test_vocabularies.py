"""The controlled vocabularies: the packaged files are well-formed, cite their source, carry one
version, and a region replaces files by name (shared/vocabularies)."""
import json

import pytest

from shared.vocabularies import NAMES, load
from shared.vocabularies.funding import legacy_funding


@pytest.fixture(scope="module")
def vocab():
    return load()


def test_every_vocabulary_names_its_legal_source_and_the_set_has_one_version(vocab):
    served = vocab.as_dict()
    assert served["version"] == vocab.version and served["region_code"] == "15.05"
    for name in NAMES:
        assert served[name]["source"].strip() and served[name]["items"], name
        assert all(item["code"] and item["name"] for item in served[name]["items"]), name
    json.dumps(served)  # served as JSON as it is


def test_urusan_are_the_32_of_uu_23_2014_and_no_supporting_function(vocab):
    groups = {}
    for item in vocab.urusan.items:
        groups.setdefault(item["group"], []).append(item["code"])
    assert {k: len(v) for k, v in groups.items()} == {
        "wajib_pelayanan_dasar": 6, "wajib_non_pelayanan_dasar": 18, "pilihan": 8}
    for function in ("perencanaan_pembangunan", "keuangan", "penelitian_dan_pengembangan", "kepegawaian"):
        assert not vocab.urusan.has(function)


def test_the_opd_catalogue_has_no_setda_sections(vocab):
    assert vocab.opd.has("SETDA") and vocab.opd.has("DINKES")
    for section in ("SETDA-KS", "KESRA", "BAGIAN-KERJA-SAMA"):
        assert not vocab.opd.has(section)
    assert vocab.opd.get("RSUD")["parent"] == "DINKES"
    assert not any("Bagian" in item["name"] for item in vocab.opd.items)


def test_muaro_jambi_borders_its_neighbours_and_not_tebo(vocab):
    assert vocab.neighbours() == ["15.04", "15.06", "15.07", "15.71", "16.06"]
    assert vocab.borders("15.71", "15.05") and vocab.borders("15.05", "16.06")
    assert not vocab.borders("15.05", "15.09")  # Tebo
    assert not vocab.borders("15.05", "15")     # a province and its regency are not "bordering"


def test_only_apbd_money_charges_the_region(vocab):
    assert [i["code"] for i in vocab.funding_sources.items if vocab.charges_region(i["code"])] == ["apbd"]
    assert {"apbd", "apbn", "mitra", "csr_tjsl", "hibah", "lainnya"} == vocab.funding_sources.codes


def test_names_show_instead_of_codes_and_an_unknown_code_shows_as_itself(vocab):
    assert vocab.urusan.name_of("trantibum_linmas").startswith("Ketenteraman")
    assert vocab.opd.name_of("DLH") == "Dinas Lingkungan Hidup"
    assert vocab.opd.name_of("SETDA-KS") == "SETDA-KS"


def test_a_region_replaces_files_by_name_and_raises_the_version(tmp_path, vocab):
    (tmp_path / "manifest.json").write_text(json.dumps({"version": "kota-1", "files": {
        "urusan": "urusan.json", "opd": "opd.json", "termination_reasons": "termination_reasons.json",
        "funding_sources": "funding_sources.json", "regions": "regions.json"}}))
    (tmp_path / "opd.json").write_text(json.dumps({
        "region_code": "15.71", "region_name": "Kota Jambi", "source": "Perda Kota Jambi",
        "items": [{"code": "SETDA", "name": "Sekretariat Daerah", "parent": None}]}))
    other = load(str(tmp_path))
    assert other.version == "kota-1" and other.region_code == "15.71" and other.opd.codes == {"SETDA"}
    assert other.urusan == vocab.urusan and other.neighbours() == ["15.05"]


def test_malformed_files_are_refused_at_load(tmp_path):
    (tmp_path / "regions.json").write_text(json.dumps({"source": "x", "items": [{"code": "15", "name": "Jambi"}],
                                                       "borders": [["15", "99"]]}))
    with pytest.raises(ValueError, match="border"):
        load(str(tmp_path))


@pytest.mark.parametrize("value, flag, funding", [
    (100, True, [{"source": "apbd", "amount": 100, "budgeted": True}]),
    (0, True, []),
    (100, False, [{"source": "apbd", "amount": 100, "budgeted": False}]),
    (0, False, [{"source": "apbd", "amount": 0, "budgeted": False}]),
])
def test_the_old_budgeted_in_apbd_flag_keeps_its_dprd_decision(value, flag, funding):
    from services.agreements.domain import rules
    assert legacy_funding(value, flag) == funding
    assert rules.dprd_required("KSDD", False, funding) == (not flag)
