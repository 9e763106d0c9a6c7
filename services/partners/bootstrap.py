"""Composition root of the partners service: the one place that builds its adapters from settings.

The API (``services.partners.app``) and the relay worker (``services.partners.workers``) both
start from ``build(settings)``; views reach the container through ``current()``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from shared.application import Repository
from shared.config import Settings
from shared.http import current_container
from shared.service import ServiceContainer
from shared.uniqueness import MongoUniqueKeys

from services.partners.domain import Partner
from services.partners.handlers import PartnerHandlers

SERVICE = "partners"


@dataclass
class Container(ServiceContainer):
    """Everything the partners service's API and workers use, built once per process."""

    service: ClassVar[str] = SERVICE
    handlers: PartnerHandlers


def build(settings: Settings) -> Container:
    settings, client, clock, store = Container.core(settings)
    db = client[settings.database(SERVICE)]
    handlers = PartnerHandlers(Repository(store, Partner, clock), MongoUniqueKeys(db))
    return Container(settings, client, clock, store, handlers)


def current() -> Container:
    """The container of the app serving this request (the views' typed accessor)."""
    return current_container(Container)
