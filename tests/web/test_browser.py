"""The playground page in headless Chromium: ask in Boston, answer from Recife's thread.

Agora runs in-process on a background thread with its own event loop (the
test itself is synchronous, like a person at a browser), with the real web
adapter and the deterministic test translator, so copies read "[es] ...".
"""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import TypeVar

import pytest
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from adapters.web import markup
from bot.app import Agora
from bot.config import Config
from bot.i18n import default_catalog
from bot.richtext import plain
from bot.topics import default_tagger
from testing.translator import MarkingTranslator
from tests.web.conftest import web_config

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1440,1100",
    "--lang=en-US",
)
WAIT = 30.0
SCREENSHOT = Path(__file__).resolve().parents[2] / "artifacts" / "playground.png"
QUESTION = "How do cities run the PIT count for homeless people?"
ANSWER = "Fazemos a contagem em janeiro, com voluntários da prefeitura."
T = TypeVar("T")


class Server:
    """Agora on a thread of its own; ``url`` is the playground once started."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.url = ""
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), name="agora-web", daemon=True)

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(WAIT):
            raise RuntimeError("Agora did not start in time")
        if self._failure is not None:
            raise RuntimeError("Agora did not start") from self._failure

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(WAIT)

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            agora = Agora(self.config, translator=MarkingTranslator())
            await agora.start()
        except BaseException as exc:
            self._failure = exc
            self._ready.set()
            return
        self.url = str(getattr(agora.adapters["web"], "url"))  # noqa: B009 - not on the Adapter protocol
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await agora.stop(grace=1)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(web_config(tmp_path / "agora.db"))
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    if not CHROMIUM.exists() or not Path(CHROMEDRIVER).exists():
        pytest.skip("needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)")
    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()


# ------------------------------------------------------------------ page helpers


def wait_for(driver: WebDriver, find: Callable[[], T | None], what: str) -> T:
    """Poll ``find`` until it returns something; the page re-renders, so stale nodes are retried."""
    waiter = WebDriverWait(driver, WAIT, ignored_exceptions=(StaleElementReferenceException, NoSuchElementException))
    result: T = waiter.until(lambda _d: find() or False, message=f"timed out waiting for {what}")
    return result


def column(driver: WebDriver, cid: str) -> WebElement:
    return driver.find_element(By.CSS_SELECTOR, f'[data-testid="channel-{cid}"]')


def part(node: WebElement, testid: str) -> WebElement:
    """A part of a message's own card (not of the replies in its thread)."""
    return node.find_element(By.CSS_SELECTOR, f':scope > article [data-testid="{testid}"]')


def parts(node: WebElement, testid: str) -> list[WebElement]:
    return node.find_elements(By.CSS_SELECTOR, f':scope > article [data-testid="{testid}"]')


def visible(node: WebElement, css: str) -> WebElement | None:
    """The element under ``node`` matching ``css``, once it is displayed."""
    found = node.find_element(By.CSS_SELECTOR, css)
    return found if found.is_displayed() else None


def message_starting(driver: WebDriver, cid: str, prefix: str, kind: str = "message") -> WebElement | None:
    """The first visible message (or thread reply) in a column whose text starts with ``prefix``."""
    for item in column(driver, cid).find_elements(By.CSS_SELECTOR, f'[data-testid="{kind}"]'):
        body = parts(item, "message-body")
        if body and body[0].is_displayed() and body[0].text.startswith(prefix):
            return item
    return None


def has_replies(root: WebElement, count: int) -> bool:
    return part(root, "reply-count").get_attribute("data-count") == str(count)


def post(driver: WebDriver, cid: str, text: str) -> None:
    col = column(driver, cid)
    box = col.find_element(By.CSS_SELECTOR, '[data-testid="composer-text"]')
    box.clear()
    box.send_keys(text)
    col.find_element(By.CSS_SELECTOR, '[data-testid="send"]').click()


def test_ask_in_boston_answer_from_recife(server: Server, browser: WebDriver) -> None:
    browser.get(server.url)
    wait_for(browser, lambda: browser.find_elements(By.CSS_SELECTOR, '[data-testid^="channel-"] h2'), "the columns")
    cities = [h.text for h in browser.find_elements(By.CSS_SELECTOR, "section.channel h2")]
    assert cities == ["Boston", "Guadalajara", "Recife"]
    langs = [b.text for b in browser.find_elements(By.CSS_SELECTOR, '[data-testid="channel-lang"]')]
    assert langs == ["EN", "ES", "PT"]
    names = [i.get_attribute("value") for i in browser.find_elements(By.CSS_SELECTOR, '[data-testid="user"]')]
    assert names == ["Ana", "Luis", "Rita"]
    # The columns sit side by side on a wide window.
    tops = {column(browser, cid).location["y"] for cid in ("boston", "guadalajara", "recife")}
    assert len(tops) == 1

    # Boston asks; Agora's confirmation shows in Boston's panel.
    post(browser, "boston", f"/ask {QUESTION}")
    panel = column(browser, "boston").find_element(By.CSS_SELECTOR, '[data-testid="command-panel"]')
    wait_for(
        browser,
        lambda: panel.is_displayed() and panel.find_element(By.CSS_SELECTOR, '[data-testid="command-reply"]').text,
        "Boston's reply panel",
    )

    # Guadalajara and Recife get the translated, tagged copy.
    tagger = default_tagger()
    for cid, lang in (("guadalajara", "es"), ("recife", "pt")):
        copy = wait_for(
            browser,
            partial(message_starting, browser, cid, f"[{lang}] {QUESTION}"),
            f"the question in {cid}",
        )
        chips = [c.text for c in parts(copy, "topic-chip")]
        assert chips == [tagger.name("homelessness", lang)]
        assert part(copy, "translated-mark").text == "translated from EN"
        assert part(copy, "author").text.startswith("Ana")
        assert not parts(copy, "untranslated-mark") and not parts(copy, "edit")  # not Guadalajara's to edit
    asked_id = int(str(message_starting(browser, "recife", "[pt] ").get_attribute("data-message-id")))  # type: ignore[union-attr]
    expected = markup.render(plain(default_catalog().t("reply.asked", "en", id=asked_id, count=2)))
    assert panel.find_element(By.CSS_SELECTOR, '[data-testid="command-reply"]').text == expected
    panel.find_element(By.CSS_SELECTOR, '[data-testid="panel-close"]').click()
    wait_for(browser, lambda: not panel.is_displayed(), "the panel to close")

    # Recife reads the original, opens the thread and answers.
    recife_root = wait_for(browser, lambda: message_starting(browser, "recife", "[pt] "), "Recife's question")
    part(recife_root, "toggle-original").click()
    original = wait_for(
        browser,
        lambda: visible(recife_root, ':scope > article [data-testid="original"]'),
        "the original text",
    )
    assert QUESTION in original.text and "EN" in original.text
    part(recife_root, "open-thread").click()
    reply_box = wait_for(
        browser,
        lambda: visible(recife_root, '[data-testid="reply-text"]'),
        "Recife's reply box",
    )
    reply_box.send_keys(ANSWER)
    recife_root.find_element(By.CSS_SELECTOR, '[data-testid="reply-send"]').click()
    wait_for(
        browser, lambda: message_starting(browser, "recife", ANSWER, kind="reply"), "the answer in Recife's thread"
    )

    # The answer comes back, translated, into Boston's and Guadalajara's threads.
    for cid, lang in (("boston", "en"), ("guadalajara", "es")):
        root = message_starting(browser, cid, QUESTION if cid == "boston" else f"[{lang}] ")
        assert root is not None
        wait_for(
            browser,
            partial(has_replies, root, 1),
            f"{cid}'s reply count",
        )
        assert part(root, "reply-count").text == "1 reply"
    boston_root = message_starting(browser, "boston", QUESTION)
    assert boston_root is not None
    part(boston_root, "open-thread").click()
    answer = wait_for(
        browser,
        lambda: message_starting(browser, "boston", f"[en] {ANSWER}", kind="reply"),
        "the answer in Boston's thread",
    )
    assert part(answer, "author").text.startswith("Rita")
    assert part(answer, "translated-mark").text == "translated from PT"

    # Guadalajara looks at the hot topics: the reply and its chart show in its panel.
    post(browser, "guadalajara", "/agora topics")
    gdl_panel = column(browser, "guadalajara").find_element(By.CSS_SELECTOR, '[data-testid="command-panel"]')
    chart = gdl_panel.find_element(By.CSS_SELECTOR, '[data-testid="command-image"]')
    wait_for(
        browser,
        lambda: (
            chart.is_displayed()
            and browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", chart)
        ),
        "the hot-topics chart",
    )
    assert tagger.name("homelessness", "es") in gdl_panel.text

    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    browser.execute_script("window.scrollTo(0, 0)")
    assert browser.save_screenshot(str(SCREENSHOT))

    # A refused post shows the API's error inline, and leaves the draft for fixing.
    boston_box = column(browser, "boston").find_element(By.CSS_SELECTOR, '[data-testid="composer-text"]')
    browser.execute_script("arguments[0].value = 'x'.repeat(40001)", boston_box)
    column(browser, "boston").find_element(By.CSS_SELECTOR, '[data-testid="send"]').click()
    error = column(browser, "boston").find_element(By.CSS_SELECTOR, '[data-testid="composer-error"]')
    wait_for(browser, lambda: error.is_displayed() and "too long" in error.text, "the inline error")
    assert len(str(boston_box.get_attribute("value"))) == 40001
    boston_box.clear()


def test_messages_render_as_text_and_can_be_edited_and_deleted(server: Server, browser: WebDriver) -> None:
    browser.get(server.url)
    wait_for(browser, lambda: browser.find_elements(By.CSS_SELECTOR, '[data-testid="channel-boston"]'), "Boston")
    title = browser.title
    hostile = "<img src=x onerror=\"document.title='owned'\"> is **bold**, `code` and [a link](javascript:alert(1))"
    post(browser, "boston", hostile)
    message = wait_for(browser, lambda: message_starting(browser, "boston", "<img src=x"), "the posted message")
    body = part(message, "message-body")
    assert body.text == "<img src=x onerror=\"document.title='owned'\"> is bold, code and [a link](javascript:alert(1))"
    assert not body.find_elements(By.TAG_NAME, "img") and not body.find_elements(By.TAG_NAME, "a")
    assert body.find_element(By.TAG_NAME, "strong").text == "bold"
    assert body.find_element(By.TAG_NAME, "code").text == "code"
    assert browser.title == title

    # Edit: the card turns into a form; saving shows the new text, marked edited.
    part(message, "edit").click()
    editor = wait_for(browser, lambda: part(message, "edit-text"), "the edit box")
    assert editor.get_attribute("value") == hostile
    editor.clear()
    editor.send_keys("Plain words now")
    part(message, "edit-save").click()
    wait_for(
        browser,
        lambda: parts(message, "edited-mark") and part(message, "message-body").text == "Plain words now",
        "the edited message",
    )

    # An edit the API refuses shows its error in the card.
    part(message, "edit").click()
    editor = wait_for(browser, lambda: part(message, "edit-text"), "the edit box")
    editor.clear()
    editor.send_keys(" ")
    part(message, "edit-save").click()
    error = wait_for(browser, lambda: part(message, "message-error").text, "the refusal")
    assert error == default_catalog().t("error.empty_text", "en")
    part(message, "edit-cancel").click()

    # Delete asks first, then the message goes.
    wait_for(browser, lambda: parts(message, "delete"), "the delete button")
    part(message, "delete").click()
    wait_for(browser, lambda: browser.switch_to.alert, "the confirmation").accept()
    wait_for(
        browser,
        lambda: column(browser, "boston").find_element(By.CSS_SELECTOR, '[data-testid="empty"]').is_displayed(),
        "the empty channel",
    )


def test_a_file_picked_in_boston_reaches_recife_as_a_download(
    server: Server, browser: WebDriver, tmp_path: Path
) -> None:
    picked = tmp_path / "plan-vivienda-2026.pdf"
    picked.write_bytes(b"%PDF-1.7 " + bytes(range(256)) * 8)
    browser.get(server.url)
    wait_for(browser, lambda: browser.find_elements(By.CSS_SELECTOR, '[data-testid^="channel-"] h2'), "the columns")
    post(browser, "boston", "/agora mode mirror")
    col = column(browser, "boston")
    col.find_element(By.CSS_SELECTOR, '[data-testid="composer-files"]').send_keys(str(picked))
    post(browser, "boston", "Our housing plan")

    copy = wait_for(browser, lambda: message_starting(browser, "recife", "[pt] Our housing plan"), "the copy in Recife")
    link = wait_for(browser, lambda: parts(copy, "file-link"), "the file link")[0]
    assert link.text == "📎 plan-vivienda-2026.pdf (2 KB)"  # the name is never translated
    href = link.get_attribute("href") or ""
    assert "/files/" in href and href.endswith("/plan-vivienda-2026.pdf")
    # The page fetches it from Agora itself, with the bytes that were picked.
    size = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0]).then(r => r.arrayBuffer()).then(b => done(b.byteLength), e => done(String(e)));",
        href,
    )
    assert size == picked.stat().st_size


def test_a_suggestion_opens_the_earlier_thread(server: Server, browser: WebDriver) -> None:
    browser.get(server.url)
    wait_for(browser, lambda: browser.find_elements(By.CSS_SELECTOR, '[data-testid^="channel-"] h2'), "the columns")
    post(
        browser, "recife", "/ask Vocês têm albergues que aceitam animais? Muita gente na rua não entra sem o cachorro."
    )
    copy = wait_for(browser, lambda: message_starting(browser, "boston", "[en] Vocês têm albergues"), "Recife's copy")
    assert not copy.find_element(By.CSS_SELECTOR, '[data-testid="thread"]').is_displayed()

    post(browser, "boston", "/ask Do any of your shelters allow pets? People refuse beds to keep their dogs.")
    panel = column(browser, "boston").find_element(By.CSS_SELECTOR, '[data-testid="command-panel"]')
    items = wait_for(
        browser,
        lambda: panel.find_elements(By.CSS_SELECTOR, '[data-testid="similar"]') if panel.is_displayed() else None,
        "the suggestion in Boston's panel",
    )
    assert len(items) == 1 and "Recife" in items[0].text and "[en] Vocês têm albergues" in items[0].text
    items[0].find_element(By.CSS_SELECTOR, '[data-testid="similar-open"]').click()
    copy = wait_for(browser, lambda: message_starting(browser, "boston", "[en] Vocês têm albergues"), "the copy")
    wait_for(
        browser,
        lambda: copy.find_element(By.CSS_SELECTOR, '[data-testid="thread"]').is_displayed(),
        "the earlier question's thread to open",
    )
