"""Rate source `vest_perpetual`: mark prices of the USDC-quoted markets from `GET /ticker/latest`, pairs from
exchangeInfo (docs/vest-protocol.md §10). REST is mocked with `aioresponses`."""
import os
import re
from decimal import Decimal
from typing import Dict, List
from unittest.mock import patch

from aioresponses import aioresponses

from hummingbot.connector.derivative.vest_perpetual import (
    vest_perpetual_constants as CONSTANTS,
    vest_perpetual_web_utils as web_utils,
)
from hummingbot.core.rate_oracle.rate_oracle import RateOracle
from hummingbot.core.rate_oracle.sources.vest_perpetual_rate_source import VestPerpetualRateSource
from test.isolated_asyncio_wrapper_test_case import IsolatedAsyncioWrapperTestCase
from test.logger_mixin_for_test import LoggerMixinForTest

OVERRIDE_VARS = (CONSTANTS.REST_URL_ENV_VAR, CONSTANTS.WS_URL_ENV_VAR, CONSTANTS.TESTNET_REST_URL_ENV_VAR,
                 CONSTANTS.TESTNET_WS_URL_ENV_VAR)


def url_of(path: str, domain: str = CONSTANTS.DOMAIN) -> "re.Pattern":
    return re.compile(rf"^{re.escape(web_utils.public_rest_url(path, domain))}(\?.*)?$")


def market_row(symbol: str, base: str, quote: str = "USDC") -> Dict:
    return {"symbol": symbol, "displayName": symbol, "base": base, "quote": quote, "sizeDecimals": 4,
            "priceDecimals": 1, "initMarginRatio": "0.02", "maintMarginRatio": "0.01", "takerFee": "0.0001",
            "isolated": False}


def ticker_row(symbol: str, mark: str, index: str = "1", status: str = "TRADING") -> Dict:
    return {"symbol": symbol, "markPrice": mark, "indexPrice": index, "imbalance": "0", "oneHrFundingRate": "0.00001",
            "cumFunding": "0", "status": status}


EXCHANGE_INFO = {"symbols": [market_row("BTC-PERP", "BTC"), market_row("ETH-PERP", "ETH"),
                             market_row("kBONK-PERP", "kBONK"), market_row("GOLD-USD-PERP", "GOLD", quote="USD"),
                             market_row("ZERO-PERP", "ZERO"), {"symbol": "BROKEN-PERP"}],
                 "exchange": {"collateralDecimals": 6}}
TICKERS = {"tickers": [ticker_row("BTC-PERP", "64000.5"), ticker_row("ETH-PERP", "3500.25", status="HALT"),
                       ticker_row("kBONK-PERP", "0.025013"), ticker_row("GOLD-USD-PERP", "2400"),
                       ticker_row("NEW-PERP", "5"), {"symbol": "SOL-PERP", "markPrice": "abc"},
                       ticker_row("ZERO-PERP", "0")]}


class VestPerpetualRateSourceTests(LoggerMixinForTest, IsolatedAsyncioWrapperTestCase):

    async def asyncSetUp(self):
        await super().asyncSetUp()
        environment = patch.dict(os.environ, {key: value for key, value in os.environ.items()
                                              if key not in OVERRIDE_VARS}, clear=True)
        environment.start()
        self.addCleanup(environment.stop)
        VestPerpetualRateSource.get_prices.cache_clear()
        self.addCleanup(VestPerpetualRateSource.get_prices.cache_clear)
        self.rate_source = VestPerpetualRateSource()
        self.set_loggers([self.rate_source.logger()])

    def tearDown(self):
        self.rate_source.logger().removeHandler(self)
        super().tearDown()

    def messages_at(self, level: str) -> List[str]:
        return [record.getMessage() for record in self.log_records if record.levelname == level]

    async def prices(self, exchange_info=EXCHANGE_INFO, tickers=TICKERS, quote_token=None, domain=CONSTANTS.DOMAIN):
        with aioresponses() as mock:
            mock.get(url_of(CONSTANTS.EXCHANGE_INFO_PATH_URL, domain), payload=exchange_info)
            mock.get(url_of(CONSTANTS.TICKER_LATEST_PATH_URL, domain), payload=tickers)
            result = await self.rate_source.get_prices(quote_token=quote_token)
            self.requests = [(url.path, call.kwargs) for (verb, url), calls in mock.requests.items() for call in calls]
        return result

    async def test_mark_prices_of_usdc_markets_by_hummingbot_pair(self):
        prices = await self.prices()
        self.assertEqual({"BTC-USDC": Decimal("64000.5"), "ETH-USDC": Decimal("3500.25"),
                          "kBONK-USDC": Decimal("0.025013")}, prices)
        for price in prices.values():
            self.assertIsInstance(price, Decimal)
        self.assertEqual(["/v2/exchangeInfo", "/v2/ticker/latest"], sorted(path for path, _ in self.requests))
        for _, request in self.requests:
            self.assertEqual("restserver0", request["headers"][CONSTANTS.ACCOUNT_GROUP_HEADER])

    async def test_unreadable_rows_are_skipped_with_a_log_line(self):
        await self.prices()
        warnings = self.messages_at("WARNING")
        self.assertTrue(any("exchangeInfo row" in message and "BROKEN-PERP" in message for message in warnings))
        self.assertTrue(any("ticker" in message and "SOL-PERP" in message for message in warnings))
        self.assertTrue(any("ZERO-PERP" in message and "mark price 0" in message for message in warnings))

    async def test_usdc_quote_is_served(self):
        self.assertEqual(Decimal("64000.5"), (await self.prices(quote_token="USDC"))["BTC-USDC"])

    async def test_another_quote_is_refused_with_what_to_do(self):
        with self.assertRaises(ValueError) as raised:
            await self.rate_source.get_prices(quote_token="USDT")
        self.assertIn("global token to USDC", str(raised.exception))

    async def test_a_failed_request_gives_no_prices_and_a_log_line(self):
        with aioresponses() as mock:
            mock.get(url_of(CONSTANTS.EXCHANGE_INFO_PATH_URL), status=503, body="down")
            self.assertEqual({}, await self.rate_source.get_prices())
        self.assertTrue(any("retrieving rates from Vest" in message for message in self.messages_at("ERROR")))

    async def test_a_ticker_answer_without_tickers_gives_no_prices(self):
        self.assertEqual({}, await self.prices(tickers={"code": 1121, "msg": "bad"}))
        self.assertTrue(self.messages_at("ERROR"))

    async def test_prices_are_cached_between_oracle_polls(self):
        first = await self.prices(quote_token="USDC")
        with aioresponses() as mock:  # nothing mocked: a request would fail
            self.assertEqual(first, await self.rate_source.get_prices(quote_token="USDC"))
            self.assertEqual({}, dict(mock.requests))

    async def test_testnet_domain_and_url_override(self):
        self.rate_source = VestPerpetualRateSource(domain=CONSTANTS.TESTNET_DOMAIN)
        self.assertEqual(CONSTANTS.TESTNET_DOMAIN, self.rate_source.name)
        prices = await self.prices(domain=CONSTANTS.TESTNET_DOMAIN)
        self.assertEqual(Decimal("64000.5"), prices["BTC-USDC"])
        VestPerpetualRateSource.get_prices.cache_clear()
        with patch.dict(os.environ, {CONSTANTS.TESTNET_REST_URL_ENV_VAR: "http://127.0.0.1:8002/v2"}):
            await self.prices(domain=CONSTANTS.TESTNET_DOMAIN)
        self.assertTrue(all(path.startswith("/v2/") for path, _ in self.requests))

    async def test_the_rate_oracle_converts_with_it(self):
        self.assertEqual("vest_perpetual", self.rate_source.name)
        oracle = RateOracle(source=self.rate_source, quote_token="USDC")
        with aioresponses() as mock:
            mock.get(url_of(CONSTANTS.EXCHANGE_INFO_PATH_URL), payload=EXCHANGE_INFO)
            mock.get(url_of(CONSTANTS.TICKER_LATEST_PATH_URL), payload=TICKERS)
            self.assertEqual(Decimal("64000.5"), await oracle.get_rate("BTC"))
            self.assertEqual(Decimal("128001.0"), await oracle.get_value(Decimal("2"), "BTC"))
