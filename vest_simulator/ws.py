"""WebSocket hub for `/ws-api` (docs/vest-protocol.md §5, §7.7-7.8).

Connect: `version=1.0` (else close 4000); `xwebsocketserver` or `websocketserver` (`ws_group_param` may accept
only one spelling) = `restserver<g>` (missing or unknown group -> 4001, malformed -> 4002). Private streams pass `listenKey`: present but empty -> 4003 at connect,
unknown (or belonging to another account group) -> 4004, expired -> 4005; a connection without `listenKey` that
subscribes to `account_private` is closed with 4003. Private connections are closed with 4005 when their key
expires. Requests: PING -> {"data":"PONG"}; SUBSCRIBE / UNSUBSCRIBE -> {"result":null,"id":...} (unknown channels
are acknowledged and ignored). Every push is {"channel":..., "data":...}; frames follow `Faults.frame_mode`.
"""
from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Optional, Set

import brotli
from aiohttp import WSMsgType, web

from . import errors as E
from .faults import Faults
from .market import INTERVAL_MS

if TYPE_CHECKING:
    from .engine import Account, Engine

log = logging.getLogger(__name__)

GROUP_PATTERN = re.compile(r"^restserver(\d+)$")
PRIVATE_CHANNEL = "account_private"
MAX_QUEUED_MESSAGES = 50_000
CLOSE_TIMEOUT_S = 2.0  # how long a close handshake may take before the socket is aborted
CLOSE_WAIT_S = 0.1  # how long drop()/expiry sweeps wait for handshakes before returning


def parse_group(value: Optional[str], known: Set[int]) -> int:
    """`restserver<g>` -> g. Raises ValueError when malformed (WS 4002) and LookupError when missing or not a
    configured group (WS 4001); REST maps both to 1146."""
    if value is None:
        raise LookupError("missing")
    match = GROUP_PATTERN.match(value)
    if not match:
        raise ValueError("malformed")
    group = int(match.group(1))
    if group not in known:
        raise LookupError("unknown")
    return group


class Connection:
    """One client socket with its subscriptions and a send queue drained by a writer task."""

    def __init__(self, ws: web.WebSocketResponse, faults: Faults, account: Optional["Account"],
                 listen_key: Optional[str]) -> None:
        self.ws = ws
        self.faults = faults
        self.account = account
        self.listen_key = listen_key
        self.subscriptions: Set[str] = set()
        self.queue: "asyncio.Queue[Optional[str]]" = asyncio.Queue()
        self.writer = asyncio.ensure_future(self._write_loop())
        self._closing: Optional["asyncio.Future[None]"] = None
        self.silent = False  # open and answering requests, but carrying no channel message (`Hub.silence`)

    @property
    def private(self) -> bool:
        return self.listen_key is not None

    def send(self, message: str) -> None:
        if self.queue.qsize() >= MAX_QUEUED_MESSAGES:
            log.warning("ws client too slow, closing")
            self.close(E.WS_INTERNAL_ERROR, "client too slow")
            return
        self.queue.put_nowait(message)

    async def _write_loop(self) -> None:
        try:
            while True:
                message = await self.queue.get()
                if message is None or self.ws.closed:
                    return
                mode = self.faults.frame_mode
                if mode == "text":
                    await self.ws.send_str(message)
                elif mode == "binary":
                    await self.ws.send_bytes(message.encode())
                else:
                    await self.ws.send_bytes(brotli.compress(message.encode()))
        except (ConnectionError, RuntimeError, asyncio.CancelledError):
            return

    def close(self, code: int, reason: str = "") -> "asyncio.Future[None]":
        """Start the close handshake (idempotent); the returned task ends when the client answered or timed out."""
        if self._closing is None:
            self.queue.put_nowait(None)
            self._closing = asyncio.ensure_future(self._close(code, reason))
        return self._closing

    async def _close(self, code: int, reason: str) -> None:
        if not self.ws.closed:
            try:
                await self.ws.close(code=code, message=reason.encode())
            except (ConnectionError, RuntimeError):
                pass


class Hub:
    def __init__(self, engine: "Engine", faults: Faults) -> None:
        self.engine = engine
        self.faults = faults
        self.connections: Set[Connection] = set()
        self.subscribers: Dict[str, Set[Connection]] = {}  # channel -> its subscribed connections

    # ---- publishing ----------------------------------------------------------------------------------------
    def has_subscribers(self, channel: str) -> bool:
        return bool(self.subscribers.get(channel))

    def publish(self, channel: str, data: Any) -> None:
        """One push to the channel's subscribers (serialised once; nothing is rendered for an unheard channel)."""
        connections = self.subscribers.get(channel)
        if not connections:
            return
        message = json.dumps({"channel": channel, "data": data}, separators=(",", ":"))
        for conn in tuple(connections):
            if not conn.silent:
                conn.send(message)

    def has_private_listener(self, primary: str) -> bool:
        return any(c.account is not None and c.account.primary == primary for c in self.connections)

    def publish_private(self, primary: str, event: str, args: dict) -> None:
        """account_private event to every subscribed private connection of that account (drop/dup faults)."""
        message = None
        for conn in self.connections:
            if (conn.account is not None and conn.account.primary == primary and PRIVATE_CHANNEL in conn.subscriptions
                    and not conn.silent):
                if message is None:
                    message = json.dumps({"channel": PRIVATE_CHANNEL, "data": {"event": event, "args": args}},
                                         separators=(",", ":"))
                for _ in range(self.faults.private_event_copies()):
                    conn.send(message)

    def subscribed_channels(self) -> List[str]:
        return [channel for channel, connections in self.subscribers.items() if connections]

    # ---- lifecycle -----------------------------------------------------------------------------------------
    @staticmethod
    async def _await_closes(closing: List["asyncio.Future[None]"]) -> None:
        """Close frames go out at once; wait briefly for the handshakes without depending on slow readers."""
        if closing:
            await asyncio.wait(closing, timeout=CLOSE_WAIT_S)

    def silence(self, public: bool = True, private: bool = True) -> int:
        """The open connections of those kinds stay open and answer PING and (UN)SUBSCRIBE, but carry no channel
        message any more: a stream hung upstream of the socket. Connections opened later are normal. Returns how
        many."""
        silenced = [c for c in self.connections if (c.private and private) or (not c.private and public)]
        for conn in silenced:
            conn.silent = True
        return len(silenced)

    async def drop(self, public: bool = True, private: bool = True, code: int = E.WS_SERVICE_RESTART) -> int:
        victims = [c for c in self.connections if (c.private and private) or (not c.private and public)]
        await self._await_closes([c.close(code, "dropped by simulator") for c in victims])
        return len(victims)

    async def close_expired(self) -> None:
        """Close private connections whose listen key has expired (4005) or been deleted (4004)."""
        closing = []
        for conn in self.connections:
            if conn.private and not conn.ws.closed:
                _, state = self.engine.listen_key_state(conn.listen_key or "")
                if state != "active":
                    code = E.WS_LISTEN_KEY_EXPIRED if state == "expired" else E.WS_LISTEN_KEY_NOT_FOUND
                    closing.append(conn.close(code, "listen key expired"))
        await self._await_closes(closing)

    async def close_all(self) -> None:
        closing = [c.close(E.WS_SERVICE_RESTART, "shutdown") for c in list(self.connections)]
        if closing:
            await asyncio.wait(closing, timeout=CLOSE_TIMEOUT_S)

    def _valid_channel(self, channel: str) -> bool:
        if channel in ("tickers", PRIVATE_CHANNEL):
            return True
        symbol, _, kind = channel.partition("@")
        if symbol not in self.engine.market.states:
            return False
        return kind in ("depth", "trades") or (kind.startswith("kline_") and kind[6:] in INTERVAL_MS)

    def _subscribe(self, conn: Connection, channels: Iterable[str], on: bool) -> None:
        for channel in channels:
            if not isinstance(channel, str) or not self._valid_channel(channel):
                continue
            if on and channel not in conn.subscriptions:
                conn.subscriptions.add(channel)
                self.subscribers.setdefault(channel, set()).add(conn)
            elif not on and channel in conn.subscriptions:
                conn.subscriptions.discard(channel)
                subscribers = self.subscribers.get(channel)
                if subscribers is not None:
                    subscribers.discard(conn)
                    if not subscribers:
                        del self.subscribers[channel]

    # ---- the aiohttp handler -------------------------------------------------------------------------------
    def _admission(self, query: Any) -> tuple:
        """(close code or None, account, listen key) for a connection request."""
        if query.get("version") != "1.0":
            return E.WS_WRONG_VERSION, None, None
        accepted = self.faults.ws_group_param  # the page spells it both ways (§1.2): either, or one of them
        if accepted == "either":
            value = query.get("xwebsocketserver") or query.get("websocketserver")
        else:
            value = query.get(accepted)
        try:
            group = parse_group(value, self.engine.account_groups)
        except ValueError:
            return E.WS_ACCOUNT_GROUP_INVALID, None, None
        except LookupError:
            return E.WS_ACCOUNT_GROUP_NOT_FOUND, None, None
        if "listenKey" not in query:
            return None, None, None
        key = query["listenKey"]
        if not key:
            return E.WS_LISTEN_KEY_REQUIRED, None, None
        account, state = self.engine.listen_key_state(key)
        if state == "unknown" or account is None or account.group != group:
            return E.WS_LISTEN_KEY_NOT_FOUND, None, None
        if state == "expired":
            return E.WS_LISTEN_KEY_EXPIRED, None, None
        return None, account, key

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(timeout=CLOSE_TIMEOUT_S, max_msg_size=1 << 20)
        await ws.prepare(request)
        code, account, listen_key = self._admission(request.query)
        if code is not None:
            await ws.close(code=code, message=b"rejected")
            return ws
        conn = Connection(ws, self.faults, account, listen_key)
        self.connections.add(conn)
        try:
            async for msg in ws:
                if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                    await self._on_message(conn, msg.data)
        finally:
            self.connections.discard(conn)
            self._subscribe(conn, list(conn.subscriptions), on=False)
            conn.queue.put_nowait(None)
        return ws

    async def _on_message(self, conn: Connection, data: Any) -> None:
        try:
            request = json.loads(data)
            method = request.get("method")
        except (ValueError, AttributeError, UnicodeDecodeError):
            return
        if method == "PING":
            conn.send('{"data":"PONG"}')
        elif method in ("SUBSCRIBE", "UNSUBSCRIBE"):
            params = request.get("params") or []
            if method == "SUBSCRIBE" and PRIVATE_CHANNEL in params and not conn.private:
                conn.close(E.WS_LISTEN_KEY_REQUIRED, "listen key required")
                return
            self._subscribe(conn, params, on=method == "SUBSCRIBE")
            conn.send(json.dumps({"result": None, "id": request.get("id")}, separators=(",", ":")))
