"""Bolt's OAuth stores, kept in Agora's own database.

One Agora serves many cities' workspaces in HTTP mode: each workspace installs
the app through Bolt's OAuth flow, and the resulting bot token lives in
``slack_installations``/``slack_bots`` beside the rest of Agora's state (one
file to back up, one place to revoke). The state store guards the install
callback against forged redirects; states expire after ten minutes.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from datetime import datetime
from typing import Any

from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore

from adapters.slack import schema
from bot.store.sql import Database, insert, scalar

log = logging.getLogger(__name__)


def _jsonable(data: dict[str, Any]) -> str:
    """slack_sdk hands out datetimes; store epoch seconds (expiry times as ints, as its models expect)."""

    def plain(key: str, value: Any) -> Any:
        if isinstance(value, datetime):
            return int(value.timestamp()) if key.endswith("expires_at") else value.timestamp()
        return value

    return json.dumps({k: plain(k, v) for k, v in data.items()})


class DbInstallationStore(AsyncInstallationStore):
    """Installations and bot tokens per workspace, newest install wins."""

    def __init__(self, db: Database, client_id: str) -> None:
        self.db = db
        self.client_id = client_id
        schema.apply(db)

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_save(self, installation: Installation) -> None:
        with self.db.transaction():
            insert(
                self.db,
                "slack_installations",
                {
                    "client_id": self.client_id,
                    "enterprise_id": installation.enterprise_id or "",
                    "team_id": "" if installation.is_enterprise_install else installation.team_id or "",
                    "user_id": installation.user_id or "",
                    "installed_at": installation.installed_at,
                    "data": _jsonable(installation.to_dict_for_copying()),
                },
            )
            if installation.bot_token:
                self._insert_bot(installation.to_bot())
        log.info("slack: installed in team %s", installation.team_id)

    async def async_save_bot(self, bot: Bot) -> None:
        self._insert_bot(bot)

    def _insert_bot(self, bot: Bot) -> None:
        insert(
            self.db,
            "slack_bots",
            {
                "client_id": self.client_id,
                "enterprise_id": bot.enterprise_id or "",
                "team_id": "" if bot.is_enterprise_install else bot.team_id or "",
                "installed_at": bot.installed_at,
                "data": _jsonable(bot.to_dict_for_copying()),
            },
        )

    def _latest(self, table: str, enterprise_id: str | None, team_id: str | None, user_id: str | None = None) -> Any:
        where = "client_id = ? and enterprise_id = ? and team_id = ?"
        params: list[str] = [self.client_id, enterprise_id or "", team_id or ""]
        if user_id is not None:
            where += " and user_id = ?"
            params.append(user_id)
        data = scalar(
            self.db, f"select data from {table} where {where} order by installed_at desc, id desc limit 1", params
        )
        return json.loads(data) if data else None

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        data = self._latest("slack_bots", enterprise_id, None if is_enterprise_install else team_id)
        return Bot(**_restore(data)) if data else None

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        team = None if is_enterprise_install else team_id
        data = self._latest("slack_installations", enterprise_id, team, user_id)
        if not data:
            return None
        installation = Installation(**_restore(data))
        if user_id is not None:
            # a user's own install row may hold an older bot token than the workspace's latest
            bot = await self.async_find_bot(
                enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=is_enterprise_install
            )
            if bot is not None:
                installation.bot_token = bot.bot_token
                installation.bot_id = bot.bot_id
                installation.bot_user_id = bot.bot_user_id
                installation.bot_scopes = bot.bot_scopes
        return installation

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        self.db.execute(
            "delete from slack_bots where client_id = ? and enterprise_id = ? and team_id = ?",
            [self.client_id, enterprise_id or "", team_id or ""],
        )

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        where = "client_id = ? and enterprise_id = ? and team_id = ?"
        params = [self.client_id, enterprise_id or "", team_id or ""]
        if user_id is not None:
            where += " and user_id = ?"
            params.append(user_id)
        self.db.execute(f"delete from slack_installations where {where}", params)

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self.async_delete_bot(enterprise_id=enterprise_id, team_id=team_id)
        await self.async_delete_installation(enterprise_id=enterprise_id, team_id=team_id)

    def teams(self) -> list[str]:
        """Workspaces with a bot token, for ``agora doctor``."""
        rows = self.db.execute(
            "select distinct team_id from slack_bots where client_id = ? order by team_id", [self.client_id]
        ).fetchall()
        return [str(r[0]) for r in rows]


def _restore(data: dict[str, Any]) -> dict[str, Any]:
    """Stored JSON back to constructor arguments (custom values stay a dict)."""
    return {k: v for k, v in data.items() if v is not None}


class DbStateStore(AsyncOAuthStateStore):
    """One-time OAuth ``state`` values, so a callback must come from an install we started."""

    def __init__(self, db: Database, expiration_seconds: int = 600) -> None:
        self.db = db
        self.expiration_seconds = expiration_seconds
        schema.apply(db)

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        state = secrets.token_urlsafe(24)
        now = time.time()
        with self.db.transaction():
            self.db.execute("delete from slack_oauth_states where expire_at < ?", [now])
            insert(self.db, "slack_oauth_states", {"state": state, "expire_at": now + self.expiration_seconds})
        return state

    async def async_consume(self, state: str) -> bool:
        cursor = self.db.execute(
            "delete from slack_oauth_states where state = ? and expire_at >= ?", [state, time.time()]
        )
        return bool(cursor.rowcount)
