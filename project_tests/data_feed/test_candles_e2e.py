"""The Vest candles feed and rate source in a stock Hummingbot, against the project's simulator over loopback.

`vest_hummingbot.overlay.register()` adds them to Hummingbot's maps; then `CandlesFactory` and the rate-oracle
source map serve them like any built-in one. Nothing is mocked: the simulator runs on a free port and the
connector's URL override variables point the feed at it. The simulator's clock ticks only when a test calls
`step()`, so every bar the feed shows can be compared with the simulator's own.
"""
import asyncio
import os
from decimal import Decimal
from typing import List
from unittest.mock import patch

import pandas as pd

from hummingbot.connector.derivative.vest_perpetual import vest_perpetual_constants as CONSTANTS
from hummingbot.connector.utils import combine_to_hb_trading_pair
from hummingbot.core.data_type.common import TradeType
from hummingbot.core.rate_oracle.rate_oracle import RATE_ORACLE_SOURCES, RateOracle
from hummingbot.core.web_assistant.connections.connections_factory import ConnectionsFactory
from hummingbot.data_feed.candles_feed.candles_factory import CandlesFactory
from hummingbot.data_feed.candles_feed.data_types import CandlesConfig
from hummingbot.data_feed.candles_feed.vest_perpetual_candles import VestPerpetualCandles
from hummingbot.data_feed.market_data_provider import MarketDataProvider
from hummingbot.strategy_v2.controllers.directional_trading_controller_base import (
    DirectionalTradingControllerBase,
    DirectionalTradingControllerConfigBase,
)
from hummingbot.strategy_v2.models.executor_actions import CreateExecutorAction
from project_tests.connector.simulated_venue import SimulatedVenue, wait_until
from test.isolated_asyncio_wrapper_test_case import IsolatedAsyncioWrapperTestCase
from vest_hummingbot import overlay
from vest_simulator import VestSimulator

PAIR, SYMBOL = "BTC-USDC", "BTC-PERP"
INTERVAL = "1m"
CHANNEL = f"{SYMBOL}@kline_{INTERVAL}"
MAX_RECORDS = 60
SEED = 21
TIMEOUT = 15.0
MAX_STEPS = 100  # steps of the simulator until its bar in progress changes (one is almost always enough)
CONTROLLER_UPDATE_SECONDS = 0.05  # the controller's loop period; its actions are awaited, not slept for


class CloseVersusMeanConfig(DirectionalTradingControllerConfigBase):
    controller_name: str = "close_versus_mean"
    connector_name: str = "vest_perpetual"
    trading_pair: str = PAIR
    position_mode: str = "ONEWAY"  # Vest's only mode


class CloseVersusMean(DirectionalTradingControllerBase):
    """A minimal V2 directional controller on Vest candles: long when the last close is above the mean close."""

    def get_candles_config(self) -> List[CandlesConfig]:
        return [CandlesConfig(connector=self.config.connector_name, trading_pair=self.config.trading_pair,
                              interval=INTERVAL, max_records=MAX_RECORDS)]

    async def update_processed_data(self):
        features = self.market_data_provider.get_candles_df(self.config.connector_name, self.config.trading_pair,
                                                            INTERVAL, MAX_RECORDS)
        signal = 0 if features.empty else (1 if features["close"].iloc[-1] > features["close"].mean() else -1)
        self.processed_data = {"signal": signal, "features": features}


def as_candle(kline: list) -> List[float]:
    """A simulator bar `[openTime, o, h, l, c, closeTime, v, qv, n]` as Hummingbot's candle row."""
    open_ms, o, h, low, c, _, v, qv, n = kline
    return [open_ms / 1000, float(o), float(h), float(low), float(c), float(v), float(qv), float(n), 0.0, 0.0]


class CandlesAndRateSourceAgainstTheSimulator(IsolatedAsyncioWrapperTestCase):

    async def asyncSetUp(self):
        await super().asyncSetUp()
        # Hummingbot keeps one aiohttp session per process; one from an earlier test's closed loop cannot serve.
        ConnectionsFactory()._shared_client = None
        self.sim = VestSimulator(seed=SEED, port=0, tick_interval=None)
        await self.sim.start()
        environment = patch.dict(os.environ, {CONSTANTS.REST_URL_ENV_VAR: self.sim.rest_url,
                                              CONSTANTS.WS_URL_ENV_VAR: self.sim.ws_url})
        environment.start()
        self.addCleanup(environment.stop)
        overlay.register()
        RATE_ORACLE_SOURCES[overlay.RATE_SOURCE_NAME].get_prices.cache_clear()
        self.candles = None

    async def asyncTearDown(self):
        if self.candles is not None:
            self.candles.stop()
            await self.candles.stop_network()
        await self.sim.stop()
        await ConnectionsFactory().close()
        await super().asyncTearDown()

    def sim_bars(self, limit: int = MAX_RECORDS) -> List[List[float]]:
        return [as_candle(kline) for kline in self.sim.market.klines(SYMBOL, INTERVAL, None, None, limit)]

    def step_until_the_bar_changes(self) -> List[float]:
        before = as_candle(self.sim.market.current_kline(SYMBOL, INTERVAL))
        for _ in range(MAX_STEPS):
            self.sim.step()  # moves prices and pushes the bar in progress on the kline channel
            now = as_candle(self.sim.market.current_kline(SYMBOL, INTERVAL))
            if now != before:
                return now
        self.fail(f"the simulator's bar did not change in {MAX_STEPS} steps")

    async def started_venue(self) -> SimulatedVenue:
        """A funded account and a started connector on a simulator of their own, which replaces setUp's."""
        await self.sim.stop()
        venue = await SimulatedVenue(trading_pairs=[PAIR], tick_interval=None).start()
        self.addAsyncCleanup(venue.close)
        self.sim = venue.sim
        return venue

    async def started_feed(self, **factory_kwargs) -> VestPerpetualCandles:
        self.candles = CandlesFactory.get_candle(
            CandlesConfig(connector="vest_perpetual", trading_pair=PAIR, interval=INTERVAL, max_records=MAX_RECORDS),
            **factory_kwargs)
        self.candles.start()
        await wait_until(lambda: self.sim.hub.has_subscribers(CHANNEL), timeout=TIMEOUT, what="kline subscription")
        return self.candles

    async def test_candles_fill_from_the_simulator_and_follow_it_live(self):
        candles = await self.started_feed()
        self.assertIsInstance(candles, VestPerpetualCandles)
        self.step_until_the_bar_changes()  # the first push starts the history fill
        await wait_until(lambda: candles.ready and candles.candles_df.values.tolist() == self.sim_bars(),
                         timeout=TIMEOUT, what="candles filled with the simulator's bars")

        live = self.step_until_the_bar_changes()
        await wait_until(lambda: candles.candles_df.values.tolist()[-1] == live, timeout=TIMEOUT,
                         what=f"the live bar {live}")
        self.assertEqual(MAX_RECORDS, len(candles.candles_df))
        self.assertEqual(self.sim_bars(), candles.candles_df.values.tolist())

    async def test_candles_backed_by_the_connector_share_its_symbols_and_throttler(self):
        venue = await self.started_venue()
        with patch.dict(os.environ, {CONSTANTS.REST_URL_ENV_VAR: self.sim.rest_url,
                                     CONSTANTS.WS_URL_ENV_VAR: self.sim.ws_url}):
            candles = await self.started_feed(connector=venue.connector)
            self.assertIs(venue.connector._throttler, candles._api_factory._throttler)
            self.assertEqual(SYMBOL, candles._ex_trading_pair)
            self.step_until_the_bar_changes()
            await wait_until(lambda: candles.ready and candles.candles_df.values.tolist() == self.sim_bars(),
                             timeout=TIMEOUT, what="candles filled with the simulator's bars")

    async def test_a_v2_directional_controller_trades_on_the_vest_candles(self):
        venue = await self.started_venue()
        provider = MarketDataProvider(connectors={"vest_perpetual": venue.connector})
        self.addCleanup(provider.stop)
        actions = asyncio.Queue()
        controller = CloseVersusMean(CloseVersusMeanConfig(id="vest-candles"), provider, actions,
                                     update_interval=CONTROLLER_UPDATE_SECONDS)
        controller.start()  # asks the provider for its candles, which CandlesFactory builds
        self.addCleanup(controller.stop)
        await wait_until(lambda: self.sim.hub.has_subscribers(CHANNEL), timeout=TIMEOUT, what="kline subscription")
        self.step_until_the_bar_changes()

        proposal = await asyncio.wait_for(actions.get(), TIMEOUT)
        features: pd.DataFrame = controller.processed_data["features"]
        self.assertEqual(self.sim_bars(), features.values.tolist())
        closes = features["close"]
        expected_side = TradeType.BUY if closes.iloc[-1] > closes.mean() else TradeType.SELL
        [action] = proposal
        self.assertIsInstance(action, CreateExecutorAction)
        self.assertEqual(("vest_perpetual", PAIR, expected_side), (action.executor_config.connector_name,
                                                                   action.executor_config.trading_pair,
                                                                   action.executor_config.side))
        self.assertIsInstance(provider.candles_feeds[f"vest_perpetual_{PAIR}_{INTERVAL}"], VestPerpetualCandles)

    async def test_the_rate_source_gives_the_simulators_mark_prices(self):
        source = RATE_ORACLE_SOURCES["vest_perpetual"]()
        prices = await source.get_prices(quote_token="USDC")
        expected = {}
        for symbol in self.sim.market.symbols:
            row = self.sim.market.exchange_symbol(symbol)
            if row["quote"] == "USDC":
                pair = combine_to_hb_trading_pair(row["base"], row["quote"])
                expected[pair] = Decimal(self.sim.market.ticker_latest(symbol)["markPrice"])
        self.assertEqual(expected, prices)
        self.assertIn(PAIR, prices)

        RATE_ORACLE_SOURCES["vest_perpetual"].get_prices.cache_clear()
        self.sim.set_index_price(SYMBOL, Decimal("70000"))
        oracle = RateOracle(source=RATE_ORACLE_SOURCES["vest_perpetual"](), quote_token="USDC")
        mark = Decimal(self.sim.market.ticker_latest(SYMBOL)["markPrice"])
        self.assertEqual(mark, await oracle.get_rate("BTC"))
        self.assertEqual(mark * 2, await oracle.get_value(Decimal("2"), "BTC"))
