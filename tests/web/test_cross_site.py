"""A page on another origin, open in the same headless Chromium, cannot post or change anything.

The attacker's page is served by a second loopback server (another port, so
another origin). It tries what the issue's attacker did, and more: "simple"
fetches with text/plain and form-encoded bodies (no preflight needed), a
JSON fetch (needs a preflight, which Agora never grants), PATCH and DELETE,
auto-submitted forms (text/plain crafted to look like JSON, form-encoded),
and framing the playground. Afterwards the database is byte-for-byte the same.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from tests.web.test_browser import WAIT, Server, browser, server  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser

ATTACK = """<!doctype html>
<html><head><title>cute cats</title></head><body>
<iframe name="sink" id="sink"></iframe>
<iframe id="frame" src="__TARGET__/"></iframe>
<form id="plain" method="post" enctype="text/plain" target="sink"
      action="__TARGET__/api/channels/boston/messages">
  <input name='{"user": "Mayor (Boston)", "text": "/agora mode mirror", "x": "' value='"}'>
</form>
<form id="urlencoded" method="post" target="sink" action="__TARGET__/api/channels/boston/messages">
  <input name="user" value="Mayor (Boston)"><input name="text" value="/ask Posted from another site?">
</form>
<script>
const target = "__TARGET__";
const results = {};
const ask = JSON.stringify({user: "Mayor (Boston)", text: "/ask Posted from another site?"});
const mirror = JSON.stringify({user: "Mayor (Boston)", text: "/agora mode mirror"});
async function attempt(name, path, init) {
  try {
    const res = await fetch(target + path, init);
    results[name] = "answered " + res.type + " " + res.status;
  } catch (e) {
    results[name] = "blocked " + e.name;
  }
}
function submitted(form) {
  return new Promise((resolve) => {
    const sink = document.getElementById("sink");
    sink.addEventListener("load", () => resolve(), {once: true});
    document.getElementById(form).submit();
  });
}
(async () => {
  const messages = "/api/channels/boston/messages";
  await attempt("text/plain ask", messages,
    {method: "POST", mode: "no-cors", headers: {"Content-Type": "text/plain"}, body: ask});
  await attempt("text/plain mirror", messages,
    {method: "POST", mode: "no-cors", headers: {"Content-Type": "text/plain"}, body: mirror});
  await attempt("form-encoded", messages,
    {method: "POST", mode: "no-cors", body: new URLSearchParams({user: "Mayor", text: "/agora mode mirror"})});
  await attempt("json", messages,
    {method: "POST", headers: {"Content-Type": "application/json"}, body: mirror});
  await attempt("json no-cors", messages,
    {method: "POST", mode: "no-cors", headers: {"Content-Type": "application/json"}, body: mirror});
  await attempt("patch", messages + "/1",
    {method: "PATCH", headers: {"Content-Type": "application/json"}, body: JSON.stringify({text: "x"})});
  await attempt("delete", messages + "/1", {method: "DELETE"});
  await attempt("read channels", "/api/channels", {});
  await submitted("plain");
  await submitted("urlencoded");
  window.attackResults = results;
})();
</script>
</body></html>
"""


class AttackerSite:
    """A loopback server on a port of its own, serving the attacker's page."""

    def __init__(self, target: str) -> None:
        page = ATTACK.replace("__TARGET__", target.rstrip("/")).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://localhost:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> AttackerSite:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def attacker(server: Server) -> Iterator[AttackerSite]:  # noqa: F811 - the imported fixture
    with AttackerSite(server.url) as site:
        yield site


def database(srv: Server) -> str:
    """Everything the bot stored, read through a second connection."""
    db = sqlite3.connect(f"file:{Path(srv.config.database)}?mode=ro", uri=True, timeout=10)
    try:
        return "\n".join(db.iterdump())
    finally:
        db.close()


def test_a_page_on_another_origin_cannot_post_or_change_anything(
    server: Server,  # noqa: F811 - the imported fixture
    browser: WebDriver,  # noqa: F811 - the imported fixture
    attacker: AttackerSite,
) -> None:
    before = database(server)
    assert "mirror" not in before

    browser.get(attacker.url)
    results: dict[str, str] = WebDriverWait(browser, WAIT).until(
        lambda d: d.execute_script("return window.attackResults || null"), message="the attack page to finish"
    )

    # Every write attempt either never left the browser or was refused; nothing could be read.
    assert results["json"] == "blocked TypeError", results  # the preflight is never granted
    assert results["patch"] == "blocked TypeError" and results["read channels"] == "blocked TypeError", results
    assert database(server) == before, json.dumps(results)

    # The same browser on the playground itself still works (its own origin).
    browser.get(server.url)
    status = browser.execute_async_script(
        """const done = arguments[arguments.length - 1];
        fetch("/api/channels/boston/messages", {method: "POST", headers: {"Content-Type": "application/json"},
          body: JSON.stringify({user: "Ana", text: "from the page itself"})}).then(r => done(r.status));"""
    )
    assert status == 201
    assert "from the page itself" in database(server)
