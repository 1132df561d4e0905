"""Who may call the playground, and the headers every answer carries.

Web commands run with manager rights, so a page on another site must not be
able to drive the API from a visitor's browser:

- state-changing calls (POST, PUT, PATCH, DELETE) with a body must be
  ``application/json``: a cross-site form or a "simple" fetch cannot send that
  without a CORS preflight, which this server never grants (415 otherwise);
- an ``Origin`` header, when present, must be the page's own origin (403);
  scripts and curl send none and keep working;
- the ``Host`` header must name this server (its configured host, a loopback
  name or an ``allowed_hosts`` entry, with the bound port), so a DNS-rebinding
  page cannot read the channels or the join code (421); only the operations
  probes ``GET /health`` and ``/ready``, which hold no data, answer any Host;
- with an access token configured, every ``/api/`` call needs
  ``Authorization: Bearer <token>`` (401).

Every response carries a Content-Security-Policy that forbids framing and
inline script, ``nosniff`` and ``no-referrer``.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web
from yarl import URL

from adapters.web.settings import LOOPBACK_NAMES

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PROBES = frozenset({"/health", "/ready"})  # liveness probes arrive by pod or host address; they hold no data
SECURITY_HEADERS = {
    # data: images: the hot-topics chart arrives as a data URL.
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


class RequestPolicy:
    """The checks above for one server; ``port`` is the port actually bound."""

    def __init__(self, host: str, extra_hosts: Iterable[str], token: str, port: Callable[[], int]) -> None:
        self.names = frozenset({host.lower().strip("[]"), *LOOPBACK_NAMES})
        self.extra = frozenset(h.lower() for h in extra_hosts)
        self.token = token
        self.port = port

    def install(self, app: web.Application) -> None:
        app.middlewares.append(self.middleware)
        app.on_response_prepare.append(_add_headers)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        refusal = self.refusal(request)
        if refusal is not None:
            return refusal
        return await handler(request)

    def refusal(self, request: web.Request) -> web.Response | None:
        """The answer refusing ``request``, or None when it may proceed."""
        probe = request.method in ("GET", "HEAD") and request.path in PROBES
        if not probe and not self.host_ok(request.headers.get("Host", "")):
            return _refuse(421, "this server does not answer to that Host name (see adapters.web.allowed_hosts)")
        if self.token and request.path.startswith("/api/") and not self.token_ok(request):
            response = _refuse(
                401,
                "this playground needs its access token: send Authorization: Bearer <token>, "
                "or open the page once as /#token=<token>",
            )
            response.headers["WWW-Authenticate"] = 'Bearer realm="agora"'
            return response
        if request.method in STATE_CHANGING:
            origin = request.headers.get("Origin")
            if origin is not None and origin not in self.own_origins(request):
                return _refuse(403, "requests from other sites are refused")
            if (request.method in ("POST", "PUT", "PATCH") or request.can_read_body) and not _is_json(request):
                return _refuse(415, "send the body as application/json")
        return None

    def host_ok(self, header: str) -> bool:
        if not header or len(header) > 300:
            return False
        if header.lower() in self.extra:
            return True
        try:
            url = URL(f"http://{header}")
        except ValueError:
            return False
        name = (url.raw_host or "").lower().strip("[]")
        port = url.explicit_port if url.explicit_port is not None else 80
        return (name in self.names or name in self.extra) and port == self.port()

    def token_ok(self, request: web.Request) -> bool:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), self.token.encode())

    @staticmethod
    def own_origins(request: web.Request) -> set[str]:
        """The page's own origin: this Host (already checked), over http or behind a TLS proxy."""
        host = request.headers.get("Host", "").lower()
        return {f"http://{host}", f"https://{host}"}


def _is_json(request: web.Request) -> bool:
    return request.content_type.lower() == "application/json"


def _refuse(status: int, message: str) -> web.Response:
    return web.Response(status=status, text=json.dumps({"error": message}), content_type="application/json")


async def _add_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
