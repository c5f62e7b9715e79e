"""What the generic suite cannot see: Vest's signing, nonces, lost answers, rejection codes, partial events,
fill de-duplication, account polling, funding from fills, error envelopes and secret hygiene.

REST is mocked with `aioresponses` only; `_sleep` is patched where the nonce lookup's retry delay would be in the
way. Section numbers refer to docs/vest-protocol.md.
"""
import asyncio
import inspect
import json
import logging
import os
import re
import time
from decimal import Decimal
from pathlib import Path
from typing import Any, Dict, List, Optional
from unittest.mock import AsyncMock, patch

import aiohttp
from aioresponses import CallbackResult, aioresponses
from bidict import bidict
from pydantic import SecretStr
from yarl import URL

import hummingbot
from hummingbot.connector.derivative.vest_perpetual import (
    vest_perpetual_constants as CONSTANTS,
    vest_perpetual_utils as utils,
)
from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_derivative import (
    NonceSource,
    VestPerpetualDerivative,
    VestTimeSynchronizer,
    client_order_id_for_nonce,
    nonce_of_client_order_id,
)
from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_messages import VestAPIError, VestMessageError
from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_order_journal import OrderJournal, PlacedOrder
from hummingbot.connector.time_synchronizer import TimeSynchronizer
from hummingbot.core.data_type.common import OrderType, PositionAction, PositionMode, PositionSide, TradeType
from hummingbot.core.data_type.funding_info import FundingInfo
from hummingbot.core.data_type.in_flight_order import OrderState, OrderUpdate
from hummingbot.core.data_type.order_book import OrderBook
from hummingbot.core.data_type.order_book_row import OrderBookRow
from hummingbot.core.data_type.order_book_tracker import OrderBookTracker
from hummingbot.core.data_type.trade_fee import AddedToCostTradeFee, DeductedFromReturnsTradeFee, TokenAmount
from hummingbot.core.event.event_logger import EventLogger
from hummingbot.core.event.events import MarketEvent, MarketOrderFailureEvent, OrderFilledEvent
from test.hummingbot.connector.derivative.vest_perpetual.test_vest_perpetual_derivative import (
    API_KEY,
    SIGNER_ADDRESS,
    SIGNING_KEY,
    account_response,
    error_body,
    exchange_info,
    order_event,
    position_row,
    recover_cancel_signer,
    recover_order_signer,
    rest_url,
    symbol_row,
    url_with_query,
    use_temporary_data_path,
    wait_until,
)
from test.isolated_asyncio_wrapper_test_case import IsolatedAsyncioWrapperTestCase

PAIR, SYMBOL = "BTC-USDC", "BTC-PERP"
ETH_PAIR, ETH_SYMBOL = "ETH-USDC", "ETH-PERP"
NOW = 1_700_000_000.0
ORDER_ID = "0x" + "ab" * 32


def markets_info() -> Dict[str, Any]:
    """BTC-PERP with 4 size / 1 price decimals, ETH-PERP with 3 / 2: decimals are per symbol (§2.1)."""
    return exchange_info(
        symbol_row(symbol=SYMBOL, base="BTC", quote="USDC", size_decimals=4, price_decimals=1, takerFee="0.0002"),
        symbol_row(symbol=ETH_SYMBOL, base="ETH", quote="USDC", size_decimals=3, price_decimals=2))


def posts(mock: aioresponses, path: str) -> List[Any]:
    return mock.requests.get(("POST", URL(rest_url(path))), [])


def calls(mock: aioresponses, method: str, pattern: re.Pattern) -> List[Any]:
    return [call for (verb, url), recorded in mock.requests.items()
            if verb == method and pattern.match(str(url)) for call in recorded]


def row(order_id: str = ORDER_ID, nonce: int = 1, status: str = "NEW", symbol: str = SYMBOL, is_buy: bool = True,
        size: str = "1.0000", price: str = "30000.0", fill_size: Optional[str] = None,
        fill_price: Optional[str] = None, fill_time: Optional[int] = None, fees: str = "0",
        settled_funding: Optional[str] = None, reduce_only: bool = False) -> Dict[str, Any]:
    return {"id": order_id, "nonce": nonce, "symbol": symbol, "isBuy": is_buy, "orderType": "LIMIT",
            "limitPrice": price, "markPrice": price, "size": size, "status": status, "reduceOnly": reduce_only,
            "initMarginRatio": "0.1", "code": None, "lastFilledSize": fill_size, "lastFilledPrice": fill_price,
            "lastFilledTime": fill_time, "avgFilledPrice": fill_price, "settledFunding": settled_funding,
            "fees": fees, "realizedPnl": None, "postTime": 1700000000000, "tpPrice": None, "slPrice": None}


class VestPerpetualDerivativeVestSpecificTests(IsolatedAsyncioWrapperTestCase):
    level = 1

    def setUp(self) -> None:
        super().setUp()
        use_temporary_data_path(self)
        # Safety net: the venue is a closed local port, so a request that no mock catches (e.g. one made after a
        # mock's scope) is refused instead of reaching the real venue. Mocked URLs are built from the same setting.
        self._network_guard = patch.dict(os.environ, {CONSTANTS.REST_URL_ENV_VAR: "http://127.0.0.1:9/v2",
                                                      CONSTANTS.WS_URL_ENV_VAR: "ws://127.0.0.1:9/ws-api"})
        self._network_guard.start()
        self.log_records: List[logging.LogRecord] = []
        self.exchange = self.create_exchange()

    async def asyncSetUp(self) -> None:
        await super().asyncSetUp()
        with aioresponses() as mock:
            mock.get(rest_url(CONSTANTS.EXCHANGE_INFO_PATH_URL), body=json.dumps(markets_info()))
            await self.exchange._update_trading_rules()

    def create_exchange(self, domain: str = CONSTANTS.DOMAIN, observe: bool = True,
                        **kwargs) -> VestPerpetualDerivative:
        """A connector with logs captured; with `observe`, its events go to `self.events` (replacing the last)."""
        params = dict(vest_perpetual_api_key=API_KEY, vest_perpetual_signing_private_key=SIGNING_KEY,
                      vest_perpetual_account_group=0, trading_pairs=[PAIR, ETH_PAIR], domain=domain)
        params.update(kwargs)
        exchange = VestPerpetualDerivative(**params)
        exchange.logger().setLevel(1)
        exchange.logger().addHandler(self)
        exchange._order_tracker.logger().setLevel(1)
        exchange._order_tracker.logger().addHandler(self)
        exchange._time_synchronizer.add_time_offset_ms_sample(0)
        exchange._set_current_timestamp(NOW)
        if not observe:
            return exchange
        self.events = {event: EventLogger() for event in (
            MarketEvent.BuyOrderCreated, MarketEvent.SellOrderCreated, MarketEvent.OrderFailure,
            MarketEvent.OrderCancelled, MarketEvent.OrderFilled, MarketEvent.BuyOrderCompleted,
            MarketEvent.FundingPaymentCompleted)}
        for event, event_logger in self.events.items():
            exchange.add_listener(event, event_logger)
        return exchange

    def tearDown(self) -> None:
        self._network_guard.stop()
        self.exchange.logger().removeHandler(self)
        self.exchange._order_tracker.logger().removeHandler(self)
        super().tearDown()

    # logging.Handler protocol
    def handle(self, record: logging.LogRecord):
        self.log_records.append(record)

    def is_logged(self, level: str, text: str, partial: bool = False) -> bool:
        return any(r.levelname == level and (text in r.getMessage() if partial else text == r.getMessage())
                   for r in self.log_records)

    def events_of(self, event: MarketEvent) -> List[Any]:
        return self.events[event].event_log

    async def feed_user_stream(self, *messages):
        queue = AsyncMock()
        queue.get.side_effect = list(messages) + [asyncio.CancelledError]
        self.exchange._user_stream_tracker._user_stream = queue
        try:
            await self.exchange._user_stream_event_listener()
        except asyncio.CancelledError:
            pass

    def track(self, client_order_id: str = "vest-1", exchange_order_id: Optional[str] = ORDER_ID,
              trade_type: TradeType = TradeType.BUY, amount: str = "1", price: str = "30000",
              position_action: PositionAction = PositionAction.OPEN):
        self.exchange.start_tracking_order(order_id=client_order_id, exchange_order_id=exchange_order_id,
                                           trading_pair=PAIR, trade_type=trade_type, price=Decimal(price),
                                           amount=Decimal(amount), order_type=OrderType.LIMIT,
                                           position_action=position_action)
        return self.exchange.in_flight_orders[client_order_id]

    def set_mark_price(self, mark: str, trading_pair: str = PAIR):
        self.exchange._perpetual_trading.initialize_funding_info(FundingInfo(
            trading_pair=trading_pair, index_price=Decimal(mark), mark_price=Decimal(mark),
            next_funding_utc_timestamp=1700003600, rate=Decimal("0.0001")))

    async def place(self, mock: aioresponses, side: TradeType = TradeType.BUY, **kwargs) -> str:
        """Places an order through the public entry point and waits for its creation or failure."""
        kwargs.setdefault("amount", Decimal("1"))
        kwargs.setdefault("price", Decimal("30000"))
        kwargs.setdefault("order_type", OrderType.LIMIT)
        kwargs.setdefault("position_action", PositionAction.OPEN)
        place = self.exchange.buy if side is TradeType.BUY else self.exchange.sell
        order_id = place(PAIR if "trading_pair" not in kwargs else kwargs.pop("trading_pair"), **kwargs)
        created = MarketEvent.BuyOrderCreated if side is TradeType.BUY else MarketEvent.SellOrderCreated
        await wait_until(lambda: any(e.order_id == order_id for e in self.events_of(created) +
                                     self.events_of(MarketEvent.OrderFailure)), max_yields=500)
        return order_id

    def sent_order(self, mock: aioresponses, index: int = -1) -> Dict[str, Any]:
        return json.loads(posts(mock, CONSTANTS.ORDERS_PATH_URL)[index].kwargs["data"])

    # =========================================================================================== placing orders
    async def test_market_buy_and_sell_sign_mark_price_with_slippage_quantized_to_price_decimals(self):
        self.set_mark_price("30123.45")  # BTC-PERP has 1 price decimal
        with aioresponses() as mock:
            mock.post(rest_url(CONSTANTS.ORDERS_PATH_URL), body=json.dumps({"id": ORDER_ID}), repeat=True)
            # A price passed with a MARKET order is not what gets signed: the worst price comes from the mark.
            await self.place(mock, TradeType.BUY, order_type=OrderType.MARKET, price=Decimal("1"))
            await self.place(mock, TradeType.SELL, order_type=OrderType.MARKET, price=Decimal("1"))
            buy, sell = self.sent_order(mock, 0), self.sent_order(mock, 1)

        # 30123.45 x 1.02 = 30725.919 -> 30725.9 ; 30123.45 x 0.98 = 29520.981 -> 29521.0
        self.assertEqual("30725.9", buy["order"]["limitPrice"])
        self.assertEqual("29521.0", sell["order"]["limitPrice"])
        for body, is_buy in ((buy, True), (sell, False)):
            self.assertEqual("MARKET", body["order"]["orderType"])
            self.assertEqual(is_buy, body["order"]["isBuy"])
            self.assertNotIn("timeInForce", body["order"])  # §3.6: only accepted with LIMIT
            self.assertEqual(SIGNER_ADDRESS, recover_order_signer(body["order"], body["signature"]))

    async def test_market_order_without_funding_info_uses_the_order_book_price(self):
        book = OrderBook()
        book.apply_snapshot([OrderBookRow(29990.0, 1.0, 1)], [OrderBookRow(30010.0, 1.0, 1)], 1)
        self.exchange.order_book_tracker._order_books[PAIR] = book
        slippage_exchange = self.create_exchange(vest_perpetual_market_order_slippage=Decimal("0.01"))
        slippage_exchange._trading_rules = self.exchange._trading_rules
        slippage_exchange._markets = self.exchange._markets
        slippage_exchange._set_trading_pair_symbol_map(bidict({SYMBOL: PAIR}))
        slippage_exchange.order_book_tracker._order_books[PAIR] = book
        self.exchange = slippage_exchange
        with aioresponses() as mock:
            mock.post(rest_url(CONSTANTS.ORDERS_PATH_URL), body=json.dumps({"id": ORDER_ID}))
            await self.place(mock, TradeType.BUY, order_type=OrderType.MARKET)
            self.assertEqual("30310.1", self.sent_order(mock)["order"]["limitPrice"])  # best ask 30010 x 1.01

    async def test_limit_order_sends_gtc_and_exact_decimals_and_a_verifiable_signature(self):
        with aioresponses() as mock:
            mock.post(rest_url(CONSTANTS.ORDERS_PATH_URL), body=json.dumps({"id": ORDER_ID}), repeat=True)
            order_id = await self.place(mock, TradeType.BUY, trading_pair=ETH_PAIR, amount=Decimal("0.1"),
                                        price=Decimal("2000"))
            eth = self.sent_order(mock)
            await self.place(mock, TradeType.SELL, amount=Decimal("0.25"), price=Decimal("30000.5"))
            btc = self.sent_order(mock)

        self.assertEqual({"time", "nonce", "symbol", "isBuy", "size", "orderType", "limitPrice", "reduceOnly",
                          "timeInForce"}, set(eth["order"]))
        self.assertEqual(ETH_SYMBOL, eth["order"]["symbol"])
        self.assertEqual("0.100", eth["order"]["size"])  # sizeDecimals 3
        self.assertEqual("2000.00", eth["order"]["limitPrice"])  # priceDecimals 2
        self.assertEqual("GTC", eth["order"]["timeInForce"])
        self.assertEqual(self.exchange.order_journal.nonce_of(order_id), eth["order"]["nonce"])
        self.assertEqual(SIGNER_ADDRESS, recover_order_signer(eth["order"], eth["signature"]))
        self.assertEqual("0.2500", btc["order"]["size"])  # sizeDecimals 4
        self.assertEqual("30000.5", btc["order"]["limitPrice"])  # priceDecimals 1
        self.assertEqual(SIGNER_ADDRESS, recover_order_signer(btc["order"], btc["signature"]))
        # A body that differs from what was signed (here "0.1" instead of "0.100") does not verify.
        tampered = dict(eth["order"], size="0.1")
        self.assertNotEqual(SIGNER_ADDRESS, recover_order_signer(tampered, eth["signature"]))

    async def test_reduce_only_is_sent_for_close_orders_only(self):
        with aioresponses() as mock:
            mock.post(rest_url(CONSTANTS.ORDERS_PATH_URL), body=json.dumps({"id": ORDER_ID}), repeat=True)
            await self.place(mock, TradeType.SELL, position_action=PositionAction.CLOSE)
            await self.place(mock, TradeType.SELL, position_action=PositionAction.OPEN)
            close, open_ = self.sent_order(mock, 0), self.sent_order(mock, 1)
        self.assertTrue(close["order"]["reduceOnly"])
        self.assertFalse(open_["order"]["reduceOnly"])
        self.assertEqual(SIGNER_ADDRESS, recover_order_signer(close["order"], close["signature"]))

    async def test_signed_actions_leave_in_nonce_order_from_a_seed_read_from_the_account_nonce(self):
        seed = 9 * 10 ** 15  # far above the clock, so only the seed explains the values
        with aioresponses() as mock:
            mock.get(url_with_query(CONSTANTS.ACCOUNT_NONCE_PATH_URL), body=json.dumps({"lastNonce": seed}))
            mock.post(rest_url(CONSTANTS.ORDERS_PATH_URL), body=json.dumps({"id": ORDER_ID}), repeat=True)
            mock.post(url_with_query(CONSTANTS.CANCEL_ORDER_PATH_URL), body=json.dumps({"id": ORDER_ID}))
            await self.exchange._seed_nonce()
            nonce_request = calls(mock, "GET", url_with_query(CONSTANTS.ACCOUNT_NONCE_PATH_URL))[0]
            ids = [self.exchange.buy(PAIR, Decimal("1"), OrderType.LIMIT, Decimal("30000"),
                                     position_action=PositionAction.OPEN) for _ in range(3)]
            await wait_until(lambda: len(self.events_of(MarketEvent.BuyOrderCreated)) == 3, max_yields=500)
            await self.exchange._execute_cancel(PAIR, ids[0])  # every signed action shares the counter
            sent = [json.loads(call.kwargs["data"])["order"]["nonce"]
                    for call in posts(mock, CONSTANTS.ORDERS_PATH_URL)]
            cancel_nonce = json.loads(calls(mock, "POST", url_with_query(CONSTANTS.CANCEL_ORDER_PATH_URL))[0]
                                      .kwargs["data"])["order"]["nonce"]
        self.assertIn("time", nonce_request.kwargs["params"])  # required (observed)
        self.assertEqual([f"vest-{seed + 1}", f"vest-{seed + 2}", f"vest-{seed + 3}"], ids)  # reserved at buy()
        self.assertEqual(sorted(sent), sent)  # signed as they leave: in the order they leave
        self.assertEqual([seed + 1, seed + 2, seed + 3], sent)  # left in the order reserved: ids name them on Vest
        self.assertGreater(cancel_nonce, sent[-1])
        self.assertEqual(set(sent), {self.exchange.order_journal.nonce_of(order_id) for order_id in ids})

    async def test_nonce_seed_failure_falls_back_to_time_based_nonces(self):
        with aioresponses() as mock:
            mock.get(url_with_query(CONSTANTS.ACCOUNT_NONCE_PATH_URL), status=422, body=json.dumps(
                {"detail": [{"type": "missing", "loc": ["query", "time"], "msg": "Field required", "input": None}]}))
            await self.exchange._seed_nonce()
        self.assertTrue(self.is_logged("WARNING", "Could not read the last nonce from Vest", partial=True))
        self.assertGreater(self.exchange._nonces.next(), 0)

    def test_nonce_source_never_goes_back(self):
        clock = iter([1000, 1000, 999, 5000, 10])
        source = NonceSource(lambda: next(clock))
        source.seed(1500)
        source.seed(10)  # a lower seed never lowers the counter
        self.assertEqual([1501, 1502, 1503, 5000, 5001], [source.next() for _ in range(5)])
        self.assertEqual("vest-42", client_order_id_for_nonce(42))
        self.assertEqual(42, nonce_of_client_order_id("vest-42"))
        self.assertIsNone(nonce_of_client_order_id("vest-abc"))
        self.assertIsNone(nonce_of_client_order_id("12"))

    def test_the_clock_offset_equals_hummingbots_and_follows_new_samples(self):
        ours, stock = VestTimeSynchronizer(), TimeSynchronizer()
        self.assertIsInstance(self.exchange._time_synchronizer, VestTimeSynchronizer)
        with patch.object(TimeSynchronizer, "_time", return_value=NOW), \
                patch.object(TimeSynchronizer, "_current_seconds_counter", return_value=NOW - 2.5):
            self.assertAlmostEqual(stock.time_offset_ms, ours.time_offset_ms)  # no sample: the local clock
            for sample in (120.0, -40.0, 3000.0, 15.5, 16.0, 17.0):  # Hummingbot keeps the last 5
                ours.add_time_offset_ms_sample(sample)
                stock.add_time_offset_ms_sample(sample)
                self.assertAlmostEqual(float(stock.time_offset_ms), ours.time_offset_ms)
                self.assertAlmostEqual(stock.time(), ours.time())
            ours.clear_time_offset_ms_samples()
            self.assertAlmostEqual(2500.0, ours.time_offset_ms)

    async def test_start_network_seeds_the_nonce(self):
        with aioresponses() as mock:
            mock.get(url_with_query(CONSTANTS.ACCOUNT_NONCE_PATH_URL), body=json.dumps({"lastNonce": 10 ** 16}))
            await self.exchange.start_network()
            for _ in range(5):  # let the started loops run once before they are stopped
                await asyncio.sleep(0)
            await self.exchange.stop_network()
            self.assertEqual(1, len(calls(mock, "GET", url_with_query(CONSTANTS.ACCOUNT_NONCE_PATH_URL))))
        self.assertEqual(10 ** 16 + 1, self.exchange._nonces.next())
        # This suite points the domain at a closed local port: the start names the override.
        self.assertTrue(self.is_logged("WARNING", "VEST_PERPETUAL_REST_URL is set: vest_perpetual sends its REST "
                                                  "traffic, with your API key and signed orders, to "
                                                  "http://127.0.0.1:9/v2 instead of Vest."))

    async def test_order_events_that_beat_the_post_answer_are_not_overwritten_by_open(self):
        # Vest fills or rejects a MARKET order at once: its ORDER event may arrive before the POST answer.
        self.set_mark_price("30000")
        for last_event, final_state in (("FILLED", OrderState.FILLED), ("REJECTED", OrderState.FAILED)):
            with self.subTest(last_event=last_event), aioresponses() as mock:
                self._configure_account(mock)
                order_ids = []

                async def events_first(url, **kwargs):
                    nonce = json.loads(kwargs["data"])["order"]["nonce"]
                    order_ids.append(self.exchange.order_journal.get(nonce).client_order_id)
                    events = [order_event(dict(row(nonce=nonce), status="NEW"))]
                    if last_event == "FILLED":
                        events.append(self.filled_event(nonce=nonce))
                    else:
                        events.append(order_event({"id": ORDER_ID, "status": "REJECTED", "code": 3001,
                                                   "postTime": 1700000000000, "nonce": nonce}))
                    await self.feed_user_stream(*events)
                    for _ in range(5):  # the tracker applies them in its own tasks
                        await asyncio.sleep(0)

                mock.post(rest_url(CONSTANTS.ORDERS_PATH_URL), body=json.dumps({"id": ORDER_ID}),
                          callback=events_first)
                self.exchange.buy(PAIR, Decimal("1"), OrderType.MARKET, Decimal("30000"),
                                  position_action=PositionAction.OPEN)
                await wait_until(lambda: order_ids and not self.exchange._order_tracker.active_orders,
                                 max_yields=500)
                for _ in range(10):
                    await asyncio.sleep(0)
                if self.exchange._account_refresh_task is not None:
                    await asyncio.wait_for(self.exchange._account_refresh_task, 1)
            order = self.exchange._order_tracker.all_orders[order_ids[0]]
            self.assertEqual(final_state, order.current_state)
            self.assertEqual(ORDER_ID, order.exchange_order_id)
        self.assertEqual(2, len(self.events_of(MarketEvent.BuyOrderCreated)))
        self.assertEqual(1, len(self.events_of(MarketEvent.OrderFilled)))
        self.assertEqual(1, len(self.events_of(MarketEvent.BuyOrderCompleted)))
        self.assertEqual("PRICE_CHECK_FAILED", self.events_of(MarketEvent.OrderFailure)[0].error_type)

    # =========================================================================================== lost answers
    async def test_lost_post_answer_is_recovered_by_nonce_and_not_reposted(self):
        with aioresponses() as mock:
            mock.post(rest_url(CONSTANTS.ORDERS_PATH_URL), exception=aiohttp.ServerDisconnectedError())
            mock.get(url_with_query(CONSTANTS.ORDERS_PATH_URL), body=json.dumps([row()]))
            with patch.object(self.exchange, "_sleep", AsyncMock()) as sleep:
                order_id = await self.place(mock)
            lookups = calls(mock, "GET", url_with_query(CONSTANTS.ORDERS_PATH_URL))
            self.assertEqual(1, len(posts(mock, CONSTANTS.ORDERS_PATH_URL)))

        order = self.exchange.in_flight_orders[order_id]
        self.assertEqual(OrderState.OPEN, order.current_state)
        self.assertEqual(ORDER_ID, order.exchange_order_id)
        self.assertEqual(self.exchange.order_journal.nonce_of(order_id), lookups[0].kwargs["params"]["nonce"])
        self.assertEqual(0, len(self.events_of(MarketEvent.OrderFailure)))
        self.assertEqual(ORDER_ID, self.events_of(MarketEvent.BuyOrderCreated)[0].exchange_order_id)
        sleep.assert_not_awaited()
        self.assertTrue(self.is_logged("INFO", f"Recovered order {order_id} ({ORDER_ID}) by nonce after: ",
                                       partial=True))

    async def test_502_answer_is_looked_up_with_retries_until_the_order_shows(self):
        with aioresponses() as mock:
            mock.post(rest_url(CONSTANTS.ORDERS_PATH_URL), status=502, body="<html>Bad gateway</html>")
            mock.get(url_with_query(CONSTANTS.ORDERS_PATH_URL), status=500, body="oops")
            mock.get(url_with_query(CONSTANTS.ORDERS_PATH_URL), body=json.dumps([]))
            mock.get(url_with_query(CONSTANTS.ORDERS_PATH_URL), body=json.dumps([row()]))
            with patch.object(self.exchange, "_sleep", AsyncMock()) as sleep:
                order_id = await self.place(mock)
            self.assertEqual(1, len(posts(mock, CONSTANTS.ORDERS_PATH_URL)))
            self.assertEqual(3, len(calls(mock, "GET", url_with_query(CONSTANTS.ORDERS_PATH_URL))))

        self.assertEqual(OrderState.OPEN, self.exchange.in_flight_orders[order_id].current_state)
        self.assertEqual([0.5, 1.0], [call.args[0] for call in sleep.await_args_list])
        self.assertTrue(self.is_logged("DEBUG", "failed: Vest error None HTTP_ERROR: oops (HTTP 500)", partial=True))

    async def test_an_order_whose_answer_is_lost_stays_pending_until_its_signature_expired_unseen(self):
        with aioresponses() as mock:
            mock.post(rest_url(CONSTANTS.ORDERS_PATH_URL), exception=asyncio.TimeoutError())
            mock.get(url_with_query(CONSTANTS.ORDERS_PATH_URL), body=json.dumps([]), repeat=True)
            with patch.object(self.exchange, "_sleep", AsyncMock()) as sleep:
                order_id = self.exchange.buy(PAIR, Decimal("1"), OrderType.LIMIT, Decimal("30000"),
                                             position_action=PositionAction.OPEN)
                await wait_until(lambda: self.is_logged("WARNING", "stays pending", partial=True), max_yields=5000)
            self.assertEqual([0.5, 1.0, 2.0, 4.0], [call.args[0] for call in sleep.await_args_list])
            order = self.exchange.in_flight_orders[order_id]

            await self.exchange._update_order_status()  # Vest may still book it: nothing is concluded
            self.assertEqual(OrderState.PENDING_CREATE, order.current_state)
            self.assertEqual([], self.events_of(MarketEvent.OrderFailure))

            placed = self.exchange.order_journal.get(self.exchange.order_journal.nonce_of(order_id))
            expired_by = placed.signed_until_ms + CONSTANTS.UNREACHABLE_ORDER_MARGIN_MS - self.exchange._now_ms()
            self.exchange._time_synchronizer.clear_time_offset_ms_samples()  # Vest's clock, past that moment
            self.exchange._time_synchronizer.add_time_offset_ms_sample(expired_by + 1000)
            await self.exchange._update_order_status()
            await wait_until(lambda: self.events_of(MarketEvent.OrderFailure))
            self.assertEqual(1, len(posts(mock, CONSTANTS.ORDERS_PATH_URL)))  # never resent
        failure = self.events_of(MarketEvent.OrderFailure)[0]
        self.assertEqual((order_id, "NOT_RECEIVED"), (failure.order_id, failure.error_type))
        self.assertIn("Vest never received the order", failure.error_message)
        self.assertEqual("unreachable", placed.outcome)

    # =========================================================================================== rejections
    async def test_definite_rejection_fails_the_order_with_vest_code_and_name(self):
        with aioresponses() as mock:
            mock.post(rest_url(CONSTANTS.ORDERS_PATH_URL), status=400, body=error_body(3002, "Margin check failed"))
            order_id = await self.place(mock)
            self.assertEqual([], calls(mock, "GET", url_with_query(CONSTANTS.ORDERS_PATH_URL)))
        failure: MarketOrderFailureEvent = self.events_of(MarketEvent.OrderFailure)[0]
        self.assertEqual(order_id, failure.order_id)
        self.assertEqual("MARGIN_CHECK_FAILED", failure.error_type)  # Vest's name, where the user looks
        self.assertIn("3002 MARGIN_CHECK_FAILED", failure.error_message)
        self.assertNotIn(order_id, self.exchange.in_flight_orders)

    async def test_a_rate_limited_order_is_sent_again_after_retry_after_freshly_stamped(self):
        # §6.5: a 429 means Vest did not take the order: the same order goes again once allowed, stamped anew.
        with aioresponses() as mock:
            mock.post(rest_url(CONSTANTS.ORDERS_PATH_URL), status=429, body=error_body(429, "Rate limited"),
                      headers={"Retry-After": "2"})
            mock.post(rest_url(CONSTANTS.ORDERS_PATH_URL), status=400, body=error_body(1003, "Too many requests"))
            mock.post(rest_url(CONSTANTS.ORDERS_PATH_URL), body=json.dumps({"id": ORDER_ID}))
            with patch.object(self.exchange, "_sleep", AsyncMock()) as sleep:
                order_id = await self.place(mock)
            sent = [json.loads(call.kwargs["data"])["order"] for call in posts(mock, CONSTANTS.ORDERS_PATH_URL)]
        self.assertEqual([2.0, CONSTANTS.RATE_LIMITED_DELAY], [call.args[0] for call in sleep.await_args_list])
        nonces = [order["nonce"] for order in sent]
        self.assertEqual(sorted(set(nonces)), nonces)
        journal = self.exchange.order_journal
        self.assertEqual(nonces[-1], journal.nonce_of(order_id))
        self.assertEqual(["venue", "venue"], [journal.get(nonce).outcome for nonce in nonces[:-1]])  # refused
        self.assertEqual((order_id, ORDER_ID), (self.events_of(MarketEvent.BuyOrderCreated)[0].order_id,
                                                self.events_of(MarketEvent.BuyOrderCreated)[0].exchange_order_id))
        self.assertTrue(self.is_logged("WARNING", "Vest asks to slow down", partial=True))

    async def test_an_order_rate_limited_beyond_the_retries_fails_with_the_code(self):
        with aioresponses() as mock:
            mock.post(rest_url(CONSTANTS.ORDERS_PATH_URL), status=429, body=error_body(429, "Rate limited"),
                      repeat=True)
            with patch.object(self.exchange, "_sleep", AsyncMock()):
                order_id = await self.place(mock)
            self.assertEqual(1 + CONSTANTS.RATE_LIMITED_RETRIES, len(posts(mock, CONSTANTS.ORDERS_PATH_URL)))
            self.assertEqual([], calls(mock, "GET", url_with_query(CONSTANTS.ORDERS_PATH_URL)))  # no look-up: refused
        failure = self.events_of(MarketEvent.OrderFailure)[0]
        self.assertEqual(order_id, failure.order_id)
        self.assertIn("Rate limited (HTTP 429)", failure.error_message)

    async def test_an_invalid_nonce_reseeds_from_vest_and_signs_the_order_again_under_the_same_client_id(self):
        # §4.8: 1023 means the nonce is not acceptable (e.g. another client moved the account's nonce past it).
        with aioresponses() as mock:
            mock.post(rest_url(CONSTANTS.ORDERS_PATH_URL), status=400, body=error_body(1023, "Invalid nonce"))
            mock.get(url_with_query(CONSTANTS.ACCOUNT_NONCE_PATH_URL), body=json.dumps({"lastNonce": 10 ** 16}))
            mock.post(rest_url(CONSTANTS.ORDERS_PATH_URL), body=json.dumps({"id": ORDER_ID}))
            order_id = await self.place(mock)
            first, second = [json.loads(call.kwargs["data"])["order"]["nonce"]
                             for call in posts(mock, CONSTANTS.ORDERS_PATH_URL)]
        self.assertLess(first, 10 ** 16)
        self.assertEqual(10 ** 16 + 1, second)
        self.assertEqual((order_id, ORDER_ID), (self.events_of(MarketEvent.BuyOrderCreated)[0].order_id,
                                                self.events_of(MarketEvent.BuyOrderCreated)[0].exchange_order_id))
        journal = self.exchange.order_journal
        self.assertEqual(second, journal.nonce_of(order_id))
        self.assertEqual("venue", journal.get(first).outcome)  # refused: it never existed
        # Its events carry the new nonce: still the same order.
        await self.feed_user_stream(self.filled_event(nonce=second))
        await wait_until(lambda: self.events_of(MarketEvent.OrderFilled))
        self.assertEqual(order_id, self.events_of(MarketEvent.OrderFilled)[0].order_id)

    async def test_an_order_queued_behind_the_rate_limit_is_stamped_when_it_leaves(self):
        # §4.9: stamped at submission, an order queued past its window would expire (1132) before it was sent.
        orders_per_second = next(limit.limit for limit in CONSTANTS.RATE_LIMITS
                                 if limit.limit_id == CONSTANTS.ORDERS_PATH_URL)
        with aioresponses() as mock:
            mock.post(rest_url(CONSTANTS.ORDERS_PATH_URL), body=json.dumps({"id": ORDER_ID}), repeat=True)
            for _ in range(orders_per_second):  # the second's budget is spent
                async with self.exchange._throttler.execute_task(CONSTANTS.ORDERS_PATH_URL):
                    pass
            order_id = self.exchange.buy(PAIR, Decimal("1"), OrderType.LIMIT, Decimal("30000"),
                                         position_action=PositionAction.OPEN)
            for _ in range(20):
                await asyncio.sleep(0)
            self.assertEqual([], posts(mock, CONSTANTS.ORDERS_PATH_URL))  # waiting in line
            self.exchange._time_synchronizer.clear_time_offset_ms_samples()
            self.exchange._time_synchronizer.add_time_offset_ms_sample(60_000)  # Vest's clock, a minute later
            await asyncio.wait_for(self.wait_for_creation(order_id), timeout=5)
            sent = json.loads(posts(mock, CONSTANTS.ORDERS_PATH_URL)[0].kwargs["data"])["order"]
        self.assertGreaterEqual(sent["time"], self.exchange._now_ms() - 5_000)  # stamped when it left the line

    async def test_an_order_that_leaves_after_a_later_request_is_signed_under_a_fresh_nonce(self):
        # §4.8: requests leave in nonce order. A cancel reserved its nonce after this order but left first, so the
        # order's own nonce would arrive out of order: it is signed under a fresh one, which still names the order.
        orders_per_second = next(limit.limit for limit in CONSTANTS.RATE_LIMITS
                                 if limit.limit_id == CONSTANTS.ORDERS_PATH_URL)
        resting = self.track(client_order_id=client_order_id_for_nonce(5), exchange_order_id="0x" + "ab" * 32)
        with aioresponses() as mock:
            mock.post(rest_url(CONSTANTS.ORDERS_PATH_URL), body=json.dumps({"id": ORDER_ID}), repeat=True)
            mock.post(url_with_query(CONSTANTS.CANCEL_ORDER_PATH_URL), body=json.dumps({"id": resting.exchange_order_id}))
            for _ in range(orders_per_second):  # the orders' budget for this second is spent
                async with self.exchange._throttler.execute_task(CONSTANTS.ORDERS_PATH_URL):
                    pass
            order_id = self.exchange.buy(PAIR, Decimal("1"), OrderType.LIMIT, Decimal("30000"),
                                         position_action=PositionAction.OPEN)
            await self.exchange._execute_cancel(PAIR, resting.client_order_id)  # leaves while the order waits
            self.assertEqual([], posts(mock, CONSTANTS.ORDERS_PATH_URL))
            await asyncio.wait_for(self.wait_for_creation(order_id), timeout=5)
            cancel_nonce = json.loads(calls(mock, "POST", url_with_query(CONSTANTS.CANCEL_ORDER_PATH_URL))[0]
                                      .kwargs["data"])["order"]["nonce"]
            order_nonce = json.loads(posts(mock, CONSTANTS.ORDERS_PATH_URL)[0].kwargs["data"])["order"]["nonce"]
        self.assertLess(nonce_of_client_order_id(order_id), cancel_nonce)  # reserved first
        self.assertGreater(order_nonce, cancel_nonce)  # but sent after, under a fresh nonce
        self.assertEqual(order_nonce, self.exchange.order_journal.nonce_of(order_id))
        await self.feed_user_stream(self.filled_event(nonce=order_nonce))
        await wait_until(lambda: self.events_of(MarketEvent.OrderFilled))
        self.assertEqual(order_id, self.events_of(MarketEvent.OrderFilled)[0].order_id)

    async def wait_for_creation(self, order_id: str):
        while not any(event.order_id == order_id for event in self.events_of(MarketEvent.BuyOrderCreated)):
            await asyncio.sleep(0.01)

    async def test_rejected_order_event_fails_the_order_with_code_and_name(self):
        order = self.track()
        await self.feed_user_stream(order_event({"id": ORDER_ID, "status": "REJECTED", "code": 3010,
                                                 "postTime": 1700000000000, "nonce": 1}))
        await wait_until(lambda: self.events_of(MarketEvent.OrderFailure))
        failure: MarketOrderFailureEvent = self.events_of(MarketEvent.OrderFailure)[0]
        self.assertEqual(order.client_order_id, failure.order_id)
        self.assertEqual("OI_CAP_EXCEEDED", failure.error_type)
        self.assertEqual("Vest rejected the order: 3010 OI_CAP_EXCEEDED", failure.error_message)
        self.assertTrue(order.is_failure)

    async def test_cancelled_partial_event_finds_the_order_by_nonce_before_its_id_is_known(self):
        order = self.track(client_order_id="vest-77", exchange_order_id=None)
        await self.feed_user_stream(order_event({"id": ORDER_ID, "status": "CANCELLED", "postTime": 1700000000000,
                                                 "nonce": 77}))
        await wait_until(lambda: order.is_cancelled)
        self.assertEqual(ORDER_ID, order.exchange_order_id)
        self.assertEqual("vest-77", self.events_of(MarketEvent.OrderCancelled)[0].order_id)

    # =========================================================================================== cancel
    async def test_cancel_signs_the_order_id_and_repeats_time_and_nonce_in_the_query(self):
        order = self.track()
        with aioresponses() as mock:
            mock.post(url_with_query(CONSTANTS.CANCEL_ORDER_PATH_URL), body=json.dumps({"id": ORDER_ID}))
            self.assertEqual(order.client_order_id, await self.exchange._execute_cancel(PAIR, order.client_order_id))
            request = calls(mock, "POST", url_with_query(CONSTANTS.CANCEL_ORDER_PATH_URL))[0]
        body = json.loads(request.kwargs["data"])
        self.assertEqual({"time": body["order"]["time"], "nonce": body["order"]["nonce"]}, request.kwargs["params"])
        self.assertEqual(ORDER_ID, body["order"]["id"])
        self.assertEqual(SIGNER_ADDRESS, recover_cancel_signer(body["order"], body["signature"]))
        await wait_until(lambda: order.current_state is OrderState.PENDING_CANCEL)

    async def test_cancel_of_an_already_filled_order_fetches_and_applies_the_fill(self):
        order = self.track()
        with aioresponses() as mock:
            mock.post(url_with_query(CONSTANTS.CANCEL_ORDER_PATH_URL), status=400,
                      body=error_body(3017, "Order already processed or cancelled"))
            mock.get(url_with_query(CONSTANTS.ORDERS_PATH_URL), body=json.dumps([row(
                status="FILLED", fill_size="1.0000", fill_price="29990.0", fill_time=1700000000500, fees="3")]))
            self._configure_account(mock)
            result = await self.exchange._execute_cancel(PAIR, order.client_order_id)
            await wait_until(lambda: order.is_done and self.events_of(MarketEvent.BuyOrderCompleted))
            self.assertEqual(ORDER_ID, calls(mock, "GET", url_with_query(CONSTANTS.ORDERS_PATH_URL))[0]
                             .kwargs["params"]["id"])
            await asyncio.wait_for(self.exchange._account_refresh_task, 1)
        self.assertIsNone(result)  # our cancel cancelled nothing
        self.assertTrue(order.is_filled)
        fill: OrderFilledEvent = self.events_of(MarketEvent.OrderFilled)[0]
        self.assertEqual(Decimal("29990.0"), fill.price)
        self.assertEqual(0, len(self.events_of(MarketEvent.OrderCancelled)))

    async def test_cancel_of_an_already_cancelled_order_confirms_the_cancellation(self):
        order = self.track()
        with aioresponses() as mock:
            mock.post(url_with_query(CONSTANTS.CANCEL_ORDER_PATH_URL), status=400,
                      body=json.dumps({"detail": {"code": 3017, "msg": "Order already processed or cancelled"}}))
            mock.get(url_with_query(CONSTANTS.ORDERS_PATH_URL), body=json.dumps([row(status="CANCELLED")]))
            await self.exchange._execute_cancel(PAIR, order.client_order_id)
        await wait_until(lambda: self.events_of(MarketEvent.OrderCancelled))
        for _ in range(10):
            await asyncio.sleep(0)
        self.assertTrue(order.is_cancelled)  # no PENDING_CANCEL overwrote the final state
        self.assertEqual(OrderState.CANCELED, order.current_state)

    async def test_cancel_3017_with_unreachable_order_status_is_logged_as_cancel_failure(self):
        order = self.track()
        with aioresponses() as mock:
            mock.post(url_with_query(CONSTANTS.CANCEL_ORDER_PATH_URL), status=400,
                      body=error_body(3017, "Order already processed or cancelled"))
            mock.get(url_with_query(CONSTANTS.ORDERS_PATH_URL), exception=aiohttp.ClientConnectionError("down"))
            await self.exchange._execute_cancel(PAIR, order.client_order_id)
        self.assertTrue(self.is_logged("ERROR", f"Failed to cancel order {order.client_order_id}"))
        self.assertFalse(order.is_done)

    async def test_cancel_all_reports_each_order_as_it_ended_and_reads_back_the_unsure_ones(self):
        # Hummingbot's cancel_all drops every result when its timeout hits; here each order's outcome counts.
        accepted, refused, lost, pending = self.track_many(4)
        self.exchange._order_tracker.process_order_update(OrderUpdate(  # not yet answered: no exchange id
            client_order_id=pending.client_order_id, trading_pair=PAIR, update_timestamp=NOW,
            new_state=OrderState.PENDING_CREATE))
        pending.exchange_order_id, pending.exchange_order_id_update_event = None, asyncio.Event()

        def cancel_answer(url, data=None, **kwargs):
            order_id = json.loads(data)["order"]["id"]
            if order_id == accepted.exchange_order_id:
                return CallbackResult(body=json.dumps({"id": order_id}))
            return CallbackResult(status=503, body="unavailable")  # the cancel's fate is unknown

        rows = {refused.exchange_order_id: row(refused.exchange_order_id, nonce=2, status="CANCELLED"),
                lost.exchange_order_id: row(lost.exchange_order_id, nonce=3, status="NEW")}
        requested: List[List[str]] = []
        with aioresponses() as mock:
            mock.post(url_with_query(CONSTANTS.CANCEL_ORDER_PATH_URL), callback=cancel_answer, repeat=True)
            mock.get(url_with_query(CONSTANTS.ORDERS_PATH_URL), callback=self.venue_rows(rows, requested),
                     repeat=True)
            results = await asyncio.wait_for(self.exchange.cancel_all(timeout_seconds=1), 2)
        outcome = {result.order_id: result.success for result in results}
        self.assertEqual({accepted.client_order_id: True, refused.client_order_id: True,
                          lost.client_order_id: False, pending.client_order_id: False}, outcome)
        self.assertEqual([sorted([refused.exchange_order_id, lost.exchange_order_id])], [sorted(ids) for ids in requested])
        self.assertTrue(self.is_logged("WARNING", "2 orders may still be open on Vest after cancel_all: ", partial=True))
        await wait_until(lambda: refused.is_cancelled)

    def test_order_not_found_hooks_are_true_for_3017_only(self):
        not_found = VestAPIError(3017, "Order already processed or cancelled", 400)
        for hook in (self.exchange._is_order_not_found_during_status_update_error,
                     self.exchange._is_order_not_found_during_cancelation_error):
            self.assertTrue(hook(not_found))
            self.assertFalse(hook(VestAPIError(3015, "Duplicate", 400)))
            self.assertFalse(hook(VestAPIError(None, "Bad gateway", 502)))
            self.assertFalse(hook(IOError("3017")))

    # =========================================================================================== fills
    def filled_event(self, fill_time: int = 1700000000500, fees: str = "3", status: str = "FILLED",
                     fill_size: str = "1.0000", nonce: int = 1, **extra) -> Dict[str, Any]:
        args = {key: value for key, value in row(status=status, fill_size=fill_size, fill_price="29990.0",
                                                 fill_time=fill_time, fees=fees, nonce=nonce).items()
                if key not in ("markPrice", "code", "settledFunding", "realizedPnl", "tpPrice", "slPrice")}
        args["cumFunding"] = "0"
        args.update(extra)
        return order_event(args)

    def _configure_account(self, mock: aioresponses, **kwargs):
        mock.get(url_with_query(CONSTANTS.ACCOUNT_PATH_URL), body=json.dumps(account_response(**kwargs)),
                 repeat=True)

    async def test_a_fill_is_reported_once_whether_it_arrives_twice_or_also_by_polling(self):
        order = self.track()
        with aioresponses() as mock:
            self._configure_account(mock)
            mock.get(url_with_query(CONSTANTS.ORDERS_PATH_URL), body=json.dumps([row(
                status="FILLED", fill_size="1.0000", fill_price="29990.0", fill_time=1700000000500, fees="3")]),
                repeat=True)
            await self.feed_user_stream(self.filled_event(), self.filled_event())  # a duplicated event
            await wait_until(lambda: order.is_done and self.events_of(MarketEvent.BuyOrderCompleted))
            await self.exchange._update_orders_fills([order])  # the REST poll sees the same fill
            await asyncio.wait_for(self.exchange._account_refresh_task, 1)
            self.assertEqual(1, len(calls(mock, "GET", url_with_query(CONSTANTS.ACCOUNT_PATH_URL))))
        fills = self.events_of(MarketEvent.OrderFilled)
        self.assertEqual(1, len(fills))
        self.assertEqual(f"{ORDER_ID}-1", fills[0].exchange_trade_id)  # the order's executed amount after it
        self.assertEqual(AddedToCostTradeFee(flat_fees=[TokenAmount("USDC", Decimal("3"))]), fills[0].trade_fee)
        self.assertEqual(Decimal("1"), order.executed_amount_base)

    async def test_fee_of_each_partial_fill_is_the_growth_of_the_cumulative_fees(self):
        order = self.track(position_action=PositionAction.CLOSE)
        with aioresponses() as mock:
            self._configure_account(mock)
            await self.feed_user_stream(
                self.filled_event(status="PARTIALLY_FILLED", fill_size="0.4000", fill_time=1700000000100, fees="0.1"),
                self.filled_event(status="FILLED", fill_size="0.6000", fill_time=1700000000200, fees="0.25"))
            await asyncio.wait_for(self.exchange._account_refresh_task, 1)
        fills = self.events_of(MarketEvent.OrderFilled)
        self.assertEqual([Decimal("0.4000"), Decimal("0.6000")], [fill.amount for fill in fills])
        self.assertEqual([DeductedFromReturnsTradeFee(flat_fees=[TokenAmount("USDC", Decimal("0.1"))]),
                          DeductedFromReturnsTradeFee(flat_fees=[TokenAmount("USDC", Decimal("0.15"))])],
                         [fill.trade_fee for fill in fills])
        self.assertEqual(Decimal("1"), order.executed_amount_base)

    async def test_fill_of_an_order_tracked_without_position_action_uses_reduce_only(self):
        order = self.track(position_action=PositionAction.NIL)
        with aioresponses() as mock:
            self._configure_account(mock)
            await self.feed_user_stream(self.filled_event(reduceOnly=True))
            await wait_until(lambda: self.events_of(MarketEvent.OrderFilled))
            await asyncio.wait_for(self.exchange._account_refresh_task, 1)
        self.assertIsInstance(self.events_of(MarketEvent.OrderFilled)[0].trade_fee, DeductedFromReturnsTradeFee)
        self.assertTrue(order.is_filled)

    async def test_late_fills_of_stopped_and_lost_orders_are_found_by_nonce(self):
        """The ORDER-event look-up goes to the tracker's active, cached and lost orders directly, by nonce."""
        stopped = self.track(client_order_id="vest-81", exchange_order_id=None)
        lost = self.track(client_order_id="vest-82", exchange_order_id=None)
        tracker = self.exchange._order_tracker
        tracker.stop_tracking_order(stopped.client_order_id)
        for _ in range(tracker.lost_order_count_limit + 1):
            await tracker.process_order_not_found(lost.client_order_id)
        self.assertIn(lost.client_order_id, tracker.lost_orders)
        with aioresponses() as mock:
            self._configure_account(mock)
            await self.feed_user_stream(self.filled_event(nonce=81, id="0x81"), self.filled_event(nonce=82, id="0x82"))
            await wait_until(lambda: len(self.events_of(MarketEvent.OrderFilled)) == 2)
        self.assertEqual(["vest-81", "vest-82"], [event.order_id for event in self.events_of(MarketEvent.OrderFilled)])

    async def test_user_stream_ignores_untracked_orders_and_skips_malformed_or_unknown_events(self):
        with aioresponses() as mock:
            self._configure_account(mock)
            await self.feed_user_stream(
                self.filled_event(nonce=555, id="0xdead"),
                {"channel": "account_private", "data": {"event": "POSITION", "args": {}}},
                order_event({"id": ORDER_ID, "status": "EXPLODED", "nonce": 1}),
                {"channel": "account_private",
                 "data": {"event": "LP", "args": {"id": "0x1", "size": "1", "orderType": "DEPOSIT"}}})
            await asyncio.wait_for(self.exchange._account_refresh_task, 1)
            # Another client's fill and an LP move the account: read (once, as both arrive together).
            self.assertEqual(1, len(calls(mock, "GET", url_with_query(CONSTANTS.ACCOUNT_PATH_URL))))
        self.assertTrue(self.is_logged("INFO", "Order 0xdead (BTC-PERP, FILLED) was not placed by this bot; it is left "
                                               "to whoever placed it."))
        self.assertTrue(self.is_logged("WARNING", "Skipping malformed account_private message: unknown account "
                                                  "event 'POSITION'"))
        self.assertTrue(self.is_logged("WARNING", "Skipping malformed account_private message: unknown order "
                                                  "status 'EXPLODED'"))
        self.assertEqual(0, len(self.events_of(MarketEvent.OrderFilled)))

    async def test_order_without_any_identifier_has_no_fills_and_is_unknown_to_vest(self):
        self.exchange.start_tracking_order(order_id="legacy-1", exchange_order_id=None, trading_pair=PAIR,
                                           trade_type=TradeType.BUY, price=Decimal("1"), amount=Decimal("1"),
                                           order_type=OrderType.LIMIT)
        order = self.exchange.in_flight_orders["legacy-1"]
        self.assertEqual([], await self.exchange._all_trade_updates_for_order(order))
        with self.assertRaises(VestAPIError) as raised:
            await self.exchange._request_order_status(order)
        self.assertEqual(3017, raised.exception.code)

    async def test_polled_rejected_order_carries_code_and_name(self):
        order = self.track()
        rejected = dict(row(status="REJECTED"), code="3002")  # code as a string, as one client types it (§3.8)
        with aioresponses() as mock:
            mock.get(url_with_query(CONSTANTS.ORDERS_PATH_URL), body=json.dumps([rejected]))
            update = await self.exchange._request_order_status(order)
        self.assertEqual(OrderState.FAILED, update.new_state)
        self.assertEqual({"error_type": "MARGIN_CHECK_FAILED",
                          "error_message": "Vest rejected the order: 3002 MARGIN_CHECK_FAILED"}, update.misc_updates)

    # =========================================================================================== status polling
    def venue_rows(self, rows_by_id: Dict[str, Dict[str, Any]], requested: List[List[str]]):
        """A GET /orders callback answering `id=a,b,…` from `rows_by_id` (unknown ids are simply absent, §3.8)."""
        def answer(url, **kwargs):
            ids = URL(str(url)).query["id"].split(",")
            requested.append(ids)
            return CallbackResult(body=json.dumps([rows_by_id[i] for i in ids if i in rows_by_id]))
        return answer

    def track_many(self, count: int) -> List[Any]:
        return [self.track(client_order_id=client_order_id_for_nonce(nonce), exchange_order_id=f"0x{nonce:064x}")
                for nonce in range(1, count + 1)]

    async def test_status_poll_reads_all_orders_in_batches_and_applies_fill_and_state_from_each_row(self):
        orders = self.track_many(120)
        rows = {order.exchange_order_id: row(order.exchange_order_id, nonce=index + 1) for index, order in
                enumerate(orders)}
        for index in range(0, 120, 2):  # every other order filled while nobody listened
            order_id = orders[index].exchange_order_id
            rows[order_id] = row(order_id, nonce=index + 1, status="FILLED", fill_size="1.0000",
                                 fill_price="29990.0", fill_time=1700000000500, fees="3")
        requested: List[List[str]] = []
        with aioresponses() as mock:
            self._configure_account(mock)
            mock.get(url_with_query(CONSTANTS.ORDERS_PATH_URL), callback=self.venue_rows(rows, requested),
                     repeat=True)
            await self.exchange._update_order_status()
            await wait_until(lambda: len(self.exchange.in_flight_orders) == 60, max_yields=2000)  # 60 completed

            self.assertEqual([50, 50, 20], [len(ids) for ids in requested])
            self.assertEqual(sorted(rows), sorted(i for ids in requested for i in ids))
            filled = {orders[index].client_order_id for index in range(0, 120, 2)}
            self.assertEqual(filled, {event.order_id for event in self.events_of(MarketEvent.OrderFilled)})
            self.assertEqual(60, len(self.events_of(MarketEvent.OrderFilled)))
            self.assertEqual(60, len(self.exchange.in_flight_orders))
            self.assertTrue(all(order.current_state is OrderState.OPEN for order in self.exchange.in_flight_orders
                                .values()))

            requested.clear()  # the next poll leaves the filled (done) orders out
            await self.exchange._update_order_status()
            self.assertEqual(60, sum(len(ids) for ids in requested))
            self.assertEqual(60, len(self.events_of(MarketEvent.OrderFilled)))
            await asyncio.wait_for(self.exchange._account_refresh_task, 1)

    async def test_order_without_exchange_id_is_looked_up_by_its_nonce(self):
        self.track(client_order_id=client_order_id_for_nonce(7), exchange_order_id=None)
        with aioresponses() as mock:
            mock.get(url_with_query(CONSTANTS.ORDERS_PATH_URL), body=json.dumps([row(nonce=7)]))
            await self.exchange._update_order_status()
            [lookup] = calls(mock, "GET", url_with_query(CONSTANTS.ORDERS_PATH_URL))
        self.assertEqual(7, lookup.kwargs["params"]["nonce"])
        await wait_until(lambda: self.exchange.in_flight_orders["vest-7"].exchange_order_id == ORDER_ID)

    async def test_a_venue_answering_an_id_list_with_nothing_is_asked_order_by_order(self):
        orders = self.track_many(3)
        rows = {order.exchange_order_id: row(order.exchange_order_id, nonce=index + 1, status="CANCELLED")
                for index, order in enumerate(orders)}

        def single_ids_only(url, **kwargs):  # a venue that would not understand `id=a,b,c` (§3.8 says it does)
            ids = URL(str(url)).query["id"].split(",")
            return CallbackResult(body=json.dumps([rows[ids[0]]] if len(ids) == 1 else []))

        with aioresponses() as mock:
            mock.get(url_with_query(CONSTANTS.ORDERS_PATH_URL), callback=single_ids_only, repeat=True)
            await self.exchange._update_order_status()
            self.assertEqual(4, len(calls(mock, "GET", url_with_query(CONSTANTS.ORDERS_PATH_URL))))
        await wait_until(lambda: not self.exchange.in_flight_orders)
        self.assertEqual({order.client_order_id for order in orders},
                         {event.order_id for event in self.events_of(MarketEvent.OrderCancelled)})
        self.assertEqual({}, self.exchange._order_tracker._order_not_found_records)

    async def test_a_failed_batch_leaves_its_orders_open_and_uncounted_and_an_absent_row_counts_as_not_found(self):
        orders = self.track_many(2)
        with aioresponses() as mock:
            mock.get(url_with_query(CONSTANTS.ORDERS_PATH_URL), status=429, body=error_body(1003, "Rate limited"))
            await self.exchange._update_order_status()
            self.assertTrue(self.is_logged("WARNING", "Error fetching the status of 2 orders", partial=True))
            self.assertEqual({}, self.exchange._order_tracker._order_not_found_records)

            # The batch lacks the second order's row: it is asked alone, and only an empty answer to that counts.
            known = {orders[0].exchange_order_id: row(orders[0].exchange_order_id, nonce=1)}
            requested: List[List[str]] = []
            mock.get(url_with_query(CONSTANTS.ORDERS_PATH_URL), callback=self.venue_rows(known, requested),
                     repeat=True)
            await self.exchange._update_order_status()
        self.assertEqual([[orders[0].exchange_order_id, orders[1].exchange_order_id], [orders[1].exchange_order_id]],
                         requested)
        self.assertEqual({orders[1].client_order_id: 1}, self.exchange._order_tracker._order_not_found_records)
        self.assertTrue(all(order.is_open for order in orders))

    # =========================================================================================== credentials
    async def test_connect_verifies_the_signing_key_with_a_cancel_that_cannot_cancel_anything(self):
        # Hummingbot's `connect` and `balance` build a non-trading instance and call _update_balances.
        exchange = self.create_exchange(observe=False, trading_required=False)
        with aioresponses() as mock:
            self._configure_account(mock)
            mock.post(url_with_query(CONSTANTS.CANCEL_ORDER_PATH_URL), status=400,
                      body=error_body(3017, "Order already processed or cancelled"))
            await exchange._update_balances()
            await exchange._update_balances()  # verified once per instance
            cancels = calls(mock, "POST", url_with_query(CONSTANTS.CANCEL_ORDER_PATH_URL))
        self.assertEqual(1, len(cancels))
        body = json.loads(cancels[0].kwargs["data"])
        self.assertEqual(CONSTANTS.NO_SUCH_ORDER_ID, body["order"]["id"])
        self.assertEqual(SIGNER_ADDRESS, recover_cancel_signer(body["order"], body["signature"]))
        self.assertEqual(Decimal("2000"), exchange.get_balance("USDC"))

    async def test_connect_fails_with_what_to_do_when_the_signing_key_is_not_the_registered_one(self):
        exchange = self.create_exchange(observe=False, trading_required=False)
        with aioresponses() as mock:
            self._configure_account(mock)
            mock.post(url_with_query(CONSTANTS.CANCEL_ORDER_PATH_URL), status=400,
                      body=error_body(1022, "Invalid signature"))
            with self.assertRaises(VestAPIError) as caught:
                await exchange._update_balances()
        self.assertEqual((1022, "INVALID_SIGNATURE"), (caught.exception.code, caught.exception.name))
        self.assertIn("The signing key is not the one registered for this API key", str(caught.exception))
        self.assertIn("run vest-register", str(caught.exception))
        self.assertNotIn(SIGNING_KEY[2:], str(caught.exception))

    async def test_a_trading_instance_does_not_spend_a_request_on_the_check(self):
        with aioresponses() as mock:
            self._configure_account(mock)
            await self.exchange._update_balances()
            self.assertEqual([], calls(mock, "POST", url_with_query(CONSTANTS.CANCEL_ORDER_PATH_URL)))

    # =========================================================================================== reconciliation
    def journal_of_a_previous_run(self, *nonces: int):
        """Orders signed by an earlier run of this bot (same data folder, domain and signer) and never finished."""
        journal = OrderJournal(self.journal_path(), logging.getLogger(), clock=lambda: NOW)
        for nonce in nonces:
            journal.record_placement(PlacedOrder(
                nonce=nonce, client_order_id=client_order_id_for_nonce(nonce), trading_pair=PAIR, trade_type="BUY",
                order_type="LIMIT", amount="1.0000", price="30000.0", position_action="OPEN",
                signed_until_ms=nonce + CONSTANTS.RECV_WINDOW_MS))
        journal.close()

    def journal_path(self):
        return Path(hummingbot.data_path()) / f"vest_perpetual_orders_{CONSTANTS.DOMAIN}_{SIGNER_ADDRESS}.jsonl"

    async def test_orders_of_a_previous_run_are_tracked_again_reported_and_cancelled_if_open(self):
        self.journal_of_a_previous_run(11, 12)
        open_row = row(order_id="0xb11", nonce=11)
        filled_row = row(order_id="0xb12", nonce=12, status="FILLED", fill_size="1.0000", fill_price="29990.0",
                         fill_time=1700000000500, fees="3")
        foreign_row = row(order_id="0xf00", nonce=999)
        by_nonce = {"11": [open_row], "12": [filled_row]}
        with aioresponses() as mock:
            self._configure_account(mock)
            mock.get(url_with_query(CONSTANTS.ORDERS_PATH_URL), repeat=True, callback=lambda url, **kwargs: (
                CallbackResult(body=json.dumps(by_nonce.get(str(kwargs["params"].get("nonce")), [])
                                               if "nonce" in kwargs["params"] else [open_row, foreign_row]))))
            mock.post(url_with_query(CONSTANTS.CANCEL_ORDER_PATH_URL), body=json.dumps({"id": "0xb11"}))
            self.exchange._reconcile_with_venue(at_start_up=True)
            self.assertEqual({"vest-11", "vest-12"}, set(self.exchange.in_flight_orders))
            await self.exchange._update_order_status()
            await wait_until(lambda: calls(mock, "POST", url_with_query(CONSTANTS.CANCEL_ORDER_PATH_URL))
                             and self.events_of(MarketEvent.BuyOrderCompleted), max_yields=2000)
        self.assertEqual(["vest-12"], [fill.order_id for fill in self.events_of(MarketEvent.OrderFilled)])
        self.assertTrue(self.is_logged("WARNING", "Cancelling order vest-11 (0xb11), found open on Vest: this bot "
                                                  "placed it before a restart, and the running strategy does not "
                                                  "know it."))
        self.assertTrue(self.is_logged("INFO", "Order 0xf00 (BTC-PERP, NEW) was not placed by this bot; it is left to "
                                               "whoever placed it."))

    async def test_an_earlier_run_s_order_restored_by_hummingbot_is_cancelled_at_start_up_only(self):
        # Hummingbot restores the orders it saved before the connector starts: tracked, yet unknown to the strategy.
        self.journal_of_a_previous_run(51)
        for at_start_up, cancels in ((False, 0), (True, 1)):
            exchange = self.create_exchange(observe=False)
            exchange.start_tracking_order(order_id="vest-51", exchange_order_id="0xb51", trading_pair=PAIR,
                                          trade_type=TradeType.BUY, price=Decimal("30000"), amount=Decimal("1"),
                                          order_type=OrderType.LIMIT, position_action=PositionAction.OPEN)
            with self.subTest(at_start_up=at_start_up), aioresponses() as mock:
                mock.get(url_with_query(CONSTANTS.ORDERS_PATH_URL), body=json.dumps([row("0xb51", nonce=51)]),
                         repeat=True)
                mock.post(url_with_query(CONSTANTS.CANCEL_ORDER_PATH_URL), body=json.dumps({"id": "0xb51"}))
                exchange._reconcile_with_venue(at_start_up=at_start_up)
                await exchange._update_order_status()
                await wait_until(lambda: len(calls(mock, "POST", url_with_query(CONSTANTS.CANCEL_ORDER_PATH_URL)))
                                 == cancels, max_yields=1000)
                for _ in range(50):
                    await asyncio.sleep(0)
                self.assertEqual(cancels, len(calls(mock, "POST", url_with_query(CONSTANTS.CANCEL_ORDER_PATH_URL))))

    async def test_an_order_given_up_as_unreachable_is_taken_back_when_vest_shows_it(self):
        self.journal_of_a_previous_run(21)
        self.exchange.order_journal.record_finished(21, "unreachable")
        with aioresponses() as mock:
            self._configure_account(mock)
            await self.feed_user_stream(self.filled_event(nonce=21, id="0xb21"),
                                        self.filled_event(nonce=22, id="0xb22"))  # 22: not in the journal
            await wait_until(lambda: self.events_of(MarketEvent.OrderFilled))
            await asyncio.wait_for(self.exchange._account_refresh_task, 1)
        self.assertEqual(["vest-21"], [fill.order_id for fill in self.events_of(MarketEvent.OrderFilled)])
        self.assertTrue(self.is_logged("INFO", "Tracking order vest-21 (0xb21) again: Vest reports it as FILLED."))
        self.assertEqual("venue", self.exchange.order_journal.get(21).outcome)  # Vest has now finished it

    async def test_events_of_orders_vest_finished_before_are_not_taken_back(self):
        self.journal_of_a_previous_run(31)
        self.exchange.order_journal.record_finished(31, "venue")
        with aioresponses() as mock:
            self._configure_account(mock)
            await self.feed_user_stream(self.filled_event(nonce=31, id="0xb31"))
            await asyncio.wait_for(self.exchange._account_refresh_task, 1)  # its fill moves the account still
        self.assertEqual([], self.events_of(MarketEvent.OrderFilled))
        self.assertNotIn("vest-31", self.exchange.in_flight_orders)

    async def test_a_liquidation_is_logged_and_the_account_read(self):
        with aioresponses() as mock:
            self._configure_account(mock)
            await self.feed_user_stream(self.filled_event(nonce=41, id="0xliq", orderType="LIQUIDATION"))
            await asyncio.wait_for(self.exchange._account_refresh_task, 1)
            self.assertEqual(1, len(calls(mock, "GET", url_with_query(CONSTANTS.ACCOUNT_PATH_URL))))
        self.assertTrue(self.is_logged("WARNING", "Vest liquidated a position: order 0xliq (BTC-PERP, FILLED)."))

    async def test_an_unconfirmed_cancel_reads_the_order_and_fails_while_it_is_open(self):
        order = self.track()
        with aioresponses() as mock:
            mock.post(url_with_query(CONSTANTS.CANCEL_ORDER_PATH_URL), body="<html><body>OK</body></html>",
                      content_type="text/html", repeat=True)
            mock.get(url_with_query(CONSTANTS.ORDERS_PATH_URL), body=json.dumps([row()]))
            self.assertIsNone(await self.exchange._execute_cancel(PAIR, order.client_order_id))
            self.assertTrue(self.is_logged("ERROR", f"Failed to cancel order {order.client_order_id}"))
            await wait_until(lambda: order.current_state is OrderState.OPEN)  # what Vest showed

            mock.get(url_with_query(CONSTANTS.ORDERS_PATH_URL), body=json.dumps([row(status="CANCELLED")]))
            self.assertIsNone(await self.exchange._execute_cancel(PAIR, order.client_order_id))
        await wait_until(lambda: self.events_of(MarketEvent.OrderCancelled))
        self.assertEqual(OrderState.CANCELED, order.current_state)

    async def test_an_unreadable_row_is_logged_once_and_the_rest_of_the_batch_applies(self):
        orders = self.track_many(2)
        rows = [row(orders[0].exchange_order_id, nonce=1, status="CANCELLED"),
                {**row(orders[1].exchange_order_id, nonce=2), "status": "EXPIRED"}]
        with aioresponses() as mock:
            mock.get(url_with_query(CONSTANTS.ORDERS_PATH_URL), body=json.dumps(rows), repeat=True)
            await self.exchange._update_order_status()
            await self.exchange._update_order_status()
        await wait_until(lambda: self.events_of(MarketEvent.OrderCancelled))
        warning = (f"Skipping an unreadable row of GET /orders (order {orders[1].exchange_order_id}): unknown order "
                   f"status 'EXPIRED'")
        self.assertEqual(1, sum(record.getMessage() == warning for record in self.log_records
                                if record.levelname == "WARNING"))
        self.assertTrue(self.is_logged("DEBUG", warning))
        self.assertTrue(orders[1].is_open)
        self.assertEqual({}, self.exchange._order_tracker._order_not_found_records)

    async def test_a_part_filled_order_is_read_before_its_final_event_applies(self):
        # §5.4: the CANCELLED event carries no fills; a part whose event was lost shows in the order's row.
        order = self.track()
        with aioresponses() as mock:
            self._configure_account(mock)
            await self.feed_user_stream(self.filled_event(status="PARTIALLY_FILLED", fill_size="0.3000"))
            mock.get(url_with_query(CONSTANTS.ORDERS_PATH_URL), body=json.dumps([row(
                status="CANCELLED", fill_size="0.5000", fill_price="29990.0", fill_time=1700000000700)]))
            await self.feed_user_stream(order_event({"id": ORDER_ID, "status": "CANCELLED", "nonce": 1,
                                                     "postTime": 1700000000800}))
            await wait_until(lambda: self.events_of(MarketEvent.OrderCancelled), max_yields=2000)
        self.assertEqual([Decimal("0.3000"), Decimal("0.2000")],
                         [fill.amount for fill in self.events_of(MarketEvent.OrderFilled)])
        self.assertEqual(Decimal("0.5"), order.executed_amount_base)

    async def test_a_final_event_still_applies_when_the_row_cannot_be_read(self):
        order = self.track()
        with aioresponses() as mock:
            self._configure_account(mock)
            await self.feed_user_stream(self.filled_event(status="PARTIALLY_FILLED", fill_size="0.3000"))
            mock.get(url_with_query(CONSTANTS.ORDERS_PATH_URL), status=503, body="unavailable")
            await self.feed_user_stream(order_event({"id": ORDER_ID, "status": "CANCELLED", "nonce": 1}))
            await wait_until(lambda: self.events_of(MarketEvent.OrderCancelled), max_yields=2000)
        self.assertTrue(self.is_logged("WARNING", "Could not read order vest-1 before applying its CANCELLED event",
                                       partial=True))
        self.assertEqual(Decimal("0.3"), order.executed_amount_base)

    async def test_a_failed_open_order_listing_is_logged_and_retried_after_the_next_gap(self):
        with aioresponses() as mock:
            mock.get(url_with_query(CONSTANTS.ORDERS_PATH_URL), status=503, body="unavailable")
            await self.exchange._review_open_orders()
        self.assertTrue(self.is_logged("WARNING", "Could not list the open orders on Vest", partial=True))

    # =========================================================================================== account
    async def test_balances_positions_and_leverage_come_from_the_account(self):
        positions = [position_row(symbol=SYMBOL, is_long=True, size="0.5", entry_price="30000",
                                  unrealized_pnl="12.5"),
                     position_row(symbol=ETH_SYMBOL, is_long=False, size="2", entry_price="2000",
                                  unrealized_pnl="-3"),
                     position_row(symbol="DOGE-PERP", is_long=True, size="100"),  # not a known market
                     position_row(symbol=SYMBOL, is_long=False, size="0")]  # flat rows are skipped
        leverages = [{"symbol": SYMBOL, "value": 10}, {"symbol": ETH_SYMBOL, "value": 3},
                     {"symbol": "DOGE-PERP", "value": 7}]
        with aioresponses() as mock:
            mock.get(url_with_query(CONSTANTS.ACCOUNT_PATH_URL), body=json.dumps(account_response(
                total="5000.5", withdrawable="4200.25", positions=positions, leverages=leverages)))
            await self.exchange._update_positions()
            request = calls(mock, "GET", url_with_query(CONSTANTS.ACCOUNT_PATH_URL))[0]
        self.assertIn("time", request.kwargs["params"])
        self.assertEqual(Decimal("5000.5"), self.exchange.get_balance("USDC"))
        self.assertEqual(Decimal("4200.25"), self.exchange.get_available_balance("USDC"))

        positions = self.exchange.account_positions
        self.assertEqual({PAIR, ETH_PAIR}, set(positions))
        btc, eth = positions[PAIR], positions[ETH_PAIR]
        self.assertEqual((PositionSide.LONG, Decimal("0.5"), Decimal("30000"), Decimal("12.5"), Decimal("10")),
                         (btc.position_side, btc.amount, btc.entry_price, btc.unrealized_pnl, btc.leverage))
        self.assertEqual((PositionSide.SHORT, Decimal("-2"), Decimal("2000"), Decimal("-3"), Decimal("3")),
                         (eth.position_side, eth.amount, eth.entry_price, eth.unrealized_pnl, eth.leverage))
        self.assertEqual(10, self.exchange.get_leverage(PAIR))
        self.assertEqual(3, self.exchange.get_leverage(ETH_PAIR))

        with aioresponses() as mock:  # the BTC position was closed: Vest stops reporting it
            mock.get(url_with_query(CONSTANTS.ACCOUNT_PATH_URL), body=json.dumps(account_response(
                positions=[position_row(symbol=ETH_SYMBOL, is_long=False, size="1.5", entry_price="2000")])))
            await self.exchange._update_balances()
        self.assertEqual({ETH_PAIR}, set(self.exchange.account_positions))
        self.assertEqual(Decimal("-1.5"), self.exchange.account_positions[ETH_PAIR].amount)

    async def test_a_refresh_asked_for_while_one_is_under_way_reads_the_account_again(self):
        # That read may have left before Vest applied the newest fill: one more read follows, never more.
        def fills_arrive_during_the_read(*args, **kwargs):
            for _ in range(3):
                self.exchange._schedule_account_refresh()
            return CallbackResult(body=json.dumps(account_response()))

        with aioresponses() as mock:
            mock.get(url_with_query(CONSTANTS.ACCOUNT_PATH_URL), callback=fills_arrive_during_the_read)
            self._configure_account(mock)
            for _ in range(3):  # three fills arriving together: one read
                self.exchange._schedule_account_refresh()
            await asyncio.wait_for(self.exchange._account_refresh_task, 1)
            self.assertEqual(2, len(calls(mock, "GET", url_with_query(CONSTANTS.ACCOUNT_PATH_URL))))

    async def test_status_poll_reads_the_account_and_the_orders(self):
        order = self.track()
        with aioresponses() as mock:
            self._configure_account(mock, total="10", withdrawable="9")
            mock.get(url_with_query(CONSTANTS.ORDERS_PATH_URL), body=json.dumps([row(status="NEW")]), repeat=True)
            await self.exchange._status_polling_loop_fetch_updates()
        self.assertEqual(Decimal("10"), self.exchange.get_balance("USDC"))
        self.assertEqual(OrderState.OPEN, order.current_state)

    async def test_a_late_clock_sample_is_taken_again_and_not_used(self):
        # A 30 s answer gives the server's time to within 15 s: past the signing window (§4.9).
        self.exchange._time_synchronizer.clear_time_offset_ms_samples()
        answers = iter([(0.2, 60_000), (0.0, 0)])  # (delay, Vest's clock ahead of ours by ms)

        async def account(url, **kwargs):
            delay, ahead_ms = next(answers)
            await asyncio.sleep(delay)
            return CallbackResult(body=json.dumps(account_response(time_ms=int(time.time() * 1e3) + ahead_ms)))

        with patch.object(CONSTANTS, "CLOCK_SAMPLE_MAX_ROUND_TRIP_SECONDS", 0.1), aioresponses() as mock:
            mock.get(url_with_query(CONSTANTS.ACCOUNT_PATH_URL), callback=account, repeat=True)
            await self.exchange._update_time_synchronizer()
            self.assertEqual(2, len(calls(mock, "GET", url_with_query(CONSTANTS.ACCOUNT_PATH_URL))))
        self.assertLess(abs(self.exchange._now_ms() - time.time() * 1e3), 1_000)

    async def test_a_clock_that_only_answers_late_keeps_its_estimate(self):
        async def late_account(url, **kwargs):
            await asyncio.sleep(0.05)
            return CallbackResult(body=json.dumps(account_response(time_ms=int(time.time() * 1e3) + 60_000)))

        offset = self.exchange._time_synchronizer.time_offset_ms
        with patch.object(CONSTANTS, "CLOCK_SAMPLE_MAX_ROUND_TRIP_SECONDS", 0.01), aioresponses() as mock:
            mock.get(url_with_query(CONSTANTS.ACCOUNT_PATH_URL), callback=late_account, repeat=True)
            await self.exchange._update_time_synchronizer()
            self.assertEqual(CONSTANTS.CLOCK_SAMPLE_ATTEMPTS,
                             len(calls(mock, "GET", url_with_query(CONSTANTS.ACCOUNT_PATH_URL))))
        self.assertEqual(offset, self.exchange._time_synchronizer.time_offset_ms)
        self.assertTrue(self.is_logged("WARNING", "Vest's clock was not sampled", partial=True))

    # =========================================================================================== quiet streams
    def live_private_stream(self, last_event_ago: float) -> AsyncMock:
        """The user stream's connection as Hummingbot's loop holds it (its socket mocked), with its last
        `account_private` event `last_event_ago` seconds before NOW."""
        data_source = self.exchange._user_stream_tracker.data_source
        data_source.logger().addHandler(self)
        self.addCleanup(data_source.logger().removeHandler, self)
        data_source._ws_assistant = AsyncMock()
        data_source._last_event_time = NOW - last_event_ago
        data_source._time = lambda: NOW
        self.exchange._time = lambda: NOW
        return data_source._ws_assistant

    def test_orders_are_polled_often_once_the_private_stream_is_silent_with_orders_open(self):
        self.live_private_stream(last_event_ago=CONSTANTS.PRIVATE_STREAM_SILENCE_SECONDS + 1)
        self.assertEqual(self.exchange.LONG_POLL_INTERVAL, self.exchange._get_poll_interval(NOW))  # nothing open
        self.track()
        self.assertEqual(self.exchange.SHORT_POLL_INTERVAL, self.exchange._get_poll_interval(NOW))
        self.live_private_stream(last_event_ago=1)
        self.assertEqual(self.exchange.LONG_POLL_INTERVAL, self.exchange._get_poll_interval(NOW))

    async def test_a_poll_finding_an_update_a_silent_stream_never_delivered_reconnects_the_stream(self):
        order = self.track()
        socket = self.live_private_stream(last_event_ago=CONSTANTS.PRIVATE_STREAM_SILENCE_SECONDS + 5)
        with aioresponses() as mock:
            self._configure_account(mock)
            mock.get(url_with_query(CONSTANTS.ORDERS_PATH_URL), body=json.dumps([row(status="NEW")]))
            await self.exchange._update_order_status()  # nothing new: the stream is merely quiet
            await asyncio.sleep(0)
            socket.disconnect.assert_not_awaited()
            mock.get(url_with_query(CONSTANTS.ORDERS_PATH_URL), body=json.dumps([row(
                status="FILLED", fill_size="1.0000", fill_price="29990.0", fill_time=1700000000500, fees="3")]))
            await self.exchange._update_order_status()
            await wait_until(lambda: socket.disconnect.await_count == 1)
            await wait_until(lambda: order.is_done)
            await asyncio.wait_for(self.exchange._account_refresh_task, 1)
        self.assertTrue(self.is_logged("WARNING", f"Reconnecting the private websocket: a poll found an update of "
                                                  f"{order.client_order_id}", partial=True))

    async def test_an_update_found_by_a_poll_while_events_flow_keeps_the_stream(self):
        order = self.track()
        socket = self.live_private_stream(last_event_ago=1)  # its event is likely on its way
        with aioresponses() as mock:
            self._configure_account(mock)
            mock.get(url_with_query(CONSTANTS.ORDERS_PATH_URL), body=json.dumps([row(status="CANCELLED")]))
            await self.exchange._update_order_status()
            await wait_until(lambda: order.is_done)
        socket.disconnect.assert_not_awaited()

    def test_an_instance_built_with_empty_settings_uses_the_defaults(self):
        # What Hummingbot's market data provider does for V2 scripts' price feeds: every setting "".
        exchange = VestPerpetualDerivative(vest_perpetual_api_key="", vest_perpetual_signing_private_key="",
                                           vest_perpetual_account_group="", vest_perpetual_market_order_slippage="",
                                           trading_pairs=[PAIR], trading_required=False)
        self.assertEqual((0, utils.DEFAULT_MARKET_ORDER_SLIPPAGE),
                         (exchange.account_group, exchange._market_order_slippage))

    def test_the_connector_is_not_ready_while_market_data_is_stale(self):
        self.assertTrue(self.exchange.status_dict["market_data_fresh"])
        self.exchange._orderbook_ds._last_channel_message -= CONSTANTS.PUBLIC_STREAM_SILENCE_SECONDS + 1
        self.assertFalse(self.exchange.status_dict["market_data_fresh"])
        self.assertFalse(self.exchange.ready)

    async def test_a_status_poll_reads_the_account_once_for_the_clock_and_the_balances(self):
        self.exchange._time_synchronizer.clear_time_offset_ms_samples()
        with aioresponses() as mock:
            self._configure_account(mock, total="10", withdrawable="9")
            await self.exchange._update_time_synchronizer()
            await self.exchange._status_polling_loop_fetch_updates()  # no tracked order: no GET /orders
            self.assertEqual(1, len(calls(mock, "GET", url_with_query(CONSTANTS.ACCOUNT_PATH_URL))))
            self.assertEqual(Decimal("10"), self.exchange.get_balance("USDC"))
            self.assertEqual(1, len(self.exchange._time_synchronizer._time_offset_ms))

            await self.exchange._update_account(reuse_clock_sample=True)  # the sample is used once
            self.assertEqual(2, len(calls(mock, "GET", url_with_query(CONSTANTS.ACCOUNT_PATH_URL))))
            await self.exchange._update_time_synchronizer()
            sampled_at, account = self.exchange._clock_sample_account
            self.exchange._clock_sample_account = (sampled_at - CONSTANTS.ACCOUNT_REUSE_SECONDS - 1, account)
            await self.exchange._update_account(reuse_clock_sample=True)  # too old: read again
            self.assertEqual(4, len(calls(mock, "GET", url_with_query(CONSTANTS.ACCOUNT_PATH_URL))))
            await self.exchange._update_time_synchronizer()
            await self.exchange._update_account()  # a refresh after a fill never reuses the poll's answer
            self.assertEqual(6, len(calls(mock, "GET", url_with_query(CONSTANTS.ACCOUNT_PATH_URL))))

    async def test_a_position_in_a_halted_market_stays_visible_and_an_unlisted_one_is_reported(self):
        info = exchange_info(symbol_row(symbol=SYMBOL, base="BTC", quote="USDC"),
                             symbol_row(symbol="AAPL-USD-PERP", base="AAPL", quote="USD",
                                        tradingStatus=CONSTANTS.SYMBOL_STATUS_HALT))
        with aioresponses() as mock:
            mock.get(rest_url(CONSTANTS.EXCHANGE_INFO_PATH_URL), body=json.dumps(info), repeat=True)
            await self.exchange._update_trading_rules()
            self._configure_account(mock, positions=[
                position_row(symbol="AAPL-USD-PERP", is_long=False, size="3", entry_price="190"),
                position_row(symbol="GONE-PERP", size="1")])
            await self.exchange._update_positions()
            await self.exchange._update_positions()
        self.assertNotIn("AAPL-USD", await self.exchange.all_trading_pairs())  # not offered for trading
        self.assertTrue(self.exchange.is_halted("AAPL-USD"))
        [position] = self.exchange.account_positions.values()
        self.assertEqual(("AAPL-USD", PositionSide.SHORT, Decimal("-3")),
                         (position.trading_pair, position.position_side, position.amount))
        warnings = [r for r in self.log_records if r.levelname == "WARNING" and "GONE-PERP" in r.getMessage()]
        self.assertEqual(["Vest reports a position in GONE-PERP, a market missing from exchangeInfo; it is not shown "
                          "until the market is listed again."], [r.getMessage() for r in warnings])  # once

    async def test_position_mode_is_oneway_only(self):
        self.assertEqual([PositionMode.ONEWAY], self.exchange.supported_position_modes())
        self.assertEqual((True, ""), await self.exchange._trading_pair_position_mode_set(PositionMode.ONEWAY, PAIR))
        success, message = await self.exchange._trading_pair_position_mode_set(PositionMode.HEDGE, PAIR)
        self.assertFalse(success)
        self.assertEqual("Vest keeps one net position per market: only ONEWAY position mode is supported.", message)

    async def test_set_leverage_sends_symbol_and_value_in_the_query_and_the_body(self):
        # §3.5 lists them as "Parameters" (the docs' word for a query string); clients send a body: both serve.
        with aioresponses() as mock:
            mock.post(url_with_query(CONSTANTS.LEVERAGE_PATH_URL), body=json.dumps({"symbol": SYMBOL, "value": 12}))
            self.assertEqual((True, ""), await self.exchange._set_trading_pair_leverage(PAIR, 12))
            request = calls(mock, "POST", url_with_query(CONSTANTS.LEVERAGE_PATH_URL))[0]
        body = json.loads(request.kwargs["data"])
        self.assertEqual({"symbol": SYMBOL, "value": 12}, {k: body[k] for k in ("symbol", "value")})
        self.assertEqual(body, request.kwargs["params"])

    async def test_set_leverage_failures_explain_themselves(self):
        cases = [
            (dict(status=400, body=error_body(3021, "Cannot decrease leverage")),
             "Vest does not allow lowering leverage while a BTC-USDC position is open"),
            (dict(status=400, body=error_body(1130, "Invalid parameter")),
             "Vest error 1130 INVALID_PARAMETER: Invalid parameter (HTTP 400)"),
            (dict(body=json.dumps({"unexpected": True})), "Unexpected leverage response: missing field 'symbol'"),
            (dict(body=json.dumps({"symbol": SYMBOL, "value": 5})), "Vest set leverage 5"),
        ]
        for response, expected in cases:
            # A fresh connector per case keeps the leverage endpoint's rate limit (2/s) out of the way.
            exchange = self.create_exchange(observe=False)
            exchange._set_trading_pair_symbol_map(bidict({SYMBOL: PAIR}))
            with self.subTest(expected=expected), aioresponses() as mock:
                mock.post(url_with_query(CONSTANTS.LEVERAGE_PATH_URL), **response)
                success, message = await exchange._set_trading_pair_leverage(PAIR, 20)
                self.assertFalse(success)
                self.assertIn(expected, message)

    # =========================================================================================== funding
    async def test_funding_settled_on_fills_is_reported_once_and_adds_up_between_polls(self):
        self.assertEqual((0, Decimal(-1), Decimal(-1)), await self.exchange._fetch_last_fee_payment(PAIR))
        self.set_mark_price("30000")
        await self.exchange._update_all_funding_payments(fire_event_on_new=False)
        first, second = self.track("vest-1", "0x01"), self.track("vest-2", "0x02")
        with aioresponses() as mock:
            # REST poll of two fills that settled funding (positive = received, §3.8)
            mock.get(url_with_query(CONSTANTS.ORDERS_PATH_URL), body=json.dumps([row(
                order_id="0x01", status="FILLED", fill_size="1.0000", fill_price="30000.0", fill_time=1700000001000,
                settled_funding="0.75")]), repeat=False)
            mock.get(url_with_query(CONSTANTS.ORDERS_PATH_URL), body=json.dumps([row(
                order_id="0x02", nonce=2, status="FILLED", fill_size="1.0000", fill_price="30000.0",
                fill_time=1700000002000, settled_funding="0.5")]), repeat=True)
            await self.exchange._update_orders_fills([first, second])
            await self.exchange._update_orders_fills([second])  # seen again: not counted twice
        await self.exchange._update_all_funding_payments(fire_event_on_new=True)
        await self.exchange._update_all_funding_payments(fire_event_on_new=True)

        payments = self.events_of(MarketEvent.FundingPaymentCompleted)
        self.assertEqual(1, len(payments))
        self.assertEqual((1700000002.0, PAIR, Decimal("1.25"), Decimal("0.0001")),
                         (payments[0].timestamp, payments[0].trading_pair, payments[0].amount,
                          payments[0].funding_rate))
        self.assertTrue(self.is_logged("INFO", f"Funding payment of 1.25 received on {PAIR} market."))

    # =========================================================================================== markets
    async def test_a_market_halted_by_its_ticker_refuses_orders_at_once_until_it_trades_again(self):
        # §2.2 / §5.3: the documented halt flag is the ticker's `status`.
        data_source = self.exchange._orderbook_ds
        data_source.logger().setLevel(1)
        data_source.logger().addHandler(self)
        self.addCleanup(data_source.logger().removeHandler, self)

        async def push_status(status: str):
            data_source._route({"channel": "tickers", "data": [{
                "symbol": SYMBOL, "markPrice": "30000.0", "indexPrice": "30000.0", "oneHrFundingRate": "0.0000125",
                "cumFunding": "1.0", "status": status}]})

        await push_status("HALT")
        self.assertTrue(self.exchange.is_halted(PAIR))
        self.assertNotIn(PAIR, await self.exchange.all_trading_pairs())
        with aioresponses() as mock:
            order_id = await self.place(mock)
            self.assertEqual([], posts(mock, CONSTANTS.ORDERS_PATH_URL))  # refused here, not sent
        failure = self.events_of(MarketEvent.OrderFailure)[0]
        self.assertEqual((order_id, "MARKET_CLOSED"), (failure.order_id, failure.error_type))
        self.assertIn("BTC-USDC is halted on Vest", failure.error_message)
        self.assertTrue(self.is_logged("WARNING", "Vest halted BTC-PERP: no order is sent to it until it trades "
                                                  "again."))

        await push_status("TRADING")
        self.assertFalse(self.exchange.is_halted(PAIR))
        self.assertIn(PAIR, await self.exchange.all_trading_pairs())
        self.assertTrue(self.is_logged("INFO", "BTC-PERP trades again on Vest."))

    async def test_trading_rules_keep_halted_markets_and_log_malformed_rows(self):
        # A halt stops new orders, not the tracking of a market's open orders and positions (§2.1).
        malformed = symbol_row(symbol="BAD-PERP", base="BAD", quote="USDC")
        malformed["priceDecimals"] = "two"
        info = exchange_info(symbol_row(symbol=SYMBOL, base="BTC", quote="USDC", size_decimals=4, price_decimals=1,
                                        takerFee="0.0002"),
                             symbol_row(symbol="AAPL-USD-PERP", base="AAPL", quote="USD",
                                        tradingStatus=CONSTANTS.SYMBOL_STATUS_HALT),
                             malformed)
        with aioresponses() as mock:
            mock.get(rest_url(CONSTANTS.EXCHANGE_INFO_PATH_URL), body=json.dumps(info))
            await self.exchange._update_trading_rules()
        self.assertEqual([PAIR, "AAPL-USD"], list(self.exchange.trading_rules))
        self.assertEqual([PAIR], await self.exchange.all_trading_pairs())
        rule = self.exchange.trading_rules[PAIR]
        self.assertEqual((Decimal("0.0001"), Decimal("0.0001"), Decimal("0.1")),
                         (rule.min_order_size, rule.min_base_amount_increment, rule.min_price_increment))
        self.assertEqual({SYMBOL: PAIR, "AAPL-USD-PERP": "AAPL-USD"}, dict(await self.exchange.trading_pair_symbol_map()))
        self.assertTrue(self.is_logged("ERROR", f"Error parsing the trading pair rule {malformed}. Skipping. "
                                                "(field 'priceDecimals' is not an integer: two)"))

        await self.exchange._update_trading_fees()
        self.assertEqual(Decimal("0.0002"), self.exchange._trading_fees[PAIR].taker_percent_fee_decimal)
        fee = self.exchange.get_fee("BTC", "USDC", OrderType.LIMIT, TradeType.BUY, PositionAction.OPEN,
                                    Decimal("1"), Decimal("30000"), is_maker=True)
        self.assertIsInstance(fee, AddedToCostTradeFee)  # every Vest fill is a taker fill (§6.2)

    async def test_last_traded_price_is_the_newest_trade(self):
        with aioresponses() as mock:
            mock.get(url_with_query(CONSTANTS.TRADES_PATH_URL), body=json.dumps(
                [{"id": "0x1", "price": "30001.5", "qty": "-0.1", "quoteQty": "3000.15", "time": 1700000000000}]))
            self.assertEqual(30001.5, await self.exchange._get_last_traded_price(PAIR))

    async def test_order_book_tracker_start_up_still_matches_hummingbot(self):
        # VestOrderBookTracker._init_order_books is the connector's one override of a private Hummingbot method.
        # Its reason: Hummingbot's version sleeps 1 s per pair. This fails once Hummingbot drops that sleep (the
        # override can go) or renames what the override fills in (it must follow).
        stock_start_up = inspect.getsource(OrderBookTracker._init_order_books)
        self.assertIn("await self._sleep(delay=1)", stock_start_up)
        for name in ("_initial_order_book_for_trading_pair", "_track_single_book", "_order_books",
                     "_tracking_message_queues", "_tracking_tasks", "_order_books_initialized"):
            self.assertIn(f"self.{name}", stock_start_up)
        tracker = self.exchange.order_book_tracker
        depth = {"bids": [["29999.0", "1.5"]], "asks": [["30001.0", "2.0"]]}
        with aioresponses() as mock:
            mock.get(url_with_query(CONSTANTS.DEPTH_PATH_URL), body=json.dumps(depth), repeat=True)
            await asyncio.wait_for(tracker._init_order_books(), timeout=0.5)  # Hummingbot's version takes 2 s
        await asyncio.sleep(0)  # the tracking tasks start
        try:
            self.assertTrue(tracker.ready)
            self.assertEqual({PAIR, ETH_PAIR}, set(tracker.order_books))
            self.assertEqual(30001.0, tracker.order_books[PAIR].get_price(is_buy=True))
            self.assertTrue(all(not task.done() for task in tracker._tracking_tasks.values()))
        finally:
            for task in tracker._tracking_tasks.values():
                task.cancel()
            await asyncio.gather(*tracker._tracking_tasks.values(), return_exceptions=True)

    # =========================================================================================== requests
    async def test_every_error_envelope_raises_vest_api_error_with_code_and_name(self):
        cases = [
            (400, error_body(1111, "Bad decimals"), 1111, "BAD_DECIMALS", "Bad decimals"),
            (400, json.dumps({"detail": {"code": 3002, "msg": "Margin"}}), 3002, "MARGIN_CHECK_FAILED", "Margin"),
            (422, json.dumps({"detail": [{"type": "missing", "loc": ["query", "time"], "msg": "Field required",
                                          "input": None}]}), None, "HTTP_ERROR", "query.time: Field required"),
            (200, error_body(1002, "Unauthorized"), 1002, "UNAUTHORIZED", "Unauthorized"),
            (404, json.dumps({"detail": "Not Found"}), None, "HTTP_ERROR", "Not Found"),
            (502, "<html>Bad gateway</html>", None, "HTTP_ERROR", "Bad gateway"),
            (400, json.dumps([{"unexpected": "list"}]), None, "HTTP_ERROR", "unexpected"),
            (503, "", None, "HTTP_ERROR", "None"),
        ]
        for status, body, code, name, text in cases:
            with self.subTest(status=status, body=body), aioresponses() as mock:
                mock.get(url_with_query(CONSTANTS.ORDERS_PATH_URL), status=status, body=body)
                with self.assertRaises(VestAPIError) as raised:
                    await self.exchange._api_get(path_url=CONSTANTS.ORDERS_PATH_URL, params={"time": 1},
                                                 is_auth_required=True)
                self.assertEqual((code, name, status), (raised.exception.code, raised.exception.name,
                                                        raised.exception.http_status))
                self.assertIn(text, str(raised.exception))

    async def test_successful_answers_and_return_err_pass_through(self):
        with aioresponses() as mock:
            mock.get(url_with_query(CONSTANTS.ORDERS_PATH_URL), body=json.dumps([]))
            mock.get(url_with_query(CONSTANTS.ORDERS_PATH_URL), status=400, body=error_body(1130, "bad"))
            self.assertEqual([], await self.exchange._api_get(path_url=CONSTANTS.ORDERS_PATH_URL, params={"time": 1},
                                                              is_auth_required=True))
            self.assertEqual({"code": 1130, "msg": "bad"}, await self.exchange._api_get(
                path_url=CONSTANTS.ORDERS_PATH_URL, params={"time": 1}, is_auth_required=True, return_err=True))

    async def test_time_errors_are_classified_by_code_and_refresh_the_clock_offset(self):
        for code, expected in ((1132, True), (1131, True), (1023, False), (3017, False)):
            self.assertEqual(expected, self.exchange._is_request_exception_related_to_time_synchronizer(
                VestAPIError(code, "x", 400)))
        self.assertFalse(self.exchange._is_request_exception_related_to_time_synchronizer(IOError("1132")))

        samples_before = len(self.exchange._time_synchronizer._time_offset_ms)
        with aioresponses() as mock:
            mock.post(rest_url(CONSTANTS.ORDERS_PATH_URL), status=400, body=error_body(1132, "Order expired"))
            mock.get(url_with_query(CONSTANTS.ACCOUNT_PATH_URL), body=json.dumps(account_response(time_ms=1)))
            with self.assertRaises(VestAPIError):
                await self.exchange._api_post(path_url=CONSTANTS.ORDERS_PATH_URL, data={}, is_auth_required=True)
            await wait_until(lambda: len(self.exchange._time_synchronizer._time_offset_ms) > samples_before)
            self.assertEqual(1, len(posts(mock, CONSTANTS.ORDERS_PATH_URL)))  # a signed body is never resent

    async def test_clock_offset_needs_an_account_time(self):
        with aioresponses() as mock:
            account = account_response()
            del account["time"]
            mock.get(url_with_query(CONSTANTS.ACCOUNT_PATH_URL), body=json.dumps(account))
            with self.assertRaises(VestMessageError):
                await self.exchange._server_time_ms()
        keyless = self.create_exchange(observe=False, vest_perpetual_api_key="",
                                       vest_perpetual_signing_private_key="")
        with aioresponses() as mock:
            await keyless._update_time_synchronizer()
            self.assertEqual({}, mock.requests)  # GET /account needs a key; nothing is sent without one

    def test_identity_properties(self):
        self.assertEqual("vest-", self.exchange.client_order_id_prefix)
        self.assertEqual(32, self.exchange.client_order_id_max_length)
        self.assertEqual(CONSTANTS.FUNDING_PAYMENT_POLL_INTERVAL, self.exchange.funding_fee_poll_interval)
        self.assertFalse(self.exchange.is_cancel_request_in_exchange_synchronous)  # confirmed by event or poll
        self.assertEqual(CONSTANTS.RATE_LIMITS, self.exchange.rate_limits_rules)
        # Hummingbot builds non-trading instances with empty (None) keys: nothing to sign with, nothing to leak.
        keyless = self.create_exchange(observe=False, vest_perpetual_api_key=None,
                                       vest_perpetual_signing_private_key=None, trading_required=False)
        self.assertFalse(keyless.is_trading_required)
        self.assertIsNone(keyless.authenticator.signer_address)

    async def test_name_is_the_domain_and_testnet_uses_the_dev_host(self):
        self.assertEqual("vest_perpetual", self.exchange.name)
        testnet = self.create_exchange(domain=CONSTANTS.TESTNET_DOMAIN, observe=False,
                                       vest_perpetual_account_group=3)
        self.assertEqual("vest_perpetual_testnet", testnet.name)
        self.assertEqual(CONSTANTS.TESTNET_DOMAIN, testnet.domain)
        self.assertEqual(3, testnet.account_group)
        environment = {k: v for k, v in os.environ.items() if k != CONSTANTS.REST_URL_ENV_VAR}
        with aioresponses() as mock, patch.dict(os.environ, environment, clear=True):
            mock.get(re.compile(r"^https://server-dev\.hz\.vestmarkets\.com/v2/account\?"),
                     body=json.dumps(account_response()))
            await testnet._update_balances()
            (_, url), = mock.requests
            headers = next(iter(mock.requests.values()))[0].kwargs["headers"]
        self.assertEqual("server-dev.hz.vestmarkets.com", url.host)
        self.assertEqual("restserver3", headers["xrestservermm"])
        self.assertEqual(API_KEY, headers["X-API-KEY"])

    # =========================================================================================== secrets
    async def test_secrets_never_appear_in_reprs_or_logs(self):
        records: List[logging.LogRecord] = []

        class Capture(logging.Handler):
            def emit(self, record):
                records.append(record)

        capture = Capture(level=logging.DEBUG)
        root = logging.getLogger()
        previous_level = root.level
        root.addHandler(capture)
        root.setLevel(logging.DEBUG)
        hummingbot_logger = logging.getLogger("hummingbot")
        previous_hb_level = hummingbot_logger.level
        hummingbot_logger.setLevel(logging.DEBUG)
        try:
            exchange = self.create_exchange(vest_perpetual_api_key=SecretStr(API_KEY),
                                            vest_perpetual_signing_private_key=SecretStr(SIGNING_KEY))
            exchange._trading_rules = self.exchange._trading_rules
            exchange._markets = self.exchange._markets
            exchange._set_trading_pair_symbol_map(bidict({SYMBOL: PAIR, ETH_SYMBOL: ETH_PAIR}))
            self.exchange = exchange
            with aioresponses() as mock, patch.object(exchange, "_sleep", AsyncMock()):
                mock.get(url_with_query(CONSTANTS.ACCOUNT_NONCE_PATH_URL), body=json.dumps({"lastNonce": 5}))
                mock.post(rest_url(CONSTANTS.ORDERS_PATH_URL), body=json.dumps({"id": ORDER_ID}))
                mock.post(rest_url(CONSTANTS.ORDERS_PATH_URL), status=400, body=error_body(1022, "Invalid signature"))
                mock.post(rest_url(CONSTANTS.ORDERS_PATH_URL), exception=aiohttp.ServerDisconnectedError())
                mock.get(url_with_query(CONSTANTS.ORDERS_PATH_URL), body=json.dumps([row(order_id="0x03")]))
                mock.get(url_with_query(CONSTANTS.ORDERS_PATH_URL), body=json.dumps([]), repeat=True)
                mock.post(url_with_query(CONSTANTS.CANCEL_ORDER_PATH_URL), status=400,
                          body=error_body(3017, "Order already processed or cancelled"))
                self._configure_account(mock)
                await exchange._seed_nonce()
                order_id = await self.place(mock)
                await self.place(mock)
                await self.place(mock)
                nonce = nonce_of_client_order_id(order_id)
                await self.feed_user_stream(order_event(dict(row(nonce=nonce), status="NEW")),
                                            self.filled_event(nonce=nonce, status="PARTIALLY_FILLED",
                                                              fill_size="0.5000"))
                await exchange._execute_cancel(PAIR, order_id)
                await exchange._status_polling_loop_fetch_updates()
                await asyncio.wait_for(exchange._account_refresh_task, 1)
        finally:
            root.removeHandler(capture)
            root.setLevel(previous_level)
            hummingbot_logger.setLevel(previous_hb_level)

        messages = [record.getMessage() for record in records]
        for step in ("Created LIMIT BUY order", "Error submitting buy LIMIT order", "Recovered order",
                     "has been filled", "Failed to cancel order"):  # the whole flow ran and was logged
            self.assertTrue(any(step in message for message in messages), step)
        secrets = {API_KEY, SIGNING_KEY, SIGNING_KEY[2:], SIGNING_KEY[2:].upper()}
        formatter = logging.Formatter()
        for record in records:
            text = record.getMessage() + (formatter.formatException(record.exc_info) if record.exc_info else "")
            for secret in secrets:
                self.assertNotIn(secret, text)
        for shown in (repr(exchange), str(exchange), repr(exchange.authenticator), str(exchange.authenticator),
                      repr(exchange.authenticator._signing_key), repr(exchange._nonces)):
            for secret in secrets:
                self.assertNotIn(secret, shown)
        self.assertIn(SIGNER_ADDRESS, repr(exchange.authenticator).lower())
