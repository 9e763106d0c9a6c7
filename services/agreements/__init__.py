"""The agreements service: cooperation agreements from draft to expiry."""
from services.agreements.bootstrap import create_app  # noqa: F401
