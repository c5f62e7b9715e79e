"""Admin routes under /_sim/ and the console entry point."""
from __future__ import annotations

import asyncio
import os
import sys
import unittest
from decimal import Decimal
from pathlib import Path
from typing import Any, Tuple

import aiohttp

from vest_simulator import VestSimulator
from vest_simulator.__main__ import parse_args

from .base import SimTestCase
from .signing import PRIMARY_ADDRESS

REPO_ROOT = Path(__file__).resolve().parents[2]


class ControlRouteTests(SimTestCase):
    async def admin(self, method: str, route: str, body: Any = None, **params: Any) -> Tuple[int, Any]:
        url = f"http://{self.sim.host}:{self.sim.port}/_sim/{route}"
        async with self.session.request(method, url, json=body, params=params or None) as resp:
            return resp.status, await resp.json()

    async def test_accounts_fund_price_clock_step(self) -> None:
        status, health = await self.admin("GET", "health")
        self.assertEqual((200, self.sim.rest_url), (status, health["restUrl"]))
        status, created = await self.admin("POST", "accounts", {"balance": "123", "accountGroup": 4})
        self.assertEqual(200, status)
        self.assertEqual(4, created["accountGroup"])
        headers = {"X-API-KEY": created["apiKey"], "xrestservermm": "restserver4"}
        self.assertEqual("123.000000", (await self.call("GET", "/account", headers=headers))[1]["collateral"])
        await self.admin("POST", "fund", {"address": created["primaryAddress"], "amount": "7"})
        self.assertEqual("130.000000", (await self.call("GET", "/account", headers=headers))[1]["collateral"])
        status, ticker = await self.admin("POST", "price", {"symbol": "ETH-PERP", "price": "4000"})
        self.assertEqual("4000.00", ticker["indexPrice"])
        before = self.sim.now_ms()
        status, clock = await self.admin("POST", "clock", {"advanceSeconds": 60})
        self.assertGreaterEqual(clock["time"], before + 60_000)
        status, clock = await self.admin("POST", "clock", {"offsetMs": -5000})
        self.assertEqual(-5000, clock["offsetMs"])
        status, stepped = await self.admin("POST", "step", {"count": 3})
        self.assertEqual(5, len(stepped["tickers"]))
        self.assertEqual(400, (await self.admin("POST", "price", {"symbol": "NOPE", "price": "1"}))[0])
        self.assertEqual(400, (await self.admin("POST", "accounts", {"accountGroup": 77}))[0])

    async def test_faults_stats_orders_fills(self) -> None:
        status, faults = await self.admin("POST", "faults", {"frame_mode": "binary", "seed": 5})
        self.assertEqual(("binary", 5), (faults["frame_mode"], faults["seed"]))
        self.assertEqual("binary", (await self.admin("GET", "faults"))[1]["frame_mode"])
        self.assertEqual(400, (await self.admin("POST", "faults", {"bogus": 1}))[0])
        self.assertEqual("text", (await self.admin("POST", "faults/reset"))[1]["frame_mode"])
        order_id = await self.place_ok()
        status, orders = await self.admin("GET", "orders", address=PRIMARY_ADDRESS)
        self.assertEqual([order_id], [o["id"] for o in orders])
        status, fills = await self.admin("GET", "fills")
        self.assertEqual((order_id, "0.0100"), (fills[0]["orderId"], fills[0]["size"]))
        status, stats = await self.admin("GET", "stats")
        self.assertIn({"method": "POST", "path": "/v2/orders", "count": 1}, stats["requestCounts"])
        self.assertEqual((1, 1), (stats["orders"], stats["fills"]))
        ws = await self.ws_connect()
        self.assertEqual({"dropped": 1}, (await self.admin("POST", "drop_websockets", {"code": 1011}))[1])
        self.assertEqual(1011, await self.close_code(ws))


class InProcessApiTests(unittest.IsolatedAsyncioTestCase):
    async def test_context_manager_and_background_ticker(self) -> None:
        async with VestSimulator(seed=3, symbols=["ETH-PERP", "EUR-USD-PERP"], tick_interval=0.02,
                                 history_minutes=30) as sim:
            self.assertTrue(sim.rest_url.startswith("http://127.0.0.1:") and sim.rest_url.endswith("/v2"))
            self.assertEqual(f"ws://127.0.0.1:{sim.port}/ws-api", sim.ws_url)
            start = sim.market.state("ETH-PERP").index

            async def moved() -> None:
                while sim.market.state("ETH-PERP").index == start:
                    await asyncio.sleep(0.01)
            await asyncio.wait_for(moved(), 3)
            acct = sim.create_account(balance=Decimal("5"))
            self.assertEqual([], sim.orders(acct.primary_address))
            self.assertEqual([], sim.fills(acct.primary_address))
        with self.assertRaises(ValueError):
            VestSimulator(symbols=["DOGE-PERP"])


class CliTests(unittest.IsolatedAsyncioTestCase):
    def test_parse_args_defaults(self) -> None:
        args = parse_args([])
        self.assertEqual(("127.0.0.1", 8765, 7, None), (args.host, args.port, args.seed, args.symbols))

    async def test_console_command_serves(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "vest_simulator", "--port", "0", "--seed", "2", "--symbols", "BTC-PERP",
            "--fund", f"{PRIMARY_ADDRESS}:100", "--log-level", "WARNING", stdout=asyncio.subprocess.PIPE, env=env)
        try:
            assert process.stdout is not None
            rest = (await asyncio.wait_for(process.stdout.readline(), 10)).decode().split()[-1]
            ws = (await asyncio.wait_for(process.stdout.readline(), 10)).decode().split()[-1]
            self.assertTrue(ws.startswith("ws://127.0.0.1:") and ws.endswith("/ws-api"))
            async with aiohttp.ClientSession() as session:
                async with session.get(rest + "/exchangeInfo") as resp:
                    self.assertEqual(["BTC-PERP"], [s["symbol"] for s in (await resp.json())["symbols"]])
                async with session.get(rest.replace("/v2", "/_sim/stats")) as resp:
                    self.assertEqual(1, (await resp.json())["accounts"])  # the --fund account
        finally:
            process.terminate()
            await asyncio.wait_for(process.wait(), 10)
