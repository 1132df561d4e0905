"""Fault and load scenarios over :class:`testing.platforms.Platforms`.

Each returns the figures it measured; the tests assert on them and
``agora bench load`` prints them.
"""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time
from typing import Any

from testing.platforms import Linked, Platforms


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def delays(p: Platforms, refs: set[str]) -> list[float]:
    """Injection-to-delivery delay of every copy delivered in ``refs``."""
    out: list[float] = []
    for ref, got in p.posts().items():
        if ref in refs:
            out += [at - p.injected[token].at for token, at in got if token in p.injected]
    return out


async def isolation(p: Platforms, *, messages: int = 10, interval: float = 1.2, start: int = 0) -> dict[str, Any]:
    """One Slack and one Discord channel throttled hard; the others must not wait for them.

    Messages are posted in the first network at a steady pace a little slower than
    Slack's one per second per channel, so a healthy channel's delay is pure
    relay latency; the throttled channels get 429 with Retry-After on every try.
    """
    network = [link for link in p.linked if link.network == p.linked[0].network]
    source, slack_throttled, discord_throttled = _pick(network)
    p.slack.throttle(slack_throttled.channel, 6.0)  # one post per 6 s, 429 + Retry-After otherwise
    fault = p.discord.throttle(int(discord_throttled.channel), retry_after=3.0, count=-1)
    healthy = {link.ref for link in network} - {source.ref, slack_throttled.ref, discord_throttled.ref}
    for k in range(messages):
        await p.inject(start + k, source)
        await asyncio.sleep(interval)
    await p.until(lambda: all(len(v) >= messages for r, v in p.posts().items() if r in healthy), 30, "healthy copies")
    healthy_delays = delays(p, healthy)
    throttled_before = {ref: len(p.posts()[ref]) for ref in (slack_throttled.ref, discord_throttled.ref)}
    p.slack.throttles.pop(slack_throttled.channel, None)
    p.discord.faults.remove(fault)
    await p.until(p.complete, 120, "throttled to drain")
    return {
        "healthy_channels": len(healthy),
        "healthy_copies": len(healthy_delays),
        "healthy_delay_p50_s": round(statistics.median(healthy_delays), 3),
        "healthy_delay_p99_s": round(_percentile(healthy_delays, 0.99), 3),
        "healthy_delay_max_s": round(max(healthy_delays), 3),
        "throttled_delivered_while_throttled": throttled_before,
        "retries_logged": p.log.read_text().count("retrying send"),
    }


def _pick(network: list[Linked]) -> tuple[Linked, Linked, Linked]:
    slack = [link for link in network if link.platform == "slack"]
    discord = [link for link in network if link.platform == "discord"]
    return slack[0], slack[1], discord[0]


async def chaos(p: Platforms, *, messages: int = 40, start: int = 1000) -> dict[str, Any]:
    """Every kind of fault while a burst is delivered: 429s, 5xx, timeouts, dropped
    connections and websocket disconnects on both platforms."""
    p.slack.fail("chat.postMessage", "ratelimited", times=5, retry_after=1)
    p.slack.fail("chat.postMessage", "server_error", times=5)
    p.slack.fail("chat.postMessage", "hang", times=2)  # Slack acts, but the answer comes too late
    p.slack.fail("chat.postMessage", "drop", times=3)
    p.discord.fail("POST /webhooks/.*", status=429, retry_after=1.0, count=5)
    p.discord.fail("POST /webhooks/.*", status=502, count=5)
    p.discord.fail("POST /webhooks/.*", hang=True, count=2)
    p.discord.fail("POST /webhooks/.*", drop=True, count=3)
    began = time.monotonic()
    burst = asyncio.create_task(_burst_from(p, messages, start))
    await asyncio.sleep(0.5)
    await p.slack.drop_socket()
    await p.discord.drop_gateway()
    await asyncio.sleep(0.5)
    await p.slack.disconnect_socket()
    await burst
    expected = sum(len(v) for v in p.expected().values())
    await p.until(p.complete, 240, "every copy despite the faults")
    return {
        "messages": messages,
        "copies": expected,
        "seconds": round(time.monotonic() - began, 1),
        "slack_socket_connections": p.slack.socket_connections,
        "discord_sessions": len(p.discord.identifies),
        "discord_resumes": p.discord.resumes,
        "retries_logged": p.log.read_text().count("retrying send"),
        "found_after_lost_answer": p.log.read_text().count("was already in"),
    }


async def _burst_from(p: Platforms, messages: int, start: int) -> None:
    per_channel: dict[int, list[int]] = {}
    for k in range(messages):
        per_channel.setdefault(k % len(p.linked), []).append(start + k)

    async def post_all(index: int, tokens: list[int]) -> None:
        for token in tokens:
            await p.inject(token, p.linked[index])
            await asyncio.sleep(0.01)

    await asyncio.gather(*(post_all(i, tokens) for i, tokens in per_channel.items()))


async def load(p: Platforms, *, messages: int, slack_pace: float) -> dict[str, Any]:
    """A burst of ``messages`` over every channel; throughput, latency, Slack pacing accuracy, and how fast
    the bot acknowledged Slack's Socket Mode envelopes (Slack retries after 3 s)."""
    acks_before = len(p.slack.ack_latencies)
    began = time.time()
    await p.burst(messages)
    expected = sum(len(v) for v in p.expected().values())
    await p.until(p.complete, 3600, "every copy")
    finished = time.time()
    all_delays = delays(p, {link.ref for link in p.linked})
    gaps: list[float] = []
    for link in p.linked:
        if link.platform == "slack":
            times = [at for _, at in p.posts()[link.ref]]
            gaps += [b - a for a, b in itertools.pairwise(times)]
    return {
        "messages": messages,
        "channels": len(p.linked),
        "copies": expected,
        "seconds": round(finished - began, 1),
        "copies_per_second": round(expected / (finished - began), 1),
        "latency_p50_s": round(statistics.median(all_delays), 2),
        "latency_p99_s": round(_percentile(all_delays, 0.99), 2),
        "slack_pace_target_s": slack_pace,
        "slack_gap_min_s": round(min(gaps), 3) if gaps else None,
        "slack_gap_median_s": round(statistics.median(gaps), 3) if gaps else None,
        "slack_gaps_faster_than_target": sum(1 for g in gaps if g < slack_pace * 0.98),
        "peak_rss_mb": round(p.peak_rss_mb(), 1),
        **ack_figures(p.slack.ack_latencies[acks_before:], p.slack.event_retries, p.slack.events_unacknowledged),
    }


def ack_figures(latencies: list[float], retries: int, unacknowledged: int) -> dict[str, Any]:
    """Socket Mode acknowledgement latency (envelope sent to ack received), in milliseconds."""
    if not latencies:
        return {"slack_ack_p50_ms": None, "slack_ack_p99_ms": None, "slack_acks": 0}
    return {
        "slack_acks": len(latencies),
        "slack_ack_p50_ms": round(statistics.median(latencies) * 1000, 1),
        "slack_ack_p99_ms": round(_percentile(latencies, 0.99) * 1000, 1),
        "slack_ack_max_ms": round(max(latencies) * 1000, 1),
        "slack_event_retries": retries,
        "slack_events_unacknowledged": unacknowledged,
    }
