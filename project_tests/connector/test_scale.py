"""At the limits, over loopback against the simulator: orders and cancels queued longer than their signed window,
a venue enforcing rate limits, both readings of Vest's nonce rule, silent streams and a request never answered.

Each test starts its own `SimulatedVenue`; waits are condition polls with timeouts.
"""
import asyncio
from decimal import Decimal
from typing import List
from unittest.mock import patch

from hummingbot.connector.derivative.vest_perpetual import vest_perpetual_constants as CONSTANTS
from hummingbot.core.data_type.common import OrderType, PositionAction
from hummingbot.core.event.events import (
    BuyOrderCreatedEvent,
    MarketOrderFailureEvent,
    OrderCancelledEvent,
    OrderFilledEvent,
)
from project_tests.connector.simulated_venue import SimulatedVenue, wait_until
from test.isolated_asyncio_wrapper_test_case import IsolatedAsyncioWrapperTestCase

BTC, BTC_SYMBOL = "BTC-USDC", "BTC-PERP"
SIZE = Decimal("0.0010")
RESTING_DISTANCE = Decimal("0.95")  # a buy trigger 5 % under the mark rests
# Every limit at a tenth (orders and cancels 2/s): 24 of each wait up to 12 s in line, past the 10 s signed window.
RATE_SHARE = Decimal("10")
QUEUED_ORDERS = 24


class ScaleTestCase(IsolatedAsyncioWrapperTestCase):
    async def start_venue(self, **kwargs) -> SimulatedVenue:
        venue = await SimulatedVenue([BTC], **kwargs).start()
        self.addAsyncCleanup(venue.close)
        return venue

    @staticmethod
    def resting_price(venue: SimulatedVenue) -> Decimal:
        mark = venue.connector.get_funding_info(BTC).mark_price
        return venue.connector.quantize_order_price(BTC, mark * RESTING_DISTANCE)

    def buy(self, venue: SimulatedVenue, price: Decimal) -> str:
        return venue.connector.buy(BTC, SIZE, OrderType.LIMIT, price, position_action=PositionAction.OPEN)

    async def place_resting(self, venue: SimulatedVenue, count: int, timeout: float = 20) -> List[str]:
        price = self.resting_price(venue)
        order_ids = [self.buy(venue, price) for _ in range(count)]
        await wait_until(lambda: self.created(venue) >= set(order_ids) or self.failures(venue), timeout=timeout,
                         what=f"{count} orders created")
        self.assertEqual([], self.failures(venue))
        return order_ids

    @staticmethod
    def created(venue: SimulatedVenue) -> set:
        return {event.order_id for event in venue.events_of(BuyOrderCreatedEvent)}

    @staticmethod
    def failures(venue: SimulatedVenue) -> List[str]:
        return [f"{event.order_id}: {event.error_type} {event.error_message}"
                for event in venue.events_of(MarketOrderFailureEvent)]

    @staticmethod
    def open_on_venue(venue: SimulatedVenue) -> List[dict]:
        return [row for row in venue.sim.orders() if row["status"] in ("NEW", "PARTIALLY_FILLED")]

    @staticmethod
    def requests_to(venue: SimulatedVenue, method: str, path: str) -> int:
        return sum(count for (verb, full_path), count in venue.sim.request_counts.items()
                   if verb == method and full_path.endswith(path))


class QueuedPastTheSignedWindowTest(ScaleTestCase):
    async def test_orders_and_cancels_queued_longer_than_their_window_are_all_accepted(self):
        # §4.9: an action is stamped and signed when the throttler lets it go, so waiting in line cannot expire it.
        # The connector's share allows 2 a second; the venue takes 3, so a request that reaches it early (arrival
        # jitter on a loaded machine; Hummingbot's throttler spaces requests by when they leave) is not a breach.
        limits_per_second = {"POST /orders": 3, "POST /orders/cancel": 3}
        venue = await self.start_venue(connector_kwargs={"rate_limits_share_pct": RATE_SHARE})
        venue.sim.faults.set(rate_limits={route: (count, 1.0) for route, count in limits_per_second.items()})
        started = asyncio.get_running_loop().time()
        order_ids = await self.place_resting(venue, QUEUED_ORDERS, timeout=30)
        queued_for = asyncio.get_running_loop().time() - started
        self.assertGreater(queued_for * 1e3, CONSTANTS.RECV_WINDOW_MS)  # the last ones waited past their window
        self.assertEqual(QUEUED_ORDERS, len(self.open_on_venue(venue)))

        results = await venue.connector.cancel_all(timeout_seconds=20)
        self.assertEqual({order_id: True for order_id in order_ids},
                         {result.order_id: result.success for result in results})
        self.assertEqual([], self.open_on_venue(venue))
        self.assertEqual([], venue.sim.rate_limit_breaches())  # the connector kept under the venue's limits


class RateLimitedByTheVenueTest(ScaleTestCase):
    async def test_orders_refused_for_rate_are_waited_out_and_all_placed(self):
        # §6.5: the venue's limit (3 orders a second) is stricter than the connector's guess (20).
        for code in (1003, 429):
            with self.subTest(rate_limit_code=code):
                venue = await self.start_venue()
                venue.sim.faults.set(rate_limits={"POST /orders": (3, 1.0)}, rate_limit_code=code)
                order_ids = await self.place_resting(venue, 9)
                self.assertLessEqual(set(order_ids), self.created(venue))
                self.assertTrue(venue.sim.rate_limit_breaches())  # the venue did refuse some
                self.assertEqual(9, len(self.open_on_venue(venue)))
                await venue.close()


class NonceReadingsTest(ScaleTestCase):
    async def test_concurrent_placement_and_cancellation_keep_nonce_order_under_each_reading(self):
        # §4.8 / §9: Vest does not say whether nonces must only be unique or also increase; both must hold.
        for policy in ("unique", "increasing"):
            with self.subTest(nonce_policy=policy):
                venue = await self.start_venue()
                venue.sim.faults.set(nonce_policy=policy)
                first = await self.place_resting(venue, 10)
                price = self.resting_price(venue)
                second = [self.buy(venue, price) for _ in range(10)]
                for order_id in first:
                    venue.connector.cancel(BTC, order_id)
                await wait_until(lambda: self.created(venue) >= set(second) and
                                 len(venue.events_of(OrderCancelledEvent)) == len(first), timeout=20,
                                 what="10 placed while 10 cancelled")
                self.assertEqual([], self.failures(venue))
                self.assertEqual(sorted(second), sorted(row_id for row_id in self.client_ids_open(venue)))
                self.assertEqual(1, self.requests_to(venue, "GET", "/account/nonce"))  # never re-seeded
                await venue.close()

    @staticmethod
    def client_ids_open(venue: SimulatedVenue) -> List[str]:
        journal = venue.connector.order_journal
        return [journal.get(row["nonce"]).client_order_id for row in venue.sim.orders()
                if row["status"] == "NEW"]

    async def test_an_invalid_nonce_is_recovered_by_reading_vests_last_nonce(self):
        # Another client with the same key moved Vest's lastNonce far ahead: 1023, then a re-seed and one retry.
        venue = await self.start_venue()
        venue.sim.faults.set(nonce_policy="increasing")
        account = venue.sim.engine.accounts[venue.account.primary_address.lower()]
        account.last_nonce = venue.connector._nonces.next() + 10 ** 9
        [order_id] = await self.place_resting(venue, 1)
        self.assertEqual(2, self.requests_to(venue, "GET", "/account/nonce"))
        self.assertGreater(venue.connector.order_journal.nonce_of(order_id), account.last_nonce - 1)


class SilentStreamsTest(ScaleTestCase):
    async def test_a_silent_public_stream_is_replaced_and_the_connector_is_not_ready_meanwhile(self):
        with patch.object(CONSTANTS, "PUBLIC_STREAM_SILENCE_SECONDS", 1.0):
            venue = await self.start_venue()
            self.assertEqual(1, venue.sim.silence_websockets(public=True, private=False))
            await wait_until(lambda: not venue.connector.ready, timeout=5, what="not ready while silent")
            self.assertFalse(venue.connector.status_dict["market_data_fresh"])
            await wait_until(lambda: venue.connector.ready, timeout=10, what="ready again on a new connection")
        book = venue.connector.get_order_book(BTC)
        uid = book.snapshot_uid
        await wait_until(lambda: book.snapshot_uid > uid, timeout=5, what="the book moving again")

    async def test_a_private_stream_carrying_nothing_is_polled_and_reconnected(self):
        # The socket stays open and answers PINGs, but a fill's event never comes: a poll finds the fill and the
        # stream is started again.
        with patch.object(CONSTANTS, "PRIVATE_STREAM_SILENCE_SECONDS", 1.0):
            venue = await self.start_venue()
            [order_id] = await self.place_resting(venue, 1)
            self.assertEqual(1, venue.sim.silence_websockets(public=False, private=True))
            listen_keys = self.requests_to(venue, "POST", "/account/listenKey")
            venue.sim.set_index_price(BTC_SYMBOL, self.resting_price(venue) * Decimal("0.99"))
            await wait_until(lambda: venue.events_of(OrderFilledEvent), timeout=15, what="the fill, by a poll")
            self.assertEqual(order_id, venue.events_of(OrderFilledEvent)[0].order_id)
            await wait_until(lambda: self.requests_to(venue, "POST", "/account/listenKey") > listen_keys,
                             timeout=10, what="a new private connection")


class UnansweredRequestTest(ScaleTestCase):
    async def test_an_order_never_answered_stops_waiting_at_the_request_timeout_and_is_looked_up(self):
        with patch.object(CONSTANTS, "REQUEST_TIMEOUT_SECONDS", 1.0):
            venue = await self.start_venue()
            venue.sim.faults.set(stall_order_requests=1)
            price = self.resting_price(venue)
            reads_before = self.requests_to(venue, "GET", "/orders")
            started = asyncio.get_running_loop().time()
            order_id = self.buy(venue, price)
            await wait_until(lambda: self.requests_to(venue, "GET", "/orders") > reads_before, timeout=5,
                             what="the look-up by nonce after the timeout")
            self.assertLess(asyncio.get_running_loop().time() - started, 3)  # not aiohttp's 5 minutes
            order = venue.connector.in_flight_orders[order_id]
            self.assertFalse(order.is_done)  # not failed: Vest may still book it
