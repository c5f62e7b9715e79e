"""Request-side readings of Vest's API page (docs/vest-protocol.md §7.13): `leverage_params`, cancel without `?time=`
(and `cancel_requires_time_query`), and the switches of the audit: `expired_order_reply`, `future_time_check`,
`tif_on_market`, `rate_limit_code`, `limit_above_max`, `unknown_symbols`, `end_time_default`, `trade_side`,
`ws_group_param`, `strict_requests`."""
from __future__ import annotations

import unittest
from typing import Any, Dict, Optional, Tuple

from vest_simulator import DEV_ROUTER, Faults
from vest_simulator.signatures import address_of

from .base import SimTestCase
from .signing import (
    OTHER_KEY,
    PRIMARY_ADDRESS,
    SIGNING_ADDRESS,
    SIGNING_KEY,
    USDC_BASE,
    cancel_body,
    signer_proof_signature,
    withdraw_body,
)


class SwitchObjectTests(unittest.TestCase):
    def test_choices_are_validated_and_reset(self) -> None:
        defaults = {"leverage_params": "either", "cancel_requires_time_query": False, "market_hours": {},
                    "halt_flag_in": "ticker", "closed_market_reply": "http_1148", "expired_order_reply": "http_1132",
                    "future_time_check": "recv_window", "tif_on_market": "refuse", "rate_limit_code": 1003,
                    "limit_above_max": "error", "unknown_symbols": "error", "end_time_default": "now",
                    "exchange_info_fields": "observed", "trade_side": "signed_qty", "ws_group_param": "either",
                    "strict_requests": False}
        faults = Faults()
        self.assertEqual(defaults, {k: faults.snapshot()[k] for k in defaults})
        for bad in ({"leverage_params": "header"}, {"halt_flag_in": "depth"}, {"closed_market_reply": 1148},
                    {"expired_order_reply": "drop"}, {"future_time_check": 5000}, {"tif_on_market": "keep"},
                    {"rate_limit_code": 1004}, {"rate_limit_code": True}, {"limit_above_max": "wrap"},
                    {"unknown_symbols": "ignore"}, {"end_time_default": "never"}, {"exchange_info_fields": "all"},
                    {"trade_side": "sign"}, {"ws_group_param": "both"}, {"strict_requests": "yes"},
                    {"cancel_requires_time_query": 1}):
            with self.assertRaises(ValueError, msg=bad):
                faults.set(**bad)
        self.assertEqual(defaults, {k: faults.snapshot()[k] for k in defaults})  # refused changes change nothing
        faults.set(leverage_params="query", halt_flag_in="both", rate_limit_code=429, strict_requests=True,
                   trade_side="side", market_hours={"AAPL-USD-PERP": (0, 3600)})
        faults.reset()
        self.assertEqual(defaults, {k: faults.snapshot()[k] for k in defaults})


class LeverageParamsTests(SimTestCase):
    def fields(self, symbol: str = "BTC-PERP", value: Any = 20) -> Dict[str, Any]:
        return {"time": self.sim.now_ms(), "symbol": symbol, "value": value}

    async def leverage(self, body: Any = None, params: Optional[Dict[str, Any]] = None) -> Tuple[int, Any]:
        return await self.call("POST", "/account/leverage", body=body, params=params)

    def assert_422(self, result: Tuple[int, Any], kind: str, loc: list) -> None:
        status, body = result
        self.assertEqual((422, kind, loc), (status, body["detail"][0]["type"], body["detail"][0]["loc"]), body)

    async def leverages(self) -> Dict[str, int]:
        account = (await self.call("GET", "/account", params={"time": self.sim.now_ms()}))[1]
        return {row["symbol"]: row["value"] for row in account["leverages"]}

    async def test_either_reads_the_body_then_the_query(self) -> None:
        self.assertEqual("either", self.sim.faults.leverage_params)
        self.assertEqual((200, {"symbol": "BTC-PERP", "value": 20}), await self.leverage(body=self.fields()))
        self.assertEqual((200, {"symbol": "BTC-PERP", "value": 15}), await self.leverage(params=self.fields(value=15)))
        both = await self.leverage(body=self.fields("ETH-PERP", 30), params=self.fields("BTC-PERP", 5))
        self.assertEqual((200, {"symbol": "ETH-PERP", "value": 30}), both)  # body fields win
        partial = {"symbol": "SOL-PERP", "value": None}  # time absent and value null: both come from the query
        self.assertEqual((200, {"symbol": "SOL-PERP", "value": 7}),
                         await self.leverage(body=partial, params={"time": self.sim.now_ms(), "value": 7}))
        self.assertEqual({"BTC-PERP": 15, "ETH-PERP": 30, "SOL-PERP": 7},
                         {k: v for k, v in (await self.leverages()).items() if k in ("BTC-PERP", "ETH-PERP", "SOL-PERP")})
        self.assert_422(await self.leverage(body={"symbol": "BTC-PERP", "value": 5}), "missing", ["body", "time"])
        self.assert_422(await self.leverage(), "missing", ["body", "time"])
        self.assert_422(await self.leverage(body=self.fields(value="10"), params=self.fields(value=10)),
                        "int_parsing", ["body", "value"])  # a body field that is there wins, even a bad one
        self.assert_422(await self.leverage(params=self.fields(value="ten")), "int_parsing", ["query", "value"])
        async with self.session.post(self.sim.rest_url + "/account/leverage", data=b"{nope", params=self.fields(),
                                     headers=self.headers()) as resp:
            self.assertEqual((422, "json_invalid"), (resp.status, (await resp.json())["detail"][0]["type"]))
        self.assert_error(await self.leverage(params=self.fields(value=51)), 1130)
        self.assert_error(await self.leverage(params=self.fields(symbol="X-PERP")), 1121)

    async def test_body_only(self) -> None:
        self.sim.faults.set(leverage_params="body")
        self.assertEqual((200, {"symbol": "BTC-PERP", "value": 25}),
                         await self.leverage(body=self.fields(value=25), params=self.fields(value=5)))  # query ignored
        status, body = await self.leverage(params=self.fields(value=5))  # no body at all: today's 422
        self.assertEqual((422, "json_invalid"), (status, body["detail"][0]["type"]))
        self.assert_422(await self.leverage(body={"symbol": "BTC-PERP", "value": 5}, params=self.fields()),
                        "missing", ["body", "time"])
        self.assert_error(await self.leverage(body=self.fields(value=0)), 1130)
        self.assertEqual(25, (await self.leverages())["BTC-PERP"])

    async def test_query_only(self) -> None:
        self.sim.faults.set(leverage_params="query")
        self.assertEqual((200, {"symbol": "BTC-PERP", "value": 12}), await self.leverage(params=self.fields(value=12)))
        self.assertEqual((200, {"symbol": "BTC-PERP", "value": 3}),
                         await self.leverage(body=self.fields(value=40), params=self.fields(value=3)))  # body ignored
        self.assert_422(await self.leverage(body=self.fields()), "missing", ["query", "time"])
        async with self.session.post(self.sim.rest_url + "/account/leverage", data=b"{nope",
                                     params=self.fields(value=4), headers=self.headers()) as resp:
            self.assertEqual((200, {"symbol": "BTC-PERP", "value": 4}), (resp.status, await resp.json()))
        self.assert_422(await self.leverage(params=self.fields(value="x")), "int_parsing", ["query", "value"])
        self.assert_422(await self.leverage(params={"time": 1, "value": 3}), "missing", ["query", "symbol"])
        self.assert_error(await self.leverage(params=self.fields(value=0)), 1130)
        self.assertEqual(4, (await self.leverages())["BTC-PERP"])


class CancelQueryTests(SimTestCase):
    async def cancel_as_documented(self, order_id: str, **params: Any) -> Tuple[int, Any]:
        """The body of 'POST /orders/cancel' and nothing else (plus `params`, when given)."""
        time, nonce = self.sim.now_ms(), self.nonce()
        return await self.call("POST", "/orders/cancel", params=params or None,
                               body=cancel_body(SIGNING_KEY, time=time, nonce=nonce, order_id=order_id))

    async def resting(self) -> str:
        return await self.place_ok(order_type="LIMIT", limit_price="60000.0")

    async def test_documented_cancel_is_accepted(self) -> None:
        self.assertFalse(self.sim.faults.cancel_requires_time_query)
        order_id = await self.resting()
        self.assertEqual((200, {"id": order_id}), await self.cancel_as_documented(order_id))
        self.assertEqual("CANCELLED", self.order(order_id)["status"])
        with_query = await self.resting()
        self.assertEqual((200, {"id": with_query}), await self.cancel(with_query))  # ?time=&nonce= still fine
        unread = await self.resting()
        self.assertEqual((200, {"id": unread}), await self.cancel_as_documented(unread, time="abc"))  # not read

    async def test_switch_requires_the_time_query(self) -> None:
        self.sim.faults.set(cancel_requires_time_query=True)
        order_id = await self.resting()
        status, body = await self.cancel_as_documented(order_id)
        self.assertEqual((422, "missing", ["query", "time"]),
                         (status, body["detail"][0]["type"], body["detail"][0]["loc"]))
        self.assertEqual("NEW", self.order(order_id)["status"])
        self.assertEqual((200, {"id": order_id}), await self.cancel(order_id))
        self.assertEqual("CANCELLED", self.order(order_id)["status"])


class OrderReadingTests(SimTestCase):
    async def test_expired_order_reply(self) -> None:
        stale = self.sim.now_ms() - 6000  # past time + the default recvWindow of 5000
        self.assert_error(await self.place(time=stale), 1132)
        self.sim.faults.set(expired_order_reply="rejected_3004")
        ws = await self.private_ws()
        status, body = await self.place(time=stale)
        self.assertEqual(200, status, body)
        self.assertEqual("NEW", (await self.next_order_event(ws))["status"])
        await self.settle()
        self.assertEqual({"id": body["id"], "status": "REJECTED", "code": 3004},
                         {k: v for k, v in (await self.next_order_event(ws)).items() if k in ("id", "status", "code")})
        self.assertEqual({}, self.sim.positions(PRIMARY_ADDRESS))
        order_id = await self.place_ok(order_type="LIMIT", limit_price="60000.0")
        time, nonce = stale, self.nonce()
        self.assert_error(await self.call("POST", "/orders/cancel", body=cancel_body(
            SIGNING_KEY, time=time, nonce=nonce, order_id=order_id)), 1132)  # cancels: refused at once either way

    async def test_future_time_check(self) -> None:
        future = self.sim.now_ms() + 8000
        self.assert_error(await self.place(time=future), 1132)
        self.sim.faults.set(future_time_check="none")
        order_id = await self.place_ok(time=future)
        self.assertEqual("FILLED", self.order(order_id)["status"])
        self.assert_error(await self.place(time=self.sim.now_ms() - 6000), 1132)  # the documented bound stays

    async def test_tif_on_market(self) -> None:
        self.assert_error(await self.place(time_in_force="GTC"), 1133)
        self.sim.faults.set(tif_on_market="ignore")
        order_id = await self.place_ok(time_in_force="GTC")
        self.assertEqual("FILLED", self.order(order_id)["status"])
        self.assert_error(await self.place(order_type="LIMIT", limit_price="60000.0", time_in_force="IOC"), 1133)


class ReadReadingTests(SimTestCase):
    async def test_rate_limit_code(self) -> None:
        self.sim.faults.set(http_error_rate=1.0, http_error_status=429, rate_limit_code=429)
        self.assertEqual((429, {"code": 429, "msg": "Rate limited"}), await self.call("GET", "/ticker/latest"))
        self.sim.faults.set(rate_limit_code=1003)
        self.assertEqual((429, {"code": 1003, "msg": "Too many requests"}), await self.call("GET", "/ticker/latest"))

    async def test_limit_above_max(self) -> None:
        self.assert_error(await self.call("GET", "/depth", params={"symbol": "BTC-PERP", "limit": 101}), 1130)
        self.assert_error(await self.call("GET", "/orders", params={"limit": 1001}), 1130)
        self.sim.faults.set(limit_above_max="clamp")
        status, depth = await self.call("GET", "/depth", params={"symbol": "BTC-PERP", "limit": 500})
        self.assertEqual((200, 100), (status, len(depth["asks"])))
        status, klines = await self.call("GET", "/klines", params={"symbol": "BTC-PERP", "limit": 5000})
        self.assertEqual(200, status)
        self.assertLessEqual(len(klines), 1000)
        self.assertEqual((200, []), await self.call("GET", "/orders", params={"limit": 2000}))
        self.assert_error(await self.call("GET", "/depth", params={"symbol": "BTC-PERP", "limit": 0}), 1130)

    async def test_unknown_symbols(self) -> None:
        self.assert_error(await self.call("GET", "/exchangeInfo", params={"symbols": "BTC-PERP,NOPE-PERP"}), 1121)
        self.assert_error(await self.call("GET", "/orders", params={"symbol": "NOPE-PERP"}), 1121)
        self.sim.faults.set(unknown_symbols="skip")
        info = (await self.call("GET", "/exchangeInfo", params={"symbols": "BTC-PERP,NOPE-PERP"}))[1]
        self.assertEqual(["BTC-PERP"], [row["symbol"] for row in info["symbols"]])
        self.assertEqual((200, {"tickers": []}), await self.call("GET", "/ticker/latest", params={"symbols": "NOPE"}))
        self.assertEqual((200, {"tickers": []}), await self.call("GET", "/ticker/24hr", params={"symbols": "NOPE"}))
        await self.place_ok()
        self.assertEqual((200, []), await self.call("GET", "/orders", params={"symbol": "NOPE-PERP"}))
        self.assert_error(await self.call("GET", "/depth", params={"symbol": "NOPE-PERP"}), 1121)  # one-symbol routes

    async def test_end_time_default(self) -> None:
        order_id = await self.place_ok()
        post_time = self.order(order_id)["postTime"]
        self.sim.clock_offset_ms -= 10_000  # the clock goes back: the order was posted "in the future"
        self.assertEqual((200, []), await self.call("GET", "/orders"))  # endTime defaults to now
        self.assertEqual((200, []), await self.call("GET", "/transfer"))  # the account's deposit too
        rows = (await self.call("GET", "/orders", params={"endTime": post_time}))[1]
        self.assertEqual([order_id], [row["id"] for row in rows])
        self.sim.faults.set(end_time_default="unbounded")
        self.assertEqual([order_id], [row["id"] for row in (await self.call("GET", "/orders"))[1]])
        self.assertEqual(["DEPOSIT"], [row["orderType"] for row in (await self.call("GET", "/transfer"))[1]])

    async def test_trade_side(self) -> None:
        ws = await self.ws_connect()
        await ws.send_json({"method": "SUBSCRIBE", "params": ["BTC-PERP@trades"], "id": 1})
        self.assertEqual({"result": None, "id": 1}, await self.recv(ws))
        expected = {"signed_qty": ("-0.0100", {}), "unsigned": ("0.0100", {}),
                    "is_buy": ("0.0100", {"isBuy": False}), "side": ("0.0100", {"side": "SELL"})}
        for mode, (qty, extra) in expected.items():
            self.sim.faults.set(trade_side=mode)
            await self.place_ok(is_buy=False, limit_price="60000.0")
            pushed = (await self.recv_until(ws, lambda m: m.get("channel") == "BTC-PERP@trades"))["data"]
            rest = (await self.call("GET", "/trades", params={"symbol": "BTC-PERP", "limit": 1}))[1][0]
            for trade, id_type in ((pushed, str), (rest, int)):
                self.assertEqual(({"id", "price", "qty", "quoteQty", "time"} | set(extra), qty, id_type),
                                 (set(trade), trade["qty"], type(trade["id"])), mode)
                self.assertEqual(extra, {k: trade[k] for k in extra}, mode)
            self.assertTrue(pushed["id"].startswith("0x"))

    async def test_ws_group_param(self) -> None:
        for accepted, refused in (("xwebsocketserver", "websocketserver"), ("websocketserver", "xwebsocketserver")):
            self.sim.faults.set(ws_group_param=accepted)
            ws = await self.ws_connect(f"version=1.0&{refused}=restserver0")
            self.assertEqual(4001, await self.close_code(ws), accepted)  # as if the parameter were missing
            ws = await self.ws_connect(f"version=1.0&{accepted}=restserver0")
            await ws.send_json({"method": "PING", "params": [], "id": 2})
            self.assertEqual({"data": "PONG"}, await self.recv(ws))


class StrictRequestTests(SimTestCase):
    def register_body(self, expiry: int, signing_address: str = SIGNING_ADDRESS.lower()) -> Dict[str, Any]:
        return {"signingAddr": signing_address, "primaryAddr": address_of(OTHER_KEY),
                "signature": signer_proof_signature(OTHER_KEY, DEV_ROUTER, SIGNING_ADDRESS, expiry),
                "expiryTime": expiry, "networkType": 0}

    def withdraw(self) -> Dict[str, Any]:
        return withdraw_body(SIGNING_KEY, time=self.sim.now_ms(), nonce=self.nonce(), account=PRIMARY_ADDRESS,
                             recipient=PRIMARY_ADDRESS, token_address=USDC_BASE, size=1_000_000, chain_id=8453)

    def assert_missing(self, result: Tuple[int, Any], loc: list) -> None:
        self.assertEqual((422, "missing", loc), (result[0], result[1]["detail"][0]["type"], result[1]["detail"][0]["loc"]),
                         result)

    async def test_lenient_by_default(self) -> None:
        self.assertEqual(200, (await self.call("GET", "/exchangeInfo", headers={}))[0])
        for path in ("/account", "/orders", "/lp", "/transfer"):
            self.assertEqual(200, (await self.call("GET", path))[0], path)
        body = self.withdraw()
        del body["execute"]
        self.assertEqual(200, (await self.call("POST", "/transfer/withdraw", body=body))[0])
        expiry = self.sim.now_ms() + 86_400_000
        body = self.register_body(expiry, SIGNING_ADDRESS)  # checksummed, without networkType
        del body["networkType"]
        self.assertEqual(200, (await self.call("POST", "/register", body=body, auth=False))[0])

    async def test_strict_requests(self) -> None:
        self.sim.faults.set(strict_requests=True)
        self.assert_error(await self.call("GET", "/exchangeInfo", headers={}), 1146)
        self.assert_error(await self.call("GET", "/ticker/latest", headers={}), 1146)
        self.assertEqual(200, (await self.call("GET", "/exchangeInfo", auth=False))[0])
        for path in ("/account", "/orders", "/lp", "/transfer"):
            self.assert_missing(await self.call("GET", path), ["query", "time"])
            self.assertEqual(200, (await self.call("GET", path, params={"time": self.sim.now_ms()}))[0], path)
        body = self.withdraw()
        del body["execute"]
        self.assert_missing(await self.call("POST", "/transfer/withdraw", body=body), ["body", "execute"])
        self.assertEqual(200, (await self.call("POST", "/transfer/withdraw", body=self.withdraw()))[0])
        expiry = self.sim.now_ms() + 86_400_000
        body = self.register_body(expiry)
        del body["networkType"]
        self.assert_missing(await self.call("POST", "/register", body=body, auth=False), ["body", "networkType"])
        self.assert_error(await self.call("POST", "/register", body=self.register_body(expiry, SIGNING_ADDRESS),
                                          auth=False), 1130)
        self.assert_error(await self.call("POST", "/register", body=self.register_body(expiry), headers={}), 1146)
        self.assertEqual(200, (await self.call("POST", "/register", body=self.register_body(expiry), auth=False))[0])
