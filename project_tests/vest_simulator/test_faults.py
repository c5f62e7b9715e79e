"""Each fault switch (vest_simulator.faults)."""
from __future__ import annotations

import asyncio
import time
import unittest

import aiohttp
import brotli

from vest_simulator import Faults

from .base import SimTestCase
from .signing import SIGNING_KEY, cancel_body


class FaultObjectTests(unittest.TestCase):
    def test_seeded_and_reproducible(self) -> None:
        runs = []
        for _ in range(2):
            faults = Faults().set(http_error_rate=0.3, http_error_status=503, seed=3)
            runs.append([faults.http_error() for _ in range(50)])
        self.assertEqual(runs[0], runs[1])
        self.assertTrue(0 < sum(1 for r in runs[0] if r == 503) < 50)
        other = Faults().set(http_error_rate=0.3, http_error_status=503, seed=4)
        self.assertNotEqual(runs[0], [other.http_error() for _ in range(50)])

    def test_validation_and_reset(self) -> None:
        faults = Faults()
        for bad in ({"nope": 1}, {"frame_mode": "gzip"}, {"error_envelope": "xml"}, {"http_error_status": 404},
                    {"http_error_rate": 2}, {"ws_drop_target": "all"}):
            with self.assertRaises(ValueError, msg=bad):
                Faults().set(**bad)
        faults.set(frame_mode="brotli", halted_symbols="BTC-PERP,ETH-PERP", drop_order_response=2, seed=9)
        self.assertEqual(["BTC-PERP", "ETH-PERP"], faults.snapshot()["halted_symbols"])
        faults.reset()
        self.assertEqual(("text", set(), 0, 9), (faults.frame_mode, faults.halted_symbols, faults.drop_order_response,
                                                 faults.seed))

    def test_private_event_copies(self) -> None:
        self.assertEqual({0}, {Faults().set(private_event_drop_rate=1.0).private_event_copies() for _ in range(5)})
        self.assertEqual({2}, {Faults().set(private_event_duplicate_rate=1.0).private_event_copies() for _ in range(5)})


class HttpFaultTests(SimTestCase):
    async def test_rate_limit_429(self) -> None:
        self.sim.faults.set(http_error_rate=1.0, http_error_status=429, retry_after=2)
        async with self.session.get(self.sim.rest_url + "/ticker/latest") as resp:
            self.assertEqual(429, resp.status)
            self.assertEqual("2", resp.headers["Retry-After"])
            self.assertEqual({"code": 1003, "msg": "Too many requests"}, await resp.json())
        self.assertEqual(1, self.sim.request_counts[("GET", "/v2/ticker/latest")])  # faulted requests are counted
        self.sim.faults.set(error_envelope="detail")
        self.assertEqual((429, {"detail": {"code": 1003, "msg": "Too many requests"}}),
                         await self.call("GET", "/ticker/latest"))

    async def test_5xx_share_is_seeded(self) -> None:
        self.sim.faults.set(http_error_rate=0.5, http_error_status=502, seed=11)
        statuses = [(await self.call("GET", "/exchangeInfo"))[0] for _ in range(20)]
        self.assertEqual({200, 502}, set(statuses))
        expected = Faults().set(http_error_rate=0.5, http_error_status=502, seed=11)
        self.assertEqual([502 if expected.http_error() else 200 for _ in range(20)], statuses)
        self.assertEqual(20, self.sim.request_counts[("GET", "/v2/exchangeInfo")])
        self.sim.faults.set(http_error_rate=1.0)
        self.assertEqual((502, "Bad Gateway"), await self.call("GET", "/exchangeInfo"))  # plain-text proxy body

    async def test_error_envelope_detail(self) -> None:
        self.sim.faults.set(error_envelope="detail")
        self.assertEqual((401, {"detail": {"code": 1002, "msg": "Unauthorized"}}),
                         await self.call("GET", "/account", headers={"xrestservermm": "restserver0"}))
        status, body = await self.call("GET", "/account/nonce")
        self.assertEqual(422, status)
        self.assertIsInstance(body["detail"], list)  # validation errors keep the FastAPI list shape

    async def test_response_delay(self) -> None:
        self.sim.faults.set(response_delay=0.2)
        started = time.monotonic()
        self.assertEqual(200, (await self.call("GET", "/exchangeInfo"))[0])
        self.assertGreaterEqual(time.monotonic() - started, 0.2)

    async def test_drop_order_response(self) -> None:
        self.sim.faults.set(drop_order_response=1)
        with self.assertRaises(aiohttp.ServerDisconnectedError):
            await self.place()
        await self.settle()
        [order] = self.sim.orders(self.acct.primary_address)
        self.assertEqual("FILLED", order["status"])  # accepted and processed despite the lost response
        self.assertEqual(200, (await self.place())[0])
        self.assertEqual(0, self.sim.faults.drop_order_response)

    async def test_halted_symbol(self) -> None:
        self.sim.faults.set(halted_symbols=["SOL-PERP"])
        tickers = {t["symbol"]: t["status"] for t in (await self.call("GET", "/ticker/latest"))[1]["tickers"]}
        self.assertEqual("HALT", tickers["SOL-PERP"])
        self.assertEqual("TRADING", tickers["BTC-PERP"])
        info = {s["symbol"]: s["tradingStatus"] for s in (await self.call("GET", "/exchangeInfo"))[1]["symbols"]}
        self.assertEqual("TRADING", info["SOL-PERP"])  # halt_flag_in="ticker" (the default): the ticker only
        self.sim.faults.set(halt_flag_in="both")
        info = {s["symbol"]: s["tradingStatus"] for s in (await self.call("GET", "/exchangeInfo"))[1]["symbols"]}
        self.assertEqual("HALT", info["SOL-PERP"])
        self.assert_error(await self.place(symbol="SOL-PERP", size="1.00", limit_price="200.000"), 1148)
        self.sim.faults.reset()
        self.assertEqual(200, (await self.place(symbol="SOL-PERP", size="1.00", limit_price="200.000"))[0])


class StaticHaltTests(SimTestCase):
    sim_kwargs = {"halted_symbols": ["AAPL-USD-PERP"]}

    async def test_configured_halt_survives_fault_reset(self) -> None:
        self.sim.faults.reset()
        tickers = {t["symbol"]: t["status"] for t in (await self.call("GET", "/ticker/latest"))[1]["tickers"]}
        self.assertEqual("HALT", tickers["AAPL-USD-PERP"])
        self.assertEqual("HALT", self.sim.market_status("AAPL-USD-PERP"))


class WsFaultTests(SimTestCase):
    async def test_frame_modes(self) -> None:
        for mode, decode in (("binary", lambda b: b.decode()), ("brotli", lambda b: brotli.decompress(b).decode())):
            self.sim.faults.set(frame_mode=mode)
            ws = await self.ws_connect()
            await ws.send_json({"method": "PING", "params": [], "id": 1})
            msg = await ws.receive(timeout=3)
            self.assertEqual(aiohttp.WSMsgType.BINARY, msg.type)
            self.assertEqual('{"data":"PONG"}', decode(msg.data))
            await ws.close()

    async def test_ws_drop_interval(self) -> None:
        self.sim.faults.set(ws_drop_interval=0.2, ws_drop_target="public", ws_drop_code=1011)
        public = await self.ws_connect()
        private = await self.private_ws()
        self.assertEqual(1011, await self.close_code(public))
        await private.send_json({"method": "PING", "params": [], "id": 3})
        self.assertEqual({"data": "PONG"}, await self.recv(private))
        self.sim.faults.set(ws_drop_target="private")
        self.assertEqual(1011, await self.close_code(private))

    async def test_private_event_drop_and_duplicate(self) -> None:
        ws = await self.private_ws()
        self.sim.faults.set(private_event_drop_rate=1.0)
        await self.place_ok()
        self.sim.faults.set(private_event_drop_rate=0.0, private_event_duplicate_rate=1.0)
        order_id = await self.place_ok()
        events = [await self.next_order_event(ws) for _ in range(4)]
        self.assertEqual({order_id}, {e["id"] for e in events})  # the first order's events were dropped
        self.assertEqual(["NEW", "NEW", "FILLED", "FILLED"], [e["status"] for e in events])


class ReadingSwitchValidationTests(unittest.TestCase):
    def test_new_switches_validate_and_reset(self) -> None:
        for bad in ({"last_filled_reading": "average"}, {"partial_fill_chunks": 0}, {"partial_fill_chunks": 1.5},
                    {"fail_order_queries": -1}, {"garble_cancel_response": True}, {"stall_order_requests": -1}):
            with self.assertRaises(ValueError, msg=bad):
                Faults().set(**bad)
        faults = Faults().set(partial_fill_chunks=4, last_filled_reading="cumulative", zero_for_null=True,
                              garble_cancel_response=1, fail_order_queries=2, account_without_positions=True)
        snapshot = faults.snapshot()
        self.assertEqual((4, "cumulative", True, 1, 2, True),
                         tuple(snapshot[k] for k in ("partial_fill_chunks", "last_filled_reading", "zero_for_null",
                                                     "garble_cancel_response", "fail_order_queries",
                                                     "account_without_positions")))
        faults.reset()
        self.assertEqual((1, "per_fill", False, 0, 0, False),
                         (faults.partial_fill_chunks, faults.last_filled_reading, faults.zero_for_null,
                          faults.garble_cancel_response, faults.fail_order_queries, faults.account_without_positions))


class AnswerFaultTests(SimTestCase):
    async def test_garble_cancel_response(self) -> None:
        order_id = await self.place_ok(order_type="LIMIT", limit_price="60000.0")
        self.sim.faults.set(garble_cancel_response=2)
        for _ in range(2):
            time, nonce = self.sim.now_ms(), self.nonce()
            async with self.session.post(self.sim.rest_url + "/orders/cancel", params={"time": time, "nonce": nonce},
                                         json=cancel_body(SIGNING_KEY, time=time, nonce=nonce, order_id=order_id),
                                         headers=self.headers()) as resp:
                body = await resp.text()
                self.assertEqual((200, "text/html"), (resp.status, resp.content_type))
            self.assertTrue(body.startswith("<html>") and body.endswith("</html>"), body)
            self.assertEqual("NEW", self.order(order_id)["status"])  # the cancel was not executed
        self.assertEqual(0, self.sim.faults.garble_cancel_response)
        self.assertEqual((200, {"id": order_id}), await self.cancel(order_id))
        self.assertEqual("CANCELLED", self.order(order_id)["status"])

    async def until(self, condition, timeout: float = 3.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            self.assertLess(time.monotonic(), deadline, "condition not met in time")
            await asyncio.sleep(0.01)

    async def test_stall_order_requests(self) -> None:
        self.sim.faults.set(stall_order_requests=1)
        nonce = self.nonce()
        held = asyncio.ensure_future(self.place(nonce=nonce))
        await self.until(lambda: self.sim.faults.stall_order_requests == 0)
        done, _ = await asyncio.wait([held], timeout=0.3)
        self.assertEqual(set(), done)  # no answer while the client waits
        held.cancel()  # the client gives up: its connection closes, the held request is discarded
        await asyncio.gather(held, return_exceptions=True)
        await asyncio.sleep(0.1)
        await self.settle()
        self.assertEqual([], self.sim.orders(self.acct.primary_address))  # never booked
        self.assertEqual(1, self.sim.request_counts[("POST", "/v2/orders")])
        status, body = await self.place(nonce=nonce)  # the same nonce is still free: Vest never saw the order
        self.assertEqual(200, status, body)
        await self.settle()
        self.assertEqual([body["id"]], [row["id"] for row in self.sim.orders(self.acct.primary_address)])

    async def test_stalled_order_request_is_let_go_when_the_simulator_stops(self) -> None:
        self.sim.faults.set(stall_order_requests=1)
        held = asyncio.ensure_future(self.place())
        await self.until(lambda: self.sim.faults.stall_order_requests == 0)
        await asyncio.wait_for(self.sim.stop(), 5.0)
        with self.assertRaises(aiohttp.ServerDisconnectedError):  # aborted: no answer at all
            await held
        self.assertEqual([], self.sim.orders(self.acct.primary_address))

    async def test_fail_order_queries(self) -> None:
        order_id = await self.place_ok()
        self.sim.faults.set(fail_order_queries=2)
        self.assertEqual((503, "Service Unavailable"), await self.call("GET", "/orders", params={"id": order_id}))
        self.assertEqual((503, "Service Unavailable"), await self.call("GET", "/orders"))
        self.assertEqual(200, (await self.call("GET", "/account"))[0])  # other routes are not affected
        status, rows = await self.call("GET", "/orders", params={"id": order_id})
        self.assertEqual((200, [order_id]), (status, [r["id"] for r in rows]))
        self.assertEqual(3, self.sim.request_counts[("GET", "/v2/orders")])

    async def test_account_without_positions(self) -> None:
        await self.place_ok()
        self.assertEqual(1, len((await self.call("GET", "/account"))[1]["positions"]))
        self.sim.faults.set(account_without_positions=True)
        status, account = await self.call("GET", "/account")
        self.assertEqual(200, status)
        self.assertNotIn("positions", account)
        self.assertEqual("USDC", account["balances"][0]["asset"])

    async def test_switches_through_the_control_route(self) -> None:
        url = f"http://{self.sim.host}:{self.sim.port}/_sim/faults"
        async with self.session.post(url, json={"partial_fill_chunks": 2, "last_filled_reading": "cumulative",
                                                "zero_for_null": True}) as resp:
            self.assertEqual(2, (await resp.json())["partial_fill_chunks"])
        order_id = await self.place_ok()
        self.assertEqual("PARTIALLY_FILLED", self.order(order_id)["status"])
        async with self.session.post(url, json={"last_filled_reading": "sum"}) as resp:
            self.assertEqual(400, resp.status)
