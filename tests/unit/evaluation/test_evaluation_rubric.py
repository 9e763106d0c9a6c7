"""The rubric is data: the default JSON file loads, and inconsistent definitions are refused."""
from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path

import pytest

from services.evaluation.domain import Rubric, RubricError

RUBRIC_FILE = Path(__file__).resolve().parents[3] / "services" / "evaluation" / "rubric_default.json"


@pytest.fixture
def raw() -> dict:
    return json.loads(RUBRIC_FILE.read_text(encoding="utf-8"))


def test_default_rubric_loads_from_the_json_file(rubric):
    assert rubric.rubric_id == "monev-ksd-standar"
    assert rubric.rubric_version == 1
    assert rubric.ref == {"rubric_id": "monev-ksd-standar", "rubric_version": 1}
    assert [g.id for g in rubric.groups] == ["pelaksanaan", "hasil_dampak", "administrasi", "relevansi", "rekomendasi"]
    assert [g.label_en for g in rubric.groups] == [
        "Implementation", "Results and impact", "Administration", "Relevance", "Recommendation"]
    assert all(g.weight == 1 for g in rubric.groups)


def test_default_rubric_holds_the_indicators_of_domain_section_4(rubric):
    by_group = {g.id: [(i.id, i.kind, i.scored) for i in rubric.indicators_of(g.id)] for g in rubric.groups}
    assert by_group == {
        "pelaksanaan": [("kesesuaian_tujuan", "scale3", True), ("ketepatan_waktu", "scale3", True),
                        ("kontribusi_mitra", "scale3", True), ("koordinasi", "scale4", True)],
        "hasil_dampak": [("capaian_indikator", "scale3", True), ("dampak", "scale3", True),
                         ("inovasi_manfaat", "scale3", True)],
        "administrasi": [("kelengkapan_dokumen", "scale3", True), ("pelaporan_berkala", "scale3", True),
                         ("kendala_administrasi", "text", False)],
        "relevansi": [("kesesuaian_kebutuhan_daerah", "scale3", True)],
        "rekomendasi": [("rekomendasi", "choice", False), ("saran", "text", False), ("bukti", "refs", False)],
    }


def test_default_rubric_uses_indonesian_machine_keys(rubric):
    assert rubric.indicator("kesesuaian_tujuan").option_keys == ("sesuai", "sebagian", "tidak_sesuai")
    assert rubric.indicator("ketepatan_waktu").option_keys == ("tepat_waktu", "terlambat", "tidak_terlaksana")
    assert rubric.indicator("kontribusi_mitra").option_keys == ("baik", "cukup", "kurang")
    assert rubric.indicator("koordinasi").option_keys == ("sangat_baik", "baik", "cukup", "kurang")
    assert rubric.indicator("rekomendasi").option_keys == ("dilanjutkan", "dikembangkan", "dihentikan")
    assert rubric.indicator("kesesuaian_tujuan").option("tidak_sesuai").label_id == "Tidak sesuai"


def test_scale_options_carry_their_scores(rubric):
    assert [o.score for o in rubric.indicator("dampak").options] == [100, 50, 0]
    assert [o.score for o in rubric.indicator("koordinasi").options] == [100, 75, 50, 25]
    assert all(o.score is None for o in rubric.indicator("rekomendasi").options)


def test_required_indicators_are_the_scored_ones_and_the_recommendation(rubric):
    expected = [i.id for i in rubric.indicators if i.scored or i.id == "rekomendasi"]
    assert list(rubric.required_ids) == expected
    assert not {"kendala_administrasi", "saran", "bukti"} & set(rubric.required_ids)


def test_default_rating_thresholds(rubric):
    assert rubric.rating_thresholds == ((Decimal(85), 5), (Decimal(70), 4), (Decimal(55), 3), (Decimal(40), 2))


def test_to_dict_round_trips(rubric):
    again = Rubric.from_dict(json.loads(json.dumps(rubric.to_dict())))
    assert again == rubric


def test_scale_scores_and_thresholds_default_when_omitted(raw, rubric):
    del raw["scale_scores"], raw["rating_thresholds"]
    loaded = Rubric.from_dict(raw)
    assert loaded.scale_scores == rubric.scale_scores
    assert loaded.rating_thresholds == rubric.rating_thresholds


def test_configured_scale_scores_flow_into_options(raw):
    raw["scale_scores"]["scale3"] = [90, 60, 10]
    loaded = Rubric.from_dict(raw)
    assert [o.score for o in loaded.indicator("dampak").options] == [90, 60, 10]


def test_thresholds_may_be_given_in_any_order(raw):
    raw["rating_thresholds"].reverse()
    assert Rubric.from_dict(raw).rating_thresholds[0] == (Decimal(85), 5)


def _indicator(raw, indicator_id):
    return next(i for i in raw["indicators"] if i["id"] == indicator_id)


BROKEN = {
    "not_an_object": (lambda r: [], "$"),
    "missing_id": (lambda r: r.pop("rubric_id"), "rubric_id"),
    "version_zero": (lambda r: r.update(rubric_version=0), "rubric_version"),
    "version_text": (lambda r: r.update(rubric_version="1"), "rubric_version"),
    "no_groups": (lambda r: r.update(groups=[]), "groups"),
    "duplicate_group": (lambda r: r["groups"].append(dict(r["groups"][0])), "groups[5].id"),
    "zero_weight": (lambda r: r["groups"][0].update(weight=0), "groups[0].weight"),
    "weight_not_number": (lambda r: r["groups"][0].update(weight="berat"), "groups[0].weight"),
    "boolean_weight": (lambda r: r["groups"][0].update(weight=True), "groups[0].weight"),
    "no_indicators": (lambda r: r.update(indicators=[]), "indicators"),
    "duplicate_indicator": (lambda r: r["indicators"].append(dict(r["indicators"][0])), "indicators[14].id"),
    "unknown_group": (lambda r: r["indicators"][0].update(group="keuangan"), "indicators[0].group"),
    "unknown_kind": (lambda r: r["indicators"][0].update(kind="scale5"), "indicators[0].kind"),
    "scale3_with_4_options": (lambda r: _indicator(r, "dampak")["options"].append(
        {"key": "lain", "label_id": "Lain", "label_en": "Other"}), "indicators[5].options"),
    "scale4_with_3_options": (lambda r: _indicator(r, "koordinasi")["options"].pop(), "indicators[3].options"),
    "duplicate_option": (lambda r: _indicator(r, "rekomendasi")["options"].append(
        dict(_indicator(r, "rekomendasi")["options"][0])), "indicators[11].options[3].key"),
    "choice_with_one_option": (lambda r: _indicator(r, "rekomendasi").update(
        options=_indicator(r, "rekomendasi")["options"][:1]), "indicators[11].options"),
    "text_with_options": (lambda r: _indicator(r, "saran").update(
        options=[{"key": "a", "label_id": "A", "label_en": "A"}]), "indicators[12].options"),
    "scored_text": (lambda r: _indicator(r, "saran").update(scored=True), "indicators[12].scored"),
    "scored_choice": (lambda r: _indicator(r, "rekomendasi").update(scored=True), "indicators[11].scored"),
    "required_not_boolean": (lambda r: _indicator(r, "saran").update(required="ya"), "indicators[12].required"),
    "option_without_label": (lambda r: _indicator(r, "dampak")["options"][0].pop("label_en"),
                             "indicators[5].options[0].label_en"),
    "nothing_scored_and_required": (lambda r: [i.update(required=False) for i in r["indicators"] if i.get("scored")],
                                    "indicators"),
    "scale_scores_increasing": (lambda r: r["scale_scores"].update(scale3=[0, 50, 100]), "scale_scores.scale3"),
    "scale_scores_wrong_length": (lambda r: r["scale_scores"].update(scale4=[100, 50, 0]), "scale_scores.scale4"),
    "scale_score_above_100": (lambda r: r["scale_scores"].update(scale3=[120, 50, 0]), "scale_scores.scale3[0]"),
    "unknown_scale": (lambda r: r["scale_scores"].update(scale5=[1, 2, 3, 4, 5]), "scale_scores"),
    "threshold_missing_rating": (lambda r: r["rating_thresholds"].pop(), "rating_thresholds"),
    "thresholds_not_decreasing": (lambda r: r["rating_thresholds"][1].update(min_score=90), "rating_thresholds"),
    "threshold_rating_not_integer": (lambda r: r["rating_thresholds"][0].update(rating=5.0),
                                     "rating_thresholds[0].rating"),
    "threshold_above_100": (lambda r: r["rating_thresholds"][0].update(min_score=101),
                            "rating_thresholds[0].min_score"),
    "text_max_length_zero": (lambda r: _indicator(r, "saran").update(max_length=0), "indicators[12].max_length"),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_inconsistent_rubrics_are_refused_with_a_path(raw, name):
    mutate, path = BROKEN[name]
    broken = copy.deepcopy(raw)
    replacement = mutate(broken)
    if name == "not_an_object":
        broken = replacement
    with pytest.raises(RubricError) as caught:
        Rubric.from_dict(broken)
    assert caught.value.path == path


def test_invalid_json_is_a_rubric_error():
    with pytest.raises(RubricError):
        Rubric.from_json("{not json")
