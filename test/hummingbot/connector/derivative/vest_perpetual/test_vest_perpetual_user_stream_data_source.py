"""Private data source on Hummingbot's `listen_for_user_stream`: listen-key lifecycle (docs/vest-protocol.md §3.11),
the `account_private` stream (§5.4), PING (§5.2) and reconnection (§5.1).

REST is mocked with `aioresponses`, the WebSocket with Hummingbot's `NetworkMockingAssistant` (frames reach the data
source through Hummingbot's stock WSConnection, so JSON text arrives parsed). `_sleep` is replaced by
`ControlledSleep`, which records every delay and blocks until the test releases it, so PINGs, keep-alives, retry
delays and reconnect back-off are driven by the test instead of the clock.
"""
import asyncio
import json
import os
import re
from typing import Dict, List
from unittest.mock import AsyncMock, patch
from urllib.parse import parse_qs, urlsplit

import aiohttp
import brotli
from aioresponses import aioresponses

from hummingbot.connector.derivative.vest_perpetual import (
    vest_perpetual_constants as CONSTANTS,
    vest_perpetual_web_utils as web_utils,
)
from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_derivative import VestPerpetualDerivative
from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_user_stream_data_source import (
    VestPerpetualUserStreamDataSource,
)
from hummingbot.connector.test_support.network_mocking_assistant import NetworkMockingAssistant
from hummingbot.core.api_throttler.data_types import RateLimit
from hummingbot.core.web_assistant.connections.connections_factory import ConnectionsFactory
from test.hummingbot.connector.derivative.vest_perpetual.test_vest_perpetual_api_order_book_data_source import (
    ControlledSleep,
    wait_until,
)
from test.isolated_asyncio_wrapper_test_case import IsolatedAsyncioWrapperTestCase
from test.logger_mixin_for_test import LoggerMixinForTest

ACCOUNT_GROUP = 3
KEY_1, KEY_2 = "579e1280448d4843b190c50fbd170078", "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
# The messages Hummingbot's `listen_for_user_stream` logs around the hooks.
CLOSED = "The websocket connection was closed ({})"
UNEXPECTED = "Unexpected error while listening to user stream. Retrying after 5 seconds..."

ORDER_NEW = {"channel": "account_private", "data": {"event": "ORDER", "args": {
    "id": "0x5f01", "symbol": "BTC-PERP", "isBuy": True, "orderType": "LIMIT", "limitPrice": "30000.00",
    "size": "0.0100", "reduceOnly": False, "initMarginRatio": "0.0500", "status": "NEW",
    "postTime": 1700000000050, "nonce": 1700000000000}}}
ORDER_CANCELLED = {"channel": "account_private", "data": {"event": "ORDER", "args": {
    "id": "0x5f01", "status": "CANCELLED", "postTime": 1700000000090, "nonce": 1700000000000}}}
ORDER_REJECTED = {"channel": "account_private", "data": {"event": "ORDER", "args": {
    "id": "0x5f02", "status": "REJECTED", "code": 3010, "postTime": 1700000000095, "nonce": 1700000000001}}}
LP_EVENT = {"channel": "account_private", "data": {"event": "LP", "args": {
    "id": "0x6a", "size": "100", "orderType": "DEPOSIT", "status": "FILLED", "code": None,
    "postTime": 1700000000100, "nonce": 1700000000002}}}
TRANSFER_EVENT = {"channel": "account_private", "data": {"event": "TRANSFER", "args": {
    "id": "0x7b", "size": "100000000", "orderType": "WITHDRAW", "status": "PENDING", "code": None,
    "chainId": 8453, "postTime": 1700000000110, "nonce": 1700000000003}}}


def listen_key_url() -> "re.Pattern":
    return re.compile(rf"^{re.escape(web_utils.private_rest_url(CONSTANTS.LISTEN_KEY_PATH_URL))}$")


def calls_of(mock: aioresponses, method: str) -> int:
    return sum(len(calls) for (verb, _), calls in mock.requests.items() if verb == method)


class VestPerpetualUserStreamDataSourceTests(LoggerMixinForTest, IsolatedAsyncioWrapperTestCase):

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
        self.connector = VestPerpetualDerivative(vest_perpetual_account_group=ACCOUNT_GROUP, trading_pairs=[],
                                                 trading_required=False)
        # Keep the (conservative) listen-key rate limit from turning retries into real waits.
        self.connector._throttler.set_rate_limits(
            [RateLimit(limit_id=limit.limit_id, limit=1000, time_interval=1) for limit in CONSTANTS.RATE_LIMITS])
        self.data_source = VestPerpetualUserStreamDataSource(
            auth=self.connector.authenticator, connector=self.connector,
            api_factory=self.connector._web_assistants_factory, domain=CONSTANTS.DOMAIN)
        self.sleep = ControlledSleep()
        self.data_source._sleep = self.sleep
        self.output = asyncio.Queue()
        self.set_loggers([self.data_source.logger()])  # before anything creates log_records: DEBUG is captured
        self.tasks: List[asyncio.Task] = []
        self.rest = aioresponses()
        self.rest.start()
        self.addCleanup(self.rest.stop)

    async def asyncTearDown(self):
        self.sleep.open()  # a cancelled loop still runs its interruption hook, which sleeps
        for task in self.tasks:
            task.cancel()
        await asyncio.wait_for(asyncio.gather(*self.tasks, return_exceptions=True), 5)
        self.data_source.logger().removeHandler(self)
        await super().asyncTearDown()

    # -------------------------------------------------------------------------------------------- helpers
    def new_ws(self) -> AsyncMock:
        return self.mocking_assistant.create_websocket_mock()

    def add_frame(self, ws, payload, message_type=aiohttp.WSMsgType.TEXT):
        message = json.dumps(payload) if isinstance(payload, (dict, list)) else payload
        self.mocking_assistant.add_websocket_aiohttp_message(ws, message=message, message_type=message_type)

    def close(self, ws, code):
        """A server close frame; aiohttp exposes its code as `close_code` (None: the close carried no code)."""
        ws.close_code = code
        self.add_frame(ws, code, aiohttp.WSMsgType.CLOSE)

    def sent(self, ws) -> List[Dict]:
        return self.mocking_assistant.json_messages_sent_through_websocket(ws)

    def post_key(self, key: str = KEY_1, **kwargs):
        self.rest.post(listen_key_url(), payload={"listenKey": key}, **kwargs)

    def messages_at(self, level: str) -> List[str]:
        return [record.getMessage() for record in self.log_records if record.levelname == level]

    def warnings(self) -> List[str]:
        return self.messages_at("WARNING")

    def reconnect_sleeps(self) -> List[float]:
        others = (CONSTANTS.WS_PING_INTERVAL, CONSTANTS.LISTEN_KEY_KEEP_ALIVE_INTERVAL,
                  CONSTANTS.LISTEN_KEY_RETRY_DELAY)
        return [delay for delay in self.sleep.calls if delay not in others]

    def start(self):
        task = asyncio.ensure_future(self.data_source.listen_for_user_stream(self.output))
        self.tasks.append(task)
        return task

    async def subscribed(self, ws):
        await wait_until(lambda: len(self.sent(ws)) >= 2)  # SUBSCRIBE, then the PING sent at connect

    async def reconnect(self, ws):
        """Lets the pending reconnect delay pass and waits for the next connection's subscription."""
        await wait_until(lambda: self.sleep.waiting(CONSTANTS.WS_RECONNECT_DELAY_INITIAL))
        self.sleep.release(CONSTANTS.WS_RECONNECT_DELAY_INITIAL)
        await self.subscribed(ws)

    def resynced(self) -> bool:
        """Whether the connector was asked to poll for the events of a gap (and forget the request)."""
        notified = self.connector._poll_notifier.is_set()
        self.connector._poll_notifier.clear()
        return notified

    @staticmethod
    def listen_key_of(ws_connect_mock, call_index: int) -> str:
        return parse_qs(urlsplit(ws_connect_mock.call_args_list[call_index].args[0]).query)["listenKey"][0]

    # -------------------------------------------------------------------------------------------- connect
    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_connects_with_a_listen_key_and_subscribes_account_private(self, ws_connect_mock):
        self.post_key()
        ws = self.new_ws()
        ws_connect_mock.side_effect = [ws]
        self.start()
        await self.subscribed(ws)
        url = ws_connect_mock.call_args.args[0]
        self.assertTrue(url.startswith(web_utils.ws_base_url(CONSTANTS.DOMAIN)))
        query = parse_qs(urlsplit(url).query)
        self.assertEqual({"version": ["1.0"], "xwebsocketserver": ["restserver3"], "websocketserver": ["restserver3"],
                          "listenKey": [KEY_1]}, query)
        self.assertEqual(CONSTANTS.WS_HEARTBEAT_INTERVAL, ws_connect_mock.call_args.kwargs["heartbeat"])
        # §5.2: Vest's application PING right after the SUBSCRIBE, not a WebSocket ping frame.
        self.assertEqual([{"method": "SUBSCRIBE", "params": ["account_private"], "id": 1},
                          {"method": "PING", "params": [], "id": 2}], self.sent(ws))
        ws.ping.assert_not_awaited()
        self.assertEqual(KEY_1, self.data_source._listen_key)
        self.assertEqual(1, calls_of(self.rest, "POST"))
        self.assertTrue(self.is_logged("INFO", "Subscribed to the Vest account_private channel."))

    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_the_stream_is_live_from_its_subscription_and_each_event_but_not_a_pong(self, ws_connect_mock):
        # Hummingbot polls often only while `last_recv_time` is old: PONGs, which a stream carrying no events
        # still answers, must not make it look live.
        self.post_key()
        ws = self.new_ws()
        ws_connect_mock.side_effect = [ws]
        self.data_source._time = lambda: self.now
        self.now = 1000.0
        self.assertEqual(0, self.data_source.last_recv_time)
        self.start()
        await self.subscribed(ws)
        self.assertEqual(1000.0, self.data_source.last_recv_time)
        self.now = 1030.0
        self.add_frame(ws, {"data": "PONG"})
        await self.mocking_assistant.run_until_all_aiohttp_messages_delivered(ws)
        self.assertEqual(1000.0, self.data_source.last_recv_time)
        self.assertTrue(self.output.empty())
        self.add_frame(ws, ORDER_NEW)
        self.assertEqual(ORDER_NEW, await asyncio.wait_for(self.output.get(), 2))
        self.assertEqual(1030.0, self.data_source.last_recv_time)
        self.assertEqual([], self.warnings())

    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_account_events_are_forwarded_whole(self, ws_connect_mock):
        self.post_key()
        ws = self.new_ws()
        ws_connect_mock.side_effect = [ws]
        self.start()
        await self.subscribed(ws)
        events = [ORDER_NEW, ORDER_CANCELLED, ORDER_REJECTED, LP_EVENT, TRANSFER_EVENT]
        self.add_frame(ws, events[0])
        self.add_frame(ws, json.dumps(events[1]).encode(), aiohttp.WSMsgType.BINARY)  # §5.1: binary UTF-8
        self.add_frame(ws, brotli.compress(json.dumps(events[2]).encode()), aiohttp.WSMsgType.BINARY)  # Brotli
        self.add_frame(ws, events[3])
        self.add_frame(ws, events[4])
        received = [await asyncio.wait_for(self.output.get(), 2) for _ in events]
        self.assertEqual(events, received)
        self.assertTrue(all(type(message) is dict for message in received))
        self.assertEqual([], self.warnings())

    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_control_replies_and_other_channels_are_consumed(self, ws_connect_mock):
        self.post_key()
        ws = self.new_ws()
        ws_connect_mock.side_effect = [ws]
        self.start()
        await self.subscribed(ws)
        self.add_frame(ws, {"result": None, "id": 1})
        self.add_frame(ws, {"data": "PONG"})
        self.add_frame(ws, {"data": "pong"})
        self.add_frame(ws, {"channel": "tickers", "data": []})
        self.add_frame(ws, {"channel": "tickers", "data": []})
        self.add_frame(ws, ORDER_NEW)
        self.assertEqual(ORDER_NEW, await asyncio.wait_for(self.output.get(), 2))
        self.assertTrue(self.output.empty())
        self.assertEqual(["Ignoring messages of unexpected private channel tickers."], self.warnings())
        self.assertTrue(self.is_logged("DEBUG", "Ignoring a message of unexpected private channel tickers."))

    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_malformed_frames_are_logged_and_skipped(self, ws_connect_mock):
        self.post_key()
        ws = self.new_ws()
        ws_connect_mock.side_effect = [ws]
        task = self.start()
        await self.subscribed(ws)
        self.add_frame(ws, "{not json")
        self.add_frame(ws, b"\x00\xff\xfe", aiohttp.WSMsgType.BINARY)
        self.add_frame(ws, brotli.compress(b"\xff\xfe"), aiohttp.WSMsgType.BINARY)  # Brotli of non-UTF-8
        self.add_frame(ws, "null")
        self.add_frame(ws, ["account_private"])
        self.add_frame(ws, {"event": "ORDER"})
        self.add_frame(ws, ORDER_CANCELLED)
        self.assertEqual(ORDER_CANCELLED, await asyncio.wait_for(self.output.get(), 2))
        self.assertEqual([
            "Skipping malformed private websocket frame: frame is not valid JSON",
            "Skipping malformed private websocket frame: binary frame is neither UTF-8 JSON nor Brotli-compressed JSON",
            "Skipping malformed private websocket frame: binary frame is neither UTF-8 JSON nor Brotli-compressed JSON",
            "Skipping malformed private websocket frame: unsupported frame type NoneType",
            "Skipping malformed private websocket frame: message is not an object: list",
            "Skipping malformed private websocket frame: missing field 'channel'",
        ], self.warnings())
        self.assertFalse(any(record.exc_info for record in self.log_records))
        self.assertEqual([], self.messages_at("ERROR"))
        self.assertFalse(task.done())
        self.assertEqual(1, ws_connect_mock.call_count)  # skipped, not a reason to reconnect

    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_pings_every_ping_interval(self, ws_connect_mock):
        self.post_key()
        ws = self.new_ws()
        ws_connect_mock.side_effect = [ws]
        self.start()
        await self.subscribed(ws)
        await wait_until(lambda: self.sleep.waiting(CONSTANTS.WS_PING_INTERVAL))
        self.assertEqual(2, len(self.sent(ws)))
        self.sleep.release(CONSTANTS.WS_PING_INTERVAL, times=2)
        await wait_until(lambda: len(self.sent(ws)) == 4)
        self.assertEqual([{"method": "PING", "params": [], "id": 3}, {"method": "PING", "params": [], "id": 4}],
                         self.sent(ws)[2:])

    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_a_failed_ping_ends_the_connection_and_reconnects_with_a_new_key(self, ws_connect_mock):
        self.post_key(KEY_1)
        self.post_key(KEY_2)
        first, second = self.new_ws(), self.new_ws()
        first.closed = False  # so that disconnecting closes the aiohttp socket
        ws_connect_mock.side_effect = [first, second]
        self.start()
        await self.subscribed(first)
        first.send_json.side_effect = ConnectionResetError("socket gone")
        self.sleep.release(CONSTANTS.WS_PING_INTERVAL)
        await wait_until(lambda: self.sleep.waiting(CONSTANTS.WS_RECONNECT_DELAY_INITIAL))
        self.assertEqual([CLOSED.format("socket gone")], self.warnings())
        first.close.assert_awaited()  # disconnected before the back-off
        await self.reconnect(second)
        self.assertEqual(KEY_2, self.listen_key_of(ws_connect_mock, 1))

    # -------------------------------------------------------------------------------------------- keep-alive
    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_keep_alive_puts_every_interval_and_keeps_the_connection(self, ws_connect_mock):
        self.post_key()
        self.rest.put(listen_key_url(), payload={"listenKey": KEY_1}, repeat=True)
        ws = self.new_ws()
        ws_connect_mock.side_effect = [ws]
        self.start()
        await self.subscribed(ws)
        for count in (1, 2):
            await wait_until(lambda: self.sleep.waiting(CONSTANTS.LISTEN_KEY_KEEP_ALIVE_INTERVAL))
            self.assertEqual(count - 1, calls_of(self.rest, "PUT"))  # nothing before the interval elapses
            self.sleep.release(CONSTANTS.LISTEN_KEY_KEEP_ALIVE_INTERVAL)
            await wait_until(lambda: calls_of(self.rest, "PUT") == count)
        await wait_until(lambda: self.sleep.count(CONSTANTS.LISTEN_KEY_KEEP_ALIVE_INTERVAL) == 3)
        self.assertEqual(1, ws_connect_mock.call_count)
        self.assertEqual(KEY_1, self.data_source._listen_key)
        self.assertEqual([], self.warnings())

    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_keep_alive_answered_1125_gets_a_new_key_and_reconnects(self, ws_connect_mock):
        self.post_key(KEY_1)
        self.post_key(KEY_2)
        self.rest.put(listen_key_url(), status=400, payload={
            "code": 1125, "msg": "Listen key expired. Make a POST request to create a new key."})
        first, second = self.new_ws(), self.new_ws()
        ws_connect_mock.side_effect = [first, second]
        self.start()
        await self.subscribed(first)
        self.sleep.release(CONSTANTS.LISTEN_KEY_KEEP_ALIVE_INTERVAL)
        await self.reconnect(second)
        self.assertEqual([KEY_1, KEY_2], [self.listen_key_of(ws_connect_mock, index) for index in (0, 1)])
        self.assertEqual(KEY_2, self.data_source._listen_key)
        self.assertEqual(1, calls_of(self.rest, "PUT"))  # 1125 is final: no retry
        self.assertEqual(0, self.sleep.count(CONSTANTS.LISTEN_KEY_RETRY_DELAY))
        self.assertTrue(self.is_partially_logged("WARNING", "The listen key expired (Vest error 1125 "
                                                            "INVALID_LISTEN_KEY"))
        self.add_frame(second, ORDER_NEW)  # the new connection is live
        self.assertEqual(ORDER_NEW, await asyncio.wait_for(self.output.get(), 2))

    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_keep_alive_1125_on_a_retry_stops_retrying(self, ws_connect_mock):
        self.post_key(KEY_1)
        self.post_key(KEY_2)
        self.rest.put(listen_key_url(), status=503, body="unavailable")
        self.rest.put(listen_key_url(), status=400, payload={"code": 1125, "msg": "Listen key expired."})
        first, second = self.new_ws(), self.new_ws()
        ws_connect_mock.side_effect = [first, second]
        self.start()
        await self.subscribed(first)
        self.sleep.release(CONSTANTS.LISTEN_KEY_KEEP_ALIVE_INTERVAL)
        await wait_until(lambda: self.sleep.waiting(CONSTANTS.LISTEN_KEY_RETRY_DELAY))
        self.sleep.release(CONSTANTS.LISTEN_KEY_RETRY_DELAY)
        await self.reconnect(second)
        self.assertEqual(2, calls_of(self.rest, "PUT"))
        self.assertEqual(KEY_2, self.listen_key_of(ws_connect_mock, 1))
        self.assertTrue(self.is_partially_logged("WARNING", "Listen key keep-alive attempt 1 failed"))

    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_keep_alive_failures_keep_a_working_stream_while_the_key_is_valid_then_reconnect(self, ws_connect_mock):
        # §3.11: the key lives 60 min from its last POST/PUT; an outage of the listen-key endpoint alone must not
        # tear down a stream whose key still works.
        self.data_source._time = lambda: self.now
        self.now = 1000.0
        self.post_key(KEY_1)
        self.post_key(KEY_2)
        self.rest.put(listen_key_url(), exception=aiohttp.ClientConnectionError("network down"), repeat=True)
        first, second = self.new_ws(), self.new_ws()
        ws_connect_mock.side_effect = [first, second]
        self.start()
        await self.subscribed(first)
        expires = self.now + CONSTANTS.LISTEN_KEY_LIFETIME_SECONDS
        self.now += CONSTANTS.LISTEN_KEY_KEEP_ALIVE_INTERVAL
        self.sleep.release(CONSTANTS.LISTEN_KEY_KEEP_ALIVE_INTERVAL)
        retries = 0
        while self.now + CONSTANTS.LISTEN_KEY_RETRY_DELAY < expires - CONSTANTS.LISTEN_KEY_EXPIRY_MARGIN_SECONDS:
            retries += 1
            await wait_until(lambda: self.sleep.count(CONSTANTS.LISTEN_KEY_RETRY_DELAY) == retries)
            self.assertEqual(1, ws_connect_mock.call_count)  # still connected while the key is valid
            self.add_frame(first, ORDER_NEW)  # and still delivering
            self.assertEqual(ORDER_NEW, await asyncio.wait_for(self.output.get(), 2))
            self.now += CONSTANTS.LISTEN_KEY_RETRY_DELAY * 60  # jump ahead: a few retries stand for the outage
            self.sleep.release(CONSTANTS.LISTEN_KEY_RETRY_DELAY)
        await self.reconnect(second)
        self.assertGreater(retries, 1)
        self.assertEqual(retries + 1, calls_of(self.rest, "PUT"))
        self.assertEqual(KEY_2, self.listen_key_of(ws_connect_mock, 1))
        self.assertTrue(self.is_logged("ERROR", "Could not keep the listen key alive; reconnecting with a fresh "
                                                "listen key."))
        self.add_frame(second, LP_EVENT)
        self.assertEqual(LP_EVENT, await asyncio.wait_for(self.output.get(), 2))

    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_a_keep_alive_that_succeeds_on_retry_keeps_the_connection(self, ws_connect_mock):
        self.post_key()
        self.rest.put(listen_key_url(), status=503, body="unavailable")
        self.rest.put(listen_key_url(), payload={"listenKey": KEY_1})
        ws = self.new_ws()
        ws_connect_mock.side_effect = [ws]
        self.start()
        await self.subscribed(ws)
        self.sleep.release(CONSTANTS.LISTEN_KEY_KEEP_ALIVE_INTERVAL)
        await wait_until(lambda: self.sleep.waiting(CONSTANTS.LISTEN_KEY_RETRY_DELAY))
        self.sleep.release(CONSTANTS.LISTEN_KEY_RETRY_DELAY)
        await wait_until(lambda: self.sleep.count(CONSTANTS.LISTEN_KEY_KEEP_ALIVE_INTERVAL) == 2)
        self.assertEqual(2, calls_of(self.rest, "PUT"))
        self.assertEqual(1, ws_connect_mock.call_count)
        self.assertEqual(KEY_1, self.data_source._listen_key)

    # -------------------------------------------------------------------------------------------- closes
    async def _assert_close_gets_new_key_and_live_stream(self, ws_connect_mock, code: int):
        """§5.1: 4003/4004/4005 need a new listen key; every reconnection POSTs for one (§3.11)."""
        self.post_key(KEY_1)
        self.post_key(KEY_2)
        first, second = self.new_ws(), self.new_ws()
        ws_connect_mock.side_effect = [first, second]
        self.start()
        await self.subscribed(first)
        self.assertFalse(self.resynced())  # the first connection has no gap to recover
        self.close(first, code)
        await wait_until(lambda: self.sleep.waiting(CONSTANTS.WS_RECONNECT_DELAY_INITIAL))
        self.assertEqual([CLOSED.format(f"The WS connection was closed unexpectedly. Close code = {code} "
                                        f"msg data: {code}")], self.warnings())
        await self.reconnect(second)
        self.assertEqual(KEY_2, self.listen_key_of(ws_connect_mock, 1))
        self.assertEqual(KEY_2, self.data_source._listen_key)
        self.assertEqual(2, calls_of(self.rest, "POST"))
        self.assertTrue(self.resynced())  # events of the gap are polled at once (§5.4: no replay)
        self.add_frame(second, ORDER_NEW)  # a second connection after a drop receives events
        self.assertEqual(ORDER_NEW, await asyncio.wait_for(self.output.get(), 2))

    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_close_4004_listen_key_not_found(self, ws_connect_mock):
        await self._assert_close_gets_new_key_and_live_stream(ws_connect_mock, 4004)

    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_close_4005_listen_key_expired(self, ws_connect_mock):
        await self._assert_close_gets_new_key_and_live_stream(ws_connect_mock, 4005)

    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_close_4003_listen_key_required(self, ws_connect_mock):
        await self._assert_close_gets_new_key_and_live_stream(ws_connect_mock, 4003)

    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_any_other_close_reconnects_with_a_freshly_posted_key(self, ws_connect_mock):
        """1012 SERVICE_RESTART, or a close without a code: the key may have expired meanwhile, so the
        reconnection POSTs again (Vest returns the active key, extended, or a new one)."""
        for _ in range(3):
            self.post_key(KEY_1)
        first, second, third = self.new_ws(), self.new_ws(), self.new_ws()
        ws_connect_mock.side_effect = [first, second, third]
        self.start()
        await self.subscribed(first)
        self.close(first, 1012)
        await self.reconnect(second)
        self.close(second, None)
        await wait_until(lambda: len(self.reconnect_sleeps()) == 2)
        self.sleep.release(self.reconnect_sleeps()[-1])
        await self.subscribed(third)
        self.assertEqual(3, calls_of(self.rest, "POST"))
        self.assertTrue(self.is_partially_logged("WARNING", "Close code = 1012"))
        self.assertTrue(self.is_partially_logged("WARNING", "Close code = None"))
        self.add_frame(third, TRANSFER_EVENT)
        self.assertEqual(TRANSFER_EVENT, await asyncio.wait_for(self.output.get(), 2))

    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_resync_is_requested_on_every_re_subscription_only(self, ws_connect_mock):
        for key in (KEY_1, KEY_1, KEY_2, KEY_1):  # every connection attempt POSTs first
            self.post_key(key)
        first, second, third = self.new_ws(), self.new_ws(), self.new_ws()
        ws_connect_mock.side_effect = [OSError("refused"), first, second, third]
        self.start()
        await wait_until(lambda: self.sleep.waiting(CONSTANTS.WS_RECONNECT_DELAY_INITIAL))
        self.sleep.release(CONSTANTS.WS_RECONNECT_DELAY_INITIAL)
        await self.subscribed(first)
        self.assertFalse(self.resynced())  # a failed connection before the first subscription is no gap
        self.add_frame(first, ORDER_NEW)
        await asyncio.wait_for(self.output.get(), 2)
        self.assertFalse(self.resynced())  # events alone do not ask for a poll
        for closing, following in ((first, second), (second, third)):
            self.close(closing, 1011)
            await wait_until(lambda: len(self.reconnect_sleeps()) == ws_connect_mock.call_count)
            self.assertFalse(self.resynced())  # not before the new subscription is out
            self.sleep.release(self.reconnect_sleeps()[-1])
            await self.subscribed(following)
            self.assertTrue(self.resynced())

    # -------------------------------------------------------------------------------------------- back-off
    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_failures_back_off_and_a_healthy_connection_resets_the_delay(self, ws_connect_mock):
        initial = CONSTANTS.WS_RECONNECT_DELAY_INITIAL
        self.rest.post(listen_key_url(), status=401, payload={"code": 1002, "msg": "unauthorized"})
        self.rest.post(listen_key_url(), exception=aiohttp.ClientConnectionError("no route"))
        self.post_key(KEY_1)  # but the socket does not open
        self.post_key(KEY_1)
        self.post_key(KEY_1)
        self.post_key(KEY_1)
        first, second, third = self.new_ws(), self.new_ws(), self.new_ws()
        ws_connect_mock.side_effect = [OSError("refused"), first, second, third]
        self.start()
        for expected in ([initial], [initial, initial * 2], [initial, initial * 2, initial * 4]):
            await wait_until(lambda: self.reconnect_sleeps() == expected)
            self.sleep.release(expected[-1])
        await self.subscribed(first)
        self.assertEqual([
            CLOSED.format("Could not get a listen key: VestAPIError('Vest error 1002 UNAUTHORIZED: unauthorized "
                          "(HTTP 401)')"),
            CLOSED.format("Could not get a listen key: ClientConnectionError('no route')"),
            CLOSED.format("Could not connect to the Vest websocket: OSError('refused')"),
        ], self.warnings())
        self.assertFalse(any(record.exc_info for record in self.log_records))  # one line each, no traceback
        self.assertEqual([], self.messages_at("ERROR"))

        # A connection that received data (here the PONG of the PING sent at connect) resets the back-off ...
        self.add_frame(first, {"data": "PONG"})
        await self.mocking_assistant.run_until_all_aiohttp_messages_delivered(first)
        self.close(first, 1011)
        await wait_until(lambda: len(self.reconnect_sleeps()) == 4)
        self.assertEqual(initial, self.reconnect_sleeps()[-1])
        self.sleep.release(initial)
        await self.subscribed(second)
        # ... one that received nothing makes it grow again.
        self.close(second, 1011)
        await wait_until(lambda: len(self.reconnect_sleeps()) == 5)
        self.assertEqual(initial * 2, self.reconnect_sleeps()[-1])
        self.sleep.release(initial * 2)
        await self.subscribed(third)

    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_unexpected_error_is_logged_and_followed_by_a_reconnect(self, ws_connect_mock):
        self.post_key()
        self.post_key()
        ws = self.new_ws()
        ws_connect_mock.side_effect = [RuntimeError("bug"), ws]
        self.start()
        await wait_until(lambda: self.sleep.waiting(1.0))
        self.assertTrue(self.is_logged("ERROR", UNEXPECTED))
        # Hummingbot's loop sleeps 1 s after an unexpected error, then the interruption hook's back-off (also 1 s).
        self.sleep.release(1.0, times=2)
        await self.subscribed(ws)
        self.assertEqual(2, calls_of(self.rest, "POST"))

    # The back-off is waited before a reconnection, not in Hummingbot's `finally`: a stop must not outlive `cancel()`.
    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_cancelling_the_loop_ends_it_without_waiting_out_a_back_off(self, ws_connect_mock):
        self.post_key()
        ws = self.new_ws()
        ws_connect_mock.side_effect = [ws]
        task = self.start()
        await self.subscribed(ws)
        task.cancel()
        try:
            await wait_until(task.done, timeout=1)
        except asyncio.TimeoutError:
            self.fail(f"the cancelled loop is still running, sleeping {self.reconnect_sleeps()}")
        self.assertTrue(task.cancelled())
        self.assertEqual([], self.reconnect_sleeps())

    # -------------------------------------------------------------------------------------------- stop
    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_stop_deletes_the_listen_key(self, ws_connect_mock):
        self.post_key()
        self.rest.delete(listen_key_url(), payload={})
        ws = self.new_ws()
        ws_connect_mock.side_effect = [ws]
        task = self.start()
        await self.subscribed(ws)
        self.sleep.open()  # Hummingbot's UserStreamTracker cancels the loop, then calls stop()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await self.data_source.stop()
        self.assertEqual(1, calls_of(self.rest, "DELETE"))
        self.assertIsNone(self.data_source._listen_key)
        self.assertIsNone(self.data_source._ws_assistant)
        self.assertEqual([], self.warnings())

    async def test_stop_without_a_listen_key_deletes_nothing(self):
        await self.data_source.stop()
        self.assertEqual(0, calls_of(self.rest, "DELETE"))

    async def test_a_failed_delete_on_stop_is_logged(self):
        self.data_source._listen_key = KEY_1
        self.rest.delete(listen_key_url(), exception=aiohttp.ClientConnectionError("gone"))
        await self.data_source.stop()
        self.assertTrue(self.is_logged("WARNING", "Could not delete the listen key on stop: "
                                                  "ClientConnectionError('gone')"))
        self.assertIsNone(self.data_source._listen_key)

    async def test_a_cancellation_during_the_delete_on_stop_is_not_swallowed(self):
        self.data_source._listen_key = KEY_1
        self.rest.delete(listen_key_url(), exception=asyncio.CancelledError())
        with self.assertRaises(asyncio.CancelledError):
            await self.data_source.stop()
        self.assertEqual([], self.warnings())

    async def test_a_cancellation_during_a_keep_alive_is_not_swallowed(self):
        self.rest.put(listen_key_url(), exception=asyncio.CancelledError())
        with self.assertRaises(asyncio.CancelledError):
            await self.data_source._extend_listen_key()
        self.assertEqual([], self.warnings())
        self.assertEqual(0, self.sleep.count(CONSTANTS.LISTEN_KEY_RETRY_DELAY))  # not retried either

    def test_test_delays_are_distinct(self):
        """ControlledSleep tells the loops apart by their delay, so these must differ."""
        delays = [CONSTANTS.WS_PING_INTERVAL, CONSTANTS.LISTEN_KEY_KEEP_ALIVE_INTERVAL,
                  CONSTANTS.LISTEN_KEY_RETRY_DELAY, CONSTANTS.WS_RECONNECT_DELAY_INITIAL,
                  CONSTANTS.WS_RECONNECT_DELAY_INITIAL * 2, CONSTANTS.WS_RECONNECT_DELAY_INITIAL * 4]
        self.assertEqual(len(delays), len(set(delays)))
