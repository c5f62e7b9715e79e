"""Shared fixture: a simulator on a free loopback port (manual ticks) plus an aiohttp client session."""
from __future__ import annotations

import asyncio
import json
import unittest
from decimal import Decimal
from typing import Any, Callable, Dict, Optional, Tuple

import aiohttp
import brotli

from vest_simulator import VestSimulator

from .signing import PRIMARY_KEY, SIGNING_KEY, cancel_body, order_body

WAIT_TIMEOUT = 3.0
PUBLIC_QUERY = "version=1.0&xwebsocketserver=restserver0"


def decode_frame(msg: aiohttp.WSMessage) -> Any:
    """Text, UTF-8 binary or Brotli binary frames (docs/vest-protocol.md §5.1)."""
    if msg.type == aiohttp.WSMsgType.TEXT:
        return json.loads(msg.data)
    try:
        return json.loads(msg.data.decode())
    except (UnicodeDecodeError, ValueError):
        return json.loads(brotli.decompress(msg.data).decode())


class SimTestCase(unittest.IsolatedAsyncioTestCase):
    sim_kwargs: Dict[str, Any] = {}

    async def asyncSetUp(self) -> None:
        kwargs = {"seed": 7, "tick_interval": None, "history_minutes": 180, **self.sim_kwargs}
        self.sim = await VestSimulator(**kwargs).start()
        self.session = aiohttp.ClientSession()
        self.acct = self.sim.create_account(signing_private_key=SIGNING_KEY, primary_private_key=PRIMARY_KEY,
                                            balance=Decimal("10000"))
        self._nonce = self.sim.now_ms()
        self._sockets: list = []

    async def asyncTearDown(self) -> None:
        for ws in self._sockets:
            await ws.close()
        await self.session.close()
        await self.sim.stop()

    # ---- REST ----------------------------------------------------------------------------------------------
    def headers(self, acct: Any = None, group: Optional[str] = None) -> Dict[str, str]:
        acct = acct or self.acct
        return {"X-API-KEY": acct.api_key, "xrestservermm": group or f"restserver{acct.account_group}"}

    async def call(self, method: str, path: str, *, params: Optional[dict] = None, body: Any = None,
                   headers: Optional[Dict[str, str]] = None, auth: bool = True) -> Tuple[int, Any]:
        if headers is None:
            headers = self.headers() if auth else {"xrestservermm": "restserver0"}
        async with self.session.request(method, self.sim.rest_url + path, params=params, json=body,
                                        headers=headers) as resp:
            text = await resp.text()
            try:
                return resp.status, json.loads(text)
            except ValueError:
                return resp.status, text

    def nonce(self) -> int:
        self._nonce += 1
        return self._nonce

    async def place(self, key: str = SIGNING_KEY, acct: Any = None, **order: Any) -> Tuple[int, Any]:
        order.setdefault("time", self.sim.now_ms())
        order.setdefault("nonce", self.nonce())
        return await self.call("POST", "/orders", body=order_body(key, **order), headers=self.headers(acct))

    async def place_ok(self, **order: Any) -> str:
        status, body = await self.place(**order)
        self.assertEqual(200, status, body)
        await self.settle()
        return body["id"]

    async def cancel(self, order_id: str, key: str = SIGNING_KEY) -> Tuple[int, Any]:
        time, nonce = self.sim.now_ms(), self.nonce()
        return await self.call("POST", "/orders/cancel", params={"time": time, "nonce": nonce},
                               body=cancel_body(key, time=time, nonce=nonce, order_id=order_id))

    async def settle(self) -> None:
        """Let the scheduled order processing run (it is queued with loop.call_soon after the response)."""
        await asyncio.sleep(0)
        self.sim.engine.process_pending()

    def order(self, order_id: str) -> Dict[str, Any]:
        return next(o for o in self.sim.orders(self.acct.primary_address) if o["id"] == order_id)

    def assert_error(self, result: Tuple[int, Any], code: int, status: int = 400) -> None:
        self.assertEqual((status, code), (result[0], result[1].get("code") if isinstance(result[1], dict) else None),
                         result)

    # ---- WS ------------------------------------------------------------------------------------------------
    async def ws_connect(self, query: str = PUBLIC_QUERY) -> aiohttp.ClientWebSocketResponse:
        ws = await self.session.ws_connect(f"{self.sim.ws_url}?{query}")
        self._sockets.append(ws)
        return ws

    async def private_ws(self, acct: Any = None) -> aiohttp.ClientWebSocketResponse:
        status, body = await self.call("POST", "/account/listenKey", headers=self.headers(acct))
        self.assertEqual(200, status)
        group = (acct or self.acct).account_group
        ws = await self.ws_connect(f"version=1.0&xwebsocketserver=restserver{group}"
                                   f"&websocketserver=restserver{group}&listenKey={body['listenKey']}")
        await ws.send_json({"method": "SUBSCRIBE", "params": ["account_private"], "id": 1})
        self.assertEqual({"result": None, "id": 1}, await self.recv(ws))
        return ws

    async def recv(self, ws: aiohttp.ClientWebSocketResponse, timeout: float = WAIT_TIMEOUT) -> Any:
        msg = await ws.receive(timeout=timeout)
        if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
            raise ConnectionError(f"closed {ws.close_code}")
        return decode_frame(msg)

    async def recv_until(self, ws: aiohttp.ClientWebSocketResponse, predicate: Callable[[Any], bool],
                         timeout: float = WAIT_TIMEOUT) -> Any:
        async def loop() -> Any:
            while True:
                message = await self.recv(ws, timeout)
                if predicate(message):
                    return message
        return await asyncio.wait_for(loop(), timeout)

    async def next_order_event(self, ws: aiohttp.ClientWebSocketResponse) -> Dict[str, Any]:
        message = await self.recv_until(ws, lambda m: m.get("channel") == "account_private"
                                        and m["data"]["event"] == "ORDER")
        return message["data"]["args"]

    async def close_code(self, ws: aiohttp.ClientWebSocketResponse, timeout: float = WAIT_TIMEOUT) -> Optional[int]:
        """Read until the server closes; returns the code of the server's close frame."""
        async def loop() -> Optional[int]:
            while True:
                msg = await ws.receive()
                if msg.type == aiohttp.WSMsgType.CLOSE:
                    return msg.data
                if msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
                    return ws.close_code
        return await asyncio.wait_for(loop(), timeout)
