"""The partners service: registry of cooperation partners (Mitra)."""
from services.partners.bootstrap import create_app  # noqa: F401
