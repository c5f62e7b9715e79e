"""Soak: N minutes of strategy-like traffic through the real connector against the simulator, in one process.

    .venv/bin/python bench/soak.py [--minutes 10] [--sample-seconds 10] [--drop-every 60] [--seed 7]

Traffic, on BTC-USDC and ETH-USDC: every cycle (1 s) each pair gets a resting LIMIT buy and sell around the mark,
the previous cycle's resting orders are cancelled, and every few cycles a MARKET order or a marketable LIMIT fills
(sides alternate, so positions stay small). Both WebSockets are dropped every `--drop-every` s.

Every `--sample-seconds` (after a 20 s warm-up that is not judged) the process's RSS (psutil) and its asyncio task
count are sampled after a garbage collection. The verdict compares the median of the last third of the samples with
the median of the first third:

* RSS may grow by at most 4 MB + 1 % of the first third's median (about 5 MB). A healthy 10-minute run grows by
  well under 1 MB (+0.6 MB measured; the allocator keeps freed arenas, caches fill up to their bounds; a 1-minute
  run, mostly warm-up, about +1 MB). What it catches: a leak of ~2.5 KB or more per order (the ~2,000 orders
  between the first and the last third would add >= 5 MB; an order kept with its tracker entries, events and log
  strings is of that size), any per-message leak (40 depth snapshots/s), and a per-reconnect leak of a
  connection's buffers. Smaller per-order leaks are below what RSS can show in 10 minutes.
* The task count may grow by at most 5: a sample can catch a few short-lived order and cancel tasks, more just
  after a drop while the reconnection's status poll runs; a task leaked per order, per reconnect or per poll adds
  hundreds.

The simulator lives in the same process and, like an exchange, keeps every order, fill, nonce and public trade. So
that the venue's own growth is not charged to the connector, the soak prunes, at every sample, the simulator's
terminal orders the connector no longer tracks, old fills, old nonces and its public trade tape (10,000 trades per
symbol otherwise, ~1 MB/min in this run), and clears the harness's EventLogger (which keeps every fill event).
What remains is the connector's (and Hummingbot's) memory. The script also runs "headless" (see
fault_scenarios.headless): outside pytest Hummingbot's logger would otherwise load the whole client application
(~100 MB, a 2.5 s event-loop stall) at the first throttler notice.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import statistics
import sys
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import List, Optional

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_derivative import (  # noqa: E402
    nonce_of_client_order_id,
)
from hummingbot.core.event.events import OrderFilledEvent  # noqa: E402
from project_tests.connector.fault_scenarios import BTC, ETH, SIZES, EventRecorder, OrderFlow, headless  # noqa: E402
from project_tests.connector.simulated_venue import SimulatedVenue, wait_until  # noqa: E402

WARM_UP_SECONDS = 20
RSS_TOLERANCE_MB = 4.0
RSS_TOLERANCE_SHARE = 0.01
TASK_TOLERANCE = 5
PRUNE_AFTER_MS = 0


@dataclass
class Sample:
    elapsed: float
    rss_mb: float
    tasks: int
    in_flight: int
    orders: int
    fills: int
    drops: int


class Counter(EventRecorder):
    """Counts fills without keeping them (an unbounded recorder would itself look like a leak)."""

    def __init__(self):
        super().__init__()
        self.fills = 0

    def __call__(self, event):
        if isinstance(event, OrderFilledEvent):
            self.fills += 1


def prune_simulator(venue: SimulatedVenue):
    """Drops what the venue would keep: terminal orders the connector no longer tracks (it may still ask about the
    others), all but the last 200 fills, nonces older than now, all but the last 100 public trades per symbol."""
    sim = venue.sim
    account = sim.engine.accounts[venue.account.primary_address.lower()]
    horizon = sim.now_ms() - PRUNE_AFTER_MS
    tracker = venue.connector._order_tracker
    tracked = {nonce_of_client_order_id(i) for i in list(tracker.all_orders) + list(tracker.lost_orders)}
    for order_id, order in list(account.orders.items()):
        if order.status not in ("NEW", "PARTIALLY_FILLED") and order.post_time < horizon \
                and order.nonce not in tracked:
            del account.orders[order_id]
    del account.fills[:-200]
    for state in sim.market.states.values():  # the public trade tape keeps 10,000 trades per symbol
        while len(state.trades) > 100:
            state.trades.popleft()
    account.nonces.difference_update({n for n in account.nonces if n < horizon})
    venue.events.clear()


class Strategy:
    def __init__(self, venue: SimulatedVenue):
        self.flow = OrderFlow(venue, pairs=(BTC, ETH))
        self.connector = venue.connector
        self.resting: List[str] = []
        self.cycle = 0
        self.placed = 0

    def step(self):
        """Cancel what the last cycles left resting (an order still being created is cancelled at a later cycle,
        one whose cancel is unconfirmed is left to the connector), then place this cycle's orders."""
        still_resting = []
        for order_id in self.resting:
            order = self.connector.in_flight_orders.get(order_id)
            if order is None:
                continue
            still_resting.append(order_id)
            if order.exchange_order_id is not None and not order.is_pending_cancel_confirmation:
                self.connector.cancel(order.trading_pair, order_id)
        self.resting = still_resting
        for pair in (BTC, ETH):
            for is_buy, factor in ((True, "0.99"), (False, "1.01")):
                self.resting.append(self.flow.place(pair, "resting-limit", is_buy, SIZES[pair],
                                                    self.flow.price(pair, factor)))
            self.placed += 2
            if self.cycle % 3 == 0:
                self.flow.place(pair, "market", self.cycle % 6 == 0)
                self.placed += 1
            if self.cycle % 5 == 0:
                self.flow.place(pair, "marketable-limit", self.cycle % 10 != 0)
                self.placed += 1
        self.flow.intents.clear()  # the soak keeps no per-order bookkeeping of its own
        self.cycle += 1


def verdict(samples: List[Sample]):
    third = max(1, len(samples) // 3)
    first, last = samples[:third], samples[-third:]
    rss_first = statistics.median(s.rss_mb for s in first)
    rss_last = statistics.median(s.rss_mb for s in last)
    tasks_first = statistics.median(s.tasks for s in first)
    tasks_last = statistics.median(s.tasks for s in last)
    rss_allowed = RSS_TOLERANCE_MB + RSS_TOLERANCE_SHARE * rss_first
    rss_ok = rss_last - rss_first <= rss_allowed
    tasks_ok = tasks_last - tasks_first <= TASK_TOLERANCE
    lines = [
        f"RSS   first third median {rss_first:.1f} MB, last third median {rss_last:.1f} MB, growth "
        f"{rss_last - rss_first:+.1f} MB (allowed {rss_allowed:.1f} MB): {'OK' if rss_ok else 'GROWTH'}",
        f"tasks first third median {tasks_first:g}, last third median {tasks_last:g}, growth "
        f"{tasks_last - tasks_first:+g} (allowed {TASK_TOLERANCE}): {'OK' if tasks_ok else 'LEAK'}",
    ]
    return rss_ok and tasks_ok, lines


async def soak(minutes: float, sample_seconds: float, drop_every: float, seed: int) -> bool:
    venue = SimulatedVenue(trading_pairs=[BTC, ETH], seed=seed, balance=Decimal("1000000"))
    await venue.start()
    counter = Counter().attach(venue.connector)
    connector = venue.connector
    await wait_until(lambda: all(p in connector._perpetual_trading.funding_info for p in (BTC, ETH)), timeout=15,
                     what="funding info")
    strategy = Strategy(venue)
    process = psutil.Process()
    samples: List[Sample] = []
    drops = 0
    start = time.monotonic()
    end = start + WARM_UP_SECONDS + minutes * 60
    next_sample = start + WARM_UP_SECONDS
    next_drop = start + drop_every
    print(f"soak: {minutes:g} min of traffic on {BTC}, {ETH} after a {WARM_UP_SECONDS} s warm-up; "
          f"WebSockets dropped every {drop_every:g} s; sample every {sample_seconds:g} s", flush=True)
    print(f"{'t (s)':>7} {'RSS MB':>8} {'tasks':>6} {'in flight':>9} {'orders':>7} {'fills':>6} {'drops':>6}",
          flush=True)
    try:
        while time.monotonic() < end:
            strategy.step()
            now = time.monotonic()
            if now >= next_drop:
                await venue.sim.drop_websockets()
                drops += 1
                next_drop += drop_every
            if now >= next_sample:
                prune_simulator(venue)
                gc.collect()
                sample = Sample(now - start, process.memory_info().rss / 2 ** 20, len(asyncio.all_tasks()),
                                len(connector.in_flight_orders), strategy.placed, counter.fills, drops)
                samples.append(sample)
                print(f"{sample.elapsed:7.0f} {sample.rss_mb:8.1f} {sample.tasks:6d} {sample.in_flight:9d} "
                      f"{sample.orders:7d} {sample.fills:6d} {sample.drops:6d}", flush=True)
                next_sample += sample_seconds
            await asyncio.sleep(1.0)
    finally:
        strategy.flow.stop()
        await venue.close()
    if len(samples) < 3:
        print("verdict: not enough samples (run longer or sample more often)")
        return False
    ok, lines = verdict(samples)
    for line in lines:
        print(line)
    print(f"verdict: {'no growth trend, no leaked tasks' if ok else 'GROWTH OR LEAK DETECTED'} "
          f"({strategy.placed} orders, {counter.fills} fills, {drops} WebSocket drops)")
    return ok


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="traffic duration (default 10)")
    parser.add_argument("--sample-seconds", type=float, default=10.0, help="sampling period (default 10)")
    parser.add_argument("--drop-every", type=float, default=60.0, help="WebSocket drop period in s (default 60)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    headless()
    logging.getLogger("hummingbot").setLevel(logging.CRITICAL)  # reconnect warnings are expected here
    ok = asyncio.run(soak(args.minutes, args.sample_seconds, args.drop_every, args.seed))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
