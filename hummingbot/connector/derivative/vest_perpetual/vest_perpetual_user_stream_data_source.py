"""Vest private stream: the listen key and the `account_private` WebSocket, as hooks of Hummingbot's
`listen_for_user_stream`; events are queued as decoded `{"channel", "data"}` messages (§5.4).

Every (re)connection starts with `POST /account/listenKey` (§3.11), so no connection reuses a dead key (§5.1); a
failed keep-alive PUT is retried while the key is valid. `last_recv_time` is the last `account_private` message,
not the last PONG: PONGs prove the socket is open, not that events flow (Hummingbot polls often only then).
"""
import asyncio
import itertools
from typing import TYPE_CHECKING, Any, Optional, Set

from hummingbot.connector.derivative.vest_perpetual import (
    vest_perpetual_constants as CONSTANTS,
    vest_perpetual_web_utils as web_utils,
)
from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_messages import (
    VestAPIError,
    VestMessageError,
    parse_listen_key,
    parse_push,
)
from hummingbot.core.data_type.user_stream_tracker_data_source import UserStreamTrackerDataSource
from hummingbot.core.web_assistant.auth import AuthBase
from hummingbot.core.web_assistant.web_assistants_factory import WebAssistantsFactory
from hummingbot.core.web_assistant.ws_assistant import WSAssistant
from hummingbot.logger import HummingbotLogger

if TYPE_CHECKING:
    from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_derivative import VestPerpetualDerivative


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
        self._requests = web_utils.WSRequestSender()
        self._received_message = False
        self._reported_channels: Set[str] = set()
        self._has_subscribed = False
        self._reconnect_delay = web_utils.ReconnectDelay()
        self._last_event_time = 0.0
        self._listen_key_valid_until = 0.0  # LISTEN_KEY_LIFETIME_SECONDS after its last POST or PUT

    @property
    def last_recv_time(self) -> float:
        return self._last_event_time if self._ws_assistant is not None else 0.0

    async def reconnect(self, reason: str):
        """Ends the current connection (its loop opens a new one, then the connector polls for the gap)."""
        ws = self._ws_assistant
        if ws is not None:
            self.logger().warning(f"Reconnecting the private websocket: {reason}.")
            await ws.disconnect()

    async def _connected_websocket_assistant(self) -> WSAssistant:
        """The private URL carries a listen key and the account group (§1.2, §3.11). The reconnection delay is slept
        here, so that a cancelled stream ends at once."""
        delay = self._reconnect_delay.before_connecting(last_connection_was_healthy=self._received_message)
        if delay:
            self.logger().info(f"Reconnecting to the private websocket in {delay} s.")
            await self._sleep(delay)
        self._received_message = False
        try:
            self._listen_key = await self._request_listen_key()
        except web_utils.NETWORK_ERRORS as error:
            raise ConnectionError(f"Could not get a listen key: {error!r}") from error
        url = web_utils.private_ws_url(self._listen_key, self._connector.account_group, self._domain)
        return await web_utils.connected_ws_assistant(self._api_factory, url)

    async def _subscribe_channels(self, websocket_assistant: WSAssistant):
        """§5.4: events of a gap are lost for good (no replay), so after a reconnection the connector polls."""
        await self._requests.send(websocket_assistant, CONSTANTS.WS_SUBSCRIBE_METHOD,
                                  [CONSTANTS.WS_ACCOUNT_PRIVATE_CHANNEL])
        self.logger().info("Subscribed to the Vest account_private channel.")
        self._last_event_time = self._time()
        if self._has_subscribed:
            self._connector.resync_after_user_stream_gap()
        self._has_subscribed = True

    async def _send_ping(self, websocket_assistant: WSAssistant):
        """Vest's application PING (§5.2); its PONG marks the stream as live."""
        await self._requests.send(websocket_assistant, CONSTANTS.WS_PING_METHOD, [])

    async def _process_websocket_messages(self, websocket_assistant: WSAssistant, queue: asyncio.Queue):
        """Reads events while PINGs (§5.2) and listen-key keep-alives run; the first to end ends the connection."""
        await web_utils.run_until_first_ends(super()._process_websocket_messages(websocket_assistant, queue),
                                             self._requests.ping_periodically(websocket_assistant, self._sleep),
                                             self._keep_listen_key_alive())

    async def _process_event_message(self, event_message: Any, queue: asyncio.Queue):
        """`account_private` messages are queued whole; PONG and acks are consumed (§5.2); malformed frames and
        other channels are skipped with a warning (a channel's first message only)."""
        self._received_message = True
        try:
            push = parse_push(event_message)
        except VestMessageError as error:
            self.logger().warning(f"Skipping malformed private websocket frame: {error}")
            return
        if push is None:
            return
        channel, data = push
        if channel == CONSTANTS.WS_ACCOUNT_PRIVATE_CHANNEL:
            self._last_event_time = self._time()
            queue.put_nowait({"channel": channel, "data": data})
        elif channel in self._reported_channels:
            self.logger().debug(f"Ignoring a message of unexpected private channel {channel}.")
        else:
            self._reported_channels.add(channel)
            self.logger().warning(f"Ignoring messages of unexpected private channel {channel}.")

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

    async def _request_listen_key(self) -> str:
        response = await self._connector._api_post(path_url=CONSTANTS.LISTEN_KEY_PATH_URL, is_auth_required=True)
        listen_key = parse_listen_key(response)
        self._listen_key_valid_until = self._time() + CONSTANTS.LISTEN_KEY_LIFETIME_SECONDS
        return listen_key

    async def _keep_listen_key_alive(self):
        """Returns, which ends the connection, once the key must go (the reconnection POSTs for a valid one)."""
        while True:
            await self._sleep(CONSTANTS.LISTEN_KEY_KEEP_ALIVE_INTERVAL)
            if not await self._extend_listen_key():
                return

    async def _extend_listen_key(self) -> bool:
        """True once a PUT succeeds; False on 1125, or once the key is about to expire with every PUT failing."""
        for attempt in itertools.count(1):
            try:
                await self._connector._api_put(path_url=CONSTANTS.LISTEN_KEY_PATH_URL, is_auth_required=True)
                self._listen_key_valid_until = self._time() + CONSTANTS.LISTEN_KEY_LIFETIME_SECONDS
                return True
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if isinstance(error, VestAPIError) and error.code == CONSTANTS.ERROR_INVALID_LISTEN_KEY:
                    self.logger().warning(f"The listen key expired ({error}); reconnecting with a new one.")
                    return False
                valid_for = self._listen_key_valid_until - self._time()
                self.logger().warning(f"Listen key keep-alive attempt {attempt} failed: {error!r}; the key is "
                                      f"valid for {max(valid_for, 0):.0f} s more.")
            if self._listen_key_valid_until - self._time() <= CONSTANTS.LISTEN_KEY_EXPIRY_MARGIN_SECONDS:
                self.logger().error("Could not keep the listen key alive; reconnecting with a fresh listen key.")
                return False
            await self._sleep(CONSTANTS.LISTEN_KEY_RETRY_DELAY)
