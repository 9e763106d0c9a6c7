"""The rubric catalog: every rubric version ever configured, so evaluations scheduled under an
older version are still answered and scored with it (history is never rewritten).

``domain/rubric.py`` says what a rubric is; this module loads the configured ones from their
JSON files (the default beside it, more from ``JALIN_RUBRIC_DIR``) and finds them by version.
"""
from __future__ import annotations

from pathlib import Path

from shared.domain import DomainError, Refusal

from services.evaluation.domain import Rubric

DEFAULT_FILE = Path(__file__).with_name("rubric_default.json")


class RubricCatalog:
    """Rubrics by ``(rubric_id, rubric_version)``; the newest version of ``current_id`` is current."""

    def __init__(self, rubrics: list[Rubric], current_id: str):
        self._by_key = {(r.rubric_id, r.rubric_version): r for r in rubrics}
        self.current_id = current_id
        if not any(rid == current_id for rid, _ in self._by_key):
            raise ValueError(f"no rubric with id {current_id!r}")

    @classmethod
    def load(cls, directory: str = "") -> "RubricCatalog":
        """The default rubric plus every ``*.json`` in ``directory`` (``JALIN_RUBRIC_DIR``)."""
        files = [DEFAULT_FILE] + (sorted(Path(directory).glob("*.json")) if directory else [])
        rubrics = [Rubric.from_json(f.read_text(encoding="utf-8")) for f in files]
        newest = max(rubrics, key=lambda r: (r.rubric_id == rubrics[-1].rubric_id, r.rubric_version))
        return cls(rubrics, newest.rubric_id)

    @property
    def current(self) -> Rubric:
        return max((r for (rid, _), r in self._by_key.items() if rid == self.current_id),
                   key=lambda r: r.rubric_version)

    def get(self, rubric_id: str, rubric_version: int) -> Rubric:
        try:
            return self._by_key[(rubric_id, rubric_version)]
        except KeyError:
            raise DomainError("rubric_unknown", f"rubric {rubric_id} v{rubric_version} is not configured",
                              kind=Refusal.CONFLICT) from None
