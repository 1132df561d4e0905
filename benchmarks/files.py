"""One large file to ten cities: ``agora bench files``.

A person shares a 20 MB file in a Slack city channel (mirror mode); Agora
fetches it once from the fake Slack with the bot token, stores it, and uploads
it to the 10 other channels of the network, 5 on the fake Slack
(getUploadURLExternal + upload + completeUploadExternal) and 5 on the fake
Discord (multipart webhook posts; the guild is at boost level 2, so its limit
is 50 MB). The bot runs as its own process (``agora run``, real slack-bolt,
slack_sdk and discord.py), so its peak RSS is its own and not the fakes'.
Figures: seconds from the post to the first and to the last uploaded copy,
the fetch, the bot's resident memory before and its peak after (VmHWM), and
whether every copy carries the same bytes (sha256).

The fakes come from the testing kit (testing/), so the suite runs from an installed package.
Run: ``agora bench files --json`` or ``python -m benchmarks.files [--mb 20]``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

DESTINATIONS = 10  # 5 Slack + 5 Discord
SLACK_PACE = 1.0
DISCORD_PACE = 0.25


def _rss_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


async def _bench(megabytes: int) -> dict[str, Any]:
    from testing.platforms import Platforms

    workdir = Path(tempfile.mkdtemp(prefix="agora-bench-files-"))
    platforms = Platforms(workdir, channels=DESTINATIONS + 1, per_network=DESTINATIONS + 1)
    await platforms.start()
    try:
        for link in platforms.linked:
            if link.platform == "discord":
                platforms.discord.guilds[int(link.space)]["premium_tier"] = 2  # 50 MB uploads
        config = platforms.write_config(slack_pace=SLACK_PACE, discord_pace=DISCORD_PACE, translation="none")
        await platforms.start_bot(config)
        assert platforms.proc is not None
        pid = platforms.proc.pid
        rss_before = _rss_mb(pid, "VmRSS")
        peak_before = _rss_mb(pid, "VmHWM")

        data = os.urandom(megabytes * 1024 * 1024)
        digest = hashlib.sha256(data).hexdigest()
        source = platforms.linked[0]
        hosted = platforms.slack.host_file("survey-2026.bin", data, mimetype="application/octet-stream")
        posted = time.time()
        await platforms.slack.user_posts(source.channel, "U0CITY", "The 2026 point-in-time survey data", files=[hosted])
        slack_ids = {link.channel for link in platforms.linked if link.platform == "slack"} - {source.channel}
        discord_ids = {link.channel for link in platforms.linked if link.platform == "discord"}

        def arrivals() -> list[tuple[float, str]]:
            out = [
                (float(r["at"]), str(r["sha256"]))
                for r in platforms.slack.records
                if r["op"] == "upload" and r["channel"] in slack_ids
            ]
            for channel, records in platforms.discord.records.items():
                if channel in discord_ids:
                    out += [(float(r["at"]), u["sha256"]) for r in records if r["op"] == "post" for u in r["uploads"]]
            return sorted(out)

        await platforms.until(lambda: len(arrivals()) >= DESTINATIONS, 300, "every copy's upload")
        done = arrivals()
        fetched = platforms.slack.file_fetches
        figures = {
            "file_mb": megabytes,
            "channels": DESTINATIONS,
            "platforms": "5 fake Slack + 5 fake Discord channels, bot in its own process",
            "first_copy_s": round(done[0][0] - posted, 2),
            "all_copies_s": round(done[-1][0] - posted, 2),
            "fetches_from_source": len(fetched),
            "same_bytes_everywhere": all(h == digest for _, h in done) and len(done) == DESTINATIONS,
            "bot_rss_before_mb": round(rss_before, 1),
            "bot_peak_rss_before_mb": round(peak_before, 1),
            "bot_peak_rss_after_mb": round(_rss_mb(pid, "VmHWM"), 1),
            "bot_rss_after_mb": round(_rss_mb(pid, "VmRSS"), 1),
        }
        assert await platforms.stop_bot() == 0
        return figures
    finally:
        await platforms.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def run(megabytes: int = 20) -> dict[str, Any]:
    return asyncio.run(_bench(megabytes))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--mb", type=int, default=20)
    args = parser.parse_args()
    print(json.dumps(run(args.mb), indent=2))
