"""Scoring: scale values, group averages, weights, ROUND_HALF_UP rounding and rating thresholds."""
from __future__ import annotations

import json
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.evaluation.domain import NothingToScore, Rubric, rate, round_score, score


def scale_indicator(indicator_id, group, kind="scale3"):
    keys = ["a", "b", "c"] if kind == "scale3" else ["a", "b", "c", "d"]
    return {"id": indicator_id, "group": group, "label_id": indicator_id, "label_en": indicator_id, "kind": kind,
            "options": [{"key": k, "label_id": k, "label_en": k} for k in keys]}


def small_rubric(groups: dict[str, list[str]], weights: dict[str, object] | None = None, kind="scale3", **extra):
    """A rubric whose groups hold the given scale indicators."""
    weights = weights or {}
    raw = {
        "rubric_id": "uji", "rubric_version": 3,
        "groups": [{"id": g, "label_id": g, "label_en": g, "weight": weights.get(g, 1)} for g in groups],
        "indicators": [scale_indicator(i, g, kind) for g, ids in groups.items() for i in ids],
        **extra,
    }
    return Rubric.from_dict(raw)


# -- indicator scale values ----------------------------------------------------------------
@pytest.mark.parametrize("key, expected", [("sesuai", 100), ("sebagian", 50), ("tidak_sesuai", 0)])
def test_three_level_answers_score_100_50_0(rubric, key, expected):
    result = score(rubric, {"kesesuaian_kebutuhan_daerah": key})
    assert result.indicator_scores == {"kesesuaian_kebutuhan_daerah": Decimal(expected)}
    assert result.group_scores == {"relevansi": Decimal(expected)}
    assert result.overall == Decimal(expected)


@pytest.mark.parametrize("key, expected", [("sangat_baik", 100), ("baik", 75), ("cukup", 50), ("kurang", 25)])
def test_four_level_answers_score_100_75_50_25(rubric, key, expected):
    result = score(rubric, {"koordinasi": key})
    assert result.indicator_scores["koordinasi"] == Decimal(expected)
    assert result.group_scores == {"pelaksanaan": Decimal(expected)}


@pytest.mark.parametrize("indicator, keys", [
    ("ketepatan_waktu", ["tepat_waktu", "terlambat", "tidak_terlaksana"]),
    ("capaian_indikator", ["tercapai", "sebagian_tercapai", "tidak_tercapai"]),
    ("kelengkapan_dokumen", ["lengkap", "kurang_lengkap", "tidak_lengkap"]),
    ("pelaporan_berkala", ["rutin", "tidak_rutin", "tidak_ada"]),
])
def test_every_default_three_level_indicator_is_ordered_best_first(rubric, indicator, keys):
    assert [score(rubric, {indicator: k}).indicator_scores[indicator] for k in keys] == [100, 50, 0]


# -- groups ------------------------------------------------------------------------------
GROUP_CASES = [
    ("pelaksanaan", {"kesesuaian_tujuan": "sesuai", "ketepatan_waktu": "terlambat",
                     "kontribusi_mitra": "kurang", "koordinasi": "baik"}, Decimal("56.25")),   # (100+50+0+75)/4
    ("hasil_dampak", {"capaian_indikator": "tercapai", "dampak": "baik", "inovasi_manfaat": "cukup"},
     Decimal("83.33")),                                                                       # 250/3
    ("administrasi", {"kelengkapan_dokumen": "lengkap", "pelaporan_berkala": "tidak_rutin",
                      "kendala_administrasi": "arsip belum lengkap"}, Decimal("75")),           # text ignored
    ("relevansi", {"kesesuaian_kebutuhan_daerah": "sebagian"}, Decimal("50")),
]


@pytest.mark.parametrize("group, answers, expected", GROUP_CASES, ids=[c[0] for c in GROUP_CASES])
def test_group_score_is_the_average_of_its_scored_answers(rubric, group, answers, expected):
    result = score(rubric, answers)
    assert result.group_scores == {group: expected}
    assert result.overall == expected


def test_overall_is_the_equal_weight_mean_of_the_groups(rubric):
    answers = {k: v for _, group_answers, _ in GROUP_CASES for k, v in group_answers.items()}
    answers.update(rekomendasi="dikembangkan", saran="perluas ke desa lain", bukti=["BA-12/2025"])
    result = score(rubric, answers)
    assert result.group_scores == {"pelaksanaan": Decimal("56.25"), "hasil_dampak": Decimal("83.33"),
                                   "administrasi": Decimal("75"), "relevansi": Decimal("50")}
    # exact: (56.25 + 83.333… + 75 + 50) / 4 = 66.1458…
    assert result.overall == Decimal("66.15")
    assert result.rating == 3
    assert "rekomendasi" not in result.group_scores  # a group with nothing scored has no score


def test_all_best_answers_score_100_and_rate_5(rubric, complete_answers):
    result = score(rubric, complete_answers)
    assert result.overall == 100 and result.rating == 5
    assert set(result.group_scores) == {"pelaksanaan", "hasil_dampak", "administrasi", "relevansi"}


def test_all_worst_answers_score_low_and_rate_1(rubric):
    worst = {i.id: i.options[-1].key for i in rubric.indicators if i.scored}
    result = score(rubric, worst)
    # pelaksanaan: (0+0+0+25)/4 = 6.25, others 0 → overall 1.5625
    assert result.group_scores["pelaksanaan"] == Decimal("6.25")
    assert result.overall == Decimal("1.56")
    assert result.rating == 1


def test_unanswered_optional_scored_indicators_do_not_count(rubric):
    result = score(rubric, {"capaian_indikator": "tercapai", "dampak": "kurang"})
    assert result.group_scores == {"hasil_dampak": Decimal(50)}


def test_only_unscored_answers_leave_nothing_to_score(rubric):
    with pytest.raises(NothingToScore):
        score(rubric, {"rekomendasi": "dilanjutkan", "saran": "baik"})


def test_unknown_indicator_or_option_is_a_programming_error(rubric):
    with pytest.raises(ValueError):
        score(rubric, {"tidak_ada": "sesuai"})
    with pytest.raises(ValueError):
        score(rubric, {"dampak": "luar_biasa"})


# -- weights -----------------------------------------------------------------------------
def test_weights_make_a_weighted_mean():
    rubric = small_rubric({"a": ["a1"], "b": ["b1"]}, weights={"a": 3, "b": 1})
    result = score(rubric, {"a1": "a", "b1": "c"})  # 100 and 0
    assert result.overall == Decimal(75)
    assert result.group_weights == {"a": Decimal(3), "b": Decimal(1)}


def test_decimal_weights_are_exact():
    rubric = small_rubric({"a": ["a1"], "b": ["b1"]}, weights={"a": "0.1", "b": "0.2"})
    result = score(rubric, {"a1": "a", "b1": "b"})  # (0.1*100 + 0.2*50) / 0.3 = 66.666…
    assert result.overall == Decimal("66.67")


def test_a_group_without_answers_takes_its_weight_out_of_the_mean():
    rubric = small_rubric({"a": ["a1"], "b": ["b1"]}, weights={"a": 1, "b": 9})
    assert score(rubric, {"a1": "b"}).overall == Decimal(50)


def test_equal_weights_do_not_depend_on_group_size():
    rubric = small_rubric({"big": ["x1", "x2", "x3", "x4"], "small": ["y1"]})
    result = score(rubric, {"x1": "a", "x2": "a", "x3": "a", "x4": "a", "y1": "c"})
    assert result.group_scores == {"big": Decimal(100), "small": Decimal(0)}
    assert result.overall == Decimal(50)  # not 80, the mean over indicators


# -- rounding ----------------------------------------------------------------------------
@pytest.mark.parametrize("exact, expected", [
    (Fraction(66665, 1000), "66.67"),        # a half rounds up
    (Fraction(90625, 1000), "90.63"),        # ROUND_HALF_EVEN would give 90.62
    (Fraction(6666499, 100000), "66.66"),
    (Fraction(200, 3), "66.67"),
    (Fraction(100, 3), "33.33"),
    (Fraction(5, 1000), "0.01"),
    (Fraction(4999, 1000000), "0.00"),
    (Fraction(84995, 1000), "85.00"),
    (Fraction(100), "100.00"),
    (Decimal("54.995"), "55.00"),
])
def test_round_score_is_half_up_to_two_decimals(exact, expected):
    rounded = round_score(exact)
    assert rounded == Decimal(expected)
    assert rounded.as_tuple().exponent == -2


def test_a_real_half_rounds_up_where_float_rounding_would_not():
    # 8 four-level indicators: five at 100 and three at 75 → exactly 90.625
    ids = [f"k{n}" for n in range(8)]
    rubric = small_rubric({"g": ids}, kind="scale4")
    answers = {i: ("a" if n < 5 else "b") for n, i in enumerate(ids)}
    result = score(rubric, answers)
    assert result.unrounded_overall == Fraction(90625, 1000)
    assert round(90.625, 2) == 90.62  # what naive float rounding gives
    assert result.overall == Decimal("90.63")
    assert result.group_scores == {"g": Decimal("90.63")}


def test_overall_comes_from_exact_group_averages_not_rounded_ones():
    rubric = small_rubric({"a": ["a1", "a2", "a3"], "b": ["b1"]})
    result = score(rubric, {"a1": "a", "a2": "a", "a3": "c", "b1": "c"})
    assert result.group_scores == {"a": Decimal("66.67"), "b": Decimal(0)}
    assert result.overall == Decimal("33.33")  # (66.67 + 0) / 2 would round to 33.34


# -- rating ------------------------------------------------------------------------------
@pytest.mark.parametrize("overall, rating", [
    ("100", 5), ("85", 5), ("85.00", 5), ("84.99", 4), ("70", 4), ("69.99", 3), ("55", 3), ("54.99", 2),
    ("40", 2), ("39.99", 1), ("0", 1),
])
def test_default_rating_thresholds_at_their_boundaries(overall, rating):
    assert rate(Decimal(overall)) == rating


def test_rating_reads_the_rounded_overall():
    assert rate(round_score(Fraction(84995, 1000))) == 5
    assert rate(round_score(Fraction(84994, 1000))) == 4


def test_rating_uses_the_rubrics_thresholds():
    thresholds = [{"rating": 5, "min_score": 90}, {"rating": 4, "min_score": 75},
                  {"rating": 3, "min_score": 60}, {"rating": 2, "min_score": 50}]
    rubric = small_rubric({"g": ["a1", "a2"]}, rating_thresholds=thresholds)
    assert score(rubric, {"a1": "a", "a2": "a"}).rating == 5
    assert score(rubric, {"a1": "a", "a2": "b"}).rating == 4   # 75 ≥ 75
    assert score(rubric, {"a1": "b", "a2": "b"}).rating == 2   # 50 ≥ 50 but < 60
    assert score(rubric, {"a1": "c", "a2": "b"}).rating == 1   # 25


def test_rating_of_scored_default_rubric_answers(rubric):
    assert score(rubric, {"kesesuaian_kebutuhan_daerah": "sebagian"}).rating == 2   # 50
    result = score(rubric, {"kesesuaian_tujuan": "sesuai", "ketepatan_waktu": "tepat_waktu",
                            "kontribusi_mitra": "baik", "koordinasi": "kurang"})
    assert (result.overall, result.rating) == (Decimal("81.25"), 4)                  # (100+100+100+25)/4
    result = score(rubric, {"kesesuaian_kebutuhan_daerah": "sesuai", "kelengkapan_dokumen": "kurang_lengkap",
                            "pelaporan_berkala": "tidak_rutin", "koordinasi": "baik", "dampak": "cukup"})
    # groups relevansi 100, administrasi 50, pelaksanaan 75, hasil_dampak 50 → 68.75
    assert (result.overall, result.rating) == (Decimal("68.75"), 3)


def test_result_as_data_is_json_and_exact(rubric):
    result = score(rubric, {"capaian_indikator": "tercapai", "dampak": "baik", "inovasi_manfaat": "cukup"})
    data = json.loads(json.dumps(result.as_data()))
    assert data["rubric_id"] == "monev-ksd-standar" and data["rubric_version"] == 1
    assert data["group_scores"] == {"hasil_dampak": 83.33}
    assert Decimal(str(data["overall"])) == result.overall
    assert data["rating"] == 4
    assert data["group_weights"] == {"hasil_dampak": 1}


# -- properties ----------------------------------------------------------------------------
def _answer_strategy(rubric):
    scored = [i for i in rubric.indicators if i.scored]
    return st.fixed_dictionaries(
        {}, optional={i.id: st.sampled_from(i.option_keys) for i in scored}
    ).filter(bool)


DEFAULT_RUBRIC = Rubric.from_json(
    (Path(__file__).resolve().parents[3] / "services" / "evaluation" / "rubric_default.json").read_text(encoding="utf-8"))


@settings(max_examples=300)
@given(_answer_strategy(DEFAULT_RUBRIC))
def test_scores_stay_in_range_and_rating_follows_overall(answers):
    result = score(DEFAULT_RUBRIC, answers)
    assert Decimal(0) <= result.overall <= Decimal(100)
    assert all(Decimal(0) <= s <= Decimal(100) for s in result.group_scores.values())
    assert result.rating == rate(result.overall)
    assert round_score(result.unrounded_overall) == result.overall
    # equal weights: overall is the exact mean of the exact group means
    exact_groups = []
    for group in DEFAULT_RUBRIC.groups:
        values = [DEFAULT_RUBRIC.indicator(i).score_of(a) for i, a in answers.items()
                  if DEFAULT_RUBRIC.indicator(i).group == group.id]
        if values:
            exact_groups.append(Fraction(sum(values)) / len(values))
    assert result.unrounded_overall == sum(exact_groups) / len(exact_groups)


@settings(max_examples=300)
@given(_answer_strategy(DEFAULT_RUBRIC), st.data())
def test_a_better_answer_never_lowers_the_score(answers, data):
    indicator_id = data.draw(st.sampled_from(sorted(answers)))
    keys = DEFAULT_RUBRIC.indicator(indicator_id).option_keys
    position = keys.index(answers[indicator_id])
    better = dict(answers, **{indicator_id: keys[data.draw(st.integers(0, position))]})
    before, after = score(DEFAULT_RUBRIC, answers), score(DEFAULT_RUBRIC, better)
    assert after.unrounded_overall >= before.unrounded_overall
    assert after.rating >= before.rating
