"""Vest private stream: listen-key lifecycle, the `account_private` WebSocket and its re-subscription.

Section numbers refer to `shared/vest-api.md`. Events are forwarded as decoded, whole
`{"channel": "account_private", "data": {"event": …, "args": …}}` dicts (§5.4); the derivative parses them.

Listen key (§3.11): every (re)connection starts with `POST /account/listenKey`, which returns the active key
extended by 60 min, or a new one when the old key expired or was never issued. A connection can therefore never
reuse a dead key, whatever closed the previous one (a 4003/4004/4005 close, §5.1, or a close Hummingbot reports
without a code). While connected, a PUT every LISTEN_KEY_KEEP_ALIVE_INTERVAL keeps the key alive; a 1125 answer, or
LISTEN_KEY_KEEP_ALIVE_RETRIES failed retries, end the connection, and the reconnection POSTs for a valid key.
On `stop()` the key is deleted (best effort).
"""
import asyncio
import itertools
import re
from typing import TYPE_CHECKING, Any, Optional, Set

from hummingbot.connector.derivative.vest_perpetual import (
    vest_perpetual_constants as CONSTANTS,
    vest_perpetual_web_utils as web_utils,
)
from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_messages import (
    VestAPIError,
    VestMessageError,
    decode_frame,
    is_control_reply,
    parse_channel_message,
    parse_listen_key,
)
from hummingbot.core.data_type.user_stream_tracker_data_source import UserStreamTrackerDataSource
from hummingbot.core.web_assistant.auth import AuthBase
from hummingbot.core.web_assistant.web_assistants_factory import WebAssistantsFactory
from hummingbot.core.web_assistant.ws_assistant import WSAssistant
from hummingbot.logger import HummingbotLogger

if TYPE_CHECKING:
    from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_derivative import VestPerpetualDerivative

# Hummingbot's WSConnection reports a server close only as ConnectionError("... Close code = 4004 msg data: …") and
# drops its aiohttp socket right away, so that text is the one place the close code (§5.1) survives.
_CLOSE_CODE_PATTERN = re.compile(r"Close code = (\d+)")


def close_code_of(error: BaseException) -> Optional[int]:
    """The WebSocket close code reported by Hummingbot's WSConnection, or None when it gave none."""
    match = _CLOSE_CODE_PATTERN.search(str(error))
    return int(match.group(1)) if match else None


class VestPerpetualUserStreamDataSource(UserStreamTrackerDataSource):
    _logger: Optional[HummingbotLogger] = None

    def __init__(self, auth: AuthBase, connector: "VestPerpetualDerivative", api_factory: WebAssistantsFactory,
                 domain: str = CONSTANTS.DOMAIN):
        super().__init__()
        self._auth = auth
        self._connector = connector
        self._api_factory = api_factory
        self._domain = domain
        self._listen_key: Optional[str] = None
        self._request_ids = itertools.count(1)  # §5.2: every request carries a unique id
        self._last_recv_time = 0.0
        self._received_message = False
        self._reported_channels: Set[str] = set()
        self._has_subscribed = False

    @property
    def last_recv_time(self) -> float:
        """Time of the last message of any kind (events, PONG, acks); kept across reconnects."""
        return self._last_recv_time

    # ------------------------------------------------------------------------------------------------ lifecycle
    async def listen_for_user_stream(self, output: asyncio.Queue):
        """Get a listen key, connect, subscribe, forward events; after any close or error reconnect with a
        back-off doubling from WS_RECONNECT_DELAY_INITIAL to WS_RECONNECT_DELAY_MAX, reset by a healthy connection."""
        delay = CONSTANTS.WS_RECONNECT_DELAY_INITIAL
        while True:
            ws: Optional[WSAssistant] = None
            self._received_message = False
            try:
                self._listen_key = await self._request_listen_key()
                ws = await self._connected_websocket_assistant()
                self._ws_assistant = ws
                await self._subscribe_channels(ws)
                if self._has_subscribed:
                    # Events of the gap are lost for good (§5.4 has no replay): let the connector poll them.
                    self._connector.resync_after_user_stream_gap()
                self._has_subscribed = True
                await self._read_until_disconnected(ws, output)
            except asyncio.CancelledError:
                raise
            except ConnectionError as error:
                self._on_close(error)
            except web_utils.NETWORK_ERRORS as error:
                self.logger().warning(f"The private websocket failed ({error!r}).")
            except Exception:
                self.logger().exception("Unexpected error on the private websocket.")
            finally:
                self._ws_assistant = None
                await self._on_user_stream_interruption(websocket_assistant=ws)
            if self._received_message:
                delay = CONSTANTS.WS_RECONNECT_DELAY_INITIAL
            self.logger().info(f"Reconnecting to the private websocket in {delay} s.")
            await self._sleep(delay)
            delay = min(delay * 2, CONSTANTS.WS_RECONNECT_DELAY_MAX)

    def _on_close(self, error: ConnectionError):
        """4003/4004/4005 (§5.1) mean the key is missing, unknown or expired; the reconnection's POST replaces it.
        Any other close, with or without a code, is logged and followed by the same reconnection."""
        code = close_code_of(error)
        if code in CONSTANTS.WS_CLOSE_CODES_NEW_LISTEN_KEY:
            self.logger().warning(f"Vest closed the private websocket with {code} "
                                  f"{CONSTANTS.WS_CLOSE_CODES[code]}; reconnecting with a new listen key.")
        else:
            self.logger().warning(f"The private websocket was closed ({error}).")

    async def stop(self):
        """Closes the stream, then deletes the listen key (best effort, §3.11)."""
        listen_key, self._listen_key = self._listen_key, None
        await super().stop()
        if listen_key is None:
            return
        try:
            await self._connector._api_delete(path_url=CONSTANTS.LISTEN_KEY_PATH_URL, is_auth_required=True)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            self.logger().warning(f"Could not delete the listen key on stop: {error!r}")

    # ------------------------------------------------------------------------------------------------ listen key
    async def _request_listen_key(self) -> str:
        """`POST /account/listenKey` (§3.11): the active key extended by 60 min, or a new one."""
        response = await self._connector._api_post(path_url=CONSTANTS.LISTEN_KEY_PATH_URL, is_auth_required=True)
        return parse_listen_key(response)

    async def _keep_listen_key_alive(self):
        """PUT every LISTEN_KEY_KEEP_ALIVE_INTERVAL; returns, which ends the connection, once the key must go."""
        while True:
            await self._sleep(CONSTANTS.LISTEN_KEY_KEEP_ALIVE_INTERVAL)
            if not await self._extend_listen_key():
                return

    async def _extend_listen_key(self) -> bool:
        """True once a PUT succeeds; False on 1125 or after LISTEN_KEY_KEEP_ALIVE_RETRIES failed retries."""
        attempts = 1 + CONSTANTS.LISTEN_KEY_KEEP_ALIVE_RETRIES
        for attempt in range(1, attempts + 1):
            try:
                await self._connector._api_put(path_url=CONSTANTS.LISTEN_KEY_PATH_URL, is_auth_required=True)
                return True
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if isinstance(error, VestAPIError) and error.code == CONSTANTS.ERROR_INVALID_LISTEN_KEY:
                    self.logger().warning(f"The listen key expired ({error}); reconnecting with a new one.")
                    return False
                self.logger().warning(f"Listen key keep-alive attempt {attempt}/{attempts} failed: {error!r}")
            if attempt < attempts:
                await self._sleep(CONSTANTS.LISTEN_KEY_RETRY_DELAY)
        self.logger().error("Could not keep the listen key alive; reconnecting with a fresh listen key.")
        return False

    # ------------------------------------------------------------------------------------------------ WebSocket
    async def _connected_websocket_assistant(self) -> WSAssistant:
        """The private URL carries the listen key and the user's account group (§1.2)."""
        ws = await self._api_factory.get_ws_assistant()
        url = web_utils.private_ws_url(self._listen_key, self._connector.account_group, self._domain)
        await ws.connect(ws_url=url, ping_timeout=CONSTANTS.WS_HEARTBEAT_INTERVAL)
        return ws

    async def _subscribe_channels(self, websocket_assistant: WSAssistant):
        """§5.4: SUBSCRIBE `account_private` once connected."""
        await self._send(websocket_assistant, CONSTANTS.WS_SUBSCRIBE_METHOD, [CONSTANTS.WS_ACCOUNT_PRIVATE_CHANNEL])
        self.logger().info("Subscribed to the Vest account_private channel.")

    async def _send(self, ws: WSAssistant, method: str, params: list):
        await ws.send(web_utils.ws_request(method, params, next(self._request_ids)))

    async def _read_until_disconnected(self, ws: WSAssistant, output: asyncio.Queue):
        """Reads events while PINGs (§5.2) and listen-key keep-alives run; whichever ends first ends the
        connection, and its error, if any, propagates."""
        await web_utils.run_until_first_ends(self._process_websocket_messages(ws, output),
                                             self._ping_periodically(ws), self._keep_listen_key_alive())

    async def _ping_periodically(self, ws: WSAssistant):
        """A first PING at once (its PONG marks the stream as live), then one every WS_PING_INTERVAL."""
        while True:
            await self._send(ws, CONSTANTS.WS_PING_METHOD, [])
            await self._sleep(CONSTANTS.WS_PING_INTERVAL)

    async def _process_websocket_messages(self, websocket_assistant: WSAssistant, queue: asyncio.Queue):
        async for response in websocket_assistant.iter_messages():
            self._last_recv_time = self._time()
            self._received_message = True
            self._forward(response.data, queue)

    def _forward(self, frame: Any, queue: asyncio.Queue):
        """`account_private` messages go to the queue whole; PONG and acks are consumed (§5.2); each malformed
        frame is logged in one warning line and skipped; another channel is warned about the first time, then
        logged at debug level."""
        try:
            message = decode_frame(frame)
            if is_control_reply(message):
                return
            channel, _ = parse_channel_message(message)
        except VestMessageError as error:
            self.logger().warning(f"Skipping malformed private websocket frame: {error}")
            return
        if channel == CONSTANTS.WS_ACCOUNT_PRIVATE_CHANNEL:
            queue.put_nowait(message)
        elif channel in self._reported_channels:
            self.logger().debug(f"Ignoring a message of unexpected private channel {channel}.")
        else:
            self._reported_channels.add(channel)
            self.logger().warning(f"Ignoring messages of unexpected private channel {channel}.")
