"""One bad event costs one event, not the connection.

discord.py reads every gateway DISPATCH in ``ConnectionState.parse_<event>``,
called straight from the websocket's poll loop: an exception there (a field
null or missing, a role given as an object, a thread without its metadata)
escapes ``Client.connect`` and ends the connection for good. Discord-compatible
servers such as Spacebar send such payloads.

:func:`guard_parsers` wraps every parser of a client's ConnectionState (the
dict the websocket looks events up in): the payload is first made well-formed
where a field is null or missing (:func:`well_formed`, a no-op on a payload
Discord itself sends), and if discord.py still cannot read it, the event is
logged with its name and traceback and skipped.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

FILLED = "_agora_filled"  # the keys :func:`well_formed` had to invent, so an edit without content is no edit
UNKNOWN_USER = {"id": "0", "username": "unknown-user", "discriminator": "0", "avatar": None, "global_name": None}
Parser = Callable[[Any], Any]


def guard_parsers(parsers: dict[str, Parser], channel_names: dict[int, str] | None = None) -> None:
    """Replace each parser in place by one that repairs what it can and skips what it cannot.

    ``channel_names`` collects the names a message's ``mention_channels`` give (a crosspost names
    channels of another server, which discord.py does not keep)."""
    for event, parse in list(parsers.items()):
        if not getattr(parse, "_agora_guarded", False):
            parsers[event] = _guarded(event, parse, channel_names)


def _guarded(event: str, parse: Parser, channel_names: dict[int, str] | None) -> Parser:
    def guarded(data: Any) -> Any:
        try:
            fixed = well_formed(event, data)
            if channel_names is not None and isinstance(fixed, dict) and "mention_channels" in fixed:
                for mentioned in fixed["mention_channels"]:
                    ident = _snowflake(mentioned.get("id"))
                    if ident is not None and isinstance(mentioned.get("name"), str):
                        channel_names[ident] = mentioned["name"]
            return parse(fixed)
        except Exception:
            log.exception("discord: skipped a %s event that discord.py could not read", event)
            return None

    guarded._agora_guarded = True  # type: ignore[attr-defined]
    return guarded


def well_formed(event: str, data: Any) -> Any:
    """``data`` with null or missing fields filled the way Discord would send them."""
    if not isinstance(data, dict):
        return data
    if event in ("MESSAGE_CREATE", "MESSAGE_UPDATE"):
        return message(data, edit=event == "MESSAGE_UPDATE")
    if event in ("THREAD_CREATE", "THREAD_UPDATE"):
        return thread(data)
    if event in ("GUILD_MEMBER_ADD", "GUILD_MEMBER_UPDATE"):
        return member(data)
    if event == "GUILD_CREATE":
        fixed = dict(data)
        if isinstance(data.get("members"), list):
            fixed["members"] = [member(m) for m in data["members"] if isinstance(m, dict)]
        if isinstance(data.get("threads"), list):
            fixed["threads"] = [thread(t) for t in data["threads"] if isinstance(t, dict)]
        return fixed
    if isinstance(data.get("member"), dict):  # typing, reactions, voice: a member like any other
        return {**data, "member": member(data["member"])}
    return data


def message(data: dict[str, Any], *, edit: bool = False) -> dict[str, Any]:
    """A message payload discord.py can read: lists never null, author and member sane, objects as ids."""
    fixed = dict(data)
    filled: list[str] = []
    if not isinstance(fixed.get("author"), dict) or "id" not in fixed["author"]:
        fixed["author"] = dict(UNKNOWN_USER)
        filled.append("author")
    if "member" in fixed and not isinstance(fixed["member"], dict):
        del fixed["member"]
    elif isinstance(fixed.get("member"), dict):
        fixed["member"] = member(fixed["member"])
    if not isinstance(fixed.get("content"), str):
        fixed["content"] = ""
        filled.append("content")
    if not isinstance(fixed.get("type"), int):
        fixed["type"] = 0
        filled.append("type")
    # A partial update leaves out what did not change: only a message's own lists are filled in when
    # missing, so an update cannot empty the cached message's.
    lists: dict[str, Callable[[Any], list[Any]]] = {
        "mentions": lambda v: [m for m in _list(v) if isinstance(m, dict) and _snowflake(m.get("id")) is not None],
        "mention_roles": _ids,
        "attachments": lambda v: [attachment(a) for a in _list(v) if isinstance(a, dict)],
        "embeds": lambda v: [e for e in _list(v) if isinstance(e, dict)],
    }
    for key, clean in lists.items():
        if key in fixed or not edit:
            fixed[key] = clean(fixed.get(key))
    for key in ("sticker_items", "components", "reactions", "mention_channels"):
        if key in fixed:
            fixed[key] = [x for x in _list(fixed[key]) if isinstance(x, dict)]
    if "message_reference" in fixed and not isinstance(fixed["message_reference"], dict):
        del fixed["message_reference"]
        fixed.pop("referenced_message", None)
    if "message_snapshots" in fixed:
        snapshots = [s for s in _list(fixed["message_snapshots"]) if isinstance(s, dict)]
        fixed["message_snapshots"] = [
            {"message": snapshot(s["message"], fixed)} for s in snapshots if isinstance(s.get("message"), dict)
        ]
        # discord.py drops a snapshot's mentions; kept on the message, they name the people a forward mentions
        mentions, roles = fixed.setdefault("mentions", []), fixed.setdefault("mention_roles", [])
        known = {str(m["id"]) for m in mentions}
        for snap in fixed["message_snapshots"]:
            for user in snap["message"]["mentions"]:
                if _snowflake(user.get("id")) is not None and str(user["id"]) not in known:
                    mentions.append(user)
                    known.add(str(user["id"]))
            roles += [r for r in snap["message"]["mention_roles"] if r not in roles]
    if "poll" in fixed and not _poll_ok(fixed["poll"]):
        del fixed["poll"]
    if isinstance(fixed.get("thread"), dict):
        fixed["thread"] = thread(fixed["thread"])
    elif "thread" in fixed:
        del fixed["thread"]
    if isinstance(fixed.get("referenced_message"), dict):
        fixed["referenced_message"] = message(fixed["referenced_message"])
    if filled:
        fixed[FILLED] = filled
    return fixed


def snapshot(data: dict[str, Any], outer: dict[str, Any]) -> dict[str, Any]:
    """A forwarded message's snapshot, with the fields discord.py requires."""
    fixed = dict(data)
    fixed["type"] = fixed["type"] if isinstance(fixed.get("type"), int) else 0
    fixed["content"] = fixed["content"] if isinstance(fixed.get("content"), str) else ""
    fixed["embeds"] = [e for e in _list(fixed.get("embeds")) if isinstance(e, dict)]
    fixed["attachments"] = [attachment(a) for a in _list(fixed.get("attachments")) if isinstance(a, dict)]
    fixed["mentions"] = [m for m in _list(fixed.get("mentions")) if isinstance(m, dict)]
    fixed["mention_roles"] = _ids(fixed.get("mention_roles"))
    fixed.setdefault("timestamp", outer.get("timestamp") or _now())
    fixed.setdefault("edited_timestamp", None)
    for key in ("sticker_items", "components"):
        if key in fixed:
            fixed[key] = [x for x in _list(fixed[key]) if isinstance(x, dict)]
    return fixed


def attachment(data: dict[str, Any]) -> dict[str, Any]:
    """An attachment with id, name, size and URL (the proxy URL, or none, when the URL is missing)."""
    fixed = dict(data)
    if _snowflake(fixed.get("id")) is None:
        fixed["id"] = "0"
    if not isinstance(fixed.get("filename"), str) or not fixed["filename"]:
        fixed["filename"] = "file"
    if not isinstance(fixed.get("size"), int):
        fixed["size"] = 0
    if not isinstance(fixed.get("url"), str):
        fixed["url"] = fixed["proxy_url"] if isinstance(fixed.get("proxy_url"), str) else ""
    if not isinstance(fixed.get("proxy_url"), str):
        fixed["proxy_url"] = fixed["url"]
    return fixed


def member(data: dict[str, Any]) -> dict[str, Any]:
    """A guild member whose roles are ids (Spacebar sends role objects)."""
    fixed = dict(data)
    fixed["roles"] = _ids(fixed.get("roles"))
    if "user" in fixed and not isinstance(fixed["user"], dict):
        del fixed["user"]
    if "joined_at" not in fixed:
        fixed["joined_at"] = None
    if not isinstance(fixed.get("flags"), int):
        fixed["flags"] = 0
    return fixed


def thread(data: dict[str, Any]) -> dict[str, Any]:
    """A thread with its metadata (a thread created without it is taken as open)."""
    fixed = dict(data)
    meta = fixed.get("thread_metadata")
    base = {"archived": False, "auto_archive_duration": 1440, "archive_timestamp": _now(), "locked": False}
    fixed["thread_metadata"] = {**base, **meta} if isinstance(meta, dict) else base
    defaults = {"type": 11, "owner_id": "0", "name": "thread", "message_count": 0, "member_count": 0}
    for key, value in defaults.items():
        if fixed.get(key) is None:
            fixed[key] = value
    return fixed


def _poll_ok(poll: Any) -> bool:
    return (
        isinstance(poll, dict)
        and isinstance(poll.get("question"), dict)
        and isinstance(poll.get("answers"), list)
        and all(isinstance(a, dict) and isinstance(a.get("poll_media"), dict) for a in poll["answers"])
    )


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _ids(value: Any) -> list[str]:
    """Snowflakes from a list of ids or of ``{"id": …}`` objects, the rest dropped."""
    out = []
    for item in _list(value):
        raw = item.get("id") if isinstance(item, dict) else item
        if _snowflake(raw) is not None:
            out.append(str(raw))
    return out


def _snowflake(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat()
