"""A running Vest simulator with a funded account and a started connector, for end-to-end tests.

Everything goes over real sockets on loopback; nothing of the connector is mocked.
"""
import asyncio
import os
import tempfile
from decimal import Decimal
from typing import Callable, List, Optional
from unittest.mock import patch

import hummingbot
from hummingbot.connector.derivative.vest_perpetual import vest_perpetual_constants as CONSTANTS
from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_derivative import VestPerpetualDerivative
from hummingbot.core.event.event_logger import EventLogger
from hummingbot.core.event.events import MarketEvent
from hummingbot.core.web_assistant.connections.connections_factory import ConnectionsFactory
from vest_simulator import VestSimulator

# Hardhat's well-known test key #1 (public, never funded anywhere real).
SIGNING_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"  # noqa: mock
STARTING_BALANCE = Decimal("100000")
TICK_SECONDS = 0.2


async def wait_until(condition: Callable[[], bool], timeout: float = 10.0, interval: float = 0.02, what: str = ""):
    """Polls a condition until it holds; fails with `what` after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}")
        await asyncio.sleep(interval)


class SimulatedVenue:
    """Simulator + account + connector, started and ticking; `close()` undoes it all. The connector's order journal
    lives in `data_dir` (Hummingbot's data folder), a temporary one unless given."""

    def __init__(self, trading_pairs: List[str], seed: int = 11, tick_interval: Optional[float] = 0.05,
                 balance: Decimal = STARTING_BALANCE, signing_key: str = SIGNING_KEY, data_dir: Optional[str] = None,
                 connector_kwargs: Optional[dict] = None, **simulator_kwargs):
        self._own_data_dir = tempfile.TemporaryDirectory() if data_dir is None else None
        self.data_dir = data_dir or self._own_data_dir.name
        self._previous_data_path: Optional[str] = None
        self.trading_pairs = trading_pairs
        self.signing_key = signing_key
        self.sim = VestSimulator(seed=seed, port=0, tick_interval=tick_interval, **simulator_kwargs)
        self.balance = balance
        self.connector: Optional[VestPerpetualDerivative] = None
        self.connector_kwargs = connector_kwargs or {}
        self.events = EventLogger()
        self._env_patch = None
        self._clock_task: Optional[asyncio.Task] = None

    async def start(self, wait_ready: bool = True) -> "SimulatedVenue":
        # Hummingbot keeps one aiohttp session per process; one left by an earlier test's (now closed) event loop
        # cannot carry this test's requests, so start from none.
        ConnectionsFactory()._shared_client = None
        self._previous_data_path = hummingbot.data_path()
        hummingbot.set_data_path(self.data_dir)
        await self.sim.start()
        self._env_patch = patch.dict(os.environ, {CONSTANTS.REST_URL_ENV_VAR: self.sim.rest_url,
                                                  CONSTANTS.WS_URL_ENV_VAR: self.sim.ws_url})
        self._env_patch.start()
        self.account = self.sim.create_account(signing_private_key=self.signing_key, balance=self.balance)
        self.connector = VestPerpetualDerivative(
            vest_perpetual_api_key=self.account.api_key, vest_perpetual_signing_private_key=self.signing_key,
            vest_perpetual_account_group=self.account.account_group, trading_pairs=self.trading_pairs,
            trading_required=True, **self.connector_kwargs)
        for event in MarketEvent:
            self.connector.add_listener(event, self.events)
        await self.connector.start_network()
        self._clock_task = asyncio.ensure_future(self._tick_forever())
        if wait_ready:
            await wait_until(lambda: self.connector.ready, timeout=15,
                             what=f"connector ready ({self.connector.status_dict})")
        return self

    async def _tick_forever(self):
        """Plays Hummingbot's clock: each tick lets the connector's polling loops run."""
        while True:
            self.connector.tick(self.connector._time())
            await asyncio.sleep(TICK_SECONDS)

    def events_of(self, event_type) -> list:
        return [event for event in self.events.event_log if isinstance(event, event_type)]

    async def wait_for_event(self, event_type, count: int = 1, timeout: float = 10.0):
        await wait_until(lambda: len(self.events_of(event_type)) >= count, timeout=timeout,
                         what=f"{count} x {event_type.__name__}")
        return self.events_of(event_type)

    async def close(self):
        if self._clock_task is not None:
            self._clock_task.cancel()
        if self.connector is not None:
            await self.connector.stop_network()
        await self.sim.stop()
        # Hummingbot shares one aiohttp session per process; it must not outlive this test's event loop.
        await ConnectionsFactory().close()
        if self._env_patch is not None:
            self._env_patch.stop()
        if self._previous_data_path is not None:
            hummingbot.set_data_path(self._previous_data_path)
        if self._own_data_dir is not None:
            self._own_data_dir.cleanup()
