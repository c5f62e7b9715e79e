"""URL builders, env overrides, the REST pre-processor and the factory (vest-api.md §1.1-§1.3, §3.1)."""
import asyncio
import json
import os
import unittest
from decimal import Decimal
from unittest.mock import patch
from urllib.parse import parse_qs, urlsplit

from aiohttp import web
from hypothesis import given, settings, strategies as st

from hummingbot.connector.derivative.vest_perpetual import (
    vest_perpetual_constants as CONSTANTS,
    vest_perpetual_web_utils as web_utils,
)
from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_auth import VestPerpetualAuth
from hummingbot.core.api_throttler.async_request_context_base import AsyncRequestContextBase
from hummingbot.core.api_throttler.async_throttler import AsyncThrottler
from hummingbot.core.api_throttler.data_types import RateLimit
from hummingbot.core.web_assistant.connections.connections_factory import ConnectionsFactory
from hummingbot.core.web_assistant.connections.data_types import RESTMethod, RESTRequest

REST_ENV = CONSTANTS.REST_URL_ENV_VAR
WS_ENV = CONSTANTS.WS_URL_ENV_VAR


def _without_overrides():
    """An environment with neither override set, whatever the developer's shell exports."""
    environ = {key: value for key, value in os.environ.items() if key not in (REST_ENV, WS_ENV)}
    return patch.dict(os.environ, environ, clear=True)


def _query(url: str):
    return parse_qs(urlsplit(url).query, strict_parsing=True)


class RestUrlTest(unittest.TestCase):
    def test_env_var_names(self):
        self.assertEqual("VEST_PERPETUAL_REST_URL", REST_ENV)
        self.assertEqual("VEST_PERPETUAL_WS_URL", WS_ENV)

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

    def test_rest_override_applies_to_every_domain(self):
        with _without_overrides(), patch.dict(os.environ, {REST_ENV: "http://127.0.0.1:8123/v2"}):
            for domain in (CONSTANTS.DOMAIN, CONSTANTS.TESTNET_DOMAIN):
                self.assertEqual("http://127.0.0.1:8123/v2", web_utils.rest_base_url(domain))
                self.assertEqual("http://127.0.0.1:8123/v2/depth",
                                 web_utils.public_rest_url(CONSTANTS.DEPTH_PATH_URL, domain))
                self.assertEqual("http://127.0.0.1:8123/v2/register",
                                 web_utils.private_rest_url(CONSTANTS.REGISTER_PATH_URL, domain))
        # Unset again once the patch ends.
        with _without_overrides():
            self.assertEqual(CONSTANTS.REST_URLS[CONSTANTS.DOMAIN], web_utils.rest_base_url())

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

    def test_ws_override(self):
        with _without_overrides(), patch.dict(os.environ, {WS_ENV: "ws://127.0.0.1:9001/ws-api"}):
            self.assertTrue(web_utils.public_ws_url().startswith("ws://127.0.0.1:9001/ws-api?version=1.0"))
            self.assertTrue(web_utils.private_ws_url("k", 1, CONSTANTS.TESTNET_DOMAIN)
                            .startswith("ws://127.0.0.1:9001/ws-api?"))


class PreProcessorTest(unittest.IsolatedAsyncioTestCase):
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


PUSH_TEXT = '{"channel":"BTC-PERP@depth","data":{"bids":[["64000.10","0.5"]],"asks":[]}}'


class FactoryTest(unittest.IsolatedAsyncioTestCase):
    """Requests go through the real factory to a loopback server that records what it received."""

    async def asyncSetUp(self):
        self.received = []

        async def record(request: web.Request) -> web.Response:
            self.received.append((request.method, request.path, dict(request.headers), await request.text()))
            return web.json_response({"ok": True})

        async def push_frames(request: web.Request) -> web.WebSocketResponse:
            ws = web.WebSocketResponse()
            await ws.prepare(request)
            await ws.send_str(PUSH_TEXT)
            await ws.send_bytes(PUSH_TEXT.encode("utf-8"))
            await ws.receive()  # held open until the client closes
            return ws

        app = web.Application()
        app.router.add_get("/ws", push_frames)
        app.router.add_route("*", "/{tail:.*}", record)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = self.runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}/v2"

    async def asyncTearDown(self):
        # Hummingbot's connections factory is a process-wide singleton holding one aiohttp session.
        await ConnectionsFactory().close()
        await self.runner.cleanup()

    def test_create_throttler_knows_every_limit(self):
        throttler = web_utils.create_throttler()
        self.assertIsInstance(throttler, AsyncThrottler)
        self.assertEqual({limit.limit_id for limit in CONSTANTS.RATE_LIMITS},
                         {limit.limit_id for limit in throttler._rate_limits})

    def test_factory_uses_given_throttler_and_auth(self):
        throttler = web_utils.create_throttler()
        auth = VestPerpetualAuth(api_key="", signing_private_key="")
        factory = web_utils.build_api_factory(throttler=throttler, auth=auth)
        self.assertIs(throttler, factory.throttler)
        self.assertIs(auth, factory.auth)

    def test_factory_builds_its_own_throttler(self):
        factory = web_utils.build_api_factory()
        self.assertIsInstance(factory.throttler, AsyncThrottler)
        self.assertIsNone(factory.auth)

    async def test_public_request_through_factory_carries_group_header(self):
        with patch.dict(os.environ, {REST_ENV: self.base_url}):
            url = web_utils.public_rest_url(CONSTANTS.DEPTH_PATH_URL)
        factory = web_utils.build_api_factory(account_group=5)
        rest = await factory.get_rest_assistant()
        result = await rest.execute_request(url=url, throttler_limit_id=CONSTANTS.DEPTH_PATH_URL,
                                            params={"symbol": "BTC-PERP"}, headers={"Accept": "application/json"})
        self.assertEqual({"ok": True}, result)
        ((method, path, headers, _),) = self.received
        self.assertEqual(("GET", "/v2/depth"), (method, path))
        self.assertEqual("restserver5", headers["xrestservermm"])
        self.assertEqual("application/json", headers["Accept"])
        self.assertNotIn("X-API-KEY", headers)

    async def test_private_request_through_factory_carries_auth_headers(self):
        with patch.dict(os.environ, {REST_ENV: self.base_url}):
            url = web_utils.private_rest_url(CONSTANTS.LISTEN_KEY_PATH_URL, CONSTANTS.TESTNET_DOMAIN)
        auth = VestPerpetualAuth(api_key="key-abc", signing_private_key="", account_group=2)
        factory = web_utils.build_api_factory(auth=auth)
        rest = await factory.get_rest_assistant()
        await rest.execute_request(url=url, throttler_limit_id=CONSTANTS.LISTEN_KEY_PATH_URL,
                                   method=RESTMethod.POST, data={}, is_auth_required=True)
        ((method, path, headers, body),) = self.received
        self.assertEqual(("POST", "/v2/account/listenKey"), (method, path))
        self.assertEqual("key-abc", headers["X-API-KEY"])
        # The user's own group (auth) replaces the public default of the pre-processor.
        self.assertEqual("restserver2", headers["xrestservermm"])
        self.assertEqual("application/json", headers["Content-Type"])
        self.assertEqual({}, json.loads(body))

    async def test_requests_are_not_deep_copied_and_the_callers_headers_stay_as_given(self):
        with patch.dict(os.environ, {REST_ENV: self.base_url}):
            url = web_utils.private_rest_url(CONSTANTS.ACCOUNT_PATH_URL)
        factory = web_utils.build_api_factory(auth=VestPerpetualAuth(api_key="key-abc", signing_private_key=""))
        rest = await factory.get_rest_assistant()
        self.assertIsInstance(rest, web_utils.VestRESTAssistant)
        caller_headers = {"Accept": "application/json"}
        with patch("hummingbot.core.web_assistant.rest_assistant.deepcopy", side_effect=AssertionError("copied")):
            for timeout in (None, 5.0):
                response = await rest.call(RESTRequest(method=RESTMethod.GET, url=url, headers=caller_headers,
                                                       is_auth_required=True), timeout=timeout)
                self.assertEqual({"ok": True}, await response.json())
        self.assertEqual({"Accept": "application/json"}, caller_headers)
        self.assertEqual(2, len(self.received))
        for _, path, headers, _ in self.received:
            self.assertEqual("/v2/account", path)
            self.assertEqual(("key-abc", "restserver0", "application/json"),
                             (headers["X-API-KEY"], headers["xrestservermm"], headers["Accept"]))


    async def test_websocket_frames_reach_the_data_sources_undecoded(self):
        """`read_push` decodes a push into its channel's types, so the connection must not json.loads it first."""
        ws = await web_utils.build_api_factory().get_ws_assistant()
        self.assertIsInstance(ws._connection, web_utils.VestWSConnection)
        await ws.connect(ws_url=self.base_url.replace("http", "ws").replace("/v2", "/ws"))
        try:
            text, binary = (await ws.receive()).data, (await ws.receive()).data
        finally:
            await ws.disconnect()
        self.assertEqual((PUSH_TEXT, PUSH_TEXT.encode("utf-8")), (text, binary))


class WindowedThrottlerTest(unittest.TestCase):
    """`VestThrottler` must admit exactly the requests Hummingbot's throttler admits; only its bookkeeping differs."""

    NOW = 1_700_000_000.0
    LIMIT_IDS = [CONSTANTS.ORDERS_PATH_URL, CONSTANTS.ORDERS_QUERY_LIMIT_ID, CONSTANTS.ACCOUNT_PATH_URL,
                 CONSTANTS.REGISTER_PATH_URL]

    @staticmethod
    def stock_admits(throttler: AsyncThrottler, limit_id: str) -> bool:
        """One pass of Hummingbot's `acquire` loop body: flush, check, log."""
        context = throttler.execute_task(limit_id)
        context.flush()
        if context.within_capacity():
            context._log_acquired_task()
            return True
        return False

    @staticmethod
    def ours_admits(throttler: web_utils.VestThrottler, limit_id: str) -> bool:
        return throttler.admit(throttler.execute_task(limit_id)._windows)

    @settings(max_examples=300, deadline=None)
    @given(share=st.sampled_from([None, Decimal("50")]),
           steps=st.lists(st.tuples(st.integers(0, 3),
                                    st.sampled_from([0.0, 0.0, 0.001, 0.02, 0.3, 0.99, 1.0, 1.04, 1.05, 1.06, 10.5])),
                          max_size=80))
    def test_every_request_is_admitted_or_refused_as_hummingbot_would(self, share, steps):
        ours = web_utils.create_throttler(limits_share_percentage=share)
        stock = AsyncThrottler(CONSTANTS.RATE_LIMITS, limits_share_percentage=share)
        now = self.NOW
        for limit_index, advance in steps:
            now += advance
            limit_id = self.LIMIT_IDS[limit_index]
            with patch("time.time", return_value=now):
                self.assertEqual(self.stock_admits(stock, limit_id), self.ours_admits(ours, limit_id),
                                 f"{limit_id} at +{now - self.NOW:.3f} s")

    def test_a_full_limit_waits_warns_once_and_the_share_percentage_is_kept(self):
        throttler = web_utils.create_throttler()
        with patch("time.time", return_value=self.NOW), \
                patch.object(AsyncRequestContextBase, "_last_max_cap_warning_ts", 0.0), \
                patch.object(throttler.logger(), "notify") as notify:
            admitted = [self.ours_admits(throttler, CONSTANTS.ORDERS_PATH_URL) for _ in range(12)]
        self.assertEqual([True] * 10 + [False] * 2, admitted)
        notify.assert_called_once()
        self.assertIn("API rate limit on /orders (10 calls per 1s) has almost reached", notify.call_args.args[0])
        with patch("time.time", return_value=self.NOW + 1.06):  # past the window and its 5 % safety margin
            self.assertTrue(self.ours_admits(throttler, CONSTANTS.ORDERS_PATH_URL))
        halved = web_utils.create_throttler(limits_share_percentage=Decimal("50"))
        self.assertEqual(5, halved._id_to_limit_map[CONSTANTS.ORDERS_PATH_URL].limit)

    def test_the_shared_pool_limits_requests_of_every_path(self):
        throttler = web_utils.create_throttler()
        pool = throttler._id_to_limit_map[CONSTANTS.ALL_ENDPOINTS_LIMIT_ID].limit
        paths = [CONSTANTS.ORDERS_PATH_URL, CONSTANTS.ORDERS_QUERY_LIMIT_ID, CONSTANTS.DEPTH_PATH_URL]
        with patch("time.time", return_value=self.NOW):
            admitted = sum(self.ours_admits(throttler, paths[i % 3]) for i in range(pool + 5))
        self.assertEqual(pool, admitted)

    def test_new_limits_keep_the_requests_already_counted(self):
        throttler = web_utils.create_throttler()
        with patch("time.time", return_value=self.NOW):
            for _ in range(10):
                self.assertTrue(self.ours_admits(throttler, CONSTANTS.ORDERS_PATH_URL))
            throttler.set_rate_limits(CONSTANTS.RATE_LIMITS)
            self.assertFalse(self.ours_admits(throttler, CONSTANTS.ORDERS_PATH_URL))
            throttler.set_rate_limits([RateLimit(limit_id=limit.limit_id, limit=1000, time_interval=1)
                                       for limit in CONSTANTS.RATE_LIMITS])
            self.assertTrue(self.ours_admits(throttler, CONSTANTS.ORDERS_PATH_URL))
            throttler.add_rate_limits([RateLimit(limit_id="/new", limit=1, time_interval=1)])
            self.assertEqual([True, False], [self.ours_admits(throttler, "/new") for _ in range(2)])

    def test_an_unknown_limit_id_is_refused_by_name(self):
        with self.assertRaisesRegex(ValueError, "No rate limit is defined for '/nowhere'"):
            web_utils.create_throttler().execute_task("/nowhere")

    def test_the_context_waits_for_room_then_enters(self):
        throttler = web_utils.create_throttler()
        clock = [self.NOW]
        sleeps = []

        async def fake_sleep(delay):
            sleeps.append(delay)
            clock[0] += delay

        async def enter_eleven():
            for _ in range(11):
                async with throttler.execute_task(CONSTANTS.ORDERS_PATH_URL):
                    pass

        with patch("time.time", side_effect=lambda: clock[0]), \
                patch.object(web_utils.asyncio, "sleep", fake_sleep), patch.object(throttler.logger(), "notify"):
            asyncio.run(enter_eleven())
        self.assertEqual([throttler._retry_interval] * 11, sleeps)  # 1.1 s later the first request left the window


class ExchangeInformationTest(unittest.TestCase):
    def test_is_exchange_information_valid(self):
        self.assertTrue(web_utils.is_exchange_information_valid({"symbol": "BTC-PERP"}))
        self.assertTrue(web_utils.is_exchange_information_valid({"symbol": "BTC-PERP", "tradingStatus": "TRADING"}))
        self.assertFalse(web_utils.is_exchange_information_valid({"symbol": "BTC-PERP", "tradingStatus": "HALT"}))
        self.assertFalse(web_utils.is_exchange_information_valid({"symbol": "X", "tradingStatus": "CLOSED"}))
