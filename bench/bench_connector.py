"""Benchmarks of the vest_perpetual connector's hot paths, each next to a reference measured in the same run.

Every function here measures ONE run and returns a flat dict of numbers; `bench/run.py` repeats them, takes
medians and prints the table. Everything is bounded in count and time and stays on loopback.

* `bench_sign`: `VestPerpetualAuth.signed_body(OrderAction)` (and its signature part alone); floor: keccak +
  coincurve sign of a 32-byte digest; peer: eth-account's default path.
* `bench_depth`: WS depth text frame -> `json.loads` (Hummingbot's WSConnection) -> data source -> OrderBookMessage
  -> `OrderBook.restore_from_snapshot_and_diffs`; reference: `json.loads` of the same frames.
* `bench_depth_pipeline`: the same frames through a real `OrderBookTracker` and its asyncio tasks (context).
* `bench_round_trip`: `buy()` -> exchange order id known, real connector against the simulator; reference: a
  bare aiohttp POST of the same kind of signed body.
* `bench_ready`: `start_network()` -> `ready` with N pairs.
* `bench_memory`: RSS growth over N depth + trade messages through data source, tracker and order books.
"""
from __future__ import annotations

import asyncio
import atexit
import contextlib
import datetime
import gc
import itertools
import json
import logging
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections import deque
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import coincurve  # noqa: E402
import psutil  # noqa: E402
from eth_hash.auto import keccak  # noqa: E402

from hummingbot.connector.derivative.vest_perpetual import (  # noqa: E402
    vest_perpetual_constants as CONSTANTS,
    vest_perpetual_web_utils as web_utils,
)
from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_api_order_book_data_source import (  # noqa: E402
    VestPerpetualAPIOrderBookDataSource,
)
from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_auth import (  # noqa: E402
    OrderAction,
    SigningKey,
    VestPerpetualAuth,
    action_digest,
)
from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_messages import parse_depth  # noqa: E402
from hummingbot.core.data_type.common import OrderType, PositionAction  # noqa: E402
from hummingbot.core.data_type.order_book import OrderBook  # noqa: E402
from hummingbot.core.data_type.order_book_message import OrderBookMessage  # noqa: E402
from hummingbot.core.data_type.order_book_tracker import OrderBookTracker  # noqa: E402
from hummingbot.core.web_assistant.connections.connections_factory import ConnectionsFactory  # noqa: E402
from hummingbot.core.web_assistant.connections.ws_connection import WSConnection  # noqa: E402
from hummingbot.core.web_assistant.web_assistants_factory import WebAssistantsFactory  # noqa: E402
from vest_simulator import VestSimulator  # noqa: E402
from vest_simulator.market import CATALOG, Market, SymbolSpec, resolve_specs  # noqa: E402
from vest_simulator.signatures import ORDER_TYPES, request_digest  # noqa: E402

# Hardhat's well-known public test keys #1 and #2 (never funded anywhere real).
CONNECTOR_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"  # noqa: mock
REFERENCE_KEY = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"  # noqa: mock
DEPTH_LEVELS = 20
SEED = 17
HUMMINGBOT_CLOCK_TICK_S = 1.0  # Hummingbot's clock ticks connectors once a second


# ---------------------------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------------------------
def machine_notes() -> Dict[str, str]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    try:
        from importlib.metadata import version
        hummingbot_version = version("hummingbot")
    except Exception:  # pragma: no cover - metadata missing
        hummingbot_version = "unknown"
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    return {
        "cpu": f"{cpu} ({os.cpu_count()} logical cores)",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "hummingbot": hummingbot_version,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "load": load,
    }


def _per_call(fn: Callable[[], Any], calls: int) -> float:
    """Seconds per call of `fn`, which performs `calls` operations."""
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) / calls


def _drive(coroutine) -> None:
    """Runs a coroutine that never suspends (the data source's message parsers) without an event loop hop."""
    try:
        coroutine.send(None)
    except StopIteration:
        return
    coroutine.close()
    raise RuntimeError("the parser suspended; it must complete synchronously")


@contextlib.contextmanager
def quiet_logging(enabled: bool = True) -> Iterator[None]:
    """Hummingbot logs one `Error writing configs` traceback on the first order outside a client install; the
    connector logs subscriptions. None of it is part of the measurement."""
    if not enabled:
        yield
        return
    previous = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        yield
    finally:
        logging.disable(previous)


@contextlib.contextmanager
def env_override(values: Dict[str, str]) -> Iterator[None]:
    """Sets these environment variables, restoring the environment afterwards."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def venue_env(sim: VestSimulator):
    """Points the connector at the simulator (the documented env-var override)."""
    return env_override({CONSTANTS.REST_URL_ENV_VAR: sim.rest_url, CONSTANTS.WS_URL_ENV_VAR: sim.ws_url})


def bench_specs(count: int) -> List[SymbolSpec]:
    """`count` markets: the simulator's catalog first, then synthetic SOL-like markets `BENCHn-PERP`."""
    specs = list(CATALOG.values())[:count]
    for i in range(count - len(specs)):
        specs.append(replace(CATALOG["SOL-PERP"], symbol=f"BENCH{i}-PERP", base=f"BENCH{i}",
                             start_price=Decimal(10 + i)))
    return specs


def pair_of(spec: SymbolSpec) -> str:
    return f"{spec.base}-{spec.quote}"


# ---------------------------------------------------------------------------------------------------------------
# 1. signing
# ---------------------------------------------------------------------------------------------------------------
def _order_actions(count: int) -> List[OrderAction]:
    base = 1_760_000_000_000
    return [OrderAction(time=base + i, nonce=base + i, order_type="LIMIT", symbol="BTC-PERP", is_buy=i % 2 == 0,
                        size="0.0125", limit_price=f"{64000 + i}.5", reduce_only=False, time_in_force="GTC")
            for i in range(count)]


def eth_account_sign(action: OrderAction, private_key: str) -> str:
    """The peer: what a client built on eth-account does by default (eth_abi.encode, keccak, sign_message)."""
    from eth_abi import encode
    from eth_account import Account
    from eth_account.messages import encode_defunct
    digest = keccak(encode(list(action.ABI_TYPES), list(action.abi_values())))
    signature = Account.sign_message(encode_defunct(primitive=digest), private_key=private_key).signature
    return "0x" + bytes(signature).hex()


def bench_sign(iterations: int = 5000, peer_iterations: int = 500, repeats: int = 5) -> Dict[str, float]:
    """Microseconds per signed order: the production path `VestPerpetualAuth.signed_body(action)` (the JSON body:
    `order_json()` + signature), its signature part alone (`SigningKey.sign_personal(action_digest(action))`: ABI
    encoding, keccak, EIP-191 prefix + keccak, coincurve, hex), the floor (keccak + coincurve of a 32-byte digest)
    and eth-account's default path (the peer)."""
    auth = VestPerpetualAuth(api_key="bench", signing_private_key=CONNECTOR_KEY)
    signing_key = SigningKey(CONNECTOR_KEY)  # what `auth` signs with, built the same way
    actions = _order_actions(64)
    expected = eth_account_sign(actions[0], CONNECTOR_KEY)
    if auth.signed_body(actions[0])["signature"] != expected \
            or signing_key.sign_personal(action_digest(actions[0])) != expected:
        raise AssertionError("VestPerpetualAuth.signed_body disagrees with eth-account: benchmark refused")
    key = coincurve.PrivateKey(bytes.fromhex(CONNECTOR_KEY[2:]))
    digests = [keccak(str(i).encode()) for i in range(64)]
    rounds = max(1, iterations // len(actions))
    peer_actions = actions[:max(1, min(len(actions), peer_iterations))]
    peer_rounds = max(1, peer_iterations // len(peer_actions))
    signed_body, sign_personal = auth.signed_body, signing_key.sign_personal
    sign_recoverable = key.sign_recoverable

    def ours():
        for _ in range(rounds):
            for action in actions:
                signed_body(action)

    def signature_only():
        for _ in range(rounds):
            for action in actions:
                sign_personal(action_digest(action))

    def floor():
        for _ in range(rounds):
            for digest in digests:
                sign_recoverable(keccak(digest), hasher=None)

    def peer():
        for _ in range(peer_rounds):
            for action in peer_actions:
                eth_account_sign(action, CONNECTOR_KEY)

    measured, signatures, reference, peers = [], [], [], []
    for _ in range(repeats):  # interleaved, so drift in machine load hits all of them alike
        measured.append(_per_call(ours, rounds * len(actions)))
        signatures.append(_per_call(signature_only, rounds * len(actions)))
        reference.append(_per_call(floor, rounds * len(digests)))
        peers.append(_per_call(peer, peer_rounds * len(peer_actions)))
    return {"sign_us": statistics.median(measured) * 1e6, "signature_us": statistics.median(signatures) * 1e6,
            "floor_us": statistics.median(reference) * 1e6, "peer_us": statistics.median(peers) * 1e6}


# ---------------------------------------------------------------------------------------------------------------
# 2. WS depth -> order book
# ---------------------------------------------------------------------------------------------------------------
def market_frames(depth_messages: int, trade_messages: int = 0, symbols: int = 5,
                  levels: int = DEPTH_LEVELS) -> Tuple[List[str], List[str], Dict[str, str]]:
    """Text frames exactly as the simulator's hub publishes them (`{"channel","data"}`, compact JSON): depth
    snapshots of `levels` levels a side and trades, from the seeded market model, `symbol -> pair` too."""
    specs = resolve_specs(None)[:symbols]
    clock = itertools.count(1_760_000_000_000, 100)
    market = Market(specs, SEED, lambda: next(clock), 10)
    depth: List[str] = []
    trades: List[str] = []
    while len(depth) < depth_messages or len(trades) < trade_messages:
        for symbol, trade in market.step():
            if len(trades) < trade_messages:
                trades.append(json.dumps({"channel": f"{symbol}@trades", "data": trade}, separators=(",", ":")))
        for spec in specs:
            if len(depth) < depth_messages:
                depth.append(json.dumps({"channel": f"{spec.symbol}@depth", "data": market.depth(spec.symbol, levels)},
                                        separators=(",", ":")))
    return depth, trades, {spec.symbol: pair_of(spec) for spec in specs}


class _FakeConnector:
    """The only connector method the data source's subscription code calls."""

    def __init__(self, pair_by_symbol: Dict[str, str]):
        self._symbol_by_pair = {pair: symbol for symbol, pair in pair_by_symbol.items()}

    async def exchange_symbol_associated_to_pair(self, trading_pair: str) -> str:
        return self._symbol_by_pair[trading_pair]


class _RecordingWS:
    def __init__(self):
        self.sent: List[Any] = []

    async def send(self, request):
        self.sent.append(request)


def subscribed_data_source(pair_by_symbol: Dict[str, str]) -> VestPerpetualAPIOrderBookDataSource:
    """The real data source, subscribed through its own code path (a recording socket stands in for the WS)."""
    data_source = VestPerpetualAPIOrderBookDataSource(trading_pairs=list(pair_by_symbol.values()),
                                                      connector=_FakeConnector(pair_by_symbol), api_factory=None)
    _drive(data_source._subscribe_channels(_RecordingWS()))
    return data_source


def check_ws_decoding(frame: str):
    """The depth benchmark plays the WS connection with `json.loads`: refuse to run unless the connector's factory is
    Hummingbot's stock one (stock connections) and a stock `WSConnection` hands a text frame over as `json.loads`
    of it."""
    factory = web_utils.build_api_factory()
    if type(factory) is not WebAssistantsFactory or type(factory._connections_factory) is not ConnectionsFactory:
        raise AssertionError("the connector no longer uses Hummingbot's stock WS connection: benchmark refused")
    handed_over = WSConnection._build_resp(aiohttp.WSMessage(aiohttp.WSMsgType.TEXT, frame, None)).data
    if handed_over != json.loads(frame):
        raise AssertionError("WSConnection does not hand text frames over as json.loads: benchmark refused")


def bench_depth(messages: int = 2000, repeats: int = 5) -> Dict[str, float]:
    """Microseconds per WS depth message through the connector + Hummingbot order book, vs `json.loads` alone.

    Per frame, in the order production runs it: the text frame as it arrives -> `json.loads`, what Hummingbot's
    stock `WSConnection` does before any data source sees it -> `data_source._route(decoded)` (`parse_push`: the
    push envelope; channel router; `parse_depth`, the careful parser: `float()` on every level -> float pairs ->
    OrderBookMessage, put into the tracker's queue) -> `OrderBook.restore_from_snapshot_and_diffs(message, past_diffs)`, the call `OrderBookTracker._track_single_book` makes (it reads the rows and calls
    `apply_snapshot`). Also returns a per-stage breakdown (`stage_*_us`).
    """
    frames, _, pair_by_symbol = market_frames(messages)
    check_ws_decoding(frames[0])
    data_source = subscribed_data_source(pair_by_symbol)
    books = {pair: OrderBook() for pair in pair_by_symbol.values()}
    inbox = data_source._message_queue[data_source._snapshot_messages_queue_key]
    past_diffs: deque = deque(maxlen=1)  # Vest sends no diffs; the tracker still passes list(window)
    loads, route = json.loads, data_source._route

    def full_path():
        for frame in frames:
            route(loads(frame))  # WSConnection: `msg.json()`, i.e. json.loads of the text frame; parsed on arrival
            message = inbox.get_nowait()  # the queue Hummingbot's tracker reads
            books[message.content["trading_pair"]].restore_from_snapshot_and_diffs(message, list(past_diffs))

    def json_only():
        for frame in frames:
            loads(frame)

    timed = {"depth_us": full_path, "json_us": json_only, **_depth_stages(frames, data_source, books)}
    samples: Dict[str, List[float]] = {name: [] for name in timed}
    for _ in range(repeats):  # every repeat times all of them, so load drift hits path, reference and stages alike
        for name, fn in timed.items():
            samples[name].append(_per_call(fn, len(frames)))
    result = {name: statistics.median(values) * 1e6 for name, values in samples.items()}
    result["depth_per_s"] = 1e6 / result["depth_us"]
    result["json_per_s"] = 1e6 / result["json_us"]
    top_bid = next(iter(books.values())).snapshot[0]
    if top_bid.empty:
        raise AssertionError("depth benchmark applied nothing to the order book")
    return result


def _depth_stages(frames: List[str], data_source, books: Dict[str, OrderBook]) -> Dict[str, Callable[[], None]]:
    """The same path after the WSConnection's `json.loads` (that step is the reference), cut into stages, each to
    be timed alone over all frames."""
    inbox = data_source._message_queue[data_source._snapshot_messages_queue_key]
    decoded = [json.loads(frame) for frame in frames]
    messages: List[OrderBookMessage] = []
    for message in decoded:
        data_source._route(message)
        messages.append(inbox.get_nowait())
    rows = [(m.content["trading_pair"], m.bids, m.asks, m.update_id) for m in messages]

    def stage_route():  # envelope, channel, parse on arrival, into the queue: drained per message, as the tracker does
        for message in decoded:
            data_source._route(message)
            inbox.get_nowait()

    def stage_parse():  # the parser inside _route alone
        for message in decoded:
            parse_depth(message["data"])

    def stage_rows():  # .bids / .asks as the tracker reads them: the rows are built here, in C-level passes
        for message in messages:
            message.bids
            message.asks

    def stage_apply():  # the Cython OrderBook.apply_snapshot, rows prebuilt
        for pair, bids, asks, update_id in rows:
            books[pair].apply_snapshot(bids, asks, update_id)

    return {"stage_route_us": stage_route, "stage_parse_us": stage_parse, "stage_rows_us": stage_rows,
            "stage_apply_us": stage_apply}


# ---------------------------------------------------------------------------------------------------------------
# 2b/5. the real OrderBookTracker, fed as the WS reader feeds it (pipeline throughput and memory)
# ---------------------------------------------------------------------------------------------------------------
class TrackerRig:
    """The real data source + Hummingbot's OrderBookTracker with all its tasks. Our feed plays the WS connection
    and reader (`json.loads`, then `_route_messages` -> `_route`); REST is replaced by the first depth frame of
    each pair, and the tracker's one-second pause between initial snapshots is skipped (start-up is not measured
    here)."""

    def __init__(self, pair_by_symbol: Dict[str, str], first_depth: Dict[str, Any]):
        self.data_source = subscribed_data_source(pair_by_symbol)
        self.tracker = OrderBookTracker(data_source=self.data_source, trading_pairs=list(pair_by_symbol.values()))
        first = dict(first_depth)
        data_source = self.data_source

        async def snapshot(trading_pair: str):
            return data_source._snapshot_message(trading_pair, first[trading_pair])

        async def no_socket():
            await asyncio.Event().wait()

        async def no_rest_prices(trading_pairs, domain=None):
            return {pair: 0.0 for pair in trading_pairs}  # an empty answer would make the tracker's loop spin

        async def no_pause(*args, **kwargs):
            return None

        data_source._order_book_snapshot = snapshot
        data_source.listen_for_subscriptions = no_socket
        data_source.get_last_traded_prices = no_rest_prices
        self.tracker._sleep = no_pause

    async def start(self, timeout: float = 10.0):
        self.tracker.start()
        await asyncio.wait_for(self.tracker.wait_ready(), timeout)

    def stop(self):
        self.tracker.stop()

    def processed(self) -> int:
        metrics = self.tracker.metrics
        return metrics.total_snapshots_processed + metrics.total_trades_processed

    def drained(self) -> bool:
        keys = (self.data_source._snapshot_messages_queue_key, self.data_source._trade_messages_queue_key)
        queues = [self.data_source._message_queue[key] for key in keys]
        queues += [self.tracker._order_book_snapshot_stream, self.tracker._order_book_trade_stream]
        queues += list(self.tracker._tracking_message_queues.values())
        return all(queue.empty() for queue in queues)

    async def feed(self, frames: Iterator[str], count: int, batch: int = 64, timeout: float = 120.0):
        """Routes `count` frames, yielding to the tracker tasks every `batch` frames, then waits until every
        message has gone through the tracker and the order books."""
        route, loads = self.data_source._route, json.loads
        deadline = time.monotonic() + timeout
        for i, frame in zip(range(count), frames):
            route(loads(frame))  # decoded first, as Hummingbot's WSConnection hands text frames over
            if i % batch == batch - 1:
                await asyncio.sleep(0)
        while not self.drained():
            if time.monotonic() > deadline:
                raise TimeoutError(f"tracker processed {self.processed()} messages, queues not drained")
            await asyncio.sleep(0)


def _first_depth(frames: Sequence[str], pair_by_symbol: Dict[str, str]) -> Dict[str, Any]:
    first: Dict[str, Any] = {}
    for frame in frames:
        message = json.loads(frame)
        pair = pair_by_symbol[message["channel"].split("@")[0]]
        first.setdefault(pair, message["data"])
    return first


def bench_depth_pipeline(messages: int = 20000) -> Dict[str, float]:
    """Depth messages per second through the real OrderBookTracker tasks (asyncio queues and task hops)."""
    frames, _, pair_by_symbol = market_frames(min(messages, 2000))

    async def run():
        rig = TrackerRig(pair_by_symbol, _first_depth(frames, pair_by_symbol))
        await rig.start()
        try:
            await rig.feed(itertools.cycle(frames), min(500, messages))  # warm-up
            started = time.perf_counter()
            await rig.feed(itertools.cycle(frames), messages)
            elapsed = time.perf_counter() - started
        finally:
            rig.stop()
        return {"pipeline_per_s": messages / elapsed, "pipeline_us": elapsed / messages * 1e6}

    with quiet_logging():
        return asyncio.run(run())


def _trade_frames(templates: Sequence[str]) -> Iterator[str]:
    """Endless trade frames with unique ids (a leak keyed by trade id would show), from recorded trades."""
    for i in itertools.count():
        message = json.loads(templates[i % len(templates)])
        message["data"]["id"] = f"0x{i:064x}"
        yield json.dumps(message, separators=(",", ":"))


def bench_memory(messages: int = 100_000, warmup: int = 5000) -> Dict[str, float]:
    """RSS growth (MB) over `messages` WS messages, half depth snapshots and half trades, through the data source,
    the real OrderBookTracker and the order books, after a warm-up; garbage collected before both readings."""
    depth, trades, pair_by_symbol = market_frames(1000, 1000)
    process = psutil.Process()

    def mixed() -> Iterator[str]:
        trade_stream = _trade_frames(trades)
        for frame in itertools.cycle(depth):
            yield frame
            yield next(trade_stream)

    async def run():
        rig = TrackerRig(pair_by_symbol, _first_depth(depth, pair_by_symbol))
        await rig.start()
        try:
            stream = mixed()
            await rig.feed(stream, warmup)
            gc.collect()
            before = process.memory_info().rss
            started = time.perf_counter()
            await rig.feed(stream, messages)
            elapsed = time.perf_counter() - started
            gc.collect()
            after = process.memory_info().rss
        finally:
            rig.stop()
        return {"rss_growth_mb": (after - before) / 2 ** 20, "rss_before_mb": before / 2 ** 20,
                "memory_msgs_per_s": messages / elapsed, "messages": float(messages)}

    with quiet_logging():
        return asyncio.run(run())


# ---------------------------------------------------------------------------------------------------------------
# 3/4. against the simulator: order round trip and start-up
# ---------------------------------------------------------------------------------------------------------------
def _new_connector(trading_pairs: List[str], account) -> Any:
    """A connector whose order journal (written before every order is sent) goes to a temporary data folder."""
    import hummingbot
    from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_derivative import VestPerpetualDerivative
    data_dir = tempfile.mkdtemp(prefix="vest-bench-")
    atexit.register(shutil.rmtree, data_dir, ignore_errors=True)
    hummingbot.set_data_path(data_dir)
    return VestPerpetualDerivative(
        vest_perpetual_api_key=account.api_key, vest_perpetual_signing_private_key=CONNECTOR_KEY,
        vest_perpetual_account_group=account.account_group, trading_pairs=trading_pairs, trading_required=True)


async def _clock(connector, interval: float = HUMMINGBOT_CLOCK_TICK_S):
    """Hummingbot's clock: a tick at once, then one per `interval` (the status polls run on ticks)."""
    while True:
        connector.tick(time.time())
        await asyncio.sleep(interval)


async def _wait(condition: Callable[[], bool], timeout: float, poll: float = 0.002) -> Optional[float]:
    """Seconds until `condition()` holds, or None after `timeout`."""
    started = time.perf_counter()
    while not condition():
        if time.perf_counter() - started > timeout:
            return None
        await asyncio.sleep(poll)
    return time.perf_counter() - started


class BareClient:
    """The reference: aiohttp and coincurve only. Signs the same LIMIT order tuple with the simulator's own
    (independent) ABI encoder, POSTs it, reads the id; and, like the connector, keeps a private WS open that
    JSON-decodes the account events, so the venue does the same work for both accounts."""

    def __init__(self, sim: VestSimulator, account, private_key: str):
        self._sim, self._account = sim, account
        self._key = coincurve.PrivateKey(bytes.fromhex(private_key[2:]))
        self._headers = {"X-API-KEY": account.api_key, "xrestservermm": f"restserver{account.account_group}",
                         "Content-Type": "application/json"}
        self._session: Optional[aiohttp.ClientSession] = None
        self._ws = None
        self._reader: Optional[asyncio.Task] = None
        self._last_nonce = 0
        self.events = 0

    async def start(self):
        self._session = aiohttp.ClientSession()
        async with self._session.post(self._sim.rest_url + "/account/listenKey", headers=self._headers) as resp:
            listen_key = json.loads(await resp.read())["listenKey"]
        group = f"restserver{self._account.account_group}"
        self._ws = await self._session.ws_connect(
            f"{self._sim.ws_url}?version=1.0&xwebsocketserver={group}&websocketserver={group}&listenKey={listen_key}")
        await self._ws.send_str(json.dumps({"method": "SUBSCRIBE", "params": ["account_private"], "id": 1}))
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self):
        async for message in self._ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                json.loads(message.data)
                self.events += 1

    async def place(self, symbol: str, size: str, price: str) -> str:
        now = int(time.time() * 1e3)
        self._last_nonce = nonce = max(now, self._last_nonce + 1)
        values = (now, nonce, "LIMIT", symbol, True, size, price, False)
        raw = self._key.sign_recoverable(request_digest(ORDER_TYPES, values)[1], hasher=None)
        signature = "0x" + raw[:64].hex() + format(raw[64] + 27, "02x")
        body = {"order": {"time": now, "nonce": nonce, "symbol": symbol, "isBuy": True, "size": size,
                          "orderType": "LIMIT", "limitPrice": price, "reduceOnly": False, "timeInForce": "GTC"},
                "recvWindow": CONSTANTS.RECV_WINDOW_MS, "signature": signature}
        async with self._session.post(self._sim.rest_url + "/orders", data=json.dumps(body),
                                      headers=self._headers) as resp:
            answer = json.loads(await resp.read())
        if "id" not in answer:
            raise AssertionError(f"reference order rejected: {answer}")
        return answer["id"]

    async def close(self):
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        if self._ws is not None:
            await self._ws.close()
        if self._session is not None:
            await self._session.close()


class Venue:
    """Simulator + account(s) + started connector; every resource is released by `close()`."""

    def __init__(self, specs: List[SymbolSpec], tick_interval: Optional[float]):
        self.specs = specs
        self.pairs = [pair_of(spec) for spec in specs]
        self.sim = VestSimulator(seed=SEED, port=0, tick_interval=tick_interval, symbols=specs)
        self.connector = None
        self._env = None
        self._clock: Optional[asyncio.Task] = None

    async def open(self):
        ConnectionsFactory()._shared_client = None  # Hummingbot's process-wide session may belong to a dead loop
        await self.sim.start()
        self._env = venue_env(self.sim)
        self._env.__enter__()
        self.account = self.sim.create_account(signing_private_key=CONNECTOR_KEY, balance=Decimal("1000000"))
        self.connector = _new_connector(self.pairs, self.account)

    async def start_connector(self):
        await self.connector.start_network()
        self._clock = asyncio.ensure_future(_clock(self.connector))

    async def close(self):
        if self._clock is not None:
            self._clock.cancel()
            await asyncio.gather(self._clock, return_exceptions=True)
        if self.connector is not None:
            await self.connector.stop_network()
        await self.sim.stop()
        await ConnectionsFactory().close()
        if self._env is not None:
            self._env.__exit__(None, None, None)


async def _connector_order(connector, pair: str, amount: Decimal, price: Decimal, timeout: float = 10.0) -> float:
    """Seconds from `buy()` to the tracked order knowing its exchange order id."""
    started = time.perf_counter()
    order_id = connector.buy(pair, amount, OrderType.LIMIT, price, position_action=PositionAction.OPEN)
    tracker = connector._order_tracker
    order = tracker.fetch_tracked_order(order_id)
    while order is None:  # _create_order starts tracking on its first step
        await asyncio.sleep(0)
        order = tracker.fetch_tracked_order(order_id)
    await asyncio.wait_for(order.get_exchange_order_id(), timeout)
    elapsed = time.perf_counter() - started
    # Keep the tracker's state constant (one order at a time): Hummingbot's fetch_order walks every active and
    # cached order, so a growing book of resting orders would slow later samples for reasons outside this path.
    tracker.stop_tracking_order(order_id)
    tracker._cached_orders.pop(order_id, None)
    return elapsed


async def _round_trip(samples: int, pace_s: float, warmup: int) -> Dict[str, float]:
    venue = Venue(bench_specs(1), tick_interval=None)  # a quiet venue: no price ticks, no public pushes
    bare: Optional[BareClient] = None
    try:
        await venue.open()
        reference_account = venue.sim.create_account(signing_private_key=REFERENCE_KEY, balance=Decimal("1000000"))
        await venue.start_connector()
        if await _wait(lambda: venue.connector.ready, timeout=60) is None:
            raise TimeoutError(f"connector not ready: {venue.connector.status_dict}")
        bare = BareClient(venue.sim, reference_account, REFERENCE_KEY)
        await bare.start()
        pair, symbol = venue.pairs[0], venue.specs[0].symbol
        spec = venue.specs[0]
        price = (spec.start_price / 2).quantize(Decimal(1).scaleb(-spec.price_decimals))  # far from the market: rests
        amount = Decimal(1).scaleb(-spec.size_decimals) * 10
        size_text, price_text = f"{amount:f}", f"{price:f}"
        measured, reference = [], []
        for i in range(warmup + samples):
            # Alternate which goes first; the same idle gap precedes every sample. The gap also keeps the
            # connector under its own /orders rate limit (10/s), so its throttler never has to wait.
            for side in ((0, 1) if i % 2 == 0 else (1, 0)):
                await asyncio.sleep(pace_s)
                if side == 0:
                    elapsed = await _connector_order(venue.connector, pair, amount, price)
                    if i >= warmup:
                        measured.append(elapsed)
                else:
                    started = time.perf_counter()
                    await bare.place(symbol, size_text, price_text)
                    if i >= warmup:
                        reference.append(time.perf_counter() - started)
        return {"order_ms": statistics.median(measured) * 1e3, "bare_ms": statistics.median(reference) * 1e3,
                "order_p90_ms": _quantile(measured, 0.9) * 1e3, "bare_p90_ms": _quantile(reference, 0.9) * 1e3}
    finally:
        if bare is not None:
            await bare.close()
        await venue.close()


def _quantile(values: List[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def bench_round_trip(samples: int = 100, pace_s: float = 0.06, warmup: int = 3) -> Dict[str, float]:
    """Milliseconds from `buy()` to the exchange order id (median), and of the bare aiohttp reference."""
    with quiet_logging():
        return asyncio.run(_round_trip(samples, pace_s, warmup))


async def _ready(pairs: int, timeout_s: float) -> Dict[str, float]:
    venue = Venue(bench_specs(pairs), tick_interval=0.1)
    try:
        await venue.open()
        connector = venue.connector
        first_true: Dict[str, float] = {}
        became_ready: List[float] = []
        started = time.perf_counter()
        await venue.start_connector()

        def ready() -> bool:
            now = time.perf_counter() - started  # from before start_network(), like every status time
            for name, value in connector.status_dict.items():
                if value:
                    first_true.setdefault(name, now)
            if connector.ready:
                became_ready.append(now)
            return connector.ready

        elapsed = await _wait(ready, timeout=timeout_s)
        result = {"ready_s": became_ready[0] if elapsed is not None else float("inf")}
        result.update({f"status_{name}_s": first_true.get(name, float("inf")) for name in connector.status_dict})
        return result
    finally:
        await venue.close()


def bench_ready(pairs: int = 10, timeout_s: float = 15.0) -> Dict[str, float]:
    """Seconds from `start_network()` to `ready` with `pairs` trading pairs (inf when not ready by the timeout),
    and when each status flag first became true."""
    with quiet_logging():
        return asyncio.run(_ready(pairs, timeout_s))
