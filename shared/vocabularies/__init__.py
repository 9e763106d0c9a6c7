"""Controlled vocabularies shared by every service: urusan, the region's OPDs, termination reasons,
funding sources and the region table with its borders (ISSUE 11 point 9).

They are data, not code: versioned JSON files beside this module, each naming its legal source
(like the evaluation rubric). ``manifest.json`` holds the one version of the whole set. A region
other than Kabupaten Muaro Jambi, or a newer list, replaces files by name from a directory
(``JALIN_VOCABULARY_DIR``, ``Settings.vocabulary_dir``) and raises the version there.

Usage::

    vocab = load(settings.vocabulary_dir)          # or default() for the packaged set
    vocab.urusan.has("kesehatan"); vocab.opd.name("DINKES"); vocab.borders("15.05", "15.71")

The agreements domain checks commands against them (named rules ``unknown_urusan``,
``unknown_opd``, ``unknown_funding_source``, ``unknown_termination_reason``,
``ksdd_wajib_requires_neighbour``); the read side shows their names; ``GET /api/v1/vocabularies``
serves them. Pure Python (json, pathlib): the domain may import it.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping

PACKAGED_DIR = Path(__file__).resolve().parent
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Vocabulary:
    """One list of codes with names (and any further attributes per item), plus its legal source."""

    name: str
    source: str
    items: tuple[Mapping[str, Any], ...]
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        codes = [item["code"] for item in self.items]
        if len(codes) != len(set(codes)):
            raise ValueError(f"vocabulary {self.name} has duplicate codes")

    @property
    def codes(self) -> frozenset[str]:
        """Every code of this vocabulary."""
        return frozenset(item["code"] for item in self.items)

    def has(self, code: Any) -> bool:
        """Whether ``code`` is one of this vocabulary's codes."""
        return isinstance(code, str) and code in self.codes

    def get(self, code: str) -> Mapping[str, Any] | None:
        """The item with ``code`` (None when unknown)."""
        return next((item for item in self.items if item["code"] == code), None)

    def name_of(self, code: str) -> str:
        """The display name of ``code``; an unknown code (an older event, another region) shows as itself."""
        item = self.get(code)
        return item["name"] if item else code

    def unknown(self, codes: Iterable[Any]) -> list[Any]:
        """The values of ``codes`` that are not codes of this vocabulary, in order."""
        return [c for c in codes if not self.has(c)]

    def as_dict(self) -> dict:
        """The JSON form served by the API (the file's content)."""
        return {**self.meta, "vocabulary": self.name, "source": self.source, "items": [dict(i) for i in self.items]}


@dataclass(frozen=True)
class Vocabularies:
    """The whole set, with its one ``version``."""

    version: str
    urusan: Vocabulary
    opd: Vocabulary
    termination_reasons: Vocabulary
    funding_sources: Vocabulary
    regions: Vocabulary

    @property
    def region_code(self) -> str:
        """The configured region's Kemendagri code (the one the OPD catalogue belongs to)."""
        return self.opd.meta["region_code"]

    def borders(self, a: str, b: str) -> bool:
        """Whether regions ``a`` and ``b`` border each other (the table is symmetric)."""
        return (a, b) in self._border_pairs or (b, a) in self._border_pairs

    @property
    def _border_pairs(self) -> frozenset[tuple[str, str]]:
        return frozenset(tuple(pair) for pair in self.regions.meta.get("borders", ()))

    def neighbours(self, code: str | None = None) -> list[str]:
        """The regions bordering ``code`` (default: the configured region), sorted."""
        code = code or self.region_code
        return sorted({b for a, b in self._border_pairs if a == code} | {a for a, b in self._border_pairs if b == code})

    def charges_region(self, funding_source: str) -> bool:
        """Whether money of this source comes from the region's own budget (APBD)."""
        item = self.funding_sources.get(funding_source)
        return bool(item and item.get("charges_region"))

    def as_dict(self) -> dict:
        """Every vocabulary by name, with the set's version (``GET /api/v1/vocabularies``)."""
        return {"version": self.version, "region_code": self.region_code,
                **{name: getattr(self, name).as_dict() for name in NAMES}}


NAMES = ("urusan", "opd", "termination_reasons", "funding_sources", "regions")


def _read(directory: Path | None, filename: str) -> dict:
    """``filename`` from ``directory`` when it has one, else the packaged file."""
    if directory is not None and (directory / filename).is_file():
        path = directory / filename
    else:
        path = PACKAGED_DIR / filename
    return json.loads(path.read_text(encoding="utf-8"))


def load(directory: str = "") -> Vocabularies:
    """The packaged vocabularies, each file (and the manifest) replaced by one of the same name in
    ``directory`` when present. Raises ``ValueError`` on a malformed file (a region's OPD catalogue
    must name its region, every border must join two listed regions)."""
    override = Path(directory) if directory else None
    manifest = _read(override, MANIFEST)
    lists = {}
    for name in NAMES:
        data = _read(override, manifest["files"][name])
        meta = {k: v for k, v in data.items() if k not in ("vocabulary", "source", "items")}
        lists[name] = Vocabulary(name, data["source"], tuple(data["items"]), meta)
    vocab = Vocabularies(version=str(manifest["version"]), **lists)
    if "region_code" not in vocab.opd.meta:
        raise ValueError("the OPD catalogue must name its region_code")
    for a, b in vocab.regions.meta.get("borders", ()):
        if not (vocab.regions.has(a) and vocab.regions.has(b)):
            raise ValueError(f"border {a}–{b} names a region missing from the region table")
    for item in vocab.opd.items:
        if item.get("parent") and not vocab.opd.has(item["parent"]):
            raise ValueError(f"OPD {item['code']} names an unknown parent {item['parent']}")
    return vocab


@lru_cache(maxsize=1)
def default() -> Vocabularies:
    """The configured set, loaded once per process: ``JALIN_VOCABULARY_DIR`` over the packaged files
    (Kabupaten Muaro Jambi). Services load theirs from ``Settings.vocabulary_dir`` (the same variable);
    this is for code without settings at hand (pure domain defaults, export formatting)."""
    return load(os.environ.get("JALIN_VOCABULARY_DIR", ""))
