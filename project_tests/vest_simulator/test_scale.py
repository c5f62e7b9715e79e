"""Scale: 100 markets (`symbols=100`), push pacing (`push_interval`, `trade_probability`), 300 resting orders, and the
fast paths they rely on (integer depth ladder, lean `tickers` entries) checked against the plain Decimal model."""
from __future__ import annotations

import asyncio
import random
import time
import unittest
from decimal import Decimal
from typing import Dict, List, Set

import aiohttp

from vest_simulator import CATALOG, VestSimulator, scale_specs, synthetic_specs
from vest_simulator.__main__ import build_simulator, parse_args
from vest_simulator.market import (
    HALF_SPREAD,
    IMPACT,
    LADDER_LEVEL_SHARE,
    LADDER_LEVELS,
    Market,
    SymbolSpec,
    resolve_specs,
)
from vest_simulator.util import fmt, fmt_units, round_to, step

from .base import PUBLIC_QUERY, SimTestCase, decode_frame

SCALE = 100


def reference_depth(spec: SymbolSpec, mark: Decimal, limit: int) -> Dict[str, List[List[str]]]:
    """The ladder in Decimal arithmetic, as the simulator first computed it (market.py keeps the integer form)."""
    tick, min_size = step(spec.price_decimals), step(spec.size_decimals)
    level_notional = spec.liquidity_usd * LADDER_LEVEL_SHARE
    bids: List[List[str]] = []
    asks: List[List[str]] = []
    last_ask, last_bid = Decimal(0), None
    for i in range(min(limit, LADDER_LEVELS)):
        rel = HALF_SPREAD + IMPACT * LADDER_LEVEL_SHARE * i
        ask = max(round_to(mark * (1 + rel), spec.price_decimals, up=True), last_ask + tick)
        bid = round_to(mark * (1 - rel), spec.price_decimals, up=False)
        if last_bid is not None:
            bid = min(bid, last_bid - tick)
        last_ask, last_bid = ask, bid
        asks.append([fmt(ask, spec.price_decimals),
                     fmt(max(min_size, round_to(level_notional / ask, spec.size_decimals, up=False)),
                         spec.size_decimals)])
        if bid > 0:
            bids.append([fmt(bid, spec.price_decimals),
                         fmt(max(min_size, round_to(level_notional / bid, spec.size_decimals, up=False)),
                             spec.size_decimals)])
    return {"bids": bids, "asks": asks}


class ScaleModelTests(unittest.TestCase):
    def test_scale_specs(self) -> None:
        specs = scale_specs(SCALE)
        self.assertEqual(SCALE, len({s.symbol for s in specs}))
        self.assertEqual(list(CATALOG), [s.symbol for s in specs[:len(CATALOG)]])
        self.assertEqual(["SYN001-PERP", "SYN094-PERP"], [specs[len(CATALOG)].symbol, specs[-1].symbol])
        self.assertEqual(specs, scale_specs(SCALE))  # independent of any seed
        self.assertEqual(["BTC-PERP", "ETH-PERP"], [s.symbol for s in resolve_specs(2)])
        self.assertEqual(specs, resolve_specs(SCALE))
        first = synthetic_specs(4)
        self.assertEqual([(0, 5, "0.55000"), (1, 4, "6.0000"), (2, 3, "65.000"), (3, 2, "700.00")],
                         [(s.size_decimals, s.price_decimals, f"{s.start_price}") for s in first])
        self.assertEqual(("SYN001", "USDC", "Synthetic 1"), (first[0].base, first[0].quote, first[0].name))
        with self.assertRaises(ValueError):
            scale_specs(0)
        with self.assertRaises(ValueError):
            Market(resolve_specs(["BTC-PERP", "BTC-PERP"]), 1, lambda: 0, 5)
        with self.assertRaises(ValueError):
            Market(resolve_specs(1), 1, lambda: 0, 5, trade_probability=1.5)

    def test_depth_matches_the_decimal_ladder(self) -> None:
        rng = random.Random(5)
        specs = list(CATALOG.values()) + synthetic_specs(8)
        market = Market(specs, 3, lambda: 1_700_000_000_000, 5)
        for spec in specs:
            state = market.state(spec.symbol)
            marks = [state.mark, step(spec.price_decimals), step(spec.price_decimals) * 3]
            marks += [round_to(spec.start_price * Decimal(rng.uniform(0.01, 50)), spec.price_decimals, up=False)
                      + step(spec.price_decimals) for _ in range(12)]
            for mark in marks:
                state.mark = mark
                for limit in (1, 20, 100, 500):
                    self.assertEqual(reference_depth(spec, mark, limit), market.depth(spec.symbol, limit),
                                     (spec.symbol, mark, limit))

    def test_ws_ticker_is_latest_plus_24h_change(self) -> None:
        clock = [1_700_000_000_000]
        market = Market(resolve_specs(None), 4, lambda: clock[0], 90)
        for _ in range(3):
            for symbol in market.symbols:
                latest, day = market.ticker_latest(symbol), market.ticker_24hr(symbol)
                expected = {"symbol": symbol, "oneHrFundingRate": latest["oneHrFundingRate"],
                            "cumFunding": latest["cumFunding"], "imbalance": latest["imbalance"],
                            "indexPrice": latest["indexPrice"], "markPrice": latest["markPrice"],
                            "priceChange": day["priceChange"], "priceChangePercent": day["priceChangePercent"],
                            "status": latest["status"]}
                self.assertEqual(expected, market.ws_ticker(symbol))
            clock[0] += 61_000
            market.step()
        market.add_imbalance("BTC-PERP", Decimal("-3"))
        self.assertEqual("-3.0000", market.ws_ticker("BTC-PERP")["imbalance"])

    def test_fmt_units(self) -> None:
        for units, decimals in ((650065, 1), (5, 6), (0, 2), (-123, 2), (42, 0), (10 ** 20 + 7, 18)):
            self.assertEqual(fmt(Decimal(units).scaleb(-decimals), decimals), fmt_units(units, decimals))

    def test_cli_scale_options(self) -> None:
        args = parse_args(["--symbols", "100", "--push-interval", "0.5", "--trade-probability", "0.05",
                           "--history-minutes", "10", "--tick-interval", "0"])
        sim = build_simulator(args)
        self.assertEqual((SCALE, 0.5, 0.05, None), (len(sim.market.symbols), sim.push_interval,
                                                    sim.market.trade_probability, sim.tick_interval))
        self.assertEqual(["ETH-PERP"], build_simulator(parse_args(["--symbols", "ETH-PERP",
                                                                   "--history-minutes", "5"])).market.symbols)


class HundredSymbolTests(unittest.IsolatedAsyncioTestCase):
    async def test_starts_and_publishes_on_every_symbol(self) -> None:
        sim = VestSimulator(seed=11, symbols=SCALE, tick_interval=0.05, history_minutes=30, trade_probability=1.0)
        async with sim, aiohttp.ClientSession() as session:
            async with session.get(sim.rest_url + "/exchangeInfo") as resp:
                symbols = [row["symbol"] for row in (await resp.json())["symbols"]]
            self.assertEqual(sim.market.symbols, symbols)
            self.assertEqual(SCALE, len(symbols))
            async with session.get(sim.rest_url + "/depth", params={"symbol": symbols[-1]}) as resp:
                self.assertEqual(20, len((await resp.json())["asks"]))
            ws = await session.ws_connect(f"{sim.ws_url}?{PUBLIC_QUERY}")
            channels = ["tickers"] + [f"{s}@{kind}" for s in symbols for kind in ("depth", "trades")]
            await ws.send_json({"method": "SUBSCRIBE", "params": channels, "id": 1})
            seen: Dict[str, Set[str]] = {"depth": set(), "trades": set(), "tickers": set()}

            async def until_all_published() -> None:
                while any(len(names) < SCALE for names in seen.values()):
                    message = decode_frame(await ws.receive())
                    channel = message.get("channel")
                    if channel == "tickers":
                        seen["tickers"].update(row["symbol"] for row in message["data"])
                        self.assertEqual(SCALE, len(message["data"]))
                    elif channel:
                        symbol, _, kind = channel.partition("@")
                        seen[kind].add(symbol)
            await asyncio.wait_for(until_all_published(), 20)
            self.assertEqual({kind: set(symbols) for kind in seen}, seen)
            await ws.close()


class PushPacingTests(SimTestCase):
    sim_kwargs = {"push_interval": 3600.0, "trade_probability": 1.0, "symbols": ["BTC-PERP", "ETH-PERP"]}

    async def test_push_interval_spaces_snapshots_not_trades(self) -> None:
        ws = await self.ws_connect()
        await ws.send_json({"method": "SUBSCRIBE", "params": ["tickers", "BTC-PERP@depth", "BTC-PERP@trades"],
                            "id": 1})
        self.assertEqual({"result": None, "id": 1}, await self.recv(ws))
        for _ in range(4):
            self.sim.step()
        await asyncio.sleep(0.05)
        channels: List[str] = []
        while True:
            try:
                channels.append((await self.recv(ws, timeout=0.2))["channel"])
            except asyncio.TimeoutError:
                break
        self.assertEqual((1, 1, 4), (channels.count("tickers"), channels.count("BTC-PERP@depth"),
                                     channels.count("BTC-PERP@trades")))
        self.sim.set_market_status("ETH-PERP", "HALT")  # a status change is still pushed at once
        self.assertEqual("HALT", {r["symbol"]: r["status"] for r in (await self.recv(ws))["data"]}["ETH-PERP"])
        self.sim.push_interval = None
        self.sim.step()
        self.assertIn("BTC-PERP@depth", [(await self.recv(ws))["channel"] for _ in range(3)])


class RestingOrdersAtScaleTests(SimTestCase):
    sim_kwargs = {"symbols": SCALE, "history_minutes": 10}

    async def test_300_resting_orders_over_100_markets(self) -> None:
        self.sim.fund(self.acct.primary_address, Decimal("10000000"))
        market = self.sim.market
        placed: Dict[str, str] = {}
        for i in range(300):
            symbol = market.symbols[i % SCALE]
            spec, mark = market.spec(symbol), market.state(symbol).mark
            price = round_to(mark * Decimal("0.8"), spec.price_decimals, up=False)
            placed[self.sim.place_order(self.acct.primary_address, symbol, True, step(spec.size_decimals) * 10,
                                        limit_price=price)] = symbol
        await self.settle()
        started = time.perf_counter()
        for _ in range(20):
            self.sim.step()
        per_tick = (time.perf_counter() - started) / 20
        status, rows = await self.call("GET", "/orders", params={"status": "NEW", "limit": 1000})
        self.assertEqual((200, set(placed)), (status, {row["id"] for row in rows}))
        status, account = await self.call("GET", "/account")
        self.assertEqual(200, status)
        self.assertEqual(SCALE, len(account["leverages"]))
        crossed = market.symbols[7]
        self.sim.set_index_price(crossed, market.state(crossed).index * Decimal("0.5"))
        filled = {o["id"] for o in self.sim.orders(self.acct.primary_address) if o["status"] == "FILLED"}
        self.assertEqual({oid for oid, symbol in placed.items() if symbol == crossed}, filled)
        self.assertEqual(3, len(filled))
        self.assertLess(per_tick, 1.0, "a tick of 100 markets with 300 resting orders")  # a sanity bound only
