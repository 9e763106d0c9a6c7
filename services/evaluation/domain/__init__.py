"""Pure domain of monev (monitoring & evaluasi): the rubric, scoring and the Evaluation aggregate."""
from .evaluation import (
    ASSESSOR_KERJASAMA,
    ASSESSOR_KINDS,
    ASSESSOR_OPD,
    ASSESSOR_TKKSD,
    EVALUATION_ANSWERS_SAVED,
    EVALUATION_CANCELLED,
    EVALUATION_FINALIZED,
    EVALUATION_RETURNED,
    EVALUATION_SCHEDULED,
    EVALUATION_SUBMITTED,
    EVENT_TYPES,
    PERIODS,
    STREAM_TYPE,
    Evaluation,
    Status,
    check_answers,
    is_valid_stream_id,
    missing_answers,
    new_stream_id,
)
from .rubric import (
    CHOICE,
    DEFAULT_RATING_THRESHOLDS,
    DEFAULT_SCALE_SCORES,
    INDICATOR_KINDS,
    REFS,
    SCALE3,
    SCALE4,
    TEXT,
    Group,
    Indicator,
    Option,
    Rubric,
    RubricError,
)
from .scoring import NothingToScore, ScoreResult, rate, round_score, score

__all__ = [
    "ASSESSOR_KERJASAMA", "ASSESSOR_KINDS", "ASSESSOR_OPD", "ASSESSOR_TKKSD",
    "EVALUATION_ANSWERS_SAVED", "EVALUATION_CANCELLED", "EVALUATION_FINALIZED", "EVALUATION_RETURNED",
    "EVALUATION_SCHEDULED", "EVALUATION_SUBMITTED", "EVENT_TYPES", "PERIODS", "STREAM_TYPE",
    "Evaluation", "Status", "check_answers", "is_valid_stream_id", "missing_answers", "new_stream_id",
    "CHOICE", "DEFAULT_RATING_THRESHOLDS", "DEFAULT_SCALE_SCORES", "INDICATOR_KINDS", "REFS", "SCALE3",
    "SCALE4", "TEXT", "Group", "Indicator", "Option", "Rubric", "RubricError",
    "NothingToScore", "ScoreResult", "rate", "round_score", "score",
]
