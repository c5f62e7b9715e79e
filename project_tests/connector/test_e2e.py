"""The real connector against the project's Vest simulator over real sockets on loopback (issue: the connector)."""
from decimal import Decimal

from hummingbot.connector.derivative.vest_perpetual import vest_perpetual_constants as CONSTANTS
from hummingbot.core.data_type.common import OrderType, PositionAction, PositionSide
from hummingbot.core.data_type.in_flight_order import OrderState
from hummingbot.core.event.events import (
    BuyOrderCompletedEvent,
    BuyOrderCreatedEvent,
    MarketOrderFailureEvent,
    OrderCancelledEvent,
    OrderFilledEvent,
    SellOrderCompletedEvent,
)
from project_tests.connector.simulated_venue import SimulatedVenue, wait_until
from test.isolated_asyncio_wrapper_test_case import IsolatedAsyncioWrapperTestCase

PAIR = "BTC-USDC"
SYMBOL = "BTC-PERP"


class VestPerpetualSimulatorEndToEndTests(IsolatedAsyncioWrapperTestCase):
    async def asyncSetUp(self):
        await super().asyncSetUp()
        self.venue = await SimulatedVenue(trading_pairs=[PAIR]).start()
        self.connector = self.venue.connector
        self.sim = self.venue.sim

    async def asyncTearDown(self):
        await self.venue.close()
        await super().asyncTearDown()

    def position(self):
        return self.connector.account_positions.get(
            self.connector._perpetual_trading.position_key(PAIR, PositionSide.LONG)) or \
            self.connector.account_positions.get(self.connector._perpetual_trading.position_key(PAIR, PositionSide.SHORT))

    def sim_order(self, client_order_id):
        nonce = self.connector.order_journal.nonce_of(client_order_id)  # the nonce it was signed with
        return [row for row in self.sim.orders(self.venue.account.primary_address) if row["nonce"] == nonce]

    async def test_becomes_ready_with_rules_balance_order_book_and_funding_info(self):
        rule = self.connector.trading_rules[PAIR]
        self.assertEqual(Decimal("0.0001"), rule.min_order_size)
        self.assertEqual(Decimal("0.1"), rule.min_price_increment)
        self.assertEqual(self.venue.balance, self.connector.get_balance(CONSTANTS.COLLATERAL_TOKEN))
        book = self.connector.get_order_book(PAIR)
        self.assertLess(book.get_price(False), book.get_price(True))
        funding = self.connector.get_funding_info(PAIR)
        self.assertGreater(funding.mark_price, 0)
        self.assertGreater(funding.index_price, 0)
        self.assertEqual(0, funding.next_funding_utc_timestamp % CONSTANTS.FUNDING_RATE_INTERVAL_SECONDS)

    async def test_market_buy_fills_and_opens_a_long_position(self):
        order_id = self.connector.buy(PAIR, Decimal("0.0100"), OrderType.MARKET, position_action=PositionAction.OPEN)
        completed = (await self.venue.wait_for_event(BuyOrderCompletedEvent))[0]
        self.assertEqual(order_id, completed.order_id)
        fills = self.venue.events_of(OrderFilledEvent)
        self.assertEqual(1, len(fills))
        venue_fills = self.sim.fills(self.venue.account.primary_address)
        self.assertEqual(1, len(venue_fills))
        self.assertEqual(venue_fills[0].price, fills[0].price)
        self.assertEqual(venue_fills[0].fee, fills[0].trade_fee.flat_fees[0].amount)
        await wait_until(lambda: self.position() is not None, what="position")
        self.assertEqual(Decimal("0.0100"), self.position().amount)
        self.assertEqual(PositionSide.LONG, self.position().position_side)

    async def test_limit_order_rests_then_fills_when_index_crosses(self):
        mark = self.connector.get_funding_info(PAIR).mark_price
        limit = (mark * Decimal("0.98")).quantize(Decimal("0.1"))
        order_id = self.connector.buy(PAIR, Decimal("0.0200"), OrderType.LIMIT, limit, position_action=PositionAction.OPEN)
        await self.venue.wait_for_event(BuyOrderCreatedEvent)
        self.assertEqual("NEW", self.sim_order(order_id)[0]["status"])
        self.sim.set_index_price(SYMBOL, limit - 50)
        await self.venue.wait_for_event(BuyOrderCompletedEvent)
        fill = self.venue.events_of(OrderFilledEvent)[0]
        self.assertLessEqual(fill.price, limit)
        self.assertEqual("FILLED", self.sim_order(order_id)[0]["status"])

    async def test_cancel_a_resting_limit_order(self):
        mark = self.connector.get_funding_info(PAIR).mark_price
        order_id = self.connector.sell(PAIR, Decimal("0.0100"), OrderType.LIMIT,
                                       (mark * Decimal("1.05")).quantize(Decimal("0.1")),
                                       position_action=PositionAction.OPEN)
        await wait_until(lambda: order_id in self.connector.in_flight_orders
                         and self.connector.in_flight_orders[order_id].exchange_order_id is not None, what="created")
        self.connector.cancel(PAIR, order_id)
        cancelled = (await self.venue.wait_for_event(OrderCancelledEvent))[0]
        self.assertEqual(order_id, cancelled.order_id)
        self.assertEqual("CANCELLED", self.sim_order(order_id)[0]["status"])
        self.assertNotIn(order_id, self.connector.in_flight_orders)

    async def test_reduce_only_close_flattens_the_position(self):
        self.connector.buy(PAIR, Decimal("0.0300"), OrderType.MARKET, position_action=PositionAction.OPEN)
        await self.venue.wait_for_event(BuyOrderCompletedEvent)
        await wait_until(lambda: self.position() is not None, what="long position")
        self.connector.sell(PAIR, Decimal("0.0300"), OrderType.MARKET, position_action=PositionAction.CLOSE)
        await self.venue.wait_for_event(SellOrderCompletedEvent)
        await wait_until(lambda: self.position() is None, what="flat position")
        closing = [row for row in self.sim.orders(self.venue.account.primary_address) if not row["isBuy"]]
        self.assertTrue(closing[0]["reduceOnly"])

    async def test_reduce_only_that_would_increase_is_rejected_with_vest_code(self):
        self.connector.sell(PAIR, Decimal("0.0100"), OrderType.MARKET, position_action=PositionAction.CLOSE)
        failure = (await self.venue.wait_for_event(MarketOrderFailureEvent))[0]
        self.assertEqual("REDUCE_ONLY_INCREASES", failure.error_type)
        self.assertIn("3018", failure.error_message)

    async def test_leverage_change_reaches_the_venue(self):
        self.connector.set_leverage(PAIR, 5)
        await wait_until(lambda: self.connector.get_leverage(PAIR) == 5, what="leverage 5")
        self.assertEqual(5, self.sim.engine.accounts[self.venue.account.primary_address.lower()].leverages[SYMBOL])

    async def test_balance_and_position_after_fills(self):
        self.connector.sell(PAIR, Decimal("0.0500"), OrderType.MARKET, position_action=PositionAction.OPEN)
        await self.venue.wait_for_event(SellOrderCompletedEvent)
        await wait_until(lambda: self.position() is not None, what="short position")
        position = self.position()
        self.assertEqual(PositionSide.SHORT, position.position_side)
        self.assertEqual(Decimal("-0.0500"), position.amount)
        venue_fill = self.sim.fills(self.venue.account.primary_address)[0]
        expected_balance = self.venue.balance + venue_fill.realized_pnl  # fee and premium settle into collateral
        await wait_until(lambda: self.connector.get_balance(CONSTANTS.COLLATERAL_TOKEN) == expected_balance,
                         what=f"balance {expected_balance}")
        self.assertLess(self.connector.get_available_balance(CONSTANTS.COLLATERAL_TOKEN), expected_balance)

    async def test_margin_rejection_becomes_failure_event_with_code_and_name(self):
        self.connector.buy(PAIR, Decimal("500.0000"), OrderType.MARKET, position_action=PositionAction.OPEN)
        failure = (await self.venue.wait_for_event(MarketOrderFailureEvent))[0]
        self.assertEqual("MARGIN_CHECK_FAILED", failure.error_type)
        self.assertIn("3002", failure.error_message)

    async def test_order_with_dropped_response_is_recovered_by_nonce(self):
        self.sim.faults.set(drop_order_response=1)
        order_id = self.connector.buy(PAIR, Decimal("0.0100"), OrderType.MARKET, position_action=PositionAction.OPEN)
        await self.venue.wait_for_event(BuyOrderCompletedEvent)
        rows = self.sim_order(order_id)
        self.assertEqual(1, len(rows))  # no duplicate on the venue
        tracked = self.connector._order_tracker.all_orders.get(order_id) or \
            self.connector._order_tracker.cached_orders.get(order_id)
        self.assertEqual(rows[0]["id"], tracked.exchange_order_id)
        self.assertEqual(OrderState.FILLED, tracked.current_state)
        self.assertEqual(0, len(self.venue.events_of(MarketOrderFailureEvent)))
