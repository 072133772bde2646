"""The runtime (``ctx``): settings, configuration and adapters, one per execution environment.

:meth:`Runtime.from_env` builds it once per execution environment. For each
object, :meth:`Runtime.for_object` returns a copy that also names the matched
route, the object's ledger id, the deadline and a logger; that copy is what a
processor receives as ``ctx``:

=======================  ==========================================================
``ctx.route``            the matched :class:`~ferry.config.Route` (``ctx.route.get("schema")``)
``ctx.config``           the whole :class:`~ferry.config.Config` (schemas, datasets, limits)
``ctx.limits``           shortcut for ``ctx.config.limits``
``ctx.settings``         :class:`~ferry.settings.Settings` (table and bucket names)
``ctx.s3``               :class:`~ferry.aws.S3`: ``stream``, ``read``, ``read_range``, ``put``
``ctx.failed``           :class:`~ferry.rejects.FailedBucket`: the only writer of the failed bucket
``ctx.dynamodb``         :class:`~ferry.aws.DynamoDB`: ``put_item``, ``batch_write``
``ctx.db``               PostgreSQL connection factory (:func:`ferry.db.connect`)
``ctx.ledger``           the job :class:`~ferry.ledger.Ledger`
``ctx.ledger_id``        this object version's ledger id (``ref.ledger_id``)
``ctx.now()``            the clock: an aware UTC datetime (fixed in tests)
``ctx.remaining_ms()``   milliseconds left before the function's deadline
``ctx.log``              the structured logger (every line carries key and ledger id)
``ctx.metrics``          :class:`~ferry.obs.Metrics` (EMF)
``ctx.events``           :class:`~ferry.events.Publisher` or None (file events off)
``ctx.container_lane``   :class:`~ferry.lanes.ContainerLane` (``FERRY_STATE_MACHINE_ARN``) or None
=======================  ==========================================================
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ferry import events as file_events
from ferry import obs
from ferry.aws import S3, DynamoDB
from ferry.config import Config, Limits, Route, load_config
from ferry.db import connect as connect_postgres
from ferry.lanes import ContainerLane
from ferry.ledger import Ledger
from ferry.model import ObjectRef
from ferry.rejects import FailedBucket
from ferry.settings import Settings

DEFAULT_REMAINING_MS = 900_000

#: ``ctx.route`` before :meth:`Runtime.for_object` has named the matched route.
UNROUTED = Route(name="(no route)", prefix="", suffix="", processor="router")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(slots=True)
class Runtime:
    settings: Settings
    config: Config
    s3: S3
    dynamodb: DynamoDB
    ledger: Ledger
    db: Callable[[], Any] = connect_postgres
    metrics: obs.Metrics = field(default_factory=obs.Metrics)
    clock: Callable[[], dt.datetime] = utc_now
    events: file_events.Publisher | None = None  # FERRY_EVENT_BUS; None: no file events
    container_lane: ContainerLane | None = None
    # Per object (set by for_object):
    route: Route = UNROUTED
    ledger_id: str = ""
    remaining_ms: Callable[[], int] = field(default=lambda: DEFAULT_REMAINING_MS)
    log: logging.Logger | logging.LoggerAdapter[logging.Logger] = field(
        default_factory=lambda: logging.getLogger("ferry")
    )

    @classmethod
    def from_env(cls, settings: Settings | None = None) -> Runtime:
        settings = settings or Settings.from_env()
        obs.setup_logging(settings.log_level)
        config = load_config(
            settings.resolved_config_path(), expected_sha256=settings.expected_config_sha256()
        )
        dynamodb = DynamoDB()
        return cls(
            settings=settings,
            config=config,
            s3=S3(),
            dynamodb=dynamodb,
            ledger=Ledger(
                settings.require("ledger_table"), dynamodb, ttl_days=settings.ledger_ttl_days
            ),
            metrics=obs.Metrics(settings.metrics_namespace, settings.service),
            events=file_events.from_settings(settings),
            container_lane=ContainerLane(
                settings.state_machine_arn, settings.container_lease_seconds * 1000
            )
            if settings.state_machine_arn
            else None,
        )

    def for_object(
        self, ref: ObjectRef, route: Route, remaining_ms: Callable[[], int] | None = None
    ) -> Runtime:
        """The context a processor gets for ``ref`` matched by ``route``."""
        return dataclasses.replace(
            self,
            route=route,
            ledger_id=ref.ledger_id,
            remaining_ms=remaining_ms or self.remaining_ms,
            log=logging.getLogger(f"ferry.processors.{route.processor}"),
        )

    @property
    def limits(self) -> Limits:
        return self.config.limits

    @property
    def failed(self) -> FailedBucket:
        return FailedBucket(self.s3, self.settings.failed_bucket)

    def now(self) -> dt.datetime:
        return self.clock()
