"""Rate oracle source `vest_perpetual`: the mark price of every Vest perpetual, quoted in USDC.

Vest publishes no last-trade price; `GET /ticker/latest` gives every market's mark price in one call, and
exchangeInfo names each market's pair (docs/vest-protocol.md §2.1, §2.2, §10). Requests go through the connector's
URLs (and their overrides), headers and rate limits.
"""
from decimal import Decimal
from typing import Any, Dict, Optional, Tuple

from hummingbot.connector.derivative.vest_perpetual import (
    vest_perpetual_constants as CONSTANTS,
    vest_perpetual_web_utils as web_utils,
)
from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_messages import (
    VestMessageError,
    parse_exchange_info,
    parse_ticker,
)
from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_utils import build_symbol_map
from hummingbot.connector.utils import split_hb_trading_pair
from hummingbot.core.rate_oracle.sources.rate_source_base import RateSourceBase
from hummingbot.core.utils import async_ttl_cache
from hummingbot.core.web_assistant.web_assistants_factory import WebAssistantsFactory

QUOTE_TOKEN = CONSTANTS.COLLATERAL_TOKEN  # §1.5: every Vest market settles in USDC
PRICES_CACHE_SECONDS = 30  # the rate oracle asks every second; mark prices this fresh are enough for conversions
LOGGED_ROW_CHARS = 200  # an unreadable row is logged cut to this length


class VestPerpetualRateSource(RateSourceBase):
    """Prices of the USDC-quoted Vest pairs, e.g. `{"BTC-USDC": Decimal("64000.5")}`."""

    def __init__(self, domain: str = CONSTANTS.DOMAIN):
        super().__init__()
        self._domain = domain
        self._api_factory: Optional[WebAssistantsFactory] = None

    @property
    def name(self) -> str:
        return self._domain

    @async_ttl_cache(ttl=PRICES_CACHE_SECONDS, maxsize=1)
    async def get_prices(self, quote_token: Optional[str] = None) -> Dict[str, Decimal]:
        """Raises ValueError for a quote other than USDC, so the rate oracle reports the misconfiguration (set the
        global token to USDC) instead of showing no rates."""
        if quote_token is not None and quote_token != QUOTE_TOKEN:
            raise ValueError(f"Vest Perpetual only quotes in {QUOTE_TOKEN}: set the global token to {QUOTE_TOKEN}.")
        results = {}
        try:
            pairs = await self._usdc_pairs_by_symbol()
            tickers = await self._get(CONSTANTS.TICKER_LATEST_PATH_URL)
            rows = tickers.get("tickers") if isinstance(tickers, dict) else None
            if not isinstance(rows, list):
                raise VestMessageError(f"ticker/latest has no 'tickers' list: {tickers!r}")
            for row in rows:
                price = self._usdc_price(row, pairs)
                if price is not None:
                    results[price[0]] = price[1]
        except Exception:
            self.logger().exception(
                msg="Unexpected error while retrieving rates from Vest. Check the log file for more info.")
        return results

    def _usdc_price(self, row: Any, pairs: Dict[str, str]) -> Optional[Tuple[str, Decimal]]:
        """`(pair, mark price)` of a ticker row, or None for a market not quoted in USDC or a row that cannot be
        read (logged)."""
        try:
            ticker = parse_ticker(row)
        except VestMessageError as error:
            self.logger().warning(f"Skipped a Vest ticker that could not be read ({error}): {row!r:.{LOGGED_ROW_CHARS}}")
            return None
        pair = pairs.get(ticker.symbol)
        if pair is None:
            return None
        if ticker.mark_price <= 0:
            self.logger().warning(f"Skipped the Vest ticker of {ticker.symbol}: mark price {ticker.mark_price}.")
            return None
        return pair, ticker.mark_price

    async def _usdc_pairs_by_symbol(self) -> Dict[str, str]:
        """Vest symbol -> Hummingbot pair of the USDC-quoted markets, from exchangeInfo's `base`/`quote` (§6.4), as
        the connector maps them."""
        markets, rejected = parse_exchange_info(await self._get(CONSTANTS.EXCHANGE_INFO_PATH_URL))
        for row, error in rejected:
            self.logger().warning(f"Skipped a Vest exchangeInfo row that could not be read ({error}): "
                                  f"{row!r:.{LOGGED_ROW_CHARS}}")
        symbol_map = build_symbol_map({"symbol": market.symbol, "base": market.base, "quote": market.quote}
                                      for market in markets)
        return {symbol: pair for symbol, pair in symbol_map.items() if split_hb_trading_pair(pair)[1] == QUOTE_TOKEN}

    async def _get(self, path_url: str) -> Any:
        if self._api_factory is None:
            self._api_factory = web_utils.build_api_factory(throttler=web_utils.create_throttler())
        rest_assistant = await self._api_factory.get_rest_assistant()
        return await rest_assistant.execute_request(url=web_utils.public_rest_url(path_url, self._domain),
                                                    throttler_limit_id=path_url)
