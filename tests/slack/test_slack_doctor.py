"""What `agora doctor` learns from the Slack adapter, without network calls of its own."""

from __future__ import annotations

from testing.slack_server import TEAM, FakeSlack
from tests.slack.conftest import AdapterFactory


async def test_all_good(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    adapter, _ = await make_adapter()
    calls = len(fake.calls)
    checks = {c.name: c for c in adapter.checks()}
    assert len(fake.calls) == calls
    assert checks["slack tokens"].ok
    assert checks[f"slack scopes ({TEAM})"].ok


async def test_missing_scope_is_named(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    fake.workspaces[TEAM].scopes = "chat:write,commands,channels:history,users:read"
    adapter, _ = await make_adapter()
    check = {c.name: c for c in adapter.checks()}[f"slack scopes ({TEAM})"]
    assert not check.ok
    assert "chat:write.customize" in check.detail and "files:write" in check.detail
    assert "reinstall" in check.fix


async def test_no_tokens_no_network(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    adapter, _ = await make_adapter(start=False, environ={"SLACK_BOT_TOKEN": "", "SLACK_APP_TOKEN": ""})
    (check,) = adapter.checks()
    assert not check.ok and "SLACK_BOT_TOKEN" in check.detail
    assert fake.calls == []


async def test_token_shapes(make_adapter: AdapterFactory) -> None:
    adapter, _ = await make_adapter(start=False, environ={"SLACK_BOT_TOKEN": "xoxp-user", "SLACK_APP_TOKEN": "xoxb-x"})
    failing = {c.name for c in adapter.checks() if not c.ok}
    assert failing == {"slack bot token", "slack app token"}


async def test_oauth_installs_before_start(make_adapter: AdapterFactory) -> None:
    env = {"SLACK_BOT_TOKEN": "", "SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "s"}
    adapter, _ = await make_adapter(start=False, mode="http", oauth=True, environ=env)
    check = {c.name: c for c in adapter.checks()}["slack installs"]
    assert not check.ok and "/slack/install" in check.fix
