"""Composition root of the evaluation service (read side + evaluations).

Two kinds of database: ``<prefix>_evaluation`` holds the service's own event store (evaluations)
and operational state; the live read-model database (named by the pointer in
``read_model_pointer.py``) holds the disposable read models the projector builds from all three
topics (a rebuild replays into a fresh one and switches the pointer).

The API (``services.evaluation.app``), the workers (``services.evaluation.workers``) and
``jalin replay`` all start from ``build(settings)``; views reach the container through ``current()``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import ClassVar

from pymongo.database import Database

from shared.application import Repository
from shared.config import Settings
from shared.consumer import ConsumerRunner
from shared.http import current_container
from shared.kafka import KafkaPublisher
from shared.metrics import Metrics
from shared.service import ServiceContainer
from shared.streams import HttpStreamSource
from shared.vocabularies import Vocabularies, default as default_vocabularies, load as load_vocabularies
from shared.vocabularies.funding import agreement_upcasters
from shared.uniqueness import MongoUniqueKeys

from services.evaluation.agreement_register import AgreementRegister, MongoAgreementRegister
from services.evaluation.domain import Evaluation
from services.evaluation.handlers import EvaluationHandlers
from services.evaluation.projections.agreement_rows import AgreementRows
from services.evaluation.projections.agreements import AgreementsProjection
from services.evaluation.projections.evaluations import EvaluationsProjection, FeedProjection
from services.evaluation.projections.partners import PartnersProjection
from services.evaluation.projections.statistics import StatisticsProjection
from services.evaluation.read_model_pointer import CONSUMER, ReadModelPointer
from services.evaluation.rubric_catalog import RubricCatalog

SERVICE = "evaluation"
SOURCE_SERVICES = ("partners", "agreements", "evaluation")


def projections():
    """Every projection the evaluation projector maintains (the register rows are rebuilt from the
    agreement documents the agreements and evaluations projections touch)."""
    rows = AgreementRows()
    return [PartnersProjection(), AgreementsProjection(rows), EvaluationsProjection(rows), FeedProjection(),
            StatisticsProjection()]


@dataclass
class Container(ServiceContainer):
    """Everything the evaluation service's API, workers and rebuild use, built once per process (its
    ``db`` also holds the read-model pointer; the read models live in ``read_db()``)."""

    service: ClassVar[str] = SERVICE
    read_model: ReadModelPointer
    rubrics: RubricCatalog
    agreements: AgreementRegister
    handlers: EvaluationHandlers
    vocabularies: Vocabularies = field(default_factory=default_vocabularies)

    def read_db(self) -> Database:
        """The live read-model database (follows the pointer, so a rebuild's switch is seen)."""
        return self.read_model.db()

    def today(self) -> date:
        """Today in the region's time zone, from the server clock."""
        return self.clock.today(self.settings.timezone)

    @property
    def source_topics(self) -> list[str]:
        """The topics the projector reads: every service's events."""
        return [self.settings.topic(s) for s in SOURCE_SERVICES]

    @property
    def dlq_topic(self) -> str:
        return f"{self.settings.prefix}.{CONSUMER}.dlq"

    def projector_runner(self, db: Database, metrics: Metrics | None = None, only=None) -> ConsumerRunner:
        """The projector's runner over ``db`` (``only``: names of the projections to run, default all)."""
        chosen = [p for p in projections() if not only or p.name in only]
        # Agreement events written before funding sources are lifted like the agreements service does.
        return ConsumerRunner(CONSUMER, db, chosen, source=HttpStreamSource(self.settings), metrics=metrics,
                              upcasters=agreement_upcasters(),
                              dlq=KafkaPublisher(self.settings), dlq_topic=self.dlq_topic,
                              max_attempts=self.settings.consumer_max_attempts)


def build(settings: Settings) -> Container:
    settings, client, clock, store = Container.core(settings)
    readside = ReadModelPointer(client, settings)
    rubrics = RubricCatalog.load(settings.rubric_dir)
    agreements = MongoAgreementRegister(readside.db)
    handlers = EvaluationHandlers(Repository(store, Evaluation, clock), rubrics, agreements, clock, settings.timezone,
                                  unique_keys=MongoUniqueKeys(client[settings.database(SERVICE)]))
    return Container(settings, client, clock, store, readside, rubrics, agreements, handlers,
                     load_vocabularies(settings.vocabulary_dir))


def current() -> Container:
    """The container of the app serving this request (the views' typed accessor)."""
    return current_container(Container)
