"""Public data source: REST snapshot, funding and prices; the public WebSocket on Hummingbot's
`listen_for_subscriptions` (docs/vest-protocol.md §2, §5).

REST is mocked with `aioresponses`, the WebSocket with Hummingbot's `NetworkMockingAssistant` (frames reach the data
source through Hummingbot's stock WSConnection, so JSON text arrives parsed). `_sleep` is replaced by
`ControlledSleep`, which records every delay and blocks until the test releases it, so reconnect back-off and PINGs
are driven by the test instead of the clock. Synchronisation is always "wait until a condition holds".
"""
import asyncio
import json
import os
import re
from decimal import Decimal
from typing import Callable, Dict, List, Tuple
from unittest.mock import AsyncMock, patch
from urllib.parse import parse_qs, urlsplit

import aiohttp
import brotli
from aioresponses import CallbackResult, aioresponses
from bidict import bidict

from hummingbot.connector.derivative.vest_perpetual import (
    vest_perpetual_constants as CONSTANTS,
    vest_perpetual_web_utils as web_utils,
)
from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_api_order_book_data_source import (
    VestPerpetualAPIOrderBookDataSource,
)
from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_derivative import VestPerpetualDerivative
from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_messages import VestAPIError, VestMessageError
from hummingbot.connector.test_support.network_mocking_assistant import NetworkMockingAssistant
from hummingbot.core.data_type.common import TradeType
from hummingbot.core.data_type.funding_info import FundingInfoUpdate
from hummingbot.core.data_type.order_book_message import OrderBookMessageType
from hummingbot.core.data_type.order_book_row import OrderBookRow
from hummingbot.core.web_assistant.connections.connections_factory import ConnectionsFactory
from hummingbot.core.web_assistant.ws_assistant import WSAssistant
from test.isolated_asyncio_wrapper_test_case import IsolatedAsyncioWrapperTestCase
from test.logger_mixin_for_test import LoggerMixinForTest

BTC_PAIR, BTC_SYMBOL = "BTC-USDC", "BTC-PERP"
ETH_PAIR, ETH_SYMBOL = "ETH-USDC", "ETH-PERP"
SOL_PAIR, SOL_SYMBOL = "SOL-USDC", "SOL-PERP"
NOW = 1_700_000_123.5  # 2023-11-14 22:15:23.5 UTC
NEXT_HOUR = 1_700_002_800  # 23:00:00 UTC
# The messages Hummingbot's `listen_for_subscriptions` logs around the hooks.
CLOSED = "The websocket connection was closed ({})"
UNEXPECTED = "Unexpected error occurred when listening to order book streams. Retrying in 5 seconds..."


def rest_url(path: str) -> "re.Pattern":
    return re.compile(rf"^{re.escape(web_utils.public_rest_url(path, CONSTANTS.DOMAIN))}(\?.*)?$")


def query_of(mock: aioresponses, method: str = "GET") -> List[Dict[str, str]]:
    """Query parameters of every recorded request of a method, in call order."""
    return [{k: str(v) for k, v in (call.kwargs.get("params") or {}).items()}
            for (verb, _), calls in mock.requests.items() if verb == method for call in calls]


async def wait_until(condition: Callable[[], bool], timeout: float = 2.0):
    async def poll():
        while not condition():
            await asyncio.sleep(0)
    await asyncio.wait_for(poll(), timeout)


def price_levels(rows):
    return [(row.price, row.amount) for row in rows]


class ControlledSleep:
    """Stands in for a data source's `_sleep`: records delays; each call blocks until `release(delay)`.

    `open()` lets every pending and future sleep return at once (used to wind the loops down after a test)."""

    def __init__(self):
        self.calls: List[float] = []
        self._blocked: List[Tuple[float, asyncio.Event]] = []
        self._credits: Dict[float, int] = {}
        self._open = False

    async def __call__(self, delay: float):
        self.calls.append(delay)
        if self._open or self._credits.get(delay, 0) > 0:
            if not self._open:
                self._credits[delay] -= 1
            await asyncio.sleep(0)
            return
        gate = asyncio.Event()
        self._blocked.append((delay, gate))
        await gate.wait()

    def release(self, delay: float, times: int = 1):
        """Lets `times` sleeps of `delay` return: blocked ones first, later ones immediately."""
        for _ in range(times):
            for index, (blocked_delay, gate) in enumerate(self._blocked):
                if blocked_delay == delay:
                    gate.set()
                    del self._blocked[index]
                    break
            else:
                self._credits[delay] = self._credits.get(delay, 0) + 1

    def open(self):
        self._open = True
        for _, gate in self._blocked:
            gate.set()
        self._blocked.clear()

    def waiting(self, delay: float) -> bool:
        return any(blocked_delay == delay for blocked_delay, _ in self._blocked)

    def count(self, delay: float) -> int:
        return self.calls.count(delay)


def depth_message(symbol: str = BTC_SYMBOL, bids=None, asks=None) -> Dict:
    return {"channel": f"{symbol}@depth",
            "data": {"bids": bids if bids is not None else [["64000.10", "0.5000"], ["63999.00", "1.0000"]],
                     "asks": asks if asks is not None else [["64001.20", "0.4000"]]}}


def trade_message(symbol: str = BTC_SYMBOL, qty: str = "0.0100", trade_id: str = "0x9a01") -> Dict:
    return {"channel": f"{symbol}@trades",
            "data": {"id": trade_id, "price": "64000.50", "qty": qty, "quoteQty": "640.005000", "time": 1700000000123}}


def ticker_row(symbol: str, mark: str = "64000.5", index: str = "64001.0", rate: str = "0.00001") -> Dict:
    return {"symbol": symbol, "oneHrFundingRate": rate, "cumFunding": "1.5", "imbalance": "10",
            "indexPrice": index, "markPrice": mark, "priceChange": "1", "priceChangePercent": "0.1",
            "status": "TRADING"}


class VestPerpetualAPIOrderBookDataSourceTests(LoggerMixinForTest, IsolatedAsyncioWrapperTestCase):

    async def asyncSetUp(self):
        await super().asyncSetUp()
        # Another suite's `configure_web_assistants_factory` leaves its mock session on the (singleton) connections
        # factory; without this, `aiohttp.ClientSession.ws_connect` below would never be called.
        connections_factory = ConnectionsFactory()
        previous_session = connections_factory._ws_independent_session
        connections_factory._ws_independent_session = None
        self.addCleanup(setattr, connections_factory, "_ws_independent_session", previous_session)
        # Target the production URLs whatever a shell or another suite left in the URL override variables.
        environment = patch.dict(os.environ, {key: value for key, value in os.environ.items()
                                              if key not in (CONSTANTS.REST_URL_ENV_VAR, CONSTANTS.WS_URL_ENV_VAR)},
                                 clear=True)
        environment.start()
        self.addCleanup(environment.stop)
        self.mocking_assistant = NetworkMockingAssistant()
        await self.mocking_assistant.async_init()
        self.connector = VestPerpetualDerivative(trading_pairs=[BTC_PAIR], trading_required=False)
        self.connector._set_trading_pair_symbol_map(
            bidict({BTC_SYMBOL: BTC_PAIR, ETH_SYMBOL: ETH_PAIR, SOL_SYMBOL: SOL_PAIR}))
        self.data_source = VestPerpetualAPIOrderBookDataSource(
            trading_pairs=[BTC_PAIR], connector=self.connector, api_factory=self.connector._web_assistants_factory,
            domain=CONSTANTS.DOMAIN)
        self.sleep = ControlledSleep()
        self.data_source._sleep = self.sleep
        self.data_source._time = lambda: NOW
        self.set_loggers([self.data_source.logger()])  # before anything creates log_records: DEBUG is captured
        self.tasks: List[asyncio.Task] = []

    async def asyncTearDown(self):
        self.sleep.open()  # a cancelled loop still runs its interruption hook, which sleeps
        for task in self.tasks:
            task.cancel()
        await asyncio.wait_for(asyncio.gather(*self.tasks, return_exceptions=True), 5)
        self.data_source.logger().removeHandler(self)
        await super().asyncTearDown()

    def start(self, coroutine) -> asyncio.Task:
        task = asyncio.ensure_future(coroutine)
        self.tasks.append(task)
        return task

    def reconnect_sleeps(self) -> List[float]:
        return [delay for delay in self.sleep.calls if delay != CONSTANTS.WS_PING_INTERVAL]

    def messages_at(self, level: str) -> List[str]:
        return [record.getMessage() for record in self.log_records if record.levelname == level]

    def warnings(self) -> List[str]:
        return self.messages_at("WARNING")

    # -------------------------------------------------------------------------------------------- helpers (WS)
    def add_frame(self, ws, payload, message_type=aiohttp.WSMsgType.TEXT):
        message = json.dumps(payload) if isinstance(payload, (dict, list)) else payload
        self.mocking_assistant.add_websocket_aiohttp_message(ws, message=message, message_type=message_type)

    def sent(self, ws) -> List[Dict]:
        return self.mocking_assistant.json_messages_sent_through_websocket(ws)

    async def connected(self, ws_connect_mock, *websockets) -> AsyncMock:
        """Starts the listening loop on the given sockets and waits for the first subscription."""
        ws_connect_mock.side_effect = list(websockets)
        self.start(self.data_source.listen_for_subscriptions())
        await wait_until(lambda: len(self.sent(websockets[0])) >= 1)
        return websockets[0]

    def new_ws(self) -> AsyncMock:
        return self.mocking_assistant.create_websocket_mock()

    async def collect(self, listener, count: int, timeout: float = 2.0) -> List:
        output = asyncio.Queue()
        self.start(listener(output))
        return [await asyncio.wait_for(output.get(), timeout) for _ in range(count)]

    def snapshots_listener(self, output):
        return self.data_source.listen_for_order_book_snapshots(asyncio.get_running_loop(), output)

    def trades_listener(self, output):
        return self.data_source.listen_for_trades(asyncio.get_running_loop(), output)

    # -------------------------------------------------------------------------------------------- REST snapshot
    async def test_new_order_book_comes_from_the_rest_snapshot(self):
        with aioresponses() as mock:
            mock.get(rest_url(CONSTANTS.DEPTH_PATH_URL),
                     payload={"bids": [["64000.1", "0.5"]], "asks": [["64001.2", "0.4"], ["64002", "1"]]})
            order_book = await self.data_source.get_new_order_book(BTC_PAIR)
            self.assertEqual([{"symbol": BTC_SYMBOL, "limit": "100"}], query_of(mock))  # §2.7: the most allowed
        bids, asks = list(order_book.bid_entries()), list(order_book.ask_entries())
        self.assertEqual([(64000.1, 0.5)], [(row.price, row.amount) for row in bids])
        self.assertEqual([(64001.2, 0.4), (64002.0, 1.0)], [(row.price, row.amount) for row in asks])
        self.assertEqual(1, order_book.snapshot_uid)

    async def test_snapshot_message_names_the_pair(self):
        with aioresponses() as mock:
            mock.get(rest_url(CONSTANTS.DEPTH_PATH_URL), payload={"bids": [], "asks": [["1", "2"]]})
            message = await self.data_source._order_book_snapshot(ETH_PAIR)
            self.assertEqual([{"symbol": ETH_SYMBOL, "limit": str(CONSTANTS.DEPTH_LIMIT)}], query_of(mock))
        self.assertEqual(OrderBookMessageType.SNAPSHOT, message.type)
        self.assertEqual(ETH_PAIR, message.trading_pair)
        self.assertEqual(NOW, message.timestamp)
        self.assertEqual([(1.0, 2.0)], price_levels(message.asks))

    async def test_snapshot_update_ids_never_go_backwards(self):
        with aioresponses() as mock:
            mock.get(rest_url(CONSTANTS.DEPTH_PATH_URL), payload={"bids": [], "asks": []}, repeat=True)
            ids = [(await self.data_source._order_book_snapshot(BTC_PAIR)).update_id for _ in range(3)]
        self.assertEqual(sorted(set(ids)), ids)

    async def test_snapshot_rest_error_raises_the_vest_error(self):
        with aioresponses() as mock:
            mock.get(rest_url(CONSTANTS.DEPTH_PATH_URL), status=400, payload={"code": 1121, "msg": "bad symbol"})
            with self.assertRaises(VestAPIError) as raised:
                await self.data_source._order_book_snapshot(BTC_PAIR)
        self.assertEqual(1121, raised.exception.code)

    async def test_malformed_rest_snapshot_raises(self):
        with aioresponses() as mock:
            mock.get(rest_url(CONSTANTS.DEPTH_PATH_URL), payload={"bids": "none"})
            with self.assertRaises(VestMessageError):
                await self.data_source._order_book_snapshot(BTC_PAIR)

    async def test_the_first_book_comes_from_the_depth_push_when_it_beats_the_rest_answer(self):
        # §5.3: a push is a full snapshot. At start-up `/depth` waits behind its rate limit; the push does not.
        answered = asyncio.Event()

        async def slow_depth(url, **kwargs):
            await answered.wait()  # never set: the REST answer would come too late
            return CallbackResult(payload={"bids": [], "asks": []})

        self.data_source._track(BTC_SYMBOL, BTC_PAIR)
        with aioresponses() as mock:
            mock.get(rest_url(CONSTANTS.DEPTH_PATH_URL), callback=slow_depth)
            snapshot = asyncio.ensure_future(self.data_source._order_book_snapshot(BTC_PAIR))
            await wait_until(lambda: BTC_PAIR in self.data_source._awaited_pushes)
            pushed = depth_message()
            self.data_source._route(pushed)
            message = await asyncio.wait_for(snapshot, 1)
        self.assertEqual([(64000.1, 0.5), (63999.0, 1.0)], price_levels(message.bids))
        self.assertEqual({}, self.data_source._awaited_pushes)

    async def test_the_first_book_comes_from_rest_when_no_push_comes(self):
        with aioresponses() as mock:
            mock.get(rest_url(CONSTANTS.DEPTH_PATH_URL), payload={"bids": [["1", "2"]], "asks": []})
            message = await asyncio.wait_for(self.data_source._order_book_snapshot(BTC_PAIR), 1)
        self.assertEqual([(1.0, 2.0)], price_levels(message.bids))
        self.assertEqual({}, self.data_source._awaited_pushes)

    # -------------------------------------------------------------------------------------------- REST funding
    async def test_funding_info_from_ticker_latest(self):
        with aioresponses() as mock:
            mock.get(rest_url(CONSTANTS.TICKER_LATEST_PATH_URL),
                     payload={"tickers": [ticker_row(ETH_SYMBOL, mark="3000"), ticker_row(BTC_SYMBOL)]})
            info = await self.data_source.get_funding_info(BTC_PAIR)
            self.assertEqual([{"symbols": BTC_SYMBOL}], query_of(mock))
        self.assertEqual(BTC_PAIR, info.trading_pair)
        self.assertEqual(Decimal("64001.0"), info.index_price)
        self.assertEqual(Decimal("64000.5"), info.mark_price)
        self.assertEqual(Decimal("0.00001"), info.rate)
        self.assertEqual(NEXT_HOUR, info.next_funding_utc_timestamp)

    async def test_funding_infos_of_several_pairs_take_one_request(self):
        with aioresponses() as mock:
            mock.get(rest_url(CONSTANTS.TICKER_LATEST_PATH_URL),
                     payload={"tickers": [ticker_row(ETH_SYMBOL, mark="3000"), ticker_row(BTC_SYMBOL)]})
            infos = await self.data_source.get_funding_infos([BTC_PAIR, ETH_PAIR])
            self.assertEqual([{"symbols": f"{BTC_SYMBOL},{ETH_SYMBOL}"}], query_of(mock))
        self.assertEqual([(BTC_PAIR, Decimal("64000.5")), (ETH_PAIR, Decimal("3000"))],
                         [(info.trading_pair, info.mark_price) for info in infos])

    async def test_funding_info_without_the_symbol_raises(self):
        with aioresponses() as mock:
            mock.get(rest_url(CONSTANTS.TICKER_LATEST_PATH_URL), payload={"tickers": [ticker_row(ETH_SYMBOL)]})
            with self.assertRaises(VestMessageError):
                await self.data_source.get_funding_info(BTC_PAIR)

    async def test_funding_info_rest_error_raises(self):
        with aioresponses() as mock:
            mock.get(rest_url(CONSTANTS.TICKER_LATEST_PATH_URL), status=500, body="upstream down")
            with self.assertRaises(VestAPIError):
                await self.data_source.get_funding_info(BTC_PAIR)

    # -------------------------------------------------------------------------------------------- REST prices
    async def test_last_traded_price_is_the_newest_trade(self):
        with aioresponses() as mock:
            mock.get(rest_url(CONSTANTS.TRADES_PATH_URL),
                     payload=[{"id": 7, "price": "64010.5", "qty": "-0.2", "quoteQty": "12802.1", "time": 1}])
            prices = await self.data_source.get_last_traded_prices([BTC_PAIR])
            self.assertEqual([{"symbol": BTC_SYMBOL, "limit": "1"}], query_of(mock))
        self.assertEqual({BTC_PAIR: 64010.5}, prices)

    async def test_last_traded_price_falls_back_to_mark_price(self):
        with aioresponses() as mock:
            mock.get(rest_url(CONSTANTS.TRADES_PATH_URL),
                     payload=[{"id": "0x1", "price": "64010.5", "qty": "0.2", "quoteQty": "1", "time": 1}])
            mock.get(rest_url(CONSTANTS.TRADES_PATH_URL), payload=[])
            mock.get(rest_url(CONSTANTS.TRADES_PATH_URL), payload=[])
            mock.get(rest_url(CONSTANTS.TICKER_LATEST_PATH_URL),
                     payload={"tickers": [ticker_row(ETH_SYMBOL, mark="3000.25"), ticker_row(BTC_SYMBOL)]})
            prices = await self.data_source.get_last_traded_prices([BTC_PAIR, ETH_PAIR, SOL_PAIR])
            ticker_queries = [query for query in query_of(mock) if "symbols" in query]
        self.assertEqual({BTC_PAIR: 64010.5, ETH_PAIR: 3000.25}, prices)  # SOL: neither trade nor ticker
        self.assertEqual([{"symbols": f"{ETH_SYMBOL},{SOL_SYMBOL}"}], ticker_queries)  # one request for both

    async def test_last_traded_price_rest_error_raises(self):
        with aioresponses() as mock:
            mock.get(rest_url(CONSTANTS.TRADES_PATH_URL), status=429, payload={"code": 1003, "msg": "slow down"})
            with self.assertRaises(VestAPIError) as raised:
                await self.data_source.get_last_traded_prices([BTC_PAIR])
        self.assertEqual(1003, raised.exception.code)

    # -------------------------------------------------------------------------------------------- WS connect
    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_connects_to_group_0_and_subscribes_depth_trades_and_tickers(self, ws_connect_mock):
        self.data_source.add_trading_pair(ETH_PAIR)
        ws = await self.connected(ws_connect_mock, self.new_ws())
        url = ws_connect_mock.call_args.args[0]
        self.assertTrue(url.startswith(web_utils.ws_base_url(CONSTANTS.DOMAIN)))
        query = parse_qs(urlsplit(url).query)
        self.assertEqual(["1.0"], query["version"])
        self.assertEqual(["restserver0"], query["xwebsocketserver"])  # §1.2: both spellings of the group
        self.assertEqual(["restserver0"], query["websocketserver"])
        self.assertEqual(CONSTANTS.WS_HEARTBEAT_INTERVAL, ws_connect_mock.call_args.kwargs["heartbeat"])
        self.assertEqual([{"method": "SUBSCRIBE", "id": 1,
                           "params": ["tickers", "BTC-PERP@depth", "BTC-PERP@trades", "ETH-PERP@depth",
                                      "ETH-PERP@trades"]}], self.sent(ws))
        self.assertIsInstance(self.data_source._ws_assistant, WSAssistant)  # the live socket run-time calls use
        self.assertTrue(self.is_logged("INFO", "Subscribed to Vest public channels: tickers, BTC-PERP@depth, "
                                               "BTC-PERP@trades, ETH-PERP@depth, ETH-PERP@trades"))

    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_a_pair_vest_does_not_list_is_left_out_of_the_subscription(self, ws_connect_mock):
        self.data_source.add_trading_pair("DOGE-USDC")
        ws = await self.connected(ws_connect_mock, self.new_ws())
        self.assertEqual(["tickers", "BTC-PERP@depth", "BTC-PERP@trades"], self.sent(ws)[0]["params"])
        self.assertIn("Not subscribing to DOGE-USDC: Vest lists no such market.", self.warnings())

    # -------------------------------------------------------------------------------------------- WS depth
    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_depth_messages_are_full_snapshots_with_growing_update_ids(self, ws_connect_mock):
        ws = await self.connected(ws_connect_mock, self.new_ws())
        output = asyncio.Queue()
        self.start(self.snapshots_listener(output))
        self.add_frame(ws, depth_message())
        first = await asyncio.wait_for(output.get(), 2)
        self.add_frame(ws, depth_message(bids=[], asks=[["64005", "2"]]))
        second = await asyncio.wait_for(output.get(), 2)
        self.assertEqual(OrderBookMessageType.SNAPSHOT, first.type)
        self.assertEqual({"trading_pair": BTC_PAIR, "update_id": first.update_id,
                          "bids": [(64000.10, 0.5), (63999.0, 1.0)], "asks": [(64001.20, 0.4)]}, first.content)
        self.assertEqual([OrderBookRow(64000.10, 0.5, first.update_id), OrderBookRow(63999.0, 1.0, first.update_id)],
                         first.bids)
        self.assertEqual([OrderBookRow(64001.20, 0.4, first.update_id)], first.asks)
        self.assertEqual(NOW, first.timestamp)
        self.assertGreater(second.update_id, first.update_id)
        self.assertEqual([], second.bids)

    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_pushes_before_the_listener_starts_wait_and_later_ones_go_straight_to_it(self, ws_connect_mock):
        # Hummingbot's queue gets each push as it is parsed; pushes that came first are handed over in order.
        self.data_source.add_trading_pair(ETH_PAIR)
        ws = await self.connected(ws_connect_mock, self.new_ws())
        self.add_frame(ws, depth_message(bids=[["1", "1"]]))
        self.add_frame(ws, depth_message(ETH_SYMBOL, bids=[["5", "5"]]))
        await self.mocking_assistant.run_until_all_aiohttp_messages_delivered(ws)
        output = asyncio.Queue()
        listener = self.start(self.snapshots_listener(output))
        early = [await asyncio.wait_for(output.get(), 2) for _ in range(2)]
        self.assertEqual([(BTC_PAIR, [(1.0, 1.0)]), (ETH_PAIR, [(5.0, 5.0)])],
                         [(message.trading_pair, price_levels(message.bids)) for message in early])
        self.add_frame(ws, depth_message(bids=[["2", "2"]]))
        await self.mocking_assistant.run_until_all_aiohttp_messages_delivered(ws)
        self.assertEqual([(2.0, 2.0)], price_levels(output.get_nowait().bids))  # no task switch in between
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)
        self.add_frame(ws, depth_message(bids=[["3", "3"]]))
        await self.mocking_assistant.run_until_all_aiohttp_messages_delivered(ws)
        self.assertTrue(output.empty())  # a stopped listener's queue gets nothing more; the next listener will
        self.assertEqual([(3.0, 3.0)], price_levels((await self.collect(self.snapshots_listener, 1))[0].bids))

    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_binary_utf8_and_brotli_frames_are_decoded(self, ws_connect_mock):
        self.data_source.add_trading_pair(ETH_PAIR)
        ws = await self.connected(ws_connect_mock, self.new_ws())  # §5.1: the encoding is undocumented
        self.add_frame(ws, json.dumps(depth_message(bids=[["1", "1"]])).encode(), aiohttp.WSMsgType.BINARY)
        self.add_frame(ws, brotli.compress(json.dumps(depth_message(ETH_SYMBOL, bids=[["2", "2"]])).encode()),
                       aiohttp.WSMsgType.BINARY)
        self.add_frame(ws, brotli.compress(json.dumps(trade_message()).encode()), aiohttp.WSMsgType.BINARY)
        messages = await self.collect(self.snapshots_listener, 2)
        self.assertEqual({BTC_PAIR: [(1.0, 1.0)], ETH_PAIR: [(2.0, 2.0)]},
                         {message.trading_pair: price_levels(message.bids) for message in messages})
        trade = (await self.collect(self.trades_listener, 1))[0]
        self.assertEqual("0x9a01", trade.trade_id)
        self.assertEqual([], self.warnings())

    # -------------------------------------------------------------------------------------------- WS trades
    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_trades_take_their_side_from_the_sign_of_qty(self, ws_connect_mock):
        ws = await self.connected(ws_connect_mock, self.new_ws())
        self.add_frame(ws, trade_message(qty="-0.0100", trade_id="0xsell"))
        self.add_frame(ws, trade_message(qty="0.0300", trade_id="0xbuy"))
        sell, buy = await self.collect(self.trades_listener, 2)
        self.assertEqual(OrderBookMessageType.TRADE, sell.type)
        self.assertEqual(BTC_PAIR, sell.trading_pair)
        self.assertEqual(float(TradeType.SELL.value), sell.content["trade_type"])
        self.assertEqual(float(TradeType.BUY.value), buy.content["trade_type"])
        self.assertEqual(("0xsell", 64000.5, 0.01), (sell.trade_id, sell.content["price"], sell.content["amount"]))
        self.assertAlmostEqual(1700000000.123, sell.timestamp, places=6)
        self.assertGreater(buy.content["update_id"], sell.content["update_id"])

    # -------------------------------------------------------------------------------------------- WS funding
    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_tickers_give_one_funding_update_per_tracked_pair(self, ws_connect_mock):
        self.data_source.add_trading_pair(ETH_PAIR)
        ws = await self.connected(ws_connect_mock, self.new_ws())
        broken_row = {"symbol": "XRP-PERP", "markPrice": "n/a"}
        eth_row = ticker_row(ETH_SYMBOL, mark="3000", rate="-0.0002")
        self.add_frame(ws, {"channel": "tickers", "data": [ticker_row(SOL_SYMBOL), ticker_row(BTC_SYMBOL), broken_row,
                                                           eth_row]})
        updates = await self.collect(self.data_source.listen_for_funding_info, 2)
        self.assertTrue(all(isinstance(update, FundingInfoUpdate) for update in updates))
        by_pair = {update.trading_pair: update for update in updates}
        self.assertEqual({BTC_PAIR, ETH_PAIR}, set(by_pair))  # SOL is not tracked
        self.assertEqual((Decimal("64001.0"), Decimal("64000.5"), Decimal("0.00001"), NEXT_HOUR),
                         (by_pair[BTC_PAIR].index_price, by_pair[BTC_PAIR].mark_price, by_pair[BTC_PAIR].rate,
                          by_pair[BTC_PAIR].next_funding_utc_timestamp))
        self.assertEqual(Decimal("-0.0002"), by_pair[ETH_PAIR].rate)
        await wait_until(lambda: any("row of a tickers message" in text for text in self.warnings()))
        self.assertIn("Skipping malformed row of a tickers message: field 'markPrice' is not a number: 'n/a'",
                      self.warnings())

    async def test_tickers_update_a_pairs_funding_only_when_its_values_change(self):
        # Hummingbot copies every update field by field: 100 unchanged pairs a push would be work for nothing.
        self.data_source._track(BTC_SYMBOL, BTC_PAIR)
        self.data_source._track(ETH_SYMBOL, ETH_PAIR)
        queue = asyncio.Queue()

        async def push(*rows):
            await self.data_source._parse_funding_info_message(list(rows), queue)
            return [(update.trading_pair, update.mark_price)
                    for update in [queue.get_nowait() for _ in range(queue.qsize())]]

        self.assertEqual([(BTC_PAIR, Decimal("64000.5")), (ETH_PAIR, Decimal("3000"))],
                         await push(ticker_row(BTC_SYMBOL), ticker_row(ETH_SYMBOL, mark="3000")))
        self.assertEqual([], await push(ticker_row(BTC_SYMBOL), ticker_row(ETH_SYMBOL, mark="3000")))
        self.assertEqual([(ETH_PAIR, Decimal("3001"))],
                         await push(ticker_row(BTC_SYMBOL), ticker_row(ETH_SYMBOL, mark="3001")))
        self.assertEqual([(BTC_PAIR, Decimal("64000.5"))], await push(ticker_row(BTC_SYMBOL, rate="0.00002")))

    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_tickers_message_that_is_not_a_list_is_skipped(self, ws_connect_mock):
        ws = await self.connected(ws_connect_mock, self.new_ws())
        self.add_frame(ws, {"channel": "tickers", "data": {"symbol": BTC_SYMBOL}})
        self.add_frame(ws, {"channel": "tickers", "data": [ticker_row(BTC_SYMBOL)]})
        update = (await self.collect(self.data_source.listen_for_funding_info, 1))[0]
        self.assertEqual(BTC_PAIR, update.trading_pair)
        self.assertIn("Skipping malformed tickers message: data is not a list", self.warnings())

    # -------------------------------------------------------------------------------------------- WS failures
    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_control_replies_are_consumed_silently(self, ws_connect_mock):
        ws = await self.connected(ws_connect_mock, self.new_ws())
        self.add_frame(ws, {"data": "PONG"})  # §5.2
        self.add_frame(ws, {"data": "pong"})  # compared case-insensitively
        self.add_frame(ws, {"result": None, "id": 1})  # SUBSCRIBE ack
        self.add_frame(ws, json.dumps({"data": "PONG"}).encode(), aiohttp.WSMsgType.BINARY)
        self.add_frame(ws, depth_message())
        message = (await self.collect(self.snapshots_listener, 1))[0]
        self.assertEqual(BTC_PAIR, message.trading_pair)
        self.assertEqual([], self.warnings())
        self.assertTrue(all(queue.empty() for queue in self.data_source._message_queue.values()))

    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_malformed_frames_of_each_kind_are_logged_once_and_skipped(self, ws_connect_mock):
        ws = await self.connected(ws_connect_mock, self.new_ws())
        self.add_frame(ws, "not json at all")  # a text frame that is not JSON: Hummingbot hands over the text
        self.add_frame(ws, "not json at all")  # identical problem: not warned a second time
        self.add_frame(ws, b"\xff\xfe garbage", aiohttp.WSMsgType.BINARY)  # neither UTF-8 nor Brotli
        self.add_frame(ws, brotli.compress(b"{truncated"), aiohttp.WSMsgType.BINARY)  # Brotli, not JSON
        self.add_frame(ws, [1, 2, 3])  # JSON but not a message object
        self.add_frame(ws, "42")  # JSON scalar: Hummingbot hands over the int
        self.add_frame(ws, {"data": {"bids": []}})  # no channel
        self.add_frame(ws, depth_message(bids=[["64000"]]))  # level without a size
        self.add_frame(ws, {"channel": "BTC-PERP@depth", "data": None})
        self.add_frame(ws, trade_message(qty="lots"))
        self.add_frame(ws, depth_message(bids=[["1", "1"]]))  # the stream lives on
        self.add_frame(ws, trade_message())
        snapshot = (await self.collect(self.snapshots_listener, 1))[0]
        trade = (await self.collect(self.trades_listener, 1))[0]
        self.assertEqual([(1.0, 1.0)], price_levels(snapshot.bids))
        self.assertEqual("0x9a01", trade.trade_id)
        self.assertEqual([
            "Skipping malformed public websocket frame: frame is not valid JSON",
            "Skipping malformed public websocket frame: binary frame is neither UTF-8 JSON nor Brotli-compressed JSON",
            "Skipping malformed public websocket frame: message is not an object: list",
            "Skipping malformed public websocket frame: unsupported frame type int",
            "Skipping malformed public websocket frame: missing field 'channel'",
            "Skipping malformed BTC-PERP@depth message: depth level is not [price, size] of finite numbers: ['64000']",
            "Skipping malformed BTC-PERP@depth message: depth is not an object: NoneType",
            "Skipping malformed BTC-PERP@trades message: field 'qty' is not a number: 'lots'",
        ], sorted(self.warnings(), key=lambda text: ("@" in text, "trades" in text)))
        self.assertFalse(any(record.exc_info for record in self.log_records))  # no stack traces
        self.assertEqual([], self.messages_at("ERROR"))
        self.assertTrue(self.is_logged("DEBUG", "Skipping malformed public websocket frame: frame is not valid JSON"))
        self.assertFalse(self.tasks[0].done())  # the listening loop survived all of it

    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_unknown_channels_are_warned_once_per_channel(self, ws_connect_mock):
        ws = await self.connected(ws_connect_mock, self.new_ws())
        for _ in range(3):
            self.add_frame(ws, {"channel": "BTC-PERP@kline_1m", "data": []})
        self.add_frame(ws, {"channel": "mystery", "data": []})
        self.add_frame(ws, depth_message())
        await self.collect(self.snapshots_listener, 1)
        self.assertEqual(["Skipping message of unknown public channel BTC-PERP@kline_1m.",
                          "Skipping message of unknown public channel mystery."], self.warnings())
        self.assertEqual(2, self.messages_at("DEBUG").count("Skipping message of unknown public channel "
                                                            "BTC-PERP@kline_1m."))

    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_messages_of_untracked_symbols_are_ignored(self, ws_connect_mock):
        ws = await self.connected(ws_connect_mock, self.new_ws())
        self.add_frame(ws, depth_message(symbol=SOL_SYMBOL))
        self.add_frame(ws, trade_message(symbol=SOL_SYMBOL))
        self.add_frame(ws, depth_message(bids=[["9", "9"]]))
        message = (await self.collect(self.snapshots_listener, 1))[0]
        self.assertEqual([(9.0, 9.0)], price_levels(message.bids))
        trades = asyncio.Queue()
        self.start(self.trades_listener(trades))
        await wait_until(lambda: self.data_source._message_queue["trade"].empty())
        self.assertTrue(trades.empty())
        self.assertEqual([], self.warnings())
        self.assertTrue(self.is_logged("DEBUG", "Ignoring a SOL-PERP@trades message: the pair is no longer tracked."))

    # -------------------------------------------------------------------------------------------- WS ping
    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_a_ping_goes_out_every_ping_interval_with_a_fresh_id(self, ws_connect_mock):
        ws = await self.connected(ws_connect_mock, self.new_ws())
        await wait_until(lambda: self.sleep.waiting(CONSTANTS.WS_PING_INTERVAL))
        self.assertEqual(1, len(self.sent(ws)))  # nothing before the interval elapses
        self.sleep.release(CONSTANTS.WS_PING_INTERVAL, times=2)
        await wait_until(lambda: len(self.sent(ws)) == 3)
        self.assertEqual([{"method": "PING", "params": [], "id": 2}, {"method": "PING", "params": [], "id": 3}],
                         self.sent(ws)[1:])

    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_a_failed_ping_ends_the_connection_and_reconnects(self, ws_connect_mock):
        first, second = self.new_ws(), self.new_ws()
        first.closed = False  # so that disconnecting closes the aiohttp socket
        await self.connected(ws_connect_mock, first, second)
        first.send_json.side_effect = ConnectionResetError("socket gone")
        self.sleep.release(CONSTANTS.WS_PING_INTERVAL)
        await wait_until(lambda: self.sleep.waiting(CONSTANTS.WS_RECONNECT_DELAY_INITIAL))
        self.assertEqual([CLOSED.format("socket gone")], self.warnings())
        first.close.assert_awaited()  # disconnected before the back-off, not after
        self.assertIsNone(self.data_source._ws_assistant)
        self.sleep.release(CONSTANTS.WS_RECONNECT_DELAY_INITIAL)
        await wait_until(lambda: len(self.sent(second)) == 1)
        self.assertTrue(self.is_logged("INFO", "Reconnecting to the public websocket in 1.0 s."))

    # -------------------------------------------------------------------------------------------- reconnect
    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_reconnects_with_back_off_and_resubscribes_the_current_pairs(self, ws_connect_mock):
        first, second, third = self.new_ws(), self.new_ws(), self.new_ws()
        ws_connect_mock.side_effect = [aiohttp.ClientConnectionError("refused"), OSError("unreachable"),
                                       asyncio.TimeoutError(), first, second, third]
        self.start(self.data_source.listen_for_subscriptions())
        initial = CONSTANTS.WS_RECONNECT_DELAY_INITIAL
        for expected_sleeps in ([initial], [initial, initial * 2], [initial, initial * 2, initial * 4]):
            await wait_until(lambda: self.reconnect_sleeps() == expected_sleeps)
            self.sleep.release(expected_sleeps[-1])
        await wait_until(lambda: len(self.sent(first)) == 1)
        self.assertEqual(4, ws_connect_mock.call_count)

        # A healthy connection (data received) resets the back-off; a pair added at run time is re-subscribed.
        self.add_frame(first, depth_message())
        await wait_until(lambda: not self.data_source._message_queue["order_book_snapshot"].empty())
        self.assertTrue(await self.data_source.subscribe_to_trading_pair(ETH_PAIR))
        self.add_frame(first, 1000, aiohttp.WSMsgType.CLOSE)
        await wait_until(lambda: len(self.reconnect_sleeps()) == 4)
        self.assertEqual(initial, self.reconnect_sleeps()[-1])
        self.assertIsNone(self.data_source._ws_assistant)
        self.sleep.release(initial)
        await wait_until(lambda: len(self.sent(second)) == 1)
        self.assertEqual(["tickers", "BTC-PERP@depth", "BTC-PERP@trades", "ETH-PERP@depth", "ETH-PERP@trades"],
                         self.sent(second)[0]["params"])

        # A connection that dropped before any channel data (a PONG is not data) keeps growing the delay.
        self.add_frame(second, {"data": "PONG"})
        self.add_frame(second, 1011, aiohttp.WSMsgType.CLOSE)
        await wait_until(lambda: len(self.reconnect_sleeps()) == 5)
        self.assertEqual(initial * 2, self.reconnect_sleeps()[-1])

    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_back_off_is_capped(self, ws_connect_mock):
        failures = 10
        ws_connect_mock.side_effect = [OSError("down")] * failures + [self.new_ws()]
        self.start(self.data_source.listen_for_subscriptions())
        for count in range(1, failures + 1):
            await wait_until(lambda: len(self.sleep.calls) == count)
            self.sleep.release(self.sleep.calls[-1])
        self.assertEqual([1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0, 30.0, 30.0], self.sleep.calls)
        self.assertEqual(CONSTANTS.WS_RECONNECT_DELAY_MAX, self.sleep.calls[-1])

    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_a_network_error_at_connect_is_one_warning_line_then_a_reconnect(self, ws_connect_mock):
        ws = self.new_ws()
        ws_connect_mock.side_effect = [OSError("Network is unreachable"), ws]
        self.start(self.data_source.listen_for_subscriptions())
        await wait_until(lambda: self.sleep.waiting(CONSTANTS.WS_RECONNECT_DELAY_INITIAL))
        self.assertEqual([CLOSED.format("Could not connect to the Vest websocket: OSError('Network is unreachable')")],
                         self.warnings())
        self.assertFalse(any(record.exc_info for record in self.log_records))  # no traceback
        self.assertEqual([], self.messages_at("ERROR"))
        self.sleep.release(CONSTANTS.WS_RECONNECT_DELAY_INITIAL)
        await wait_until(lambda: len(self.sent(ws)) == 1)
        self.assertEqual(2, ws_connect_mock.call_count)

    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_unexpected_error_is_logged_and_followed_by_a_reconnect(self, ws_connect_mock):
        ws = self.new_ws()
        ws_connect_mock.side_effect = [RuntimeError("bug"), ws]
        self.start(self.data_source.listen_for_subscriptions())
        await wait_until(lambda: self.sleep.waiting(1.0))
        self.assertTrue(self.is_logged("ERROR", UNEXPECTED))
        # Hummingbot's loop sleeps 1 s after an unexpected error, then the interruption hook's back-off (also 1 s).
        self.sleep.release(1.0, times=2)
        await wait_until(lambda: len(self.sent(ws)) == 1)
        self.assertEqual(2, ws_connect_mock.call_count)

    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_repeated_problems_are_warned_again_after_a_reconnect(self, ws_connect_mock):
        first, second = self.new_ws(), self.new_ws()
        await self.connected(ws_connect_mock, first, second)
        self.add_frame(first, "garbage")
        self.add_frame(first, 1000, aiohttp.WSMsgType.CLOSE)
        await wait_until(lambda: self.sleep.waiting(CONSTANTS.WS_RECONNECT_DELAY_INITIAL))
        self.sleep.release(CONSTANTS.WS_RECONNECT_DELAY_INITIAL)
        await wait_until(lambda: len(self.sent(second)) == 1)
        self.add_frame(second, "garbage")
        problem = "Skipping malformed public websocket frame: frame is not valid JSON"
        await wait_until(lambda: self.warnings().count(problem) == 2)

    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_an_open_socket_that_carries_no_market_data_is_replaced_and_stale_meanwhile(self, ws_connect_mock):
        # A socket can stay open (PONGs, no data): past the silence threshold it is ended and a new one opened.
        with patch.object(CONSTANTS, "PUBLIC_STREAM_SILENCE_SECONDS", 0.2):
            silent, healthy = self.new_ws(), self.new_ws()
            await self.connected(ws_connect_mock, silent, healthy)
            self.assertFalse(self.data_source.is_stale)
            self.add_frame(silent, {"data": "PONG"})  # answers PINGs, which proves nothing
            await wait_until(lambda: self.sleep.waiting(CONSTANTS.WS_RECONNECT_DELAY_INITIAL), timeout=2)
            self.assertTrue(self.data_source.is_stale)
            self.assertIn(CLOSED.format("no market data from Vest for 0 s"), self.warnings())
            self.sleep.release(CONSTANTS.WS_RECONNECT_DELAY_INITIAL)
            await wait_until(lambda: len(self.sent(healthy)) >= 1)
            self.add_frame(healthy, depth_message())
            await wait_until(lambda: not self.data_source.is_stale, timeout=2)
        self.assertEqual(2, ws_connect_mock.call_count)

    def test_no_tracked_pair_is_never_stale(self):
        data_source = VestPerpetualAPIOrderBookDataSource(
            trading_pairs=[], connector=self.connector, api_factory=self.connector._web_assistants_factory)
        data_source._last_channel_message -= CONSTANTS.PUBLIC_STREAM_SILENCE_SECONDS + 1
        self.assertFalse(data_source.is_stale)
        self.data_source._last_channel_message -= CONSTANTS.PUBLIC_STREAM_SILENCE_SECONDS + 1
        self.assertTrue(self.data_source.is_stale)

    # The back-off is waited before a reconnection, not in Hummingbot's `finally`: a stop must not outlive `cancel()`.
    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_cancelling_the_loop_ends_it_without_waiting_out_a_back_off(self, ws_connect_mock):
        await self.connected(ws_connect_mock, self.new_ws())
        task = self.tasks[0]
        task.cancel()
        try:
            await wait_until(task.done, timeout=1)
        except asyncio.TimeoutError:
            self.fail(f"the cancelled loop is still running, sleeping {self.reconnect_sleeps()}")
        self.assertTrue(task.cancelled())
        self.assertEqual([], self.reconnect_sleeps())

    # -------------------------------------------------------------------------------------------- run-time pairs
    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_subscribe_at_run_time_on_the_live_socket(self, ws_connect_mock):
        ws = await self.connected(ws_connect_mock, self.new_ws())
        self.assertTrue(await self.data_source.subscribe_to_trading_pair(ETH_PAIR))
        self.assertEqual({"method": "SUBSCRIBE", "params": ["ETH-PERP@depth", "ETH-PERP@trades"], "id": 2},
                         self.sent(ws)[-1])
        self.assertIn(ETH_PAIR, self.data_source._trading_pairs)
        self.add_frame(ws, depth_message(symbol=ETH_SYMBOL))
        message = (await self.collect(self.snapshots_listener, 1))[0]
        self.assertEqual(ETH_PAIR, message.trading_pair)

    async def test_subscribe_without_a_live_socket_fails(self):
        self.assertFalse(await self.data_source.subscribe_to_trading_pair(ETH_PAIR))
        self.assertNotIn(ETH_PAIR, self.data_source._trading_pairs)
        self.assertIn(f"Cannot subscribe to {ETH_PAIR}: the public websocket is not connected.", self.warnings())

    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_subscribe_fails_when_the_send_fails(self, ws_connect_mock):
        ws = await self.connected(ws_connect_mock, self.new_ws())
        ws.send_json.side_effect = ConnectionResetError("gone")
        self.assertFalse(await self.data_source.subscribe_to_trading_pair(ETH_PAIR))
        self.assertNotIn(ETH_PAIR, self.data_source._trading_pairs)
        self.assertIn(f"Could not subscribe to {ETH_PAIR}: ConnectionResetError('gone')", self.warnings())

    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_unsubscribe_at_run_time_on_the_live_socket(self, ws_connect_mock):
        self.data_source.add_trading_pair(ETH_PAIR)
        ws = await self.connected(ws_connect_mock, self.new_ws())
        self.assertTrue(await self.data_source.unsubscribe_from_trading_pair(ETH_PAIR))
        self.assertEqual({"method": "UNSUBSCRIBE", "params": ["ETH-PERP@depth", "ETH-PERP@trades"], "id": 2},
                         self.sent(ws)[-1])
        self.assertNotIn(ETH_PAIR, self.data_source._trading_pairs)
        self.add_frame(ws, depth_message(symbol=ETH_SYMBOL))  # in flight when the UNSUBSCRIBE was sent
        self.add_frame(ws, depth_message())
        message = (await self.collect(self.snapshots_listener, 1))[0]
        self.assertEqual(BTC_PAIR, message.trading_pair)

    async def test_unsubscribe_without_a_live_socket_fails_but_stops_tracking(self):
        self.data_source.add_trading_pair(ETH_PAIR)
        self.assertFalse(await self.data_source.unsubscribe_from_trading_pair(ETH_PAIR))
        self.assertNotIn(ETH_PAIR, self.data_source._trading_pairs)
        self.assertIn(f"Cannot unsubscribe from {ETH_PAIR}: the public websocket is not connected.",
                      self.warnings())

    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_unsubscribe_fails_when_the_send_fails(self, ws_connect_mock):
        ws = await self.connected(ws_connect_mock, self.new_ws())
        ws.send_json.side_effect = ConnectionResetError("gone")
        self.assertFalse(await self.data_source.unsubscribe_from_trading_pair(BTC_PAIR))
        self.assertIn(f"Could not unsubscribe from {BTC_PAIR}: ConnectionResetError('gone')", self.warnings())

    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_a_cancellation_during_a_run_time_subscription_change_is_not_swallowed(self, ws_connect_mock):
        ws = await self.connected(ws_connect_mock, self.new_ws())
        ws.send_json.side_effect = asyncio.CancelledError()
        with self.assertRaises(asyncio.CancelledError):
            await self.data_source.subscribe_to_trading_pair(ETH_PAIR)
        with self.assertRaises(asyncio.CancelledError):
            await self.data_source.unsubscribe_from_trading_pair(BTC_PAIR)
        self.assertEqual([], self.warnings())

    async def test_unsubscribe_of_an_unknown_pair_fails(self):
        self.assertFalse(await self.data_source.unsubscribe_from_trading_pair("DOGE-USDC"))
        self.assertIn("Cannot unsubscribe from DOGE-USDC: unknown trading pair.", self.warnings())

    def test_test_delays_are_distinct(self):
        """ControlledSleep tells the loops apart by their delay, so these must differ."""
        delays = [CONSTANTS.WS_PING_INTERVAL, CONSTANTS.WS_RECONNECT_DELAY_INITIAL,
                  CONSTANTS.WS_RECONNECT_DELAY_INITIAL * 2, CONSTANTS.WS_RECONNECT_DELAY_INITIAL * 4]
        self.assertEqual(len(delays), len(set(delays)))
