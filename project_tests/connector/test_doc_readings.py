"""Where Vest's docs are ambiguous, the connector works under every reading the simulator can play (§7.12, §7.13):
leverage parameters in the body or the query, halts shown in the ticker or in exchangeInfo, a market whose session
closes and reopens, a closed market refused at once or after acceptance, and the cancel as the docs show it."""
from decimal import Decimal

from hummingbot.core.data_type.common import OrderType, PositionAction
from hummingbot.core.event.events import BuyOrderCreatedEvent, MarketOrderFailureEvent, OrderCancelledEvent
from project_tests.connector.simulated_venue import SimulatedVenue, wait_until
from test.isolated_asyncio_wrapper_test_case import IsolatedAsyncioWrapperTestCase

PAIR, SYMBOL = "BTC-USDC", "BTC-PERP"
SIZE = Decimal("0.0100")
DAY_MS = 24 * 60 * 60 * 1000


class DocReadingTests(IsolatedAsyncioWrapperTestCase):
    async def asyncSetUp(self):
        await super().asyncSetUp()
        self.venue = await SimulatedVenue(trading_pairs=[PAIR]).start()
        self.connector, self.sim = self.venue.connector, self.venue.sim

    async def asyncTearDown(self):
        await self.venue.close()
        await super().asyncTearDown()

    def venue_orders(self):
        return self.sim.orders(self.venue.account.primary_address)

    def resting_buy(self) -> str:
        """A LIMIT buy far below the market: it rests."""
        price = self.connector.get_price(PAIR, False) * Decimal("0.5")
        return self.connector.buy(PAIR, SIZE, OrderType.LIMIT, price, position_action=PositionAction.OPEN)

    async def failure_of(self, order_id: str) -> MarketOrderFailureEvent:
        await wait_until(lambda: any(e.order_id == order_id for e in self.venue.events_of(MarketOrderFailureEvent)),
                         what=f"failure of {order_id}")
        return next(e for e in self.venue.events_of(MarketOrderFailureEvent) if e.order_id == order_id)

    async def created(self, order_id: str):
        await wait_until(lambda: any(e.order_id == order_id for e in self.venue.events_of(BuyOrderCreatedEvent)),
                         what=f"creation of {order_id}")

    async def test_leverage_is_set_whether_vest_reads_the_body_or_the_query(self):
        # §3.5: "Parameters" may mean the query string (the docs' usage) or a JSON body (what clients send).
        for reading, leverage in (("body", 3), ("query", 4), ("either", 6)):
            with self.subTest(leverage_params=reading):
                self.sim.faults.set(leverage_params=reading)
                self.assertEqual((True, ""), await self.connector._set_trading_pair_leverage(PAIR, leverage))
                await self.connector._update_account()
                self.assertEqual(leverage, self.connector.get_leverage(PAIR))

    async def test_the_cancel_is_accepted_with_or_without_the_time_query(self):
        # §3.7: the docs show no query string; one server was seen to want `?time=`. The connector sends both.
        for requires_query in (False, True):
            with self.subTest(cancel_requires_time_query=requires_query):
                self.sim.faults.set(cancel_requires_time_query=requires_query)
                order_id = self.resting_buy()
                await self.created(order_id)
                self.assertEqual(order_id, await self.connector._execute_cancel(PAIR, order_id))
                await wait_until(lambda: any(e.order_id == order_id
                                             for e in self.venue.events_of(OrderCancelledEvent)))

    async def test_a_halt_shown_in_the_ticker_stops_orders_until_the_market_trades_again(self):
        resting = self.resting_buy()
        await self.created(resting)
        self.sim.set_market_status(SYMBOL, "HALT")
        await wait_until(lambda: self.connector.is_halted(PAIR), what="the halt from the tickers push")
        self.assertNotIn(PAIR, await self.connector.all_trading_pairs())
        before = len(self.venue_orders())
        refused = self.resting_buy()
        failure = await self.failure_of(refused)
        self.assertEqual("MARKET_CLOSED", failure.error_type)
        self.assertEqual(before, len(self.venue_orders()))  # refused here, never sent
        self.assertIn(resting, self.connector.in_flight_orders)  # the open order stays tracked

        self.sim.set_market_status(SYMBOL, "TRADING")
        await wait_until(lambda: not self.connector.is_halted(PAIR), what="the market trading again")
        accepted = self.resting_buy()
        await self.created(accepted)
        self.assertIn(PAIR, await self.connector.all_trading_pairs())

    async def test_a_halt_shown_only_in_exchange_info_is_seen_at_the_trading_rules_refresh(self):
        self.sim.faults.set(halt_flag_in="exchange_info")
        self.sim.set_market_status(SYMBOL, "HALT")
        await self.connector._update_trading_rules()
        self.assertTrue(self.connector.is_halted(PAIR))
        self.assertEqual("MARKET_CLOSED", (await self.failure_of(self.resting_buy())).error_type)
        self.sim.set_market_status(SYMBOL, "TRADING")
        await self.connector._update_trading_rules()
        self.assertFalse(self.connector.is_halted(PAIR))

    async def test_an_order_sent_before_the_connector_saw_the_halt_fails_with_vest_s_code(self):
        # Vest's reply to a closed market may be an immediate 1148 or an accepted order REJECTED with 3024.
        self.sim.faults.set(halt_flag_in="exchange_info")  # the connector does not see this halt before the refresh
        for reply in ("http_1148", "rejected_3024"):
            with self.subTest(closed_market_reply=reply):
                self.sim.faults.set(closed_market_reply=reply)
                self.sim.set_market_status(SYMBOL, "HALT")
                failure = await self.failure_of(self.resting_buy())
                self.assertEqual("MARKET_CLOSED", failure.error_type)
                self.sim.set_market_status(SYMBOL, "TRADING")

    async def test_a_market_session_closes_and_reopens(self):
        # Equity, FX and index perps keep market hours: closed from 22:00 to 24:00 UTC here.
        midnight = self.sim.now_ms() // DAY_MS * DAY_MS
        self.sim.faults.set(market_hours={SYMBOL: (0, 22 * 3600)})
        self.sim.set_clock(midnight + 23 * 3600 * 1000)
        await wait_until(lambda: self.connector.is_halted(PAIR), what="the session to close")
        self.assertEqual("MARKET_CLOSED", (await self.failure_of(self.resting_buy())).error_type)
        self.sim.set_clock(midnight + DAY_MS + 3600 * 1000)
        await wait_until(lambda: not self.connector.is_halted(PAIR), what="the session to reopen")
        # The simulator's clock jumped a day: the connector re-samples Vest's clock before signing again (§4.9).
        self.connector._time_synchronizer.clear_time_offset_ms_samples()
        await self.connector._update_time_synchronizer()
        await self.created(self.resting_buy())
