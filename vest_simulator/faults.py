"""Named, seeded fault switches (docs/vest-protocol.md §5.1 frames, §6.5 rate limits, §3.12 envelopes), the
switches that pick one reading where Vest's docs leave the venue's behaviour open (§7.11-§7.13), and the market
session model (`market_hours`, §7.13).

Every random decision draws from a stream seeded by `seed`, so a run with the same switches, seed and request
sequence is reproducible. `set(...)` reseeds the streams whenever `seed` is passed. Counting switches
(`drop_order_response`, `stall_order_requests`, `garble_cancel_response`, `fail_order_queries`) count down as they
fire.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field, fields
from typing import Any, Dict, Iterable, Optional, Set, Tuple

from .ratelimit import Limit, normalise_limits

FRAME_MODES = ("text", "binary", "brotli")
ERROR_ENVELOPES = ("plain", "detail")
WS_DROP_TARGETS = ("both", "public", "private")
LAST_FILLED_READINGS = ("per_fill", "cumulative")
LEVERAGE_PARAMS = ("either", "body", "query")
HALT_FLAG_LOCATIONS = ("ticker", "exchange_info", "both")
CLOSED_MARKET_REPLIES = ("http_1148", "rejected_3024")
EXPIRED_ORDER_REPLIES = ("http_1132", "rejected_3004")
FUTURE_TIME_CHECKS = ("recv_window", "none")
TIF_ON_MARKET = ("refuse", "ignore")
RATE_LIMIT_CODES = (1003, 429)
LIMIT_ABOVE_MAX = ("error", "clamp")
UNKNOWN_SYMBOLS = ("error", "skip")
END_TIME_DEFAULTS = ("now", "unbounded")
EXCHANGE_INFO_FIELDS = ("observed", "documented")
TRADE_SIDES = ("signed_qty", "unsigned", "is_buy", "side")
WS_GROUP_PARAMS = ("either", "xwebsocketserver", "websocketserver")
NONCE_POLICIES = ("unique", "increasing")
DAY_S = 86_400
_CHOICES = {
    "frame_mode": FRAME_MODES, "error_envelope": ERROR_ENVELOPES, "ws_drop_target": WS_DROP_TARGETS,
    "last_filled_reading": LAST_FILLED_READINGS, "leverage_params": LEVERAGE_PARAMS,
    "halt_flag_in": HALT_FLAG_LOCATIONS, "closed_market_reply": CLOSED_MARKET_REPLIES,
    "expired_order_reply": EXPIRED_ORDER_REPLIES, "future_time_check": FUTURE_TIME_CHECKS,
    "tif_on_market": TIF_ON_MARKET, "rate_limit_code": RATE_LIMIT_CODES, "limit_above_max": LIMIT_ABOVE_MAX,
    "unknown_symbols": UNKNOWN_SYMBOLS, "end_time_default": END_TIME_DEFAULTS,
    "exchange_info_fields": EXCHANGE_INFO_FIELDS, "trade_side": TRADE_SIDES, "ws_group_param": WS_GROUP_PARAMS,
    "nonce_policy": NONCE_POLICIES,
}
_FLAGS = ("account_without_positions", "zero_for_null", "cancel_requires_time_query", "strict_requests",
          "retry_after_header")
# A session: (open second of the UTC day, close second) or (open, close, weekdays with Monday = 0).
Session = Tuple[int, ...]
GARBLED_BODY = "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"


@dataclass
class Faults:
    """Fault switches; all off by default.

    * ws_drop_interval: seconds between forced drops of WS connections (`ws_drop_target`, close `ws_drop_code`).
    * http_error_rate / http_error_status: share of /v2 requests answered with that status instead
      (429 carries {"code":1003} and `Retry-After: retry_after`; 5xx carry a plain-text body).
    * rate_limits: {rule: (requests, window_seconds)}, rule = a route name ("POST /orders", "GET /depth", ...) or
      "*": a sliding-window limit per API key (private routes) or client address (public routes) on the monotonic
      clock; a request over it is answered 429 (body per `rate_limit_code`) and not processed (ratelimit.py).
    * retry_after_header: 429 answers (rate limits and `http_error_status=429`) carry `Retry-After`.
    * response_delay: seconds added before every /v2 response.
    * drop_order_response: the next N `POST /orders` are processed, then the connection is aborted (no response).
    * stall_order_requests: the next N `POST /orders` are read, then held unprocessed until the client disconnects
      (or the simulator stops), and discarded: Vest never books them and never answers.
    * frame_mode: WS frames as "text", "binary" (UTF-8 bytes) or "brotli" (compressed bytes).
    * private_event_drop_rate / private_event_duplicate_rate: per account_private message delivery.
    * error_envelope: "plain" {"code","msg"} or "detail" {"detail":{"code","msg"}}.
    * halted_symbols: halted symbols (shown where `halt_flag_in` says; orders refused per `closed_market_reply`).
    * garble_cancel_response: the next N `POST /orders/cancel` get HTTP 200 with an HTML body (text/html); the
      cancel is not executed.
    * fail_order_queries: the next N `GET /orders` get HTTP 503 with a plain-text body.
    * account_without_positions: `GET /account` omits the `positions` field.

    Venue readings (not faults; the defaults are the simulator's original behaviour):

    * partial_fill_chunks: an executing order fills in this many equal chunks, one per processing pass.
    * last_filled_reading: "per_fill" (lastFilledSize/Price = the latest chunk) or "cumulative" (executed size so
      far / average price so far), in ORDER events and `GET /orders` rows alike.
    * zero_for_null: orders without fills carry "0" decimals (and lastFilledTime 0) where the docs say null.

    Readings of the request side and of market status (§7.13; the defaults follow the docs where they are explicit,
    else the simulator's original behaviour):

    * leverage_params: where `POST /account/leverage` reads time/symbol/value: "either" (body fields win, the query
      string fills in the missing ones), "body" (JSON body only) or "query" (query string only).
    * cancel_requires_time_query: `POST /orders/cancel` also needs `?time=` (422 without), as one server did.
    * market_hours: {symbol: (open_s, close_s[, weekdays])}: seconds of the UTC day (simulator clock) when the market
      is open; open > close wraps midnight; weekdays (Monday = 0) limits the UTC days it opens. Outside: HALT.
    * halt_flag_in: where a halt shows: "ticker" (`status` of /ticker/latest and `tickers`), "exchange_info"
      (`tradingStatus` of /exchangeInfo) or "both"; elsewhere the market reads TRADING.
    * closed_market_reply: an order to a halted market gets "http_1148" (HTTP 400 {"code":1148}) or
      "rejected_3024" (accepted, then a REJECTED event with code 3024 on its execution pass).
    * expired_order_reply: an order outside its time window gets "http_1132" or "rejected_3004" (ORDER_STALE).
    * future_time_check: "recv_window" (time > now + recvWindow is expired too) or "none" (only the past bound).
    * tif_on_market: timeInForce on a MARKET order: "refuse" (1133) or "ignore".
    * nonce_policy: what a signed action's nonce must be (§4.8, §9): "unique" (a nonce used before is refused with
      3015 DUPLICATE) or "increasing" (a nonce not above the account's lastNonce is refused with 1023
      INVALID_NONCE).
    * rate_limit_code: the body code of a rate-limit answer: 1003 (TOO_MANY_REQUESTS) or 429 ("Rate limited").
    * limit_above_max: a `limit` above the route's maximum: "error" (1130) or "clamp" (to the maximum).
    * unknown_symbols: an unknown symbol in the `symbols` list filters and `GET /orders?symbol=`: "error" (1121)
      or "skip" (left out; an empty answer when nothing is left).
    * end_time_default: `GET /orders`, `/lp`, `/transfer` without endTime: "now" (as documented) or "unbounded".
    * exchange_info_fields: "observed" (rows carry `asset` and `tradingStatus`) or "documented" (the documented
      fields only; `tradingStatus` stays when `halt_flag_in` shows halts there).
    * trade_side: public trades (REST and WS): "signed_qty" (negative qty = taker sold), "unsigned" (no side),
      "is_buy" (unsigned qty + isBuy) or "side" (unsigned qty + side BUY/SELL).
    * ws_group_param: the WS group parameter accepted: "either", "xwebsocketserver" or "websocketserver".
    * strict_requests: refuse what the docs mark required but the simulator otherwise tolerates: a missing
      `xrestservermm` on public routes and /register (1146), a missing `time` on GET /account, /orders, /lp,
      /transfer (422), a missing withdraw `execute` or register `networkType` (422), mixed-case register
      addresses (1130).
    """

    seed: int = 0
    ws_drop_interval: Optional[float] = None
    ws_drop_target: str = "both"
    ws_drop_code: int = 1012
    http_error_rate: float = 0.0
    http_error_status: int = 429
    retry_after: float = 1.0
    response_delay: float = 0.0
    drop_order_response: int = 0
    stall_order_requests: int = 0
    frame_mode: str = "text"
    private_event_drop_rate: float = 0.0
    private_event_duplicate_rate: float = 0.0
    error_envelope: str = "plain"
    halted_symbols: Set[str] = field(default_factory=set)
    garble_cancel_response: int = 0
    fail_order_queries: int = 0
    account_without_positions: bool = False
    partial_fill_chunks: int = 1
    last_filled_reading: str = "per_fill"
    zero_for_null: bool = False
    leverage_params: str = "either"
    cancel_requires_time_query: bool = False
    market_hours: Dict[str, Session] = field(default_factory=dict)
    halt_flag_in: str = "ticker"
    closed_market_reply: str = "http_1148"
    expired_order_reply: str = "http_1132"
    future_time_check: str = "recv_window"
    tif_on_market: str = "refuse"
    rate_limit_code: int = 1003
    nonce_policy: str = "unique"
    limit_above_max: str = "error"
    unknown_symbols: str = "error"
    end_time_default: str = "now"
    exchange_info_fields: str = "observed"
    trade_side: str = "signed_qty"
    ws_group_param: str = "either"
    strict_requests: bool = False
    rate_limits: Dict[str, Limit] = field(default_factory=dict)
    retry_after_header: bool = True

    def __post_init__(self) -> None:
        self.rate_limits = normalise_limits(self.rate_limits)
        self.rate_limits_version = 0  # bumped by every change of `rate_limits`: the limiter's windows start afresh
        self._reseed()

    def _reseed(self) -> None:
        self._http_rng = random.Random(f"{self.seed}:http")
        self._event_rng = random.Random(f"{self.seed}:events")

    def set(self, **switches: Any) -> "Faults":
        """Change switches by name, e.g. `set(http_error_rate=0.2, http_error_status=429, seed=3)`."""
        names = {f.name for f in fields(self)}
        unknown = set(switches) - names
        if unknown:
            raise ValueError(f"unknown fault switch(es): {', '.join(sorted(unknown))}")
        switches = dict(switches)
        if "halted_symbols" in switches:
            switches["halted_symbols"] = set(_as_iterable(switches["halted_symbols"]))
        if "market_hours" in switches:
            switches["market_hours"] = _sessions(switches["market_hours"])
        if "rate_limits" in switches:
            switches["rate_limits"] = normalise_limits(switches["rate_limits"])
        previous = {name: getattr(self, name) for name in switches}
        for name, value in switches.items():
            setattr(self, name, value)
        try:
            self._validate()
        except ValueError:
            for name, value in previous.items():  # a refused change leaves every switch as it was
                setattr(self, name, value)
            raise
        if "seed" in switches:
            self._reseed()
        if "rate_limits" in switches:
            self.rate_limits_version += 1
        return self

    def reset(self) -> "Faults":
        """All switches back to defaults (keeps the seed, reseeds the streams)."""
        for f in fields(self):
            if f.name != "seed":
                setattr(self, f.name, f.default_factory() if callable(f.default_factory) else f.default)
        self.rate_limits_version += 1
        self._reseed()
        return self

    def _validate(self) -> None:
        for name, choices in _CHOICES.items():
            value = getattr(self, name)
            if isinstance(value, bool) or value not in choices:
                raise ValueError(f"{name} must be one of {choices}")
        for name in _FLAGS:
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false")
        for name in ("http_error_rate", "private_event_drop_rate", "private_event_duplicate_rate"):
            if not 0.0 <= float(getattr(self, name)) <= 1.0:
                raise ValueError(f"{name} must be within [0, 1]")
        if not (self.http_error_status == 429 or 500 <= self.http_error_status <= 599):
            raise ValueError("http_error_status must be 429 or 5xx")
        for name, minimum in (("partial_fill_chunks", 1), ("drop_order_response", 0), ("stall_order_requests", 0),
                              ("garble_cancel_response", 0), ("fail_order_queries", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ValueError(f"{name} must be an integer >= {minimum}")

    def snapshot(self) -> Dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["halted_symbols"] = sorted(self.halted_symbols)
        data["market_hours"] = {symbol: list(session[:2]) + ([list(session[2])] if len(session) > 2 else [])
                                for symbol, session in self.market_hours.items()}
        data["rate_limits"] = {rule: list(limit) for rule, limit in self.rate_limits.items()}
        return data

    def in_session(self, symbol: str, now_ms: int) -> bool:
        """Whether `symbol` is inside its `market_hours` at `now_ms` (always, when it has none)."""
        session = self.market_hours.get(symbol)
        return session is None or session_open(session, now_ms)

    # ---- decisions ---------------------------------------------------------------------------------------
    def http_error(self) -> Optional[int]:
        """Status to fail this request with, or None."""
        if self.http_error_rate > 0 and self._http_rng.random() < self.http_error_rate:
            return self.http_error_status
        return None

    def take_order_response_drop(self) -> bool:
        return self._take("drop_order_response")

    def take_order_stall(self) -> bool:
        return self._take("stall_order_requests")

    def take_cancel_garble(self) -> bool:
        return self._take("garble_cancel_response")

    def take_order_query_failure(self) -> bool:
        return self._take("fail_order_queries")

    def _take(self, name: str) -> bool:
        """Count one use of a counting switch; True if it fired."""
        if getattr(self, name) > 0:
            setattr(self, name, getattr(self, name) - 1)
            return True
        return False

    def private_event_copies(self) -> int:
        """How many times to deliver one private message: 0 (dropped), 1 or 2 (duplicated)."""
        if self.private_event_drop_rate > 0 and self._event_rng.random() < self.private_event_drop_rate:
            return 0
        if self.private_event_duplicate_rate > 0 and self._event_rng.random() < self.private_event_duplicate_rate:
            return 2
        return 1


def session_open(session: Session, now_ms: int) -> bool:
    """(open_s, close_s[, weekdays]) at `now_ms`: open in [open, close) of the UTC day, wrapping midnight when
    open > close; with weekdays, only on those UTC days (Monday = 0; 1970-01-01 was a Thursday)."""
    second = now_ms // 1000 % DAY_S
    opening, closing = session[0], session[1]
    inside = opening <= second < closing if opening < closing else (second >= opening or second < closing)
    if inside and len(session) > 2:
        return (now_ms // 1000 // DAY_S + 3) % 7 in session[2]
    return inside


def _sessions(value: Any) -> Dict[str, Session]:
    """Normalise `market_hours` (JSON lists welcome) to {symbol: (open, close[, sorted weekdays])}."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError("market_hours must map symbols to (open_second, close_second[, weekdays])")
    sessions: Dict[str, Session] = {}
    for symbol, session in value.items():
        if not isinstance(session, (list, tuple)) or len(session) not in (2, 3):
            raise ValueError(f"market_hours[{symbol}] must be (open_second, close_second[, weekdays])")
        opening, closing = session[0], session[1]
        if (any(isinstance(b, bool) or not isinstance(b, int) for b in (opening, closing))
                or not 0 <= opening < DAY_S or not 0 <= closing <= DAY_S or opening == closing):
            raise ValueError(f"market_hours[{symbol}]: open in [0, {DAY_S}), close in [0, {DAY_S}], different")
        if len(session) == 3:
            days = session[2]
            if (not isinstance(days, (list, tuple, set, frozenset)) or not days
                    or any(isinstance(d, bool) or not isinstance(d, int) or not 0 <= d <= 6 for d in days)):
                raise ValueError(f"market_hours[{symbol}]: weekdays must be a non-empty list of 0 (Monday) .. 6")
            sessions[symbol] = (opening, closing, tuple(sorted(set(days))))
        else:
            sessions[symbol] = (opening, closing)
    return sessions


def _as_iterable(value: Any) -> Iterable[str]:
    if value is None:
        return ()
    if isinstance(value, str):
        return [s for s in value.split(",") if s]
    return value
