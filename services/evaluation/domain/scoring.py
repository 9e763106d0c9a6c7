"""Pure monev scoring: indicator → group → overall (0–100) → rating (1–5).

How a score is computed (the rubric supplies every number):

1. each answered *scored* indicator scores its option's value (3-level 100/50/0,
   4-level 100/75/50/25 by default);
2. a group's score is the plain average of its answered scored indicators; a group with no
   scored answer (e.g. Rekomendasi, which holds only a choice and texts) has no score and
   takes no part in the overall;
3. the overall is the weighted mean of the group scores, using the groups' weights (all 1 in
   the default rubric, i.e. equal weights);
4. averages are computed exactly (``fractions.Fraction``) and rounded once, at the end, to
   2 decimals with ``ROUND_HALF_UP`` through ``Decimal``: 66.665 → 66.67, 66.66499… → 66.66.
   The overall is computed from the *exact* group averages, not from the rounded ones, so
   rounding never compounds; a reader recomputing it from the 2-decimal group scores may
   therefore differ by 0.01 at most;
5. the rating is read from the *rounded* overall, so the figure shown and the rating never
   disagree: with the default thresholds ≥85 → 5, ≥70 → 4, ≥55 → 3, ≥40 → 2, else 1
   (84.995 rounds to 85.00 and rates 5; 84.99 rates 4).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction
from typing import Any, Iterable, Mapping

from .rubric import DEFAULT_RATING_THRESHOLDS, LOWEST_RATING, Rubric

TWO_PLACES = Decimal("0.01")


def round_score(value: Fraction | Decimal | int) -> Decimal:
    """Round an exact value to 2 decimals, halves away from zero (ROUND_HALF_UP)."""
    exact = Fraction(value)
    with localcontext() as ctx:
        # 50 significant digits: a non-terminating quotient of small integers cannot come that
        # close to a .xx5 boundary, and a terminating one is computed exactly.
        ctx.prec = 50
        quotient = Decimal(exact.numerator) / Decimal(exact.denominator)
        return quotient.quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


def rate(overall: Decimal | int | float, thresholds: Iterable[tuple[Any, int]] = DEFAULT_RATING_THRESHOLDS) -> int:
    """Rating 1–5 of an overall score: the first threshold (highest first) whose minimum it reaches."""
    score = Decimal(str(overall))
    for minimum, rating in sorted(thresholds, key=lambda pair: Decimal(str(pair[0])), reverse=True):
        if score >= Decimal(str(minimum)):
            return rating
    return LOWEST_RATING


def _json_number(value: Decimal) -> int | float:
    # A 2-decimal value survives float's shortest repr exactly: Decimal(str(float(x))) == x.
    return int(value) if value == value.to_integral_value() else float(value)


@dataclass(frozen=True)
class ScoreResult:
    """The outcome of scoring one evaluation against one rubric version."""

    rubric_id: str
    rubric_version: int
    indicator_scores: Mapping[str, Decimal]
    group_scores: Mapping[str, Decimal]
    group_weights: Mapping[str, Decimal]
    overall: Decimal
    rating: int
    unrounded_overall: Fraction = field(compare=False, repr=False, default=Fraction(0))

    def as_data(self) -> dict:
        """JSON-serialisable form (scores as JSON numbers with at most 2 decimals)."""
        return {
            "rubric_id": self.rubric_id,
            "rubric_version": self.rubric_version,
            "indicator_scores": {k: _json_number(v) for k, v in self.indicator_scores.items()},
            "group_scores": {k: _json_number(v) for k, v in self.group_scores.items()},
            "group_weights": {k: _json_number(v) for k, v in self.group_weights.items()},
            "overall": _json_number(self.overall),
            "rating": self.rating,
        }


class NothingToScore(ValueError):
    """No scored indicator was answered, so there is no overall score."""


def score(rubric: Rubric, answers: Mapping[str, Any]) -> ScoreResult:
    """Score validated ``answers`` (indicator id → option key / text / refs) with ``rubric``.

    Answers to unscored indicators are ignored; an answer naming an indicator or option the
    rubric does not have is a programming error (ValueError): validate answers first.
    """
    for indicator_id in answers:
        if rubric.indicator(indicator_id) is None:
            raise ValueError(f"answer to unknown indicator {indicator_id!r}")

    indicator_scores: dict[str, Decimal] = {}
    exact_groups: dict[str, Fraction] = {}
    for group in rubric.groups:
        values: list[Decimal] = []
        for indicator in rubric.indicators_of(group.id):
            answer = answers.get(indicator.id)
            if not indicator.scored or answer is None:
                continue
            value = indicator.score_of(answer)
            indicator_scores[indicator.id] = round_score(value)
            values.append(value)
        if values:
            exact_groups[group.id] = sum((Fraction(v) for v in values), Fraction(0)) / len(values)

    if not exact_groups:
        raise NothingToScore("no scored indicator has been answered")

    weights = {g.id: g.weight for g in rubric.groups if g.id in exact_groups}
    total_weight = sum((Fraction(w) for w in weights.values()), Fraction(0))
    exact_overall = sum((Fraction(weights[g]) * s for g, s in exact_groups.items()), Fraction(0)) / total_weight
    overall = round_score(exact_overall)
    return ScoreResult(
        rubric_id=rubric.rubric_id,
        rubric_version=rubric.rubric_version,
        indicator_scores=indicator_scores,
        group_scores={g: round_score(s) for g, s in exact_groups.items()},
        group_weights=weights,
        overall=overall,
        rating=rate(overall, rubric.rating_thresholds),
        unrounded_overall=exact_overall,
    )
