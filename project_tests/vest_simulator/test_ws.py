"""WebSocket admission, close codes 4000-4005, requests and channels (docs/vest-protocol.md §5)."""
from __future__ import annotations

from decimal import Decimal

import aiohttp

from .base import SimTestCase


class AdmissionTests(SimTestCase):
    async def assert_closed(self, query: str, code: int) -> None:
        ws = await self.ws_connect(query)
        self.assertEqual(code, await self.close_code(ws), query)

    async def test_close_codes(self) -> None:
        await self.assert_closed("xwebsocketserver=restserver0", 4000)
        await self.assert_closed("version=2.0&xwebsocketserver=restserver0", 4000)
        await self.assert_closed("version=1.0", 4001)
        await self.assert_closed("version=1.0&xwebsocketserver=restserver42", 4001)
        await self.assert_closed("version=1.0&xwebsocketserver=server0", 4002)
        await self.assert_closed("version=1.0&websocketserver=restserverX", 4002)
        await self.assert_closed("version=1.0&xwebsocketserver=restserver0&listenKey=", 4003)
        await self.assert_closed("version=1.0&xwebsocketserver=restserver0&listenKey=" + "ab" * 16, 4004)
        key = (await self.call("POST", "/account/listenKey"))[1]["listenKey"]
        await self.assert_closed(f"version=1.0&xwebsocketserver=restserver1&listenKey={key}", 4004)  # other group
        self.sim.advance_clock(3601)
        await self.assert_closed(f"version=1.0&xwebsocketserver=restserver0&listenKey={key}", 4005)

    async def test_websocketserver_spelling_accepted(self) -> None:
        ws = await self.ws_connect("version=1.0&websocketserver=restserver0")
        await ws.send_json({"method": "PING", "params": [], "id": 5})
        self.assertEqual({"data": "PONG"}, await self.recv(ws))
        await ws.close()

    async def test_account_private_requires_listen_key(self) -> None:
        ws = await self.ws_connect()
        await ws.send_json({"method": "SUBSCRIBE", "params": ["account_private"], "id": 1})
        self.assertEqual(4003, await self.close_code(ws))

    async def test_listen_key_expiry_while_connected(self) -> None:
        ws = await self.private_ws()
        self.sim.advance_clock(30 * 60)
        await ws.send_json({"method": "PING", "params": [], "id": 2})
        self.assertEqual({"data": "PONG"}, await self.recv(ws))  # still alive after 30 min
        self.sim.advance_clock(31 * 60)
        self.assertEqual(4005, await self.close_code(ws))

    async def test_listen_key_delete_closes_stream(self) -> None:
        ws = await self.private_ws()
        self.assertEqual((200, {}), await self.call("DELETE", "/account/listenKey"))
        self.assertEqual(4004, await self.close_code(ws))


class ChannelTests(SimTestCase):
    async def subscribe(self, ws: aiohttp.ClientWebSocketResponse, *channels: str, request_id: int = 1) -> None:
        await ws.send_json({"method": "SUBSCRIBE", "params": list(channels), "id": request_id})
        self.assertEqual({"result": None, "id": request_id}, await self.recv(ws))

    async def test_public_channels(self) -> None:
        ws = await self.ws_connect()
        await self.subscribe(ws, "tickers", "BTC-PERP@depth", "BTC-PERP@kline_1m", "BTC-PERP@trades")
        self.sim.step()
        seen = {}
        while len(seen) < 3:
            message = await self.recv(ws)
            seen[message["channel"]] = message["data"]
        tickers = seen["tickers"]
        self.assertEqual(5, len(tickers))
        self.assertEqual({"symbol", "oneHrFundingRate", "cumFunding", "imbalance", "indexPrice", "markPrice",
                          "priceChange", "priceChangePercent", "status"}, set(tickers[0]))
        depth = seen["BTC-PERP@depth"]
        self.assertEqual((20, 20), (len(depth["bids"]), len(depth["asks"])))
        kline = seen["BTC-PERP@kline_1m"]
        self.assertEqual(9, len(kline))
        self.assertIsInstance(kline[8], str)  # numTrades is a string on WS
        await self.place_ok(is_buy=False, size="0.0300", limit_price="60000.0")
        trade = (await self.recv_until(ws, lambda m: m["channel"] == "BTC-PERP@trades"
                                       and m["data"]["qty"] == "-0.0300"))["data"]
        self.assertEqual({"id", "price", "qty", "quoteQty", "time"}, set(trade))

    async def test_unsubscribe_and_unknown_channels(self) -> None:
        ws = await self.ws_connect()
        await self.subscribe(ws, "ETH-PERP@depth", "NOPE@depth", "ETH-PERP@kline_7m")
        self.assertEqual(["ETH-PERP@depth"], self.sim.hub.subscribed_channels())
        await ws.send_json({"method": "UNSUBSCRIBE", "params": ["ETH-PERP@depth"], "id": 9})
        self.assertEqual({"result": None, "id": 9}, await self.recv(ws))
        self.sim.step()
        await ws.send_json({"method": "PING", "params": [], "id": 10})
        self.assertEqual({"data": "PONG"}, await self.recv(ws))  # nothing published in between
        await ws.send_str("not json")
        await ws.send_json({"method": "PING", "params": [], "id": 11})
        self.assertEqual({"data": "PONG"}, await self.recv(ws))

    async def test_private_events_only_to_owner(self) -> None:
        mine = await self.private_ws()
        other = self.sim.create_account(account_group=2)
        theirs = await self.private_ws(other)
        await self.place_ok()
        self.assertEqual("NEW", (await self.next_order_event(mine))["status"])
        self.assertEqual("FILLED", (await self.next_order_event(mine))["status"])
        self.sim.fund(other.primary_address, Decimal("1"))
        message = await self.recv(theirs)
        self.assertEqual("TRANSFER", message["data"]["event"])  # the first thing the other account sees

    async def test_drop_websockets(self) -> None:
        public = await self.ws_connect()
        private = await self.private_ws()
        self.assertEqual(1, await self.sim.drop_websockets(public=True, private=False, code=1011))
        self.assertEqual(1011, await self.close_code(public))
        self.assertEqual(1, await self.sim.drop_websockets())
        self.assertEqual(1012, await self.close_code(private))
