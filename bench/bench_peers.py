"""Peer section: the same work done by vest_perpetual and by connectors that ship inside Hummingbot, interleaved in
one run. The peers' own code is called (data sources, auth, derivative classes), never copied.

* depth: one WS depth message (20 levels a side, the same prices and sizes for every connector, each in its
  exchange's wire format) -> `json.loads` (Hummingbot's WSConnection) -> the data source's channel router and
  queue -> its own `_parse_order_book_*_message` -> `OrderBookMessage` -> the `OrderBook` call Hummingbot's
  tracker makes for that message type (`restore_from_snapshot_and_diffs` for a snapshot, `apply_diffs` for a
  diff). Peers: hyperliquid_perpetual (l2Book snapshot), binance_perpetual (depthUpdate diff), lighter_perpetual
  (order_book update diff), pacifica_perpetual (book snapshot).
* sign: one LIMIT order signed into the body that is sent: vest `json.dumps(VestPerpetualAuth.signed_body(action))`
  vs hyperliquid's `HyperliquidPerpetualAuth.add_auth_to_params_post(json.dumps(params), base_url)` (msgpack +
  EIP-712 via eth-account). hyperliquid's auth imports msgpack: `make bench-peers-deps`.
* round trip: `buy()` -> exchange order id known, for vest, binance_perpetual and hyperliquid_perpetual, each
  POSTing over a real loopback socket to one local server that answers with its exchange's canned acceptance; the
  reference is a bare `aiohttp` POST of a pre-signed body to the same server.

Peers only get what their parsing needs from a connector: a symbol <-> pair lookup (a dict), no more.
"""
from __future__ import annotations

import asyncio
import atexit
import hashlib
import importlib
import itertools
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable, Dict, List, Optional, Tuple

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import bench_connector as bc  # noqa: E402
from hummingbot.core.data_type.order_book import OrderBook  # noqa: E402
from hummingbot.core.data_type.order_book_message import OrderBookMessageType  # noqa: E402

Result = Dict[str, float]
DEPTH_PEERS = ("hyperliquid_perpetual", "binance_perpetual", "lighter_perpetual", "pacifica_perpetual")
SNAPSHOT = OrderBookMessageType.SNAPSHOT


def _module(connector: str, part: str):
    return importlib.import_module(f"hummingbot.connector.derivative.{connector}.{connector}_{part}")


def missing_import(connector: str, part: str) -> Optional[str]:
    """None when the peer's module imports, else the name of what is missing."""
    try:
        _module(connector, part)
        return None
    except ImportError as error:
        return getattr(error, "name", None) or str(error)


PARTS = {"depth": "api_order_book_data_source", "sign": "auth", "rt": "derivative"}


def skip_note(peer: str, key: str) -> str:
    """Why a peer's row has no number: the import its module lacks (the table shows it instead of a miss)."""
    missing = missing_import(peer, PARTS[key])
    return f"needs {missing}: make bench-peers-deps" if missing else "not measured for this peer"


class PeerConnector:
    """What the peers' data sources ask a connector while parsing: symbol <-> pair (and lighter's market ids)."""

    def __init__(self, pair_by_symbol: Dict[str, str], market_ids: Dict[int, str]):
        self._pairs = dict(pair_by_symbol)
        self._symbols = {pair: symbol for symbol, pair in pair_by_symbol.items()}
        self._markets = {market_id: SimpleNamespace(trading_pair=pair, market_id=market_id)
                         for market_id, pair in market_ids.items()}

    async def trading_pair_associated_to_exchange_symbol(self, symbol: str) -> str:
        return self._pairs[symbol]

    async def exchange_symbol_associated_to_pair(self, trading_pair: str) -> str:
        return self._symbols[trading_pair]

    def market_info_for_market_id(self, market_id: int):
        return self._markets[int(market_id)]


# ---------------------------------------------------------------------------------------------------------------
# depth: the same book in each exchange's wire format
# ---------------------------------------------------------------------------------------------------------------
def _compact(message: Dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"))


def peer_frames(vest_frames: List[str]) -> Tuple[Dict[str, List[str]], Dict[str, Dict[str, str]], Dict[int, str]]:
    """Each vest depth frame rewritten in each peer's wire format (same levels, same strings); per peer its
    symbol -> pair map; lighter's market id -> pair."""
    frames: Dict[str, List[str]] = {peer: [] for peer in DEPTH_PEERS}
    maps: Dict[str, Dict[str, str]] = {peer: {} for peer in DEPTH_PEERS}
    market_ids: Dict[int, str] = {}
    last_update: Dict[str, int] = {}
    clock = itertools.count(1_760_000_000_000, 100)
    for index, text in enumerate(vest_frames):
        message = json.loads(text)
        symbol = message["channel"].split("@")[0]
        base = symbol.split("-")[0]
        pair = f"{base}-USDC"
        bids, asks = message["data"]["bids"], message["data"]["asks"]
        now = next(clock)
        market_id = sorted({m for m, p in market_ids.items() if p == pair} or {len(market_ids)})[0]
        market_ids[market_id] = pair
        binance_symbol = f"{base.upper()}USDC"
        for peer, exchange_symbol in (("hyperliquid_perpetual", base), ("binance_perpetual", binance_symbol),
                                      ("pacifica_perpetual", base), ("lighter_perpetual", str(market_id))):
            maps[peer][exchange_symbol] = pair
        frames["hyperliquid_perpetual"].append(_compact({"channel": "l2Book", "data": {
            "coin": base, "time": now,
            "levels": [[{"px": p, "sz": s, "n": 1 + (i % 4)} for i, (p, s) in enumerate(side)]
                       for side in (bids, asks)]}}))
        previous = last_update.get(pair, 1000 * (index + 1))
        last_update[pair] = previous + 7
        frames["binance_perpetual"].append(_compact({"stream": f"{binance_symbol.lower()}@depth", "data": {
            "e": "depthUpdate", "E": now, "T": now - 2, "s": binance_symbol, "U": previous + 1, "u": previous + 7,
            "pu": previous, "b": bids, "a": asks}}))
        frames["lighter_perpetual"].append(_compact({
            "channel": f"order_book:{market_id}", "offset": index, "type": "update/order_book", "timestamp": now,
            "order_book": {"code": 0, "offset": index, "nonce": previous + 7, "begin_nonce": previous + 1,
                           "bids": [{"price": p, "size": s} for p, s in bids],
                           "asks": [{"price": p, "size": s} for p, s in asks]}}))
        frames["pacifica_perpetual"].append(_compact({"channel": "book", "data": {
            "l": [[{"p": p, "a": s, "n": 1 + (i % 4)} for i, (p, s) in enumerate(side)] for side in (bids, asks)],
            "s": base, "t": now, "li": previous + 7}}))
    return frames, maps, market_ids


def peer_depth_path(peer: str, frames: List[str], pair_by_symbol: Dict[str, str],
                    market_ids: Dict[int, str]) -> Callable[[], None]:
    """All frames through `peer`'s data source as Hummingbot runs it: `_process_websocket_messages` (channel,
    queue), then `listen_for_order_book_*` (its parser) and the tracker's `OrderBook` call."""
    module = _module(peer, "api_order_book_data_source")
    source_class = next(value for name, value in vars(module).items() if name.endswith("APIOrderBookDataSource")
                        and isinstance(value, type) and value.__module__ == module.__name__)
    connector = PeerConnector(pair_by_symbol, market_ids)
    data_source = source_class(trading_pairs=sorted(set(pair_by_symbol.values())), connector=connector,
                               api_factory=None)
    books = {pair: OrderBook() for pair in pair_by_symbol.values()}
    outbox: asyncio.Queue = asyncio.Queue()
    parsers = {data_source._snapshot_messages_queue_key: data_source._parse_order_book_snapshot_message,
               data_source._diff_messages_queue_key: data_source._parse_order_book_diff_message}
    channel_of, queue_keys, queues = (data_source._channel_originating_message, data_source._get_messages_queue_keys,
                                      data_source._message_queue)
    last_update_ids = getattr(data_source, "_last_update_id", None)  # binance chains diffs per pair
    loads, drive = json.loads, bc._drive

    def run():
        if last_update_ids is not None:
            last_update_ids.clear()  # each pass replays the frames: start each pair's diff chain afresh
        for frame in frames:
            data = loads(frame)
            channel = channel_of(event_message=data)
            if channel in queue_keys():
                queue = queues[channel]
                queue.put_nowait(data)
                drive(parsers[channel](queue.get_nowait(), outbox))
                message = outbox.get_nowait()
                book = books[message.content["trading_pair"]]
                if message.type is SNAPSHOT:
                    book.restore_from_snapshot_and_diffs(message, [])
                else:
                    book.apply_diffs(message.bids, message.asks, message.update_id)

    run()  # once untimed: it must apply every frame
    for pair, book in books.items():
        bids, asks = book.snapshot
        if bids.empty or asks.empty:
            raise AssertionError(f"{peer}: nothing applied to the {pair} book; benchmark refused")
    return run


def vest_depth_path(frames: List[str], pair_by_symbol: Dict[str, str]) -> Callable[[], None]:
    """The measured path of `bench_connector.bench_depth`: json.loads -> `_route` -> parser -> book."""
    data_source = bc.subscribed_data_source(pair_by_symbol)
    books = {pair: OrderBook() for pair in pair_by_symbol.values()}
    inbox = data_source._message_queue[data_source._snapshot_messages_queue_key]
    route, loads = data_source._route, json.loads

    def run():
        for frame in frames:
            route(loads(frame))
            message = inbox.get_nowait()  # the queue Hummingbot's tracker reads
            books[message.content["trading_pair"]].restore_from_snapshot_and_diffs(message, [])

    run()
    return run


def bench_peer_depth(messages: int = 2000, repeats: int = 5) -> Result:
    vest_frames, _, vest_pairs = bc.market_frames(messages)
    frames, maps, market_ids = peer_frames(vest_frames)
    paths = {"vest": vest_depth_path(vest_frames, vest_pairs)}
    for peer in DEPTH_PEERS:
        if missing_import(peer, "api_order_book_data_source") is None:
            paths[peer] = peer_depth_path(peer, frames[peer], maps[peer], market_ids)
    samples: Dict[str, List[float]] = {name: [] for name in paths}
    for _ in range(repeats):  # interleaved: load drift hits every connector alike
        for name, fn in paths.items():
            samples[name].append(bc._per_call(fn, len(vest_frames)))
    result = {f"depth_{name}_us": statistics.median(values) * 1e6 for name, values in samples.items()}
    result["depth_frame_bytes_vest"] = statistics.mean(len(f) for f in vest_frames)
    for peer in DEPTH_PEERS:
        result[f"depth_frame_bytes_{peer}"] = statistics.mean(len(f) for f in frames[peer])
    return result


# ---------------------------------------------------------------------------------------------------------------
# signing one order
# ---------------------------------------------------------------------------------------------------------------
def _hyperliquid_params(action, asset: int = 0) -> str:
    """The params text hyperliquid_perpetual's `_place_order` hands its auth for the same LIMIT order."""
    cloid = "0x" + hashlib.md5(str(action.nonce).encode()).hexdigest()
    return json.dumps({"type": "order", "grouping": "na", "orders": {
        "asset": asset, "isBuy": action.is_buy, "limitPx": float(action.limit_price), "sz": float(action.size),
        "reduceOnly": False, "orderType": {"limit": {"tif": "Gtc"}}, "cloid": cloid}})


def bench_peer_sign(iterations: int = 2000, peer_iterations: int = 300, repeats: int = 5) -> Result:
    from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_auth import VestPerpetualAuth
    actions = bc._order_actions(64)
    vest = VestPerpetualAuth(api_key="bench", signing_private_key=bc.CONNECTOR_KEY)
    signed_body, dumps = vest.signed_body, json.dumps
    rounds = max(1, iterations // len(actions))

    def ours():
        for _ in range(rounds):
            for action in actions:
                dumps(signed_body(action))

    paths = {"vest": (ours, rounds * len(actions))}
    if missing_import("hyperliquid_perpetual", "auth") is None:
        from eth_account import Account
        hl_constants = _module("hyperliquid_perpetual", "constants")
        auth = _module("hyperliquid_perpetual", "auth").HyperliquidPerpetualAuth(
            Account.from_key(bc.CONNECTOR_KEY).address, bc.CONNECTOR_KEY, use_vault=False)
        texts = [_hyperliquid_params(action) for action in actions]
        base_url, sign = hl_constants.PERPETUAL_BASE_URL, auth.add_auth_to_params_post
        if "signature" not in json.loads(sign(texts[0], base_url)):
            raise AssertionError("hyperliquid's auth did not sign the order: benchmark refused")
        peer_rounds = max(1, peer_iterations // len(texts))

        def hyperliquid():
            for _ in range(peer_rounds):
                for text in texts:
                    sign(text, base_url)

        paths["hyperliquid_perpetual"] = (hyperliquid, peer_rounds * len(texts))
    samples: Dict[str, List[float]] = {name: [] for name in paths}
    for _ in range(repeats):
        for name, (fn, calls) in paths.items():
            samples[name].append(bc._per_call(fn, calls))
    return {f"sign_{name}_us": statistics.median(values) * 1e6 for name, values in samples.items()}


# ---------------------------------------------------------------------------------------------------------------
# buy() -> exchange order id, over a real loopback POST
# ---------------------------------------------------------------------------------------------------------------
VEST_ID = "0x" + "ab" * 32
BARE_ID = "0x" + "cd" * 32
PEER_ORDER_ID = 4242
PEER_ORDER_TIME_MS = 1_760_000_000_000
ROUND_TRIP_AMOUNT = Decimal("0.01")
ROUND_TRIP_PRICE = Decimal("20000")  # far below any BTC mark: what a resting order would carry
# What each exchange answers an accepted LIMIT order (the fields its connector reads), by the edge's path prefix.
EDGE_ANSWERS = {
    "vest": {"id": VEST_ID},
    "binance": {"orderId": PEER_ORDER_ID, "updateTime": PEER_ORDER_TIME_MS},
    "hyperliquid": {"status": "ok", "response": {"type": "order", "data": {
        "statuses": [{"resting": {"oid": PEER_ORDER_ID}}]}}},
    "bare": {"id": BARE_ID},
}


class LoopbackEdge:
    """One aiohttp server on a free loopback port standing in for every exchange's order endpoint: it answers a
    POST under `/<prefix>/...` with that exchange's canned acceptance (pre-encoded, so it costs every client the
    same). Each request crosses a real socket, as the bare client's does."""

    def __init__(self):
        self._runner = None
        self.base = ""
        self._answers = {prefix: json.dumps(answer).encode() for prefix, answer in EDGE_ANSWERS.items()}

    async def _handle(self, request):
        from aiohttp import web
        await request.read()
        answer = self._answers.get(request.path.strip("/").split("/", 1)[0])
        if answer is None:
            return web.json_response({"error": f"no answer for {request.path}"}, status=404)
        return web.Response(body=answer, content_type="application/json")

    async def start(self) -> "LoopbackEdge":
        from aiohttp import web
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)  # a free port
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base = f"http://{host}:{port}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


class _Patched:
    """Module attributes and environment variables set for the benchmark (the base URLs) and restored afterwards."""

    def __init__(self):
        self._saved: List[Tuple[Any, str, Any]] = []
        self._env: Dict[str, Optional[str]] = {}

    def set(self, target: Any, name: str, value: Any) -> None:
        self._saved.append((target, name, getattr(target, name)))
        setattr(target, name, value)

    def set_env(self, name: str, value: str) -> None:
        self._env.setdefault(name, os.environ.get(name))
        os.environ[name] = value

    def restore(self) -> None:
        while self._saved:
            target, name, value = self._saved.pop()
            setattr(target, name, value)
        for name, value in self._env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._env.clear()


def _data_dir() -> str:
    import hummingbot
    path = tempfile.mkdtemp(prefix="vest-bench-peers-")
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    hummingbot.set_data_path(path)
    return path


def _rule(pair: str, price_tick: str, size_step: str):
    from hummingbot.connector.trading_rule import TradingRule
    return TradingRule(pair, min_order_size=Decimal(size_step), min_price_increment=Decimal(price_tick),
                       min_base_amount_increment=Decimal(size_step), min_notional_size=Decimal("1"))


async def _vest_connector(edge: LoopbackEdge, patched: _Patched) -> Tuple[Any, str]:
    """vest_perpetual's derivative, pointed at the edge by its documented URL override; its market read by its
    own parser from the simulator's exchangeInfo row."""
    from hummingbot.connector.derivative.vest_perpetual import vest_perpetual_constants as CONSTANTS
    from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_derivative import VestPerpetualDerivative
    from vest_simulator import VestSimulator
    patched.set_env(CONSTANTS.REST_URL_ENV_VAR, f"{edge.base}/vest/v2")
    row = VestSimulator(seed=bc.SEED, symbols=["BTC-PERP"], history_minutes=1,
                        tick_interval=None).market.exchange_symbol("BTC-PERP")
    info = {"symbols": [row]}
    connector = VestPerpetualDerivative(vest_perpetual_api_key="bench",
                                        vest_perpetual_signing_private_key=bc.CONNECTOR_KEY,
                                        trading_pairs=["BTC-USDC"], trading_required=True)
    connector._initialize_trading_pair_symbols_from_exchange_info(info)
    for rule in await connector._format_trading_rules(info):
        connector._trading_rules[rule.trading_pair] = rule
    return connector, "BTC-USDC"


async def _binance_connector(edge: LoopbackEdge, patched: _Patched) -> Tuple[Any, str]:
    from bidict import bidict
    constants = _module("binance_perpetual", "constants")
    patched.set(constants, "PERPETUAL_BASE_URL", f"{edge.base}/binance/fapi/")
    connector = _module("binance_perpetual", "derivative").BinancePerpetualDerivative(
        binance_perpetual_api_key="bench", binance_perpetual_api_secret="bench-secret", trading_pairs=["BTC-USDT"])
    connector._set_trading_pair_symbol_map(bidict({"BTCUSDT": "BTC-USDT"}))
    connector._trading_rules["BTC-USDT"] = _rule("BTC-USDT", "0.1", "0.001")
    connector._time_synchronizer.add_time_offset_ms_sample(0)  # else its pre-processor asks the server time first
    return connector, "BTC-USDT"


async def _hyperliquid_connector(edge: LoopbackEdge, patched: _Patched) -> Tuple[Any, str]:
    from bidict import bidict
    from eth_account import Account
    constants = _module("hyperliquid_perpetual", "constants")
    patched.set(constants, "TESTNET_BASE_URL", f"{edge.base}/hyperliquid")
    connector = _module("hyperliquid_perpetual", "derivative").HyperliquidPerpetualDerivative(
        hyperliquid_perpetual_secret_key=bc.CONNECTOR_KEY,
        hyperliquid_perpetual_address=Account.from_key(bc.CONNECTOR_KEY).address,
        trading_pairs=["BTC-USD"], domain=constants.TESTNET_DOMAIN)  # testnet: no builder-fee look-up
    connector._set_trading_pair_symbol_map(bidict({"BTC": "BTC-USD"}))
    connector.coin_to_asset = {"BTC": 0}
    connector._trading_rules["BTC-USD"] = _rule("BTC-USD", "0.1", "0.001")
    return connector, "BTC-USD"


ROUND_TRIP_PEERS = {"binance_perpetual": _binance_connector, "hyperliquid_perpetual": _hyperliquid_connector}


async def _round_trip(samples: int, pace_s: float, warmup: int) -> Result:
    import aiohttp

    from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_auth import VestPerpetualAuth
    from hummingbot.core.web_assistant.connections.connections_factory import ConnectionsFactory
    _data_dir()
    ConnectionsFactory()._shared_client = None  # Hummingbot's process-wide session may belong to a dead loop
    edge, patched = await LoopbackEdge().start(), _Patched()
    try:
        connectors = {"vest": await _vest_connector(edge, patched)}
        for peer, build in ROUND_TRIP_PEERS.items():
            if missing_import(peer, "derivative") is None:
                connectors[peer] = await build(edge, patched)
        body = json.dumps(VestPerpetualAuth(api_key="bench", signing_private_key=bc.CONNECTOR_KEY).signed_body(
            bc._order_actions(1)[0]))  # a signed order body, signed beforehand: the reference is the POST alone
        bare_url = f"{edge.base}/bare/orders"
        measured: Dict[str, List[float]] = {name: [] for name in [*connectors, "bare"]}
        async with aiohttp.ClientSession() as session:
            async def bare() -> float:
                started = time.perf_counter()
                async with session.post(bare_url, data=body, headers={"Content-Type": "application/json"}) as resp:
                    json.loads(await resp.read())
                return time.perf_counter() - started

            order = list(measured)
            for i in range(warmup + samples):
                # Rotate who goes first; the same idle gap precedes each sample and keeps every connector far
                # below its own order rate limit (vest: 10/s), so no throttler waits.
                for name in order[i % len(order):] + order[:i % len(order)]:
                    await asyncio.sleep(pace_s)
                    if name == "bare":
                        elapsed = await bare()
                    else:
                        connector, pair = connectors[name]
                        elapsed = await bc._connector_order(connector, pair, ROUND_TRIP_AMOUNT, ROUND_TRIP_PRICE)
                    if i >= warmup:
                        measured[name].append(elapsed)
        await ConnectionsFactory().close()
    finally:
        patched.restore()
        await edge.stop()
    result = {f"rt_{name}_us": statistics.median(values) * 1e6 for name, values in measured.items()}
    for name in connectors:  # each connector against the bare POST of the same run
        result[f"rt_{name}_over_bare"] = result[f"rt_{name}_us"] / result["rt_bare_us"]
    return result


def bench_peer_round_trip(samples: int = 40, pace_s: float = 0.03, warmup: int = 3) -> Result:
    with bc.quiet_logging():
        return asyncio.run(_round_trip(samples, pace_s, warmup))


def bench_peers(messages: int = 2000, repeats: int = 5, sign_iterations: int = 2000, sign_peer_iterations: int = 300,
                round_trip_samples: int = 40) -> Result:
    """Every peer comparison, one after another in one run (each interleaves its connectors internally)."""
    result: Result = {}
    with bc.quiet_logging():
        result.update(bench_peer_depth(messages, repeats))
        result.update(bench_peer_sign(sign_iterations, sign_peer_iterations, repeats))
    result.update(bench_peer_round_trip(round_trip_samples))
    return result


if __name__ == "__main__":
    print(json.dumps(bench_peers(), indent=1))
