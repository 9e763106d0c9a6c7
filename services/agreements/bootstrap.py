"""Composition root of the agreements service: the one place that builds its adapters from settings.

The API (``services.agreements.app``) and every worker (``services.agreements.workers``) start
from ``build(settings)``; views reach the container through ``current()``.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import ClassVar

from shared.application import Repository
from shared.config import Settings
from shared.http import current_container
from shared.service import ServiceContainer

from services.agreements.domain import Agreement
from services.agreements.evaluation_replica import ReplicaEvaluationDirectory
from services.agreements.extension_index import MongoExtensionIndex
from services.agreements.files import GridFSAttachmentStore
from services.agreements.handlers import AgreementHandlers
from services.agreements.partner_replica import ReplicaPartnerDirectory

SERVICE = "agreements"


@dataclass
class Container(ServiceContainer):
    """Everything the agreements service's API and workers use, built once per process (its ``db``
    also holds the GridFS files, the partner and evaluation replicas and the extension index)."""

    service: ClassVar[str] = SERVICE
    handlers: AgreementHandlers


def build(settings: Settings) -> Container:
    settings, client, clock, store = Container.core(settings)
    db = client[settings.database(SERVICE)]
    handlers = AgreementHandlers(Repository(store, Agreement, clock), ReplicaPartnerDirectory(db),
                                 GridFSAttachmentStore(db, settings.max_upload_bytes), clock, settings.timezone,
                                 evaluations=ReplicaEvaluationDirectory(db),
                                 extensions=MongoExtensionIndex(db),
                                 upload_ttl=timedelta(hours=settings.upload_ttl_hours),
                                 max_pending_uploads=settings.max_pending_uploads)
    return Container(settings, client, clock, store, handlers)


def current() -> Container:
    """The container of the app serving this request (the views' typed accessor)."""
    return current_container(Container)
