"""Multi-workspace installs: Bolt's OAuth flow with Agora's database as installation store."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from adapters.slack import SlackAdapter
from bot.errors import DeliveryError
from bot.events import ChannelRef, IncomingMessage, OutgoingMessage
from bot.richtext import plain
from testing.slack_server import CLIENT_ID, CLIENT_SECRET, FakeSlack
from tests.slack.conftest import AdapterFactory, Sink, linked

# slack_sdk's oauth.v2.access builds aiohttp.BasicAuth, which aiohttp 3.14 deprecates (the call still works)
pytestmark = pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")

LIMA_TEAM = "T0002"
LIMA_CHANNEL = "C0LIMA2"


async def oauth_adapter(fake: FakeSlack, make_adapter: AdapterFactory) -> tuple[SlackAdapter, Sink]:
    fake.add_workspace(LIMA_TEAM, "Lima", "xoxb-lima-token", bot_id="BLIMA", bot_user_id="ULIMA")
    fake.add_channel(LIMA_CHANNEL, "agora-lima", team=LIMA_TEAM, creator="U0LUIS")
    fake.add_user("U0LUIS", "Luis", team=LIMA_TEAM, locale="es-PE")
    adapter, sink = await make_adapter(
        mode="http",
        http_port=0,
        oauth=True,
        channels=linked(LIMA_CHANNEL, team=LIMA_TEAM),
        environ={
            "SLACK_BOT_TOKEN": "",
            "SLACK_APP_TOKEN": "",
            "SLACK_CLIENT_ID": CLIENT_ID,
            "SLACK_CLIENT_SECRET": CLIENT_SECRET,
        },
    )
    fake.events_url = f"http://127.0.0.1:{adapter.http_port}/slack/events"
    return adapter, sink


async def install(adapter: SlackAdapter, code: str, *, tamper_state: bool = False) -> tuple[int, str]:
    base = f"http://127.0.0.1:{adapter.http_port}"
    async with aiohttp.ClientSession() as session:
        async with session.get(base + "/slack/install") as resp:
            assert resp.status == 200
            page = await resp.text()
            cookie = resp.headers["Set-Cookie"].split(";")[0]
        authorize = re.search(r'href="([^"]+oauth/v2/authorize[^"]+)"', page)
        assert authorize is not None
        state = parse_qs(urlsplit(authorize.group(1).replace("&amp;", "&")).query)["state"][0]
        if tamper_state:
            state = "forged" + state
        url = f"{base}/slack/oauth_redirect?code={code}&state={state}"
        async with session.get(url, headers={"Cookie": cookie}) as resp:
            return resp.status, authorize.group(1)


async def test_install_then_relay_in_the_new_workspace(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    adapter, sink = await oauth_adapter(fake, make_adapter)
    fake.oauth_codes["code-lima"] = LIMA_TEAM
    status, authorize_url = await install(adapter, "code-lima")
    assert status == 200
    assert authorize_url.startswith(fake.url + "/oauth/v2/authorize?")  # beside the configured API host
    (access,) = fake.calls_to("oauth.v2.access")
    assert access["params"]["code"] == "code-lima"
    rows = list(adapter.context.db.query("select * from slack_installations"))
    assert [(r["team_id"], r["client_id"]) for r in rows] == [(LIMA_TEAM, CLIENT_ID)]

    ts = await fake.user_posts(LIMA_CHANNEL, "U0LUIS", "¿Alguien usa IA generativa en atención ciudadana?")
    (event,) = await sink.wait(1)
    assert isinstance(event, IncomingMessage)
    assert (event.channel, event.id, event.locale) == (ChannelRef("slack", LIMA_TEAM, LIMA_CHANNEL), ts, "es-PE")
    assert fake.calls_to("users.info")[-1]["token"] == "xoxb-lima-token"

    await adapter.send(OutgoingMessage(ChannelRef("slack", LIMA_TEAM, LIMA_CHANNEL), plain("copia"), nonce="n"))
    assert fake.calls_to("chat.postMessage")[-1]["token"] == "xoxb-lima-token"
    checks = {c.name: c for c in adapter.checks()}
    assert checks["slack installs"].ok


async def test_forged_state_installs_nothing(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    adapter, _ = await oauth_adapter(fake, make_adapter)
    fake.oauth_codes["code-lima"] = LIMA_TEAM
    status, _ = await install(adapter, "code-lima", tamper_state=True)
    assert status != 200
    assert fake.calls_to("oauth.v2.access") == []
    assert list(adapter.context.db.query("select * from slack_installations")) == []


async def test_bad_code_installs_nothing(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    adapter, _ = await oauth_adapter(fake, make_adapter)
    status, _ = await install(adapter, "no-such-code")
    assert status != 200
    assert list(adapter.context.db.query("select * from slack_installations")) == []


async def test_workspace_without_install_is_a_permanent_failure(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    adapter, _ = await oauth_adapter(fake, make_adapter)
    with pytest.raises(DeliveryError) as info:
        await adapter.send(OutgoingMessage(ChannelRef("slack", LIMA_TEAM, LIMA_CHANNEL), plain("x"), nonce="n"))
    assert not info.value.retriable and "not installed" in info.value.reason
