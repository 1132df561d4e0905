"""The operations endpoints on the web adapter: ``/ready`` and ``/metrics`` (``/health`` is supervision's).

``/ready`` says whether this process can work
(the database answers and every platform connection is up: 503 with what is
down otherwise); ``/metrics`` is the Prometheus text format. The request policy
lets ``/health`` and ``/ready`` answer any Host (probes arrive by pod or host
address); ``/metrics`` follows the usual Host rule, so scrape it by the
configured address or list the scraper's name in ``allowed_hosts``.
"""

from __future__ import annotations

from aiohttp import web

from adapters.prometheus import PrometheusMetrics
from bot.operations import Operations


class OperationsRoutes:
    """Handlers for the probes of one Agora (``operations`` is None for an adapter built alone)."""

    def __init__(self, operations: Operations | None) -> None:
        self.operations = operations

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/ready", self.ready),
            web.get("/metrics", self.metrics),
        ]

    async def ready(self, request: web.Request) -> web.Response:
        if self.operations is None:
            return web.json_response({"ready": True, "database": "up", "connections": {}, "down": []})
        readiness = self.operations.readiness()
        return web.json_response(readiness.as_json(), status=200 if readiness.ready else 503)

    async def metrics(self, request: web.Request) -> web.Response:
        metrics = self.operations.metrics if self.operations is not None else None
        if not isinstance(metrics, PrometheusMetrics):
            raise web.HTTPNotFound(text="metrics are off: install prometheus-client")
        body = metrics.exposition(self.operations)
        return web.Response(body=body, headers={"Content-Type": metrics.content_type})
