"""URLs, the web-assistants factory, the throttler and the WebSocket plumbing both data sources share; no signing,
no payload parsing. Section numbers refer to docs/vest-protocol.md."""
import asyncio
import functools
import itertools
import os
from decimal import Decimal
from typing import Any, Awaitable, Callable, Coroutine, Dict, List, Optional
from urllib.parse import urlencode, urlsplit

import aiohttp

from hummingbot.connector.derivative.vest_perpetual import vest_perpetual_constants as CONSTANTS
from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_messages import is_trading_symbol
from hummingbot.core.api_throttler.async_throttler import AsyncThrottler
from hummingbot.core.web_assistant.auth import AuthBase
from hummingbot.core.web_assistant.connections.data_types import RESTMethod, RESTRequest, WSJSONRequest
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
    return url_override(domain, "rest") or CONSTANTS.REST_URLS[domain]


def ws_base_url(domain: str = CONSTANTS.DOMAIN) -> str:
    return url_override(domain, "ws") or CONSTANTS.WS_URLS[domain]


def url_override(domain: str, kind: str) -> Optional[str]:
    """The base URL an environment variable sets for a domain's "rest" or "ws" (e.g. a simulator's). Signed orders
    and the API key follow it, so it must be https/wss, or http/ws to this machine only; else ValueError."""
    name = CONSTANTS.URL_OVERRIDE_ENV_VARS[domain][kind]
    url = os.environ.get(name)
    return _checked_override(name, url) if url else None


@functools.lru_cache(maxsize=8)
def _checked_override(name: str, url: str) -> str:
    parts = urlsplit(url)
    secure, plain = ("https", "http") if name.endswith("_REST_URL") else ("wss", "ws")
    if parts.scheme == secure or (parts.scheme == plain and parts.hostname in CONSTANTS.LOOPBACK_HOSTS):
        return url
    raise ValueError(f"{name}={url} is refused: the override must use {secure}://, or {plain}:// to this machine "
                     f"(127.0.0.1 or localhost), because signed orders and the API key are sent there.")


def public_rest_url(path_url: str, domain: str = CONSTANTS.DOMAIN) -> str:
    return rest_base_url(domain) + path_url


private_rest_url = public_rest_url  # one base for every request (§1.1)


def _ws_url(domain: str, account_group: int, extra: Dict[str, Any]) -> str:
    """§1.2: Vest's docs spell the group parameter both `xwebsocketserver` and `websocketserver`; both are sent."""
    group = account_group_value(account_group)
    params = {"version": CONSTANTS.WS_VERSION, **{name: group for name in CONSTANTS.WS_ACCOUNT_GROUP_PARAMS}, **extra}
    return f"{ws_base_url(domain)}?{urlencode(params)}"


def public_ws_url(domain: str = CONSTANTS.DOMAIN, account_group: int = CONSTANTS.PUBLIC_ACCOUNT_GROUP) -> str:
    return _ws_url(domain, account_group, {})


def private_ws_url(listen_key: str, account_group: int, domain: str = CONSTANTS.DOMAIN) -> str:
    return _ws_url(domain, account_group, {"listenKey": listen_key})


def create_throttler(limits_share_percentage: Optional[Decimal] = None) -> AsyncThrottler:
    return AsyncThrottler(CONSTANTS.RATE_LIMITS, limits_share_percentage=limits_share_percentage)


def build_api_factory(throttler: Optional[AsyncThrottler] = None, auth: Optional[AuthBase] = None,
                      account_group: int = CONSTANTS.PUBLIC_ACCOUNT_GROUP) -> WebAssistantsFactory:
    """No time-sync pre-processor: Vest has no server-time endpoint (§2.8); the clock is sampled from `GET /account`."""
    return WebAssistantsFactory(throttler=throttler or create_throttler(), auth=auth,
                                rest_pre_processors=[VestPerpetualRESTPreProcessor(account_group)])


def is_exchange_information_valid(symbol_info: Dict[str, Any]) -> bool:
    """Hummingbot's name for the rule the exchangeInfo parser applies (`tradingStatus`, §2.1)."""
    return is_trading_symbol(symbol_info)


# WebSocket plumbing shared by the public and the private stream
class WSRequestSender:
    """Sends `{"method", "params", "id"}` requests (§5.2: PING, SUBSCRIBE, UNSUBSCRIBE), numbering them."""

    def __init__(self):
        self._request_ids = itertools.count(1)

    async def send(self, ws: WSAssistant, method: str, params: List[str]):
        await ws.send(WSJSONRequest(payload={"method": method, "params": params, "id": next(self._request_ids)}))

    async def ping_periodically(self, ws: WSAssistant, sleep: Callable[[float], Awaitable]):
        """An application PING every WS_PING_INTERVAL (§5.2), until sending fails."""
        while True:
            await sleep(CONSTANTS.WS_PING_INTERVAL)
            await self.send(ws, CONSTANTS.WS_PING_METHOD, [])


async def connected_ws_assistant(api_factory: WebAssistantsFactory, url: str) -> WSAssistant:
    """A network failure becomes a ConnectionError: Hummingbot's stream loops log it as one line, not a traceback."""
    ws = await api_factory.get_ws_assistant()
    try:
        await ws.connect(ws_url=url, ping_timeout=CONSTANTS.WS_HEARTBEAT_INTERVAL)
    except NETWORK_ERRORS as error:
        raise ConnectionError(f"Could not connect to the Vest websocket: {error!r}") from error
    return ws


async def run_until_first_ends(*coroutines: Coroutine):
    """A connection's tasks (reader, PING, keep-alive) until one ends, whose error propagates; the rest cancelled."""
    tasks = [asyncio.ensure_future(coroutine) for coroutine in coroutines]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class ReconnectDelay:
    """The pause before each connection: none before the first; then WS_RECONNECT_DELAY_INITIAL, doubling up to
    WS_RECONNECT_DELAY_MAX while connections fail, back to the start after one that delivered data."""

    def __init__(self):
        self._delay: Optional[float] = None  # until the first connection

    def before_connecting(self, last_connection_was_healthy: bool) -> float:
        if self._delay is None:
            self._delay = 0.0
        elif last_connection_was_healthy or not self._delay:
            self._delay = CONSTANTS.WS_RECONNECT_DELAY_INITIAL
        else:
            self._delay = min(2 * self._delay, CONSTANTS.WS_RECONNECT_DELAY_MAX)
        return self._delay
