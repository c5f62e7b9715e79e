"""Benchmark the Vest simulator: start-up time and signed orders per second on loopback.

    .venv/bin/python bench/bench_simulator.py [--orders 5000] [--concurrency 64]

* start-up (in-process): `VestSimulator(...)` + `await start()` until the port is bound (target < 2 s);
* start-up (console): `python -m vest_simulator` until `/v2/exchangeInfo` answers (target < 2 s);
* throughput: the console server in its own process; orders are pre-signed outside the timed loop (coincurve via
  vest_simulator.signatures, byte-identical to eth_account's RFC 6979 signatures) and sent concurrently with a bounded
  number of in-flight requests, a bounded total count and a time cap (target >= 1,000 orders/s).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Tuple
from urllib.parse import urlsplit

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vest_simulator import VestSimulator  # noqa: E402
from vest_simulator.signatures import ORDER_TYPES, request_digest, sign_hash  # noqa: E402

STARTUP_LIMIT_S = 2.0
ORDERS_PER_SECOND_TARGET = 1000.0
TIME_CAP_S = 30.0
BAR_WIDTH = 30


def presign(signing_key: str, count: int, now_ms: int) -> List[Dict[str, Any]]:
    """Tiny alternating MARKET orders (net position stays flat) with wide limit prices."""
    bodies = []
    for i in range(count):
        is_buy = i % 2 == 0
        limit = "1000000.0" if is_buy else "1.0"
        nonce = now_ms + i
        values = (now_ms, nonce, "MARKET", "BTC-PERP", is_buy, "0.0010", limit, False)
        signature = sign_hash(signing_key, request_digest(ORDER_TYPES, values)[1])
        bodies.append({"order": {"time": now_ms, "nonce": nonce, "symbol": "BTC-PERP", "isBuy": is_buy,
                                 "size": "0.0010", "orderType": "MARKET", "limitPrice": limit, "reduceOnly": False},
                       "recvWindow": 120_000, "signature": signature})
    return bodies


async def startup_in_process() -> float:
    started = time.perf_counter()
    sim = VestSimulator(seed=7)
    await sim.start()
    elapsed = time.perf_counter() - started
    await sim.stop()
    return elapsed


async def start_console_server() -> Tuple[asyncio.subprocess.Process, str, float]:
    started = time.perf_counter()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "vest_simulator", "--port", "0", "--log-level", "WARNING",
        stdout=asyncio.subprocess.PIPE, env=env)
    assert process.stdout is not None
    line = (await asyncio.wait_for(process.stdout.readline(), 20)).decode()
    rest_url = line.split()[-1]
    async with aiohttp.ClientSession() as session:
        async with session.get(rest_url + "/exchangeInfo") as resp:
            resp.raise_for_status()
    return process, rest_url, time.perf_counter() - started


async def _connection_worker(host: str, port: int, requests: "asyncio.Queue[bytes]", deadline: float,
                             latencies: List[float], statuses: Dict[int, int]) -> None:
    """One keep-alive HTTP/1.1 connection sending pre-serialized requests one at a time (a lean client, so the
    measurement is bounded by the server rather than by client-side HTTP machinery)."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while not requests.empty() and time.perf_counter() < deadline:
            request = requests.get_nowait()
            sent = time.perf_counter()
            writer.write(request)
            status = int((await reader.readline()).split()[1])
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - sent)
            statuses[status] = statuses.get(status, 0) + 1
    finally:
        writer.close()


def serialize(host: str, port: int, path: str, headers: Dict[str, str], body: Dict[str, Any]) -> bytes:
    payload = json.dumps(body, separators=(",", ":")).encode()
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n{head}\r\n").encode() + payload


async def throughput(rest_url: str, count: int, concurrency: int) -> Dict[str, float]:
    url = urlsplit(rest_url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    admin = rest_url.replace("/v2", "/_sim")
    async with aiohttp.ClientSession() as session:
        async with session.post(admin + "/accounts", json={"balance": "100000000"}) as resp:
            account = await resp.json()
        async with session.get(admin + "/health") as resp:
            now_ms = (await resp.json())["time"]
        headers = {"X-API-KEY": account["apiKey"], "xrestservermm": f"restserver{account['accountGroup']}"}
        requests: "asyncio.Queue[bytes]" = asyncio.Queue()
        for body in presign(account["signingPrivateKey"], count, now_ms):
            requests.put_nowait(serialize(host, port, url.path + "/orders", headers, body))
        latencies: List[float] = []
        statuses: Dict[int, int] = {}
        started = time.perf_counter()
        await asyncio.gather(*(_connection_worker(host, port, requests, started + TIME_CAP_S, latencies, statuses)
                               for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        await asyncio.sleep(0.2)  # let the last executions run
        async with session.get(admin + "/stats") as resp:
            stats = await resp.json()
    accepted = statuses.get(200, 0)
    latencies.sort()
    return {"sent": len(latencies), "accepted": accepted, "elapsed": elapsed, "rate": accepted / elapsed,
            "p50_ms": statistics.median(latencies) * 1000, "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
            "fills": stats["fills"]}


def bar(value: float, target: float, lower_is_better: bool) -> str:
    share = (target / value if value else 1.0) if lower_is_better else value / target
    filled = max(0, min(BAR_WIDTH, int(round(share / 2 * BAR_WIDTH))))  # full bar = 2x the target
    return "#" * filled + "." * (BAR_WIDTH - filled)


def print_table(rows: List[Tuple[str, str, str, bool]]) -> None:
    widths = [max(len(r[i]) for r in rows + [("metric", "value", "bar", True)]) for i in range(3)]
    print(f"{'metric':<{widths[0]}} | {'value':>{widths[1]}} | {'bar':<{widths[2]}} | ok")
    print(f"{'-' * widths[0]}-+-{'-' * widths[1]}-+-{'-' * widths[2]}-+---")
    for metric, value, graph, ok in rows:
        print(f"{metric:<{widths[0]}} | {value:>{widths[1]}} | {graph:<{widths[2]}} | {'yes' if ok else 'NO'}")


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32, help="connections = max in-flight requests")
    args = parser.parse_args()

    in_process = await startup_in_process()
    process, rest_url, console = await start_console_server()
    try:
        result = await throughput(rest_url, args.orders, args.concurrency)
    finally:
        process.terminate()
        await process.wait()
    rows = [
        ("start-up in-process (s)", f"{in_process:.3f}", bar(in_process, STARTUP_LIMIT_S, True),
         in_process < STARTUP_LIMIT_S),
        ("start-up console (s)", f"{console:.3f}", bar(console, STARTUP_LIMIT_S, True), console < STARTUP_LIMIT_S),
        ("signed orders/s", f"{result['rate']:.0f}", bar(result["rate"], ORDERS_PER_SECOND_TARGET, False),
         result["rate"] >= ORDERS_PER_SECOND_TARGET),
        ("orders accepted", f"{result['accepted']:.0f}/{args.orders}", "", result["accepted"] == args.orders),
        ("orders filled", f"{result['fills']:.0f}", "", result["fills"] == result["accepted"]),
        ("latency p50 (ms)", f"{result['p50_ms']:.1f}", "", True),
        ("latency p99 (ms)", f"{result['p99_ms']:.1f}", "", True),
    ]
    print_table(rows)
    return 0 if all(ok for *_, ok in rows) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
