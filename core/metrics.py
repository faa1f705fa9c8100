"""Prometheus metrics: `/metrics` of the web process, behind a bearer token when `METRICS_TOKEN`
is set, and the scrape-time collectors that read fleet-wide facts from Redis and PostgreSQL.

Counters and histograms are counted where the work happens (any web or worker process) and
written to `PROMETHEUS_MULTIPROC_DIR`; the exposition merges that directory (here for the web,
`core.worker_metrics` for a worker host). Facts that belong to the fleet rather than to a
process — queue lengths, the beat leader's last tick, owners' import lag — are read once per
scrape of the web's `/metrics` by the collectors registered with `register_collector()`. Every
web host reports the same fleet values, so dashboards and alerts take `max()` over them.
"""

from __future__ import annotations

import hmac
import logging
import os
from collections.abc import Callable, Iterable, Iterator

import prometheus_client
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from core.redis import get_redis

logger = logging.getLogger(__name__)

ScrapeCollector = Callable[[], Iterable[Metric]]
_collectors: dict[str, ScrapeCollector] = {}

# Written by the beat leader on every tick (core.scheduler), read at scrape time.
BEAT_TICK_KEY = "vk:beat:tick"
# kombu's Redis transport keeps a queue's messages of priority p > 0 under `<queue>\x06\x16<p>`.
_PRIORITY_SEP = "\x06\x16"
_PRIORITY_STEPS = (3, 6, 9)


def register_collector(name: str, collect: ScrapeCollector) -> None:
    """Have `collect()` (metric families read from PostgreSQL or Redis) run at every scrape of
    the web's `/metrics`; one failing is logged and reported as `vendkiosk_collector_up 0`
    without spoiling the rest of the page."""
    _collectors[name] = collect


class _FleetCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "vendkiosk_collector_up",
            "1 when the scrape-time collector read its source, 0 when it failed",
            labels=["collector"],
        )
        for name in sorted(_collectors):
            try:
                families = list(_collectors[name]())
            except Exception:
                logger.exception("metrics collector %s failed", name)
                up.add_metric([name], 0)
                continue
            up.add_metric([name], 1)
            yield from families
        yield up


def process_registry() -> prometheus_client.CollectorRegistry:
    """The samples of every process of this host: merged from the multiprocess directory when
    it is set, else this process's own registry."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = prometheus_client.CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return prometheus_client.REGISTRY


def token_ok(authorization: str) -> bool:
    """Whether an `Authorization` header carries `METRICS_TOKEN` (always, when none is set)."""
    expected = settings.METRICS_TOKEN
    if not expected:
        return True
    given = authorization.removeprefix("Bearer ").strip()
    return hmac.compare_digest(given.encode(), expected.encode())


def metrics(request: HttpRequest) -> HttpResponse:
    if not token_ok(request.headers.get("Authorization", "")):
        refusal = HttpResponse("metrics token required\n", status=401, content_type="text/plain")
        refusal["WWW-Authenticate"] = "Bearer"
        return refusal
    page = prometheus_client.generate_latest(process_registry())
    page += prometheus_client.generate_latest(_FLEET_REGISTRY)
    return HttpResponse(page, content_type=prometheus_client.CONTENT_TYPE_LATEST)


# --- the collectors of core: Celery queues and the beat leader ---------------------------------


def queue_names() -> list[str]:
    return [queue.name for queue in settings.CELERY_TASK_QUEUES]


def collect_celery() -> Iterator[Metric]:
    """Messages waiting in each Celery queue (all priorities) and the beat leader's last tick."""
    client = get_redis()
    names = queue_names()
    with client.pipeline(transaction=False) as pipe:
        for name in names:
            pipe.llen(name)
            for step in _PRIORITY_STEPS:
                pipe.llen(f"{name}{_PRIORITY_SEP}{step}")
        pipe.get(BEAT_TICK_KEY)
        answers = pipe.execute()
    lengths = GaugeMetricFamily(
        "celery_queue_length", "Messages waiting in the Celery queue", labels=["queue"]
    )
    per_queue = 1 + len(_PRIORITY_STEPS)
    for index, name in enumerate(names):
        lengths.add_metric([name], sum(answers[index * per_queue : (index + 1) * per_queue]))
    yield lengths
    tick = answers[-1]
    if tick is not None:
        yield GaugeMetricFamily(
            "celery_beat_last_tick_timestamp_seconds",
            "Unix time of the beat leader's last tick (absent: no beat has ticked)",
            value=float(tick),
        )


_FLEET_REGISTRY = prometheus_client.CollectorRegistry(auto_describe=False)
_FLEET_REGISTRY.register(_FleetCollector())
register_collector("celery", collect_celery)
