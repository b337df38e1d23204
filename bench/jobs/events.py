"""Cross-process event latency on the Redis bus: two RedisBus instances, two processes.

The subscriber (`python -m bench.jobs.events subscribe`) subscribes to one topic, then
starts the publisher (`... publish`) as a separate process, which publishes `count`
events `gap` seconds apart, each carrying its wall-clock send time. The subscriber
notes the arrival time of each as its reader takes it off the subscription.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import sys
import time
from typing import Any

from bench.jobs.measure import percentiles
from switchboard.adapters.bus.redis import RedisBus
from switchboard.core.events.schemas import Event, task_topic
from switchboard.kit.ids import new_id

DONE = "bench.done"


async def publish(url: str, prefix: str, topic: str, count: int, gap: float) -> None:
    bus = RedisBus(url, prefix=prefix)
    try:
        for n in range(count):
            await bus.publish(
                Event(topic=topic, type="bench.tick", data={"t": time.time(), "n": n})
            )
            await asyncio.sleep(gap)
        await bus.publish(Event(topic=topic, type=DONE, data={}))
    finally:
        await bus.aclose()


async def subscribe(url: str, count: int, gap: float) -> dict[str, Any]:
    prefix = f"bench:events:{secrets.token_hex(4)}:"
    topic = task_topic(new_id())
    bus = RedisBus(url, prefix=prefix)
    waits: list[float] = []
    try:
        subscription = await bus.subscribe([topic], max_queue=100_000)
        publisher = await asyncio.create_subprocess_exec(
            *[
                sys.executable,
                "-m",
                "bench.jobs.events",
                "publish",
                "--url",
                url,
                "--prefix",
                prefix,
                "--topic",
                topic,
                "--count",
                str(count),
                "--gap",
                str(gap),
            ]
        )

        async def read() -> None:
            async for event in subscription:
                now = time.time()
                if event.type == DONE:
                    return
                if "t" in event.data:
                    waits.append(now - float(event.data["t"]))

        await asyncio.wait_for(read(), timeout=60 + count * gap * 2)
        await asyncio.wait_for(publisher.wait(), 30)
        await subscription.close()
    finally:
        await bus.aclose()
    report = percentiles(waits[5:])  # the first few include the publisher's connecting
    report["lost"] = count - len(waits)
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.jobs.events")
    parser.add_argument("role", choices=["subscribe", "publish"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--prefix", default="")
    parser.add_argument("--topic", default="")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--gap", type=float, default=0.005)
    args = parser.parse_args(argv)
    if args.role == "publish":
        asyncio.run(publish(args.url, args.prefix, args.topic, args.count, args.gap))
        return
    result = asyncio.run(subscribe(args.url, args.count, args.gap))
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
