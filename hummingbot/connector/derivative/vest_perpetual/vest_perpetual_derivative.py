"""Vest perpetual futures on Hummingbot's `PerpetualDerivativePyBase`: placing, cancelling, polling and applying
updates. Payloads are read by `vest_perpetual_messages`, URLs built by `vest_perpetual_web_utils`, actions signed
by `vest_perpetual_auth`. Section numbers refer to docs/vest-protocol.md."""
import asyncio
import json
import math
import time
from decimal import Decimal
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional, Set, Tuple

from hummingbot import data_path
from hummingbot.connector.constants import s_decimal_NaN
from hummingbot.connector.derivative.position import Position
from hummingbot.connector.derivative.vest_perpetual import (
    vest_perpetual_constants as CONSTANTS,
    vest_perpetual_utils as utils,
    vest_perpetual_web_utils as web_utils,
)
from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_api_order_book_data_source import (
    VestPerpetualAPIOrderBookDataSource,
)
from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_auth import (
    CancelAction,
    OrderAction,
    VestPerpetualAuth,
)
from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_messages import (
    VestAccount,
    VestAPIError,
    VestFill,
    VestMarket,
    VestMessageError,
    VestOrder,
    parse_account,
    parse_account_event,
    parse_error_envelope,
    parse_exchange_info,
    parse_last_nonce,
    parse_leverage,
    parse_order,
    parse_order_id,
    parse_orders,
    parse_push,
)
from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_order_journal import OrderJournal, PlacedOrder
from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_user_stream_data_source import (
    VestPerpetualUserStreamDataSource,
)
from hummingbot.connector.perpetual_derivative_py_base import PerpetualDerivativePyBase
from hummingbot.connector.time_synchronizer import TimeSynchronizer
from hummingbot.connector.trading_rule import TradingRule
from hummingbot.core.api_throttler.data_types import RateLimit
from hummingbot.core.data_type.cancellation_result import CancellationResult
from hummingbot.core.data_type.common import OrderType, PositionAction, PositionMode, PositionSide, TradeType
from hummingbot.core.data_type.in_flight_order import InFlightOrder, OrderState, OrderUpdate, TradeUpdate
from hummingbot.core.data_type.order_book_tracker import OrderBookTracker
from hummingbot.core.data_type.trade_fee import TokenAmount, TradeFeeBase, TradeFeeSchema
from hummingbot.core.utils.async_utils import safe_ensure_future, safe_gather
from hummingbot.core.utils.estimate_fee import build_perpetual_trade_fee
from hummingbot.core.web_assistant.connections.data_types import RESTMethod, RESTRequest, RESTResponse
from hummingbot.core.web_assistant.web_assistants_factory import WebAssistantsFactory

_FINAL_STATES = (OrderState.FILLED, OrderState.CANCELED, OrderState.FAILED)


class VestOrderBookTracker(OrderBookTracker):
    """Hummingbot's tracker sleeps 1 s after each pair's first snapshot (10 pairs: ready after 10 s); the REST rate
    limiter already paces `/depth`, so all are fetched at once (10 pairs ready in ~0.02 s). The connector's one
    override of a private Hummingbot method (start-up has no public seam); it uses the tracker's fields as Hummingbot
    does, and `test_order_book_tracker_start_up_still_matches_hummingbot` fails if they or the sleep change."""

    async def _init_order_books(self):
        books = await safe_gather(*(self._initial_order_book_for_trading_pair(pair) for pair in self._trading_pairs))
        for trading_pair, book in zip(self._trading_pairs, books):
            self._order_books[trading_pair] = book
            self._tracking_message_queues[trading_pair] = asyncio.Queue()
            self._tracking_tasks[trading_pair] = safe_ensure_future(self._track_single_book(trading_pair))
        self.logger().info(f"Initialized order books for {', '.join(self._trading_pairs)}.")
        self._order_books_initialized.set()


class VestTimeSynchronizer(TimeSynchronizer):
    """Hummingbot's synchroniser computes a numpy median and weighted mean of its samples on every read (~100 µs,
    twice per order: the nonce and the signed `time`). The offset only changes with the samples, so it is computed
    once per change of samples, through the class's public methods only."""

    def __init__(self):
        super().__init__()
        self._has_samples = False
        self._cached_offset_ms: Optional[float] = None

    @property
    def time_offset_ms(self) -> float:
        if not self._has_samples:
            return super().time_offset_ms  # the local clock's, which drifts: nothing to cache
        if self._cached_offset_ms is None:
            self._cached_offset_ms = float(super().time_offset_ms)
        return self._cached_offset_ms

    async def update_server_time_offset_with_time_provider(self, time_provider: Awaitable[float]) -> bool:
        """Hummingbot's sample, unless the answer took over CLOCK_SAMPLE_MAX_ROUND_TRIP_SECONDS: the server's time
        is known only to half the round trip (a 30 s answer: 15 s either way, past the signing window, §4.9).
        Returns whether a sample was added; an error of the provider propagates."""
        sent = time.monotonic()
        server_time_ms = await time_provider
        round_trip = time.monotonic() - sent
        if round_trip > CONSTANTS.CLOCK_SAMPLE_MAX_ROUND_TRIP_SECONDS:
            return False
        midpoint = sent + round_trip / 2

        async def server_time_now_ms() -> float:  # read when Hummingbot's sampling reads it: no round trip left
            return server_time_ms + (time.monotonic() - midpoint) * 1e3

        await super().update_server_time_offset_with_time_provider(server_time_now_ms())
        return True

    def add_time_offset_ms_sample(self, offset: float):
        super().add_time_offset_ms_sample(offset)
        self._has_samples, self._cached_offset_ms = True, None

    def clear_time_offset_ms_samples(self):
        super().clear_time_offset_ms_samples()
        self._has_samples, self._cached_offset_ms = False, None


class NonceSource:
    """One monotonic nonce for every signed action: `max(now_ms, last + 1)`, seeded from `GET /account/nonce`
    (§4.8). Nonces are unique per account whatever the action."""

    def __init__(self, clock_ms):
        self._clock_ms = clock_ms
        self._last = 0
        self._last_sent = 0

    def seed(self, last_nonce: int):
        self._last = max(self._last, last_nonce)

    def next(self) -> int:
        self._last = max(self._clock_ms(), self._last + 1)
        return self._last

    def for_departure(self, reserved: Optional[int] = None) -> int:
        """The nonce of a request about to leave: the one reserved for it (an order's, carried by its client id)
        while that is still above every nonce sent, else a fresh one; so requests leave in nonce order (§4.8)."""
        self._last_sent = reserved if reserved is not None and reserved > self._last_sent else self.next()
        return self._last_sent


def client_order_id_for_nonce(nonce: int) -> str:
    """Vest has no client order id (§3.6): ours carries the nonce reserved at creation, so it names the order on Vest
    too. An order that leaves after a higher nonce is signed with a fresh one (§4.8), which the journal maps here."""
    return f"{CONSTANTS.CLIENT_ORDER_ID_PREFIX}{nonce}"


def nonce_of_client_order_id(client_order_id: str) -> Optional[int]:
    suffix = client_order_id[len(CONSTANTS.CLIENT_ORDER_ID_PREFIX):]
    return int(suffix) if client_order_id.startswith(CONSTANTS.CLIENT_ORDER_ID_PREFIX) and suffix.isdigit() else None


class VestPerpetualDerivative(PerpetualDerivativePyBase):
    web_utils = web_utils
    # Hummingbot's abstract properties that are constants here.
    rate_limits_rules: List[RateLimit] = CONSTANTS.RATE_LIMITS
    client_order_id_max_length = CONSTANTS.CLIENT_ORDER_ID_MAX_LENGTH
    client_order_id_prefix = CONSTANTS.CLIENT_ORDER_ID_PREFIX
    trading_rules_request_path = CONSTANTS.EXCHANGE_INFO_PATH_URL
    trading_pairs_request_path = CONSTANTS.EXCHANGE_INFO_PATH_URL
    check_network_request_path = CONSTANTS.EXCHANGE_INFO_PATH_URL
    is_cancel_request_in_exchange_synchronous = False  # the CANCELLED event or the next poll confirms a cancel (§3.7)
    funding_fee_poll_interval = CONSTANTS.FUNDING_PAYMENT_POLL_INTERVAL

    def __init__(
            self,
            vest_perpetual_api_key: str = "",
            vest_perpetual_signing_private_key: str = "",
            vest_perpetual_account_group: int = 0,
            balance_asset_limit: Optional[Dict[str, Dict[str, Decimal]]] = None,
            rate_limits_share_pct: Decimal = Decimal("100"),
            trading_pairs: Optional[List[str]] = None,
            trading_required: bool = True,
            domain: str = CONSTANTS.DOMAIN,
            vest_perpetual_market_order_slippage: Decimal = utils.DEFAULT_MARKET_ORDER_SLIPPAGE,
    ):
        self._api_key = _secret_text(vest_perpetual_api_key).strip()
        self._account_group = utils.validate_account_group(vest_perpetual_account_group or 0)
        self._auth = VestPerpetualAuth(api_key=self._api_key,
                                       signing_private_key=_secret_text(vest_perpetual_signing_private_key),
                                       account_group=self._account_group)
        self._trading_pairs = trading_pairs or []
        self._trading_required = trading_required
        self._domain = domain
        # Hummingbot's market data provider builds a price-only instance with "" for every setting.
        self._market_order_slippage = utils.validate_market_order_slippage(
            vest_perpetual_market_order_slippage or utils.DEFAULT_MARKET_ORDER_SLIPPAGE)
        self._markets: Dict[str, VestMarket] = {}  # by trading pair
        # Funding settled on fills (§6.3), per pair: not yet reported, and the payment reported last.
        self._unreported_funding: Dict[str, Tuple[float, Decimal, Decimal]] = {}
        self._reported_funding: Dict[str, Tuple[float, Decimal, Decimal]] = {}
        # Orders whose venue state (an ORDER event, a poll) was queued before their POST answer was applied.
        self._orders_with_venue_state: Set[str] = set()
        self._order_journal: Optional[OrderJournal] = None
        # Taken back from the journal at start-up, unknown to the running strategy: cancelled once seen open on Vest.
        self._adopted_orders: Set[str] = set()
        self._reported_foreign_orders: Set[str] = set()
        self._unreadable_rows: Set[str] = set()  # ids whose last row could not be read (logged once)
        self._signing_key_verified = False
        self._account_refresh_task: Optional[asyncio.Task] = None
        self._account_refresh_requested = False
        self._clock_sample_account: Optional[Tuple[float, VestAccount]] = None  # (monotonic time, answer)
        self._unlisted_position_symbols: Set[str] = set()
        super().__init__(balance_asset_limit, rate_limits_share_pct)
        self._time_synchronizer = VestTimeSynchronizer()
        self._set_order_book_tracker(VestOrderBookTracker(data_source=self._orderbook_ds,
                                                          trading_pairs=self.trading_pairs, domain=self.domain))
        self._nonces = NonceSource(self._now_ms)

    @property
    def name(self) -> str:
        return self._domain

    @property
    def authenticator(self) -> VestPerpetualAuth:
        return self._auth

    @property
    def account_group(self) -> int:
        return self._account_group

    @property
    def domain(self) -> str:
        return self._domain

    @property
    def trading_pairs(self) -> List[str]:
        return self._trading_pairs

    @property
    def status_dict(self) -> Dict[str, bool]:
        """Not ready while the public stream is silent (PUBLIC_STREAM_SILENCE_SECONDS): books and funding may be old."""
        return {**super().status_dict, "market_data_fresh": not self._orderbook_ds.is_stale}

    @property
    def is_trading_required(self) -> bool:
        return self._trading_required

    def supported_order_types(self) -> List[OrderType]:
        # §6.2: Vest is taker-only against its AMM, so there is no post-only / LIMIT_MAKER.
        return [OrderType.LIMIT, OrderType.MARKET]

    def supported_position_modes(self) -> List[PositionMode]:
        return [PositionMode.ONEWAY]  # one net position per symbol (§3.3)

    def get_buy_collateral_token(self, trading_pair: str) -> str:
        return self._trading_rules[trading_pair].buy_order_collateral_token

    def get_sell_collateral_token(self, trading_pair: str) -> str:
        return self._trading_rules[trading_pair].sell_order_collateral_token

    def _create_web_assistants_factory(self) -> WebAssistantsFactory:
        return web_utils.build_api_factory(throttler=self._throttler, auth=self._auth,
                                           account_group=self._account_group)

    def _create_order_book_data_source(self) -> VestPerpetualAPIOrderBookDataSource:
        return VestPerpetualAPIOrderBookDataSource(trading_pairs=self._trading_pairs, connector=self,
                                                   api_factory=self._web_assistants_factory, domain=self.domain)

    def _create_user_stream_data_source(self) -> VestPerpetualUserStreamDataSource:
        return VestPerpetualUserStreamDataSource(auth=self._auth, connector=self,
                                                 api_factory=self._web_assistants_factory, domain=self.domain)

    async def _api_request(self, path_url, overwrite_url: Optional[str] = None, method: RESTMethod = RESTMethod.GET,
                           params: Optional[Dict[str, Any]] = None, data: Optional[Dict[str, Any]] = None,
                           is_auth_required: bool = False, return_err: bool = False,
                           limit_id: Optional[str] = None, headers: Optional[Dict[str, Any]] = None, **kwargs):
        """Answered within REQUEST_TIMEOUT_SECONDS; Vest's error envelopes (§3.12) and HTTP >= 400 raise."""
        rest_assistant = await self._web_assistants_factory.get_rest_assistant()
        url = overwrite_url or web_utils.private_rest_url(path_url, domain=self.domain)  # one base for all (§1.1)
        response = await rest_assistant.execute_request_and_get_response(
            url=url, params=params, data=data, method=method, is_auth_required=is_auth_required, return_err=True,
            throttler_limit_id=limit_id or path_url, headers=headers, timeout=CONSTANTS.REQUEST_TIMEOUT_SECONDS)
        payload, error = await self._read_response(response)
        if error is not None and not return_err:
            raise error
        return payload

    async def _send_signed(self, path_url: str, stamp: Callable[[int, int], Any], time_in_query: bool = False,
                           reserved_nonce: Optional[int] = None) -> Any:
        """Stamped by `stamp(now_ms, nonce)` and signed only once the throttler lets it go, so it leaves inside its
        window (§4.9) and in nonce order (§4.8). "Too many requests" (429, 1003, §6.5) is waited out and the action
        stamped anew; "invalid nonce" (1023) re-reads Vest's last nonce and re-signs once (§4.8). `time_in_query`
        repeats `time` and `nonce` in the query (§3.7)."""
        attempts_left, nonce_reseeded = CONSTANTS.RATE_LIMITED_RETRIES, False
        while True:
            rest_assistant = await self._web_assistants_factory.get_rest_assistant()
            async with self._throttler.execute_task(limit_id=path_url):
                action = stamp(self._now_ms(), self._nonces.for_departure(reserved_nonce))
                reserved_nonce = None  # a nonce is sent once: a request sent again is signed under a fresh one
                request = RESTRequest(
                    method=RESTMethod.POST, url=web_utils.private_rest_url(path_url, domain=self.domain),
                    params={"time": action.time, "nonce": action.nonce} if time_in_query else None,
                    data=json.dumps(self._auth.signed_body(action)), headers={"Content-Type": "application/json"},
                    is_auth_required=True, throttler_limit_id=path_url)
                response = await rest_assistant.call(request, timeout=CONSTANTS.REQUEST_TIMEOUT_SECONDS)
            payload, error = await self._read_response(response)
            if error is None:
                return payload
            if (error.http_status == 429 or error.code in CONSTANTS.RATE_LIMITED_CODES) and attempts_left > 0:
                attempts_left -= 1
                delay = _retry_after(response) or CONSTANTS.RATE_LIMITED_DELAY
                self.logger().warning(f"Vest asks to slow down ({error}); sending {path_url} again in {delay} s.")
                await self._sleep(delay)
            elif error.code == CONSTANTS.ERROR_INVALID_NONCE and not nonce_reseeded:
                nonce_reseeded = True
                await self._seed_nonce()
            else:
                raise error

    async def _read_response(self, response: RESTResponse) -> Tuple[Any, Optional[VestAPIError]]:
        text = await response.text()
        try:
            payload = json.loads(text) if text else None
        except ValueError:
            payload = text
        # A list is an answer (orders), not an error envelope (§3.12), unless the HTTP status says otherwise.
        is_answer = isinstance(payload, list) and response.status < 400
        error = None if is_answer else parse_error_envelope(payload, response.status)
        if error is not None and self._is_request_exception_related_to_time_synchronizer(error):
            safe_ensure_future(self._update_time_synchronizer(pass_on_non_cancelled_error=True))
        return payload, error

    def _is_request_exception_related_to_time_synchronizer(self, request_exception: Exception) -> bool:
        return isinstance(request_exception, VestAPIError) and request_exception.code in CONSTANTS.TIME_SYNC_ERROR_CODES

    def _is_order_not_found_during_status_update_error(self, status_update_exception: Exception) -> bool:
        error = status_update_exception
        return isinstance(error, VestAPIError) and error.code == CONSTANTS.ERROR_ORDER_NOT_FOUND

    def _is_order_not_found_during_cancelation_error(self, cancelation_exception: Exception) -> bool:
        return self._is_order_not_found_during_status_update_error(cancelation_exception)

    async def _handle_update_error_for_active_order(self, order: InFlightOrder, error: Exception):
        """Only Vest saying the order does not exist counts towards "lost": Hummingbot's default also counts 429s,
        5xx and timeouts of the status request, which would fail (then cancel) orders that are alive."""
        if self._is_order_not_found_during_status_update_error(error) or isinstance(error, asyncio.TimeoutError):
            await super()._handle_update_error_for_active_order(order, error)
        else:
            self.logger().warning(f"Error fetching status update for the active order {order.client_order_id}: "
                                  f"{error}. Retrying at the next poll.")

    async def _update_time_synchronizer(self, pass_on_non_cancelled_error: bool = False):
        """Vest has no server-time endpoint (§2.8): `GET /account`, which needs a key, gives its `time`. A sample is
        only as good as half its round trip, so a slow one is taken again, then the estimate kept."""
        if not self._api_key:
            return
        try:
            for _ in range(CONSTANTS.CLOCK_SAMPLE_ATTEMPTS):
                if await self._time_synchronizer.update_server_time_offset_with_time_provider(self._server_time_ms()):
                    return
            self.logger().warning(f"Vest's clock was not sampled: {CONSTANTS.CLOCK_SAMPLE_ATTEMPTS} answers took "
                                  f"over {CONSTANTS.CLOCK_SAMPLE_MAX_ROUND_TRIP_SECONDS} s; keeping the estimate.")
        except asyncio.CancelledError:
            raise
        except Exception:
            if not pass_on_non_cancelled_error:
                self.logger().exception(f"Error requesting time from {self.name_cap} server")
                raise

    async def _server_time_ms(self) -> float:
        account = await self._fetch_account()
        self._clock_sample_account = (time.monotonic(), account)  # `_update_account` of the same poll applies it
        if account.server_time_ms is None:
            raise VestMessageError("account response has no 'time'")
        return account.server_time_ms

    def _now_ms(self) -> int:
        return int(self._time_synchronizer.time() * 1e3)

    async def start_network(self):
        for kind in ("rest", "ws"):
            override = web_utils.url_override(self._domain, kind)
            if override:
                self.logger().warning(f"{CONSTANTS.URL_OVERRIDE_ENV_VARS[self._domain][kind]} is set: {self._domain} "
                                      f"sends its {kind.upper()} traffic, with your API key and signed orders, to "
                                      f"{override} instead of Vest.")
        await super().start_network()
        if self.is_trading_required:
            await self._seed_nonce()
            self._reconcile_with_venue(at_start_up=True)

    async def _init_funding_info(self):
        """One `/ticker/latest` request for every pair instead of one each."""
        if self.trading_pairs:
            for funding_info in await self._orderbook_ds.get_funding_infos(self.trading_pairs):
                self._perpetual_trading.initialize_funding_info(funding_info)

    async def _seed_nonce(self):
        """§3.4: the server remembers the last nonce; never go below it (the `time` query is required, observed)."""
        try:
            response = await self._api_get(path_url=CONSTANTS.ACCOUNT_NONCE_PATH_URL,
                                           params={"time": self._now_ms()}, is_auth_required=True)
            self._nonces.seed(parse_last_nonce(response))
        except asyncio.CancelledError:
            raise
        except Exception as error:
            self.logger().warning(f"Could not read the last nonce from Vest ({error}); using time-based nonces.")

    async def _format_trading_rules(self, exchange_info_dict: Dict[str, Any]) -> List[TradingRule]:
        """Halted markets too: a halt (or an equity market's closed hours) stops new orders, not the tracking of open
        orders and positions (§2.1, §2.2)."""
        return [market.trading_rule() for market in self._read_markets(exchange_info_dict)]

    def _initialize_trading_pair_symbols_from_exchange_info(self, exchange_info: Dict[str, Any]):
        markets = self._read_markets(exchange_info, log_rejected=False)  # the trading rules update logs them
        self._set_trading_pair_symbol_map(utils.build_symbol_map(
            {"symbol": market.symbol, "base": market.base, "quote": market.quote} for market in markets))

    def is_halted(self, trading_pair: str) -> bool:
        """By the documented flag, the ticker's `status` (§2.2, §5.3), or exchangeInfo's `tradingStatus` (§2.1)."""
        market = self._markets.get(trading_pair)
        return market is not None and (not market.is_trading or self._orderbook_ds.is_halted(market.symbol))

    async def all_trading_pairs(self) -> List[str]:
        """The pairs Hummingbot offers (e.g. to `create`): halted markets are left out until they trade again."""
        return [pair for pair in await super().all_trading_pairs() if not self.is_halted(pair)]

    def _read_markets(self, exchange_info: Dict[str, Any], log_rejected: bool = True) -> List[VestMarket]:
        """The readable markets of `GET /exchangeInfo`, kept by pair; unreadable rows are skipped (§2.1)."""
        markets, rejected = parse_exchange_info(exchange_info)
        for row, reason in rejected if log_rejected else ():
            self.logger().error(f"Error parsing the trading pair rule {row}. Skipping. ({reason})")
        self._markets = {market.trading_pair: market for market in markets}
        return markets

    async def _update_trading_fees(self):
        """The per-symbol `takerFee` is authoritative (§6.3); every fill is a taker fill."""
        for trading_pair, market in self._markets.items():
            self._trading_fees[trading_pair] = TradeFeeSchema(
                maker_percent_fee_decimal=market.taker_fee, taker_percent_fee_decimal=market.taker_fee,
                buy_percent_fee_deducted_from_returns=True)

    def _get_fee(self, base_currency: str, quote_currency: str, order_type: OrderType, order_side: TradeType,
                 position_action: PositionAction, amount: Decimal, price: Decimal = s_decimal_NaN,
                 is_maker: Optional[bool] = None) -> TradeFeeBase:
        return build_perpetual_trade_fee(exchange=self.name, is_maker=False, position_action=position_action,
                                         base_currency=base_currency, quote_currency=quote_currency,
                                         order_type=order_type, order_side=order_side, amount=amount, price=price)

    async def _get_last_traded_price(self, trading_pair: str) -> float:
        prices = await self._orderbook_ds.get_last_traded_prices(trading_pairs=[trading_pair])
        return prices[trading_pair]

    def buy(self, trading_pair: str, amount: Decimal, order_type=OrderType.LIMIT, price: Decimal = s_decimal_NaN,
            **kwargs) -> str:
        return self._submit_order(TradeType.BUY, trading_pair, amount, order_type, price, **kwargs)

    def sell(self, trading_pair: str, amount: Decimal, order_type=OrderType.LIMIT, price: Decimal = s_decimal_NaN,
             **kwargs) -> str:
        return self._submit_order(TradeType.SELL, trading_pair, amount, order_type, price, **kwargs)

    def _submit_order(self, trade_type: TradeType, trading_pair: str, amount: Decimal, order_type: OrderType,
                      price: Decimal, **kwargs) -> str:
        order_id = client_order_id_for_nonce(self._nonces.next())
        safe_ensure_future(self._create_order(trade_type=trade_type, order_id=order_id, trading_pair=trading_pair,
                                              amount=amount, order_type=order_type, price=price, **kwargs))
        return order_id

    async def _place_order_and_process_update(self, order: InFlightOrder, **kwargs) -> Optional[str]:
        """The base method, but an order whose answer was lost stays tracked without an id while Vest may have it
        (§3.6): the poll looks it up by nonce until Vest shows it or its signature expired unseen. And no OPEN is
        queued behind venue state already queued: a MARKET order's ORDER event can beat the POST answer (§5.4), and
        an OPEN after it would move a filled or failed order back to OPEN."""
        try:
            exchange_order_id, update_timestamp = await self._place_order(
                order_id=order.client_order_id, trading_pair=order.trading_pair, amount=order.amount,
                trade_type=order.trade_type, order_type=order.order_type, price=order.price, **kwargs)
        except VestOrderUnconfirmed as unsure:
            self.logger().warning(f"{unsure} The order stays pending; the status poll looks it up by nonce.")
            placed = self._placed(self._nonce_of(order.client_order_id))
            if placed is not None:
                self._poll_once_unreachable(placed.signed_until_ms)
            return None
        finally:
            venue_state_queued = order.client_order_id in self._orders_with_venue_state
            self._orders_with_venue_state.discard(order.client_order_id)
        if not venue_state_queued:
            self._order_tracker.process_order_update(OrderUpdate(
                client_order_id=order.client_order_id, exchange_order_id=str(exchange_order_id),
                trading_pair=order.trading_pair, update_timestamp=update_timestamp, new_state=OrderState.OPEN))
        return exchange_order_id

    async def _place_order(self, order_id: str, trading_pair: str, amount: Decimal, trade_type: TradeType,
                           order_type: OrderType, price: Decimal, position_action: PositionAction = PositionAction.NIL,
                           **kwargs) -> Tuple[str, float]:
        market = self._markets[trading_pair]
        if self.is_halted(trading_pair):  # refused here, at once, rather than by Vest with 1148
            raise VestAPIError(CONSTANTS.ERROR_MARKET_CLOSED, f"{trading_pair} is halted on Vest; orders are accepted "
                                                              f"again once it trades")
        is_buy = trade_type is TradeType.BUY
        is_market = order_type is OrderType.MARKET
        limit_price = self._market_order_worst_price(trading_pair, is_buy) if is_market else price
        sent: List[OrderAction] = []

        def stamp(now_ms: int, nonce: int) -> OrderAction:
            """Journaled under each nonce it is signed with; a nonce Vest refused (rate, 1023) is finished."""
            action = OrderAction(
                time=now_ms, nonce=nonce, symbol=market.symbol, is_buy=is_buy,
                order_type=CONSTANTS.ORDER_TYPE_MARKET if is_market else CONSTANTS.ORDER_TYPE_LIMIT,
                size=market.format_size(amount), limit_price=market.format_price(limit_price),
                reduce_only=position_action is PositionAction.CLOSE,
                time_in_force=None if is_market else CONSTANTS.TIME_IN_FORCE_GTC)
            if self.order_journal is not None:  # before the request leaves: a crash after it must find the order
                if sent:
                    self.order_journal.record_finished(sent[-1].nonce, "venue")
                self.order_journal.record_placement(PlacedOrder(
                    nonce=nonce, client_order_id=order_id, trading_pair=trading_pair, trade_type=trade_type.name,
                    order_type=order_type.name, amount=action.size, price=action.limit_price,
                    position_action=position_action.name, signed_until_ms=now_ms + CONSTANTS.RECV_WINDOW_MS))
            sent.append(action)
            return action

        try:
            exchange_order_id = parse_order_id(await self._send_signed(
                CONSTANTS.ORDERS_PATH_URL, stamp, reserved_nonce=nonce_of_client_order_id(order_id)))
        except asyncio.CancelledError:
            raise
        except Exception as error:
            nonce = sent[-1].nonce if sent else self._nonce_of(order_id)
            # Vest's answer proves the order was refused; a transport error or a 5xx proves nothing.
            if isinstance(error, VestAPIError) and (error.http_status is None or error.http_status < 500):
                self._journal_finished(nonce)
                raise
            # It may have reached Vest: looked up by nonce, not failed (orphaned) or resent (duplicated).
            exchange_order_id = await self._find_order_id_by_nonce(nonce)
            if exchange_order_id is None:
                raise VestOrderUnconfirmed(f"No answer from Vest to order {order_id} ({error!r}), and no order with "
                                           f"nonce {nonce} yet.") from error
            self.logger().info(f"Recovered order {order_id} ({exchange_order_id}) by nonce after: {error}")
        if self.order_journal is not None:
            self.order_journal.record_exchange_order_id(sent[-1].nonce, exchange_order_id)
        return exchange_order_id, self._time()

    def _nonce_of(self, client_order_id: str) -> Optional[int]:
        """The nonce an order was last signed with (the journal knows a re-signed one), else its client id's."""
        nonce = self.order_journal.nonce_of(client_order_id) if self.order_journal is not None else None
        return nonce if nonce is not None else nonce_of_client_order_id(client_order_id)

    def _placed(self, nonce: Optional[int]) -> Optional[PlacedOrder]:
        return self.order_journal.get(nonce) if self.order_journal is not None else None

    def _client_order_id_of(self, nonce: int) -> str:
        placed = self._placed(nonce)
        return placed.client_order_id if placed is not None else client_order_id_for_nonce(nonce)

    @property
    def order_journal(self) -> Optional[OrderJournal]:
        """This bot's signed orders, in Hummingbot's data folder; none without a signing key (nothing is signed)."""
        if self._order_journal is None and self._auth.signer_address is not None:
            path = Path(data_path()) / f"vest_perpetual_orders_{self._domain}_{self._auth.signer_address}.jsonl"
            self._order_journal = OrderJournal(path, self.logger(), clock=self._time)
        return self._order_journal

    def _journal_finished(self, nonce: Optional[int], outcome: str = "venue"):
        if self.order_journal is not None and nonce is not None:
            self.order_journal.record_finished(nonce, outcome)

    def _on_order_failure(self, order_id: str, trading_pair: str, amount: Decimal, trade_type: TradeType,
                          order_type: OrderType, price: Optional[Decimal], exception: Exception, **kwargs):
        """Vest's refusals show Vest's code, name and hint instead of Hummingbot's "Check API key and network"."""
        if not isinstance(exception, VestAPIError):
            return super()._on_order_failure(order_id=order_id, trading_pair=trading_pair, amount=amount,
                                             trade_type=trade_type, order_type=order_type, price=price,
                                             exception=exception, **kwargs)
        hint = CONSTANTS.ERROR_HINTS.get(exception.code, "")
        self.logger().network(
            f"Error submitting {trade_type.name.lower()} {order_type.name.upper()} order to {self.name_cap} for "
            f"{amount} {trading_pair} {price}.", exc_info=True,
            app_warning_msg=f"Vest refused the {trade_type.name} order on {trading_pair}: {exception.code} "
                            f"{exception.name}. {hint}".rstrip())
        self._order_tracker.process_order_update(OrderUpdate(
            client_order_id=order_id, trading_pair=trading_pair, update_timestamp=self.current_timestamp,
            new_state=OrderState.FAILED, misc_updates={"error_type": exception.name, "error_message": str(exception)}))

    def _market_order_worst_price(self, trading_pair: str, is_buy: bool) -> Decimal:
        """§3.6/§6.2: a MARKET order signs a worst price, mark x (1 ± slippage cap); Vest rejects worse with 3001."""
        try:  # not `pair in funding_info`: that property deep-copies every pair's funding info
            reference = self.get_funding_info(trading_pair).mark_price
        except KeyError:
            reference = Decimal(str(self.get_price(trading_pair, is_buy)))
        return reference * (1 + self._market_order_slippage if is_buy else 1 - self._market_order_slippage)

    async def _find_order_id_by_nonce(self, nonce: int) -> Optional[str]:
        delay = CONSTANTS.ORDER_LOOKUP_INITIAL_DELAY
        for _ in range(CONSTANTS.ORDER_LOOKUP_ATTEMPTS):
            try:
                orders = await self._fetch_orders({"nonce": nonce})
                if orders:
                    return orders[0].order_id
            except asyncio.CancelledError:
                raise
            except Exception as error:
                self.logger().debug(f"Order lookup by nonce {nonce} failed: {error}")
            await self._sleep(delay)
            delay *= 2
        return None

    async def _place_cancel(self, order_id: str, tracked_order: InFlightOrder) -> bool:
        """True once Vest answers the documented `{"id": …}` (§3.7). Any other answer proves nothing: the order's
        state is read and applied instead, and the cancel fails while Vest still shows it open."""
        exchange_order_id = await tracked_order.get_exchange_order_id()
        try:
            parse_order_id(await self._send_signed(CONSTANTS.CANCEL_ORDER_PATH_URL, lambda now_ms, nonce: CancelAction(
                time=now_ms, nonce=nonce, order_id=exchange_order_id), time_in_query=True))
            return True
        except VestAPIError as error:
            if error.code != CONSTANTS.ERROR_ORDER_NOT_FOUND:
                raise
            # 3017: already filled or cancelled. The final state is read, not guessed; our request cancelled
            # nothing, so no PENDING_CANCEL follows (it would overwrite the final state).
            try:
                order = await self._fetch_tracked_order(tracked_order)
            except VestAPIError:
                raise error
            self._apply_order(tracked_order, order)
            return False
        except VestMessageError as error:
            order = await self._fetch_tracked_order(tracked_order)
            self._apply_order(tracked_order, order)
            if order.state in (OrderState.OPEN, OrderState.PARTIALLY_FILLED):
                raise VestAPIError(None, f"Vest did not confirm the cancel of {order_id} ({error}); the order is "
                                         f"still open on Vest") from error
            return False

    async def cancel_all(self, timeout_seconds: float) -> List[CancellationResult]:
        """Each order reported as it really ended: Hummingbot's version drops every result when its timeout hits
        (a stopping bot has 20 s). Orders with an exchange id go first; those still unsure when the cancels' share
        of the time is up are read back in batches (§3.8): cancelled or filled on Vest, they are no longer open."""
        orders = sorted((order for order in self.in_flight_orders.values() if not order.is_done),
                        key=lambda order: order.exchange_order_id is None)
        read_back_seconds = min(CONSTANTS.CANCEL_ALL_READ_BACK_SECONDS, timeout_seconds / 4)
        cancels = [safe_ensure_future(self._execute_cancel(order.trading_pair, order.client_order_id))
                   for order in orders]
        if cancels:
            await asyncio.wait(cancels, timeout=timeout_seconds - read_back_seconds)
        for cancel in cancels:
            cancel.cancel()  # still queued or unanswered: its order is read back like any other unsure one
        accepted = {cancel.result() for cancel in cancels
                    if cancel.done() and not cancel.cancelled() and cancel.exception() is None}
        unsure = [order for order in orders if order.client_order_id not in accepted and not order.is_done]
        ended: Set[str] = set()
        try:
            await asyncio.wait_for(self._read_back(unsure, ended), timeout=read_back_seconds)
        except asyncio.TimeoutError:
            self.logger().warning(f"Vest did not answer in time whether {len(unsure)} orders are still open.")
        still_open = [order.client_order_id for order in unsure if order.client_order_id not in ended]
        if still_open:
            self.logger().warning(f"{len(still_open)} orders may still be open on Vest after cancel_all: "
                                  f"{', '.join(still_open)}")
        return [CancellationResult(order.client_order_id, order.client_order_id not in still_open) for order in orders]

    async def _read_back(self, orders: List[InFlightOrder], ended: Set[str]):
        """Applies the rows of `orders`; those Vest shows final go to `ended` now, before the tracker applies them."""
        by_exchange_id = {order.exchange_order_id: order for order in orders if order.exchange_order_id}
        for _, result in await self._fetch_in_batches(list(by_exchange_id)):
            if isinstance(result, Exception):
                self.logger().warning(f"Could not read back orders after cancelling them: {result}")
                continue
            for row in result:
                tracked_order = by_exchange_id.get(row.order_id)
                if tracked_order is not None:
                    self._apply_order(tracked_order, row)
                    if row.state in _FINAL_STATES:
                        ended.add(tracked_order.client_order_id)

    async def _fetch_orders(self, params: Dict[str, Any]) -> List[VestOrder]:
        """Orders matching `params` (§3.8). An unreadable row is left out (logged once): the rest still applies."""
        response = await self._api_get(path_url=CONSTANTS.ORDERS_PATH_URL, params={**params, "time": self._now_ms()},
                                       is_auth_required=True, limit_id=CONSTANTS.ORDERS_QUERY_LIMIT_ID)
        orders, rejected = parse_orders(response)
        self._unreadable_rows.difference_update(order.order_id for order in orders)
        for order_id, reason in rejected:
            log = self.logger().debug if order_id in self._unreadable_rows else self.logger().warning
            self._unreadable_rows.add(order_id)
            log(f"Skipping an unreadable row of GET /orders (order {order_id}): {reason}")
        return orders

    async def _fetch_in_batches(self, exchange_order_ids: List[str]) -> List[Tuple[List[str], Any]]:
        """One `GET /orders?id=a,b,…` per ORDER_STATUS_BATCH_SIZE ids, all at once (§3.8): rows or error per batch."""
        size = CONSTANTS.ORDER_STATUS_BATCH_SIZE
        batches = [exchange_order_ids[start:start + size] for start in range(0, len(exchange_order_ids), size)]
        results = await safe_gather(*(self._fetch_orders({"id": ",".join(batch)}) for batch in batches),
                                    return_exceptions=True)
        return list(zip(batches, results))

    async def _fetch_tracked_order(self, tracked_order: InFlightOrder) -> VestOrder:
        """The order's current row, by exchange id or, when its creation answer was lost, by nonce (§3.8)."""
        nonce = self._nonce_of(tracked_order.client_order_id)
        if tracked_order.exchange_order_id:
            orders = await self._fetch_orders({"id": tracked_order.exchange_order_id})
        elif nonce is not None:
            orders = await self._fetch_orders({"nonce": nonce})
        else:
            orders = []
        for order in orders:  # only the order asked for, whatever else an answer carries
            if order.order_id == tracked_order.exchange_order_id or (order.nonce == nonce and nonce is not None):
                return order
        if tracked_order.exchange_order_id in self._unreadable_rows:
            raise VestMessageError(f"the row of order {tracked_order.exchange_order_id} could not be read")
        raise _unknown_to_vest(tracked_order)

    async def _update_order_status(self):
        """Batched `GET /orders?id=a,b,…` (§3.8), not Hummingbot's two requests per order: 150 open orders after a
        stream gap take 3 requests, not 300 through a 10/s limit. As in Hummingbot, every fillable order gets its
        fill and only active ones their state; fully filled ones are left out. Orders without an id yet, or whose
        row was unreadable, are looked up one by one."""
        active = self._order_tracker.active_orders
        orders = [order for order in self._order_tracker.all_fillable_orders.values() if not order.is_filled]
        by_exchange_id = {order.exchange_order_id: order for order in orders if order.exchange_order_id}
        answers = await self._fetch_in_batches(list(by_exchange_id))
        singles = [order for order in orders if not order.exchange_order_id]
        for batch, result in answers:
            if isinstance(result, Exception):
                self.logger().warning(f"Error fetching the status of {len(batch)} orders: {result}. Retrying at "
                                      "the next poll.")
                continue
            rows = {row.order_id: row for row in result}
            for exchange_order_id in batch:
                tracked_order = by_exchange_id[exchange_order_id]
                if exchange_order_id in rows:
                    self._apply_polled_order(tracked_order, rows[exchange_order_id],
                                             with_state=tracked_order.client_order_id in active)
                elif len(batch) > 1 or exchange_order_id in self._unreadable_rows:
                    # Unreadable, or left out of a list's answer (§3.8): asked alone, not counted as unknown.
                    singles.append(tracked_order)
                elif tracked_order.client_order_id in active:
                    await self._handle_update_error_for_active_order(tracked_order, _unknown_to_vest(tracked_order))
        for tracked_order in singles:
            await self._update_single_order_status(tracked_order, is_active=tracked_order.client_order_id in active)

    async def _update_single_order_status(self, tracked_order: InFlightOrder, is_active: bool):
        if not (is_active or tracked_order.exchange_order_id):
            return
        try:
            order = await self._fetch_tracked_order(tracked_order)
        except asyncio.CancelledError:
            raise
        except VestMessageError as error:
            self.logger().debug(f"The state of order {tracked_order.client_order_id} is unknown for now: {error}")
        except Exception as error:
            if tracked_order.exchange_order_id is None and self._is_order_not_found_during_status_update_error(error):
                self._fail_if_unreachable(tracked_order)
            elif is_active:
                await self._handle_update_error_for_active_order(tracked_order, error)
        else:
            self._apply_polled_order(tracked_order, order, with_state=is_active)

    def _fail_if_unreachable(self, tracked_order: InFlightOrder):
        """An order whose answer was lost fails only once Vest can no longer book it: no order with its nonce
        exists and its signature (`time` + `recvWindow`, §4.9) expired, by Vest's clock, a margin ago."""
        nonce = self._nonce_of(tracked_order.client_order_id)
        placed = self._placed(nonce)
        signed_until_ms = placed.signed_until_ms if placed is not None else (nonce or 0) + CONSTANTS.RECV_WINDOW_MS
        if self._now_ms() < signed_until_ms + CONSTANTS.UNREACHABLE_ORDER_MARGIN_MS:
            self._poll_once_unreachable(signed_until_ms)  # look again the moment it can be given up
            return
        self._journal_finished(nonce, outcome="unreachable")
        self._order_tracker.process_order_update(OrderUpdate(
            client_order_id=tracked_order.client_order_id, trading_pair=tracked_order.trading_pair,
            update_timestamp=self._time(), new_state=OrderState.FAILED, misc_updates={
                "error_type": "NOT_RECEIVED",
                "error_message": f"Vest never received the order: no order with nonce {nonce} exists and its "
                                 f"signature has expired."}))

    def _apply_polled_order(self, tracked_order: InFlightOrder, order: VestOrder, with_state: bool):
        """A polled row: fill then state for an active order, only the fill for a recently completed one."""
        executed_before = tracked_order.executed_amount_base
        ended_unseen = with_state and order.state in _FINAL_STATES and not tracked_order.is_done
        if with_state:
            self._apply_order(tracked_order, order)
        else:
            self._apply_fill(tracked_order, order)
        if ended_unseen or tracked_order.executed_amount_base != executed_before:
            self._note_update_missed_by_the_stream(tracked_order)

    async def _request_order_status(self, tracked_order: InFlightOrder) -> OrderUpdate:
        return self._order_update(tracked_order, await self._fetch_tracked_order(tracked_order))

    async def _all_trade_updates_for_order(self, order: InFlightOrder) -> List[TradeUpdate]:
        if order.exchange_order_id is None and self._nonce_of(order.client_order_id) is None:
            return []
        trade_update = self._fill_trade_update(order, await self._fetch_tracked_order(order))
        return [trade_update] if trade_update is not None else []

    def _fill_trade_update(self, tracked_order: InFlightOrder, order: VestOrder) -> Optional[TradeUpdate]:
        """The execution this row proves beyond what the order booked (`VestOrder.fill_beyond`), with its funding."""
        booked_fees = sum((trade.fee.flat_fees[0].amount for trade in tracked_order.order_fills.values()
                           if trade.fee.flat_fees), Decimal(0))
        fill = order.fill_beyond(tracked_order.amount, tracked_order.executed_amount_base,
                                 tracked_order.executed_amount_quote, booked_fees)
        if fill is None or fill.trade_id in tracked_order.order_fills:
            return None
        self._record_funding_settlement(tracked_order.trading_pair, fill)
        # The order's own position action, else (NIL, e.g. restored) Vest's `reduceOnly` tells if it could only close.
        position_action = getattr(tracked_order, "position", PositionAction.NIL)
        if position_action not in (PositionAction.OPEN, PositionAction.CLOSE):
            position_action = PositionAction.CLOSE if order.reduce_only else PositionAction.OPEN
        fee = TradeFeeBase.new_perpetual_fee(
            fee_schema=self.trade_fee_schema(), position_action=position_action,
            flat_fees=[TokenAmount(amount=fill.fee, token=CONSTANTS.COLLATERAL_TOKEN)])
        return TradeUpdate(trade_id=fill.trade_id, client_order_id=tracked_order.client_order_id,
                           exchange_order_id=order.order_id, trading_pair=tracked_order.trading_pair,
                           fill_timestamp=fill.timestamp or self._time(), fill_price=fill.price,
                           fill_base_amount=fill.size, fill_quote_amount=fill.size * fill.price, fee=fee)

    def _order_update(self, tracked_order: InFlightOrder, order: VestOrder) -> OrderUpdate:
        misc_updates = None
        if order.state is OrderState.FAILED:
            # REJECTED carries Vest's code (§5.4); the failure event shows code and name.
            misc_updates = {"error_type": order.error_name,
                            "error_message": f"Vest rejected the order: {order.code} {order.error_name}"}
        timestamp = (order.last_filled_time or order.post_time or self._now_ms()) * 1e-3
        return OrderUpdate(trading_pair=tracked_order.trading_pair, update_timestamp=timestamp,
                           new_state=order.state, client_order_id=tracked_order.client_order_id,
                           exchange_order_id=order.order_id, misc_updates=misc_updates)

    def _apply_order(self, tracked_order: InFlightOrder, order: VestOrder):
        """Fill first, so Hummingbot sees OrderFilled before OrderCompleted. A row that changes neither state nor
        exchange id (a NEW event after the POST answer, a poll of a resting order) is not queued: a no-op there."""
        self._apply_fill(tracked_order, order)
        nonce = self._nonce_of(tracked_order.client_order_id)
        if self.order_journal is not None and nonce is not None:
            self.order_journal.record_exchange_order_id(nonce, order.order_id)
        if (order.state, order.order_id) != (tracked_order.current_state, tracked_order.exchange_order_id):
            if tracked_order.current_state is OrderState.PENDING_CREATE:
                self._orders_with_venue_state.add(tracked_order.client_order_id)
            self._order_tracker.process_order_update(self._order_update(tracked_order, order))
        if order.state in _FINAL_STATES:
            self._journal_finished(nonce)
        elif tracked_order.client_order_id in self._adopted_orders:
            self._adopted_orders.discard(tracked_order.client_order_id)
            self.logger().warning(f"Cancelling order {tracked_order.client_order_id} ({order.order_id}), found open on "
                                  f"Vest: this bot placed it before a restart, and the running strategy does not "
                                  f"know it.")
            safe_ensure_future(self._execute_cancel(tracked_order.trading_pair, tracked_order.client_order_id))

    def _apply_fill(self, tracked_order: InFlightOrder, order: VestOrder):
        trade_update = self._fill_trade_update(tracked_order, order)
        if trade_update is not None:
            self._order_tracker.process_trade_update(trade_update)
            self._schedule_account_refresh()  # positions and balances move with fills (§5.4: no push)

    async def _user_stream_event_listener(self):
        async for message in self._iter_user_event_queue():
            try:
                if not isinstance(message, Mapping):
                    # The data source queues decoded `{"channel", "data"}` dicts only.
                    raise TypeError(f"user stream item is not a decoded message: {type(message).__name__}")
                _, data = parse_push(message)
                event = parse_account_event(data)
                if event.event == CONSTANTS.WS_EVENT_ORDER:
                    self._process_order_event(parse_order(event.args))
                else:
                    self._schedule_account_refresh()  # LP / TRANSFER move collateral (§5.4)
            except asyncio.CancelledError:
                raise
            except VestMessageError as error:
                self.logger().warning(f"Skipping malformed account_private message: {error}")
            except Exception:
                self.logger().exception("Unexpected error in user stream listener loop.")

    def _get_poll_interval(self, timestamp: float) -> float:
        """Short while orders are open and the private stream carried no event for PRIVATE_STREAM_SILENCE_SECONDS,
        not Hummingbot's minute: a stream can stay open, answering PINGs, and carry nothing."""
        silent_for = timestamp - self._user_stream_tracker.last_recv_time
        if self._order_tracker.active_orders and silent_for > CONSTANTS.PRIVATE_STREAM_SILENCE_SECONDS:
            return self.SHORT_POLL_INTERVAL
        return super()._get_poll_interval(timestamp)

    def _note_update_missed_by_the_stream(self, tracked_order: InFlightOrder):
        """A poll found a change the private stream never delivered: silent for PRIVATE_STREAM_SILENCE_SECONDS (not
        an event still on its way), the open connection is broken, so it starts again and polls for the gap (§5.4)."""
        silent_for = self._time() - self._user_stream_tracker.last_recv_time
        if self._user_stream_tracker.last_recv_time and silent_for > CONSTANTS.PRIVATE_STREAM_SILENCE_SECONDS:
            safe_ensure_future(self._user_stream_tracker.data_source.reconnect(
                f"a poll found an update of {tracked_order.client_order_id} the stream, silent for "
                f"{silent_for:.0f} s, never delivered"))

    def resync_after_user_stream_gap(self):
        """Called by the user stream after a reconnection: events of the gap are lost for good (§5.4)."""
        self._reconcile_with_venue(at_start_up=False)

    def _process_order_event(self, order: VestOrder):
        tracked_order = self._tracked_order_of(order) or self._reattach(order)
        if tracked_order is not None:
            if order.state in (OrderState.CANCELED, OrderState.FAILED) and tracked_order.executed_amount_base > 0:
                # Vest's short final event carries no fills (§5.4): the row is read first, so no lost part goes unseen.
                safe_ensure_future(self._apply_final_event_after_row(tracked_order, order))
            else:
                self._apply_order(tracked_order, order)
            return
        # Another client, Vest's web interface, a liquidation, a TP/SL child: not ours, but its fills move the account.
        if order.order_type == CONSTANTS.ORDER_TYPE_LIQUIDATION:
            self.logger().warning(f"Vest liquidated a position: order {order.order_id} ({order.symbol}, "
                                  f"{order.status}).")
        elif order.order_id not in self._reported_foreign_orders:
            self._reported_foreign_orders.add(order.order_id)
            self.logger().info(f"Order {order.order_id} ({order.symbol}, {order.status}) was not placed by this bot; "
                               f"it is left to whoever placed it.")
        if order.carries_fill:
            self._schedule_account_refresh()

    async def _apply_final_event_after_row(self, tracked_order: InFlightOrder, order: VestOrder):
        try:
            self._apply_fill(tracked_order, await self._fetch_tracked_order(tracked_order))
        except asyncio.CancelledError:
            raise
        except Exception as error:
            self.logger().warning(f"Could not read order {tracked_order.client_order_id} before applying its "
                                  f"{order.status} event ({error}); the status poll will read it.")
        self._apply_order(tracked_order, order)

    def _tracked_order_of(self, order: VestOrder) -> Optional[InFlightOrder]:
        """By nonce, else by exchange id (§5.4); direct look-ups first, as the tracker's merged views copy on read."""
        tracker = self._order_tracker
        if order.nonce is not None:
            client_order_id = self._client_order_id_of(order.nonce)
            tracked = (tracker.fetch_tracked_order(client_order_id) or tracker.fetch_cached_order(client_order_id)
                       or tracker.lost_orders.get(client_order_id))
            if tracked is not None:
                return tracked
        return tracker.all_fillable_orders_by_exchange_order_id.get(order.order_id)

    def _reattach(self, order: VestOrder) -> Optional[InFlightOrder]:
        """An order of this bot (its nonce is journaled) no longer tracked, placed before a restart or given up as
        unreachable: tracked again so its state and fills are reported. Orders Vest finished are not: repeats."""
        placed = self._placed(order.nonce)
        if placed is None or placed.outcome == "venue":
            return None
        self.order_journal.reopen(placed.nonce)
        self._track_placed_order(placed, order.order_id)
        self.logger().info(f"Tracking order {placed.client_order_id} ({order.order_id}) again: Vest reports it as "
                           f"{order.status}.")
        return self._order_tracker.fetch_tracked_order(placed.client_order_id)

    def _reconcile_with_venue(self, at_start_up: bool):
        """At start-up and after a stream gap (§3.13): journaled orders Hummingbot does not track (a crash, a
        restart) are tracked again for the poll to resolve, and cancelled if open on Vest, as are, at start-up,
        orders Hummingbot restored from its database: the running strategy did not place them."""
        journal = self.order_journal
        for placed in journal.unfinished() if journal is not None else []:
            tracked = self._order_tracker.fetch_order(placed.client_order_id) is not None
            if not tracked:
                self._track_placed_order(placed, placed.exchange_order_id)
            if placed.exchange_order_id is None:
                self._poll_once_unreachable(placed.signed_until_ms)
            if at_start_up or not tracked:
                self._adopted_orders.add(placed.client_order_id)
        self._poll_notifier.set()
        safe_ensure_future(self._review_open_orders())

    def _poll_once_unreachable(self, signed_until_ms: int):
        """A poll the moment an order without Vest's id can be given up (§3.13), not 120 s later."""
        delay_ms = signed_until_ms + CONSTANTS.UNREACHABLE_ORDER_MARGIN_MS - self._now_ms()
        # Hummingbot replaces the notifier after each poll: the one current when the time comes is set.
        asyncio.get_running_loop().call_later(max(delay_ms, 0) * 1e-3, lambda: self._poll_notifier.set())

    async def _review_open_orders(self):
        """Every open order on the account: ours are applied (or taken back), others reported once."""
        try:
            open_orders = await self._fetch_orders({"status": CONSTANTS.ORDER_STATUS_NEW})
        except asyncio.CancelledError:
            raise
        except Exception as error:
            self.logger().warning(f"Could not list the open orders on Vest ({error}); retrying after the next gap.")
            return
        for order in open_orders:
            self._process_order_event(order)

    def _track_placed_order(self, placed: PlacedOrder, exchange_order_id: Optional[str]):
        self.start_tracking_order(
            order_id=placed.client_order_id, exchange_order_id=exchange_order_id, trading_pair=placed.trading_pair,
            trade_type=TradeType[placed.trade_type], price=Decimal(placed.price), amount=Decimal(placed.amount),
            order_type=OrderType[placed.order_type], position_action=PositionAction[placed.position_action])

    async def _status_polling_loop_fetch_updates(self):
        # Hummingbot's poll has just sampled the clock from `GET /account`: that answer serves the balances too.
        await safe_gather(self._update_account(reuse_clock_sample=True), self._update_order_status())

    async def _update_balances(self):
        """`connect` and `balance` check credentials through this call: a non-trading instance also verifies the
        signing key, so a wrong key fails `connect` instead of every order."""
        if not (self.is_trading_required or self._signing_key_verified):
            await self._verify_signing_key()
        await self._update_account()

    async def _verify_signing_key(self):
        """A signed cancel of an order that cannot exist has no effect: Vest answers 3017 ORDER_NOT_FOUND when the
        signature recovers the signer registered for the API key, 1022 INVALID_SIGNATURE when not (§3.7)."""
        if self._auth.signer_address is None:
            return
        try:
            await self._send_signed(CONSTANTS.CANCEL_ORDER_PATH_URL, lambda now_ms, nonce: CancelAction(
                time=now_ms, nonce=nonce, order_id=CONSTANTS.NO_SUCH_ORDER_ID), time_in_query=True)
        except VestAPIError as error:
            if error.code != CONSTANTS.ERROR_ORDER_NOT_FOUND:
                hint = CONSTANTS.ERROR_HINTS.get(error.code)
                raise VestAPIError(error.code, f"{error.message}. {hint}" if hint else error.message,
                                   error.http_status) from None
        self._signing_key_verified = True  # 3017 or no error: Vest accepted the signature

    async def _update_positions(self):
        await self._update_account()

    async def _fetch_account(self) -> VestAccount:
        response = await self._api_get(path_url=CONSTANTS.ACCOUNT_PATH_URL, params={"time": self._now_ms()},
                                       is_auth_required=True)
        return parse_account(response)

    async def _update_account(self, reuse_clock_sample: bool = False):
        """Balances, positions and leverage come from `GET /account` (§3.3), never pushed; the status poll reuses
        its fresh clock sample's answer instead of reading twice."""
        sampled, self._clock_sample_account = self._clock_sample_account, None
        if reuse_clock_sample and sampled is not None and \
                time.monotonic() - sampled[0] <= CONSTANTS.ACCOUNT_REUSE_SECONDS:
            account = sampled[1]
        else:
            account = await self._fetch_account()
        self._account_balances = {CONSTANTS.COLLATERAL_TOKEN: account.total_balance}
        self._account_available_balances = {CONSTANTS.COLLATERAL_TOKEN: account.available_balance}
        symbol_map = await self.trading_pair_symbol_map() if account.positions or account.leverages else {}
        if account.positions is not None:  # an answer without the field says nothing about positions
            self._apply_positions(account, symbol_map)
        for symbol, leverage in account.leverages.items():
            trading_pair = symbol_map.get(symbol)
            if trading_pair is not None:
                self._perpetual_trading.set_leverage(trading_pair, leverage)

    def _apply_positions(self, account: VestAccount, symbol_map: Mapping[str, str]):
        reported = set()
        for position in account.positions:
            trading_pair = symbol_map.get(position.symbol)
            if trading_pair is None:
                if position.symbol not in self._unlisted_position_symbols:  # once, not at every poll
                    self._unlisted_position_symbols.add(position.symbol)
                    self.logger().warning(f"Vest reports a position in {position.symbol}, a market missing from "
                                          f"exchangeInfo; it is not shown until the market is listed again.")
                continue
            side = PositionSide.LONG if position.is_long else PositionSide.SHORT
            leverage = account.leverages.get(position.symbol, self.get_leverage(trading_pair))
            key = self._perpetual_trading.position_key(trading_pair, side)
            reported.add(key)
            self._perpetual_trading.set_position(key, Position(
                trading_pair=trading_pair, position_side=side, unrealized_pnl=position.unrealized_pnl,
                entry_price=position.entry_price, amount=position.size if position.is_long else -position.size,
                leverage=Decimal(leverage)))
        for key in set(self._perpetual_trading.account_positions) - reported:
            self._perpetual_trading.remove_position(key)  # positions Vest stopped reporting are gone

    def _schedule_account_refresh(self):
        """One refresh at a time, and one more if asked meanwhile: that read may predate the newest fill."""
        if self._account_refresh_task is None or self._account_refresh_task.done():
            self._account_refresh_task = safe_ensure_future(self._refresh_account())
        else:
            self._account_refresh_requested = True

    async def _refresh_account(self):
        self._account_refresh_requested = True
        while self._account_refresh_requested:
            self._account_refresh_requested = False
            await self._update_account()

    async def _trading_pair_position_mode_set(self, mode: PositionMode, trading_pair: str) -> Tuple[bool, str]:
        if mode is PositionMode.ONEWAY:
            return True, ""
        return False, "Vest keeps one net position per market: only ONEWAY position mode is supported."

    async def _set_trading_pair_leverage(self, trading_pair: str, leverage: int) -> Tuple[bool, str]:
        symbol = await self.exchange_symbol_associated_to_pair(trading_pair)
        # §3.5: Vest's docs call these "Parameters" (a query string) and clients send a JSON body: both are sent.
        parameters = {"time": self._now_ms(), "symbol": symbol, "value": int(leverage)}
        try:
            response = await self._api_post(path_url=CONSTANTS.LEVERAGE_PATH_URL, is_auth_required=True,
                                            params=parameters, data=parameters)
            _, value = parse_leverage(response)
        except VestAPIError as error:
            if error.code == CONSTANTS.ERROR_DECREASE_LEVERAGE_WITH_POSITION:
                return False, (f"{error}. Vest does not allow lowering leverage while a {trading_pair} position is "
                               "open; close it first or keep the current leverage.")
            return False, str(error)
        except VestMessageError as error:
            return False, f"Unexpected leverage response: {error}"
        return value == int(leverage), "" if value == int(leverage) else f"Vest set leverage {value}"

    async def _fetch_last_fee_payment(self, trading_pair: str) -> Tuple[float, Decimal, Decimal]:
        """No funding-payment endpoint (§6.3): fills' `settledFunding` since the last poll make one payment, stamped
        with the newest fill's time but after the last payment (a late fill), so Hummingbot reports it. With none,
        the last payment is repeated, which Hummingbot does not report twice."""
        payment = self._unreported_funding.pop(trading_pair, None)
        if payment is not None:
            timestamp, rate, amount = payment
            last_timestamp = self._reported_funding.get(trading_pair, (0,))[0]
            self._reported_funding[trading_pair] = (max(timestamp, math.nextafter(last_timestamp, math.inf)), rate,
                                                    amount)
        return self._reported_funding.get(trading_pair, (0, Decimal(-1), Decimal(-1)))

    def _record_funding_settlement(self, trading_pair: str, fill: VestFill):
        """Called once per new fill; settlements not yet handed over add up."""
        if fill.settled_funding:
            try:
                rate = self.get_funding_info(trading_pair).rate
            except KeyError:
                rate = Decimal(0)
            timestamp, _, amount = self._unreported_funding.get(trading_pair, (0, rate, Decimal(0)))
            self._unreported_funding[trading_pair] = (max(timestamp, fill.timestamp), rate,
                                                      amount + fill.settled_funding)


class VestOrderUnconfirmed(Exception):
    """An order Vest may or may not have booked: its answer was lost and a look-up by nonce found nothing yet."""


def _unknown_to_vest(tracked_order: InFlightOrder) -> VestAPIError:
    """What Vest's empty answer to an order lookup means (§3.8), as the error Hummingbot's not-found hooks count."""
    return VestAPIError(CONSTANTS.ERROR_ORDER_NOT_FOUND, f"order {tracked_order.client_order_id} is unknown to Vest")


def _secret_text(value: Any) -> str:
    """Config values arrive as plain strings from Hummingbot, or as SecretStr from a config map."""
    return value.get_secret_value() if hasattr(value, "get_secret_value") else "" if value is None else str(value)


def _retry_after(response: RESTResponse) -> Optional[float]:
    """Seconds from a `Retry-After: <seconds>` header, if Vest sends one."""
    try:
        return max(float(response.headers.get("Retry-After")), 0.0)
    except (TypeError, ValueError):
        return None
