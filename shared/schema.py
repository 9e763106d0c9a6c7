"""The one input validator every request schema inherits: what no field of Jalin may hold.

A value accepted at the edge is stored in an event for good, copied to Kafka, projected into read
models, written into CSV and XLSX exports and shown in the dashboard. Some values are valid JSON but
break one of those outputs: a NUL byte (a MongoDB key cannot hold one), other control characters
(XLSX cells refuse them, headers and logs are confused by them), a lone surrogate (not UTF-8: Kafka
and MongoDB refuse it), an integer beyond 64 bits (BSON has none), a structure deeper or an array
longer than any field allows. ``Schema`` refuses them all before its fields are loaded, with 422 and
an error per offending field (``urusan.0``, ``answers.saran``), so no service needs its own check.

Tab, line feed and carriage return are allowed in free text only: a string field whose length
limit is at least ``FREE_TEXT_MIN`` characters (notes, reasons, descriptions) or marked
``metadata={"multiline": True}``, and values of untyped (``Raw``/``Dict``) fields; a title, a name,
a code or a dictionary key is one line.
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import marshmallow
from marshmallow import ValidationError, fields, pre_load, validate

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MAX_ITEMS = 1000          # items of an array whose field declares no larger maximum
RAW_DEPTH = 4             # levels of nesting allowed below an untyped (Raw/Dict value) field
FREE_TEXT_MIN = 1000      # a string field allowing this many characters is free text

# C0 and C1 controls, DEL, and lone surrogates; the free-text variant lets \t \n \r through.
_FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_FORBIDDEN_IN_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def text_problem(value: str, free_text: bool = False) -> str | None:
    """Why ``value`` may not be stored as a string (None if it may)."""
    match = (_FORBIDDEN_IN_TEXT if free_text else _FORBIDDEN).search(value)
    if match is None:
        return None
    char = match.group()
    if "\ud800" <= char <= "\udfff":
        return "must be valid Unicode text (a lone surrogate is not)"
    return f"must not contain control characters (found U+{ord(char):04X})"


def key_problem(key: Any) -> str | None:
    """Why ``key`` may not be a key of a stored object (None if it may): one line of text, not a
    MongoDB operator or path (no leading ``$``, no ``.``)."""
    if not isinstance(key, str):
        return "keys must be strings"
    problem = text_problem(key)
    if problem:
        return f"key {key!r} {problem}"
    if key.startswith("$") or "." in key:
        return f"key {key!r} must not start with '$' or contain '.'"
    return None


def _max_length(field: fields.Field) -> int | None:
    for validator in field.validators:
        if isinstance(validator, validate.Length) and validator.max is not None:
            return validator.max
    return None


class _Element:
    """One element of a ``Nested(..., many=True)`` field: an object of the nested schema."""

    def __init__(self, nested: fields.Nested):
        self.nested = nested


def _is_free_text(field) -> bool:
    if field is None or type(field) is fields.Raw:
        return True  # untyped content (rubric answers, for instance) may be prose
    if not isinstance(field, fields.Field):
        return False
    if field.metadata.get("multiline"):
        return True
    limit = _max_length(field)
    return isinstance(field, fields.String) and limit is not None and limit >= FREE_TEXT_MIN


def _children(field) -> tuple[str, Any]:
    """How ``field``'s content nests: ("list", element), ("dict", (keys, values)), ("schema", fields),
    ("raw", None) for untyped content or ("leaf", None)."""
    if isinstance(field, _Element):
        return "schema", _load_fields(field.nested.schema)
    if field is None or type(field) is fields.Raw:
        return "raw", None
    if isinstance(field, fields.List):
        return "list", field.inner
    if isinstance(field, fields.Tuple):
        return "list", None
    if isinstance(field, fields.Dict):  # Dict is a Mapping field
        return "dict", (field.key_field, field.value_field)
    if isinstance(field, fields.Nested):
        if field.many:
            return "list", _Element(field)
        return "schema", _load_fields(field.schema)
    return "leaf", None


def _load_fields(schema: marshmallow.Schema) -> dict[str, fields.Field]:
    return {f.data_key or name: f for name, f in schema.load_fields.items()}


def problems(data: Mapping, schema: marshmallow.Schema) -> dict:
    """Marshmallow-shaped error messages for whatever in ``data`` no field may hold (empty: none).

    Walks iteratively (a deep body cannot exhaust the stack); keys the schema does not declare are
    left to the schema itself (it refuses unknown fields).
    """
    errors: dict = {}

    def report(path: tuple, message: str) -> None:
        node = errors
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                return
        node.setdefault(path[-1], [])
        if isinstance(node[path[-1]], list):
            node[path[-1]].append(message)

    declared = _load_fields(schema)
    # (value, field or None for untyped, path, levels of nesting still allowed)
    stack: list[tuple[Any, fields.Field | None, tuple, int]] = []
    for key in data:
        if key in declared:
            stack.append((data[key], declared[key], (key,), _depth(declared[key])))
    while stack:
        value, field, path, depth_left = stack.pop()
        if isinstance(value, str):
            problem = text_problem(value, _is_free_text(field))
            if problem is None and isinstance(field, fields.Integer):
                problem = _integer_problem(value.strip())
            if problem:
                report(path, problem)
        elif isinstance(value, bool) or value is None:
            continue
        elif isinstance(value, int):
            if not INT64_MIN <= value <= INT64_MAX:
                report(path, "must be an integer between -2^63 and 2^63-1")
        elif isinstance(value, float):
            if not math.isfinite(value):
                report(path, "must be a finite number")
        elif isinstance(value, (list, tuple, Mapping)):
            kind, inner = _children(field)
            if depth_left <= 0:
                report(path, "is nested deeper than this field allows")
                continue
            if isinstance(value, Mapping):
                if kind == "schema":
                    for key in value:
                        if key in inner:
                            stack.append((value[key], inner[key], path + (key,), depth_left - 1))
                    continue
                key_field, value_field = inner if kind == "dict" else (None, None)
                for key in value:
                    problem = key_problem(key)
                    if problem:
                        report(path, problem)
                        continue
                    stack.append((value[key], value_field, path + (key,), depth_left - 1))
            else:
                limit = max(MAX_ITEMS, (_max_length(field) or 0) if isinstance(field, fields.Field) else 0)
                if len(value) > limit:
                    report(path, f"must not hold more than {limit} items")
                    continue
                element = inner if kind == "list" else None
                for index, item in enumerate(value):
                    stack.append((item, element, path + (index,), depth_left - 1))
    return errors


def _integer_problem(text: str) -> str | None:
    try:
        number = int(text)
    except ValueError:
        return None  # not an integer at all: the field says so itself
    if INT64_MIN <= number <= INT64_MAX:
        return None
    return "must be an integer between -2^63 and 2^63-1"


def _depth(field: fields.Field | None, seen: frozenset = frozenset()) -> int:
    """How many levels of arrays/objects ``field`` may hold below itself."""
    kind, inner = _children(field)
    if kind == "raw":
        return RAW_DEPTH
    if kind == "list":
        return 1 + (_depth(inner, seen) if inner is not None else RAW_DEPTH)
    if kind == "dict":
        return 1 + _depth(inner[1], seen)
    if kind == "schema":
        schema_type = type(field.nested.schema if isinstance(field, _Element) else field.schema)
        if schema_type in seen:  # a recursive schema: bounded by the untyped allowance
            return RAW_DEPTH
        return 1 + max((_depth(f, seen | {schema_type}) for f in inner.values()), default=0)
    return 0


class Schema(marshmallow.Schema):
    """Base class of every request schema (import it instead of marshmallow's ``Schema``).

    Before the fields are loaded, refuses control characters (``\\t \\n \\r`` allowed in free
    text), lone surrogates, integers beyond 64 bits, non-finite numbers, nesting deeper than the
    fields declare, arrays longer than ``MAX_ITEMS`` (or the field's own larger maximum) and keys
    that are not plain one-line text: 422 with an error per offending field.
    """

    @pre_load
    def _refuse_what_breaks_outputs(self, data, **_kwargs):
        if isinstance(data, Mapping):
            found = problems(data, self)
            if found:
                raise ValidationError(found)
        return data
