"""Partial fills (`partial_fill_chunks`) and the `last_filled_reading` switch: on the pure engine with an injected
clock, and over loopback sockets (GET /orders rows, private ORDER events, cancel of a partially filled order).

docs/vest-protocol.md §3.8, §5.4, §7.5, §7.12."""
from __future__ import annotations

import unittest
from decimal import Decimal
from typing import List, Tuple

from vest_simulator import Faults
from vest_simulator.engine import Engine
from vest_simulator.models import Order
from vest_simulator.schema import CancelRequest, OrderRequest
from vest_simulator.util import fmt, fmt_usdc

from .base import SimTestCase
from .signing import PRIMARY_KEY, SIGNING_KEY, cancel_body, order_body
from .test_market_engine import START, Clock, make_market

HOUR_MS = 3_600_000


class PartialFillEngineTests(unittest.TestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.market = make_market(self.clock)
        self.faults = Faults()
        self.engine = Engine(self.market, self.clock, seed=1, faults=self.faults)
        self.events: List[Tuple[str, dict]] = []
        self.engine.on_private = lambda primary, event, args: self.events.append((event, args))
        self.acct, *_ = self.engine.create_account(SIGNING_KEY, PRIMARY_KEY, Decimal("100000"), 0, None)
        self.nonce = 0

    def submit(self, is_buy: bool = True, size: str = "0.0100", order_type: str = "MARKET", limit: str = "",
               **extra) -> Order:
        self.nonce += 1
        limit = limit or ("90000.0" if is_buy else "40000.0")
        body = order_body(SIGNING_KEY, time=self.clock.now, nonce=self.nonce, is_buy=is_buy, size=size,
                          order_type=order_type, limit_price=limit, **extra)
        order_id = self.engine.place_order(self.acct, OrderRequest.parse(body))
        self.engine.process_pending()
        return self.acct.orders[order_id]

    def order_events(self, order: Order) -> List[dict]:
        return [args for event, args in self.events if event == "ORDER" and args["id"] == order.id]

    def advance(self, ms: int) -> None:
        self.clock.now += ms
        self.market.accrue()

    def test_equal_chunks_one_per_pass_with_cumulative_fees_funding_and_pnl(self) -> None:
        self.submit(size="0.2000")  # an existing long, so that later chunks settle funding
        self.advance(HOUR_MS)
        self.faults.set(partial_fill_chunks=3)
        balance = self.acct.balance
        order = self.submit(size="0.0100")
        self.assertEqual(("PARTIALLY_FILLED", Decimal("0.0033")), (order.status, order.filled_size))
        self.assertEqual(Decimal("0.2033"), self.acct.positions["BTC-PERP"].size)
        self.engine.check_triggers([])  # a pass over no symbol leaves it alone
        self.assertEqual(1, order.fill_count)
        self.advance(HOUR_MS)
        self.engine.check_triggers()
        self.assertEqual(("PARTIALLY_FILLED", Decimal("0.0066")), (order.status, order.filled_size))
        self.advance(HOUR_MS)
        self.engine.check_triggers()
        self.assertEqual(("FILLED", Decimal("0.0100")), (order.status, order.filled_size))
        self.engine.check_triggers()
        fills = [f for f in self.engine.fills(self.acct) if f.order_id == order.id]
        self.assertEqual([Decimal("0.0033"), Decimal("0.0033"), Decimal("0.0034")], [f.size for f in fills])
        self.assertEqual([Decimal("0.0033"), Decimal("0.0066"), Decimal("0.0100")], [f.executed_size for f in fills])
        self.assertEqual([START + HOUR_MS, START + 2 * HOUR_MS, START + 3 * HOUR_MS], [f.time for f in fills])
        self.assertEqual(Decimal("0.2100"), self.acct.positions["BTC-PERP"].size)
        self.assertEqual(balance + sum(f.realized_pnl for f in fills), self.acct.balance)
        self.assertNotEqual(0, sum(f.settled_funding for f in fills))
        events = self.order_events(order)
        self.assertEqual(["NEW", "PARTIALLY_FILLED", "PARTIALLY_FILLED", "FILLED"], [e["status"] for e in events])
        self.assertEqual([f.time for f in fills], [e["lastFilledTime"] for e in events[1:]])
        self.assertEqual([fmt(f.size, 4) for f in fills], [e["lastFilledSize"] for e in events[1:]])
        running = [fills[:i + 1] for i in range(3)]
        self.assertEqual([fmt_usdc(sum(f.fee for f in done)) for done in running], [e["fees"] for e in events[1:]])
        self.assertEqual([fmt_usdc(sum(f.settled_funding for f in done)) for done in running],
                         [e["cumFunding"] for e in events[1:]])
        row = order.render()
        self.assertEqual((fmt_usdc(sum(f.fee for f in fills)), fmt_usdc(sum(f.settled_funding for f in fills)),
                          fmt_usdc(sum(f.realized_pnl for f in fills))),
                         (row["fees"], row["settledFunding"], row["realizedPnl"]))
        average = sum(f.size * f.price for f in fills) / Decimal("0.0100")
        self.assertEqual(fmt(average, 1), row["avgFilledPrice"])
        self.assertEqual((fmt(fills[-1].size, 4), fmt(fills[-1].price, 1)),
                         (row["lastFilledSize"], row["lastFilledPrice"]))

    def test_chunks_within_one_millisecond_get_distinct_fill_times(self) -> None:
        self.faults.set(partial_fill_chunks=4)
        order = self.submit(size="0.0100")
        for _ in range(5):
            self.engine.check_triggers()
        self.assertEqual([START, START + 1, START + 2, START + 3], [f.time for f in self.engine.fills(self.acct)])
        self.assertEqual([Decimal("0.0025")] * 4, [f.size for f in self.engine.fills(self.acct)])
        self.assertEqual(START + 3, order.last_filled_time)

    def test_orders_smaller_than_the_chunk_count_fill_one_step_at_a_time(self) -> None:
        self.faults.set(partial_fill_chunks=5)
        order = self.submit(size="0.0003")
        self.engine.check_triggers()
        self.engine.check_triggers()
        self.assertEqual("FILLED", order.status)
        self.assertEqual([Decimal("0.0001")] * 3, [f.size for f in self.engine.fills(self.acct)])

    def test_chunk_count_is_fixed_at_the_first_execution(self) -> None:
        self.faults.set(partial_fill_chunks=2)
        order = self.submit(size="0.0100")
        self.faults.set(partial_fill_chunks=10)
        self.engine.check_triggers()
        self.assertEqual(("FILLED", 2), (order.status, order.fill_count))

    def test_readings_of_last_filled_fields(self) -> None:
        self.faults.set(partial_fill_chunks=2, last_filled_reading="cumulative")
        order = self.submit(size="0.0100")
        self.engine.check_triggers()
        first, second = self.engine.fills(self.acct)
        average = fmt((first.size * first.price + second.size * second.price) / Decimal("0.0100"), 1)
        self.assertNotEqual(first.price, second.price)
        partial, filled = self.order_events(order)[1:]
        self.assertEqual(("0.0050", fmt(first.price, 1), fmt(first.price, 1)),
                         (partial["lastFilledSize"], partial["lastFilledPrice"], partial["avgFilledPrice"]))
        self.assertEqual(("0.0100", average, average),
                         (filled["lastFilledSize"], filled["lastFilledPrice"], filled["avgFilledPrice"]))
        [row] = self.engine.query_orders(self.acct)
        self.assertEqual(("0.0100", average, average, second.time),
                         (row["lastFilledSize"], row["lastFilledPrice"], row["avgFilledPrice"], row["lastFilledTime"]))
        self.faults.set(last_filled_reading="per_fill")
        [row] = self.engine.query_orders(self.acct)
        self.assertEqual(("0.0050", fmt(second.price, 1), average, second.time),
                         (row["lastFilledSize"], row["lastFilledPrice"], row["avgFilledPrice"], row["lastFilledTime"]))
        self.engine._emit_order(order)
        self.assertEqual(("0.0050", fmt(second.price, 1)),
                         (self.events[-1][1]["lastFilledSize"], self.events[-1][1]["lastFilledPrice"]))

    def test_later_chunks_of_a_limit_wait_for_their_price(self) -> None:
        self.faults.set(partial_fill_chunks=2)
        order = self.submit(order_type="LIMIT", limit="64000.0")
        self.assertEqual("NEW", order.status)
        self.market.set_index("BTC-PERP", Decimal("63900"))
        self.engine.check_triggers()
        self.assertEqual("PARTIALLY_FILLED", order.status)
        self.assertEqual(Decimal("32.0"), self.engine.metrics(self.acct).open_order_margin)  # 0.005 x 64000 x 0.1
        self.market.set_index("BTC-PERP", Decimal("66000"))
        self.engine.check_triggers()
        self.assertEqual(("PARTIALLY_FILLED", 1), (order.status, order.fill_count))
        self.market.set_index("BTC-PERP", Decimal("63900"))
        self.engine.check_triggers()
        self.assertEqual("FILLED", order.status)
        self.assertTrue(all(f.price <= Decimal("64000") for f in self.engine.fills(self.acct)))
        self.assertEqual(0, self.engine.metrics(self.acct).open_order_margin)

    def test_a_later_chunk_failing_the_margin_check_rejects_the_rest(self) -> None:
        self.faults.set(partial_fill_chunks=2)
        order = self.submit(size="1.0000")
        self.acct.balance = Decimal("100")
        self.engine.check_triggers()
        self.assertEqual(("REJECTED", 3002, Decimal("0.5000")), (order.status, order.code, order.filled_size))
        self.assertEqual(Decimal("0.5"), self.acct.positions["BTC-PERP"].size)
        self.assertEqual({"id": order.id, "status": "REJECTED", "code": 3002, "postTime": order.post_time,
                          "nonce": order.nonce}, self.order_events(order)[-1])
        row = order.render()
        self.assertEqual(("REJECTED", "0.5000"), (row["status"], row["lastFilledSize"]))

    def test_fok_fills_whole(self) -> None:
        self.faults.set(partial_fill_chunks=3)
        order = self.submit(order_type="LIMIT", limit="65100.0", time_in_force="FOK")
        self.assertEqual(("FILLED", 1), (order.status, order.fill_count))

    def test_tp_sl_children_arm_when_the_parent_is_filled_and_close_in_chunks(self) -> None:
        self.faults.set(partial_fill_chunks=2)
        parent = self.submit(order_type="LIMIT", limit="64000.0", tp_price="66000.0")
        [child] = parent.children
        self.market.set_index("BTC-PERP", Decimal("63900"))
        self.engine.check_triggers()
        self.assertEqual(("PARTIALLY_FILLED", False), (parent.status, child.armed))
        self.engine.check_triggers()
        self.assertEqual(("FILLED", True), (parent.status, child.armed))
        self.market.set_index("BTC-PERP", Decimal("66100"))
        self.engine.check_triggers()
        self.assertEqual(("PARTIALLY_FILLED", Decimal("0.0050")), (child.status, child.filled_size))
        self.engine.check_triggers()
        self.assertEqual("FILLED", child.status)
        self.assertNotIn("BTC-PERP", self.acct.positions)

    def test_cancel_of_a_partially_filled_order(self) -> None:
        self.faults.set(partial_fill_chunks=2)
        order = self.submit(size="0.0100")
        self.nonce += 1
        body = cancel_body(SIGNING_KEY, time=self.clock.now, nonce=self.nonce, order_id=order.id)
        self.assertEqual(order.id, self.engine.cancel_order(self.acct, CancelRequest.parse(body)))
        self.engine.check_triggers()
        self.assertEqual(("CANCELLED", 1), (order.status, order.fill_count))
        self.assertEqual(Decimal("0.005"), self.acct.positions["BTC-PERP"].size)


class PartialFillWireTests(SimTestCase):
    async def test_rows_and_events_between_passes(self) -> None:
        ws = await self.private_ws()
        self.sim.faults.set(partial_fill_chunks=2)
        order_id = await self.place_ok(size="0.0100")
        self.assertEqual("NEW", (await self.next_order_event(ws))["status"])
        partial = await self.next_order_event(ws)
        self.assertEqual(("PARTIALLY_FILLED", "0.0050"), (partial["status"], partial["lastFilledSize"]))
        status, rows = await self.call("GET", "/orders", params={"status": "PARTIALLY_FILLED"})
        self.assertEqual((200, [order_id]), (status, [r["id"] for r in rows]))
        self.assertEqual(("0.0050", partial["lastFilledTime"]), (rows[0]["lastFilledSize"], rows[0]["lastFilledTime"]))
        account = (await self.call("GET", "/account"))[1]
        self.assertEqual("0.0050", account["positions"][0]["size"])
        self.sim.step()
        filled = await self.next_order_event(ws)
        self.assertEqual(("FILLED", "0.0050"), (filled["status"], filled["lastFilledSize"]))
        self.assertLess(partial["lastFilledTime"], filled["lastFilledTime"])
        self.assertEqual([order_id], [r["id"] for r in (await self.call("GET", "/orders",
                                                                        params={"status": "FILLED"}))[1]])
        fills = self.sim.fills(self.acct.primary_address)
        self.assertEqual([partial["lastFilledTime"], filled["lastFilledTime"]], [f.time for f in fills])
        self.assertEqual(("0.0100", 2), (self.order(order_id)["executedSize"], self.order(order_id)["fillCount"]))
        self.assertEqual("0.0100", (await self.call("GET", "/account"))[1]["positions"][0]["size"])

    async def test_cancel_of_a_partially_filled_limit(self) -> None:
        self.sim.faults.set(partial_fill_chunks=2)
        order_id = await self.place_ok(order_type="LIMIT", limit_price="64000.0")
        self.sim.set_index_price("BTC-PERP", Decimal("63900"))
        self.assertEqual("PARTIALLY_FILLED", self.order(order_id)["status"])
        self.assertEqual((200, {"id": order_id}), await self.cancel(order_id))
        self.sim.step()
        [row] = (await self.call("GET", "/orders", params={"id": order_id}))[1]
        self.assertEqual(("CANCELLED", "0.0050"), (row["status"], row["lastFilledSize"]))
        self.assertEqual("0.0050", (await self.call("GET", "/account"))[1]["positions"][0]["size"])
        self.assert_error(await self.cancel(order_id), 3017)
        self.assertEqual(1, len(self.sim.fills(self.acct.primary_address)))
