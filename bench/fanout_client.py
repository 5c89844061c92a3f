"""One process of subscribers for bench/fanout.py, driven line by line over stdin/stdout.

It connects COUNT graphql-transport-ws subscribers (tests/live/ws_client.py), spread over the
given servers in turn, subscribes each to the warning summary and reads its first event, then
prints `ready`. Then, for each `arm` line: it starts waiting for each subscriber's next event,
prints `armed`, and when every subscriber has its event prints one JSON line: the arrival time
of each (time.perf_counter, i.e. CLOCK_MONOTONIC on Linux: the same clock in every process of
the machine) and this process's CPU seconds over the round. `quit` closes everything.

Usage (bench/fanout.py starts it): python -m bench.fanout_client --key KEY --count N WS_URL [WS_URL ...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

import websockets

from tests.live.ws_client import Subscriber

CONNECTING = 50  # handshakes in flight at once, per client process
TIMEOUT = 120  # seconds: thousands of handshakes on a busy machine take a while


async def connect(client: Subscriber, key: str) -> None:
    """Subscriber.connect with a longer wait for the handshake and the acknowledgement."""
    client.socket = await websockets.connect(client.url, subprotocols=["graphql-transport-ws"], open_timeout=TIMEOUT)
    await client.send({"type": "connection_init", "payload": {"Authorization": f"Bearer {key}"}})
    ack = await client.receive(timeout=TIMEOUT)
    if ack.get("type") != "connection_ack":
        raise SystemExit(f"the server did not acknowledge a subscriber: {ack}")


async def run(urls: list[str], key: str, count: int) -> None:
    clients = [Subscriber(urls[i % len(urls)], key) for i in range(count)]
    for start in range(0, count, CONNECTING):
        await asyncio.gather(*(connect(c, key) for c in clients[start:start + CONNECTING]))
    await asyncio.gather(*(c.subscribe() for c in clients))
    await asyncio.gather(*(c.next_data(timeout=TIMEOUT) for c in clients))
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    print("ready", flush=True)
    try:
        while True:
            command = (await reader.readline()).decode().strip()
            if command != "arm":
                break
            arrivals: list[float] = []

            async def wait_one(client: Subscriber, arrivals: list[float] = arrivals) -> None:
                await client.next_data(timeout=120)
                arrivals.append(time.perf_counter())

            cpu = time.process_time()
            waiting = [asyncio.create_task(wait_one(c)) for c in clients]
            await asyncio.sleep(0)
            print("armed", flush=True)
            await asyncio.gather(*waiting)
            print(json.dumps({"arrivals": arrivals, "cpu": time.process_time() - cpu}), flush=True)
    finally:
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--key", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("urls", nargs="+")
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.run(run(args.urls, args.key, args.count))
    except ImportError:
        asyncio.run(run(args.urls, args.key, args.count))


if __name__ == "__main__":
    main()
