"""Property and real-socket tests of the connector's signing and web plumbing, beyond what Hummingbot's repository
can run in-tree (hypothesis, the Vest simulator, loopback sockets).

- `abi_encode` equals eth_abi on random uint256/bool/string tuples; `sign_personal` equals eth_account on random
  digests and keys; bad keys are refused without echo (docs/vest-protocol.md §4.1, §4.2).
- Every signed order and cancel body, after a JSON round trip, is verified by the simulator's own ABI encoder and
  signature recovery (`vest_simulator.signatures`, `vest_simulator.schema`).
- `ReconnectDelay` and `create_throttler` against models of their documented rules (§5.1, §6.5).
- `build_api_factory`, `connected_ws_assistant`, `WSRequestSender` and `run_until_first_ends` over loopback
  sockets: a recording aiohttp server, a refused port, and the simulator (PING/PONG, subscriptions, the listen key,
  a signed order and its cancel).
"""
import asyncio
import json
import math
import os
import re
import socket
import traceback
import unittest
from decimal import Decimal
from typing import Any, Dict, List, Optional
from unittest.mock import patch

import aiohttp
from aiohttp import web
from eth_abi import encode as eth_abi_encode
from eth_account import Account
from eth_account.messages import encode_defunct
from hypothesis import assume, given, settings, strategies as st

from hummingbot.connector.derivative.vest_perpetual import (
    vest_perpetual_constants as CONSTANTS,
    vest_perpetual_web_utils as web_utils,
)
from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_auth import (
    CancelAction,
    OrderAction,
    SigningKey,
    VestAuthError,
    VestPerpetualAuth,
    abi_encode,
    action_digest,
)
from hummingbot.core.web_assistant.connections.connections_factory import ConnectionsFactory
from hummingbot.core.web_assistant.connections.data_types import RESTMethod
from test.isolated_asyncio_wrapper_test_case import IsolatedAsyncioWrapperTestCase
from vest_simulator.schema import CancelRequest, OrderRequest
from vest_simulator.signatures import (
    CANCEL_TYPES,
    ORDER_TYPES,
    abi_encode as simulator_abi_encode,
    keccak as simulator_keccak,
    personal_hash,
    recover_address,
)
from vest_simulator.simulator import VestSimulator

SIGNING_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"  # noqa: mock
SIGNING_ADDRESS = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
CURVE_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141  # secp256k1 n, public  # noqa: mock
PROPERTIES = settings(max_examples=200, deadline=None, derandomize=True, database=None)
KEY_DIGITS = re.compile(r"(0[xX])?[0-9a-fA-F]{64}")
REFUSAL = ("vest_perpetual_signing_private_key is not a valid private key: expected 64 hex characters (optionally "
           "prefixed with 0x) of a secp256k1 key.")

UINT256 = st.integers(min_value=0, max_value=2 ** 256 - 1)
ABI_VALUE = st.one_of(
    st.tuples(st.just("uint256"), UINT256),
    st.tuples(st.just("bool"), st.booleans()),
    st.tuples(st.just("string"), st.text()),
)
DECIMAL_TEXT = st.decimals(min_value=0, max_value=10 ** 7, places=4, allow_nan=False,
                           allow_infinity=False).map(lambda value: f"{value:f}")
ORDERS = st.builds(
    OrderAction,
    time=st.integers(min_value=0, max_value=2 ** 63), nonce=st.integers(min_value=0, max_value=2 ** 63),
    order_type=st.sampled_from([CONSTANTS.ORDER_TYPE_MARKET, CONSTANTS.ORDER_TYPE_LIMIT]),
    symbol=st.text(min_size=1, max_size=20), is_buy=st.booleans(), size=DECIMAL_TEXT, limit_price=DECIMAL_TEXT,
    reduce_only=st.booleans(), time_in_force=st.none() | st.just(CONSTANTS.TIME_IN_FORCE_GTC))
CANCELS = st.builds(CancelAction, time=st.integers(min_value=0, max_value=2 ** 63),
                    nonce=st.integers(min_value=0, max_value=2 ** 63),
                    order_id=st.text(alphabet="0123456789abcdef", min_size=1, max_size=64).map(lambda h: "0x" + h))


def _recover(digest: bytes, signature: str) -> str:
    return Account.recover_message(encode_defunct(primitive=digest), signature=signature)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class AbiEncodePropertyTest(unittest.TestCase):
    @PROPERTIES
    @given(st.lists(ABI_VALUE, max_size=10))
    def test_equals_eth_abi(self, pairs):
        types = [abi_type for abi_type, _ in pairs]
        values = [value for _, value in pairs]
        self.assertEqual(eth_abi_encode(types, values), abi_encode(types, values))

    @PROPERTIES
    @given(st.lists(ABI_VALUE, max_size=6), st.text(min_size=1, max_size=12), st.integers(min_value=0, max_value=6))
    def test_any_other_type_is_refused(self, pairs, abi_type, position):
        assume(abi_type not in ("uint256", "bool", "string"))
        types = [kind for kind, _ in pairs]
        values = [value for _, value in pairs]
        position = min(position, len(types))
        types.insert(position, abi_type)
        values.insert(position, 0)
        with self.assertRaisesRegex(ValueError, "^Unsupported ABI type"):
            abi_encode(types, values)


class SigningPropertyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.key = SigningKey(SIGNING_KEY)

    @PROPERTIES
    @given(st.binary(min_size=32, max_size=32))
    def test_signatures_equal_eth_account_and_recover(self, digest):
        signature = self.key.sign_personal(digest)
        expected = Account.sign_message(encode_defunct(primitive=digest), SIGNING_KEY).signature.hex()
        self.assertEqual("0x" + expected.removeprefix("0x"), signature)
        self.assertIn(signature[-2:], ("1b", "1c"))  # v in {27, 28} (§4.1)
        self.assertLessEqual(int(signature[66:130], 16), CURVE_ORDER // 2)  # low s
        self.assertEqual(SIGNING_ADDRESS, _recover(digest, signature))

    @settings(PROPERTIES, max_examples=100)
    @given(st.integers(min_value=1, max_value=CURVE_ORDER - 1), st.booleans())
    def test_every_valid_key_gives_eth_accounts_address(self, secret, prefixed):
        text = ("0x" if prefixed else "") + format(secret, "064x")
        self.assertEqual(Account.from_key(format(secret, "064x")).address.lower(), SigningKey(text).address)

    @settings(PROPERTIES, max_examples=100)
    @given(st.just(0) | st.integers(min_value=CURVE_ORDER, max_value=2 ** 256 - 1))
    def test_keys_outside_the_curve_are_refused_without_echo(self, secret):
        text = "0x" + format(secret, "064x")
        with self.assertRaises(VestAuthError) as caught:
            SigningKey(text)
        self.assertEqual(REFUSAL, str(caught.exception))
        shown = "".join(traceback.format_exception(caught.exception))
        self.assertNotIn(text[2:], shown)
        self.assertNotIn(text[2:18], shown)

    @PROPERTIES
    @given(st.text(max_size=80) | st.text(alphabet="0123456789abcdefABCDEFxX \n", max_size=80))
    def test_text_that_is_not_a_key_is_refused_without_echo(self, text):
        # Leave out texts holding 64 hex digits: bytes.fromhex skips whitespace between digit pairs, so
        # "59c6 995e …" is a whole key all the same.
        assume(not KEY_DIGITS.fullmatch(re.sub(r"\s", "", text)))
        with self.assertRaises(VestAuthError) as caught:
            SigningKey(text)
        # One fixed text whatever the input, so nothing of the input can show.
        self.assertEqual(REFUSAL, str(caught.exception))
        self.assertTrue(caught.exception.__suppress_context__)


class SimulatorVerifiesSignedBodiesTest(unittest.TestCase):
    """What the connector sends is what the simulator hashes: its own encoder over the parsed JSON body."""

    @classmethod
    def setUpClass(cls):
        cls.auth = VestPerpetualAuth(api_key="k", signing_private_key=SIGNING_KEY)

    @PROPERTIES
    @given(ORDERS)
    def test_order_bodies(self, action):
        body = json.loads(json.dumps(self.auth.signed_body(action)))
        request = OrderRequest.parse(body)
        values = (request.time, request.nonce, request.order_type, request.symbol, request.is_buy, request.size,
                  request.limit_price, request.reduce_only)
        digest = simulator_keccak(simulator_abi_encode(ORDER_TYPES, values))
        self.assertEqual(action_digest(action), digest)
        self.assertEqual(SIGNING_ADDRESS.lower(), recover_address(personal_hash(digest), request.signature))
        self.assertEqual(CONSTANTS.RECV_WINDOW_MS, request.recv_window)
        self.assertEqual(action.time_in_force, request.time_in_force)

    @PROPERTIES
    @given(CANCELS)
    def test_cancel_bodies(self, action):
        request = CancelRequest.parse(json.loads(json.dumps(self.auth.signed_body(action))))
        digest = simulator_keccak(simulator_abi_encode(CANCEL_TYPES, (request.time, request.nonce, request.id)))
        self.assertEqual(SIGNING_ADDRESS.lower(), recover_address(personal_hash(digest), request.signature))


class ReconnectDelayPropertyTest(unittest.TestCase):
    @PROPERTIES
    @given(st.lists(st.booleans(), max_size=40))
    def test_delay_doubles_from_the_last_healthy_connection_and_is_capped(self, healthy_flags):
        delay = web_utils.ReconnectDelay()
        self.assertEqual(0.0, delay.before_connecting(False))  # the first connection does not wait
        calls_since_reset = 0
        for healthy in healthy_flags:
            if healthy:
                calls_since_reset = 0
            expected = min(CONSTANTS.WS_RECONNECT_DELAY_INITIAL * 2 ** calls_since_reset,
                           CONSTANTS.WS_RECONNECT_DELAY_MAX)
            self.assertEqual(expected, delay.before_connecting(healthy))
            calls_since_reset += 1


class ThrottlerSharePropertyTest(unittest.TestCase):
    @PROPERTIES
    @given(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100"), places=2))
    def test_every_limit_is_the_share_rounded_down_but_at_least_one(self, share):
        throttler = web_utils.create_throttler(limits_share_percentage=share)
        for limit in CONSTANTS.RATE_LIMITS:
            scaled = throttler._id_to_limit_map[limit.limit_id]
            self.assertEqual(max(1, math.floor(Decimal(limit.limit) * share / 100)), scaled.limit)
            self.assertEqual(limit.time_interval, scaled.time_interval)
            self.assertEqual([(pair.limit_id, pair.weight) for pair in limit.linked_limits or []],
                             [(pair.limit_id, pair.weight) for pair in scaled.linked_limits or []])


class _SocketTestCase(IsolatedAsyncioWrapperTestCase):
    async def asyncSetUp(self):
        await super().asyncSetUp()
        ConnectionsFactory()._ws_independent_session = None  # another suite's WS mock must not leak in here

    async def asyncTearDown(self):
        # Hummingbot's connections factory is a process-wide singleton holding one aiohttp session.
        await ConnectionsFactory().close()
        await super().asyncTearDown()

    def override_urls(self, rest_url: str, ws_url: str):
        environment = patch.dict(os.environ, {CONSTANTS.REST_URL_ENV_VAR: rest_url, CONSTANTS.WS_URL_ENV_VAR: ws_url})
        environment.start()
        self.addCleanup(environment.stop)


class LoopbackServerTest(_SocketTestCase):
    """A loopback aiohttp server records what the stock assistants the factory builds really send."""

    async def asyncSetUp(self):
        await super().asyncSetUp()
        self.received: List[tuple] = []
        self.ws_received: List[Dict[str, Any]] = []
        self.close_code: Optional[int] = None

        async def record(request: web.Request) -> web.Response:
            self.received.append((request.method, request.path_qs, dict(request.headers), await request.text()))
            return web.json_response({"ok": True})

        async def websocket(request: web.Request) -> web.WebSocketResponse:
            ws = web.WebSocketResponse()
            await ws.prepare(request)
            self.ws_query = dict(request.query)
            await ws.send_str('{"channel":"BTC-PERP@depth","data":{"bids":[["64000.10","0.5"]],"asks":[]}}')
            async for message in ws:
                payload = json.loads(message.data)
                self.ws_received.append(payload)
                if payload["method"] == "PING":
                    await ws.send_str('{"data":"PONG"}')
                if self.close_code is not None:
                    await ws.close(code=self.close_code, message=b"LISTEN_KEY_NOT_FOUND")
            return ws

        app = web.Application()
        app.router.add_get("/ws-api", websocket)
        app.router.add_route("*", "/v2/{tail:.*}", record)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        port = self.runner.addresses[0][1]
        self.override_urls(f"http://127.0.0.1:{port}/v2", f"ws://127.0.0.1:{port}/ws-api")

    async def asyncTearDown(self):
        await super().asyncTearDown()
        await self.runner.cleanup()

    async def test_public_and_private_requests_carry_the_right_headers(self):
        auth = VestPerpetualAuth(api_key="key-abc", signing_private_key="", account_group=2)
        rest = await web_utils.build_api_factory(auth=auth).get_rest_assistant()
        await rest.execute_request(url=web_utils.public_rest_url(CONSTANTS.DEPTH_PATH_URL),
                                   throttler_limit_id=CONSTANTS.DEPTH_PATH_URL, params={"symbol": "BTC-PERP"})
        await rest.execute_request(url=web_utils.private_rest_url(CONSTANTS.LISTEN_KEY_PATH_URL),
                                   throttler_limit_id=CONSTANTS.LISTEN_KEY_PATH_URL, method=RESTMethod.POST,
                                   data={}, is_auth_required=True)
        (public, private) = self.received
        self.assertEqual(("GET", "/v2/depth?symbol=BTC-PERP"), public[:2])
        self.assertEqual("restserver0", public[2]["xrestservermm"])
        self.assertNotIn("X-API-KEY", public[2])
        self.assertEqual(("POST", "/v2/account/listenKey", "{}"), (private[0], private[1], private[3]))
        self.assertEqual(("key-abc", "restserver2", "application/json"),
                         tuple(private[2][name] for name in ("X-API-KEY", "xrestservermm", "Content-Type")))

    async def test_requests_reach_the_server_numbered_and_pushes_reach_the_assistant(self):
        ws = await web_utils.connected_ws_assistant(web_utils.build_api_factory(), web_utils.public_ws_url())
        try:
            self.assertEqual({"version": "1.0", "xwebsocketserver": "restserver0", "websocketserver": "restserver0"},
                             self.ws_query)
            push = await asyncio.wait_for(ws.receive(), timeout=5)
            self.assertEqual({"channel": "BTC-PERP@depth", "data": {"bids": [["64000.10", "0.5"]], "asks": []}},
                             push.data)
            sender = web_utils.WSRequestSender()
            await sender.send(ws, CONSTANTS.WS_SUBSCRIBE_METHOD, ["tickers"])
            await sender.send(ws, CONSTANTS.WS_PING_METHOD, [])
            self.assertEqual({"data": "PONG"}, (await asyncio.wait_for(ws.receive(), timeout=5)).data)
        finally:
            await ws.disconnect()
        self.assertEqual([{"method": "SUBSCRIBE", "params": ["tickers"], "id": 1},
                          {"method": "PING", "params": [], "id": 2}], self.ws_received)

    async def test_a_server_close_ends_the_connection_tasks_with_its_code(self):
        """The reader sees the close (§5.1) and the PING task is cancelled with it."""
        self.close_code = 4004
        ws = await web_utils.connected_ws_assistant(web_utils.build_api_factory(), web_utils.public_ws_url())
        pinger_cancelled = asyncio.Event()

        async def reader():
            while True:
                await ws.receive()

        async def pinger():
            try:
                await web_utils.WSRequestSender().ping_periodically(ws, lambda _: asyncio.sleep(0.01))
            except asyncio.CancelledError:
                pinger_cancelled.set()
                raise

        with self.assertRaisesRegex(ConnectionError, "Close code = 4004"):
            await asyncio.wait_for(web_utils.run_until_first_ends(reader(), pinger()), timeout=5)
        self.assertTrue(pinger_cancelled.is_set())
        await ws.disconnect()

    async def test_a_refused_handshake_becomes_a_connection_error(self):
        url = web_utils.ws_base_url().replace("/ws-api", "/v2/not-a-websocket")
        with self.assertRaises(ConnectionError) as caught:
            await web_utils.connected_ws_assistant(web_utils.build_api_factory(), url)
        self.assertIsInstance(caught.exception.__cause__, aiohttp.WSServerHandshakeError)


class RefusedConnectionTest(_SocketTestCase):
    async def test_nothing_listening_becomes_a_connection_error(self):
        url = f"ws://127.0.0.1:{_free_port()}/ws-api"
        with self.assertRaisesRegex(ConnectionError, "^Could not connect to the Vest websocket") as caught:
            await asyncio.wait_for(web_utils.connected_ws_assistant(web_utils.build_api_factory(), url), timeout=10)
        self.assertIsInstance(caught.exception.__cause__, aiohttp.ClientConnectorError)


class SimulatorTest(_SocketTestCase):
    """The plumbing against the Vest simulator over loopback (§5.2 PING and subscriptions, §3.11, §3.6, §3.7)."""

    async def asyncSetUp(self):
        await super().asyncSetUp()
        self.simulator = await VestSimulator(seed=5, tick_interval=None).start()
        self.override_urls(self.simulator.rest_url, self.simulator.ws_url)
        self.account = self.simulator.create_account(signing_private_key=SIGNING_KEY, account_group=3)
        self.auth = VestPerpetualAuth(api_key=self.account.api_key, signing_private_key=SIGNING_KEY, account_group=3)
        self.factory = web_utils.build_api_factory(auth=self.auth)

    async def asyncTearDown(self):
        await super().asyncTearDown()
        await self.simulator.stop()

    async def receive(self, ws) -> Any:
        return (await asyncio.wait_for(ws.receive(), timeout=5)).data

    async def post(self, path: str, data: Dict[str, Any], params: Optional[Dict[str, Any]] = None,
                   return_err: bool = False):
        rest = await self.factory.get_rest_assistant()
        response = await rest.execute_request_and_get_response(
            url=web_utils.private_rest_url(path), throttler_limit_id=path, method=RESTMethod.POST, data=data,
            params=params, is_auth_required=True, return_err=return_err)
        return response.status, await response.json()

    async def test_public_stream_answers_ping_and_subscriptions(self):
        ws = await web_utils.connected_ws_assistant(self.factory, web_utils.public_ws_url())
        try:
            sender = web_utils.WSRequestSender()
            await sender.send(ws, CONSTANTS.WS_PING_METHOD, [])
            self.assertEqual({"data": CONSTANTS.WS_PONG_DATA}, await self.receive(ws))
            await sender.send(ws, CONSTANTS.WS_SUBSCRIBE_METHOD, [CONSTANTS.WS_TICKERS_CHANNEL])
            self.assertEqual({"result": None, "id": 2}, await self.receive(ws))
        finally:
            await ws.disconnect()

    async def test_private_stream_with_a_listen_key_from_the_factory(self):
        status, answer = await self.post(CONSTANTS.LISTEN_KEY_PATH_URL, data={})
        self.assertEqual(200, status)
        url = web_utils.private_ws_url(answer["listenKey"], self.auth.account_group)
        ws = await web_utils.connected_ws_assistant(self.factory, url)
        try:
            await web_utils.WSRequestSender().send(ws, CONSTANTS.WS_SUBSCRIBE_METHOD,
                                                   [CONSTANTS.WS_ACCOUNT_PRIVATE_CHANNEL])
            self.assertEqual({"result": None, "id": 1}, await self.receive(ws))
        finally:
            await ws.disconnect()

    async def test_a_signed_order_and_its_cancel_are_accepted_and_a_tampered_one_refused(self):
        now = self.simulator.now_ms()
        order = OrderAction(time=now, nonce=now, order_type=CONSTANTS.ORDER_TYPE_LIMIT, symbol="BTC-PERP",
                            is_buy=True, size="0.0010", limit_price="30000.0", reduce_only=False,
                            time_in_force=CONSTANTS.TIME_IN_FORCE_GTC)
        status, placed = await self.post(CONSTANTS.ORDERS_PATH_URL, self.auth.signed_body(order))
        self.assertEqual(200, status)
        self.assertRegex(placed["id"], r"^0x[0-9a-f]+$")

        tampered = self.auth.signed_body(OrderAction(time=now, nonce=now + 1, order_type="LIMIT", symbol="BTC-PERP",
                                                     is_buy=True, size="0.0010", limit_price="30000.0",
                                                     reduce_only=False))
        tampered["order"]["size"] = "0.001"  # same amount, another string: another signed message (§4.2)
        status, refused = await self.post(CONSTANTS.ORDERS_PATH_URL, tampered, return_err=True)
        self.assertGreaterEqual(status, 400)
        self.assertEqual("INVALID_SIGNATURE", CONSTANTS.ERROR_CODES.get(refused.get("code")), refused)

        cancel = CancelAction(time=self.simulator.now_ms(), nonce=now + 2, order_id=placed["id"])
        status, cancelled = await self.post(CONSTANTS.CANCEL_ORDER_PATH_URL, self.auth.signed_body(cancel),
                                            params={"time": cancel.time, "nonce": cancel.nonce})
        self.assertEqual((200, placed["id"]), (status, cancelled["id"]))
