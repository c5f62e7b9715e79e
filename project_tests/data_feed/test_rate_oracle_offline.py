"""The rate oracle with source `vest_perpetual` values balances with the internet unreachable: only loopback
sockets (the simulator) may be opened, every other name look-up or connection is refused and recorded.

The guard is checked first: without the simulator's URL override the source targets the real Vest host, which
the guard refuses, and the oracle has no price. With the override, Hummingbot's own valuation paths (the `balance`
command's `get_rate`, the stored prices of the oracle's polling loop) value a portfolio holding the Vest account's
USDC, as the connector reads it from the simulator, at the simulator's mark prices.
"""
import errno
import ipaddress
import socket
from decimal import Decimal
from typing import Dict, List
from unittest.mock import patch
from urllib.parse import urlsplit

from hummingbot.connector.derivative.vest_perpetual import (
    vest_perpetual_constants as CONSTANTS,
    vest_perpetual_web_utils as web_utils,
)
from hummingbot.connector.utils import combine_to_hb_trading_pair
from hummingbot.core.rate_oracle.rate_oracle import RATE_ORACLE_SOURCES, RateOracle
from hummingbot.core.web_assistant.connections.connections_factory import ConnectionsFactory
from project_tests.connector.simulated_venue import SimulatedVenue, wait_until
from test.isolated_asyncio_wrapper_test_case import IsolatedAsyncioWrapperTestCase
from vest_hummingbot import overlay

QUOTE = CONSTANTS.COLLATERAL_TOKEN
PAIR = "BTC-USDC"
# Tokens held elsewhere (e.g. on a spot exchange) that the oracle values next to the Vest account's USDC.
HOLDINGS = {"BTC": Decimal("0.5"), "ETH": Decimal("3"), "SOL": Decimal("40")}
TIMEOUT = 15.0
LOOPBACK_NAMES = ("localhost",)


def is_loopback(host) -> bool:
    """Loopback names and addresses; a non-IP socket address (e.g. a Unix socket path) never leaves the host."""
    if not isinstance(host, str) or host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


class LoopbackOnly:
    """Makes the internet unreachable for this process: name look-ups and connections off loopback fail as they
    would without a network, and are recorded in `refused`."""

    def __init__(self):
        self.refused: List[str] = []
        self._getaddrinfo = socket.getaddrinfo
        self._connect = socket.socket.connect
        self._connect_ex = socket.socket.connect_ex
        self._patches = [patch.object(socket, "getaddrinfo", self.getaddrinfo),
                         patch.object(socket.socket, "connect", self.guarded(self._connect)),
                         patch.object(socket.socket, "connect_ex", self.guarded(self._connect_ex))]

    def __enter__(self) -> "LoopbackOnly":
        for each in self._patches:
            each.start()
        return self

    def __exit__(self, *exc_info):
        for each in reversed(self._patches):
            each.stop()

    def getaddrinfo(self, host, *args, **kwargs):
        if not is_loopback(host):
            self.refused.append(str(host))
            raise socket.gaierror(socket.EAI_NONAME, f"{host}: no network (test guard)")
        return self._getaddrinfo(host, *args, **kwargs)

    def guarded(self, connect):
        guard = self

        def guarded_connect(sock, address):
            host = address[0] if isinstance(address, tuple) else address
            if not is_loopback(host):
                guard.refused.append(str(host))
                raise OSError(errno.ENETUNREACH, f"{host}: network unreachable (test guard)")
            return connect(sock, address)
        return guarded_connect


class RateOracleWithoutInternetTest(IsolatedAsyncioWrapperTestCase):

    async def asyncSetUp(self):
        await super().asyncSetUp()
        ConnectionsFactory()._shared_client = None  # a session of an earlier test's closed loop cannot serve
        self.guard = LoopbackOnly().__enter__()
        self.addCleanup(self.guard.__exit__, None, None, None)
        overlay.register()
        self.source_class = RATE_ORACLE_SOURCES[overlay.RATE_SOURCE_NAME]
        self.source_class.get_prices.cache_clear()
        self.addCleanup(self.source_class.get_prices.cache_clear)

    async def asyncTearDown(self):
        await ConnectionsFactory().close()
        await super().asyncTearDown()

    def use_oracle(self) -> RateOracle:
        """Hummingbot's shared oracle, as `config rate_oracle_source vest_perpetual` with global token USDC sets it."""
        oracle = RateOracle(source=self.source_class(), quote_token=QUOTE)
        singleton = patch.object(RateOracle, "_shared_instance", oracle)
        singleton.start()
        self.addCleanup(singleton.stop)
        return RateOracle.get_instance()

    async def test_the_real_venue_is_unreachable_so_nothing_is_valued(self):
        with patch.dict("os.environ", clear=False) as environment:
            environment.pop(CONSTANTS.REST_URL_ENV_VAR, None)
            oracle = self.use_oracle()
            self.assertEqual({}, await oracle.source.get_prices(quote_token=QUOTE))
            self.assertEqual(Decimal("0"), await oracle.get_value(HOLDINGS["BTC"], "BTC"))
        self.assertIn(urlsplit(web_utils.rest_base_url(CONSTANTS.DOMAIN)).hostname, self.guard.refused)

    async def test_balances_are_valued_at_the_simulators_mark_prices(self):
        venue = await SimulatedVenue(trading_pairs=[PAIR], tick_interval=None).start()
        self.addAsyncCleanup(venue.close)
        balances: Dict[str, Decimal] = {**HOLDINGS, **venue.connector.get_all_balances()}
        self.assertEqual(venue.balance, balances[QUOTE])
        marks = self.mark_prices(venue)
        oracle = self.use_oracle()

        # The `balance` command's path: one live rate per token, times the balance.
        values = {token: await oracle.get_rate(base_token=token) * amount for token, amount in balances.items()}
        expected = {token: amount * (Decimal("1") if token == QUOTE else marks[token])
                    for token, amount in balances.items()}
        self.assertEqual(expected, values)

        # The polling loop's stored prices, which PnL and conversions read without awaiting.
        await oracle.start_network()
        self.addAsyncCleanup(oracle.stop_network)
        await wait_until(lambda: oracle.prices, timeout=TIMEOUT, what="the oracle's first prices")
        stored = {token: oracle.get_pair_rate(combine_to_hb_trading_pair(token, QUOTE)) * amount
                  for token, amount in balances.items()}
        self.assertEqual(expected, stored)
        self.assertEqual([], self.guard.refused)

    @staticmethod
    def mark_prices(venue: SimulatedVenue) -> Dict[str, Decimal]:
        """Base token -> the simulator's mark price, for its USDC-quoted markets."""
        marks = {}
        for symbol in venue.sim.market.symbols:
            row = venue.sim.market.exchange_symbol(symbol)
            if row["quote"] == QUOTE:
                marks[row["base"]] = Decimal(venue.sim.market.ticker_latest(symbol)["markPrice"])
        return marks
