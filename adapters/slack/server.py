"""Agora's own HTTP endpoint for Slack in HTTP mode (events, commands, shortcuts, OAuth).

Bolt's bundled server blocks in ``web.run_app``; this one runs inside Agora's
event loop beside the other adapters. Every POST goes through Bolt's dispatch,
whose request verification rejects bad signatures and timestamps more than
five minutes off with a 401 before any listener runs. Behind a reverse proxy,
point Slack's request URLs at ``http_path`` on this server.

Before Bolt sees a request, this server answers what Bolt would turn into a
500: a ``X-Slack-Request-Timestamp`` that is not an integer gets 400; an
unsigned request 401 (checked here first, so nothing unsigned is parsed); a
signed body that is not the JSON or form Slack sends gets 400.
"""

from __future__ import annotations

import logging

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.request.internals import parse_body
from slack_sdk.signature import SignatureVerifier

from adapters.slack.settings import PREFIX, SlackSettings
from bot.errors import ConfigError

log = logging.getLogger(__name__)


class HttpServer:
    """An aiohttp site serving one Bolt app."""

    def __init__(self, app: AsyncApp, settings: SlackSettings, signing_secret: str) -> None:
        self.app = app
        self.settings = settings
        self._verifier = SignatureVerifier(signing_secret)
        self._runner: web.AppRunner | None = None

    def routes(self) -> web.Application:
        web_app = web.Application()
        web_app.router.add_post(self.settings.http_path, self._dispatch)
        flow = self.app.oauth_flow
        if flow is not None:
            web_app.router.add_get(flow.install_path, self._install)
            web_app.router.add_get(flow.redirect_uri_path, self._callback)
        return web_app

    async def start(self) -> int:
        """Listen; returns the bound port (``http_port = 0`` picks a free one)."""
        runner = web.AppRunner(self.routes(), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.settings.http_host, self.settings.http_port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            where = f"{self.settings.http_host}:{self.settings.http_port}"
            raise ConfigError(f"{PREFIX}.http_port: cannot listen on {where}: {exc.strerror}") from exc
        self._runner = runner
        port = int(runner.addresses[0][1])
        log.info("slack: HTTP mode listening on %s:%d%s", self.settings.http_host, port, self.settings.http_path)
        return port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _dispatch(self, request: web.Request) -> web.Response:
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
            return _refuse(400, "X-Slack-Request-Timestamp must be an integer")
        raw = await request.read()
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            return _refuse(400, "the body is not UTF-8")
        if not self._verifier.is_valid(body, timestamp, request.headers.get("X-Slack-Signature", "")):
            return _refuse(401, "invalid request")
        try:
            if not isinstance(parse_body(body, request.content_type), dict):
                return _refuse(400, "the body is not a Slack payload")
            bolt_request: AsyncBoltRequest = await to_bolt_request(request)
        except (ValueError, TypeError, AttributeError, KeyError, IndexError) as exc:
            log.warning("slack: signed but malformed request refused: %s", type(exc).__name__)
            return _refuse(400, "the body is not a Slack payload")
        return await to_aiohttp_response(await self.app.async_dispatch(bolt_request))

    async def _install(self, request: web.Request) -> web.Response:
        flow = self.app.oauth_flow
        if flow is None:
            return web.Response(status=404)
        return await to_aiohttp_response(await flow.handle_installation(await to_bolt_request(request)))

    async def _callback(self, request: web.Request) -> web.Response:
        flow = self.app.oauth_flow
        if flow is None:
            return web.Response(status=404)
        return await to_aiohttp_response(await flow.handle_callback(await to_bolt_request(request)))


def _refuse(status: int, reason: str) -> web.Response:
    return web.Response(status=status, text=reason)
