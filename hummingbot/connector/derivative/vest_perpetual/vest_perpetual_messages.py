"""Pure parsers turning Vest payloads into typed values, one per payload kind, shared by REST and WebSocket; a
payload that does not fit raises `VestMessageError` with a readable reason. Section numbers refer to
docs/vest-protocol.md."""
import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from itertools import repeat
from math import isfinite
from operator import add, itemgetter
from typing import Any, Dict, List, Optional, Tuple, Union

import brotli

from hummingbot.connector.derivative.vest_perpetual import vest_perpetual_constants as CONSTANTS
from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_utils import trading_pair_of
from hummingbot.connector.trading_rule import TradingRule
from hummingbot.core.data_type.common import TradeType
from hummingbot.core.data_type.in_flight_order import OrderState
from hummingbot.core.data_type.order_book_row import OrderBookRow

# OrderBookRow is a namedtuple: `tuple.__new__(OrderBookRow, (price, size, update_id))` builds one without the
# Python-level `__new__` namedtuples add, 5 µs less per 20-level side.
_new_tuple = tuple.__new__
_price_of, _amount_of = itemgetter(0), itemgetter(1)
_BOOK_LEVEL_TYPES = frozenset({list, tuple})
BookLevel = Tuple[float, float]  # (price, size)
# Bounds that keep hostile numbers (1e999999999, 400-digit integers) from overflowing later arithmetic.
_MAX_DECIMAL_EXPONENT = 64
_INT_MIN, _INT_MAX = -2 ** 63, 2 ** 64
_MAX_DECIMALS = 18


class VestMessageError(ValueError):
    """A payload that does not have the documented shape."""


class VestAPIError(IOError):
    """An error answer from Vest in any envelope (§3.12), with code and name; an IOError, which Hummingbot's request
    retry logic catches."""

    def __init__(self, code: Optional[int], message: str, http_status: Optional[int] = None):
        self.code = code
        self.name = CONSTANTS.ERROR_CODES.get(code, "HTTP_ERROR" if code is None else "UNKNOWN_ERROR")
        self.message = message
        self.http_status = http_status
        status = f" (HTTP {http_status})" if http_status is not None else ""
        super().__init__(f"Vest error {code} {self.name}: {message}{status}")


# Primitive readers: every malformed field becomes a VestMessageError naming the field.
def _field(payload: Mapping[str, Any], key: str) -> Any:
    try:
        value = payload[key]
    except (KeyError, TypeError):
        raise VestMessageError(f"missing field '{key}'") from None
    if value is None:
        raise VestMessageError(f"field '{key}' is null")
    return value


def _decimal(value: Any, key: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise VestMessageError(f"field '{key}' is not a number: {value!r}")
    try:
        result = Decimal(value) if not isinstance(value, float) else Decimal(str(value))
    except InvalidOperation:
        raise VestMessageError(f"field '{key}' is not a number: {value!r}") from None
    if not result.is_finite() or (result and abs(result.adjusted()) > _MAX_DECIMAL_EXPONENT):
        raise VestMessageError(f"field '{key}' is not a finite number of sane size: {_short(value)}")
    return result


def _req_decimal(payload: Mapping[str, Any], key: str) -> Decimal:
    return _decimal(_field(payload, key), key)


def _opt_decimal(payload: Mapping[str, Any], key: str) -> Optional[Decimal]:
    value = payload.get(key)
    return None if value is None else _decimal(value, key)


def _int(value: Any, key: str) -> int:
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise VestMessageError(f"field '{key}' is not an integer: {_short(value)}")
    try:
        result = int(value)
    except (TypeError, ValueError, OverflowError):
        raise VestMessageError(f"field '{key}' is not an integer: {_short(value)}") from None
    if not _INT_MIN <= result < _INT_MAX:
        raise VestMessageError(f"field '{key}' is out of range: {_short(value)}")
    return result


def _req_int(payload: Mapping[str, Any], key: str) -> int:
    return _int(_field(payload, key), key)


def _opt_int(payload: Mapping[str, Any], key: str) -> Optional[int]:
    value = payload.get(key)
    return None if value is None else _int(value, key)


def _req_str(payload: Mapping[str, Any], key: str) -> str:
    value = _field(payload, key)
    if not isinstance(value, str):
        raise VestMessageError(f"field '{key}' is not a string: {value!r}")
    return value


def _req_bool(payload: Mapping[str, Any], key: str) -> bool:
    value = _field(payload, key)
    if not isinstance(value, bool):
        raise VestMessageError(f"field '{key}' is not a boolean: {value!r}")
    return value


def _opt_bool(payload: Mapping[str, Any], key: str) -> Optional[bool]:
    value = payload.get(key)
    return None if value is None else _req_bool(payload, key)


def _mapping(payload: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(payload, Mapping):
        raise VestMessageError(f"{what} is not an object: {type(payload).__name__}")
    return payload


def _list(payload: Any, what: str) -> List[Any]:
    if not isinstance(payload, list):
        raise VestMessageError(f"{what} is not a list: {type(payload).__name__}")
    return payload


# Frames and envelopes
def decode_frame(data: Union[str, bytes, bytearray, Mapping, list]) -> Any:
    """JSON from a WebSocket frame in any of the encodings of §5.1 (which one Vest sends is unconfirmed); mappings
    and lists pass through, as Hummingbot's WSConnection hands text frames over already parsed."""
    if isinstance(data, (Mapping, list)):
        return data
    if isinstance(data, (bytes, bytearray)):
        try:
            return json.loads(bytes(data).decode("utf-8"))
        except ValueError:  # UnicodeDecodeError included
            try:
                data = brotli.decompress(bytes(data)).decode("utf-8")
            except (brotli.error, UnicodeDecodeError):
                raise VestMessageError("binary frame is neither UTF-8 JSON nor Brotli-compressed JSON") from None
    elif not isinstance(data, str):
        raise VestMessageError(f"unsupported frame type {type(data).__name__}")
    try:
        return json.loads(data)
    except ValueError:
        raise VestMessageError("frame is not valid JSON") from None


def parse_error_envelope(payload: Any, http_status: Optional[int] = None) -> Optional[VestAPIError]:
    """The error in any of the three envelopes of §3.12 (`{"code","msg"}`, `{"detail":{"code","msg"}}`, FastAPI's
    `{"detail":[{"loc","msg",...}]}`), or None when the payload is not an error."""
    if not isinstance(payload, Mapping):
        return VestAPIError(None, _short(payload), http_status) if http_status and http_status >= 400 else None
    detail = payload.get("detail")
    if isinstance(detail, Mapping) and "code" in detail:
        return VestAPIError(_code_of(detail.get("code")), str(detail.get("msg", "")), http_status)
    if isinstance(detail, list):
        reasons = "; ".join(_validation_reason(item) for item in detail)
        return VestAPIError(None, f"request validation failed: {reasons}", http_status)
    if isinstance(detail, str):
        return VestAPIError(None, detail, http_status)
    if payload.get("code") is not None and "msg" in payload:
        return VestAPIError(_code_of(payload["code"]), str(payload.get("msg", "")), http_status)
    if http_status is not None and http_status >= 400:
        return VestAPIError(None, _short(payload), http_status)
    return None


def _code_of(value: Any) -> Optional[int]:
    try:
        return _int(value, "code")
    except VestMessageError:
        return None


def _validation_reason(item: Any) -> str:
    if not isinstance(item, Mapping):
        return _short(item)
    loc = item.get("loc")
    parts = loc if isinstance(loc, (list, tuple)) else ([] if loc is None else [loc])
    location = ".".join(str(part) for part in parts)
    return f"{location}: {item.get('msg', '')}" if location else str(item.get("msg", ""))


def _short(value: Any, limit: int = 200) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def parse_push(frame: Any) -> Optional[Tuple[str, Any]]:
    """`(channel, data)` of a pushed message `{"channel", "data"}` (§5.3), or None for a PONG or a (UN)SUBSCRIBE
    ack (§5.2). Accepts every frame form of §5.1 (see `decode_frame`); raises VestMessageError."""
    message = decode_frame(frame)
    if _is_control_reply(message):
        return None
    message = _mapping(message, "message")
    return _req_str(message, "channel"), message.get("data")


def _is_control_reply(payload: Any) -> bool:
    """PONG (`{"data":"PONG"}`, compared case-insensitively per §5.2) or a (UN)SUBSCRIBE ack `{"result","id"}`."""
    if not isinstance(payload, Mapping) or "channel" in payload:
        return False
    data = payload.get("data")
    return (isinstance(data, str) and data.upper() == CONSTANTS.WS_PONG_DATA) or ("result" in payload
                                                                                  and "id" in payload)


def depth_channel(symbol: str) -> str:
    return f"{symbol}{CONSTANTS.WS_DEPTH_CHANNEL_SUFFIX}"


def trades_channel(symbol: str) -> str:
    return f"{symbol}{CONSTANTS.WS_TRADES_CHANNEL_SUFFIX}"


# Markets (§2.1)
@dataclass(frozen=True)
class VestMarket:
    symbol: str
    trading_pair: str
    base: str
    quote: str
    size_decimals: int
    price_decimals: int
    taker_fee: Decimal
    is_trading: bool

    @property
    def size_step(self) -> Decimal:
        return Decimal(1).scaleb(-self.size_decimals)

    @property
    def price_tick(self) -> Decimal:
        return Decimal(1).scaleb(-self.price_decimals)

    def format_size(self, size: Decimal) -> str:
        """Exactly `sizeDecimals` digits: the string signed is the string sent (§4.2)."""
        return f"{size.quantize(self.size_step):f}"

    def format_price(self, price: Decimal) -> str:
        return f"{price.quantize(self.price_tick):f}"

    def trading_rule(self) -> TradingRule:
        # §2.1 / §8: min size = size step = 10^-sizeDecimals, tick = 10^-priceDecimals, no min notional.
        return TradingRule(trading_pair=self.trading_pair, min_order_size=self.size_step,
                           min_base_amount_increment=self.size_step, min_price_increment=self.price_tick,
                           min_notional_size=Decimal(0),
                           # §1.5: USDC is the only collateral, whatever a market's quote is called.
                           buy_order_collateral_token=CONSTANTS.COLLATERAL_TOKEN,
                           sell_order_collateral_token=CONSTANTS.COLLATERAL_TOKEN)


def parse_market(row: Any) -> VestMarket:
    row = _mapping(row, "exchangeInfo symbol")
    try:
        trading_pair = trading_pair_of(row)
    except (KeyError, TypeError):
        raise VestMessageError("exchangeInfo symbol lacks 'base' or 'quote'") from None
    size_decimals, price_decimals = _req_int(row, "sizeDecimals"), _req_int(row, "priceDecimals")
    if not (0 <= size_decimals <= _MAX_DECIMALS and 0 <= price_decimals <= _MAX_DECIMALS):
        raise VestMessageError(f"decimals out of range: size {size_decimals}, price {price_decimals}")
    return VestMarket(
        symbol=_req_str(row, "symbol"),
        trading_pair=trading_pair,
        base=_req_str(row, "base"),
        quote=_req_str(row, "quote"),
        size_decimals=size_decimals,
        price_decimals=price_decimals,
        taker_fee=_req_decimal(row, "takerFee"),
        is_trading=is_trading_symbol(row),
    )


def is_trading_symbol(row: Mapping[str, Any]) -> bool:
    """A symbol is tradable unless Vest marks it otherwise (`tradingStatus`, observed, §2.1)."""
    return row.get("tradingStatus", CONSTANTS.SYMBOL_STATUS_TRADING) == CONSTANTS.SYMBOL_STATUS_TRADING


def parse_exchange_info(payload: Any) -> Tuple[List[VestMarket], List[Tuple[Any, VestMessageError]]]:
    """All markets of `GET /exchangeInfo`, plus the rows that could not be read (to be logged by the caller)."""
    rows = _list(_mapping(payload, "exchangeInfo").get("symbols"), "exchangeInfo.symbols")
    markets, rejected = [], []
    for row in rows:
        try:
            markets.append(parse_market(row))
        except VestMessageError as error:
            rejected.append((row, error))
    return markets, rejected


# Tickers (§2.2 REST and §5.3 `tickers` channel share one shape)
@dataclass(frozen=True)
class VestTicker:
    symbol: str
    mark_price: Decimal
    index_price: Decimal
    one_hr_funding_rate: Decimal
    status: Optional[str]


def parse_ticker(row: Any) -> VestTicker:
    row = _mapping(row, "ticker")
    return VestTicker(symbol=_req_str(row, "symbol"), mark_price=_req_decimal(row, "markPrice"),
                      index_price=_req_decimal(row, "indexPrice"),
                      one_hr_funding_rate=_req_decimal(row, "oneHrFundingRate"), status=row.get("status"))


def parse_tickers(payload: Any) -> List[VestTicker]:
    """`{"tickers":[…]}` from REST or the bare list pushed on the `tickers` channel."""
    rows = payload.get("tickers") if isinstance(payload, Mapping) else payload
    return [parse_ticker(row) for row in _list(rows, "tickers")]


def next_funding_timestamp(now_seconds: float) -> int:
    """Vest funds continuously and has no funding timestamp (§6.3); report the top of the next hour."""
    interval = CONSTANTS.FUNDING_RATE_INTERVAL_SECONDS
    return (int(now_seconds) // interval + 1) * interval


# Depth and trades (§2.6, §2.7, §5.3)
def parse_depth(payload: Any) -> Tuple[List[BookLevel], List[BookLevel]]:
    """`(bids, asks)` of a full top-N snapshot (§2.7, §5.3), each level a `(price, size)` float pair; a level that is
    not two finite numbers refuses the message. Float pairs, unlike `OrderBookRow`s (a tuple subclass), leave the
    garbage collector's tracking, so waiting snapshots cost its collections nothing; `book_rows` builds the rows."""
    depth = _mapping(payload, "depth")
    return _depth_side(depth.get("bids"), "bids"), _depth_side(depth.get("asks"), "asks")


def book_rows(levels: List[BookLevel], update_id: int) -> List[OrderBookRow]:
    """The `OrderBookRow`s Hummingbot's order book applies, built in C-level passes."""
    return list(map(_new_tuple, repeat(OrderBookRow), map(add, levels, repeat((update_id,)))))


def _depth_side(levels: Any, side: str) -> List[BookLevel]:
    """All levels in a few C-level passes (a 20-level side is parsed every push); a side that fails any check is
    refused whole, naming its first bad level."""
    if not isinstance(levels, list):
        raise VestMessageError(f"depth lacks a '{side}' list")
    try:
        prices = list(map(float, map(_price_of, levels)))
        sizes = list(map(float, map(_amount_of, levels)))
        if all(map(isfinite, prices)) and all(map(isfinite, sizes)) and set(map(type, levels)) <= _BOOK_LEVEL_TYPES:
            return list(zip(prices, sizes))
    except (IndexError, KeyError, TypeError, ValueError, OverflowError):
        pass  # every way of failing ends in the same error below
    bad = next((level for level in levels if not _is_book_level(level)), levels)
    raise VestMessageError(f"depth level is not [price, size] of finite numbers: {_short(bad)}")


def _is_book_level(level: Any) -> bool:
    try:
        return isinstance(level, (list, tuple)) and isfinite(float(level[0])) and isfinite(float(level[1]))
    except (IndexError, TypeError, ValueError, OverflowError):
        return False


@dataclass(frozen=True)
class VestTrade:
    trade_id: str
    price: Decimal
    amount: Decimal
    trade_type: TradeType
    timestamp: float


def parse_trade(payload: Any) -> VestTrade:
    """A public trade (§2.6). Vest documents no side field: the side is the sign of `qty` (negative means sell,
    one client's claim), unless the trade carries an explicit side (`isBuy`, or `side` BUY/SELL), which wins."""
    trade = _mapping(payload, "trade")
    qty = _req_decimal(trade, "qty")
    is_buy = _opt_bool(trade, "isBuy")
    side = trade.get("side")
    if is_buy is None and isinstance(side, str) and side.upper() in ("BUY", "SELL"):
        is_buy = side.upper() == "BUY"
    if is_buy is None:
        is_buy = qty >= 0
    return VestTrade(trade_id=str(_field(trade, "id")), price=_req_decimal(trade, "price"), amount=abs(qty),
                     trade_type=TradeType.BUY if is_buy else TradeType.SELL,
                     timestamp=_req_int(trade, "time") * 1e-3)


# Orders (§3.8 REST rows and §5.4 ORDER events, including the partial CANCELLED / REJECTED shapes)
@dataclass(frozen=True)
class VestFill:
    """Execution of an order that a record proves beyond what was booked before (see `VestOrder.fill_beyond`)."""
    trade_id: str
    size: Decimal
    price: Decimal
    timestamp: float
    fee: Decimal
    settled_funding: Optional[Decimal]


@dataclass(frozen=True)
class VestOrder:
    order_id: str
    nonce: Optional[int]
    status: str
    symbol: Optional[str] = None
    size: Optional[Decimal] = None
    order_type: Optional[str] = None
    reduce_only: Optional[bool] = None
    code: Optional[int] = None
    post_time: Optional[int] = None
    last_filled_size: Optional[Decimal] = None
    last_filled_price: Optional[Decimal] = None
    last_filled_time: Optional[int] = None
    avg_filled_price: Optional[Decimal] = None
    fees: Optional[Decimal] = None
    settled_funding: Optional[Decimal] = None

    @property
    def state(self) -> OrderState:
        return CONSTANTS.ORDER_STATE[self.status]

    @property
    def error_name(self) -> str:
        return CONSTANTS.ERROR_CODES.get(self.code, "UNKNOWN_ERROR")

    @property
    def carries_fill(self) -> bool:
        return self.executed_at_least(self.size or Decimal(0)) > 0 or self.status == CONSTANTS.ORDER_STATUS_FILLED

    def executed_at_least(self, order_amount: Decimal) -> Decimal:
        """How much of the order this record proves executed, whichever way `lastFilledSize` is meant (§9.8): a
        lower bound either way (all of a FILLED order, else `lastFilledSize`), so nothing is counted twice."""
        size = self.size if self.size is not None else order_amount
        parts = self.last_filled_size or Decimal(0)
        if self.status == CONSTANTS.ORDER_STATUS_FILLED:
            return size
        if self.status == CONSTANTS.ORDER_STATUS_PARTIALLY_FILLED:
            return min(parts, size)
        if self.status in CONSTANTS.ORDER_STATUSES_FINISHED_UNFILLED and parts < size:
            return parts
        return Decimal(0)

    def fill_beyond(self, order_amount: Decimal, booked_base: Decimal, booked_quote: Decimal,
                    booked_fees: Decimal) -> Optional[VestFill]:
        """The execution this record proves beyond `booked_base`, as one fill, or None. Booked from cumulative truth,
        so repeated or reordered records book nothing more; a remainder is priced to make the order's average
        `avgFilledPrice`, and settled funding comes with the completing fill (Vest reports it on FILLED only, §3.8)."""
        executed = self.executed_at_least(order_amount)
        amount = executed - booked_base
        price = self._price_of_remainder(executed, amount, booked_quote)
        if amount <= 0 or price is None:
            return None
        completes = executed >= (self.size if self.size is not None else order_amount)
        return VestFill(trade_id=f"{self.order_id}-{executed.normalize():f}", size=amount, price=price,
                        timestamp=(self.last_filled_time or self.post_time or 0) * 1e-3,
                        fee=max((self.fees or Decimal(0)) - booked_fees, Decimal(0)),
                        settled_funding=self.settled_funding if completes else None)

    def _price_of_remainder(self, executed: Decimal, amount: Decimal, booked_quote: Decimal) -> Optional[Decimal]:
        if self.avg_filled_price is not None and amount > 0:
            implied = (self.avg_filled_price * executed - booked_quote) / amount
            if implied > 0:
                return implied
        return self.last_filled_price or self.avg_filled_price


def parse_order(payload: Any) -> VestOrder:
    """One `GET /orders` row or ORDER event. Zero where Vest documents null (no fill yet) reads as none."""
    row = _mapping(payload, "order")
    status = _req_str(row, "status")
    if status not in CONSTANTS.ORDER_STATE:
        raise VestMessageError(f"unknown order status {status!r}")
    symbol = row.get("symbol")
    # The WS execution event names settled funding `cumFunding`; REST calls it `settledFunding` (§5.4).
    funding_key = "settledFunding" if row.get("settledFunding") is not None else "cumFunding"
    order = VestOrder(
        order_id=_req_str(row, "id"),
        nonce=_opt_int(row, "nonce"),
        status=status,
        symbol=symbol if isinstance(symbol, str) else None,
        size=_opt_decimal(row, "size"),
        order_type=row.get("orderType"),
        reduce_only=_opt_bool(row, "reduceOnly"),
        code=_code_of(row.get("code")),  # int in WS, string in one client (§3.8); unreadable -> None
        post_time=_opt_int(row, "postTime"),
        last_filled_size=_opt_execution(row, "lastFilledSize", status),
        last_filled_price=_opt_execution(row, "lastFilledPrice", status),
        last_filled_time=_opt_int(row, "lastFilledTime") or None,
        avg_filled_price=_opt_execution(row, "avgFilledPrice", status),
        fees=_opt_decimal(row, "fees"),
        settled_funding=_opt_decimal(row, funding_key),
    )
    if order.size is not None and order.last_filled_size is not None and order.last_filled_size > order.size:
        raise VestMessageError(f"fill of {order.last_filled_size} exceeds the order size {order.size}")
    return order


def _opt_execution(payload: Mapping[str, Any], key: str, status: str) -> Optional[Decimal]:
    """Sizes and prices of executions: positive, or none. Vest documents them null until an order is FILLED
    (§3.8), so a zero there means none; a FILLED record must carry positive ones, if any."""
    value = _opt_decimal(payload, key)
    if value is not None and (value < 0 or (value == 0 and status == CONSTANTS.ORDER_STATUS_FILLED)):
        raise VestMessageError(f"field '{key}' must be positive: {_short(payload.get(key))}")
    return value or None


def parse_orders(payload: Any) -> Tuple[List[VestOrder], List[Tuple[Optional[str], VestMessageError]]]:
    """`GET /orders` returns a bare array (§3.8). Each row is read on its own: the readable ones, and for each
    unreadable one its `id` (when there is one) and the reason, for the caller to log and look up alone."""
    orders, rejected = [], []
    for row in _list(payload, "orders"):
        try:
            orders.append(parse_order(row))
        except VestMessageError as error:
            order_id = row.get("id") if isinstance(row, Mapping) else None
            rejected.append((order_id if isinstance(order_id, str) else None, error))
    return orders, rejected


def parse_order_id(payload: Any) -> str:
    """`{"id": "0x…"}` answered by `POST /orders` and `POST /orders/cancel` (§3.6, §3.7)."""
    return _req_str(_mapping(payload, "order response"), "id")


# Account (§3.3), nonce (§3.4), leverage (§3.5), listen key (§3.11)
@dataclass(frozen=True)
class VestPosition:
    symbol: str
    is_long: bool
    size: Decimal
    entry_price: Decimal
    unrealized_pnl: Decimal


@dataclass(frozen=True)
class VestAccount:
    total_balance: Decimal
    available_balance: Decimal
    positions: Optional[Tuple[VestPosition, ...]]  # None when the answer has no `positions` field: unknown, not flat
    leverages: Dict[str, int]
    server_time_ms: Optional[int]


def parse_position(row: Any) -> VestPosition:
    row = _mapping(row, "position")
    return VestPosition(symbol=_req_str(row, "symbol"), is_long=_req_bool(row, "isLong"),
                        size=abs(_req_decimal(row, "size")), entry_price=_req_decimal(row, "entryPrice"),
                        unrealized_pnl=_opt_decimal(row, "unrealizedPnl") or Decimal(0))


def parse_account(payload: Any) -> VestAccount:
    """Balances (USDC `total`; available = `withdrawable`), non-zero positions and per-symbol leverage."""
    account = _mapping(payload, "account")
    total = None
    for balance in _list(account.get("balances", []), "account.balances"):
        balance = _mapping(balance, "balance")
        if balance.get("asset") == CONSTANTS.COLLATERAL_TOKEN:
            total = _req_decimal(balance, "total")
    if total is None:
        total = _req_decimal(account, "collateral")
    positions = None
    if "positions" in account:
        positions = tuple(position for position in (parse_position(row) for row in
                                                    _list(account["positions"], "account.positions"))
                          if position.size != 0)  # flat positions may be listed with size 0 (§3.3)
    leverages = {}
    for row in _list(account.get("leverages", []), "account.leverages"):
        row = _mapping(row, "leverage")
        leverages[_req_str(row, "symbol")] = _req_int(row, "value")
    return VestAccount(total_balance=total, available_balance=_req_decimal(account, "withdrawable"),
                       positions=positions, leverages=leverages, server_time_ms=_opt_int(account, "time"))


def parse_last_nonce(payload: Any) -> int:
    return _req_int(_mapping(payload, "nonce response"), "lastNonce")


def parse_leverage(payload: Any) -> Tuple[str, int]:
    response = _mapping(payload, "leverage response")
    return _req_str(response, "symbol"), _req_int(response, "value")


def parse_listen_key(payload: Any) -> str:
    return _req_str(_mapping(payload, "listen key response"), "listenKey")


# Private stream (§5.4)
@dataclass(frozen=True)
class VestAccountEvent:
    """`{"event": "ORDER"|"LP"|"TRANSFER", "args": {…}}` from the `account_private` channel."""
    event: str
    args: Mapping[str, Any]


def parse_account_event(data: Any) -> VestAccountEvent:
    data = _mapping(data, "account_private data")
    event = _req_str(data, "event")
    if event not in CONSTANTS.WS_ACCOUNT_EVENTS:
        raise VestMessageError(f"unknown account event {event!r}")
    return VestAccountEvent(event=event, args=_mapping(data.get("args"), f"{event} args"))
