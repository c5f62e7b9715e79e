"""Execution reconciliation: the real connector against the Vest simulator over loopback, one fault per class.

The invariant the connector promises (docs/vest-protocol.md §3.6-§3.8, §5.4, §9.8): every execution Vest made on
the account is reported to Hummingbot exactly once; no order of this bot is left open on Vest unknown to
Hummingbot; positions and balances converge to Vest's, after any fault. Every test ends with
`assert_invariant`, which checks, for every order of the bot (the ones the test placed and every other order on
the venue that is not another client's):

* the venue's executed size equals the sum of the connector's OrderFilledEvent amounts for it, each trade id once,
  and no fill is reported for an order the bot did not place;
* the final state the connector reported (completed, cancelled, failed) is the venue's, and reported once;
* after `cancel_all` (Hummingbot's stop) no order of the bot is open on the venue, and none is left in flight;
* after one account refresh, the connector's positions and USDC balance are the venue's.

Faults come from the simulator's seeded switches (docs/vest-protocol.md §7.11, §7.12); waits are conditions with
timeouts. Status polls are driven by setting the connector's poll notifier (what Hummingbot's clock does every
5 s while the private stream is quiet, §5.4), so a test does not wait for a 5 s or 120 s poll period.

Three tests guard bugs this suite found: an unreadable row alone in its poll batch taken for a lost order;
executions of an order rejected after a partial fill never reported; a cancel event after a lost partial-fill event
completing the order short of its executions.
"""
import asyncio
import logging
import time
from collections import Counter
from decimal import Decimal
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from hummingbot.connector.client_order_tracker import ClientOrderTracker
from hummingbot.connector.derivative.vest_perpetual import vest_perpetual_constants as CONSTANTS
from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_derivative import (
    VestPerpetualDerivative,
    client_order_id_for_nonce,
    nonce_of_client_order_id,
)
from hummingbot.core.data_type.common import OrderType, PositionAction
from hummingbot.core.data_type.in_flight_order import InFlightOrder, OrderState
from hummingbot.core.event.events import (
    BuyOrderCompletedEvent,
    BuyOrderCreatedEvent,
    MarketEvent,
    MarketOrderFailureEvent,
    OrderCancelledEvent,
    OrderFilledEvent,
    SellOrderCompletedEvent,
    SellOrderCreatedEvent,
)
from project_tests.connector.fault_scenarios import (
    BTC,
    SYMBOLS,
    TICKS,
    VENUE_TO_CONNECTOR,
    LogCapture,
    TicksPaused,
    connector_outcomes,
    start_venue,
    stop_venue,
)
from project_tests.connector.simulated_venue import SimulatedVenue, wait_until
from test.isolated_asyncio_wrapper_test_case import IsolatedAsyncioWrapperTestCase

SYMBOL = SYMBOLS[BTC]
TICK = TICKS[BTC]
SIZE = Decimal("0.0010")
USDC = CONSTANTS.COLLATERAL_TOKEN
SETTLE_TIMEOUT = 15.0
# §3.6: a lost answer is looked up by nonce 4 times, sleeping 0.5 + 1 + 2 + 4 s.
QUICK_LOOKUP_SECONDS = sum(CONSTANTS.ORDER_LOOKUP_INITIAL_DELAY * 2 ** i for i in range(CONSTANTS.ORDER_LOOKUP_ATTEMPTS))
OPEN_STATUSES = ("NEW", "PARTIALLY_FILLED")


class PollCounter:
    """Counts the connector's status polls (Hummingbot's `_status_polling_loop` body) and drives one on demand."""

    def __init__(self, connector: VestPerpetualDerivative):
        self.connector = connector
        self.started = 0
        self.finished = 0
        original = connector._status_polling_loop_fetch_updates

        async def fetch_updates():
            self.started += 1
            try:
                await original()
            finally:
                self.finished += 1

        connector._status_polling_loop_fetch_updates = fetch_updates

    async def run(self, timeout: float = 10.0):
        """One whole status poll that started after this call (a poll already under way does not count)."""
        target = self.started + 1
        deadline = asyncio.get_running_loop().time() + timeout
        while self.finished < target:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"no status poll completed within {timeout}s")
            self.connector._poll_notifier.set()  # what Hummingbot's clock does at each poll period
            await asyncio.sleep(0.02)


class ReconciliationTestCase(IsolatedAsyncioWrapperTestCase):
    """One seeded simulator + funded account + started connector per test (about 0.3 s to start)."""

    seed = 41
    tick_interval: Optional[float] = 0.05

    async def asyncSetUp(self):
        await super().asyncSetUp()
        self.venue, _ = await start_venue(pairs=(BTC,), seed=self.seed, probe=False, tick_interval=self.tick_interval)
        self.sim = self.venue.sim
        self.primary = self.venue.account.primary_address
        self.order_events: List[Tuple[str, Optional[int]]] = []
        self.instrument(self.venue.connector)

    async def asyncTearDown(self):
        await stop_venue(self.venue)
        await super().asyncTearDown()

    def instrument(self, connector: VestPerpetualDerivative):
        """Status-poll counter, and a record of every ORDER event (status, nonce) the derivative processes."""
        self.polls = PollCounter(connector)
        original = connector._process_order_event

        def process_order_event(order):
            self.order_events.append((order.status, order.nonce))
            return original(order)

        connector._process_order_event = process_order_event

    # ---- the venue ---------------------------------------------------------------------------------------
    @property
    def connector(self) -> VestPerpetualDerivative:
        return self.venue.connector

    def index(self) -> Decimal:
        return self.sim.market.state(SYMBOL).index

    def venue_row(self, order_id: str) -> Optional[dict]:
        """The venue's truth for the order with that client id (its nonce, §3.6): real status, `executedSize`."""
        nonce = nonce_of_client_order_id(order_id)
        return next((row for row in self.sim.orders(self.primary) if row["nonce"] == nonce), None)

    def venue_status(self, order_id: str) -> Optional[str]:
        return (self.venue_row(order_id) or {}).get("status")

    def venue_executed(self, order_id: str) -> Decimal:
        row = self.venue_row(order_id)
        return Decimal(row["executedSize"]) if row else Decimal(0)

    def venue_positions(self) -> Dict[str, Decimal]:
        return dict(self.sim.positions(self.primary))

    def venue_balance(self) -> Decimal:
        account = self.sim.engine.accounts[self.primary.lower()]
        rendered = self.sim.engine.render_account(account)  # what `GET /account` answers (§3.3)
        return Decimal(next(b["total"] for b in rendered["balances"] if b["asset"] == USDC))

    # ---- the connector -----------------------------------------------------------------------------------
    def connector_positions(self) -> Dict[str, Decimal]:
        return {SYMBOLS[position.trading_pair]: position.amount
                for position in self.connector.account_positions.values() if position.amount}

    def tracked(self, order_id: str) -> Optional[InFlightOrder]:
        return self.connector._order_tracker.all_orders.get(order_id)

    def fills_of(self, order_id: str) -> List[OrderFilledEvent]:
        return [event for event in self.venue.recorder.of(OrderFilledEvent) if event.order_id == order_id]

    def reported_executed(self, order_id: str) -> Decimal:
        return sum((event.amount for event in self.fills_of(order_id)), Decimal(0))

    def outcome(self, order_id: str) -> Optional[str]:
        return connector_outcomes(self.venue).get(order_id)

    def failures_of(self, order_id: str) -> List[MarketOrderFailureEvent]:
        return [e for e in self.venue.recorder.of(MarketOrderFailureEvent) if e.order_id == order_id]

    def is_open_in_connector(self, order_id: str) -> bool:
        order = self.connector.in_flight_orders.get(order_id)
        return order is not None and order.exchange_order_id is not None and order.current_state is OrderState.OPEN

    # ---- actions -----------------------------------------------------------------------------------------
    def limit(self, is_buy: bool, factor: str, amount: Decimal = SIZE) -> str:
        price = (self.index() * Decimal(factor)).quantize(TICK)
        side = self.connector.buy if is_buy else self.connector.sell
        return side(BTC, amount, OrderType.LIMIT, price, position_action=PositionAction.OPEN)

    def market(self, is_buy: bool, amount: Decimal = SIZE) -> str:
        side = self.connector.buy if is_buy else self.connector.sell
        return side(BTC, amount, OrderType.MARKET, position_action=PositionAction.OPEN)

    def cross(self, *order_ids: str) -> Decimal:
        """Moves the index 2 % through the lowest of these resting buys (§7.5: a LIMIT fills once the index
        crosses it); returns the index it had, for `restore_index`."""
        before = self.index()
        lowest = min(Decimal(self.venue_row(order_id)["limitPrice"]) for order_id in order_ids)
        self.sim.set_index_price(SYMBOL, (lowest * Decimal("0.98")).quantize(TICK))
        return before

    def restore_index(self, index: Decimal):
        """Back up: no resting buy triggers (§7.5), and later orders priced from the index stay clear of older ones."""
        self.sim.set_index_price(SYMBOL, index)

    async def wait_open(self, *order_ids: str, timeout: float = 10.0):
        await wait_until(lambda: all(self.is_open_in_connector(o) and self.venue_status(o) == "NEW" for o in order_ids),
                         timeout=timeout, what=f"{order_ids} open on the venue and in the connector")

    async def wait_venue(self, status: str, *order_ids: str, timeout: float = 10.0):
        await wait_until(lambda: all(self.venue_status(o) == status for o in order_ids), timeout=timeout,
                         what=f"{order_ids} {status} on the venue")

    async def wait_outcome(self, outcome: str, *order_ids: str, timeout: float = 10.0):
        await wait_until(lambda: all(self.outcome(o) == outcome for o in order_ids), timeout=timeout,
                         what=f"{order_ids} reported {outcome} ({[self.outcome(o) for o in order_ids]})")

    # ---- the invariant -----------------------------------------------------------------------------------
    def invariant_problems(self, order_ids: Sequence[str]) -> List[str]:
        rows = {row["nonce"]: row for row in self.sim.orders(self.primary) if not row["external"]}
        bot_orders = set(order_ids) | {client_order_id_for_nonce(nonce) for nonce in rows}
        fills = self.venue.recorder.of(OrderFilledEvent)
        problems = []
        repeated = sorted(trade for trade, count in Counter(e.exchange_trade_id for e in fills).items() if count > 1)
        if repeated:
            problems.append(f"trade ids reported more than once: {repeated}")
        strangers = sorted({event.order_id for event in fills} - bot_orders)
        if strangers:
            problems.append(f"fills reported for orders this bot did not place: {strangers}")
        final_reports = Counter(event.order_id for event in self.venue.recorder.events
                                if isinstance(event, (BuyOrderCompletedEvent, SellOrderCompletedEvent,
                                                      OrderCancelledEvent, MarketOrderFailureEvent)))
        outcomes = connector_outcomes(self.venue)
        for order_id in sorted(bot_orders):
            row = rows.get(nonce_of_client_order_id(order_id))
            status = row["status"] if row else None
            venue_executed = Decimal(row["executedSize"]) if row else Decimal(0)
            reported = sum((e.amount for e in fills if e.order_id == order_id), Decimal(0))
            if reported != venue_executed:
                problems.append(f"{order_id}: venue executed {venue_executed}, connector reported {reported}")
            if status in OPEN_STATUSES:
                problems.append(f"{order_id}: still {status} on the venue")
            elif outcomes.get(order_id) != VENUE_TO_CONNECTOR.get(status):
                problems.append(f"{order_id}: venue {status}, connector reported {outcomes.get(order_id)}")
            if final_reports[order_id] > 1:
                problems.append(f"{order_id}: final state reported {final_reports[order_id]} times")
            if order_id in self.connector.in_flight_orders:
                problems.append(f"{order_id}: still in flight in the connector")
        return problems

    async def assert_invariant(self, order_ids: Sequence[str]):
        await self.connector.cancel_all(20)  # what Hummingbot does when the strategy stops
        still_open = [(row["nonce"], row["status"]) for row in self.sim.orders(self.primary)
                      if not row["external"] and row["status"] in OPEN_STATUSES]
        self.assertEqual([], still_open, "orders of this bot still open on the venue after cancel_all")
        problems: List[str] = []

        def agreed() -> bool:
            problems[:] = self.invariant_problems(order_ids)
            return not problems

        try:
            await wait_until(agreed, timeout=SETTLE_TIMEOUT, interval=0.1)
        except AssertionError:
            pass
        self.assertEqual([], problems)
        await self.assert_account_converges()

    async def assert_account_converges(self):
        """One account refresh (§3.3) brings positions and balance to the venue's."""
        await self.connector._update_account()
        self.assertEqual(self.venue_positions(), self.connector_positions())
        self.assertEqual(self.venue_balance(), self.connector.get_balance(USDC))


def record_nonce_lookups(connector: VestPerpetualDerivative) -> List[Tuple[int, Optional[str], float]]:
    """(nonce, id found or None, seconds taken) of every quick look-up by nonce after a lost answer (§3.6)."""
    lookups: List[Tuple[int, Optional[str], float]] = []
    original = connector._find_order_id_by_nonce

    async def find_order_id_by_nonce(nonce: int):
        started = time.monotonic()
        found = await original(nonce)
        lookups.append((nonce, found, time.monotonic() - started))
        return found

    connector._find_order_id_by_nonce = find_order_id_by_nonce
    return lookups


# ----------------------------------------------------------------------------------------------------------------
# 1. Lost POST answer after Vest booked the order (§3.6), with GET /orders failing through the quick look-up
# ----------------------------------------------------------------------------------------------------------------
class LostOrderAnswerTests(ReconciliationTestCase):
    """`drop_order_response`: Vest books the order, the answer is lost (§7.11); `fail_order_queries` keeps every
    `GET /orders` failing (503) through the 4 look-ups by nonce (0.5 + 1 + 2 + 4 s) and one status poll after them.
    The order must stay tracked (PENDING_CREATE, not failed: its signature is still valid for 15 s), be attached by
    Vest's NEW event or by a later poll, and its fill be reported once."""

    async def lose_answers(self, count: int, drop_events: bool) -> List[str]:
        lookups = record_nonce_lookups(self.connector)
        self.sim.faults.set(drop_order_response=count, fail_order_queries=8 * count,
                            private_event_drop_rate=1.0 if drop_events else 0.0)
        order_ids = [self.limit(True, factor) for factor in ("0.97", "0.90")[:count]]
        nonces = [nonce_of_client_order_id(order_id) for order_id in order_ids]
        await wait_until(lambda: len(lookups) == count, timeout=QUICK_LOOKUP_SECONDS + 5,
                         what="the quick look-ups by nonce to end")
        self.assertEqual(0, self.sim.faults.drop_order_response, "the answer drop never fired")
        self.assertEqual(sorted(nonces), sorted(nonce for nonce, _, _ in lookups))
        for nonce, found, seconds in lookups:
            self.assertIsNone(found, "a look-up got through: GET /orders did not fail long enough")
            self.assertGreaterEqual(seconds, QUICK_LOOKUP_SECONDS * 0.95)
        for order_id in order_ids:
            self.assertEqual("NEW", self.venue_status(order_id), "Vest did not book the order")
            self.assertEqual(1, sum(row["nonce"] == nonce_of_client_order_id(order_id)
                                    for row in self.sim.orders(self.primary)), "duplicate order on the venue")
        # GET /orders still fails: a status poll learns nothing, and must not fail the orders either.
        self.assertGreater(self.sim.faults.fail_order_queries, 0)
        await self.polls.run()
        for order_id in order_ids:
            self.assertIn(order_id, self.connector.in_flight_orders)
            self.assertEqual([], self.failures_of(order_id))
        self.sim.faults.set(fail_order_queries=0)
        return order_ids

    async def test_new_event_attaches_the_order_then_its_fill_is_reported_once(self):
        order_id, = await self.lose_answers(1, drop_events=False)
        # Vest's NEW event (§5.4) reached the connector while every look-up failed: the order is attached.
        self.assertIn(("NEW", nonce_of_client_order_id(order_id)), self.order_events)
        self.assertTrue(self.is_open_in_connector(order_id))
        self.assertEqual(self.venue_row(order_id)["id"], self.tracked(order_id).exchange_order_id)
        index = self.cross(order_id)
        await self.wait_outcome("FILLED", order_id)
        self.restore_index(index)
        self.assertEqual([SIZE], [event.amount for event in self.fills_of(order_id)])
        self.assertEqual([], self.failures_of(order_id))
        await self.assert_invariant([order_id])

    async def test_event_dropped_too_a_poll_attaches_the_order_then_reports_its_fill_once(self):
        order_id, = await self.lose_answers(1, drop_events=True)
        self.assertIsNone(self.tracked(order_id).exchange_order_id)  # nothing could tell the connector yet
        self.assertEqual(OrderState.PENDING_CREATE, self.tracked(order_id).current_state)
        await self.polls.run()  # GET /orders?nonce=… (§3.8) now answers
        await wait_until(lambda: self.is_open_in_connector(order_id), what="the order attached by the poll")
        self.assertEqual(self.venue_row(order_id)["id"], self.tracked(order_id).exchange_order_id)
        index = self.cross(order_id)  # the FILLED event is dropped as well: only a poll can tell
        await self.wait_venue("FILLED", order_id)
        self.restore_index(index)
        await self.polls.run()
        await self.wait_outcome("FILLED", order_id)
        self.sim.faults.set(private_event_drop_rate=0.0)
        self.assertEqual([SIZE], [event.amount for event in self.fills_of(order_id)])
        self.assertEqual([], self.failures_of(order_id))
        await self.assert_invariant([order_id])

    async def test_filled_before_any_poll_found_it_and_a_resting_one_cancelled_at_stop(self):
        """Two answers lost, every event dropped: one order fills before a poll could look it up (its first row
        is FILLED), the other rests and must be cancelled by `cancel_all`."""
        to_fill, to_rest = await self.lose_answers(2, drop_events=True)
        index = self.cross(to_fill)
        await self.wait_venue("FILLED", to_fill)
        self.restore_index(index)
        self.assertIsNone(self.tracked(to_fill).exchange_order_id)
        await self.polls.run()
        await self.wait_outcome("FILLED", to_fill)
        await wait_until(lambda: self.is_open_in_connector(to_rest), what="the resting order attached")
        self.sim.faults.set(private_event_drop_rate=0.0)
        self.assertEqual([SIZE], [event.amount for event in self.fills_of(to_fill)])
        self.assertEqual("NEW", self.venue_status(to_rest))
        await self.assert_invariant([to_fill, to_rest])
        self.assertEqual("CANCELLED", self.venue_status(to_rest))


# ----------------------------------------------------------------------------------------------------------------
# 2. One unreadable row in a batch answer (§3.8) while other orders of the batch fill during a private-stream gap
# ----------------------------------------------------------------------------------------------------------------
class UnreadableRowTests(ReconciliationTestCase):
    """Four resting buys; one gets a row the connector cannot read (status outside the enum, or a fill above its
    size, §7.12 overrides); two others fill while their events are lost. The batch `GET /orders?id=a,b,c,d` must
    still report both fills; the unreadable order is logged once, asked alone, and neither failed nor filled."""

    async def batch_with_unreadable_row(self, logs: LogCapture, spoil: Callable[[str], None],
                                        unspoil: Callable[[str], None], gap: str) -> List[str]:
        fills = [self.limit(True, "0.99"), self.limit(True, "0.985")]
        odd, resting = self.limit(True, "0.90"), self.limit(True, "0.90")
        await self.wait_open(*fills, odd, resting)
        odd_id = self.tracked(odd).exchange_order_id
        spoil(odd_id)
        if gap == "events":
            self.sim.faults.set(private_event_drop_rate=1.0)
            index = self.cross(*fills)
        else:  # the private WebSocket drops; the reconnection polls (§5.4)
            await self.sim.drop_websockets(public=False, private=True)
            index = self.cross(*fills)
        await self.wait_venue("FILLED", *fills)
        self.restore_index(index)
        self.assertEqual([], [o for o in fills if self.fills_of(o)], "a fill event got through the gap")
        if gap == "events":
            await self.polls.run()
        await self.wait_outcome("FILLED", *fills)
        self.sim.faults.set(private_event_drop_rate=0.0)
        self.assertEqual([[SIZE], [SIZE]], [[e.amount for e in self.fills_of(o)] for o in fills])
        # More polls than Hummingbot's lost-order limit (3 not-founds): an unreadable row proves nothing.
        for _ in range(4):
            await self.polls.run()
        for order_id in (odd, resting):
            self.assertTrue(self.is_open_in_connector(order_id), f"{order_id} no longer open in the connector")
            self.assertEqual([], self.fills_of(order_id) + self.failures_of(order_id))
        logged = [m for m in logs.messages(logging.WARNING) if "unreadable row" in m and odd_id in m]
        self.assertEqual(1, len(logged), f"the unreadable row was logged {len(logged)} times")
        unspoil(odd_id)
        await self.polls.run()
        self.assertTrue(self.is_open_in_connector(odd))
        return fills + [odd, resting]

    async def test_unreadable_rows_and_zeros_for_nulls_do_not_break_the_batch(self):
        order_ids: List[str] = []
        with LogCapture(logging.WARNING) as logs:
            with self.subTest("status EXPIRED, fills during dropped private events"):
                order_ids += await self.batch_with_unreadable_row(
                    logs, lambda oid: self.sim.override_order_status(oid, "EXPIRED"),
                    self.sim.clear_order_status_override, gap="events")
            with self.subTest("lastFilledSize above size, fills while the private WebSocket is down"):
                order_ids += await self.batch_with_unreadable_row(
                    logs, lambda oid: self.sim.override_order_fields(oid, lastFilledSize="5.0000"),
                    self.sim.clear_order_field_overrides, gap="websocket")
        with self.subTest("zero_for_null on resting orders, then a CANCELLED event"):
            self.sim.faults.set(zero_for_null=True)  # §7.12: "0" where the docs say null
            resting = [self.limit(True, "0.90") for _ in range(3)]
            to_fill = self.limit(True, "0.99")
            await self.wait_open(*resting, to_fill)
            self.sim.faults.set(private_event_drop_rate=1.0)
            index = self.cross(to_fill)
            await self.wait_venue("FILLED", to_fill)
            self.restore_index(index)
            await self.polls.run()
            await self.wait_outcome("FILLED", to_fill)
            self.sim.faults.set(private_event_drop_rate=0.0)
            self.assertEqual([SIZE], [e.amount for e in self.fills_of(to_fill)])
            for order_id in resting:
                self.assertTrue(self.is_open_in_connector(order_id))
                self.assertEqual([], self.fills_of(order_id) + self.failures_of(order_id))
            self.connector.cancel(BTC, resting[0])
            await self.wait_outcome("CANCELED", resting[0], timeout=5)  # no poll: the event did it
            self.assertIn(("CANCELLED", nonce_of_client_order_id(resting[0])), self.order_events)
            order_ids += resting + [to_fill]
        await self.assert_invariant(order_ids)

    async def test_an_unreadable_row_alone_in_its_batch_is_not_taken_for_a_lost_order(self):
        """A batch of one id whose row cannot be read is not "Vest does not know this order": counted as such, the
        order (still NEW on Vest) would be reported failed after Hummingbot's lost-order limit and then cancelled."""
        order_id = self.limit(True, "0.90")  # the only order tracked: its poll is a batch of one id
        await self.wait_open(order_id)
        self.sim.override_order_status(self.tracked(order_id).exchange_order_id, "EXPIRED")
        for _ in range(5):
            await self.polls.run()
        self.assertEqual([], self.failures_of(order_id), "an open order was reported failed")
        self.assertTrue(self.is_open_in_connector(order_id))
        self.sim.clear_order_status_override(self.tracked(order_id).exchange_order_id)
        await self.assert_invariant([order_id])


# ----------------------------------------------------------------------------------------------------------------
# 3. A cancel answered by something that is not Vest (§3.7)
# ----------------------------------------------------------------------------------------------------------------
class GarbledCancelTests(ReconciliationTestCase):
    """`garble_cancel_response`: HTTP 200 with an HTML page, the cancel never reaching Vest (§7.11). Only
    `{"id": …}` counts as a cancel (§3.7): the cancel fails while Vest shows the order open, and a retry cancels it,
    reported once."""

    async def test_garbled_cancel_is_not_success_and_a_retry_cancels_once(self):
        first, second = self.limit(True, "0.95"), self.limit(True, "0.94")
        await self.wait_open(first, second)

        self.sim.faults.set(garble_cancel_response=1)
        self.assertIsNone(await self.connector._execute_cancel(BTC, first))
        self.assertEqual(0, self.sim.faults.garble_cancel_response, "the garbled answer never fired")
        self.assertEqual("NEW", self.venue_status(first))
        self.assertTrue(self.is_open_in_connector(first), "the connector no longer shows the resting order open")

        # Hummingbot's stop with one of two cancels garbled: exactly that one is reported as not cancelled.
        self.sim.faults.set(garble_cancel_response=1)
        results = {result.order_id: result.success for result in await self.connector.cancel_all(20)}
        self.assertEqual({first, second}, set(results))
        self.assertEqual(1, list(results.values()).count(False), results)
        for order_id, success in results.items():
            self.assertEqual("CANCELLED" if success else "NEW", self.venue_status(order_id), (order_id, success))
        garbled = next(order_id for order_id, success in results.items() if not success)
        self.assertTrue(self.is_open_in_connector(garbled))

        retried = await self.connector.cancel_all(20)
        self.assertEqual([(garbled, True)], [(r.order_id, r.success) for r in retried])
        await self.wait_outcome("CANCELED", first, second)
        cancelled = Counter(e.order_id for e in self.venue.recorder.of(OrderCancelledEvent))
        self.assertEqual({first: 1, second: 1}, dict(cancelled))
        await self.assert_invariant([first, second])


# ----------------------------------------------------------------------------------------------------------------
# 4. A crash after Vest booked two orders whose answers were lost; a new connector on the same data folder
# ----------------------------------------------------------------------------------------------------------------
class RestartTests(ReconciliationTestCase):
    """The journal in Hummingbot's data folder (§3.6) holds every signed order. A connector signs two orders, their
    answers are lost, nothing tells it their ids, and it stops without `cancel_all` (a crash). While it is down
    Vest fills one. A new connector on the same data folder tracks both again: it reports the fill and cancels the
    other, which Vest still shows open."""

    async def crash(self, placements: Sequence[asyncio.Task]):
        """Stops the connector as a killed process would leave it: placements cut short, no cancel_all."""
        self.venue._clock_task.cancel()
        for task in placements:
            task.cancel()
        await asyncio.gather(*placements, return_exceptions=True)
        old = self.connector
        await old.stop_network()
        old.order_journal.close()  # every line was flushed when written; a killed process loses nothing more

    async def start_new_connector(self):
        venue: SimulatedVenue = self.venue
        connector = VestPerpetualDerivative(
            vest_perpetual_api_key=venue.account.api_key, vest_perpetual_signing_private_key=venue.signing_key,
            vest_perpetual_account_group=venue.account.account_group, trading_pairs=venue.trading_pairs,
            trading_required=True)
        for event in MarketEvent:
            connector.add_listener(event, venue.events)
        venue.recorder.attach(connector)
        self.instrument(connector)
        venue.connector = connector
        await connector.start_network()
        venue._clock_task = asyncio.ensure_future(venue._tick_forever())
        await wait_until(lambda: connector.ready, timeout=15, what="the new connector ready")

    async def test_orders_signed_before_a_crash_are_tracked_again_from_the_journal(self):
        self.sim.faults.set(drop_order_response=2, fail_order_queries=100, private_event_drop_rate=1.0)
        tasks_before = asyncio.all_tasks()
        to_fill, to_cancel = self.limit(True, "0.99"), self.limit(True, "0.95")
        placements = list(asyncio.all_tasks() - tasks_before)
        await wait_until(lambda: self.venue_status(to_fill) == "NEW" and self.venue_status(to_cancel) == "NEW"
                         and self.sim.faults.drop_order_response == 0, what="both orders booked, answers lost")
        journal = self.connector.order_journal
        unfinished = {placed.client_order_id: placed.exchange_order_id for placed in journal.unfinished()}
        self.assertEqual({to_fill: None, to_cancel: None}, unfinished, "the journal should hold both, without ids")
        await self.crash(placements)
        self.sim.faults.set(fail_order_queries=0, private_event_drop_rate=0.0)
        index = self.cross(to_fill)  # Vest fills one while the bot is down
        await self.wait_venue("FILLED", to_fill)
        self.restore_index(index)
        self.assertEqual([], self.venue.recorder.of(OrderFilledEvent))

        await self.start_new_connector()
        await self.wait_outcome("FILLED", to_fill, timeout=SETTLE_TIMEOUT)
        await self.wait_outcome("CANCELED", to_cancel, timeout=SETTLE_TIMEOUT)
        self.assertEqual("CANCELLED", self.venue_status(to_cancel))  # cancelled by the new connector, not by a stop
        self.assertEqual([SIZE], [e.amount for e in self.fills_of(to_fill)])
        self.assertEqual([], self.failures_of(to_fill) + self.failures_of(to_cancel))
        self.assertEqual([], self.connector.order_journal.unfinished())
        await self.assert_invariant([to_fill, to_cancel])


# ----------------------------------------------------------------------------------------------------------------
# 5. An account answer without `positions` (§3.3)
# ----------------------------------------------------------------------------------------------------------------
class AccountWithoutPositionsTests(ReconciliationTestCase):
    """`account_without_positions` (§7.11): an answer without the field says nothing about positions, so the
    position stays what Vest last reported (not flat); balances are still applied."""

    async def test_positions_are_kept_when_the_account_answer_has_none(self):
        first = self.market(True, Decimal("0.0020"))
        await self.wait_outcome("FILLED", first)
        await self.assert_account_converges()
        self.assertEqual({SYMBOL: Decimal("0.0020")}, self.connector_positions())

        self.sim.faults.set(account_without_positions=True)
        second = self.market(True, SIZE)
        await self.wait_outcome("FILLED", second)
        await self.polls.run()  # the status poll reads the account as well
        await self.connector._update_account()
        self.assertEqual({SYMBOL: Decimal("0.0020")}, self.connector_positions(), "positions were dropped")
        self.assertEqual(self.venue_balance(), self.connector.get_balance(USDC))
        self.assertEqual({SYMBOL: Decimal("0.0030")}, self.venue_positions())

        self.sim.faults.set(account_without_positions=False)
        await self.assert_invariant([first, second])
        self.assertEqual({SYMBOL: Decimal("0.0030")}, self.connector_positions())


# ----------------------------------------------------------------------------------------------------------------
# 6. Orders the bot did not place: another client, a liquidation (§5.4, §7.12)
# ----------------------------------------------------------------------------------------------------------------
class ForeignOrderTests(ReconciliationTestCase):
    """Another client of the account (`sim.place_order`) fills a MARKET order and rests a LIMIT, then Vest
    liquidates the position (`sim.liquidate`). Positions and balance follow within one account refresh triggered
    by the events (seconds, not the 120 s long poll); the liquidation is a warning; nothing is reported to
    Hummingbot as a fill of this bot, and the other client's resting order is left alone."""

    CONVERGENCE_SECONDS = 5.0

    async def converge(self, what: str) -> float:
        started = time.monotonic()
        await wait_until(lambda: (self.connector_positions() == self.venue_positions()
                                  and self.connector.get_balance(USDC) == self.venue_balance()),
                         timeout=self.CONVERGENCE_SECONDS, what=f"positions and balance after {what}")
        return time.monotonic() - started

    async def test_other_clients_and_liquidations_move_the_account_but_report_no_fill(self):
        with LogCapture(logging.INFO) as logs:
            own = self.limit(True, "0.95")
            await self.wait_open(own)
            other_fill = self.sim.place_order(self.primary, SYMBOL, True, Decimal("0.0050"), "MARKET")
            other_rest = self.sim.place_order(self.primary, SYMBOL, False, Decimal("0.0010"), "LIMIT",
                                              limit_price=(self.index() * Decimal("1.2")).quantize(TICK))
            await wait_until(lambda: self.sim.engine.find_order(other_fill).status == "FILLED",
                             what="the other client's order filled")
            self.assertEqual({SYMBOL: Decimal("0.0050")}, self.venue_positions())
            await self.converge("another client's fill")

            liquidation = self.sim.liquidate(self.primary, SYMBOL)
            self.assertEqual({}, self.venue_positions())
            await self.converge("the liquidation")
            self.assertEqual({}, self.connector_positions())
            await wait_until(lambda: any(liquidation in m for m in logs.messages(logging.WARNING)), timeout=5,
                             what="the liquidation warning")

            self.assertEqual([], self.venue.recorder.of(OrderFilledEvent))
            created = [e for e in self.venue.recorder.events if isinstance(e, (BuyOrderCreatedEvent,
                                                                               SellOrderCreatedEvent))]
            self.assertEqual([own], [e.order_id for e in created])
            tracked_ids = {order.exchange_order_id for order in self.connector.in_flight_orders.values()}
            self.assertFalse(tracked_ids & {other_fill, other_rest, liquidation})
            noted = [m for m in logs.messages(logging.INFO) if other_rest in m and "not placed by this bot" in m]
            self.assertEqual(1, len(noted), "the other client's order should be noted once")
            await self.assert_invariant([own])
        self.assertEqual("NEW", self.sim.engine.find_order(other_rest).status, "the bot cancelled another's order")


# ----------------------------------------------------------------------------------------------------------------
# 7. Partial fills under both readings of lastFilled* (§9.8), with events lost
# ----------------------------------------------------------------------------------------------------------------
class PartialFillTests(ReconciliationTestCase):
    """`partial_fill_chunks=3` (§7.12): a MARKET order of 0.0030 fills in three chunks, one per processing pass.
    The simulator does not tick on its own here: each `sim.step()` is one pass, so which chunk's event is lost is
    exact. Under both `last_filled_reading`s and whichever events arrive, the connector's executed amount never
    exceeds the venue's (sampled at every fill the connector applies, from events or polls), ends equal to it, each
    trade id once, and the order's average fill price is Vest's average (the FILLED remainder is priced from
    `avgFilledPrice`, §9.8) within the price tick."""

    tick_interval = None
    AMOUNT = Decimal("0.0030")
    CHUNKS = 3
    DELIVERIES = {  # per chunk: is its ORDER event delivered; then a poll if the last one was not
        "every event delivered": (True, True, True),
        "middle PARTIALLY_FILLED dropped": (True, False, True),
        "only the final FILLED event": (False, False, True),
        "no event at all, poll only": (False, False, False),
    }

    async def asyncSetUp(self):
        await super().asyncSetUp()
        self.samples: List[Tuple[str, Decimal, Decimal]] = []  # (order, connector executed, venue executed)
        self.sampled: List[str] = []
        original = self.connector._apply_fill

        def apply_fill(tracked_order, order):
            original(tracked_order, order)
            client_order_id = tracked_order.client_order_id
            self.samples.append((client_order_id, tracked_order.executed_amount_base,
                                 self.venue_executed(client_order_id)))

        self.connector._apply_fill = apply_fill

    def order_events_for(self, order_id: str) -> int:
        nonce = nonce_of_client_order_id(order_id)
        return sum(1 for status, n in self.order_events if n == nonce and status != "NEW")

    async def run_order(self, is_buy: bool, deliveries: Tuple[bool, ...]) -> str:
        order_id: Optional[str] = None
        sampler = asyncio.ensure_future(self.sample_reported())
        try:
            for chunk, delivered in enumerate(deliveries):
                self.sim.faults.set(private_event_drop_rate=0.0 if delivered else 1.0)
                seen = self.order_events_for(order_id) if order_id else 0
                if order_id is None:
                    order_id = self.market(is_buy, self.AMOUNT)  # the placement pass runs the first chunk
                    self.sampled.append(order_id)
                else:
                    self.sim.step()  # one processing pass: one more chunk (§7.5)
                await wait_until(lambda: (self.venue_row(order_id) or {}).get("fillCount", 0) > chunk, timeout=5,
                                 what=f"chunk {chunk + 1} executed")
                if delivered:
                    await wait_until(lambda: self.order_events_for(order_id) > seen, timeout=5,
                                     what=f"the event of chunk {chunk + 1} processed")
            self.sim.faults.set(private_event_drop_rate=0.0)
            self.assertEqual("FILLED", self.venue_status(order_id))
            await wait_until(lambda: self.tracked(order_id) is not None and
                             self.tracked(order_id).exchange_order_id is not None, what="the POST answer")
            if not deliveries[-1]:
                await self.polls.run()
            await self.wait_outcome("FILLED", order_id)
        finally:
            sampler.cancel()
        return order_id

    async def sample_reported(self):
        """The reported (event) amounts against the venue's, every 10 ms."""
        while True:
            for order_id in self.sampled:
                self.samples.append((order_id, self.reported_executed(order_id), self.venue_executed(order_id)))
            await asyncio.sleep(0.01)

    def check_order(self, order_id: str):
        fills = self.fills_of(order_id)
        trade_ids = [e.exchange_trade_id for e in fills]
        self.assertEqual(len(trade_ids), len(set(trade_ids)), f"a trade id was reported twice: {trade_ids}")
        self.assertEqual(self.AMOUNT, self.venue_executed(order_id))
        self.assertEqual(self.AMOUNT, self.reported_executed(order_id))
        over = [(executed, venue) for oid, executed, venue in self.samples if oid == order_id and executed > venue]
        self.assertEqual([], over, "the connector was ahead of the venue")
        self.assertTrue(any(oid == order_id for oid, _, _ in self.samples), "nothing was sampled")
        venue_fills = [f for f in self.sim.fills(self.primary) if f.nonce == nonce_of_client_order_id(order_id)]
        self.assertEqual(self.CHUNKS, len(venue_fills))
        venue_average = sum(f.size * f.price for f in venue_fills) / sum(f.size for f in venue_fills)
        reported_average = sum(e.amount * e.price for e in fills) / sum(e.amount for e in fills)
        self.assertLessEqual(abs(reported_average - venue_average), TICK,
                             f"average {reported_average} vs Vest's {venue_average}")

    async def run_reading(self, reading: str):
        self.sim.faults.set(partial_fill_chunks=self.CHUNKS, last_filled_reading=reading)
        order_ids = []
        for number, (label, deliveries) in enumerate(self.DELIVERIES.items()):
            with self.subTest(label, reading=reading):
                order_id = await self.run_order(is_buy=number % 2 == 0, deliveries=deliveries)
                order_ids.append(order_id)
                self.check_order(order_id)
        await self.assert_invariant(order_ids)

    async def partially_filled_then_cancelled(self) -> str:
        """Cumulative reading: chunk 1's event arrives, chunk 2's is lost, then the bot cancels the order, which
        Vest confirms with a CANCELLED event in its partial shape, without fill fields (§5.4)."""
        self.sim.faults.set(partial_fill_chunks=self.CHUNKS, last_filled_reading="cumulative")
        order_id = self.market(True, self.AMOUNT)
        self.sampled.append(order_id)
        await wait_until(lambda: self.reported_executed(order_id) == Decimal("0.0010"), what="chunk 1 reported")
        self.sim.faults.set(private_event_drop_rate=1.0)
        self.sim.step()  # chunk 2, its PARTIALLY_FILLED event lost
        self.sim.faults.set(private_event_drop_rate=0.0)
        self.assertEqual(Decimal("0.0020"), self.venue_executed(order_id))
        self.connector.cancel(BTC, order_id)
        await self.wait_outcome("CANCELED", order_id)
        self.assertEqual(("CANCELLED", Decimal("0.0020")), (self.venue_status(order_id), self.venue_executed(order_id)))
        return order_id

    async def test_partially_filled_then_cancelled_a_poll_reads_the_executions_from_the_cancelled_row(self):
        """§3.8: a CANCELLED row with 0 < lastFilledSize < size proves that much executed; a status poll while
        Hummingbot still holds the completed order books the missing part once."""
        order_id = await self.partially_filled_then_cancelled()
        await self.polls.run()
        await wait_until(lambda: self.reported_executed(order_id) == Decimal("0.0020"), what="chunk 2 reported")
        trade_ids = [e.exchange_trade_id for e in self.fills_of(order_id)]
        self.assertEqual(len(trade_ids), len(set(trade_ids)))
        self.assertEqual([], [(c, v) for oid, c, v in self.samples if oid == order_id and c > v])
        await self.assert_invariant([order_id])

    async def test_partially_filled_then_cancelled_without_a_prompt_poll_the_executions_are_still_reported(self):
        """A CANCELLED (or REJECTED) ORDER event carries no fill fields (§5.4), so an execution whose
        PARTIALLY_FILLED event was lost is not in it, and a status poll comes too late once Hummingbot forgot the
        completed order (30 s; polls are 120 s apart with a healthy stream). The connector reads the row of a
        part-filled order before applying its final event. Here: no clock-driven poll (Hummingbot's clock paused),
        2 s for the connector to act, then 30 s of Hummingbot's cache emulated and the next poll run."""
        async with TicksPaused(self.venue):
            order_id = await self.partially_filled_then_cancelled()
            try:
                await wait_until(lambda: self.reported_executed(order_id) == self.venue_executed(order_id), timeout=2)
            except AssertionError:
                pass
            cache = self.connector._order_tracker._cached_orders
            cache.expire(cache.timer() + ClientOrderTracker.CACHED_ORDER_TTL + 1)
        await self.polls.run()
        self.assertEqual(self.venue_executed(order_id), self.reported_executed(order_id))
        await self.assert_invariant([order_id])

    async def test_executions_of_an_order_rejected_after_a_partial_fill_are_reported(self):
        """Vest can reject an order that has already partly filled, and keeps those fills (§7.12: a later chunk
        refused by a margin or reduce-only check; orders rejected with 3008 DELETED_BY_LIQ by a liquidation); the
        REJECTED row still carries `lastFilledSize`. With the PARTIALLY_FILLED event lost, that execution is
        reported from the REJECTED row."""
        self.sim.faults.set(partial_fill_chunks=self.CHUNKS, last_filled_reading="cumulative",
                            private_event_drop_rate=1.0)
        order_id = self.market(True, self.AMOUNT)
        await wait_until(lambda: (self.venue_row(order_id) or {}).get("fillCount", 0) == 1, what="chunk 1")
        self.sim.liquidate(self.primary, SYMBOL, reject_open_orders=True)
        self.assertEqual(("REJECTED", Decimal("0.0010")), (self.venue_status(order_id), self.venue_executed(order_id)))
        self.sim.faults.set(private_event_drop_rate=0.0)
        await wait_until(lambda: self.tracked(order_id) is not None and
                         self.tracked(order_id).exchange_order_id is not None, what="the POST answer")
        await self.polls.run()
        await self.wait_outcome("FAILED", order_id)
        self.assertEqual(self.venue_executed(order_id), self.reported_executed(order_id))
        await self.assert_invariant([order_id])

    async def test_per_fill_reading(self):
        await self.run_reading("per_fill")

    async def test_cumulative_reading(self):
        await self.run_reading("cumulative")
