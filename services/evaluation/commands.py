"""The monev commands: what a caller asks of an evaluation, as types (pure Python).

Each command is built by its schema's ``post_load`` (services/evaluation/schemas.py) and handled
by the ``EvaluationHandlers`` method of the same verb, which calls the ``Evaluation`` method of
that verb. Who asks (role, OPD) travels beside the command in the ``CommandContext``; a command
on an existing evaluation names it and, from ``If-Match``, the version the caller saw (None:
whatever is current).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Mapping


@dataclass(frozen=True, kw_only=True)
class EvaluationCommand:
    """A command on one existing evaluation; the route addresses it (path id, If-Match version)."""

    evaluation_id: str = ""
    expected_version: int | None = None

    def addressed(self, evaluation_id: str, expected_version: int | None):
        """This command aimed at ``evaluation_id`` as the caller saw it at ``expected_version``."""
        return replace(self, evaluation_id=evaluation_id, expected_version=expected_version)


@dataclass(frozen=True)
class ScheduleEvaluation:
    """Plan an evaluation of a signed agreement for a period, with the current rubric."""

    agreement_id: str
    period: str
    year: int
    due_date: date
    assessor_kind: str


@dataclass(frozen=True)
class SaveAnswers(EvaluationCommand):
    """Merge draft answers (indicator id → answer; None clears one)."""

    answers: Mapping[str, Any]


@dataclass(frozen=True)
class SubmitEvaluation(EvaluationCommand):
    """Hand in the answers for review."""


@dataclass(frozen=True)
class ReturnForRevision(EvaluationCommand):
    """Send a submission back to its assessor, saying why."""

    reason: str


@dataclass(frozen=True)
class FinalizeEvaluation(EvaluationCommand):
    """Score the submission and record the result for good."""


@dataclass(frozen=True)
class CancelEvaluation(EvaluationCommand):
    """Call a scheduled or in-progress evaluation off, saying why."""

    reason: str
