"""URL builders, env overrides, the REST pre-processor, the throttler, the factory and the WebSocket plumbing
(docs/vest-protocol.md §1.1-§1.3, §3.1, §5.1, §5.2, §6.5).

REST goes through Hummingbot's stock assistants to `aioresponses`; WebSockets through Hummingbot's stock
`WSAssistant` to a `NetworkMockingAssistant` socket in place of `aiohttp.ClientSession.ws_connect`.
"""
import asyncio
import json
import os
import re
import unittest
from decimal import Decimal
from typing import Any, Dict, List, Tuple
from unittest.mock import AsyncMock, patch
from urllib.parse import parse_qs, urlsplit

import aiohttp
from aioresponses import aioresponses

from hummingbot.connector.derivative.vest_perpetual import (
    vest_perpetual_constants as CONSTANTS,
    vest_perpetual_web_utils as web_utils,
)
from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_auth import VestPerpetualAuth
from hummingbot.connector.test_support.network_mocking_assistant import NetworkMockingAssistant
from hummingbot.core.api_throttler.async_request_context_base import AsyncRequestContextBase
from hummingbot.core.api_throttler.async_throttler import AsyncRequestContext, AsyncThrottler
from hummingbot.core.api_throttler.data_types import RateLimit
from hummingbot.core.web_assistant.connections.connections_factory import ConnectionsFactory
from hummingbot.core.web_assistant.connections.data_types import RESTMethod, RESTRequest
from hummingbot.core.web_assistant.web_assistants_factory import WebAssistantsFactory
from hummingbot.core.web_assistant.ws_assistant import WSAssistant
from test.isolated_asyncio_wrapper_test_case import IsolatedAsyncioWrapperTestCase
from test.logger_mixin_for_test import LoggerMixinForTest

REST_ENV = CONSTANTS.REST_URL_ENV_VAR
WS_ENV = CONSTANTS.WS_URL_ENV_VAR
NOW = 1_700_000_000.0


def _without_overrides():
    """An environment with no override set, whatever the developer's shell exports."""
    names = {name for names in CONSTANTS.URL_OVERRIDE_ENV_VARS.values() for name in names.values()}
    environ = {key: value for key, value in os.environ.items() if key not in names}
    return patch.dict(os.environ, environ, clear=True)


def _query(url: str):
    return parse_qs(urlsplit(url).query, strict_parsing=True)


def _sent(mock: aioresponses) -> List[Tuple[str, str, Dict[str, Any]]]:
    """(method, URL, request kwargs) of every request aioresponses intercepted."""
    return [(method, str(url), call.kwargs) for (method, url), calls in mock.requests.items() for call in calls]


class RestUrlTest(unittest.TestCase):
    def test_rest_urls_for_both_domains(self):
        with _without_overrides():
            self.assertEqual("https://server-prod.hz.vestmarkets.com/v2/exchangeInfo",
                             web_utils.public_rest_url(CONSTANTS.EXCHANGE_INFO_PATH_URL))
            self.assertEqual("https://server-dev.hz.vestmarkets.com/v2/exchangeInfo",
                             web_utils.public_rest_url(CONSTANTS.EXCHANGE_INFO_PATH_URL, CONSTANTS.TESTNET_DOMAIN))
            self.assertEqual("https://server-prod.hz.vestmarkets.com/v2/orders/cancel",
                             web_utils.private_rest_url(CONSTANTS.CANCEL_ORDER_PATH_URL, CONSTANTS.DOMAIN))
            self.assertEqual("https://server-dev.hz.vestmarkets.com/v2/account",
                             web_utils.private_rest_url(CONSTANTS.ACCOUNT_PATH_URL, CONSTANTS.TESTNET_DOMAIN))

    def test_each_domain_has_its_own_override(self):
        # One variable for every domain sent prod and testnet to the same place (the same account counted twice).
        with _without_overrides(), patch.dict(os.environ, {REST_ENV: "http://127.0.0.1:8123/v2"}):
            self.assertEqual("http://127.0.0.1:8123/v2", web_utils.rest_base_url(CONSTANTS.DOMAIN))
            self.assertEqual("http://127.0.0.1:8123/v2/depth", web_utils.public_rest_url(CONSTANTS.DEPTH_PATH_URL))
            self.assertEqual("http://127.0.0.1:8123/v2/account/listenKey",
                             web_utils.private_rest_url(CONSTANTS.LISTEN_KEY_PATH_URL))
            self.assertEqual(CONSTANTS.REST_URLS[CONSTANTS.TESTNET_DOMAIN],
                             web_utils.rest_base_url(CONSTANTS.TESTNET_DOMAIN))
        with _without_overrides(), patch.dict(os.environ, {CONSTANTS.TESTNET_REST_URL_ENV_VAR: "https://example.org/v2",
                                                           CONSTANTS.TESTNET_WS_URL_ENV_VAR: "wss://example.org/ws"}):
            self.assertEqual("https://example.org/v2", web_utils.rest_base_url(CONSTANTS.TESTNET_DOMAIN))
            self.assertTrue(web_utils.public_ws_url(CONSTANTS.TESTNET_DOMAIN).startswith("wss://example.org/ws?"))
            self.assertEqual(CONSTANTS.REST_URLS[CONSTANTS.DOMAIN], web_utils.rest_base_url(CONSTANTS.DOMAIN))
        with _without_overrides():  # unset again once the patch ends
            self.assertEqual(CONSTANTS.REST_URLS[CONSTANTS.DOMAIN], web_utils.rest_base_url())
            self.assertIsNone(web_utils.url_override(CONSTANTS.DOMAIN, "rest"))

    def test_plain_http_or_ws_to_another_machine_is_refused(self):
        for name, url in ((REST_ENV, "http://10.0.0.5:8080/v2"), (WS_ENV, "ws://vest.example.org/ws-api"),
                          (REST_ENV, "ftp://127.0.0.1/v2"), (REST_ENV, "wss://127.0.0.1/v2")):
            with self.subTest(url=url), _without_overrides(), patch.dict(os.environ, {name: url}):
                with self.assertRaisesRegex(ValueError, f"{name}=.* is refused: the override must use") as caught:
                    web_utils.rest_base_url() if name == REST_ENV else web_utils.ws_base_url()
                self.assertIn("signed orders and the API key are sent there", str(caught.exception))
        for name, url in ((REST_ENV, "http://localhost:8765/v2"), (WS_ENV, "ws://[::1]:8765/ws-api"),
                          (REST_ENV, "https://10.0.0.5/v2")):
            with _without_overrides(), patch.dict(os.environ, {name: url}):
                self.assertEqual(url, web_utils.url_override(CONSTANTS.DOMAIN, "rest" if name == REST_ENV else "ws"))

    def test_empty_override_falls_back_to_the_domain(self):
        with _without_overrides(), patch.dict(os.environ, {REST_ENV: "", WS_ENV: ""}):
            self.assertEqual(CONSTANTS.REST_URLS[CONSTANTS.TESTNET_DOMAIN],
                             web_utils.rest_base_url(CONSTANTS.TESTNET_DOMAIN))
            self.assertEqual(CONSTANTS.WS_URLS[CONSTANTS.TESTNET_DOMAIN],
                             web_utils.ws_base_url(CONSTANTS.TESTNET_DOMAIN))

    def test_unknown_domain_is_refused(self):
        with _without_overrides():
            with self.assertRaises(KeyError):
                web_utils.rest_base_url("binance")
            with self.assertRaises(KeyError):
                web_utils.ws_base_url("binance")


class WsUrlTest(unittest.TestCase):
    def test_public_ws_url_carries_version_and_both_group_params(self):
        with _without_overrides():
            url = web_utils.public_ws_url()
            parts = urlsplit(url)
            self.assertEqual("wss://ws-prod.hz.vestmarkets.com/ws-api", f"{parts.scheme}://{parts.netloc}{parts.path}")
            self.assertEqual({"version": ["1.0"], "xwebsocketserver": ["restserver0"],
                              "websocketserver": ["restserver0"]}, _query(url))

    def test_public_ws_url_for_testnet_and_another_group(self):
        with _without_overrides():
            url = web_utils.public_ws_url(CONSTANTS.TESTNET_DOMAIN, account_group=4)
            self.assertTrue(url.startswith("wss://ws-dev.hz.vestmarkets.com/ws-api?"))
            query = _query(url)
            self.assertEqual(["restserver4"], query["xwebsocketserver"])
            self.assertEqual(["restserver4"], query["websocketserver"])
            self.assertNotIn("listenKey", query)

    def test_private_ws_url_adds_listen_key(self):
        with _without_overrides():
            url = web_utils.private_ws_url("579e1280448d4843b190c50fbd170078", account_group=2)
            self.assertEqual({"version": ["1.0"], "xwebsocketserver": ["restserver2"],
                              "websocketserver": ["restserver2"],
                              "listenKey": ["579e1280448d4843b190c50fbd170078"]}, _query(url))
            self.assertTrue(url.startswith(CONSTANTS.WS_URLS[CONSTANTS.DOMAIN] + "?"))

    def test_listen_key_is_url_encoded(self):
        with _without_overrides():
            url = web_utils.private_ws_url("a&b=c d", account_group=0, domain=CONSTANTS.TESTNET_DOMAIN)
            self.assertEqual(["a&b=c d"], _query(url)["listenKey"])
            self.assertEqual(["restserver0"], _query(url)["xwebsocketserver"])

    def test_ws_override(self):
        with _without_overrides(), patch.dict(os.environ, {WS_ENV: "ws://127.0.0.1:9001/ws-api"}):
            self.assertTrue(web_utils.public_ws_url().startswith("ws://127.0.0.1:9001/ws-api?version=1.0"))
            self.assertTrue(web_utils.private_ws_url("k", 1).startswith("ws://127.0.0.1:9001/ws-api?"))
            self.assertTrue(web_utils.private_ws_url("k", 1, CONSTANTS.TESTNET_DOMAIN)
                            .startswith(CONSTANTS.WS_URLS[CONSTANTS.TESTNET_DOMAIN]))


class PreProcessorTest(IsolatedAsyncioWrapperTestCase):
    def test_account_group_value(self):
        self.assertEqual("restserver0", web_utils.account_group_value(0))
        self.assertEqual("restserver12", web_utils.account_group_value(12))

    async def test_adds_group_header_and_keeps_caller_headers(self):
        request = RESTRequest(method=RESTMethod.GET, url="https://x/v2/depth", headers={"Accept": "text/plain"})
        processed = await web_utils.VestPerpetualRESTPreProcessor().pre_process(request)
        self.assertEqual({"Accept": "text/plain", "xrestservermm": "restserver0"}, dict(processed.headers))

    async def test_missing_headers_and_configured_group(self):
        request = RESTRequest(method=RESTMethod.GET, url="https://x/v2/depth", headers=None)
        processed = await web_utils.VestPerpetualRESTPreProcessor(account_group=3).pre_process(request)
        self.assertEqual({"xrestservermm": "restserver3"}, dict(processed.headers))

    async def test_caller_group_header_wins(self):
        request = RESTRequest(method=RESTMethod.GET, url="https://x", headers={"xrestservermm": "restserver7"})
        processed = await web_utils.VestPerpetualRESTPreProcessor().pre_process(request)
        self.assertEqual("restserver7", processed.headers["xrestservermm"])

    async def test_json_content_type_on_post_and_put_only(self):
        pre_processor = web_utils.VestPerpetualRESTPreProcessor()
        for method in (RESTMethod.POST, RESTMethod.PUT):
            processed = await pre_processor.pre_process(RESTRequest(method=method, url="https://x"))
            self.assertEqual("application/json", processed.headers["Content-Type"])
        kept = await pre_processor.pre_process(
            RESTRequest(method=RESTMethod.POST, url="https://x", headers={"Content-Type": "text/plain"}))
        self.assertEqual("text/plain", kept.headers["Content-Type"])
        for method in (RESTMethod.GET, RESTMethod.DELETE):
            processed = await pre_processor.pre_process(RESTRequest(method=method, url="https://x"))
            self.assertNotIn("Content-Type", processed.headers)

    async def test_the_callers_header_dict_is_not_changed(self):
        caller_headers = {"Accept": "application/json"}
        await web_utils.VestPerpetualRESTPreProcessor().pre_process(
            RESTRequest(method=RESTMethod.POST, url="https://x", headers=caller_headers))
        self.assertEqual({"Accept": "application/json"}, caller_headers)


class ThrottlerTest(LoggerMixinForTest, IsolatedAsyncioWrapperTestCase):
    """`create_throttler` is Hummingbot's stock throttler over the §6.5 table."""

    def setUp(self):
        super().setUp()
        self.context_logger = AsyncRequestContext.logger()
        self.set_loggers([self.context_logger])
        self.now = NOW
        clock = patch("time.time", side_effect=lambda: self.now)
        clock.start()
        self.addCleanup(clock.stop)
        warning_stamp = patch.object(AsyncRequestContextBase, "_last_max_cap_warning_ts", 0.0)
        warning_stamp.start()
        self.addCleanup(warning_stamp.stop)

    def tearDown(self):
        self.context_logger.removeHandler(self)
        super().tearDown()

    @staticmethod
    async def try_enter(throttler: AsyncThrottler, limit_id: str) -> bool:
        """Whether a request enters at once; with the clock frozen, a request held back would wait forever."""
        async def enter():
            async with throttler.execute_task(limit_id):
                pass

        try:
            await asyncio.wait_for(enter(), timeout=0.3)
        except asyncio.TimeoutError:
            return False
        return True

    def test_create_throttler_is_hummingbots_with_every_limit(self):
        throttler = web_utils.create_throttler()
        self.assertIs(AsyncThrottler, type(throttler))
        self.assertEqual({(limit.limit_id, limit.limit, limit.time_interval) for limit in CONSTANTS.RATE_LIMITS},
                         {(limit.limit_id, limit.limit, limit.time_interval) for limit in throttler._rate_limits})
        _, related = throttler.get_related_limits(CONSTANTS.ORDERS_PATH_URL)
        self.assertEqual([(CONSTANTS.ALL_ENDPOINTS_LIMIT_ID, 1)], [(limit.limit_id, weight) for limit, weight in related])

    def test_share_percentage_scales_every_limit_down_to_one(self):
        for share in (Decimal("50"), Decimal("10")):
            with self.subTest(share=share):
                throttler = web_utils.create_throttler(limits_share_percentage=share)
                for limit in CONSTANTS.RATE_LIMITS:
                    expected = max(1, int(limit.limit * share / 100))
                    self.assertEqual(expected, throttler._id_to_limit_map[limit.limit_id].limit, limit.limit_id)
        halved = web_utils.create_throttler(Decimal("50"))
        self.assertEqual((10, 1, 15), tuple(halved._id_to_limit_map[limit_id].limit for limit_id in (
            CONSTANTS.ORDERS_PATH_URL, CONSTANTS.LEVERAGE_PATH_URL, CONSTANTS.ALL_ENDPOINTS_LIMIT_ID)))
        # The module's table is left as it is.
        self.assertEqual(20, limit_of(CONSTANTS.ORDERS_PATH_URL).limit)

    async def test_a_full_limit_holds_the_next_request_and_warns(self):
        throttler = web_utils.create_throttler()
        orders_per_second = limit_of(CONSTANTS.ORDERS_PATH_URL).limit
        entered = [await self.try_enter(throttler, CONSTANTS.ORDERS_PATH_URL) for _ in range(orders_per_second + 1)]
        self.assertEqual([True] * orders_per_second + [False], entered)
        self.assertTrue(self.is_partially_logged(
            "INFO", f"API rate limit on /orders ({orders_per_second} calls per 1s) has almost reached"))
        # Another path still has room; the first request leaves the window after 1 s plus the 5 % safety margin.
        self.assertTrue(await self.try_enter(throttler, CONSTANTS.ORDERS_QUERY_LIMIT_ID))
        self.now = NOW + 1.06
        self.assertTrue(await self.try_enter(throttler, CONSTANTS.ORDERS_PATH_URL))

    async def test_the_share_percentage_applies_when_requests_are_sent(self):
        throttler = web_utils.create_throttler(limits_share_percentage=Decimal("50"))
        half = limit_of(CONSTANTS.ORDERS_PATH_URL).limit // 2
        entered = [await self.try_enter(throttler, CONSTANTS.ORDERS_PATH_URL) for _ in range(half + 1)]
        self.assertEqual([True] * half + [False], entered)

    async def test_the_shared_pool_limits_requests_of_every_path(self):
        throttler = web_utils.create_throttler()
        pool = limit_of(CONSTANTS.ALL_ENDPOINTS_LIMIT_ID).limit
        sent = 0
        for limit_id in (CONSTANTS.CANCEL_ORDER_PATH_URL, CONSTANTS.ORDERS_QUERY_LIMIT_ID):
            for _ in range(min(limit_of(limit_id).limit, pool - sent)):
                self.assertTrue(await self.try_enter(throttler, limit_id))
                sent += 1
        self.assertEqual(pool, sent)
        # The pool is spent: a path with its own budget intact still waits, until the second has passed.
        self.assertFalse(await self.try_enter(throttler, CONSTANTS.TICKER_LATEST_PATH_URL))
        self.assertTrue(self.is_partially_logged("INFO", f"API rate limit on {CONSTANTS.ALL_ENDPOINTS_LIMIT_ID}"))
        self.now = NOW + 1.06
        self.assertTrue(await self.try_enter(throttler, CONSTANTS.TICKER_LATEST_PATH_URL))


def limit_of(limit_id: str) -> RateLimit:
    return next(limit for limit in CONSTANTS.RATE_LIMITS if limit.limit_id == limit_id)


class FactoryTest(IsolatedAsyncioWrapperTestCase):
    """Requests go through the stock assistants the factory builds, to aioresponses."""

    async def asyncSetUp(self):
        await super().asyncSetUp()
        environment = _without_overrides()
        environment.start()
        self.addCleanup(environment.stop)

    async def asyncTearDown(self):
        # Hummingbot's connections factory is a process-wide singleton holding one aiohttp session.
        await ConnectionsFactory().close()
        await super().asyncTearDown()

    def test_factory_is_hummingbots_with_the_given_throttler_and_auth(self):
        throttler = web_utils.create_throttler()
        auth = VestPerpetualAuth(api_key="", signing_private_key="")
        factory = web_utils.build_api_factory(throttler=throttler, auth=auth)
        self.assertIs(WebAssistantsFactory, type(factory))
        self.assertIs(throttler, factory.throttler)
        self.assertIs(auth, factory.auth)

    def test_factory_builds_its_own_throttler(self):
        factory = web_utils.build_api_factory()
        self.assertIsInstance(factory.throttler, AsyncThrottler)
        self.assertEqual({limit.limit_id for limit in CONSTANTS.RATE_LIMITS},
                         set(factory.throttler._id_to_limit_map))
        self.assertIsNone(factory.auth)

    async def test_public_request_carries_the_group_header_and_no_key(self):
        url = web_utils.public_rest_url(CONSTANTS.DEPTH_PATH_URL)
        rest = await web_utils.build_api_factory(account_group=5).get_rest_assistant()
        with aioresponses() as mock:
            mock.get(re.compile(r"^https://server-prod\.hz\.vestmarkets\.com/v2/depth\?"), payload={"bids": []})
            result = await rest.execute_request(url=url, throttler_limit_id=CONSTANTS.DEPTH_PATH_URL,
                                                params={"symbol": "BTC-PERP"},
                                                headers={"Accept": "application/json"})
        self.assertEqual({"bids": []}, result)
        ((method, sent_url, request),) = _sent(mock)
        self.assertEqual(("GET", "https://server-prod.hz.vestmarkets.com/v2/depth?symbol=BTC-PERP"),
                         (method, sent_url))
        self.assertEqual("restserver5", request["headers"]["xrestservermm"])
        self.assertEqual("application/json", request["headers"]["Accept"])
        self.assertNotIn("X-API-KEY", request["headers"])

    async def test_private_request_carries_the_key_and_the_users_group(self):
        url = web_utils.private_rest_url(CONSTANTS.LISTEN_KEY_PATH_URL, CONSTANTS.TESTNET_DOMAIN)
        auth = VestPerpetualAuth(api_key="key-abc", signing_private_key="", account_group=2)
        rest = await web_utils.build_api_factory(auth=auth).get_rest_assistant()
        with aioresponses() as mock:
            mock.post(url, payload={"listenKey": "lk"})
            result = await rest.execute_request(url=url, throttler_limit_id=CONSTANTS.LISTEN_KEY_PATH_URL,
                                                method=RESTMethod.POST, data={}, is_auth_required=True)
        self.assertEqual({"listenKey": "lk"}, result)
        ((method, sent_url, request),) = _sent(mock)
        self.assertEqual(("POST", url), (method, sent_url))
        headers = request["headers"]
        self.assertEqual("key-abc", headers["X-API-KEY"])
        # The user's own group (auth) replaces the public default of the pre-processor (§1.3).
        self.assertEqual("restserver2", headers["xrestservermm"])
        self.assertEqual("application/json", headers["Content-Type"])
        self.assertEqual({}, json.loads(request["data"]))

    async def test_a_public_request_through_an_authenticated_factory_is_not_signed(self):
        url = web_utils.public_rest_url(CONSTANTS.EXCHANGE_INFO_PATH_URL)
        auth = VestPerpetualAuth(api_key="key-abc", signing_private_key="", account_group=2)
        rest = await web_utils.build_api_factory(auth=auth).get_rest_assistant()
        with aioresponses() as mock:
            mock.get(url, payload={"symbols": []})
            await rest.execute_request(url=url, throttler_limit_id=CONSTANTS.EXCHANGE_INFO_PATH_URL)
        ((_, _, request),) = _sent(mock)
        self.assertNotIn("X-API-KEY", request["headers"])
        self.assertEqual("restserver0", request["headers"]["xrestservermm"])

    async def test_the_callers_headers_stay_as_given(self):
        url = web_utils.private_rest_url(CONSTANTS.ACCOUNT_PATH_URL)
        rest = await web_utils.build_api_factory(
            auth=VestPerpetualAuth(api_key="key-abc", signing_private_key="")).get_rest_assistant()
        caller_headers = {"Accept": "application/json"}
        with aioresponses() as mock:
            mock.get(url, payload={"ok": True}, repeat=True)
            for _ in range(2):
                await rest.execute_request(url=url, throttler_limit_id=CONSTANTS.ACCOUNT_PATH_URL,
                                           headers=caller_headers, is_auth_required=True)
        self.assertEqual({"Accept": "application/json"}, caller_headers)
        self.assertEqual(2, len(_sent(mock)))
        for _, _, request in _sent(mock):
            self.assertEqual(("key-abc", "restserver0", "application/json"),
                             tuple(request["headers"][name] for name in ("X-API-KEY", "xrestservermm", "Accept")))


class WebSocketTest(IsolatedAsyncioWrapperTestCase):
    """`connected_ws_assistant` and `WSRequestSender` over Hummingbot's stock WSAssistant (§5.1, §5.2)."""

    async def asyncSetUp(self):
        await super().asyncSetUp()
        ConnectionsFactory()._ws_independent_session = None  # another suite's WS mock must not leak in here
        self.mocking_assistant = NetworkMockingAssistant()
        await self.mocking_assistant.async_init()
        self.factory = web_utils.build_api_factory()
        environment = _without_overrides()
        environment.start()
        self.addCleanup(environment.stop)

    async def asyncTearDown(self):
        await ConnectionsFactory().close()
        await super().asyncTearDown()

    def sent(self, ws_mock) -> List[Dict[str, Any]]:
        return self.mocking_assistant.json_messages_sent_through_websocket(ws_mock)

    async def connect(self, ws_connect_mock) -> Tuple[WSAssistant, AsyncMock]:
        ws_mock = self.mocking_assistant.create_websocket_mock()
        ws_connect_mock.return_value = ws_mock
        return await web_utils.connected_ws_assistant(self.factory, web_utils.public_ws_url()), ws_mock

    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_connects_to_the_url_with_the_heartbeat(self, ws_connect_mock):
        ws, ws_mock = await self.connect(ws_connect_mock)
        self.assertIsInstance(ws, WSAssistant)
        self.assertEqual(web_utils.public_ws_url(), ws_connect_mock.call_args.args[0])
        self.assertEqual(CONSTANTS.WS_HEARTBEAT_INTERVAL, ws_connect_mock.call_args.kwargs["heartbeat"])
        self.mocking_assistant.add_websocket_aiohttp_message(ws_mock, json.dumps({"data": "PONG"}))
        self.assertEqual({"data": "PONG"}, (await ws.receive()).data)

    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_network_failures_become_connection_errors(self, ws_connect_mock):
        failures = [ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 9)"),
                    OSError(101, "Network is unreachable"), asyncio.TimeoutError(),
                    aiohttp.ClientConnectionError("refused"), aiohttp.ServerDisconnectedError(),
                    aiohttp.ClientOSError(104, "Connection reset by peer")]
        for failure in failures:
            with self.subTest(type(failure).__name__):
                ws_connect_mock.side_effect = failure
                with self.assertRaises(ConnectionError) as caught:
                    await web_utils.connected_ws_assistant(self.factory, web_utils.public_ws_url())
                self.assertIs(failure, caught.exception.__cause__)
                self.assertTrue(str(caught.exception).startswith("Could not connect to the Vest websocket: "))
                self.assertIn(type(failure).__name__, str(caught.exception))
        # The factory is still usable: the next attempt connects.
        ws_connect_mock.side_effect = None
        ws, _ = await self.connect(ws_connect_mock)
        self.assertIsInstance(ws, WSAssistant)

    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_other_errors_and_cancellation_pass_unchanged(self, ws_connect_mock):
        ws_connect_mock.side_effect = ValueError("bad URL")
        with self.assertRaisesRegex(ValueError, "bad URL"):
            await web_utils.connected_ws_assistant(self.factory, "not a url")
        ws_connect_mock.side_effect = asyncio.CancelledError()
        with self.assertRaises(asyncio.CancelledError):
            await web_utils.connected_ws_assistant(self.factory, web_utils.public_ws_url())

    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_requests_are_numbered_from_one(self, ws_connect_mock):
        ws, ws_mock = await self.connect(ws_connect_mock)
        sender = web_utils.WSRequestSender()
        await sender.send(ws, CONSTANTS.WS_SUBSCRIBE_METHOD, ["tickers", "BTC-PERP@depth"])
        await sender.send(ws, CONSTANTS.WS_PING_METHOD, [])
        await sender.send(ws, CONSTANTS.WS_UNSUBSCRIBE_METHOD, ["BTC-PERP@depth"])
        self.assertEqual([{"method": "SUBSCRIBE", "params": ["tickers", "BTC-PERP@depth"], "id": 1},
                          {"method": "PING", "params": [], "id": 2},
                          {"method": "UNSUBSCRIBE", "params": ["BTC-PERP@depth"], "id": 3}], self.sent(ws_mock))

    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_each_sender_counts_for_itself(self, ws_connect_mock):
        ws, ws_mock = await self.connect(ws_connect_mock)
        first, second = web_utils.WSRequestSender(), web_utils.WSRequestSender()
        await first.send(ws, "PING", [])
        await first.send(ws, "PING", [])
        await second.send(ws, "PING", [])
        self.assertEqual([1, 2, 1], [message["id"] for message in self.sent(ws_mock)])

    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_ping_periodically_waits_then_pings(self, ws_connect_mock):
        ws, ws_mock = await self.connect(ws_connect_mock)
        sender = web_utils.WSRequestSender()
        await sender.send(ws, "SUBSCRIBE", ["tickers"])
        sleeps = []

        class Stop(Exception):
            pass

        async def sleep(delay):
            sleeps.append(delay)
            if len(sleeps) == 4:
                raise Stop()

        with self.assertRaises(Stop):
            await sender.ping_periodically(ws, sleep)
        self.assertEqual([CONSTANTS.WS_PING_INTERVAL] * 4, sleeps)
        # No PING before the first interval; the numbering continues after the SUBSCRIBE.
        self.assertEqual([{"method": "SUBSCRIBE", "params": ["tickers"], "id": 1}]
                         + [{"method": "PING", "params": [], "id": request_id} for request_id in (2, 3, 4)],
                         self.sent(ws_mock))

    @patch("aiohttp.ClientSession.ws_connect", new_callable=AsyncMock)
    async def test_ping_periodically_ends_when_sending_fails(self, ws_connect_mock):
        ws, ws_mock = await self.connect(ws_connect_mock)
        ws_mock.send_json.side_effect = ConnectionResetError("Cannot write to closing transport")

        async def no_wait(_):
            pass

        with self.assertRaises(ConnectionResetError):
            await asyncio.wait_for(web_utils.WSRequestSender().ping_periodically(ws, no_wait), timeout=1)
        await ws.disconnect()
        with self.assertRaisesRegex(RuntimeError, "WS is not connected"):
            await asyncio.wait_for(web_utils.WSRequestSender().ping_periodically(ws, no_wait), timeout=1)


class RunUntilFirstEndsTest(IsolatedAsyncioWrapperTestCase):
    async def asyncSetUp(self):
        await super().asyncSetUp()
        self.cancelled: List[str] = []

    async def forever(self, name: str):
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled.append(name)
            raise

    async def test_returns_once_one_ends_and_cancels_the_others(self):
        async def quick():
            await asyncio.sleep(0)
            return "done"

        await asyncio.wait_for(web_utils.run_until_first_ends(self.forever("reader"), quick(), self.forever("ping")),
                               timeout=1)
        self.assertEqual({"reader", "ping"}, set(self.cancelled))

    async def test_the_error_of_the_one_that_ended_propagates(self):
        async def failing():
            await asyncio.sleep(0)
            raise ConnectionError("The WS connection was closed unexpectedly. Close code = 4004")

        with self.assertRaisesRegex(ConnectionError, "Close code = 4004"):
            await asyncio.wait_for(web_utils.run_until_first_ends(self.forever("reader"), failing()), timeout=1)
        self.assertEqual(["reader"], self.cancelled)

    async def test_cancelling_the_runner_cancels_every_task(self):
        runner = asyncio.ensure_future(web_utils.run_until_first_ends(self.forever("a"), self.forever("b")))
        await asyncio.sleep(0.01)
        runner.cancel()
        with self.assertRaises(asyncio.CancelledError):
            await runner
        self.assertEqual({"a", "b"}, set(self.cancelled))


class ReconnectDelayTest(unittest.TestCase):
    """§5.1: no wait before the first connection; then 1 s doubling to 30 s, reset after a connection that
    received data."""

    def test_the_first_connection_does_not_wait(self):
        self.assertEqual(0.0, web_utils.ReconnectDelay().before_connecting(last_connection_was_healthy=False))
        self.assertEqual(0.0, web_utils.ReconnectDelay().before_connecting(last_connection_was_healthy=True))

    def test_doubles_while_connections_fail_and_stops_at_the_cap(self):
        delay = web_utils.ReconnectDelay()
        delay.before_connecting(False)
        self.assertEqual([1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0],
                         [delay.before_connecting(False) for _ in range(8)])

    def test_a_healthy_connection_starts_over(self):
        delay = web_utils.ReconnectDelay()
        delay.before_connecting(False)
        self.assertEqual([1.0, 2.0, 4.0], [delay.before_connecting(False) for _ in range(3)])
        self.assertEqual(CONSTANTS.WS_RECONNECT_DELAY_INITIAL, delay.before_connecting(True))
        self.assertEqual([2.0, 4.0], [delay.before_connecting(False) for _ in range(2)])
        for _ in range(10):
            delay.before_connecting(False)
        self.assertEqual(1.0, delay.before_connecting(True))

    def test_each_stream_has_its_own_delay(self):
        public, private = web_utils.ReconnectDelay(), web_utils.ReconnectDelay()
        for _ in range(6):
            public.before_connecting(False)
        self.assertEqual(0.0, private.before_connecting(False))
        self.assertEqual(30.0, public.before_connecting(False))


class ExchangeInformationTest(unittest.TestCase):
    def test_is_exchange_information_valid(self):
        # §2.1: a symbol is tradable unless `tradingStatus` says otherwise.
        self.assertTrue(web_utils.is_exchange_information_valid({"symbol": "BTC-PERP"}))
        self.assertTrue(web_utils.is_exchange_information_valid({"symbol": "BTC-PERP", "tradingStatus": "TRADING"}))
        self.assertFalse(web_utils.is_exchange_information_valid({"symbol": "BTC-PERP", "tradingStatus": "HALT"}))
        self.assertFalse(web_utils.is_exchange_information_valid({"symbol": "X", "tradingStatus": "CLOSED"}))
