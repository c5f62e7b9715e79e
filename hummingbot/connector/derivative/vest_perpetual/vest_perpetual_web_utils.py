"""URL builders, throttler and web-assistants factory for Vest. No signing and no parsing live here."""
import asyncio
import os
import time
from collections import deque
from decimal import Decimal
from typing import Any, Coroutine, Deque, Dict, List, Optional, Tuple
from urllib.parse import urlencode

import aiohttp

from hummingbot.connector.derivative.vest_perpetual import vest_perpetual_constants as CONSTANTS
from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_messages import is_trading_symbol
from hummingbot.core.api_throttler.async_request_context_base import (
    MAX_CAPACITY_REACHED_WARNING_INTERVAL,
    AsyncRequestContextBase,
)
from hummingbot.core.api_throttler.async_throttler import AsyncThrottler
from hummingbot.core.api_throttler.data_types import RateLimit
from hummingbot.core.web_assistant.auth import AuthBase
from hummingbot.core.web_assistant.connections.data_types import (
    RESTMethod,
    RESTRequest,
    RESTResponse,
    WSJSONRequest,
    WSResponse,
)
from hummingbot.core.web_assistant.connections.ws_connection import WSConnection
from hummingbot.core.web_assistant.rest_assistant import RESTAssistant
from hummingbot.core.web_assistant.rest_pre_processors import RESTPreProcessorBase
from hummingbot.core.web_assistant.web_assistants_factory import WebAssistantsFactory
from hummingbot.core.web_assistant.ws_assistant import WSAssistant


# Errors that mean "the network or the socket failed": logged as one line, then a reconnect.
NETWORK_ERRORS = (OSError, asyncio.TimeoutError, aiohttp.ClientError)


def account_group_value(account_group: int) -> str:
    """The routing value Vest expects for an account group, e.g. `restserver0` (§1.3)."""
    return f"{CONSTANTS.ACCOUNT_GROUP_VALUE_PREFIX}{account_group}"


class VestPerpetualRESTPreProcessor(RESTPreProcessorBase):
    """Adds the headers every Vest request needs (§1.3, §3.1), keeping any the caller set."""

    def __init__(self, account_group: int = CONSTANTS.PUBLIC_ACCOUNT_GROUP):
        self._group_value = account_group_value(account_group)

    async def pre_process(self, request: RESTRequest) -> RESTRequest:
        headers = dict(request.headers or {})
        headers.setdefault(CONSTANTS.ACCOUNT_GROUP_HEADER, self._group_value)
        if request.method in (RESTMethod.POST, RESTMethod.PUT):
            headers.setdefault("Content-Type", "application/json")
        request.headers = headers
        return request


def rest_base_url(domain: str = CONSTANTS.DOMAIN) -> str:
    """The REST base for a domain, or the `VEST_PERPETUAL_REST_URL` override (e.g. the local simulator)."""
    return os.environ.get(CONSTANTS.REST_URL_ENV_VAR) or CONSTANTS.REST_URLS[domain]


def ws_base_url(domain: str = CONSTANTS.DOMAIN) -> str:
    """The WebSocket base for a domain, or the `VEST_PERPETUAL_WS_URL` override."""
    return os.environ.get(CONSTANTS.WS_URL_ENV_VAR) or CONSTANTS.WS_URLS[domain]


def public_rest_url(path_url: str, domain: str = CONSTANTS.DOMAIN) -> str:
    return rest_base_url(domain) + path_url


def private_rest_url(path_url: str, domain: str = CONSTANTS.DOMAIN) -> str:
    return rest_base_url(domain) + path_url


def _ws_url(domain: str, account_group: int, extra: Dict[str, Any]) -> str:
    # §1.2: D1 spells the group parameter both `xwebsocketserver` and `websocketserver`; send both.
    group = account_group_value(account_group)
    params = {"version": CONSTANTS.WS_VERSION}
    params.update({name: group for name in CONSTANTS.WS_ACCOUNT_GROUP_PARAMS})
    params.update(extra)
    return f"{ws_base_url(domain)}?{urlencode(params)}"


def public_ws_url(domain: str = CONSTANTS.DOMAIN, account_group: int = CONSTANTS.PUBLIC_ACCOUNT_GROUP) -> str:
    return _ws_url(domain, account_group, {})


def private_ws_url(listen_key: str, account_group: int, domain: str = CONSTANTS.DOMAIN) -> str:
    return _ws_url(domain, account_group, {"listenKey": listen_key})


def ws_request(method: str, params: List[str], request_id: int) -> WSJSONRequest:
    """`{"method", "params", "id"}` (§5.2): PING, SUBSCRIBE and UNSUBSCRIBE share this shape."""
    return WSJSONRequest(payload={"method": method, "params": params, "id": request_id})


async def run_until_first_ends(*coroutines: Coroutine):
    """Runs a connection's tasks (reader, PING, keep-alive) until one ends, then cancels the others; the error of
    the one that ended, if any, propagates."""
    tasks = [asyncio.ensure_future(coroutine) for coroutine in coroutines]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class _Window:
    """The requests one rate limit still counts, oldest first, and their total weight.

    Hummingbot keeps one list of every request and, per check, rebuilds it and sums it again for each limit. A window
    per limit drops its expired head and keeps a running total instead, so a check costs the same however busy the
    account is. The rule is Hummingbot's: a request counts while it is at most `time_interval` x (1 + safety margin)
    old. Timestamps are appended in clock order; should the clock step back, expiry waits for the older head, which
    only ever delays a request, never lets one through early. A window never holds more than `limit` requests.
    """

    __slots__ = ("rate_limit", "requests", "used")

    def __init__(self, rate_limit: RateLimit):
        self.rate_limit = rate_limit
        self.requests: Deque[Tuple[float, int]] = deque()
        self.used = 0

    def has_room(self, weight: int, now: float, margin: float) -> bool:
        requests, span = self.requests, self.rate_limit.time_interval * margin
        while requests and now - requests[0][0] > span:
            self.used -= requests.popleft()[1]
        return self.used + weight <= self.rate_limit.limit

    def add(self, now: float, weight: int):
        self.requests.append((now, weight))
        self.used += weight


class _WindowsContext:
    """`async with throttler.execute_task(limit_id)`: waits until every window of the request has room, checking
    every `retry_interval` as Hummingbot's context does."""

    __slots__ = ("_throttler", "_windows")

    def __init__(self, throttler: "VestThrottler", windows: Tuple[Tuple[_Window, int], ...]):
        self._throttler, self._windows = throttler, windows

    async def __aenter__(self):
        while not self._throttler.admit(self._windows):
            await asyncio.sleep(self._throttler._retry_interval)

    async def __aexit__(self, *exc_info):
        return None


class VestThrottler(AsyncThrottler):
    """Hummingbot's throttler rules (limits, linked pools, share percentage, safety margin, retry interval, the
    "almost reached" warning) with one `_Window` per limit: ~0.2 ms less per request than the stock Decimal
    bookkeeping, and no work that grows with the number of recent requests."""

    def set_rate_limits(self, rate_limits: List[RateLimit]):
        super().set_rate_limits(rate_limits)
        self._rebuild_windows()

    def add_rate_limits(self, rate_limits: List[RateLimit]):
        super().add_rate_limits(rate_limits)
        self._rebuild_windows()

    def _rebuild_windows(self):
        """One window per limit id; a window that already exists keeps the requests it counts."""
        windows: Dict[str, _Window] = getattr(self, "_windows", {})
        for limit_id, rate_limit in self._id_to_limit_map.items():
            window = windows.setdefault(limit_id, _Window(rate_limit))
            window.rate_limit = rate_limit
        self._windows = windows
        self._windows_of_request: Dict[str, Tuple[Tuple[_Window, int], ...]] = {}

    def execute_task(self, limit_id: str) -> _WindowsContext:
        windows = self._windows_of_request.get(limit_id)
        if windows is None:
            rate_limit, related_limits = self.get_related_limits(limit_id=limit_id)
            if rate_limit is None:
                raise ValueError(f"No rate limit is defined for {limit_id!r}")
            windows = tuple((self._windows[limit.limit_id], weight)
                            for limit, weight in [(rate_limit, rate_limit.weight), *related_limits])
            self._windows_of_request[limit_id] = windows
        return _WindowsContext(self, windows)

    def admit(self, windows: Tuple[Tuple[_Window, int], ...]) -> bool:
        """Counts the request in every window if all have room; otherwise warns (at most every 30 s, like
        Hummingbot) and counts nothing."""
        now, margin = self._time(), 1 + self._safety_margin_pct
        for window, weight in windows:
            if not window.has_room(weight, now, margin):
                self._warn_full(window.rate_limit, window.used, now)
                return False
        for window, weight in windows:
            window.add(now, weight)
        return True

    @staticmethod
    def _time() -> float:
        """Wall time, as Hummingbot's own throttler (`AsyncRequestContext._time`): rate limits are the venue's
        seconds, not the strategy clock's."""
        return time.time()

    def _warn_full(self, rate_limit: RateLimit, used: int, now: float):
        if AsyncRequestContextBase._last_max_cap_warning_ts < now - MAX_CAPACITY_REACHED_WARNING_INTERVAL:
            self.logger().notify(f"API rate limit on {rate_limit.limit_id} ({rate_limit.limit} calls per "
                                 f"{rate_limit.time_interval}s) has almost reached. Limits used is {used} in the "
                                 f"last {rate_limit.time_interval} seconds")
            AsyncRequestContextBase._last_max_cap_warning_ts = now


def create_throttler(limits_share_percentage: Optional[Decimal] = None) -> AsyncThrottler:
    return VestThrottler(CONSTANTS.RATE_LIMITS, limits_share_percentage=limits_share_percentage)


class VestRESTAssistant(RESTAssistant):
    """Hummingbot's assistant without the `deepcopy` of every request (~50 µs of each order's round trip).

    The copy shields a caller's request from processors that change it. Vest's pre-processor and auth never change
    a caller's headers dict; they rebind the request's `headers` to a new one. So a request given to `call` is
    consumed, and `execute_request_and_get_response`, the connector's only way in, builds a new one per call.
    """

    async def call(self, request: RESTRequest, timeout: Optional[float] = None) -> RESTResponse:
        request = await self._pre_process_request(request)
        request = await self._authenticate(request)
        sending = self._connection.call(request)
        response = await (sending if timeout is None else asyncio.wait_for(sending, timeout))
        return await self._post_process_response(response)


class VestWSConnection(WSConnection):
    """Hummingbot's WebSocket connection, except that frames reach the data sources as they arrived: text is not
    run through `json.loads` here, because `messages.read_push` decodes a push straight into its channel's types
    (a depth push's price strings become floats in the same pass) rather than into strings converted again."""

    @staticmethod
    def _build_resp(msg: aiohttp.WSMessage) -> WSResponse:
        return WSResponse(msg.data)


class VestWebAssistantsFactory(WebAssistantsFactory):
    """Hands out `VestRESTAssistant`s and WebSocket assistants on `VestWSConnection`s."""

    async def get_rest_assistant(self) -> RESTAssistant:
        return VestRESTAssistant(connection=await self._connections_factory.get_rest_connection(),
                                 throttler=self._throttler, rest_pre_processors=self._rest_pre_processors,
                                 rest_post_processors=self._rest_post_processors, auth=self._auth)

    async def get_ws_assistant(self) -> WSAssistant:
        stock = await self._connections_factory.get_ws_connection()  # on the session Hummingbot chose for WS
        return WSAssistant(VestWSConnection(aiohttp_client_session=stock._client_session),
                           self._ws_pre_processors, self._ws_post_processors, self._auth)


def build_api_factory(
        throttler: Optional[AsyncThrottler] = None,
        auth: Optional[AuthBase] = None,
        account_group: int = CONSTANTS.PUBLIC_ACCOUNT_GROUP) -> WebAssistantsFactory:
    """Factory for Vest REST/WS assistants.

    Vest has no server-time endpoint (§2.8), so clock offset is sampled by the connector from `GET /account`'s
    `time` field instead of by a pre-processor.
    """
    return VestWebAssistantsFactory(
        throttler=throttler or create_throttler(),
        auth=auth,
        rest_pre_processors=[VestPerpetualRESTPreProcessor(account_group)],
    )


def is_exchange_information_valid(symbol_info: Dict[str, Any]) -> bool:
    """Hummingbot's name for the rule the exchangeInfo parser applies (`tradingStatus`, §2.1)."""
    return is_trading_symbol(symbol_info)
