"""Every URL, path, enum string, error code and timing of the Vest API the connector uses (data only). Section
numbers refer to docs/vest-protocol.md, which cites Vest's API docs (https://docs.vestmarkets.com/vest-api)."""
from typing import Dict

from hummingbot.core.api_throttler.data_types import LinkedLimitWeightPair, RateLimit
from hummingbot.core.data_type.in_flight_order import OrderState

DOMAIN = "vest_perpetual"
TESTNET_DOMAIN = "vest_perpetual_testnet"

# §1.1 / §1.2: the hosts per domain ("dev" is the testnet).
REST_URLS: Dict[str, str] = {
    DOMAIN: "https://server-prod.hz.vestmarkets.com/v2",
    TESTNET_DOMAIN: "https://server-dev.hz.vestmarkets.com/v2",
}
WS_URLS: Dict[str, str] = {
    DOMAIN: "wss://ws-prod.hz.vestmarkets.com/ws-api",
    TESTNET_DOMAIN: "wss://ws-dev.hz.vestmarkets.com/ws-api",
}
# Point a domain at another venue (e.g. a simulator): signed orders and the API key go there, so the override is
# logged at start, and plain http/ws is refused but to loopback.
REST_URL_ENV_VAR = "VEST_PERPETUAL_REST_URL"
WS_URL_ENV_VAR = "VEST_PERPETUAL_WS_URL"
TESTNET_REST_URL_ENV_VAR = "VEST_PERPETUAL_TESTNET_REST_URL"
TESTNET_WS_URL_ENV_VAR = "VEST_PERPETUAL_TESTNET_WS_URL"
URL_OVERRIDE_ENV_VARS: Dict[str, Dict[str, str]] = {
    DOMAIN: {"rest": REST_URL_ENV_VAR, "ws": WS_URL_ENV_VAR},
    TESTNET_DOMAIN: {"rest": TESTNET_REST_URL_ENV_VAR, "ws": TESTNET_WS_URL_ENV_VAR},
}
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

# §1.3: account-group routing. REST carries a header, the WebSocket URL a query parameter (both spellings, §1.2).
ACCOUNT_GROUP_HEADER = "xrestservermm"
API_KEY_HEADER = "X-API-KEY"
ACCOUNT_GROUP_VALUE_PREFIX = "restserver"
WS_VERSION = "1.0"
WS_ACCOUNT_GROUP_PARAMS = ("xwebsocketserver", "websocketserver")
PUBLIC_ACCOUNT_GROUP = 0  # §1.2: public market data is read through group 0 whatever the user's group.

# §2: public REST paths (relative to /v2).
EXCHANGE_INFO_PATH_URL = "/exchangeInfo"
TICKER_LATEST_PATH_URL = "/ticker/latest"
TRADES_PATH_URL = "/trades"
DEPTH_PATH_URL = "/depth"

# §3: private REST paths.
ACCOUNT_PATH_URL = "/account"
ACCOUNT_NONCE_PATH_URL = "/account/nonce"
LEVERAGE_PATH_URL = "/account/leverage"
LISTEN_KEY_PATH_URL = "/account/listenKey"
ORDERS_PATH_URL = "/orders"
CANCEL_ORDER_PATH_URL = "/orders/cancel"

DEPTH_LIMIT = 100  # §2.7: the most levels `GET /depth` returns
# §3.8: `id` takes a list; 50 ids keep the URL short (~3.3 kB) and a poll of hundreds of orders a few requests.
ORDER_STATUS_BATCH_SIZE = 50
# `cancel_all` keeps this much of its timeout (at most a quarter) to read back the orders whose cancel is unsure.
CANCEL_ALL_READ_BACK_SECONDS = 2.0

# §3.6: Vest has no client order id; ours is this prefix followed by the order's nonce.
CLIENT_ORDER_ID_PREFIX = "vest-"
CLIENT_ORDER_ID_MAX_LENGTH = 32
# An order whose POST answer was lost is looked up by nonce this many times, with doubling delays, then by the
# status poll. It fails once its signature (`time` + `recvWindow`) expired this margin ago by our estimate of Vest's
# clock: the margin covers the error of the offset sampled from `GET /account` (§2.8) and a request in flight.
ORDER_LOOKUP_ATTEMPTS = 4
ORDER_LOOKUP_INITIAL_DELAY = 0.5
UNREACHABLE_ORDER_MARGIN_MS = 5_000
# §6.3: no funding-payment endpoint exists; settlements seen on fills are reported at this cadence.
FUNDING_PAYMENT_POLL_INTERVAL = 120

# §4.9: Vest discards a signed request once its clock passes time + recvWindow.
RECV_WINDOW_MS = 10_000
# No request waits longer for its answer (aiohttp's default is 5 minutes): an order's then goes to the look-up by nonce.
REQUEST_TIMEOUT_SECONDS = 10.0
# §6.5: a signed request refused for rate (429 / 1003) is sent again after `Retry-After`, or this long, this many times.
RATE_LIMITED_DELAY = 1.0
RATE_LIMITED_RETRIES = 5
# §6.3: funding accrues continuously and is quoted per hour; "next funding" is the top of the next hour.
FUNDING_RATE_INTERVAL_SECONDS = 3600

# §3.11: a listen key lives 60 min from its last POST/PUT, extended twice as often; a failed PUT is retried.
LISTEN_KEY_LIFETIME_SECONDS = 60 * 60
LISTEN_KEY_KEEP_ALIVE_INTERVAL = 30 * 60
LISTEN_KEY_RETRY_DELAY = 5.0
LISTEN_KEY_EXPIRY_MARGIN_SECONDS = 60.0

# §2.8: a clock sample is only as good as half its round trip; one slower than this is taken again, at most
# CLOCK_SAMPLE_ATTEMPTS times in a row (an error of 1 s at most: a tenth of the signing window).
CLOCK_SAMPLE_MAX_ROUND_TRIP_SECONDS = 2.0
CLOCK_SAMPLE_ATTEMPTS = 3
# §3.3: the status poll applies its clock sample's `GET /account` to balances and positions unless older than this.
ACCOUNT_REUSE_SECONDS = 1.0

# §5.2: clients PING every 20-30 s; no server idle timeout is documented.
WS_PING_INTERVAL = 25.0
WS_HEARTBEAT_INTERVAL = 30.0
# No channel message for this long (`tickers` alone carries every market, §5.3): the public connection is opened
# again, and the connector is not ready meanwhile. Well over any push interval seen (about 1 s).
PUBLIC_STREAM_SILENCE_SECONDS = 15.0
# No `account_private` event for this long with orders open: polled every SHORT_POLL_INTERVAL, and a poll finding
# an update the stream never delivered restarts the private connection.
PRIVATE_STREAM_SILENCE_SECONDS = 10.0
WS_RECONNECT_DELAY_INITIAL = 1.0
WS_RECONNECT_DELAY_MAX = 30.0
WS_PING_METHOD = "PING"
WS_PONG_DATA = "PONG"
WS_SUBSCRIBE_METHOD = "SUBSCRIBE"
WS_UNSUBSCRIBE_METHOD = "UNSUBSCRIBE"

# §5.3 / §5.4: channel and event names.
WS_TICKERS_CHANNEL = "tickers"
WS_DEPTH_CHANNEL_SUFFIX = "@depth"
WS_TRADES_CHANNEL_SUFFIX = "@trades"
WS_ACCOUNT_PRIVATE_CHANNEL = "account_private"
WS_EVENT_ORDER = "ORDER"
WS_ACCOUNT_EVENTS = frozenset({WS_EVENT_ORDER, "LP", "TRANSFER"})

# §6.1 enums.
SYMBOL_STATUS_TRADING = "TRADING"
SYMBOL_STATUS_HALT = "HALT"
ORDER_STATUS_NEW = "NEW"
ORDER_STATUS_PARTIALLY_FILLED = "PARTIALLY_FILLED"
ORDER_STATUS_FILLED = "FILLED"
ORDER_STATUS_CANCELLED = "CANCELLED"
ORDER_STATUS_REJECTED = "REJECTED"
# Finished without filling all: may still carry the parts that did fill (§3.13).
ORDER_STATUSES_FINISHED_UNFILLED = frozenset({ORDER_STATUS_CANCELLED, ORDER_STATUS_REJECTED})
ORDER_TYPE_MARKET = "MARKET"
ORDER_TYPE_LIMIT = "LIMIT"
ORDER_TYPE_LIQUIDATION = "LIQUIDATION"
TIME_IN_FORCE_GTC = "GTC"

ORDER_STATE: Dict[str, OrderState] = {
    ORDER_STATUS_NEW: OrderState.OPEN,
    ORDER_STATUS_PARTIALLY_FILLED: OrderState.PARTIALLY_FILLED,
    ORDER_STATUS_FILLED: OrderState.FILLED,
    ORDER_STATUS_CANCELLED: OrderState.CANCELED,
    ORDER_STATUS_REJECTED: OrderState.FAILED,
}

COLLATERAL_TOKEN = "USDC"  # §1.5: USDC is the only collateral.

# §6.6: every error code of Vest's docs, so a failure always shows its name.
ERROR_CODES: Dict[int, str] = {
    1002: "UNAUTHORIZED",
    1003: "TOO_MANY_REQUESTS",
    1022: "INVALID_SIGNATURE",
    1023: "INVALID_NONCE",
    1024: "INVALID_NETWORK_TYPE",
    1099: "ACCOUNT_NOT_FOUND",
    1111: "BAD_DECIMALS",
    1116: "INVALID_ORDER_TYPE",
    1121: "BAD_SYMBOL",
    1125: "INVALID_LISTEN_KEY",
    1130: "INVALID_PARAMETER",
    1131: "BAD_RECV_WINDOW",
    1132: "ORDER_EXPIRED",
    1133: "INVALID_TIME_IN_FORCE",
    1143: "INVALID_TRANSACTION",
    1144: "ALREADY_USE_TRANSACTION",
    1145: "INVALID_TP_SL_PRICE",
    1146: "INVALID_ACCOUNT_GROUP",
    1147: "DECLINE_WITHDRAW_FROM_MOBILE",
    1148: "MARKET_CLOSED",
    3001: "PRICE_CHECK_FAILED",
    3002: "MARGIN_CHECK_FAILED",
    3003: "PRICE_STALE",
    3004: "ORDER_STALE",
    3006: "INCREASE_WITH_SL_TP",
    3007: "INCREASE_DURING_INSOLVENCY",
    3008: "DELETED_BY_LIQ",
    3010: "OI_CAP_EXCEEDED",
    3011: "INVALID_LIMIT_PRICE",
    3015: "DUPLICATE",
    3017: "ORDER_NOT_FOUND",
    3018: "REDUCE_ONLY_INCREASES",
    3019: "REDUCE_ONLY_EXCEEDS_SIZE",
    3020: "ORDER_CHANGES_LEVERAGE",
    3021: "DECREASE_LEVERAGE_WITH_POSITION",
    3022: "INVALID_TP_SL_PRICE",
    3023: "BAD_SYMBOL",
    3024: "MARKET_CLOSED",
    4001: "LP_INSUFFICIENT_BALANCE",
    4002: "LP_MARGIN_CHECK_FAILED",
    4003: "LP_PRICE_STALE",
    4004: "LP_ORDER_STALE",
    4007: "LP_WITHDRAW_WITHOUT_SHARES",
    4010: "LP_DUPLICATE",
    4012: "LP_WITHDRAW_EXCEEDS_BALANCE",
    5002: "TRANSFER_MARGIN_CHECK_FAILED",
    5009: "TRANSFER_WITHDRAW_CAP_EXCEEDED",
    5010: "TRANSFER_DUPLICATE",
    5013: "TRANSFER_EXECUTION_FAILED",
}
# What to do about the refusals a user can fix, shown beside Vest's code and name.
ERROR_HINTS: Dict[int, str] = {
    1002: "The API key is unknown to Vest: run vest-register and connect again with the three values it prints.",
    1022: "The signing key is not the one registered for this API key, or it expired: run vest-register and "
          "connect again with the three values it prints.",
    1146: "The account group is wrong: use the accGroup printed by vest-register.",
    1148: "The market is closed.",
    3024: "The market is closed.",
    3002: "Not enough margin: reduce the size, add collateral or raise the leverage.",
}
# An order id no order can have: a signed cancel of it checks the signature without any effect (3017).
NO_SUCH_ORDER_ID = "0x" + "0" * 64
# The codes the connector acts on (classified by code, never by message text).
ERROR_INVALID_NONCE = 1023
ERROR_INVALID_LISTEN_KEY = 1125
ERROR_MARKET_CLOSED = 1148
ERROR_ORDER_NOT_FOUND = 3017
ERROR_DECREASE_LEVERAGE_WITH_POSITION = 3021
# "Too many requests": Vest's 1003, and the 429 its docs' example body carries (§6.5).
RATE_LIMITED_CODES = frozenset({1003, 429})
# Request-time errors that a fresh clock offset can cure: ORDER_EXPIRED, BAD_RECV_WINDOW.
TIME_SYNC_ERROR_CODES = frozenset({1132, 1131})

# §6.5: Vest publishes no rate limits, and a 429 / 1003 answer is waited out (RATE_LIMITED_DELAY), so a guess too
# high costs a pause, while one too low slows every user for nothing. Every request also counts against one pool,
# so a burst of several kinds stays under what one account can plausibly send. `GET /orders` has its own budget,
# so a status poll never delays a placement.
ALL_ENDPOINTS_LIMIT_ID = "vest_all_endpoints"
ORDERS_QUERY_LIMIT_ID = "GET /orders"
# The pool: an open-source Vest client states 1,200 per minute (20/s); kept as 30 per second, not per minute:
# Hummingbot's throttler rescans every request of the window on each check, and with hundreds of requests waiting a
# minute-long window stalled the event loop for half a second.
ALL_ENDPOINTS_LIMIT = 30
ALL_ENDPOINTS_INTERVAL = 1
_REQUESTS_PER_SECOND = {
    # Market data, read once at start-up and then pushed (§5.3): the 10/s other clients use for public endpoints.
    EXCHANGE_INFO_PATH_URL: 10,
    TICKER_LATEST_PATH_URL: 10,
    TRADES_PATH_URL: 10,
    # Only when a book has no push yet (the first `@depth` push is a full snapshot): 10/s, as other clients.
    DEPTH_PATH_URL: 10,
    # Account reads: the 5/s other clients use; the status poll reuses one answer for balances and positions.
    ACCOUNT_PATH_URL: 5,
    ACCOUNT_NONCE_PATH_URL: 5,
    # Settings changed by hand or once per market at start-up.
    LEVERAGE_PATH_URL: 2,
    LISTEN_KEY_PATH_URL: 2,
    # 20/s: a strategy refreshing 10 orders a second cancels and places 20, and a burst of 300 orders leaves in 15 s.
    ORDERS_PATH_URL: 20,
    # 25/s: Hummingbot gives a stopping bot 20 s to cancel everything; 300 orders go in 12 s, with time to read back.
    CANCEL_ORDER_PATH_URL: 25,
    # 10/s: one request reads ORDER_STATUS_BATCH_SIZE orders, so the status of 300 orders takes 6 requests.
    ORDERS_QUERY_LIMIT_ID: 10,
}
RATE_LIMITS = [RateLimit(limit_id=ALL_ENDPOINTS_LIMIT_ID, limit=ALL_ENDPOINTS_LIMIT,
                         time_interval=ALL_ENDPOINTS_INTERVAL)] + [
    RateLimit(limit_id=limit_id, limit=limit, time_interval=1,
              linked_limits=[LinkedLimitWeightPair(ALL_ENDPOINTS_LIMIT_ID)])
    for limit_id, limit in _REQUESTS_PER_SECOND.items()
]
