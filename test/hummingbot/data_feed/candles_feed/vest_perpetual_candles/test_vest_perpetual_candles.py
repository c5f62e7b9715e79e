"""Vest candles feed: `GET /klines` history and the `{symbol}@kline_{interval}` channel (docs/vest-protocol.md §10).

REST is mocked with `aioresponses`, the WebSocket with Hummingbot's `NetworkMockingAssistant` behind the stock
WSConnection (JSON text frames arrive parsed). `_sleep` is replaced by a recorder that returns at once, so the
reconnect back-off is checked without waiting. Synchronisation is always "wait until a condition holds".
"""
import asyncio
import json
import os
import re
from typing import Callable, Dict, List
from unittest.mock import AsyncMock, MagicMock, patch
from urllib.parse import parse_qs, urlsplit

import aiohttp
import numpy as np
from aioresponses import aioresponses

from hummingbot.connector.derivative.vest_perpetual import (
    vest_perpetual_constants as CONNECTOR_CONSTANTS,
    vest_perpetual_web_utils as web_utils,
)
from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_messages import VestMessageError
from hummingbot.connector.test_support.network_mocking_assistant import NetworkMockingAssistant
from hummingbot.core.network_iterator import NetworkStatus
from hummingbot.core.web_assistant.connections.connections_factory import ConnectionsFactory
from hummingbot.data_feed.candles_feed.candles_base import CandlesBase
from hummingbot.data_feed.candles_feed.vest_perpetual_candles import (
    VestPerpetualCandles,
    VestPerpetualTestnetCandles,
    constants as CONSTANTS,
)
from hummingbot.data_feed.candles_feed.vest_perpetual_candles.vest_perpetual_candles import (
    parse_kline_data,
    parse_kline_row,
    parse_legacy_kline,
)
from test.isolated_asyncio_wrapper_test_case import IsolatedAsyncioWrapperTestCase
from test.logger_mixin_for_test import LoggerMixinForTest

PAIR, SYMBOL = "BTC-USDC", "BTC-PERP"
CHANNEL = "BTC-PERP@kline_1m"
FIRST_OPEN = 1_718_895_600  # 2024-06-20 15:00:00 UTC, whole minute
MINUTE = 60
MAX_RECORDS = 5
OVERRIDE_VARS = (CONNECTOR_CONSTANTS.REST_URL_ENV_VAR, CONNECTOR_CONSTANTS.WS_URL_ENV_VAR,
                 CONNECTOR_CONSTANTS.TESTNET_REST_URL_ENV_VAR, CONNECTOR_CONSTANTS.TESTNET_WS_URL_ENV_VAR)
# Vest documents these and Hummingbot's candles support them all.
DOCUMENTED_INTERVALS = ("1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w", "1M")


def kline_row(open_s: int, close: str = "64010.5", trades=12, offset_ms: int = 0) -> list:
    """A Vest bar: openTime, o, h, l, c, closeTime, volume, quoteVolume, numTrades (closeTime before volume)."""
    open_ms = open_s * 1000 + offset_ms
    return [open_ms, "64000.0", "64050.5", "63990.0", close, open_ms + MINUTE * 1000 - 1, "1.2500", "80012.500000",
            trades]


def candle(open_s: int, close: float = 64010.5, trades: float = 12.0) -> List[float]:
    """The same bar as Hummingbot's candle row."""
    return [float(open_s), 64000.0, 64050.5, 63990.0, close, 1.25, 80012.5, trades, 0.0, 0.0]


def kline_push(open_s: int, close: str = "64010.5", trades="12", channel: str = CHANNEL) -> Dict:
    """The documented push: one bar as an array, the trade count as a string (§5.3)."""
    return {"channel": channel, "data": kline_row(open_s, close=close, trades=trades)}


def legacy_push(open_s: int, close: float = 64011.0) -> Dict:
    """The object shape of an older Vest exercise: `{"s", "k": {...}}` with numbers (§5.3)."""
    bar = {"s": SYMBOL, "t": open_s * 1000, "o": 64000.0, "h": 64050.5, "l": 63990.0, "c": close, "v": 1.25, "i": "1m"}
    return {"s": SYMBOL, "k": bar}


def exchange_info(*rows: Dict) -> Dict:
    return {"symbols": list(rows), "exchange": {"collateralDecimals": 6}}


def market_row(symbol: str, base: str, quote: str = "USDC") -> Dict:
    return {"symbol": symbol, "displayName": symbol, "base": base, "quote": quote, "sizeDecimals": 4,
            "priceDecimals": 1, "initMarginRatio": "0.02", "maintMarginRatio": "0.01", "takerFee": "0.0001",
            "isolated": False}


def url_of(path: str, domain: str = CONSTANTS.DOMAIN) -> "re.Pattern":
    return re.compile(rf"^{re.escape(web_utils.public_rest_url(path, domain))}(\?.*)?$")


def requests_to(mock: aioresponses, path: str) -> List:
    return [call for (verb, url), calls in mock.requests.items() if url.path.endswith(path) for call in calls]


async def wait_until(condition: Callable[[], bool], timeout: float = 2.0):
    async def poll():
        while not condition():
            await asyncio.sleep(0)
    await asyncio.wait_for(poll(), timeout)


class RecordedSleep:
    """Stands in for the feed's `_sleep`: records each delay and returns at once."""

    def __init__(self):
        self.calls: List[float] = []

    async def __call__(self, delay: float):
        self.calls.append(delay)
        await asyncio.sleep(0)


class VestPerpetualCandlesTests(LoggerMixinForTest, IsolatedAsyncioWrapperTestCase):

    async def asyncSetUp(self):
        await super().asyncSetUp()
        # A mock session another suite left on the (singleton) connections factory would bypass `ws_connect`.
        connections_factory = ConnectionsFactory()
        previous_session = connections_factory._ws_independent_session
        connections_factory._ws_independent_session = None
        self.addCleanup(setattr, connections_factory, "_ws_independent_session", previous_session)
        environment = patch.dict(os.environ, {key: value for key, value in os.environ.items()
                                              if key not in OVERRIDE_VARS}, clear=True)
        environment.start()
        self.addCleanup(environment.stop)
        self.mocking_assistant = NetworkMockingAssistant()
        await self.mocking_assistant.async_init()
        self.data_feed = VestPerpetualCandles(trading_pair=PAIR, interval="1m", max_records=MAX_RECORDS)
        self.sleep = RecordedSleep()
        self.data_feed._sleep = self.sleep
        self.set_loggers([self.data_feed.logger()])
        self.tasks: List[asyncio.Task] = []

    async def asyncTearDown(self):
        for task in self.tasks + [self.data_feed._fill_candles_task]:
            if task is not None:
                task.cancel()
        await asyncio.gather(*[task for task in self.tasks if task is not None], return_exceptions=True)
        self.data_feed.logger().removeHandler(self)
        await super().asyncTearDown()

    def start(self, coroutine) -> asyncio.Task:
        task = asyncio.ensure_future(coroutine)
        self.tasks.append(task)
        return task

    def warnings(self) -> List[str]:
        return [record.getMessage() for record in self.log_records if record.levelname == "WARNING"]

    def add_frame(self, ws, payload, message_type=aiohttp.WSMsgType.TEXT):
        message = json.dumps(payload) if isinstance(payload, (dict, list)) else payload
        self.mocking_assistant.add_websocket_aiohttp_message(ws, message=message, message_type=message_type)

    def sent(self, ws) -> List[Dict]:
        return self.mocking_assistant.json_messages_sent_through_websocket(ws)

    async def listening(self, ws_connect_mock, *websockets) -> AsyncMock:
        """Starts the feed's stream loop on the given sockets and waits for the first subscription."""
        ws_connect_mock.side_effect = list(websockets)
        self.start(self.data_feed.listen_for_subscriptions())
        await wait_until(lambda: len(self.sent(websockets[-1])) >= 1)
        return websockets[-1]

    # ------------------------------------------------------------------------------------------ configuration
    def test_names_urls_and_endpoint(self):
        self.assertEqual("vest_perpetual_BTC-USDC", self.data_feed.name)
        self.assertEqual(CONNECTOR_CONSTANTS.REST_URLS[CONSTANTS.DOMAIN] + "/klines", self.data_feed.candles_url)
        self.assertEqual(CONNECTOR_CONSTANTS.REST_URLS[CONSTANTS.DOMAIN], self.data_feed.rest_url)
        self.assertEqual(CONNECTOR_CONSTANTS.REST_URLS[CONSTANTS.DOMAIN] + "/exchangeInfo",
                         self.data_feed.health_check_url)
        self.assertEqual("/klines", self.data_feed.candles_endpoint)
        self.assertEqual(1000, self.data_feed.candles_max_result_per_rest_request)
        url = self.data_feed.wss_url
        self.assertTrue(url.startswith(CONNECTOR_CONSTANTS.WS_URLS[CONSTANTS.DOMAIN]))
        self.assertEqual(["restserver0"], parse_qs(urlsplit(url).query)["xwebsocketserver"])
        self.assertEqual(CONSTANTS.DOMAIN, self.data_feed.domain)

    def test_every_documented_interval_is_offered(self):
        self.assertEqual(set(DOCUMENTED_INTERVALS), set(self.data_feed.intervals.keys()))
        self.assertTrue(set(DOCUMENTED_INTERVALS) <= set(CandlesBase.interval_to_seconds.keys()))
        for interval in DOCUMENTED_INTERVALS:
            feed = VestPerpetualCandles(PAIR, interval=interval)
            self.assertEqual(f"BTC-PERP@kline_{interval}", feed.kline_channel)

    def test_an_interval_vest_does_not_document_is_refused(self):
        with self.assertRaises(Exception):
            VestPerpetualCandles(PAIR, interval="1s")

    def test_rate_limits_are_the_connectors_plus_klines_in_the_shared_pool(self):
        limits = {limit.limit_id: limit for limit in self.data_feed.rate_limits}
        for connector_limit in CONNECTOR_CONSTANTS.RATE_LIMITS:
            self.assertEqual(connector_limit.limit, limits[connector_limit.limit_id].limit)
        klines, trades = limits["/klines"], limits[CONNECTOR_CONSTANTS.TRADES_PATH_URL]
        self.assertEqual((trades.limit, trades.time_interval), (klines.limit, klines.time_interval))
        self.assertEqual([CONNECTOR_CONSTANTS.ALL_ENDPOINTS_LIMIT_ID],
                         [linked.limit_id for linked in klines.linked_limits])

    def test_testnet_feed_targets_the_development_venue(self):
        feed = VestPerpetualTestnetCandles(PAIR, "5m", 10)
        self.assertEqual("vest_perpetual_testnet_BTC-USDC", feed.name)
        self.assertEqual(CONNECTOR_CONSTANTS.REST_URLS[CONSTANTS.TESTNET_DOMAIN] + "/klines", feed.candles_url)
        self.assertTrue(feed.wss_url.startswith(CONNECTOR_CONSTANTS.WS_URLS[CONSTANTS.TESTNET_DOMAIN]))

    def test_each_domain_follows_its_url_override(self):
        overrides = {CONNECTOR_CONSTANTS.REST_URL_ENV_VAR: "http://127.0.0.1:8001/v2",
                     CONNECTOR_CONSTANTS.WS_URL_ENV_VAR: "ws://127.0.0.1:8001/ws-api",
                     CONNECTOR_CONSTANTS.TESTNET_REST_URL_ENV_VAR: "http://127.0.0.1:8002/v2"}
        with patch.dict(os.environ, overrides):
            self.assertEqual("http://127.0.0.1:8001/v2/klines", self.data_feed.candles_url)
            self.assertTrue(self.data_feed.wss_url.startswith("ws://127.0.0.1:8001/ws-api?"))
            testnet = VestPerpetualTestnetCandles(PAIR)
            self.assertEqual("http://127.0.0.1:8002/v2/klines", testnet.candles_url)
            self.assertTrue(testnet.wss_url.startswith(CONNECTOR_CONSTANTS.WS_URLS[CONSTANTS.TESTNET_DOMAIN]))

    # ------------------------------------------------------------------------------------------ symbol
    def test_symbol_guess_before_exchange_info(self):
        self.assertEqual(SYMBOL, self.data_feed.get_exchange_trading_pair(PAIR))
        self.assertEqual(SYMBOL, self.data_feed._ex_trading_pair)

    async def test_symbol_comes_from_exchange_info(self):
        feed = VestPerpetualCandles("kBONK-USDC", "1m", MAX_RECORDS)
        self.set_loggers([feed.logger()])
        with aioresponses() as mock:
            mock.get(url_of("/exchangeInfo"), payload=exchange_info(
                market_row("kBONK-PERP", "kBONK"), {"symbol": "BROKEN-PERP"}, market_row(SYMBOL, "BTC")))
            await feed.initialize_exchange_data()
            headers = requests_to(mock, "/exchangeInfo")[0].kwargs["headers"]
        self.assertEqual("kBONK-PERP", feed._ex_trading_pair)
        self.assertEqual("kBONK-PERP@kline_1m", feed.kline_channel)
        self.assertEqual("restserver0", headers[CONNECTOR_CONSTANTS.ACCOUNT_GROUP_HEADER])
        self.assertTrue(any("BROKEN-PERP" in message for message in self.warnings()))

    async def test_a_pair_vest_does_not_list_is_refused(self):
        with aioresponses() as mock:
            mock.get(url_of("/exchangeInfo"), payload=exchange_info(market_row("ETH-PERP", "ETH")))
            with self.assertRaises(ValueError) as raised:
                await self.data_feed.initialize_exchange_data()
        self.assertIn(PAIR, str(raised.exception))

    async def test_an_attached_connector_names_the_symbol_and_lends_its_throttler(self):
        throttler = MagicMock()
        connector = MagicMock(throttler=throttler)
        connector.exchange_symbol_associated_to_pair = AsyncMock(return_value="BTC-PERP")
        self.data_feed.attach_connector(connector)
        self.assertIs(throttler, self.data_feed._api_factory._throttler)
        throttler.add_rate_limits.assert_called_once_with(self.data_feed.rate_limits)
        with aioresponses() as mock:  # no exchangeInfo request is mocked: none may be sent
            await self.data_feed.initialize_exchange_data()
            self.assertEqual({}, dict(mock.requests))
        self.assertEqual(SYMBOL, self.data_feed._ex_trading_pair)
        self.assertEqual(1, len(self.data_feed._api_factory._rest_pre_processors))  # Vest's headers still added

    async def test_a_connector_without_throttler_keeps_the_feeds_own(self):
        own_factory = self.data_feed._api_factory
        self.data_feed.attach_connector(MagicMock(throttler=None))
        self.assertIs(own_factory, self.data_feed._api_factory)

    async def test_check_network_reads_exchange_info(self):
        with aioresponses() as mock:
            mock.get(url_of("/exchangeInfo"), payload=exchange_info(market_row(SYMBOL, "BTC")))
            self.assertEqual(NetworkStatus.CONNECTED, await self.data_feed.check_network())

    # ------------------------------------------------------------------------------------------ REST
    async def fetch(self, payload, **times) -> np.ndarray:
        self.data_feed._exchange_data_initialized = True  # the symbol guess stands; exchangeInfo is tested above
        with aioresponses() as mock:
            mock.get(url_of("/klines"), payload=payload)
            result = await self.data_feed.fetch_candles(**times)
            self.requests = requests_to(mock, "/klines")
        return result

    async def test_rest_rows_become_candles_with_close_time_before_volume(self):
        rows = [kline_row(FIRST_OPEN + MINUTE * index, close=str(64010 + index)) for index in range(3)]
        result = await self.fetch(rows, end_time=FIRST_OPEN + 3 * MINUTE, limit=3)
        self.assertEqual([candle(FIRST_OPEN + MINUTE * index, close=64010.0 + index) for index in range(3)],
                         result.tolist())
        params = self.requests[0].kwargs["params"]
        self.assertEqual({"symbol": SYMBOL, "interval": "1m", "limit": 1000, "startTime": FIRST_OPEN * 1000,
                          "endTime": (FIRST_OPEN + 3 * MINUTE) * 1000}, params)
        self.assertEqual("restserver0", self.requests[0].kwargs["headers"][CONNECTOR_CONSTANTS.ACCOUNT_GROUP_HEADER])

    async def test_rest_rows_come_back_ascending_one_per_open_time(self):
        rows = [kline_row(FIRST_OPEN + MINUTE), kline_row(FIRST_OPEN), kline_row(FIRST_OPEN + MINUTE, close="1.5")]
        result = await self.fetch(rows, start_time=FIRST_OPEN)
        self.assertEqual([candle(FIRST_OPEN), candle(FIRST_OPEN + MINUTE, close=1.5)], result.tolist())

    async def test_open_times_off_the_second_are_cut_to_the_second(self):
        result = await self.fetch([kline_row(FIRST_OPEN, offset_ms=174)], start_time=FIRST_OPEN)  # Vest's example
        self.assertEqual(float(FIRST_OPEN), result[0][0])

    async def test_unreadable_rest_rows_are_skipped_with_a_log_line(self):
        bad_rows = [
            kline_row(FIRST_OPEN)[:8],  # 8 fields
            [FIRST_OPEN * 1000, "x", "1", "1", "1", 0, "1", "1", 1],  # open is not a number
            kline_row(FIRST_OPEN + MINUTE)[:6] + ["-1", "1", 1],  # negative volume
            kline_row(FIRST_OPEN + MINUTE)[:4] + ["NaN"] + kline_row(FIRST_OPEN)[5:],  # close not finite
            kline_row(FIRST_OPEN + MINUTE)[:4] + ["0"] + kline_row(FIRST_OPEN)[5:],  # close zero
            kline_row(FIRST_OPEN + MINUTE, trades=True),  # trade count a boolean
            kline_row(FIRST_OPEN + MINUTE, trades="1.5"),  # trade count not whole
            [None] + kline_row(FIRST_OPEN)[1:],  # no open time
            [12] + kline_row(FIRST_OPEN)[1:],  # open time not in ms
            "not a row",
        ]
        good = [kline_row(FIRST_OPEN + 2 * MINUTE), kline_row(FIRST_OPEN + 3 * MINUTE)]
        result = await self.fetch(bad_rows[:5] + good[:1] + bad_rows[5:] + good[1:], start_time=FIRST_OPEN)
        self.assertEqual([candle(FIRST_OPEN + 2 * MINUTE), candle(FIRST_OPEN + 3 * MINUTE)], result.tolist())
        skipped = [message for message in self.warnings() if message.startswith("Skipped a kline of BTC-USDC")]
        self.assertEqual(len(bad_rows), len(skipped))

    async def test_a_rest_answer_that_is_not_a_list_gives_no_candles_and_a_log_line(self):
        result = await self.fetch({"code": 1121, "msg": "bad symbol"}, start_time=FIRST_OPEN)
        self.assertEqual((0, 10), result.shape)
        self.assertTrue(any(message.startswith("Ignored a klines answer for BTC-USDC") for message in self.warnings()))

    # ------------------------------------------------------------------------------------------ WS
    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_subscribes_to_the_kline_channel_of_the_pair(self, ws_connect_mock):
        self.data_feed._exchange_data_initialized = True
        ws = await self.listening(ws_connect_mock, self.mocking_assistant.create_websocket_mock())
        self.assertEqual({"method": "SUBSCRIBE", "params": [CHANNEL], "id": 1}, self.sent(ws)[0])
        self.assertEqual(self.data_feed.wss_url, ws_connect_mock.call_args.args[0])
        self.assertEqual(CONNECTOR_CONSTANTS.WS_HEARTBEAT_INTERVAL, ws_connect_mock.call_args.kwargs["heartbeat"])

    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_first_push_then_rest_history_fill_the_candles(self, ws_connect_mock):
        self.data_feed._exchange_data_initialized = True
        live_open = FIRST_OPEN + (MAX_RECORDS - 1) * MINUTE
        history = [kline_row(FIRST_OPEN + MINUTE * index) for index in range(MAX_RECORDS)]
        with aioresponses() as mock:
            mock.get(url_of("/klines"), payload=history)
            ws = await self.listening(ws_connect_mock, self.mocking_assistant.create_websocket_mock())
            self.add_frame(ws, kline_push(live_open, close="64100.0", trades="7"))
            await wait_until(lambda: self.data_feed.ready)
            params = requests_to(mock, "/klines")[0].kwargs["params"]
        self.assertEqual(live_open * 1000, params["endTime"])
        expected = [candle(FIRST_OPEN + MINUTE * index) for index in range(MAX_RECORDS - 1)]
        expected.append(candle(live_open, close=64100.0, trades=7.0))
        self.assertEqual(expected, self.data_feed.candles_df.values.tolist())

    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_pushes_update_the_bar_in_progress_then_open_the_next(self, ws_connect_mock):
        self.data_feed._exchange_data_initialized = True
        self.data_feed._fill_candles_task = None
        with patch.object(VestPerpetualCandles, "fill_historical_candles", new=AsyncMock()):
            ws = await self.listening(ws_connect_mock, self.mocking_assistant.create_websocket_mock())
            self.add_frame(ws, kline_push(FIRST_OPEN, close="64001.0", trades="3"))
            self.add_frame(ws, kline_push(FIRST_OPEN, close="64002.0", trades="4"))
            await self.mocking_assistant.run_until_all_aiohttp_messages_delivered(ws)
            self.assertEqual([candle(FIRST_OPEN, close=64002.0, trades=4.0)],
                             self.data_feed.candles_df.values.tolist())
            self.add_frame(ws, kline_push(FIRST_OPEN + MINUTE, close="64003.0", trades=5))  # a number works too
            await wait_until(lambda: len(self.data_feed._candles) == 2)
        self.assertEqual([candle(FIRST_OPEN, close=64002.0, trades=4.0),
                          candle(FIRST_OPEN + MINUTE, close=64003.0, trades=5.0)],
                         self.data_feed.candles_df.values.tolist())

    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_the_legacy_object_shape_is_read_enveloped_or_bare(self, ws_connect_mock):
        self.data_feed._exchange_data_initialized = True
        with patch.object(VestPerpetualCandles, "fill_historical_candles", new=AsyncMock()):
            ws = await self.listening(ws_connect_mock, self.mocking_assistant.create_websocket_mock())
            self.add_frame(ws, {"channel": CHANNEL, "data": legacy_push(FIRST_OPEN, close=64011.0)})
            self.add_frame(ws, legacy_push(FIRST_OPEN + MINUTE, close=64012.0))
            await wait_until(lambda: len(self.data_feed._candles) == 2)
        no_quote_volume = [0.0, 0.0, 0.0, 0.0]  # quote volume, trades and taker volumes are not in this shape
        self.assertEqual([[float(FIRST_OPEN), 64000.0, 64050.5, 63990.0, 64011.0, 1.25] + no_quote_volume,
                          [float(FIRST_OPEN + MINUTE), 64000.0, 64050.5, 63990.0, 64012.0, 1.25] + no_quote_volume],
                         self.data_feed.candles_df.values.tolist())

    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_bad_pushes_are_skipped_with_a_log_line_and_the_stream_goes_on(self, ws_connect_mock):
        self.data_feed._exchange_data_initialized = True
        with patch.object(VestPerpetualCandles, "fill_historical_candles", new=AsyncMock()):
            ws = await self.listening(ws_connect_mock, self.mocking_assistant.create_websocket_mock())
            self.add_frame(ws, {"channel": CHANNEL, "data": kline_row(FIRST_OPEN)[:5]})
            self.add_frame(ws, {"channel": CHANNEL, "data": {"s": SYMBOL, "k": {"t": FIRST_OPEN * 1000}}})
            self.add_frame(ws, {"channel": CHANNEL, "data": None})
            self.add_frame(ws, kline_push(FIRST_OPEN, trades="many"))
            self.add_frame(ws, {"s": SYMBOL, "k": {"t": 1}})  # a bare legacy push without its interval
            self.add_frame(ws, {"no": "channel"})
            self.add_frame(ws, "{not json", message_type=aiohttp.WSMsgType.BINARY)
            self.add_frame(ws, kline_push(FIRST_OPEN, close="64020.0"))
            await wait_until(lambda: len(self.data_feed._candles) == 1)
        self.assertEqual([candle(FIRST_OPEN, close=64020.0)], self.data_feed.candles_df.values.tolist())
        skipped = [message for message in self.warnings() if message.startswith("Skipped a kline push for BTC-USDC")]
        self.assertEqual(7, len(skipped))
        self.assertEqual(1, ws_connect_mock.call_count)  # never reconnected

    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_pongs_acknowledgements_and_other_channels_are_ignored_silently(self, ws_connect_mock):
        self.data_feed._exchange_data_initialized = True
        with patch.object(VestPerpetualCandles, "fill_historical_candles", new=AsyncMock()):
            ws = await self.listening(ws_connect_mock, self.mocking_assistant.create_websocket_mock())
            self.add_frame(ws, {"result": None, "id": 1})
            self.add_frame(ws, {"data": "PONG"})
            self.add_frame(ws, kline_push(FIRST_OPEN, channel="ETH-PERP@kline_1m"))
            self.add_frame(ws, kline_push(FIRST_OPEN, channel="BTC-PERP@kline_5m"))
            self.add_frame(ws, {"channel": "BTC-PERP@trades", "data": {"id": "0x1"}})
            await self.mocking_assistant.run_until_all_aiohttp_messages_delivered(ws)
        self.assertEqual(0, len(self.data_feed._candles))
        self.assertEqual([], self.warnings())

    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_binary_frames_are_decoded(self, ws_connect_mock):
        self.data_feed._exchange_data_initialized = True
        with patch.object(VestPerpetualCandles, "fill_historical_candles", new=AsyncMock()):
            ws = await self.listening(ws_connect_mock, self.mocking_assistant.create_websocket_mock())
            self.add_frame(ws, json.dumps(kline_push(FIRST_OPEN)).encode(), message_type=aiohttp.WSMsgType.BINARY)
            await wait_until(lambda: len(self.data_feed._candles) == 1)
        self.assertEqual([candle(FIRST_OPEN)], self.data_feed.candles_df.values.tolist())

    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_the_stream_is_pinged_periodically(self, ws_connect_mock):
        self.data_feed._exchange_data_initialized = True
        self.data_feed._ping_timeout = 0.01  # instead of 25 s: the test waits for the PING, not for a clock
        ws = await self.listening(ws_connect_mock, self.mocking_assistant.create_websocket_mock())
        await wait_until(lambda: len(self.sent(ws)) >= 2)
        self.assertEqual("PING", self.sent(ws)[1]["method"])
        self.assertEqual([], self.sent(ws)[1]["params"])

    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_failed_connections_back_off_doubling(self, ws_connect_mock):
        self.data_feed._exchange_data_initialized = True
        refused = aiohttp.ClientConnectionError("refused")
        ws = await self.listening(ws_connect_mock, refused, refused, self.mocking_assistant.create_websocket_mock())
        first_delay = CONNECTOR_CONSTANTS.WS_RECONNECT_DELAY_INITIAL
        self.assertEqual([first_delay, 2 * first_delay], self.sleep.calls)  # none before the first attempt
        self.assertEqual({"method": "SUBSCRIBE", "params": [CHANNEL], "id": 1}, self.sent(ws)[0])
        self.assertEqual(2, sum("The websocket connection was closed" in message for message in self.warnings()))


class VestKlineParserTests(IsolatedAsyncioWrapperTestCase):
    """The parsers alone: one per payload kind."""

    def test_the_documented_example_row(self):
        bar = parse_kline_row([1725315120174, "0.098837", "0.098837", "0.098769", "0.098769", 1725315151174, "20000",
                               "10000.000000", 34])
        self.assertEqual((1725315120, 0.098837, 0.098769, 20000.0, 10000.0, 34),
                         (bar.timestamp, bar.open, bar.close, bar.volume, bar.quote_volume, bar.trades))

    def test_trade_count_as_a_string(self):
        self.assertEqual(34, parse_kline_data(kline_row(FIRST_OPEN, trades="34")).trades)

    def test_a_legacy_object_without_a_field_is_refused_naming_it(self):
        payload = legacy_push(FIRST_OPEN)
        del payload["k"]["c"]
        with self.assertRaises(VestMessageError) as raised:
            parse_legacy_kline(payload)
        self.assertIn("k.c", str(raised.exception))

    def test_a_legacy_object_without_a_bar_is_refused(self):
        with self.assertRaises(VestMessageError):
            parse_kline_data({"s": SYMBOL, "k": [1, 2]})

    def test_candle_dict_names_hummingbots_columns(self):
        bar = parse_kline_row(kline_row(FIRST_OPEN))
        self.assertEqual(dict(zip(CandlesBase.columns, candle(FIRST_OPEN))), bar.candle_dict())
