"""Signed order placement, validation codes and the taker-only AMM engine.

docs/vest-protocol.md §3.6-3.8, §6.2-6.3, §7.4-7.5."""
from __future__ import annotations

import dataclasses
from decimal import Decimal

from vest_simulator import CATALOG

from .base import SimTestCase
from .signing import ORDER_SIG as VECTOR_SIGNATURE, OTHER_KEY, SIGNING_KEY, T, order_body


class VectorOrderTests(SimTestCase):
    # BTC-PERP with 2 price decimals so that the §4.10 order ("30000.00") is valid.
    sim_kwargs = {"symbols": [dataclasses.replace(CATALOG["BTC-PERP"], price_decimals=2,
                                                  start_price=Decimal("65000.00"))]}

    async def test_documented_vector_accepted_and_tampered_rejected(self) -> None:
        self.sim.clock_offset_ms = T + 1000 - self.sim.now_ms()  # simulator time is 1 s after the vector's time
        order = {"time": T, "nonce": T, "symbol": "BTC-PERP", "isBuy": True, "size": "0.0100", "orderType": "LIMIT",
                 "limitPrice": "30000.00", "reduceOnly": False, "timeInForce": "GTC"}
        tampered = {"order": {**order, "size": "0.0200"}, "recvWindow": 10000, "signature": VECTOR_SIGNATURE}
        self.assert_error(await self.call("POST", "/orders", body=tampered), 1022)
        status, body = await self.call("POST", "/orders", body={"order": order, "recvWindow": 10000,
                                                                "signature": VECTOR_SIGNATURE})
        self.assertEqual((200, {"id": "0x47586aa4b8c0fd58e5ca3db10632fc4023159cabead9cd6ac129a76854ab38c6"}),  # noqa: mock
                         (status, body))
        await self.settle()
        self.assertEqual("NEW", self.order(body["id"])["status"])  # resting: index 65000 > limit 30000


class ValidationTests(SimTestCase):
    async def test_market_order_fills(self) -> None:
        order_id = await self.place_ok(size="0.0100", limit_price="70000.0")
        self.assertRegex(order_id, r"^0x[0-9a-f]{64}$")
        order = self.order(order_id)
        self.assertEqual(("FILLED", "0.0100"), (order["status"], order["lastFilledSize"]))
        fill = self.sim.fills(self.acct.primary_address)[0]
        self.assertEqual((order_id, Decimal("0.0100")), (fill.order_id, fill.size))

    async def test_signature_errors(self) -> None:
        body = order_body(SIGNING_KEY, time=self.sim.now_ms(), nonce=self.nonce())
        body["order"]["size"] = "0.0200"  # changed after signing
        self.assert_error(await self.call("POST", "/orders", body=body), 1022)
        body = order_body(SIGNING_KEY, time=self.sim.now_ms(), nonce=self.nonce())
        self.assert_error(await self.call("POST", "/orders", body={**body, "signature": body["signature"][2:]}), 1022)
        self.assert_error(await self.place(key=OTHER_KEY), 1022)  # not a registered signer
        self.assertEqual(200, (await self.place(key=self.acct.primary_private_key))[0])  # the primary may sign

    async def test_expired_signer(self) -> None:
        short = self.sim.create_account(signing_private_key=OTHER_KEY,
                                        primary_private_key=self.acct.primary_private_key,
                                        signer_expiry_ms=self.sim.now_ms() + 60_000)
        self.assertEqual(200, (await self.place(key=OTHER_KEY, acct=short))[0])
        self.sim.advance_clock(120)
        self.assert_error(await self.place(key=OTHER_KEY, acct=short), 1022)

    async def test_time_window(self) -> None:
        now = self.sim.now_ms()
        self.assert_error(await self.place(time=now - 6000), 1132)  # default recvWindow 5000
        self.assertEqual(200, (await self.place(time=now - 6000, recv_window=10000))[0])
        self.assert_error(await self.place(time=now + 60_000), 1132)  # too far in the future (guess)
        self.assert_error(await self.place(recv_window=0), 1131)
        self.sim.clock_offset_ms = -20_000  # server clock behind the client: skew beyond recvWindow
        self.assert_error(await self.place(time=now), 1132)

    async def test_bad_symbol_decimals_type_tif_tpsl(self) -> None:
        self.assert_error(await self.place(symbol="DOGE-PERP"), 1121)
        self.assert_error(await self.place(size="0.00001"), 1111)
        self.assert_error(await self.place(size="abc"), 1111)
        self.assert_error(await self.place(size="-1"), 1111)
        self.assert_error(await self.place(limit_price="70000.05"), 1111)
        self.assert_error(await self.place(symbol="kBONK-PERP", size="1.5", limit_price="0.030000"), 1111)
        self.assert_error(await self.place(order_type="STOP_LOSS"), 1116)
        self.assert_error(await self.place(time_in_force="GTC"), 1133)  # only LIMIT accepts timeInForce
        self.assert_error(await self.place(order_type="LIMIT", limit_price="60000.0", time_in_force="IOC"), 1133)
        self.assert_error(await self.place(tp_price="80000.0"), 1145)  # TP/SL only on LIMIT
        self.assert_error(await self.place(order_type="LIMIT", limit_price="60000.0", tp_price="59000.0"), 1145)
        self.assert_error(await self.place(order_type="LIMIT", limit_price="60000.0", sl_price="61000.0"), 1145)
        self.assert_error(await self.place(order_type="LIMIT", limit_price="60000.0", tp_price="61000.05"), 1111)

    async def test_duplicate_nonce(self) -> None:
        await self.place_ok(nonce=7)
        self.assert_error(await self.place(nonce=7, size="0.0200"), 3015)
        self.assert_error(await self.cancel("0x" + "00" * 32), 3017)

    async def test_halted_market(self) -> None:
        self.sim.faults.set(halted_symbols={"AAPL-USD-PERP"})
        self.assert_error(await self.place(symbol="AAPL-USD-PERP", size="1.00", limit_price="250.00"), 1148)

    async def test_schema_422(self) -> None:
        body = order_body(SIGNING_KEY, time=self.sim.now_ms(), nonce=self.nonce())
        del body["order"]["limitPrice"]
        status, result = await self.call("POST", "/orders", body=body)
        self.assertEqual((422, "missing", ["body", "order", "limitPrice"]),
                         (status, result["detail"][0]["type"], result["detail"][0]["loc"]))
        body = order_body(SIGNING_KEY, time=self.sim.now_ms(), nonce=self.nonce())
        body["order"]["size"] = 0.01
        status, result = await self.call("POST", "/orders", body=body)
        self.assertEqual((422, "string_type"), (status, result["detail"][0]["type"]))
        async with self.session.post(self.sim.rest_url + "/orders", data=b"{nope", headers=self.headers()) as resp:
            self.assertEqual(422, resp.status)
            self.assertEqual("json_invalid", (await resp.json())["detail"][0]["type"])


class EngineTests(SimTestCase):
    async def test_market_price_check_and_margin(self) -> None:
        rejected = await self.place_ok(limit_price="60000.0")  # buy capped below the ask
        self.assertEqual(("REJECTED", 3001), (self.order(rejected)["status"], self.order(rejected)["code"]))
        too_big = await self.place_ok(size="2.0000", limit_price="80000.0")  # 130k notional at 10x > 10k USDC
        self.assertEqual(("REJECTED", 3002), (self.order(too_big)["status"], self.order(too_big)["code"]))
        ok = await self.place_ok(size="1.5000", limit_price="80000.0")  # 97.5k notional, 9.75k margin
        self.assertEqual("FILLED", self.order(ok)["status"])
        status, account = await self.call("GET", "/account")
        self.assertEqual("1.5000", account["positions"][0]["size"])

    async def test_reduce_only(self) -> None:
        first = await self.place_ok(reduce_only=True)
        self.assertEqual(3018, self.order(first)["code"])
        await self.place_ok(size="0.0100")
        self.assertEqual(3018, self.order(await self.place_ok(reduce_only=True))["code"])  # buy increases a long
        exceed = await self.place_ok(is_buy=False, size="0.0200", limit_price="60000.0", reduce_only=True)
        self.assertEqual(("REJECTED", 3019), (self.order(exceed)["status"], self.order(exceed)["code"]))
        close = await self.place_ok(is_buy=False, size="0.0100", limit_price="60000.0", reduce_only=True)
        self.assertEqual("FILLED", self.order(close)["status"])
        self.assertEqual([], (await self.call("GET", "/account"))[1]["positions"])

    async def test_pnl_fees_and_balance_invariant(self) -> None:
        start = Decimal((await self.call("GET", "/account"))[1]["collateral"])
        buy = self.order(await self.place_ok(size="0.1000"))
        self.sim.set_index_price("BTC-PERP", Decimal("66000"))
        sell = self.order(await self.place_ok(is_buy=False, size="0.1000", limit_price="60000.0"))
        price_in, price_out = Decimal(buy["lastFilledPrice"]), Decimal(sell["lastFilledPrice"])
        self.assertGreater(price_in, Decimal("65000"))  # ask above mark
        self.assertLess(price_out, Decimal("66000") * Decimal("1.001"))
        taker_fee = (Decimal("0.1") * price_out * Decimal("0.0001")).quantize(Decimal("0.000001"))
        pnl = Decimal("0.1") * (price_out - price_in)
        self.assertEqual(pnl + Decimal(sell["settledFunding"]) - taker_fee, Decimal(sell["realizedPnl"]))
        self.assertGreater(Decimal(sell["fees"]), taker_fee)  # fees include the premium
        end = Decimal((await self.call("GET", "/account"))[1]["collateral"])
        self.assertEqual(end - start, Decimal(buy["realizedPnl"]) + Decimal(sell["realizedPnl"]))

    async def test_funding_settles_on_fill(self) -> None:
        buy = self.order(await self.place_ok(size="1.0000", limit_price="80000.0"))
        rate = Decimal((await self.call("GET", "/ticker/latest"))[1]["tickers"][0]["oneHrFundingRate"])
        self.sim.advance_clock(3600)
        position = (await self.call("GET", "/account"))[1]["positions"][0]
        expected = -rate * Decimal("65000")  # one hour, long pays a positive rate
        price_pnl = Decimal(position["markPrice"]) - Decimal(buy["lastFilledPrice"])
        self.assertAlmostEqual(float(expected), float(Decimal(position["unrealizedPnl"]) - price_pnl), delta=0.05)
        sell = self.order(await self.place_ok(is_buy=False, size="0.5000", limit_price="60000.0"))
        self.assertAlmostEqual(float(expected), float(Decimal(sell["settledFunding"])), delta=0.05)
        position = (await self.call("GET", "/account"))[1]["positions"][0]
        self.assertAlmostEqual(float(expected), float(Decimal(position["settledFunding"])), delta=0.05)

    async def test_limit_rests_then_fills_when_index_crosses(self) -> None:
        ws = await self.private_ws()
        order_id = (await self.place(order_type="LIMIT", limit_price="64000.0", time_in_force="GTC"))[1]["id"]
        new = await self.next_order_event(ws)
        self.assertEqual({"id": order_id, "symbol": "BTC-PERP", "isBuy": True, "orderType": "LIMIT",
                          "limitPrice": "64000.0", "size": "0.0100", "reduceOnly": False, "initMarginRatio": "0.1000",
                          "status": "NEW", "postTime": new["postTime"], "nonce": new["nonce"]}, new)
        self.sim.step()
        self.assertEqual("NEW", self.order(order_id)["status"])
        account = (await self.call("GET", "/account"))[1]
        self.assertEqual("64.000000", account["openOrderMargin"])  # 0.01 x 64000 x 0.1
        self.assertEqual("64.000000", account["balances"][0]["locked"])
        self.sim.set_index_price("BTC-PERP", Decimal("63900"))
        filled = await self.next_order_event(ws)
        self.assertEqual(("FILLED", order_id), (filled["status"], filled["id"]))
        self.assertLessEqual(Decimal(filled["lastFilledPrice"]), Decimal("64000"))
        for key in ("lastFilledSize", "lastFilledTime", "avgFilledPrice", "cumFunding", "fees"):
            self.assertIn(key, filled)

    async def test_limit_sell_and_fok(self) -> None:
        sell = await self.place_ok(order_type="LIMIT", is_buy=False, limit_price="66000.0")
        fok = await self.place_ok(order_type="LIMIT", limit_price="64000.0", time_in_force="FOK")
        self.assertEqual("CANCELLED", self.order(fok)["status"])
        crossing = await self.place_ok(order_type="LIMIT", limit_price="65100.0", time_in_force="FOK")
        self.assertEqual("FILLED", self.order(crossing)["status"])  # marketable limit fills at once
        self.sim.set_index_price("BTC-PERP", Decimal("66100"))
        self.assertEqual("FILLED", self.order(sell)["status"])
        self.assertGreaterEqual(Decimal(self.order(sell)["lastFilledPrice"]), Decimal("66000"))

    async def test_cancel(self) -> None:
        ws = await self.private_ws()
        order_id = await self.place_ok(order_type="LIMIT", limit_price="60000.0")
        await self.next_order_event(ws)
        self.assertEqual((200, {"id": order_id}), await self.cancel(order_id))
        self.assertEqual({"id": order_id, "status": "CANCELLED", "postTime": self.order(order_id)["postTime"],
                          "nonce": self.order(order_id)["nonce"]}, await self.next_order_event(ws))
        self.assertEqual((400, {"code": 3017, "msg": "Order already processed or cancelled"}),
                         await self.cancel(order_id))
        status, body = await self.call("POST", "/orders/cancel", body={"order": {}, "signature": "0x"})
        self.assertEqual((422, ["body", "order", "time"]), (status, body["detail"][0]["loc"]))
        filled = await self.place_ok()
        self.assert_error(await self.cancel(filled), 3017)

    async def test_rejected_event_shape(self) -> None:
        ws = await self.private_ws()
        order_id = await self.place_ok(limit_price="60000.0")
        self.assertEqual("NEW", (await self.next_order_event(ws))["status"])
        rejected = await self.next_order_event(ws)
        self.assertEqual({"id": order_id, "status": "REJECTED", "code": 3001, "postTime": rejected["postTime"],
                          "nonce": rejected["nonce"]}, rejected)

    async def test_tp_sl_children(self) -> None:
        ws = await self.private_ws()
        parent = await self.place_ok(order_type="LIMIT", limit_price="64000.0", tp_price="67000.0", sl_price="62000.0")
        events = [await self.next_order_event(ws) for _ in range(3)]
        self.assertEqual(["LIMIT", "TAKE_PROFIT", "STOP_LOSS"], [e["orderType"] for e in events])
        self.assertEqual([False, True, True], [e["reduceOnly"] for e in events])
        self.assertEqual([events[0]["nonce"] + i for i in range(3)], [e["nonce"] for e in events])
        row = self.order(parent)
        self.assertEqual(("67000.0", "62000.0"), (row["tpPrice"], row["slPrice"]))
        self.sim.set_index_price("BTC-PERP", Decimal("67500"))  # TP not armed before the parent fills
        self.assertEqual("NEW", self.order(events[1]["id"])["status"])
        self.sim.set_index_price("BTC-PERP", Decimal("63500"))
        self.assertEqual("FILLED", (await self.next_order_event(ws))["status"])
        self.sim.set_index_price("BTC-PERP", Decimal("67100"))
        tp = await self.next_order_event(ws)
        self.assertEqual(("FILLED", events[1]["id"], False), (tp["status"], tp["id"], tp["isBuy"]))
        self.assertEqual({"id": events[2]["id"], "status": "CANCELLED"},
                         {k: v for k, v in (await self.next_order_event(ws)).items() if k in ("id", "status")})
        self.assertEqual([], (await self.call("GET", "/account"))[1]["positions"])

    async def test_stop_loss_and_parent_cancel_cascade(self) -> None:
        parent = await self.place_ok(order_type="LIMIT", is_buy=False, limit_price="66000.0", sl_price="67000.0")
        child = next(o for o in self.sim.orders() if o["orderType"] == "STOP_LOSS")
        self.assertTrue(child["isBuy"])
        self.sim.set_index_price("BTC-PERP", Decimal("66200"))
        self.assertEqual("FILLED", self.order(parent)["status"])
        self.sim.set_index_price("BTC-PERP", Decimal("67050"))
        self.assertEqual("FILLED", self.order(child["id"])["status"])
        other = await self.place_ok(order_type="LIMIT", limit_price="60000.0", tp_price="61000.0")
        self.assertEqual((200, {"id": other}), await self.cancel(other))
        self.assertEqual(["CANCELLED", "CANCELLED"], [o["status"] for o in self.sim.orders()
                                                      if o["id"] == other or o["orderType"] == "TAKE_PROFIT"])
        bad_sig = order_body(SIGNING_KEY, time=self.sim.now_ms(), nonce=self.nonce(), order_type="LIMIT",
                             limit_price="60000.0", tp_price="61000.0")
        bad_sig["order"]["tpSignature"] = bad_sig["signature"]
        self.assert_error(await self.call("POST", "/orders", body=bad_sig), 1022)

    async def test_get_orders_filters(self) -> None:
        ids = [await self.place_ok(order_type="LIMIT", limit_price=f"6000{i}.0") for i in range(3)]
        market = await self.place_ok(symbol="ETH-PERP", size="0.100", limit_price="4000.00")
        status, rows = await self.call("GET", "/orders")
        self.assertEqual(200, status)
        self.assertEqual(4, len(rows))
        self.assertEqual({"id", "nonce", "symbol", "isBuy", "orderType", "limitPrice", "markPrice", "size", "status",
                          "reduceOnly", "initMarginRatio", "code", "lastFilledSize", "lastFilledPrice",
                          "lastFilledTime", "avgFilledPrice", "settledFunding", "fees", "realizedPnl", "postTime",
                          "tpPrice", "slPrice"}, set(rows[0]))
        get = lambda **params: self.call("GET", "/orders", params=params)  # noqa: E731
        self.assertEqual(set(ids[:2]), {r["id"] for r in (await get(id=",".join(ids[:2])))[1]})
        nonce = self.order(ids[1])["nonce"]
        self.assertEqual([ids[1]], [r["id"] for r in (await get(nonce=nonce))[1]])
        self.assertEqual([market], [r["id"] for r in (await get(symbol="ETH-PERP"))[1]])
        self.assertEqual(3, len((await get(orderType="LIMIT"))[1]))
        self.assertEqual([market], [r["id"] for r in (await get(status="FILLED"))[1]])
        self.assertEqual(3, len((await get(status="NEW"))[1]))
        self.assert_error(await get(status="NEW,FILLED"), 1130)
        self.assert_error(await get(status="OPEN"), 1130)
        self.assertEqual(2, len((await get(limit=2))[1]))
        post_times = sorted(r["postTime"] for r in rows)
        self.assertEqual([], (await get(endTime=post_times[0] - 1))[1])
        self.assertEqual(4, len((await get(startTime=post_times[0], time=self.sim.now_ms()))[1]))


class OrderListingTests(SimTestCase):
    """GET /orders as a start-up listing of open orders (docs/vest-protocol.md §3.8, §7.9)."""

    async def get(self, **params: object) -> list:
        status, rows = await self.call("GET", "/orders", params={k: str(v) for k, v in params.items()})
        self.assertEqual(200, status, rows)
        return rows

    async def test_newest_first_with_limit_even_within_one_millisecond(self) -> None:
        frozen = self.sim.now_ms()
        self.sim.engine.clock = lambda: frozen  # every order gets the same postTime
        ids = [await self.place_ok(order_type="LIMIT", limit_price=f"6000{i}.0") for i in range(4)]
        filled = await self.place_ok()
        self.assertEqual([filled] + ids[::-1], [r["id"] for r in await self.get()])
        self.assertEqual(ids[:1:-1], [r["id"] for r in await self.get(status="NEW", limit=2)])
        nonce = self.order(ids[1])["nonce"]
        self.assertEqual([ids[1]], [r["id"] for r in await self.get(status="NEW", limit=1, nonce=nonce)])

    async def test_open_orders_by_status_time_window_and_combined_filters(self) -> None:
        self.sim.faults.set(partial_fill_chunks=2)
        resting = await self.place_ok(order_type="LIMIT", limit_price="60000.0")
        self.sim.clock_offset_ms += 10
        partial = await self.place_ok()
        self.sim.clock_offset_ms += 10
        eth = await self.place_ok(symbol="ETH-PERP", size="0.100", order_type="LIMIT", limit_price="3000.00")
        times = {order_id: self.order(order_id)["postTime"] for order_id in (resting, partial, eth)}
        self.assertEqual([eth, resting], [r["id"] for r in await self.get(status="NEW")])
        self.assertEqual([partial], [r["id"] for r in await self.get(status="PARTIALLY_FILLED")])
        self.assertEqual([resting], [r["id"] for r in await self.get(status="NEW", symbol="BTC-PERP")])
        self.assertEqual([eth], [r["id"] for r in await self.get(status="NEW", orderType="LIMIT",
                                                                 startTime=times[partial])])
        self.assertEqual([partial, resting], [r["id"] for r in await self.get(endTime=times[partial])])
        self.assertEqual([partial], [r["id"] for r in await self.get(startTime=times[partial],
                                                                     endTime=times[partial])])
        self.assertEqual([resting], [r["id"] for r in await self.get(id=f"{resting},0x{'0' * 64}")])
        self.assertEqual([], await self.get(orderType="STOP_LOSS"))
        self.assertEqual([], await self.get(nonce=1))
        self.assert_error(await self.call("GET", "/orders", params={"limit": "1001"}), 1130)
        self.assert_error(await self.call("GET", "/orders", params={"limit": "0"}), 1130)
        self.assert_error(await self.call("GET", "/orders", params={"symbol": "DOGE-PERP"}), 1121)
        status, body = await self.call("GET", "/orders", params={"nonce": "abc"})
        self.assertEqual((422, ["query", "nonce"]), (status, body["detail"][0]["loc"]))
        self.sim.step()
        self.assertEqual([partial], [r["id"] for r in await self.get(status="FILLED")])
