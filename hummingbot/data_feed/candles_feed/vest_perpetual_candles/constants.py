"""Paths, intervals and rate limits of the Vest candles feed (docs/vest-protocol.md §2.5, §5.3, §10).

Hosts, URL overrides and the request pool are the `vest_perpetual` connector's, so candles and the connector
target the same venue and, when they share a throttler, the same budget.
"""
from bidict import bidict

from hummingbot.connector.derivative.vest_perpetual import vest_perpetual_constants as CONNECTOR_CONSTANTS
from hummingbot.core.api_throttler.data_types import LinkedLimitWeightPair, RateLimit

DOMAIN = CONNECTOR_CONSTANTS.DOMAIN
TESTNET_DOMAIN = CONNECTOR_CONSTANTS.TESTNET_DOMAIN

KLINES_PATH_URL = "/klines"
EXCHANGE_INFO_PATH_URL = CONNECTOR_CONSTANTS.EXCHANGE_INFO_PATH_URL  # symbol look-up and health check
HEALTH_CHECK_PATH_URL = EXCHANGE_INFO_PATH_URL

# §2.5: `limit` defaults to, and may not exceed, 1000 bars counted back from `endTime`.
MAX_RESULTS_PER_CANDLESTICK_REST_REQUEST = 1000
# §2.5: a bar is `[openTime, open, high, low, close, closeTime, volume, quoteVolume, numTrades]`; unlike Binance's,
# `closeTime` comes before `volume`. Times are integer ms, prices and volumes decimal strings.
KLINE_ROW_FIELDS = ("openTime", "open", "high", "low", "close", "closeTime", "volume", "quoteVolume", "numTrades")
# §5.3: the shape an older Vest exercise showed, `{"s": symbol, "k": {"t", "o", "h", "l", "c", "v", "i", ...}}`.
LEGACY_KLINE_KEY = "k"
MILLISECONDS_PER_SECOND = 1000
# A payload that cannot be read is logged cut to this many characters.
LOGGED_PAYLOAD_CHARS = 200

# §5.3: the channel is `{symbol}@kline_{interval}`, e.g. `BTC-PERP@kline_1m`.
WS_KLINE_CHANNEL_INFIX = "@kline_"
WS_SUBSCRIBE_METHOD = CONNECTOR_CONSTANTS.WS_SUBSCRIBE_METHOD
WS_PING_METHOD = CONNECTOR_CONSTANTS.WS_PING_METHOD
WS_PING_INTERVAL = CONNECTOR_CONSTANTS.WS_PING_INTERVAL

# §6.4: a crypto perpetual is `{COIN}-PERP`. Only the fallback when exchangeInfo cannot be read: the symbol of a
# pair normally comes from exchangeInfo's `base`/`quote`, as in the connector.
PERPETUAL_SYMBOL_SUFFIX = "-PERP"

# §2.4 / §5.3: every interval Vest documents; Hummingbot's candles support them all (Vest has no `1s`).
INTERVALS = bidict({
    "1m": "1m",
    "3m": "3m",
    "5m": "5m",
    "15m": "15m",
    "30m": "30m",
    "1h": "1h",
    "2h": "2h",
    "4h": "4h",
    "6h": "6h",
    "8h": "8h",
    "12h": "12h",
    "1d": "1d",
    "3d": "3d",
    "1w": "1w",
    "1M": "1M",
})

# §6.5: Vest publishes no limits. The connector's guesses apply unchanged, including the shared pool every request
# counts against; `/klines` gets the budget of the connector's other public history route (`/trades`), so the two
# stay equal when the connector's guesses change.
TRADES_RATE_LIMIT = next(limit for limit in CONNECTOR_CONSTANTS.RATE_LIMITS
                         if limit.limit_id == CONNECTOR_CONSTANTS.TRADES_PATH_URL)
RATE_LIMITS = CONNECTOR_CONSTANTS.RATE_LIMITS + [
    RateLimit(limit_id=KLINES_PATH_URL, limit=TRADES_RATE_LIMIT.limit, time_interval=TRADES_RATE_LIMIT.time_interval,
              linked_limits=[LinkedLimitWeightPair(CONNECTOR_CONSTANTS.ALL_ENDPOINTS_LIMIT_ID)]),
]
