"""The playground page behind an access token, in headless Chromium: given once in the address, kept for the tab."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.web.conftest import web_config
from tests.web.test_browser import Server, browser, post, wait_for  # noqa: F401 - the browser fixture

pytestmark = pytest.mark.browser
TOKEN = "a-long-random-playground-token-42"


@pytest.fixture
def token_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    monkeypatch.setenv("AGORA_WEB_TOKEN", TOKEN)
    srv = Server(web_config(tmp_path / "agora.db"))
    srv.start()
    yield srv
    srv.stop()


def test_without_the_token_the_page_says_so_and_with_it_everything_works(
    token_server: Server,
    browser: WebDriver,  # noqa: F811 - the imported fixture
) -> None:
    browser.get(token_server.url)
    status = browser.find_element(By.CSS_SELECTOR, '[data-testid="status"]')
    wait_for(browser, lambda: "access token" in status.text, "the page to ask for the token")
    assert not browser.find_elements(By.CSS_SELECTOR, "section.channel")

    browser.get(token_server.url + f"#token={TOKEN}")
    wait_for(browser, lambda: len(browser.find_elements(By.CSS_SELECTOR, "section.channel h2")) == 3, "the columns")
    assert TOKEN not in browser.current_url  # taken out of the address bar (and so out of history)
    post(browser, "boston", "posted with the token")
    wait_for(
        browser,
        lambda: "posted with the token" in browser.find_element(By.CSS_SELECTOR, '[data-testid="channel-boston"]').text,
        "the posted message",
    )
    browser.refresh()  # kept for this tab
    wait_for(browser, lambda: len(browser.find_elements(By.CSS_SELECTOR, "section.channel h2")) == 3, "the columns")
