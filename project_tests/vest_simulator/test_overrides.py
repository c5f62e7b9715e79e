"""`zero_for_null`, status overrides (unlisted states such as EXPIRED) and generic field overrides of `GET /orders`
rows and ORDER events, over loopback sockets and the control routes.

docs/vest-protocol.md §3.8, §5.4, §7.12."""
from __future__ import annotations

from decimal import Decimal
from typing import Any, Tuple

from .base import SimTestCase

NULL_FIELDS = ("lastFilledSize", "lastFilledPrice", "lastFilledTime", "avgFilledPrice", "settledFunding",
               "realizedPnl")


class ZeroForNullTests(SimTestCase):
    async def test_rows_and_events_of_orders_without_fills(self) -> None:
        ws = await self.private_ws()
        resting = await self.place_ok(order_type="LIMIT", limit_price="60000.0")
        default_new = await self.next_order_event(ws)
        self.assertFalse(set(NULL_FIELDS) & set(default_new))
        [row] = (await self.call("GET", "/orders"))[1]
        self.assertEqual({None}, {row[k] for k in NULL_FIELDS})
        self.sim.faults.set(zero_for_null=True)
        [row] = (await self.call("GET", "/orders"))[1]
        self.assertEqual(("0.0000", "0.0", 0, "0.0", "0.000000", "0.000000"), tuple(row[k] for k in NULL_FIELDS))
        self.assertEqual("0.000000", row["fees"])
        eth = await self.place_ok(symbol="ETH-PERP", size="0.100", order_type="LIMIT", limit_price="3000.00")
        new = await self.next_order_event(ws)
        self.assertEqual((eth, "NEW"), (new["id"], new["status"]))
        self.assertEqual(("0.000", "0.00", 0, "0.00", "0.000000", "0.000000"),
                         tuple(new[k] for k in ("lastFilledSize", "lastFilledPrice", "lastFilledTime",
                                                "avgFilledPrice", "cumFunding", "fees")))
        self.assertEqual((200, {"id": resting}), await self.cancel(resting))
        cancelled = await self.next_order_event(ws)
        self.assertEqual({"id", "status", "postTime", "nonce"}, set(cancelled))  # the documented partial shape
        [row] = (await self.call("GET", "/orders", params={"id": resting}))[1]
        self.assertEqual(("CANCELLED", "0.0000", 0), (row["status"], row["lastFilledSize"], row["lastFilledTime"]))
        filled = await self.place_ok()
        [row] = (await self.call("GET", "/orders", params={"id": filled}))[1]
        self.assertEqual("0.0100", row["lastFilledSize"])  # executions are unaffected
        self.assertIsNone(self.order(resting)["lastFilledSize"])  # venue truth keeps the nulls


class StatusOverrideTests(SimTestCase):
    async def test_rows_and_later_events_report_the_override(self) -> None:
        ws = await self.private_ws()
        order_id = await self.place_ok(order_type="LIMIT", limit_price="60000.0")
        await self.next_order_event(ws)
        self.sim.override_order_status(order_id, "EXPIRED")
        [row] = (await self.call("GET", "/orders"))[1]
        self.assertEqual("EXPIRED", row["status"])
        self.assertEqual([], (await self.call("GET", "/orders", params={"status": "NEW"}))[1])
        self.assert_error(await self.call("GET", "/orders", params={"status": "EXPIRED"}), 1130)  # not in the enum
        self.assertEqual("NEW", self.order(order_id)["status"])  # the venue's truth
        self.assertEqual("EXPIRED", self.sim.orders(self.acct.primary_address, reported=True)[0]["status"])
        self.assertEqual((200, {"id": order_id}), await self.cancel(order_id))  # the order itself is still live
        self.assertEqual({"id": order_id, "status": "EXPIRED"},
                         {k: v for k, v in (await self.next_order_event(ws)).items() if k in ("id", "status")})
        self.sim.clear_order_status_override(order_id)
        self.assertEqual("CANCELLED", (await self.call("GET", "/orders"))[1][0]["status"])

    async def test_emit_pushes_an_event_now(self) -> None:
        ws = await self.private_ws()
        order_id = await self.place_ok(order_type="LIMIT", limit_price="60000.0")
        await self.next_order_event(ws)
        self.sim.override_order_status(order_id, "TRIGGERED", emit=True)
        event = await self.next_order_event(ws)
        self.assertEqual(("TRIGGERED", "LIMIT", "60000.0"), (event["status"], event["orderType"], event["limitPrice"]))


class FieldOverrideTests(SimTestCase):
    async def test_a_row_with_a_fill_larger_than_its_size(self) -> None:
        ws = await self.private_ws()
        order_id = await self.place_ok()
        await self.next_order_event(ws)
        filled = await self.next_order_event(ws)
        self.sim.override_order_fields(order_id, lastFilledSize="5.0000", extra="x")
        [row] = (await self.call("GET", "/orders", params={"id": order_id}))[1]
        self.assertEqual(("0.0100", "5.0000", "x"), (row["size"], row["lastFilledSize"], row["extra"]))
        self.assertEqual("0.0100", self.order(order_id)["lastFilledSize"])
        self.sim.engine._emit_order(self.sim.engine.find_order(order_id))
        self.assertEqual(filled["lastFilledSize"], (await self.next_order_event(ws))["lastFilledSize"])
        self.sim.override_order_fields(order_id, events=True, emit=True, lastFilledSize="7.0000", status="FILLED")
        self.assertEqual("7.0000", (await self.next_order_event(ws))["lastFilledSize"])
        [row] = (await self.call("GET", "/orders", params={"id": order_id}))[1]
        self.assertNotIn("extra", row)  # each call replaces the earlier overrides
        self.sim.clear_order_field_overrides(order_id)
        [row] = (await self.call("GET", "/orders", params={"id": order_id}))[1]
        self.assertEqual("0.0100", row["lastFilledSize"])

    async def test_a_status_field_override_drives_the_status_filter(self) -> None:
        order_id = await self.place_ok(order_type="LIMIT", limit_price="60000.0")
        self.sim.override_order_fields(order_id, status="FILLED")
        self.assertEqual([order_id], [r["id"] for r in (await self.call("GET", "/orders",
                                                                        params={"status": "FILLED"}))[1]])
        self.assertEqual([], (await self.call("GET", "/orders", params={"status": "NEW"}))[1])

    async def test_unknown_order(self) -> None:
        with self.assertRaises(KeyError):
            self.sim.override_order_status("0x00", "EXPIRED")


class OverrideControlRouteTests(SimTestCase):
    async def admin(self, method: str, route: str, body: Any = None, **params: Any) -> Tuple[int, Any]:
        url = f"http://{self.sim.host}:{self.sim.port}/_sim/{route}"
        async with self.session.request(method, url, json=body, params=params or None) as resp:
            return resp.status, await resp.json()

    async def test_status_and_fields_routes(self) -> None:
        order_id = await self.place_ok(order_type="LIMIT", limit_price="60000.0")
        status, row = await self.admin("POST", "orders/status", {"id": order_id, "status": "EXPIRED"})
        self.assertEqual((200, "EXPIRED"), (status, row["status"]))
        status, rows = await self.admin("GET", "orders", address=self.acct.primary_address, reported="1")
        self.assertEqual("EXPIRED", rows[0]["status"])
        self.assertEqual("NEW", (await self.admin("GET", "orders", address=self.acct.primary_address))[1][0]["status"])
        self.assertEqual("NEW", (await self.admin("POST", "orders/status", {"id": order_id, "status": None}))[1]
                         ["status"])
        fields = {"events": 1, "size": "9.0000"}  # any name, even one of the route's own options
        status, row = await self.admin("POST", "orders/fields", {"id": order_id, "fields": fields})
        self.assertEqual((200, 1, "9.0000"), (status, row["events"], row["size"]))
        self.assertEqual("0.0100", (await self.admin("POST", "orders/fields", {"id": order_id}))[1]["size"])
        self.assertEqual(400, (await self.admin("POST", "orders/status", {"id": "0x1", "status": "X"}))[0])
        self.sim.faults.set(zero_for_null=True)
        self.assertEqual("0.0000", (await self.admin("POST", "orders/fields", {"id": order_id}))[1]["lastFilledSize"])
        self.assertEqual(Decimal("0"), Decimal(self.sim.orders(self.acct.primary_address)[0]["executedSize"]))
