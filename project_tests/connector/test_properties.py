"""Hypothesis property tests of the connector's parsing paths, driven at the listening-loop level.

Real objects throughout: one `VestPerpetualDerivative` (no keys, no network), its public order-book data source and
its private user-stream data source. Frames go in through each data source's own WebSocket read loop
(`_process_websocket_messages`, fed by a fake WSAssistant whose `iter_messages` yields the frames), and come out of
the real consumers: the base class's `listen_for_order_book_snapshots` / `listen_for_trades` /
`listen_for_funding_info` loops and Hummingbot's `OrderBook`, and the derivative's `_user_stream_event_listener`
with tracked orders. REST payloads go through the derivative's `_api_request` (a fake REST assistant returns the
status and body) into the account and order-status updates.

Frames take the forms Hummingbot's WSConnection hands over: a parsed JSON value (text frame), the raw text when it
did not parse, or bytes (binary frame: UTF-8 or Brotli). Hostile inputs are built broken by construction (a field
removed or given a wrong type, a truncated text, random bytes...), so the tests know which must be rejected without
asking the parser. Properties: nothing escapes a loop (no task dies, no ERROR record, no "Unexpected error");
every rejected payload is logged exactly once (a WARNING the first time, DEBUG repeats are fine); valid payloads
still come out; nothing emitted corrupts the consumer. Examples are derandomized, so runs are reproducible.
"""
import asyncio
import json
import logging
import tempfile
import unittest
from decimal import Decimal
from typing import Any, Dict, List, Optional, Tuple
from unittest.mock import AsyncMock

import brotli
from bidict import bidict
from hypothesis import HealthCheck, assume, given, settings, strategies as st

import hummingbot
from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_derivative import (
    VestPerpetualDerivative,
    client_order_id_for_nonce,
)
from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_messages import (
    VestAPIError,
    VestMarket,
    VestMessageError,
)
from hummingbot.core.data_type.common import OrderType, PositionAction, TradeType
from hummingbot.core.data_type.in_flight_order import OrderState
from hummingbot.core.data_type.order_book import OrderBook
from hummingbot.core.web_assistant.connections.data_types import WSResponse

BTC, ETH = "BTC-USDC", "ETH-USDC"
SIGNING_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"  # Hardhat test key #1  # noqa: mock
SYMBOLS = bidict({"BTC-PERP": BTC, "ETH-PERP": ETH})
NOW = 1_700_000_000.0
PROPERTY_SETTINGS = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                             suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# ----------------------------------------------------------------------------------------------------------------
# Strategies
# ----------------------------------------------------------------------------------------------------------------
json_scalars = st.none() | st.booleans() | st.integers(-2 ** 70, 2 ** 70) | \
    st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12)
json_values = st.recursive(json_scalars, lambda children: st.lists(children, max_size=4)
                           | st.dictionaries(st.text(max_size=8), children, max_size=4), max_leaves=12)
decimal_text = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("100000"), places=4,
                           allow_nan=False, allow_infinity=False).map(lambda d: f"{d:f}")
not_a_number = st.sampled_from(["", "abc", "NaN", "nan", "Infinity", "-inf", "1e999999", "0x10", "1,5", "--1"]) | \
    st.booleans() | st.lists(st.integers(), max_size=2) | st.dictionaries(st.text(max_size=3), st.integers(),
                                                                          max_size=2)
not_an_int = st.sampled_from(["", "abc", "1.5", "NaN", "1e3"]) | st.floats(allow_nan=False).filter(
    lambda f: not float(f).is_integer()) | st.booleans() | st.integers(min_value=2 ** 64) | st.lists(st.integers())
not_a_string = st.integers() | st.booleans() | st.none() | st.lists(st.text(max_size=3), max_size=2)
millis = st.integers(1_600_000_000_000, 1_900_000_000_000)


def level():
    return st.tuples(decimal_text, decimal_text).map(list)


def depth_data():
    return st.fixed_dictionaries({"bids": st.lists(level(), max_size=5), "asks": st.lists(level(), max_size=5)})


def trade_data():
    return st.fixed_dictionaries({
        "id": st.text(alphabet="0123456789abcdef", min_size=1, max_size=8).map(lambda s: "0x" + s),
        "price": decimal_text, "qty": st.one_of(decimal_text, decimal_text.map(lambda s: "-" + s)),
        "quoteQty": decimal_text, "time": millis})


def ticker_row(symbol=st.sampled_from(["BTC-PERP", "ETH-PERP", "SOL-PERP"])):
    return st.fixed_dictionaries({
        "symbol": symbol, "markPrice": decimal_text, "indexPrice": decimal_text,
        "oneHrFundingRate": st.decimals(min_value=Decimal("-0.01"), max_value=Decimal("0.01"), places=6,
                                        allow_nan=False).map(lambda d: f"{d:f}"),
        "cumFunding": decimal_text, "status": st.just("TRADING")})


@st.composite
def broken(draw, valid, required: Dict[str, Any], optional: Optional[Dict[str, Any]] = None):
    """A valid payload with one required field removed, nulled or given a value of the wrong type, or one optional
    field given a value of the wrong type."""
    payload = dict(draw(valid))
    fields = {**required, **(optional or {})}
    key = draw(st.sampled_from(sorted(fields)))
    how = draw(st.sampled_from(["remove", "null", "wrong"])) if key in required else "wrong"
    if how == "remove":
        payload.pop(key)
    elif how == "null":
        payload[key] = None
    else:
        payload[key] = draw(fields[key])
    return payload


@st.composite
def broken_depth(draw):
    data = dict(draw(depth_data()))
    side = draw(st.sampled_from(["bids", "asks"]))
    how = draw(st.sampled_from(["remove", "not a list", "bad level"]))
    if how == "remove":
        data.pop(side)
    elif how == "not a list":
        not_a_list = st.none() | st.integers() | st.text(max_size=5) | st.dictionaries(st.text(max_size=2), st.integers())
        data[side] = draw(not_a_list)
    else:
        bad = draw(st.none() | st.integers() | st.text(max_size=4) | st.lists(decimal_text, max_size=1))
        data[side] = list(data[side]) + [bad]
    return data


@st.composite
def non_numeric_depth(draw):
    """Depth whose shape is right but one price or size is not a finite number."""
    data = {"bids": list(draw(st.lists(level(), max_size=3))), "asks": list(draw(st.lists(level(), max_size=3)))}
    side = draw(st.sampled_from(["bids", "asks"]))
    bad = draw(st.sampled_from(["abc", "", "NaN", "inf", "-Infinity", "1e999999", "0x1f", "12,5"]))
    position = draw(st.integers(0, 1))
    row = [bad, "1.0"] if position == 0 else ["100.0", bad]
    data[side] = data[side] + [row]
    return data


# The trade id may be a number (REST) or a string (WS) (§2.6): only its absence is wrong.
TRADE_FIELDS = {"price": not_a_number, "qty": not_a_number, "time": not_an_int}
TICKER_FIELDS = {"symbol": not_a_string, "markPrice": not_a_number, "indexPrice": not_a_number,
                 "oneHrFundingRate": not_a_number}


def encode(message: Any, form: str) -> Any:
    text = json.dumps(message)
    if form == "parsed":
        return json.loads(text)
    if form == "bytes":
        return text.encode()
    return brotli.compress(text.encode())


frame_forms = st.sampled_from(["parsed", "bytes", "brotli"])


@st.composite
def garbage_frames(draw):
    """Frames that are not a `{"channel": str, ...}` object in any encoding."""
    kind = draw(st.sampled_from(["json non-object", "object without channel", "bad channel", "truncated",
                                 "random bytes", "brotli garbage", "error envelope"]))
    if kind == "json non-object":
        value = draw(json_values.filter(lambda v: not isinstance(v, dict)))
        return encode(value, draw(st.sampled_from(["parsed", "bytes"])))
    if kind == "object without channel":
        value = draw(st.dictionaries(st.text(max_size=8).filter(lambda k: k not in ("channel", "data", "result")),
                                     json_values, max_size=4))
        return encode(value, draw(frame_forms))
    if kind == "bad channel":
        return encode({"channel": draw(not_a_string), "data": draw(json_values)}, draw(frame_forms))
    if kind == "truncated":
        text = json.dumps({"channel": draw(st.sampled_from(["BTC-PERP@depth", "tickers", "account_private"])),
                           "data": draw(json_values)})
        cut = draw(st.integers(1, len(text) - 1))
        truncated = text[:cut]
        try:
            json.loads(truncated)
            assume(False)
        except ValueError:
            pass
        return draw(st.sampled_from([truncated, truncated.encode()]))
    if kind == "random bytes":
        raw = draw(st.binary(min_size=1, max_size=40))
        try:
            json.loads(raw.decode())
            assume(False)
        except (UnicodeDecodeError, ValueError):
            pass
        try:
            brotli.decompress(raw)
            assume(False)
        except brotli.error:
            pass
        return raw
    if kind == "brotli garbage":
        return brotli.compress(draw(st.binary(max_size=30)).replace(b"{", b"(") + b"\xff")
    return encode(draw(st.sampled_from([{"code": 1003, "msg": "Too many requests"},
                                        {"detail": {"code": 1125, "msg": "Listen key expired"}},
                                        {"detail": [{"loc": ["query", "time"], "msg": "Field required"}]}])),
                  draw(frame_forms))


# ----------------------------------------------------------------------------------------------------------------
# The harness
# ----------------------------------------------------------------------------------------------------------------
class FakeWebSocket:
    def __init__(self, frames: List[Any]):
        self.frames = frames
        self.sent: List[Any] = []

    async def iter_messages(self):
        for frame in self.frames:
            yield WSResponse(data=frame)

    async def send(self, request):
        self.sent.append(request)


class Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records: List[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)

    def take(self) -> List[logging.LogRecord]:
        records, self.records = self.records, []
        return records


REJECTION_PREFIXES = ("Skipping", "Ignoring")


def rejections(records: List[logging.LogRecord]) -> List[str]:
    return [r.getMessage() for r in records if r.getMessage().startswith(REJECTION_PREFIXES)]


def errors(records: List[logging.LogRecord]) -> List[str]:
    return [f"{r.levelname}: {r.getMessage()}" for r in records
            if r.levelno >= logging.ERROR or "Unexpected error" in r.getMessage()]


class Harness:
    """The connector with its data sources' real loops running on a private event loop."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.records = Records()
        self._loggers = [logging.getLogger("hummingbot")]
        self._data_dir = tempfile.TemporaryDirectory()  # the connector's order journal goes here
        self._previous_data_path = hummingbot.data_path()
        hummingbot.set_data_path(self._data_dir.name)
        self.loop.run_until_complete(self._start())

    async def _start(self):
        for logger in self._loggers:
            self._level = logger.level
            logger.setLevel(logging.DEBUG)
            logger.addHandler(self.records)
        self.connector = VestPerpetualDerivative(vest_perpetual_api_key="test-api-key",
                                                 vest_perpetual_signing_private_key=SIGNING_KEY,
                                                 trading_pairs=[BTC, ETH], trading_required=True)
        self.connector._set_trading_pair_symbol_map(SYMBOLS)
        self.connector._update_account = AsyncMock()  # fills schedule an account refresh; no network here
        self.public = self.connector._orderbook_ds
        self.public._time = lambda: NOW  # one funding hour throughout: only the rows' values change the funding
        await self.public._subscribe_channels(FakeWebSocket([]))
        self.private = self.connector._user_stream_tracker.data_source
        self.user_queue = self.connector._user_stream_tracker.user_stream
        self.snapshots, self.trades, self.funding = asyncio.Queue(), asyncio.Queue(), asyncio.Queue()
        loop = asyncio.get_running_loop()
        self.tasks = [
            asyncio.ensure_future(self.public.listen_for_order_book_snapshots(loop, self.snapshots)),
            asyncio.ensure_future(self.public.listen_for_trades(loop, self.trades)),
            asyncio.ensure_future(self.public.listen_for_funding_info(self.funding)),
            asyncio.ensure_future(self.connector._user_stream_event_listener()),
        ]
        self.records.take()

    def close(self):
        async def stop():
            for task in self.tasks:
                task.cancel()
            await asyncio.gather(*self.tasks, return_exceptions=True)
            pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        self.loop.run_until_complete(stop())
        self.loop.close()
        for logger in self._loggers:
            logger.removeHandler(self.records)
            logger.setLevel(self._level)
        hummingbot.set_data_path(self._previous_data_path)
        self._data_dir.cleanup()

    def run(self, coroutine):
        return self.loop.run_until_complete(asyncio.wait_for(coroutine, 10))

    async def drain(self):
        """Let the loops consume everything queued (they never block on I/O here)."""
        queues = list(self.public._message_queue.values()) + [self.user_queue]
        for _ in range(200):
            await asyncio.sleep(0)
            if all(q.empty() for q in queues):
                break
        for _ in range(20):
            await asyncio.sleep(0)

    def alive(self) -> List[str]:
        return [f"{t.get_coro().__name__} ended: {t.exception() if not t.cancelled() else 'cancelled'}"
                for t in self.tasks if t.done()]

    @staticmethod
    def take_all(queue: asyncio.Queue) -> List[Any]:
        items = []
        while not queue.empty():
            items.append(queue.get_nowait())
        return items

    async def feed_public(self, frames: List[Any]) -> Tuple[List[Any], List[Any], List[Any], List[logging.LogRecord]]:
        await self.public._process_websocket_messages(FakeWebSocket(frames))
        await self.drain()
        return (self.take_all(self.snapshots), self.take_all(self.trades), self.take_all(self.funding),
                self.records.take())

    async def feed_private(self, frames: List[Any]) -> List[logging.LogRecord]:
        await self.private._process_websocket_messages(FakeWebSocket(frames), self.user_queue)
        await self.drain()
        return self.records.take()


class PropertyTestCase(unittest.TestCase):
    harness: Harness

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.harness = Harness()

    @classmethod
    def tearDownClass(cls):
        cls.harness.close()
        super().tearDownClass()

    def assertLoopsHealthy(self, records):
        self.assertEqual([], self.harness.alive(), "a listening loop ended")
        self.assertEqual([], errors(records), "an error escaped a parser into a loop's catch-all")


# ----------------------------------------------------------------------------------------------------------------
# Public stream
# ----------------------------------------------------------------------------------------------------------------
class PublicStreamProperties(PropertyTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.funding_sent: Dict[str, Tuple[Decimal, ...]] = {}  # the values of each market's last funding update

    def funding_updates_expected(self, good_rows: List[Dict[str, Any]]) -> int:
        """One message updates the funding of each tracked market one of whose good rows changes its values (rows
        of one market in one message supersede each other: one update, with the newest values)."""
        changed = set()
        for row in good_rows:
            if row["symbol"] in SYMBOLS:
                values = tuple(Decimal(row[name]) for name in ("indexPrice", "markPrice", "oneHrFundingRate"))
                if self.funding_sent.get(row["symbol"]) != values:
                    self.funding_sent[row["symbol"]] = values
                    changed.add(row["symbol"])
        return len(changed)

    @PROPERTY_SETTINGS
    @given(frame=garbage_frames())
    def test_garbage_frames_are_logged_once_and_produce_nothing(self, frame):
        snapshots, trades, funding, records = self.harness.run(self.harness.feed_public([frame]))
        self.assertLoopsHealthy(records)
        self.assertEqual(([], [], []), (snapshots, trades, funding))
        self.assertEqual(1, len(rejections(records)), [r.getMessage() for r in records])

    @PROPERTY_SETTINGS
    @given(data=st.one_of(broken_depth(), json_values.filter(lambda v: not isinstance(v, dict))),
           channel=st.sampled_from(["BTC-PERP@depth", "ETH-PERP@depth"]), form=frame_forms)
    def test_malformed_depth_is_rejected_and_logged_once(self, data, channel, form):
        snapshots, _, _, records = self.harness.run(
            self.harness.feed_public([encode({"channel": channel, "data": data}, form)]))
        self.assertLoopsHealthy(records)
        self.assertEqual([], snapshots)
        self.assertEqual(1, len(rejections(records)), [r.getMessage() for r in records])

    @PROPERTY_SETTINGS
    @given(data=broken(trade_data(), TRADE_FIELDS), channel=st.sampled_from(["BTC-PERP@trades", "ETH-PERP@trades"]),
           form=frame_forms)
    def test_malformed_trade_is_rejected_and_logged_once(self, data, channel, form):
        _, trades, _, records = self.harness.run(
            self.harness.feed_public([encode({"channel": channel, "data": data}, form)]))
        self.assertLoopsHealthy(records)
        self.assertEqual([], trades)
        self.assertEqual(1, len(rejections(records)), [r.getMessage() for r in records])

    @PROPERTY_SETTINGS
    @given(rows=st.lists(st.tuples(st.booleans(), ticker_row(), broken(ticker_row(), TICKER_FIELDS)), max_size=5),
           form=frame_forms)
    def test_tickers_reject_each_bad_row_once_and_keep_the_good_ones(self, rows, form):
        """Each good row of a tracked market updates its funding, unless it repeats the values sent last."""
        data = [good if ok else bad for ok, good, bad in rows]
        expected_updates = self.funding_updates_expected([good for ok, good, _ in rows if ok])
        expected_rejections = sum(1 for ok, _, _ in rows if not ok)
        _, _, funding, records = self.harness.run(
            self.harness.feed_public([encode({"channel": "tickers", "data": data}, form)]))
        self.assertLoopsHealthy(records)
        self.assertEqual(expected_updates, len(funding))
        self.assertEqual(expected_rejections, len(rejections(records)), [r.getMessage() for r in records])

    @PROPERTY_SETTINGS
    @given(depth=depth_data(), trade=trade_data(), rows=st.lists(ticker_row(), min_size=1, max_size=3),
           form=frame_forms)
    def test_valid_messages_still_flow_between_hostile_ones(self, depth, trade, rows, form):
        frames = [b"\xff\x00", encode({"channel": "BTC-PERP@depth", "data": depth}, form), "{\"channel\":",
                  encode({"channel": "ETH-PERP@trades", "data": trade}, form), {"channel": 7},
                  encode({"channel": "tickers", "data": rows}, form)]
        snapshots, trades, funding, records = self.harness.run(self.harness.feed_public(frames))
        self.assertLoopsHealthy(records)
        self.assertEqual([BTC], [m.trading_pair for m in snapshots])
        self.assertEqual([ETH], [m.trading_pair for m in trades])
        self.assertEqual(self.funding_updates_expected(rows), len(funding))
        self.assertEqual(3, len(rejections(records)))

    @PROPERTY_SETTINGS
    @given(data=non_numeric_depth(), form=frame_forms)
    def test_every_emitted_snapshot_can_be_applied_to_an_order_book(self, data, form):
        """What the data source emits goes straight into Hummingbot's OrderBook (OrderBookTracker's
        `_track_single_book`). A level whose price or size is not a finite number must be rejected at the data
        source: in the tracker it raises (logged with a traceback, then the pair's book stalls for 5 s) or, for
        "NaN"/"inf", silently puts a non-finite price into the book."""
        snapshots, _, _, records = self.harness.run(
            self.harness.feed_public([encode({"channel": "BTC-PERP@depth", "data": data}, form)]))
        self.assertLoopsHealthy(records)
        consequences = []
        for message in snapshots:
            try:
                book = OrderBook()
                book.restore_from_snapshot_and_diffs(message, [])  # what `_track_single_book` does with it
                rows = [row.price for row in message.bids + message.asks] + \
                    [row.amount for row in message.bids + message.asks]
                if not all(v == v and abs(v) != float("inf") for v in rows):
                    consequences.append("a non-finite price or size entered the order book")
            except Exception as error:
                consequences.append(f"the order book tracker would raise {error!r} (and stall the book for 5 s)")
        self.assertEqual([], snapshots, f"a depth level that is not a finite number was not rejected: {data}; "
                                        f"consequence: {consequences}")
        self.assertEqual(1, len(rejections(records)))


# ----------------------------------------------------------------------------------------------------------------
# Private stream
# ----------------------------------------------------------------------------------------------------------------
NONCE = 1_800_000_000_000
ORDER_FIELDS = {"id": not_a_string, "status": st.sampled_from(["OPEN", "filled", "", "CANCELED"]) | not_a_string}
ORDER_OPTIONAL_FIELDS = {"nonce": not_an_int}  # events are matched by nonce, else by id: a missing nonce is fine


def order_args(status=st.sampled_from(["NEW", "FILLED", "CANCELLED", "REJECTED"])):
    return st.fixed_dictionaries({
        "id": st.just("0xfeed"), "symbol": st.just("BTC-PERP"), "isBuy": st.booleans(),
        "orderType": st.just("LIMIT"), "limitPrice": decimal_text, "size": st.just("0.0100"),
        "reduceOnly": st.just(False), "status": status, "postTime": millis, "nonce": st.just(NONCE),
        "lastFilledSize": st.just("0.0100"), "lastFilledPrice": decimal_text, "lastFilledTime": millis,
        "avgFilledPrice": decimal_text, "fees": decimal_text, "code": st.just(3002)})


def private_message(event="ORDER", args=None):
    return {"channel": "account_private", "data": {"event": event, "args": args}}


@st.composite
def hostile_private_frames(draw):
    kind = draw(st.sampled_from(["garbage", "data not an object", "unknown event", "args not an object",
                                 "broken ORDER"]))
    form = draw(frame_forms)
    if kind == "garbage":
        return draw(garbage_frames())
    if kind == "data not an object":
        return encode({"channel": "account_private", "data": draw(json_values.filter(
            lambda v: not isinstance(v, dict)))}, form)
    if kind == "unknown event":
        event = draw(st.text(max_size=10).filter(lambda e: e not in ("ORDER", "LP", "TRANSFER")) | not_a_string)
        return encode(private_message(event, draw(json_values)), form)
    if kind == "args not an object":
        return encode(private_message(draw(st.sampled_from(["ORDER", "LP", "TRANSFER"])),
                                      draw(json_values.filter(lambda v: not isinstance(v, dict)))), form)
    return encode(private_message("ORDER", draw(broken(order_args(), ORDER_FIELDS, ORDER_OPTIONAL_FIELDS))), form)


def track_fresh_order(connector) -> Any:
    """One tracked LIMIT order with nonce NONCE (exchange id 0xfeed), and nothing else tracked."""
    tracker = connector._order_tracker
    tracker._in_flight_orders.clear()
    tracker._cached_orders.clear()
    tracker._lost_orders.clear()
    tracker._order_not_found_records.clear()
    order_id = client_order_id_for_nonce(NONCE)
    connector.start_tracking_order(order_id=order_id, exchange_order_id="0xfeed", trading_pair=BTC,
                                   trade_type=TradeType.BUY, price=Decimal("60000"), amount=Decimal("0.0100"),
                                   order_type=OrderType.LIMIT, position_action=PositionAction.OPEN)
    return connector.in_flight_orders[order_id]


class PrivateStreamProperties(PropertyTestCase):
    def fresh_order(self):
        order = track_fresh_order(self.harness.connector)
        self.harness.records.take()
        return order

    @PROPERTY_SETTINGS
    @given(frame=hostile_private_frames())
    def test_hostile_frames_are_logged_once_and_leave_the_tracked_order_alone(self, frame):
        order = self.fresh_order()
        records = self.harness.run(self.harness.feed_private([frame]))
        self.assertLoopsHealthy(records)
        self.assertEqual(1, len(rejections(records)), [r.getMessage() for r in records])
        self.assertIs(order, self.harness.connector.in_flight_orders.get(order.client_order_id))
        self.assertEqual(Decimal(0), order.executed_amount_base)
        self.assertIn(order.current_state, (OrderState.PENDING_CREATE, OrderState.OPEN))

    @PROPERTY_SETTINGS
    @given(channel=st.sampled_from(["BTC-PERP@depth", "account_public", "tickers"]),
           payloads=st.lists(json_values, min_size=2, max_size=4))
    def test_every_message_of_an_unexpected_channel_is_logged(self, channel, payloads):
        """Rejected payloads are logged exactly once each: a WARNING the first time, DEBUG for repeats (as the
        public data source does), never silence."""
        records = self.harness.run(self.harness.feed_private(
            [{"channel": channel, "data": payload} for payload in payloads]))
        self.assertLoopsHealthy(records)
        self.assertEqual(len(payloads), len(rejections(records)), [r.getMessage() for r in records])

    @PROPERTY_SETTINGS
    @given(args=order_args(), junk=st.lists(hostile_private_frames(), max_size=3), form=frame_forms)
    def test_valid_order_events_apply_between_hostile_frames(self, args, junk, form):
        order = self.fresh_order()
        frames = junk + [encode(private_message("ORDER", args), form)]
        records = self.harness.run(self.harness.feed_private(frames))
        self.assertLoopsHealthy(records)
        expected = {"NEW": OrderState.OPEN, "FILLED": OrderState.FILLED, "CANCELLED": OrderState.CANCELED,
                    "REJECTED": OrderState.FAILED}[args["status"]]
        self.assertEqual(expected, order.current_state)
        self.assertEqual(Decimal("0.0100") if expected is OrderState.FILLED else Decimal(0),
                         order.executed_amount_base)

    @PROPERTY_SETTINGS
    @given(args=order_args(status=st.just("FILLED")), size=st.sampled_from(["-0.0100", "0.0000", "-1", "0.0200",
                                                                           "5.0000"]) | st.none(),
           price=st.sampled_from(["-5", "0", "-0.0001"]) | st.none())
    def test_fills_with_impossible_numbers_are_rejected(self, args, size, price):
        """A FILLED event must carry a positive size no larger than the order and a positive price: anything else
        (a negative or zero size, an over-fill, a zero or negative price) is a broken or hostile payload, to be
        rejected and logged once, not booked as a fill."""
        assume(size is not None or price is not None)
        order = self.fresh_order()
        if size is not None:
            args = {**args, "lastFilledSize": size}
        if price is not None:
            args = {**args, "lastFilledPrice": price, "avgFilledPrice": price}
        records = self.harness.run(self.harness.feed_private([private_message("ORDER", args)]))
        self.assertLoopsHealthy(records)
        self.assertEqual(Decimal(0), order.executed_amount_base,
                         f"a fill of {args['lastFilledSize']} at {args['lastFilledPrice']} was booked")
        self.assertEqual(1, len(rejections(records)), [r.getMessage() for r in records])


# ----------------------------------------------------------------------------------------------------------------
# REST
# ----------------------------------------------------------------------------------------------------------------
class FakeResponse:
    def __init__(self, status: int, body: str):
        self.status = status
        self._body = body
        self.headers: Dict[str, str] = {}

    async def text(self):
        return self._body


class FakeRestAssistant:
    """Answers every request with `response`, or with `route(method, url, params)` when that is set."""

    def __init__(self):
        self.response = FakeResponse(200, "{}")
        self.route = None
        self.requests: List[Tuple[str, str, Dict[str, Any]]] = []

    async def execute_request_and_get_response(self, url, method=None, params=None, **kwargs):
        self.requests.append((str(getattr(method, "value", method)), url, dict(params or {})))
        return self.route(self.requests[-1]) if self.route is not None else self.response

    async def call(self, request, timeout=None):
        """The way signed actions are sent (stamped once the throttler let them go)."""
        return await self.execute_request_and_get_response(request.url, method=request.method, params=request.params)


ACCOUNT = {"address": "0xabc", "balances": [{"asset": "USDC", "total": "1000.5", "locked": "0"}],
           "collateral": "1000.5", "withdrawable": "900.25", "totalAccountValue": "1000.5",
           "positions": [{"symbol": "BTC-PERP", "isLong": True, "size": "0.0100", "entryPrice": "60000.0",
                          "unrealizedPnl": "1.5", "settledFunding": "0"}],
           "leverages": [{"symbol": "BTC-PERP", "value": 10}], "time": 1_800_000_000_000}
not_a_list_of_objects = st.integers() | st.text(max_size=3) | st.lists(st.integers() | st.text(max_size=2),
                                                                       min_size=1, max_size=2)
ACCOUNT_FIELDS = {"balances": not_a_list_of_objects, "withdrawable": not_a_number,
                  "positions": not_a_list_of_objects, "leverages": not_a_list_of_objects}


@st.composite
def rest_bodies(draw, valid: Any, required: Dict[str, Any]):
    """(status, body text) that is not a usable answer: an error envelope, a non-JSON or truncated text, another
    JSON value, or the valid object with a field broken."""
    kind = draw(st.sampled_from(["envelope", "text", "truncated", "json"] + (["broken"] if required else [])))
    if kind == "envelope":
        status = draw(st.sampled_from([200, 400, 401, 422, 429, 500, 503]))
        body = draw(st.sampled_from([{"code": 1003, "msg": "Too many requests"},
                                     {"detail": {"code": 1002, "msg": "Unauthorized"}},
                                     {"detail": [{"loc": ["query", "time"], "msg": "Field required"}]},
                                     {"detail": "Not Found"}]))
        return status, json.dumps(body)
    if kind == "text":
        return draw(st.sampled_from([200, 500, 502, 503])), draw(st.sampled_from(
            ["Service Unavailable", "<html>Bad Gateway</html>", "", "null", "\x00\x01"]))
    text = json.dumps(valid)
    if kind == "truncated":
        return 200, text[:draw(st.integers(1, len(text) - 1))]
    if kind == "json":
        return 200, json.dumps(draw(json_values.filter(lambda v: not isinstance(v, dict) or not v)))
    payload = dict(valid)
    key = draw(st.sampled_from(sorted(required)))
    payload[key] = draw(required[key])
    assume(payload[key] != valid[key])
    return 200, json.dumps(payload)


class RestProperties(PropertyTestCase):
    def setUp(self):
        self.rest = FakeRestAssistant()
        connector = self.harness.connector

        async def get_rest_assistant():
            return self.rest

        connector._web_assistants_factory.get_rest_assistant = get_rest_assistant
        self.update_account = type(connector)._update_account.__get__(connector)  # the real one, not the stub

    @PROPERTY_SETTINGS
    @given(answer=rest_bodies(ACCOUNT, ACCOUNT_FIELDS))
    def test_bad_account_answers_raise_classified_errors_and_change_nothing(self, answer):
        connector = self.harness.connector
        self.rest.response = FakeResponse(200, json.dumps(ACCOUNT))
        self.harness.run(self.update_account())
        balances, positions = dict(connector._account_balances), dict(connector.account_positions)
        self.rest.response = FakeResponse(*answer)
        try:
            self.harness.run(self.update_account())
        except (VestAPIError, VestMessageError):
            pass
        self.assertEqual(balances, connector._account_balances)
        self.assertEqual(positions.keys(), connector.account_positions.keys())

    @PROPERTY_SETTINGS
    @given(answer=rest_bodies([{"id": "0xfeed", "nonce": NONCE, "status": "NEW", "symbol": "BTC-PERP"}], {}))
    def test_bad_order_status_answers_raise_classified_errors(self, answer):
        connector = self.harness.connector
        order = track_fresh_order(connector)
        self.rest.response = FakeResponse(*answer)
        for call in (connector._request_order_status, connector._all_trade_updates_for_order):
            try:
                self.harness.run(call(order))
            except (VestAPIError, VestMessageError):
                pass

    @PROPERTY_SETTINGS
    @given(body=st.one_of(
        json_values.filter(lambda v: not (isinstance(v, dict) and (
            isinstance(v.get("id"), str) or "detail" in v or ("code" in v and "msg" in v)))),
        st.sampled_from(["", "OK", "{\"id\":", "<html></html>"])))
    def test_an_accepted_order_whose_answer_is_unreadable_is_looked_up_by_nonce(self, body):
        """`POST /orders` answered 200 (and no error envelope) means Vest took the order; a body without a
        readable `id` proves nothing else. The order must be found by nonce, like an order whose answer was lost,
        not failed (which would orphan a live order on the venue)."""
        connector = self.harness.connector
        connector._markets[BTC] = VestMarket(symbol="BTC-PERP", trading_pair=BTC, base="BTC", quote="USDC",
                                             size_decimals=4, price_decimals=1, taker_fee=Decimal("0.0001"),
                                             is_trading=True)
        connector._sleep = AsyncMock()
        order_id = client_order_id_for_nonce(NONCE + 7)
        row = {"id": "0xfeed", "status": "NEW", "symbol": "BTC-PERP", "isBuy": True,
               "orderType": "LIMIT", "limitPrice": "60000.0", "size": "0.0100", "reduceOnly": False}
        text = body if isinstance(body, str) and not body.startswith(("[", "{", "\"")) else json.dumps(body)

        def route(request):
            method, url, params = request
            if method == "POST":
                return FakeResponse(200, text)
            sent_nonce = connector.order_journal.nonce_of(order_id)  # the nonce the order left under
            return FakeResponse(200, json.dumps([{**row, "nonce": sent_nonce}]
                                                if params.get("nonce") == sent_nonce else []))

        self.rest.route = route
        self.rest.requests.clear()
        try:
            exchange_id, _ = self.harness.run(connector._place_order(
                order_id=order_id, trading_pair=BTC, amount=Decimal("0.0100"),
                trade_type=TradeType.BUY, order_type=OrderType.LIMIT, price=Decimal("60000"),
                position_action=PositionAction.OPEN))
        except (VestAPIError, VestMessageError) as error:
            self.fail(f"a 200 answer {text!r} failed the order ({error}) without looking it up by nonce")
        finally:
            self.rest.route = None
        self.assertEqual("0xfeed", exchange_id)
        self.assertEqual("POST", self.rest.requests[0][0], "the order was never sent")


if __name__ == "__main__":
    unittest.main()
