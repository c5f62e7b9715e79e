"""Scale benchmarks: the real connector against the Vest simulator running in its OWN process (`python -m
vest_simulator`), so the venue's CPU is not the bot's and the bot's event loop carries only the bot.

One session (`bench_scale`) measures, in this order, on one simulator with `symbols` markets (100 by default):

0. the venue enforces the connector's own declared rate limits (`CONSTANTS.RATE_LIMITS`, its §6.5 guesses; Vest
   publishes none) through the simulator's `rate_limits` switch, so every refusal (429) is a limit the connector
   broke; refusals are counted per phase from the simulator's `/_sim/stats`;
1. ready: seconds from `start_network()` to `connector.ready` with all the markets as trading pairs;
2. market data: for `market_seconds`, the event-loop lag (a task that sleeps 10 ms and records the overshoot) and
   the bot process's CPU seconds per wall second (`time.process_time`), while the venue pushes depth, trades and
   tickers for every market; then as long again with each pair's parse replaced by its first result (the floor:
   what Hummingbot's own pipeline costs at that message rate, see `_zero_cost_parser`);
3. burst: `orders` (300) `buy()` calls made at once, resting LIMITs far from the market: seconds until
   every one is acknowledged (has Vest's id or failed), how many failed with 1132 ORDER_EXPIRED, how many are open
   on the venue (read from the simulator's `/_sim/orders`, the venue's truth);
4. cancel_all: `connector.cancel_all(20.0)` (Hummingbot's stop timeout): seconds, successes it reported, orders
   the venue still shows open when it returns.

The connector is pointed at the simulator through the testnet domain's URL override (VEST_PERPETUAL_TESTNET_*).
Everything stays on loopback and every wait is capped.
"""
from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from decimal import ROUND_UP, Decimal
from pathlib import Path
from typing import Any, Dict, List, Optional

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from bench import bench_connector as bc  # noqa: E402
from hummingbot.connector.derivative.vest_perpetual import vest_perpetual_constants as CONSTANTS  # noqa: E402
from hummingbot.core.data_type.common import OrderType, PositionAction  # noqa: E402
from hummingbot.core.event.event_logger import EventLogger  # noqa: E402
from hummingbot.core.event.events import MarketEvent  # noqa: E402
from hummingbot.core.web_assistant.connections.connections_factory import ConnectionsFactory  # noqa: E402
from vest_simulator.market import scale_specs  # noqa: E402

DOMAIN = CONSTANTS.TESTNET_DOMAIN
STOP_TIMEOUT_S = 20.0  # `stop` / `exit`: TradingCore.cancel_outstanding_orders -> cancel_all(KILL_TIMEOUT = 20.0)
LAG_PERIOD_S = 0.010  # the lag probe sleeps this long again and again; lateness past it is the lag
LIVE_STATUSES = ("NEW", "PARTIALLY_FILLED")
TICK_INTERVAL_S = 0.1  # the simulator's default tick: every market moves and pushes depth 10 times a second
SETTLE_S = 1.0  # after ready, before the market-data window: the first pushes after start-up are not steady state
HISTORY_MINUTES = 60  # seeded history per market: enough for every start-up read, quick to build for 100 markets
ACCOUNT_BALANCE = "100000000"  # USDC: margin for every resting order of the burst
RESTING_DISTANCE = Decimal("0.3")  # how far from the mid the burst's LIMITs rest: none fills
NOTIONAL_ROOM = Decimal("1.1")  # 10 % over the minimum notional, so rounding never makes an order too small
READY_TIMEOUT_S = 30.0  # ready later than this reads "not ready"; the session goes on without it
BURST_TIMEOUT_S = 90.0  # 300 orders at the connector's 10 /s take ~30 s; a burst not acknowledged by then reads inf
CANCEL_SETTLE_S = 2.0  # after cancel_all returns: cancels still on the wire land within this
ALL_ROUTES = "*"  # the simulator's rule name for "every request of one identity"


# ---------------------------------------------------------------------------------------------------------------
# the simulator in its own process
# ---------------------------------------------------------------------------------------------------------------
@dataclass
class SimProcess:
    """`python -m vest_simulator` on a free port (`--port 0`; the URLs are read from its first lines)."""
    symbols: int
    seed: int
    tick_interval: float
    push_interval: Optional[float]
    history_minutes: int
    process: Optional[asyncio.subprocess.Process] = None
    rest_url: str = ""
    ws_url: str = ""
    admin_url: str = ""
    _stderr: Any = None

    async def start(self, timeout: float = 60.0) -> None:
        args = [sys.executable, "-m", "vest_simulator", "--port", "0", "--seed", str(self.seed),
                "--symbols", str(self.symbols), "--tick-interval", str(self.tick_interval),
                "--history-minutes", str(self.history_minutes), "--log-level", "WARNING"]
        if self.push_interval:
            args += ["--push-interval", str(self.push_interval)]
        self._stderr = tempfile.TemporaryFile()
        env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        self.process = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE,
                                                            stderr=self._stderr, env=env)
        assert self.process.stdout is not None
        try:
            for _ in range(3):
                line = (await asyncio.wait_for(self.process.stdout.readline(), timeout)).decode()
                if not line:
                    break
                if line.startswith("Vest simulator REST"):
                    self.rest_url = line.split()[-1]
                elif line.startswith("Vest simulator WS"):
                    self.ws_url = line.split()[-1]
                elif line.startswith("Admin routes"):
                    self.admin_url = line.split()[-1].rstrip("/")
        except asyncio.TimeoutError:
            pass
        if not (self.rest_url and self.ws_url and self.admin_url):
            await self.stop()
            raise RuntimeError(f"the simulator did not start: {self.stderr_tail()}")

    def stderr_tail(self, chars: int = 400) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")[-chars:]

    async def admin(self, session: aiohttp.ClientSession, method: str, path: str, **kwargs) -> Any:
        async with session.request(method, f"{self.admin_url}/{path}", **kwargs) as resp:
            resp.raise_for_status()
            return await resp.json()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except asyncio.TimeoutError:
                self.process.kill()
                await self.process.wait()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None


def testnet_override(sim: SimProcess):
    """The documented per-domain override (`VEST_PERPETUAL_TESTNET_REST_URL` / `_WS_URL`), restored afterwards."""
    urls = CONSTANTS.URL_OVERRIDE_ENV_VARS[DOMAIN]
    return bc.env_override({urls["rest"]: sim.rest_url, urls["ws"]: sim.ws_url})


def new_connector(trading_pairs: List[str], api_key: str, account_group: int) -> Any:
    """The real connector on the testnet domain; its order journal goes to a temporary data folder."""
    import hummingbot
    from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_derivative import VestPerpetualDerivative
    data_dir = tempfile.mkdtemp(prefix="vest-bench-scale-")
    atexit.register(shutil.rmtree, data_dir, ignore_errors=True)
    hummingbot.set_data_path(data_dir)
    return VestPerpetualDerivative(
        vest_perpetual_api_key=api_key, vest_perpetual_signing_private_key=bc.CONNECTOR_KEY,
        vest_perpetual_account_group=account_group, trading_pairs=trading_pairs, trading_required=True,
        domain=DOMAIN)


# ---------------------------------------------------------------------------------------------------------------
# measuring helpers
# ---------------------------------------------------------------------------------------------------------------
@dataclass
class LagSampler:
    """Event-loop lag: a task sleeps LAG_PERIOD_S again and again and records how late it wakes up. Anything that
    holds the loop (parsing a burst of messages, signing 300 orders) shows as lateness."""
    samples: List[float] = field(default_factory=list)
    _task: Optional[asyncio.Task] = None

    def start(self) -> "LagSampler":
        self._task = asyncio.ensure_future(self._run())
        return self

    async def _run(self) -> None:
        clock, sleep, record = time.perf_counter, asyncio.sleep, self.samples.append
        while True:
            started = clock()
            await sleep(LAG_PERIOD_S)
            record(clock() - started - LAG_PERIOD_S)

    async def stop(self) -> List[float]:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        return self.samples


def quantile(values: List[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def resting_order(connector, pair: str, mark: Decimal, is_buy: bool, distance: Decimal = RESTING_DISTANCE):
    """(amount, price) of a LIMIT that rests: `distance` away from the venue's mark, the smallest size the trading
    rule allows with 10 % of room over its minimum notional. The mark comes from the venue, not from the
    connector's book, so the burst runs (and is measured) even when a book never initialised."""
    rule = connector.trading_rules[pair]
    mid = mark
    price = connector.quantize_order_price(pair, mid * (1 - distance if is_buy else 1 + distance))
    step = rule.min_base_amount_increment
    wanted = max(rule.min_order_size, rule.min_notional_size * NOTIONAL_ROOM / price)
    amount = (wanted / step).to_integral_value(rounding=ROUND_UP) * step
    return amount, price


def venue_rate_limits(rate_limits=None) -> Dict[str, List[float]]:
    """The connector's declared limits as the simulator's `rate_limits` rules: the shared pool -> "*", a path ->
    every route with that path that has no limit of its own ("/orders" -> "POST /orders", since "GET /orders" has
    one), a route name -> itself. A weight w turns a limit of n into n // w requests."""
    from vest_simulator.ratelimit import ROUTES
    limits = CONSTANTS.RATE_LIMITS if rate_limits is None else rate_limits
    named = {limit.limit_id for limit in limits}
    rules: Dict[str, List[float]] = {}
    for limit in limits:
        allowed = [max(1, int(limit.limit // max(1, limit.weight))), float(limit.time_interval)]
        if limit.limit_id == CONSTANTS.ALL_ENDPOINTS_LIMIT_ID:
            rules[ALL_ROUTES] = allowed
        elif limit.limit_id in ROUTES:
            rules[limit.limit_id] = allowed
        else:
            for route in ROUTES:
                if route.split(" ", 1)[1] == limit.limit_id and route not in named:
                    rules[route] = allowed
    return rules


async def refusals(sim: "SimProcess", session: aiohttp.ClientSession, reset: bool = True) -> Dict[str, Any]:
    """The simulator's rate-limit refusals since the last reset: total and per route (then counts start afresh)."""
    stats = await sim.admin(session, "GET", "stats")
    if reset:
        await sim.admin(session, "POST", "stats/reset")
    return {"total": int(stats["rateLimitedTotal"]), "routes": dict(stats["rateLimited"]),
            "requests": sum(stats["routeCounts"].values())}


async def venue_marks(sim: "SimProcess", session: aiohttp.ClientSession, pair_by_symbol: Dict[str, str]
                      ) -> Dict[str, Decimal]:
    """pair -> mark price, read from the simulator's admin side (`/_sim/step` with count 0 steps nothing and lists
    every ticker), so the read costs the connector's rate-limit budget nothing."""
    tickers = (await sim.admin(session, "POST", "step", json={"count": 0}))["tickers"]
    return {pair_by_symbol[row["symbol"]]: Decimal(row["markPrice"]) for row in tickers
            if row["symbol"] in pair_by_symbol}


async def venue_open_orders(sim: SimProcess, session: aiohttp.ClientSession, address: str) -> int:
    rows = await sim.admin(session, "GET", "orders", params={"address": address})
    return sum(1 for row in rows if row.get("status") in LIVE_STATUSES)


# ---------------------------------------------------------------------------------------------------------------
# the session
# ---------------------------------------------------------------------------------------------------------------
async def _session(symbols: int, orders: int, market_seconds: float, push_interval: Optional[float],
                   tick_interval: float, ready_timeout_s: float, burst_timeout_s: float,
                   settle_s: float) -> Dict[str, float]:
    result: Dict[str, float] = {"symbols": float(symbols), "orders": float(orders),
                                "market_seconds": float(market_seconds),
                                "push_interval_s": float(push_interval or tick_interval)}
    sim = SimProcess(symbols=symbols, seed=bc.SEED, tick_interval=tick_interval, push_interval=push_interval,
                     history_minutes=HISTORY_MINUTES)
    connector = None
    clock: Optional[asyncio.Task] = None
    ConnectionsFactory()._shared_client = None  # Hummingbot's process-wide session may belong to a dead loop
    started_sim = time.perf_counter()
    await sim.start()
    result["sim_start_s"] = time.perf_counter() - started_sim
    refused: Dict[str, Dict[str, Any]] = {}
    try:
        async with aiohttp.ClientSession() as session:
            rules = venue_rate_limits()
            await sim.admin(session, "POST", "faults", json={"rate_limits": rules})
            result["venue_rules"] = float(len(rules))
            account = await sim.admin(session, "POST", "accounts",
                                      json={"signingPrivateKey": bc.CONNECTOR_KEY, "balance": ACCOUNT_BALANCE})
            address = account["primaryAddress"]
            specs = scale_specs(symbols)
            pairs = [bc.pair_of(spec) for spec in specs]
            pair_by_symbol = {spec.symbol: bc.pair_of(spec) for spec in specs}
            await refusals(sim, session)
            with testnet_override(sim):
                connector = new_connector(pairs, account["apiKey"], account["accountGroup"])

                # 1. ready
                first_true: Dict[str, float] = {}
                started = time.perf_counter()
                await connector.start_network()
                clock = asyncio.ensure_future(bc._clock(connector))

                def ready() -> bool:
                    now = time.perf_counter() - started
                    for name, value in connector.status_dict.items():
                        if value:
                            first_true.setdefault(name, now)
                    return connector.ready

                waited = await bc._wait(ready, timeout=ready_timeout_s, poll=0.005)
                result["ready_s"] = time.perf_counter() - started if waited is not None else float("inf")
                result.update({f"status_{name}_s": first_true.get(name, float("inf"))
                               for name in connector.status_dict})
                refused["ready"] = await refusals(sim, session)
                if waited is None:  # the table shows "not ready"; the other phases still run and are measured
                    print(f"scale: not ready after {ready_timeout_s:g} s: {connector.status_dict}", file=sys.stderr)

                # 2. market data, steady state
                await asyncio.sleep(settle_s)
                result.update(await _market_data(connector, pairs, market_seconds))
                with _zero_cost_parser(connector._orderbook_ds):
                    floor = await _market_data(connector, pairs, market_seconds)
                result.update(floor_cpu_per_s=floor["cpu_per_s"], floor_md_msgs_per_s=floor["md_msgs_per_s"])
                refused["market"] = await refusals(sim, session)

                # 3. burst
                marks = await venue_marks(sim, session, pair_by_symbol)
                result.update(await _burst(connector, sim, session, address, pairs, marks, orders, burst_timeout_s))
                refused["burst"] = await refusals(sim, session)

                # 4. cancel_all
                result.update(await _cancel_all(connector, sim, session, address))
                refused["cancel"] = await refusals(sim, session)
    finally:
        if clock is not None:
            clock.cancel()
            await asyncio.gather(clock, return_exceptions=True)
        if connector is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connector.stop_network(), 10)
        await ConnectionsFactory().close()
        await sim.stop()
    for phase, counts in refused.items():
        result[f"refused_{phase}"] = float(counts["total"])
        result[f"requests_{phase}"] = float(counts["requests"])
    result["refused_total"] = float(sum(counts["total"] for counts in refused.values()))
    result["requests_total"] = float(sum(counts["requests"] for counts in refused.values()))
    # which routes were refused: kept for the README and for a reader of the result (not a table number)
    result["refused_routes"] = {phase: counts["routes"] for phase, counts in refused.items() if counts["total"]}
    return result


async def _market_data(connector, pairs: List[str], seconds: float) -> Dict[str, float]:
    """Lag and CPU while the books are fed; `books_live_share`: the share of pairs with a two-sided book at the start
    (below 1, the load measured is lighter than 100 live books)."""
    tracker = connector.order_book_tracker
    metrics = tracker.metrics
    books = tracker.order_books
    live = sum(1 for pair in pairs if pair in books and not books[pair].snapshot[0].empty
               and not books[pair].snapshot[1].empty)

    def applied() -> int:
        return metrics.total_snapshots_processed + metrics.total_diffs_processed + metrics.total_trades_processed

    sampler = LagSampler().start()
    messages_before = applied()
    cpu_before, wall_before = time.process_time(), time.perf_counter()
    await asyncio.sleep(seconds)
    cpu, wall = time.process_time() - cpu_before, time.perf_counter() - wall_before
    messages = applied() - messages_before
    lags = await sampler.stop()
    return {"lag_p50_ms": statistics.median(lags) * 1e3, "lag_p99_ms": quantile(lags, 0.99) * 1e3,
            "lag_max_ms": max(lags) * 1e3, "lag_samples": float(len(lags)), "cpu_per_s": cpu / wall,
            "md_msgs_per_s": messages / wall, "books_live_share": live / len(pairs)}


@contextlib.contextmanager
def _zero_cost_parser(data_source):
    """The floor of the CPU row: every push still crosses Hummingbot's WebSocket read and `json.loads`, the data
    source's envelope and channel routing, and goes into Hummingbot's queues, tracker and order books (rows built,
    funding copied), but each pair's payload parse is replaced by the first result reused. Whatever a connector's
    parser costs, it cannot use less CPU than this at the same message rate. Instance attributes only, removed
    after the window."""
    snapshots: Dict[str, Any] = {}
    funding: Dict[str, Any] = {}
    raw_funding: Dict[str, Any] = {}
    trades: Dict[str, Any] = {}
    parse_snapshot, parse_tickers, parse_trade = data_source._snapshot_message, data_source._on_tickers, \
        data_source._on_trade

    def snapshot_message(trading_pair, depth):
        if trading_pair not in snapshots:
            snapshots[trading_pair] = parse_snapshot(trading_pair, depth)
        return snapshots[trading_pair]

    def on_trade(channel, data, output):
        if channel not in trades:
            first: asyncio.Queue = asyncio.Queue()
            parse_trade(channel, data, first)
            trades[channel] = first.get_nowait() if not first.empty() else None
        if trades[channel] is not None:
            output.put_nowait(trades[channel])

    def on_tickers(channel, data, output):
        for row in data:
            trading_pair = data_source._pair_by_symbol.get(row.get("symbol"))
            if trading_pair is None:
                continue
            if trading_pair not in funding:
                first: asyncio.Queue = asyncio.Queue()
                data_source._funding_of_pair.pop(trading_pair, None)
                parse_tickers(channel, [row], first)
                funding[trading_pair] = first.get_nowait()
            values = (row.get("indexPrice"), row.get("markPrice"), row.get("oneHrFundingRate"))
            if raw_funding.get(trading_pair) != values:  # as many updates as the real path sends
                raw_funding[trading_pair] = values
                output.put_nowait(funding[trading_pair])

    data_source._snapshot_message, data_source._on_trade, data_source._on_tickers = \
        snapshot_message, on_trade, on_tickers
    try:
        yield
    finally:
        del data_source._snapshot_message, data_source._on_trade, data_source._on_tickers


async def _burst(connector, sim: SimProcess, session: aiohttp.ClientSession, address: str, pairs: List[str],
                 marks: Dict[str, Decimal], orders: int, timeout_s: float) -> Dict[str, float]:
    failures = EventLogger()
    connector.add_listener(MarketEvent.OrderFailure, failures)
    plans = [(pair,) + resting_order(connector, pair, marks[pair], is_buy=True)
             for pair in (pairs[i % len(pairs)] for i in range(orders))]
    sampler = LagSampler().start()
    tracker = connector._order_tracker
    started = time.perf_counter()
    ids = [connector.buy(pair, amount, OrderType.LIMIT, price, position_action=PositionAction.OPEN)
           for pair, amount, price in plans]  # all at once, in one call stack, as a strategy's tick would
    failed_ids = set()

    def acknowledged() -> bool:
        failed_ids.update(event.order_id for event in failures.event_log)
        for order_id in ids:
            if order_id in failed_ids:
                continue
            order = tracker.fetch_tracked_order(order_id)
            if order is None or order.exchange_order_id is None:
                return False
        return True

    waited = await bc._wait(acknowledged, timeout=timeout_s, poll=0.01)
    elapsed = time.perf_counter() - started if waited is not None else float("inf")
    lags = await sampler.stop()
    connector.remove_listener(MarketEvent.OrderFailure, failures)
    expired = sum(1 for event in failures.event_log
                  if "1132" in f"{event.error_message} {event.error_type}"
                  or "ORDER_EXPIRED" in f"{event.error_message} {event.error_type}")
    return {"burst_ack_s": elapsed, "burst_failed": float(len(failures.event_log)), "burst_expired": float(expired),
            "burst_open": float(await venue_open_orders(sim, session, address)),
            "burst_lag_max_ms": max(lags) * 1e3 if lags else float("nan")}


async def _cancel_all(connector, sim: SimProcess, session: aiohttp.ClientSession, address: str) -> Dict[str, float]:
    started = time.perf_counter()
    results = await connector.cancel_all(STOP_TIMEOUT_S)
    elapsed = time.perf_counter() - started
    left_open = await venue_open_orders(sim, session, address)
    await asyncio.sleep(CANCEL_SETTLE_S)  # cancels still on the wire when cancel_all gave up would land now
    return {"cancel_s": elapsed, "cancel_ok": float(sum(1 for r in results if r.success)),
            "cancel_asked": float(len(results)), "cancel_left_open": float(left_open),
            "cancel_left_open_2s": float(await venue_open_orders(sim, session, address))}


def bench_scale(symbols: int = 100, orders: int = 300, market_seconds: float = 30.0,
                push_interval: Optional[float] = None, tick_interval: float = TICK_INTERVAL_S,
                ready_timeout_s: float = READY_TIMEOUT_S, burst_timeout_s: float = BURST_TIMEOUT_S,
                settle_s: float = SETTLE_S) -> Dict[str, float]:
    """One session against `python -m vest_simulator --symbols N` in its own process: ready, market data load,
    burst of resting orders, cancel_all. `push_interval` None pushes depth/tickers on every tick."""
    with bc.quiet_logging():
        result = asyncio.run(_session(symbols, orders, market_seconds, push_interval, tick_interval,
                                      ready_timeout_s, burst_timeout_s, settle_s))
    routes = result.pop("refused_routes")
    if routes:  # the table counts refusals; which routes they hit is worth a line for whoever reads it
        print(f"scale: rate-limit refusals by phase and route: {routes}", file=sys.stderr)
    return result


if __name__ == "__main__":
    import json
    print(json.dumps(bench_scale(market_seconds=float(sys.argv[1]) if len(sys.argv) > 1 else 30.0), indent=1))
