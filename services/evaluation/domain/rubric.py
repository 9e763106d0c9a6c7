"""The monev rubric as data: groups, indicators, scale scores and rating thresholds.

A rubric is configuration, not code: ``Rubric.from_dict`` builds it from a plain dict (the
shape of ``services/evaluation/rubric_default.json``) and refuses anything inconsistent with
``RubricError``. Reading the file is the caller's business; this module does no I/O.

Indicator kinds:

``scale3`` / ``scale4``
    one option key out of 3 or 4, ordered best first; the n-th option scores
    ``scale_scores[kind][n]`` (default 100/50/0 and 100/75/50/25).
``choice``
    one option key out of two or more; never scored (e.g. continue / expand / stop).
``text``
    free text; never scored.
``refs``
    a list of evidence references (document ids, file names, links); never scored.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Mapping

SCALE3 = "scale3"
SCALE4 = "scale4"
CHOICE = "choice"
TEXT = "text"
REFS = "refs"

SCALE_KINDS = (SCALE3, SCALE4)
INDICATOR_KINDS = (SCALE3, SCALE4, CHOICE, TEXT, REFS)
SCALE_LENGTHS = {SCALE3: 3, SCALE4: 4}

DEFAULT_SCALE_SCORES: Mapping[str, tuple[int, ...]] = {
    SCALE3: (100, 50, 0),
    SCALE4: (100, 75, 50, 25),
}

# (minimum overall score, rating), highest first; anything below the last minimum rates 1.
DEFAULT_RATING_THRESHOLDS: tuple[tuple[int, int], ...] = ((85, 5), (70, 4), (55, 3), (40, 2))
LOWEST_RATING = 1

DEFAULT_TEXT_MAX_LENGTH = 4000
DEFAULT_REFS_MAX_ITEMS = 50


class RubricError(ValueError):
    """A rubric definition is inconsistent; ``path`` says where (``indicators[3].options``)."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


@dataclass(frozen=True)
class Option:
    """One answer an indicator accepts: a stable machine key and its labels.

    ``score`` is set for scale options only (derived from the rubric's scale scores).
    """

    key: str
    label_id: str
    label_en: str
    score: Decimal | None = None


@dataclass(frozen=True)
class Group:
    """A group of indicators (Pelaksanaan, Hasil & Dampak, ...) and its weight in the overall."""

    id: str
    label_id: str
    label_en: str
    weight: Decimal


@dataclass(frozen=True)
class Indicator:
    """One question of the rubric."""

    id: str
    group: str
    label_id: str
    label_en: str
    kind: str
    options: tuple[Option, ...] = ()
    required: bool = True
    scored: bool = False
    max_length: int = DEFAULT_TEXT_MAX_LENGTH
    max_items: int = DEFAULT_REFS_MAX_ITEMS

    @property
    def option_keys(self) -> tuple[str, ...]:
        return tuple(option.key for option in self.options)

    def option(self, key: str) -> Option | None:
        """The option with machine key ``key``, or None."""
        for option in self.options:
            if option.key == key:
                return option
        return None

    def score_of(self, key: str) -> Decimal:
        """Score (0–100) of a scale answer; ValueError for an unscored indicator or unknown key."""
        if not self.scored:
            raise ValueError(f"indicator {self.id} is not scored")
        option = self.option(key)
        if option is None or option.score is None:
            raise ValueError(f"{key!r} is not an option of indicator {self.id}")
        return option.score


@dataclass(frozen=True)
class Rubric:
    """A versioned rubric. Build it with ``from_dict``/``from_json``; ``to_dict`` is the inverse."""

    rubric_id: str
    rubric_version: int
    label_id: str
    label_en: str
    groups: tuple[Group, ...]
    indicators: tuple[Indicator, ...]
    scale_scores: Mapping[str, tuple[Decimal, ...]]
    rating_thresholds: tuple[tuple[Decimal, int], ...]

    # -- look-ups -------------------------------------------------------------------------
    def indicator(self, indicator_id: str) -> Indicator | None:
        for indicator in self.indicators:
            if indicator.id == indicator_id:
                return indicator
        return None

    def group(self, group_id: str) -> Group | None:
        for group in self.groups:
            if group.id == group_id:
                return group
        return None

    def indicators_of(self, group_id: str) -> tuple[Indicator, ...]:
        return tuple(i for i in self.indicators if i.group == group_id)

    @property
    def required_ids(self) -> tuple[str, ...]:
        return tuple(i.id for i in self.indicators if i.required)

    @property
    def ref(self) -> dict:
        """The identity that events record: ``{"rubric_id": ..., "rubric_version": ...}``."""
        return {"rubric_id": self.rubric_id, "rubric_version": self.rubric_version}

    # -- (de)serialisation ----------------------------------------------------------------
    @classmethod
    def from_json(cls, text: str) -> "Rubric":
        """Parse a JSON document (already read by the caller) into a rubric."""
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RubricError("$", f"not valid JSON: {exc}") from exc
        return cls.from_dict(raw)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "Rubric":
        """Validate and build a rubric from a plain dict; RubricError names the faulty path."""
        if not isinstance(raw, Mapping):
            raise RubricError("$", "a rubric must be an object")
        rubric_id = _text(raw, "rubric_id", "$")
        rubric_version = raw.get("rubric_version")
        if isinstance(rubric_version, bool) or not isinstance(rubric_version, int) or rubric_version < 1:
            raise RubricError("rubric_version", "must be a positive integer")

        scale_scores = _scale_scores(raw.get("scale_scores", DEFAULT_SCALE_SCORES))
        thresholds = _thresholds(raw.get("rating_thresholds", DEFAULT_RATING_THRESHOLDS))

        raw_groups = raw.get("groups")
        if not isinstance(raw_groups, list) or not raw_groups:
            raise RubricError("groups", "must be a non-empty list")
        groups: list[Group] = []
        for n, g in enumerate(raw_groups):
            path = f"groups[{n}]"
            if not isinstance(g, Mapping):
                raise RubricError(path, "must be an object")
            group = Group(
                id=_text(g, "id", path),
                label_id=_text(g, "label_id", path),
                label_en=_text(g, "label_en", path),
                weight=_weight(g.get("weight", 1), f"{path}.weight"),
            )
            if any(existing.id == group.id for existing in groups):
                raise RubricError(f"{path}.id", f"duplicate group {group.id!r}")
            groups.append(group)
        group_ids = {g.id for g in groups}

        raw_indicators = raw.get("indicators")
        if not isinstance(raw_indicators, list) or not raw_indicators:
            raise RubricError("indicators", "must be a non-empty list")
        indicators: list[Indicator] = []
        for n, i in enumerate(raw_indicators):
            indicator = _indicator(i, f"indicators[{n}]", group_ids, scale_scores)
            if any(existing.id == indicator.id for existing in indicators):
                raise RubricError(f"indicators[{n}].id", f"duplicate indicator {indicator.id!r}")
            indicators.append(indicator)

        # A complete evaluation must always have something to score, or finalisation
        # could not produce a rating.
        if not any(i.scored and i.required for i in indicators):
            raise RubricError("indicators", "at least one indicator must be both scored and required")

        return cls(
            rubric_id=rubric_id,
            rubric_version=rubric_version,
            label_id=str(raw.get("label_id", rubric_id)),
            label_en=str(raw.get("label_en", rubric_id)),
            groups=tuple(groups),
            indicators=tuple(indicators),
            scale_scores=scale_scores,
            rating_thresholds=thresholds,
        )

    def to_dict(self) -> dict:
        """The plain-dict form accepted by ``from_dict`` (JSON-serialisable)."""
        indicators = []
        for i in self.indicators:
            item: dict[str, Any] = {
                "id": i.id, "group": i.group, "label_id": i.label_id, "label_en": i.label_en,
                "kind": i.kind, "required": i.required, "scored": i.scored,
            }
            if i.options:
                item["options"] = [{"key": o.key, "label_id": o.label_id, "label_en": o.label_en} for o in i.options]
            if i.kind == TEXT:
                item["max_length"] = i.max_length
            if i.kind == REFS:
                item["max_items"] = i.max_items
            indicators.append(item)
        return {
            "rubric_id": self.rubric_id,
            "rubric_version": self.rubric_version,
            "label_id": self.label_id,
            "label_en": self.label_en,
            "scale_scores": {k: [_number(s) for s in v] for k, v in self.scale_scores.items()},
            "rating_thresholds": [{"rating": r, "min_score": _number(m)} for m, r in self.rating_thresholds],
            "groups": [
                {"id": g.id, "label_id": g.label_id, "label_en": g.label_en, "weight": _number(g.weight)}
                for g in self.groups
            ],
            "indicators": indicators,
        }


# -- validation helpers -------------------------------------------------------------------
def _text(raw: Mapping[str, Any], key: str, path: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise RubricError(f"{path}.{key}" if path != "$" else key, "must be a non-empty string")
    return value.strip()


def _decimal(value: Any, path: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise RubricError(path, "must be a number")
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise RubricError(path, "must be a number") from exc
    if not number.is_finite():
        raise RubricError(path, "must be a finite number")
    return number


def _weight(value: Any, path: str) -> Decimal:
    weight = _decimal(value, path)
    if weight <= 0:
        raise RubricError(path, "must be greater than 0")
    return weight


def _score(value: Any, path: str) -> Decimal:
    score = _decimal(value, path)
    if not Decimal(0) <= score <= Decimal(100):
        raise RubricError(path, "must lie between 0 and 100")
    return score


def _scale_scores(raw: Any) -> dict[str, tuple[Decimal, ...]]:
    if not isinstance(raw, Mapping):
        raise RubricError("scale_scores", "must be an object")
    out: dict[str, tuple[Decimal, ...]] = {}
    for kind in SCALE_KINDS:
        values = raw.get(kind)
        if not isinstance(values, (list, tuple)) or len(values) != SCALE_LENGTHS[kind]:
            raise RubricError(f"scale_scores.{kind}", f"must list {SCALE_LENGTHS[kind]} scores, best first")
        scores = tuple(_score(v, f"scale_scores.{kind}[{n}]") for n, v in enumerate(values))
        if any(a < b for a, b in zip(scores, scores[1:])):
            raise RubricError(f"scale_scores.{kind}", "scores must not increase (best option first)")
        out[kind] = scores
    unknown = set(raw) - set(SCALE_KINDS)
    if unknown:
        raise RubricError("scale_scores", f"unknown scale(s): {', '.join(sorted(unknown))}")
    return out


def _thresholds(raw: Any) -> tuple[tuple[Decimal, int], ...]:
    if not isinstance(raw, (list, tuple)):
        raise RubricError("rating_thresholds", "must be a list")
    pairs: list[tuple[Decimal, int]] = []
    for n, item in enumerate(raw):
        path = f"rating_thresholds[{n}]"
        if isinstance(item, Mapping):
            minimum, rating = item.get("min_score"), item.get("rating")
        elif isinstance(item, (list, tuple)) and len(item) == 2:
            minimum, rating = item
        else:
            raise RubricError(path, "must be {\"rating\": r, \"min_score\": s}")
        if isinstance(rating, bool) or not isinstance(rating, int):
            raise RubricError(f"{path}.rating", "must be an integer rating")
        pairs.append((_score(minimum, f"{path}.min_score"), rating))
    pairs.sort(key=lambda pair: pair[1], reverse=True)
    if [r for _, r in pairs] != [5, 4, 3, 2]:
        raise RubricError("rating_thresholds", "must give one minimum score for each of the ratings 5, 4, 3 and 2")
    minima = [m for m, _ in pairs]
    if any(a <= b for a, b in zip(minima, minima[1:])):
        raise RubricError("rating_thresholds", "minimum scores must strictly decrease from rating 5 to rating 2")
    return tuple(pairs)


def _indicator(raw: Any, path: str, group_ids: set[str], scale_scores: Mapping[str, tuple[Decimal, ...]]) -> Indicator:
    if not isinstance(raw, Mapping):
        raise RubricError(path, "must be an object")
    indicator_id = _text(raw, "id", path)
    group = _text(raw, "group", path)
    if group not in group_ids:
        raise RubricError(f"{path}.group", f"unknown group {group!r}")
    kind = raw.get("kind")
    if kind not in INDICATOR_KINDS:
        raise RubricError(f"{path}.kind", f"must be one of {', '.join(INDICATOR_KINDS)}")
    required = raw.get("required", True)
    if not isinstance(required, bool):
        raise RubricError(f"{path}.required", "must be true or false")
    scored = raw.get("scored", kind in SCALE_KINDS)
    if not isinstance(scored, bool):
        raise RubricError(f"{path}.scored", "must be true or false")
    if scored and kind not in SCALE_KINDS:
        raise RubricError(f"{path}.scored", f"a {kind} indicator cannot be scored")

    raw_options = raw.get("options", [])
    if not isinstance(raw_options, list):
        raise RubricError(f"{path}.options", "must be a list")
    options: list[Option] = []
    for n, o in enumerate(raw_options):
        opath = f"{path}.options[{n}]"
        if not isinstance(o, Mapping):
            raise RubricError(opath, "must be an object")
        key = _text(o, "key", opath)
        if any(existing.key == key for existing in options):
            raise RubricError(f"{opath}.key", f"duplicate option {key!r}")
        score = scale_scores[kind][n] if kind in SCALE_KINDS and n < len(scale_scores[kind]) else None
        options.append(Option(key, _text(o, "label_id", opath), _text(o, "label_en", opath), score))
    if kind in SCALE_KINDS and len(options) != SCALE_LENGTHS[kind]:
        raise RubricError(f"{path}.options", f"a {kind} indicator needs exactly {SCALE_LENGTHS[kind]} options, best first")
    if kind == CHOICE and len(options) < 2:
        raise RubricError(f"{path}.options", "a choice indicator needs at least 2 options")
    if kind in (TEXT, REFS) and options:
        raise RubricError(f"{path}.options", f"a {kind} indicator takes no options")

    limits: dict[str, int] = {}
    for key, default in (("max_length", DEFAULT_TEXT_MAX_LENGTH), ("max_items", DEFAULT_REFS_MAX_ITEMS)):
        value = raw.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise RubricError(f"{path}.{key}", "must be a positive integer")
        limits[key] = value

    return Indicator(
        id=indicator_id, group=group, label_id=_text(raw, "label_id", path), label_en=_text(raw, "label_en", path),
        kind=kind, options=tuple(options), required=required, scored=scored, **limits,
    )


def _number(value: Decimal) -> int | float:
    """A Decimal as a JSON number: an int when integral, else a float."""
    return int(value) if value == value.to_integral_value() else float(value)
