"""Orders the bot did not place: a second client on the same account (`VestSimulator.place_order`) and the
venue's liquidations (`VestSimulator.liquidate`), over loopback sockets and the control routes.

docs/vest-protocol.md §3.3, §3.8, §4.8, §5.4, §7.12."""
from __future__ import annotations

from decimal import Decimal
from typing import Any, Tuple

from vest_simulator import VestError
from vest_simulator.engine import EXTERNAL_NONCE_BASE

from .base import SimTestCase


class SecondClientTests(SimTestCase):
    async def admin(self, method: str, route: str, body: Any = None, **params: Any) -> Tuple[int, Any]:
        url = f"http://{self.sim.host}:{self.sim.port}/_sim/{route}"
        async with self.session.request(method, url, json=body, params=params or None) as resp:
            return resp.status, await resp.json()

    async def test_processed_like_a_signed_order(self) -> None:
        ws = await self.private_ws()
        await self.place_ok()
        await self.next_order_event(ws)
        await self.next_order_event(ws)
        last_nonce = (await self.call("GET", "/account/nonce", params={"time": self.sim.now_ms()}))[1]["lastNonce"]
        order_id = self.sim.place_order(self.acct.primary_address, "BTC-PERP", True, "0.0200", order_type="MARKET")
        new = await self.next_order_event(ws)
        self.assertEqual((order_id, "NEW", "MARKET", "0.0200"),
                         (new["id"], new["status"], new["orderType"], new["size"]))
        self.assertRegex(order_id, r"^0x[0-9a-f]{64}$")
        self.assertGreaterEqual(new["nonce"], EXTERNAL_NONCE_BASE)
        filled = await self.next_order_event(ws)  # executed on the next loop iteration, like a signed order
        self.assertEqual(("FILLED", "0.0200"), (filled["status"], filled["lastFilledSize"]))
        self.assertEqual("0.0300", (await self.call("GET", "/account"))[1]["positions"][0]["size"])
        self.assertEqual(last_nonce, (await self.call("GET", "/account/nonce",
                                                      params={"time": self.sim.now_ms()}))[1]["lastNonce"])
        [row] = (await self.call("GET", "/orders", params={"nonce": new["nonce"]}))[1]
        self.assertEqual((order_id, "FILLED"), (row["id"], row["status"]))
        self.assertEqual(order_id, self.sim.fills(self.acct.primary_address)[-1].order_id)
        self.assertTrue(self.order(order_id)["external"])
        self.assertEqual(200, (await self.place())[0])  # the bot's nonces are unaffected

    async def test_limit_rests_fills_and_can_be_cancelled_by_the_bot(self) -> None:
        first = self.sim.place_order(self.acct.primary_address, "BTC-PERP", False, "0.0100", limit_price="66000.0")
        second = self.sim.place_order(self.acct.primary_address, "BTC-PERP", True, Decimal("0.0100"),
                                      limit_price=Decimal("60000.0"))
        self.sim.step()
        self.assertEqual(("NEW", "NEW"), (self.order(first)["status"], self.order(second)["status"]))
        self.assertNotEqual(self.order(first)["nonce"], self.order(second)["nonce"])
        self.sim.set_index_price("BTC-PERP", Decimal("66100"))
        self.assertEqual("FILLED", self.order(first)["status"])
        self.assertEqual({"BTC-PERP": Decimal("-0.01")}, self.sim.positions(self.acct.primary_address))
        self.assertEqual((200, {"id": second}), await self.cancel(second))

    async def test_refusals(self) -> None:
        address = self.acct.primary_address
        for kwargs, code in (({"symbol": "DOGE-PERP"}, 1121), ({"size": "0.00001"}, 1111),
                             ({"order_type": "STOP_LOSS"}, 1116), ({"limit_price": None}, 1130)):
            args = {"symbol": "BTC-PERP", "is_buy": True, "size": "0.0100", "limit_price": "60000.0", **kwargs}
            with self.assertRaises(VestError, msg=kwargs) as caught:
                self.sim.place_order(address, **args)
            self.assertEqual(code, caught.exception.code)
        order_id = self.sim.place_order(address, "BTC-PERP", True, "0.0100", limit_price="60000.0", nonce=42)
        self.assertEqual(42, self.order(order_id)["nonce"])
        with self.assertRaises(VestError) as caught:
            self.sim.place_order(address, "BTC-PERP", True, "0.0100", limit_price="60000.0", nonce=42)
        self.assertEqual(3015, caught.exception.code)
        self.assert_error(await self.place(nonce=42), 3015)
        self.sim.faults.set(halted_symbols=["BTC-PERP"])
        with self.assertRaises(VestError):
            self.sim.place_order(address, "BTC-PERP", True, "0.0100", limit_price="60000.0")
        with self.assertRaises(KeyError):
            self.sim.place_order("0x0000000000000000000000000000000000000001", "BTC-PERP", True, "0.0100")

    async def test_control_route(self) -> None:
        status, body = await self.admin("POST", "orders", {"address": self.acct.primary_address, "symbol": "ETH-PERP",
                                                           "isBuy": False, "size": "0.100", "orderType": "MARKET"})
        self.assertEqual(200, status)
        await self.settle()
        self.assertEqual("FILLED", self.order(body["id"])["status"])
        self.assertEqual({"ETH-PERP": "-0.100"}, (await self.admin("GET", "positions",
                                                                   address=self.acct.primary_address))[1])
        status, body = await self.admin("POST", "orders", {"address": self.acct.primary_address, "symbol": "NOPE",
                                                           "isBuy": True, "size": "1", "limitPrice": "1"})
        self.assertEqual((400, 1121), (status, body["code"]))


class LiquidationTests(SimTestCase):
    async def test_closes_the_position_at_the_mark(self) -> None:
        ws = await self.private_ws()
        await self.place_ok(size="0.0500")
        await self.next_order_event(ws)
        await self.next_order_event(ws)
        self.sim.set_index_price("BTC-PERP", Decimal("60000"))
        balance = Decimal((await self.call("GET", "/account"))[1]["collateral"])
        mark = self.sim.market.state("BTC-PERP").mark
        order_id = self.sim.liquidate(self.acct.primary_address, "BTC-PERP", penalty=Decimal("2"))
        event = await self.next_order_event(ws)
        self.assertEqual({"id": order_id, "symbol": "BTC-PERP", "isBuy": False, "orderType": "LIQUIDATION",
                          "limitPrice": f"{mark:f}", "size": "0.0500", "reduceOnly": True,
                          "initMarginRatio": "0.1000", "status": "FILLED", "postTime": event["postTime"],
                          "nonce": event["nonce"], "lastFilledSize": "0.0500", "lastFilledPrice": f"{mark:f}",
                          "lastFilledTime": event["lastFilledTime"], "avgFilledPrice": f"{mark:f}",
                          "cumFunding": event["cumFunding"], "fees": event["fees"]}, event)
        fill = self.sim.fills(self.acct.primary_address)[-1]
        self.assertEqual((order_id, Decimal("0.0500"), mark), (fill.order_id, fill.size, fill.price))
        self.assertEqual(Decimal(event["fees"]), fill.fee)
        self.assertEqual(usdc_round(Decimal("0.05") * mark * Decimal("0.0001")) + 2, fill.fee)  # taker fee + penalty
        account = (await self.call("GET", "/account"))[1]
        self.assertEqual([], account["positions"])
        self.assertEqual(balance + fill.realized_pnl, Decimal(account["collateral"]))
        self.assertLess(fill.realized_pnl, -200)  # bought near 65000, closed near 60000
        [row] = (await self.call("GET", "/orders", params={"orderType": "LIQUIDATION"}))[1]
        self.assertEqual((order_id, "FILLED", fill.time), (row["id"], row["status"], row["lastFilledTime"]))
        with self.assertRaises(ValueError):
            self.sim.liquidate(self.acct.primary_address, "BTC-PERP")

    async def test_short_position_and_open_orders_rejected_with_3008(self) -> None:
        ws = await self.private_ws()
        await self.place_ok(is_buy=False, limit_price="60000.0")
        resting = await self.place_ok(order_type="LIMIT", limit_price="60000.0", tp_price="61000.0")
        other_market = await self.place_ok(symbol="ETH-PERP", size="0.100", order_type="LIMIT",
                                           limit_price="3000.00")
        for _ in range(5):
            await self.next_order_event(ws)
        order_id = self.sim.liquidate(self.acct.primary_address, "BTC-PERP", reject_open_orders=True)
        events = [await self.next_order_event(ws) for _ in range(3)]
        # the resting LIMIT is rejected, its unarmed TP child cancelled with it (as on any end of a parent)
        self.assertEqual([(resting, "REJECTED", 3008), ("TAKE_PROFIT", "CANCELLED"), (order_id, "FILLED", True)],
                         [(events[0]["id"], events[0]["status"], events[0]["code"]),
                          (self.order(events[1]["id"])["orderType"], events[1]["status"]),
                          (events[2]["id"], events[2]["status"], events[2]["isBuy"])])
        self.assertEqual("NEW", self.order(other_market)["status"])
        self.assertEqual({}, self.sim.positions(self.acct.primary_address))

    async def test_control_route(self) -> None:
        url = f"http://{self.sim.host}:{self.sim.port}/_sim/liquidate"
        body = {"address": self.acct.primary_address, "symbol": "BTC-PERP"}
        async with self.session.post(url, json=body) as resp:
            self.assertEqual(400, resp.status)  # no position
        await self.place_ok()
        async with self.session.post(url, json={**body, "penalty": "1.5"}) as resp:
            order_id = (await resp.json())["id"]
        self.assertEqual(("LIQUIDATION", "FILLED"), (self.order(order_id)["orderType"], self.order(order_id)["status"]))


def usdc_round(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.000001"))
