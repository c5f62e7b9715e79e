"""Candles of Vest perpetuals: history from `GET /klines`, the bar in progress from `{symbol}@kline_{interval}`.

Section numbers refer to docs/vest-protocol.md; §10 says what this feed reads and assumes. Hosts, URL overrides,
headers, the request pool and the WebSocket plumbing are the `vest_perpetual` connector's.
"""
import itertools
import logging
from dataclasses import dataclass
from math import isfinite
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Tuple

from hummingbot.connector.derivative.vest_perpetual import vest_perpetual_web_utils as web_utils
from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_messages import (
    VestMessageError,
    decode_frame,
    parse_exchange_info,
    parse_push,
)
from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_utils import (
    build_symbol_map,
    convert_to_exchange_trading_pair,
)
from hummingbot.connector.utils import split_hb_trading_pair
from hummingbot.core.api_throttler.async_throttler import AsyncThrottler
from hummingbot.core.network_iterator import NetworkStatus
from hummingbot.core.web_assistant.ws_assistant import WSAssistant
from hummingbot.data_feed.candles_feed.candles_base import CandlesBase
from hummingbot.data_feed.candles_feed.vest_perpetual_candles import constants as CONSTANTS
from hummingbot.logger import HummingbotLogger

if TYPE_CHECKING:
    from hummingbot.connector.connector_base import ConnectorBase


# ---------------------------------------------------------------------------------------------------------------
# Parsers: pure functions from Vest payloads to typed bars. A payload that does not fit raises VestMessageError.
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class VestKline:
    """One bar. Vest reports no taker-buy volumes; the legacy push shape has no quote volume or trade count."""
    timestamp: int  # open time, whole seconds
    open: float
    high: float
    low: float
    close: float
    volume: float
    quote_volume: float
    trades: int

    def candle_row(self) -> List[float]:
        """The row in the column order of `CandlesBase.columns`."""
        return [float(self.timestamp), self.open, self.high, self.low, self.close, self.volume, self.quote_volume,
                float(self.trades), 0.0, 0.0]

    def candle_dict(self) -> Dict[str, float]:
        return dict(zip(CandlesBase.columns, self.candle_row()))


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise VestMessageError(f"'{name}' is not a number: {value!r}")
    try:
        number = float(value)
    except ValueError:
        raise VestMessageError(f"'{name}' is not a number: {value!r}") from None
    if not isfinite(number) or number < 0:
        raise VestMessageError(f"'{name}' is not a finite, non-negative number: {value!r}")
    return number


def _price(value: Any, name: str) -> float:
    price = _number(value, name)
    if price == 0:
        raise VestMessageError(f"'{name}' is zero")
    return price


def _count(value: Any, name: str) -> int:
    """A whole number, given as a JSON integer (REST) or a string of digits (the WS push, §5.3)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise VestMessageError(f"'{name}' is not a whole number: {value!r}")


def _open_time(value: Any, name: str) -> int:
    """Whole seconds of a millisecond time; Vest's own example opens a 1m bar 174 ms after the minute (§10)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise VestMessageError(f"'{name}' is not a time: {value!r}")
    try:
        return int(CandlesBase.ensure_timestamp_in_seconds(value))
    except (TypeError, ValueError, OverflowError):
        raise VestMessageError(f"'{name}' is not a time in ms: {value!r}") from None


def parse_kline_row(row: Any) -> VestKline:
    """A bar of `GET /klines` (§2.5) or the data of a `@kline_` push (§5.3): nine fields, `closeTime` before
    `volume`."""
    if not isinstance(row, (list, tuple)) or len(row) != len(CONSTANTS.KLINE_ROW_FIELDS):
        raise VestMessageError(f"a kline is a list of {len(CONSTANTS.KLINE_ROW_FIELDS)} fields, not {row!r}")
    fields = dict(zip(CONSTANTS.KLINE_ROW_FIELDS, row))
    return VestKline(
        timestamp=_open_time(fields["openTime"], "openTime"),
        open=_price(fields["open"], "open"),
        high=_price(fields["high"], "high"),
        low=_price(fields["low"], "low"),
        close=_price(fields["close"], "close"),
        volume=_number(fields["volume"], "volume"),
        quote_volume=_number(fields["quoteVolume"], "quoteVolume"),
        trades=_count(fields["numTrades"], "numTrades"),
    )


def parse_legacy_kline(payload: Any) -> VestKline:
    """The object shape an older Vest exercise pushed, `{"s", "k": {"t", "o", "h", "l", "c", "v", "i"}}` (§5.3);
    it carries no quote volume or trade count, reported as 0."""
    bar = payload.get(CONSTANTS.LEGACY_KLINE_KEY) if isinstance(payload, Mapping) else None
    if not isinstance(bar, Mapping):
        raise VestMessageError(f"a legacy kline has an object under '{CONSTANTS.LEGACY_KLINE_KEY}': {payload!r}")
    try:
        return VestKline(timestamp=_open_time(bar["t"], "k.t"), open=_price(bar["o"], "k.o"),
                         high=_price(bar["h"], "k.h"), low=_price(bar["l"], "k.l"), close=_price(bar["c"], "k.c"),
                         volume=_number(bar["v"], "k.v"), quote_volume=0.0, trades=0)
    except KeyError as missing:
        raise VestMessageError(f"a legacy kline lacks 'k.{missing.args[0]}'") from None


def parse_kline_data(data: Any) -> VestKline:
    """The data of a `@kline_` push in either shape: the documented array or the legacy object."""
    if isinstance(data, Mapping):
        return parse_legacy_kline(data)
    return parse_kline_row(data)


def legacy_kline_channel(message: Any) -> Optional[str]:
    """The channel a bare legacy push (no `channel` envelope) belongs to, from its symbol and interval; None for
    any other message."""
    if not isinstance(message, Mapping) or "channel" in message:
        return None
    bar = message.get(CONSTANTS.LEGACY_KLINE_KEY)
    if not isinstance(bar, Mapping):
        return None
    symbol, interval = message.get("s", bar.get("s")), bar.get("i")
    if not isinstance(symbol, str) or not isinstance(interval, str):
        raise VestMessageError(f"a legacy kline names no symbol ('s') or interval ('k.i'): {message!r}")
    return kline_channel(symbol, interval)


def kline_channel(symbol: str, interval: str) -> str:
    return f"{symbol}{CONSTANTS.WS_KLINE_CHANNEL_INFIX}{interval}"


def _cut(payload: Any) -> str:
    text = repr(payload)
    limit = CONSTANTS.LOGGED_PAYLOAD_CHARS
    return text if len(text) <= limit else text[:limit] + "..."


# ---------------------------------------------------------------------------------------------------------------
# The feed
# ---------------------------------------------------------------------------------------------------------------
class VestPerpetualCandles(CandlesBase):
    """`CandlesConfig(connector="vest_perpetual", trading_pair="BTC-USDC", interval="1m")`; any documented interval.

    `domain` picks the venue (prod or testnet); each domain's URL override (e.g. `VEST_PERPETUAL_REST_URL`) is
    honoured, as by the connector. An unreadable bar or push is logged and skipped, never ending the feed.
    """
    _logger: Optional[HummingbotLogger] = None
    DEFAULT_DOMAIN = CONSTANTS.DOMAIN

    @classmethod
    def logger(cls) -> HummingbotLogger:
        if cls._logger is None:
            cls._logger = logging.getLogger(__name__)
        return cls._logger

    def __init__(self, trading_pair: str, interval: str = "1m", max_records: int = 150,
                 domain: Optional[str] = None):
        self._domain = domain or self.DEFAULT_DOMAIN
        self._request_ids = itertools.count(1)
        self._reconnect_delay = web_utils.ReconnectDelay()
        self._connection_delivered_data = False
        super().__init__(trading_pair, interval, max_records)
        # Every Vest request carries the account-group header (§1.3): the connector's factory adds it.
        self._api_factory = web_utils.build_api_factory(throttler=AsyncThrottler(rate_limits=self.rate_limits))
        self._ping_timeout = CONSTANTS.WS_PING_INTERVAL  # §5.2: Hummingbot's loop sends a PING this often

    @property
    def name(self):
        return f"{self._domain}_{self._trading_pair}"

    @property
    def domain(self) -> str:
        return self._domain

    @property
    def rest_url(self):
        return web_utils.rest_base_url(self._domain)

    @property
    def wss_url(self):
        return web_utils.public_ws_url(self._domain)

    @property
    def health_check_url(self):
        return web_utils.public_rest_url(CONSTANTS.HEALTH_CHECK_PATH_URL, self._domain)

    @property
    def candles_url(self):
        return web_utils.public_rest_url(CONSTANTS.KLINES_PATH_URL, self._domain)

    @property
    def candles_endpoint(self):
        return CONSTANTS.KLINES_PATH_URL

    @property
    def candles_max_result_per_rest_request(self):
        return CONSTANTS.MAX_RESULTS_PER_CANDLESTICK_REST_REQUEST

    @property
    def rate_limits(self):
        return CONSTANTS.RATE_LIMITS

    @property
    def intervals(self):
        return CONSTANTS.INTERVALS

    @property
    def kline_channel(self) -> str:
        return kline_channel(self._ex_trading_pair, CONSTANTS.INTERVALS[self.interval])

    def attach_connector(self, connector: "ConnectorBase"):
        """As Hummingbot's, keeping the Vest headers on requests sent through the connector's throttler."""
        super().attach_connector(connector)
        throttler = getattr(connector, "throttler", None)
        if throttler is not None:
            self._api_factory = web_utils.build_api_factory(throttler=throttler)

    async def check_network(self) -> NetworkStatus:
        rest_assistant = await self._api_factory.get_rest_assistant()
        await rest_assistant.execute_request(url=self.health_check_url,
                                             throttler_limit_id=CONSTANTS.HEALTH_CHECK_PATH_URL)
        return NetworkStatus.CONNECTED

    def get_exchange_trading_pair(self, trading_pair: str) -> str:
        """Vest's crypto naming, `{BASE}-PERP` (§6.4): the guess until exchangeInfo names the symbol."""
        base, _ = split_hb_trading_pair(trading_pair)
        return f"{base}{CONSTANTS.PERPETUAL_SYMBOL_SUFFIX}"

    async def _initialize_exchange_data(self):
        """The symbol of the pair from exchangeInfo's `base`/`quote`, as the connector maps them (§6.4), unless an
        attached connector already resolved it."""
        if self._connector is not None:
            return
        rest_assistant = await self._api_factory.get_rest_assistant()
        payload = await rest_assistant.execute_request(
            url=web_utils.public_rest_url(CONSTANTS.EXCHANGE_INFO_PATH_URL, self._domain),
            throttler_limit_id=CONSTANTS.EXCHANGE_INFO_PATH_URL)
        markets, rejected = parse_exchange_info(payload)
        for row, error in rejected:
            self.logger().warning(f"Skipped an exchangeInfo row that could not be read ({error}): {_cut(row)}")
        symbol_map = build_symbol_map({"symbol": market.symbol, "base": market.base, "quote": market.quote}
                                      for market in markets)
        symbol = convert_to_exchange_trading_pair(self._trading_pair, symbol_map)
        if symbol is None:
            raise ValueError(f"Vest lists no market for {self._trading_pair}.")
        self._ex_trading_pair = symbol

    def _get_rest_candles_params(self,
                                 start_time: Optional[int] = None,
                                 end_time: Optional[int] = None,
                                 limit: Optional[int] = None) -> dict:
        """§2.5: times in ms; Vest returns at most `limit` bars counted back from `endTime`, none before
        `startTime`."""
        params = {"symbol": self._ex_trading_pair, "interval": CONSTANTS.INTERVALS[self.interval],
                  "limit": limit or CONSTANTS.MAX_RESULTS_PER_CANDLESTICK_REST_REQUEST}
        if start_time is not None:
            params["startTime"] = int(start_time * CONSTANTS.MILLISECONDS_PER_SECOND)
        if end_time is not None:
            params["endTime"] = int(end_time * CONSTANTS.MILLISECONDS_PER_SECOND)
        return params

    def _parse_rest_candles(self, data: Any, end_time: Optional[int] = None) -> List[List[float]]:
        """Ascending bars, one per open time; an unreadable bar is logged and left out."""
        if not isinstance(data, list):
            self.logger().warning(f"Ignored a klines answer for {self._trading_pair} that is not a list: {_cut(data)}")
            return []
        bars: Dict[int, VestKline] = {}
        for row in data:
            try:
                bar = parse_kline_row(row)
            except VestMessageError as error:
                self.logger().warning(f"Skipped a kline of {self._trading_pair} that could not be read ({error}): "
                                      f"{_cut(row)}")
                continue
            bars[bar.timestamp] = bar
        return [bars[timestamp].candle_row() for timestamp in sorted(bars)]

    def ws_subscription_payload(self) -> Dict[str, Any]:
        return {"method": CONSTANTS.WS_SUBSCRIBE_METHOD, "params": [self.kline_channel], "id": next(self._request_ids)}

    @property
    def _ping_payload(self) -> Dict[str, Any]:
        return {"method": CONSTANTS.WS_PING_METHOD, "params": [], "id": next(self._request_ids)}

    async def _connected_websocket_assistant(self) -> WSAssistant:
        """The connector's connection (heartbeat, network errors as ConnectionError) after its reconnect back-off:
        none the first time, 1 s doubling to 30 s while connections fail, reset once one delivered a bar."""
        delay = self._reconnect_delay.before_connecting(self._connection_delivered_data)
        self._connection_delivered_data = False
        if delay:
            await self._sleep(delay)
        return await web_utils.connected_ws_assistant(self._api_factory, self.wss_url)

    def _parse_websocket_message(self, data: Any) -> Optional[Dict[str, float]]:
        """The bar of a push on this feed's channel; None for PONGs, acknowledgements, other channels and pushes
        that cannot be read (logged)."""
        try:
            pushed = self._channel_and_data(data)
            if pushed is None or pushed[0] != self.kline_channel:
                return None
            bar = parse_kline_data(pushed[1])
        except VestMessageError as error:
            self.logger().warning(f"Skipped a kline push for {self._trading_pair} that could not be read ({error}): "
                                  f"{_cut(data)}")
            return None
        self._connection_delivered_data = True
        return bar.candle_dict()

    @staticmethod
    def _channel_and_data(data: Any) -> Optional[Tuple[str, Any]]:
        message = decode_frame(data)
        legacy_channel = legacy_kline_channel(message)
        if legacy_channel is not None:
            return legacy_channel, message
        return parse_push(message)


class VestPerpetualTestnetCandles(VestPerpetualCandles):
    """`CandlesConfig(connector="vest_perpetual_testnet", ...)`: Vest's development venue."""
    DEFAULT_DOMAIN = CONSTANTS.TESTNET_DOMAIN
