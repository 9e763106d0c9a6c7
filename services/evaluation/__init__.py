"""The evaluation service: read models, dashboards, evaluations (monev), audit."""
from services.evaluation.bootstrap import create_app  # noqa: F401
