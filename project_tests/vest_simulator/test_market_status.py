"""Halted markets and market hours: `set_market_status`, the `market_hours` session model, `halt_flag_in` (where a
halt shows) and `closed_market_reply` (1148 or a later 3024). docs/vest-protocol.md §2.1, §2.2, §5.3, §7.13."""
from __future__ import annotations

import unittest
from decimal import Decimal
from typing import Any, Dict, List, Tuple

import aiohttp

from vest_simulator import Faults, VestError
from vest_simulator.engine import Engine
from vest_simulator.faults import session_open
from vest_simulator.market import DAY_MS
from vest_simulator.models import Order
from vest_simulator.schema import OrderRequest

from .base import SimTestCase
from .signing import PRIMARY_ADDRESS, PRIMARY_KEY, SIGNING_KEY, order_body
from .test_market_engine import Clock, make_market

AAPL = "AAPL-USD-PERP"
OPEN_S, CLOSE_S = 13 * 3600 + 30 * 60, 20 * 3600  # 13:30-20:00 UTC
MINUTE_MS = 60_000


def next_monday_ms(now_ms: int) -> int:
    """00:00 UTC of a Monday at least one day after `now_ms` (1970-01-01 was a Thursday)."""
    day = now_ms // DAY_MS + 1
    while (day + 3) % 7:
        day += 1
    return day * DAY_MS


class StatusTestCase(SimTestCase):
    async def tickers_ws(self) -> aiohttp.ClientWebSocketResponse:
        ws = await self.ws_connect()
        await ws.send_json({"method": "SUBSCRIBE", "params": ["tickers"], "id": 1})
        self.assertEqual({"result": None, "id": 1}, await self.recv(ws))
        return ws

    async def pushed_status(self, ws: aiohttp.ClientWebSocketResponse, symbol: str, status: str) -> Dict[str, Any]:
        """The next `tickers` push showing `symbol` with `status` (fails after the wait timeout)."""
        message = await self.recv_until(ws, lambda m: m.get("channel") == "tickers" and any(
            t["symbol"] == symbol and t["status"] == status for t in m["data"]))
        return next(t for t in message["data"] if t["symbol"] == symbol)

    async def ticker_status(self, symbol: str) -> str:
        status, body = await self.call("GET", "/ticker/latest", params={"symbols": symbol}, auth=False)
        self.assertEqual(200, status, body)
        return body["tickers"][0]["status"]

    async def info_row(self, symbol: str) -> Dict[str, Any]:
        status, body = await self.call("GET", "/exchangeInfo", params={"symbols": symbol}, auth=False)
        self.assertEqual(200, status, body)
        return body["symbols"][0]

    async def aapl_market_buy(self) -> Tuple[int, Any]:
        return await self.place(symbol=AAPL, size="1.00", limit_price="250.00")


class SetMarketStatusTests(StatusTestCase):
    async def test_halt_and_resume_take_effect_at_once(self) -> None:
        ws = await self.tickers_ws()
        self.assertEqual("HALT", self.sim.set_market_status("SOL-PERP", "HALT"))
        self.assertEqual("HALT", (await self.pushed_status(ws, "SOL-PERP", "HALT"))["status"])  # no tick needed
        self.assertEqual("HALT", await self.ticker_status("SOL-PERP"))
        self.assertEqual("TRADING", await self.ticker_status("BTC-PERP"))
        self.assertEqual(("HALT", "TRADING"), (self.sim.market_status("SOL-PERP"), self.sim.market_status("BTC-PERP")))
        self.assert_error(await self.place(symbol="SOL-PERP", size="1.00", limit_price="200.000"), 1148)
        self.sim.faults.reset()  # a halt by hand is venue state, not a fault
        self.assertEqual("HALT", await self.ticker_status("SOL-PERP"))
        self.assertEqual("TRADING", self.sim.set_market_status("SOL-PERP", "TRADING"))
        await self.pushed_status(ws, "SOL-PERP", "TRADING")
        self.assertEqual("TRADING", await self.ticker_status("SOL-PERP"))
        self.assertEqual(200, (await self.place(symbol="SOL-PERP", size="1.00", limit_price="200.000"))[0])
        with self.assertRaises(KeyError):
            self.sim.set_market_status("NOPE-PERP", "HALT")
        with self.assertRaises(ValueError):
            self.sim.set_market_status("SOL-PERP", "CLOSED")

    async def test_trading_lifts_the_fault_halt_too(self) -> None:
        self.sim.faults.set(halted_symbols=["ETH-PERP", "SOL-PERP"])
        self.assertEqual("TRADING", self.sim.set_market_status("ETH-PERP", "TRADING"))
        self.assertEqual({"SOL-PERP"}, self.sim.faults.halted_symbols)
        self.assertEqual("TRADING", await self.ticker_status("ETH-PERP"))

    async def test_positions_stay_and_resting_limits_wait_while_halted(self) -> None:
        await self.place_ok(size="0.0100")  # a long position
        resting = await self.place_ok(order_type="LIMIT", limit_price="64000.0")
        to_cancel = await self.place_ok(order_type="LIMIT", limit_price="63000.0")
        self.sim.set_market_status("BTC-PERP", "HALT")
        self.sim.set_index_price("BTC-PERP", Decimal("63500"))  # crosses the resting buy at 64000
        self.sim.step()
        self.sim.advance_clock(60)
        self.assertEqual("NEW", self.order(resting)["status"])
        self.assertEqual({"BTC-PERP": Decimal("0.0100")}, self.sim.positions(PRIMARY_ADDRESS))
        account = (await self.call("GET", "/account", params={"time": self.sim.now_ms()}))[1]
        self.assertEqual([("BTC-PERP", "0.0100")], [(p["symbol"], p["size"]) for p in account["positions"]])
        self.assertEqual((200, {"id": to_cancel}), await self.cancel(to_cancel))  # cancels still work
        self.assertEqual("CANCELLED", self.order(to_cancel)["status"])
        self.sim.set_market_status("BTC-PERP", "TRADING")  # the crossed LIMIT executes at once
        self.assertEqual("FILLED", self.order(resting)["status"])
        self.assertEqual({"BTC-PERP": Decimal("0.0200")}, self.sim.positions(PRIMARY_ADDRESS))

    async def test_rejected_3024_reading(self) -> None:
        self.sim.faults.set(closed_market_reply="rejected_3024")
        ws = await self.private_ws()
        self.sim.set_market_status("ETH-PERP", "HALT")
        nonce = self.nonce()
        status, body = await self.place(symbol="ETH-PERP", size="0.100", limit_price="4000.00", nonce=nonce)
        self.assertEqual(200, status, body)  # accepted with an id ...
        self.assertEqual("NEW", (await self.next_order_event(ws))["status"])
        await self.settle()
        rejected = await self.next_order_event(ws)  # ... then rejected by the engine
        self.assertEqual({"id": body["id"], "status": "REJECTED", "code": 3024},
                         {k: rejected[k] for k in ("id", "status", "code")})
        self.assertEqual(("REJECTED", 3024), (self.order(body["id"])["status"], self.order(body["id"])["code"]))
        self.assert_error(await self.place(symbol="ETH-PERP", size="0.200", limit_price="4000.00", nonce=nonce), 3015)
        limit = await self.place_ok(symbol="ETH-PERP", size="0.100", order_type="LIMIT", limit_price="3000.00")
        self.assertEqual(("REJECTED", 3024), (self.order(limit)["status"], self.order(limit)["code"]))

    async def test_control_route(self) -> None:
        base = f"http://{self.sim.host}:{self.sim.port}/_sim/market_status"
        async with self.session.post(base, json={"symbol": "kBONK-PERP", "status": "HALT"}) as resp:
            self.assertEqual((200, {"symbol": "kBONK-PERP", "status": "HALT"}), (resp.status, await resp.json()))
        async with self.session.get(base) as resp:
            statuses = await resp.json()
        self.assertEqual(("HALT", "TRADING"), (statuses["kBONK-PERP"], statuses["BTC-PERP"]))
        async with self.session.post(base, json={"symbol": "kBONK-PERP", "status": "OPEN"}) as resp:
            self.assertEqual(400, resp.status)
        async with self.session.post(base, json={"symbol": "kBONK-PERP", "status": "TRADING"}) as resp:
            self.assertEqual("TRADING", (await resp.json())["status"])


class HaltFlagTests(StatusTestCase):
    async def test_each_flag_location(self) -> None:
        ws = await self.tickers_ws()
        self.sim.set_market_status("SOL-PERP", "HALT")
        expected = {"ticker": ("HALT", "TRADING"), "exchange_info": ("TRADING", "HALT"), "both": ("HALT", "HALT")}
        for where, (in_ticker, in_info) in expected.items():
            self.sim.faults.set(halt_flag_in=where)
            self.sim.step()
            pushed = await self.pushed_status(ws, "SOL-PERP", in_ticker)
            self.assertEqual(in_ticker, pushed["status"], where)
            self.assertEqual(in_ticker, await self.ticker_status("SOL-PERP"), where)
            self.assertEqual(in_info, (await self.info_row("SOL-PERP"))["tradingStatus"], where)
            self.assert_error(await self.place(symbol="SOL-PERP", size="1.00", limit_price="200.000"), 1148)
            self.assertEqual("TRADING", (await self.info_row("BTC-PERP"))["tradingStatus"], where)

    async def test_documented_exchange_info_fields(self) -> None:
        self.sim.faults.set(exchange_info_fields="documented")
        row = await self.info_row("BTC-PERP")
        self.assertEqual({"symbol", "displayName", "base", "quote", "sizeDecimals", "priceDecimals", "initMarginRatio",
                          "maintMarginRatio", "takerFee", "isolated"}, set(row))
        self.sim.faults.set(halt_flag_in="exchange_info")  # a halt must show somewhere: tradingStatus comes back
        self.sim.set_market_status("BTC-PERP", "HALT")
        self.assertEqual("HALT", (await self.info_row("BTC-PERP"))["tradingStatus"])
        self.assertNotIn("asset", await self.info_row("BTC-PERP"))


class MarketHoursTests(StatusTestCase):
    async def test_market_closes_and_reopens_as_the_clock_moves(self) -> None:
        day = next_monday_ms(self.sim.now_ms())
        self.sim.faults.set(market_hours={AAPL: (OPEN_S, CLOSE_S)})
        self.sim.set_clock(day + OPEN_S * 1000 - MINUTE_MS)  # 13:29
        self.assertEqual(("HALT", "TRADING"), (self.sim.market_status(AAPL), self.sim.market_status("BTC-PERP")))
        self.assertEqual("HALT", await self.ticker_status(AAPL))
        self.assert_error(await self.aapl_market_buy(), 1148)
        ws = await self.tickers_ws()
        self.sim.advance_clock(120)  # 13:31: open; the change is pushed without a tick
        await self.pushed_status(ws, AAPL, "TRADING")
        status, body = await self.aapl_market_buy()
        self.assertEqual(200, status, body)
        await self.settle()
        self.assertEqual("FILLED", self.order(body["id"])["status"])
        resting = await self.place_ok(symbol=AAPL, size="1.00", order_type="LIMIT", limit_price="220.00")
        self.sim.set_clock(day + CLOSE_S * 1000 - MINUTE_MS)  # 19:59
        self.assertEqual("TRADING", await self.ticker_status(AAPL))
        self.sim.advance_clock(120)  # 20:01: closed
        await self.pushed_status(ws, AAPL, "HALT")
        self.assert_error(await self.aapl_market_buy(), 1148)
        self.sim.set_index_price(AAPL, Decimal("210.00"))  # crosses the resting buy while closed
        self.assertEqual("NEW", self.order(resting)["status"])
        self.assertEqual({AAPL: Decimal("1.00")}, self.sim.positions(PRIMARY_ADDRESS))  # the position stays
        self.assertEqual("HALT", self.sim.set_market_status(AAPL, "HALT"))  # a halt by hand on top of the hours
        self.assertEqual("HALT", self.sim.set_market_status(AAPL, "TRADING"))  # lifted, but still outside its hours
        self.sim.set_clock(day + DAY_MS + OPEN_S * 1000 + MINUTE_MS)  # Tuesday 13:31: open, the LIMIT executes
        await self.pushed_status(ws, AAPL, "TRADING")
        self.assertEqual("FILLED", self.order(resting)["status"])
        self.sim.faults.reset()  # no hours: open around the clock
        self.sim.set_clock(day + DAY_MS + CLOSE_S * 1000 + MINUTE_MS)
        self.assertEqual("TRADING", await self.ticker_status(AAPL))

    async def test_hours_through_the_control_routes(self) -> None:
        day = next_monday_ms(self.sim.now_ms())
        admin = f"http://{self.sim.host}:{self.sim.port}/_sim/"
        async with self.session.post(admin + "faults", json={"market_hours": {AAPL: [OPEN_S, CLOSE_S, [0, 1]]}}) as r:
            self.assertEqual({AAPL: [OPEN_S, CLOSE_S, [0, 1]]}, (await r.json())["market_hours"])
        async with self.session.post(admin + "clock", json={"timeMs": day + 14 * 3_600_000}) as resp:
            self.assertLess(abs((await resp.json())["time"] - (day + 14 * 3_600_000)), 1000)
        self.assertEqual("TRADING", await self.ticker_status(AAPL))  # Monday 14:00
        self.sim.set_clock(day + 2 * DAY_MS + 14 * 3_600_000)  # Wednesday 14:00: not one of its days
        self.assertEqual("HALT", await self.ticker_status(AAPL))
        async with self.session.post(admin + "faults", json={"market_hours": {AAPL: [OPEN_S, OPEN_S]}}) as resp:
            self.assertEqual(400, resp.status)


class SessionTests(unittest.TestCase):
    def test_windows_weekdays_and_validation(self) -> None:
        monday = next_monday_ms(0)

        def at(day: int, hour: float) -> int:
            return monday + day * DAY_MS + int(hour * 3_600_000)

        regular = (OPEN_S, CLOSE_S)
        self.assertEqual([False, True, True, False], [session_open(regular, at(0, h)) for h in (13.49, 13.5, 19.99, 20)])
        overnight = (22 * 3600, 21 * 3600)  # 22:00 until 21:00 the next day
        self.assertEqual([True, True, False, True], [session_open(overnight, at(2, h)) for h in (3, 20.9, 21.5, 22)])
        weekdays = (OPEN_S, CLOSE_S, (0, 1, 2, 3, 4))
        self.assertEqual([True, True, False, False], [session_open(weekdays, at(d, 14)) for d in (0, 4, 5, 6)])
        whole_day = (0, 86_400)
        self.assertTrue(all(session_open(whole_day, at(0, h)) for h in (0, 12, 23.99)))
        faults = Faults().set(market_hours={AAPL: [OPEN_S, CLOSE_S, [4, 0, 0]]})
        self.assertEqual({AAPL: (OPEN_S, CLOSE_S, (0, 4))}, faults.market_hours)
        for bad in ({AAPL: (1, 1)}, {AAPL: (0, 90_000)}, {AAPL: (86_400, 10)}, {AAPL: (1, 2, [7])}, {AAPL: (1, 2, [])},
                    {AAPL: 5}, {AAPL: ("9:30", "16:00")}, [AAPL]):
            with self.assertRaises(ValueError, msg=bad):
                faults.set(market_hours=bad)
            self.assertEqual({AAPL: (OPEN_S, CLOSE_S, (0, 4))}, faults.market_hours)  # a refused change changes nothing
        self.assertFalse(faults.in_session(AAPL, at(5, 14)))
        self.assertTrue(faults.in_session("BTC-PERP", at(5, 14)))


class HaltSequencingEngineTests(unittest.TestCase):
    """The engine with an injected clock: what a halt does to orders already accepted."""

    def setUp(self) -> None:
        self.clock = Clock()
        self.market = make_market(self.clock)
        self.faults = Faults()
        self.engine = Engine(self.market, self.clock, seed=1, faults=self.faults)
        self.events: List[Tuple[str, dict]] = []
        self.engine.on_private = lambda primary, event, args: self.events.append((event, args))
        self.acct, *_ = self.engine.create_account(SIGNING_KEY, PRIMARY_KEY, Decimal("100000"), 0, None)
        self.nonce = 0

    def accept(self, order_type: str = "MARKET", limit: str = "90000.0", **extra: Any) -> Order:
        self.nonce += 1
        body = order_body(SIGNING_KEY, time=self.clock.now, nonce=self.nonce, order_type=order_type,
                          limit_price=limit, **extra)
        return self.acct.orders[self.engine.place_order(self.acct, OrderRequest.parse(body))]

    def test_orders_accepted_before_a_halt(self) -> None:
        self.assertIs(self.faults, self.market.faults)  # one set of switches for engine and market
        market = self.accept()
        gtc = self.accept("LIMIT", "64000.0")
        fok = self.accept("LIMIT", "64000.0", time_in_force="FOK")
        self.market.halt("BTC-PERP")
        self.engine.process_pending()
        self.assertEqual([("REJECTED", 3024), ("NEW", None), ("REJECTED", 3024)],
                         [(o.status, o.code) for o in (market, gtc, fok)])
        self.market.set_index("BTC-PERP", Decimal("63000"))
        self.engine.check_triggers()
        self.assertEqual("NEW", gtc.status)
        self.market.resume("BTC-PERP")
        self.engine.check_triggers()
        self.assertEqual("FILLED", gtc.status)

    def test_partial_fills_wait_while_halted(self) -> None:
        self.faults.set(partial_fill_chunks=2)
        order = self.accept()
        self.engine.process_pending()
        self.assertEqual(("PARTIALLY_FILLED", Decimal("0.0050")), (order.status, order.filled_size))
        self.faults.set(halted_symbols=["BTC-PERP"])
        self.engine.check_triggers()
        self.assertEqual(Decimal("0.0050"), order.filled_size)
        self.faults.set(halted_symbols=[])
        self.engine.check_triggers()
        self.assertEqual("FILLED", order.status)

    def test_hours_follow_the_injected_clock(self) -> None:
        self.clock.now = next_monday_ms(self.clock.now) + OPEN_S * 1000 - 1000
        self.faults.set(market_hours={"BTC-PERP": (OPEN_S, CLOSE_S)})
        self.assertEqual("HALT", self.market.status("BTC-PERP"))
        with self.assertRaises(VestError) as refused:
            self.accept()
        self.assertEqual(1148, refused.exception.code)
        self.clock.now += 1000
        self.assertEqual("TRADING", self.market.status("BTC-PERP"))
        order = self.accept()
        self.engine.process_pending()
        self.assertEqual("FILLED", order.status)

    def test_orders_of_other_clients(self) -> None:
        self.market.halt("ETH-PERP")
        with self.assertRaises(VestError) as refused:
            self.engine.place_external_order(self.acct, "ETH-PERP", True, "0.100", "MARKET", None)
        self.assertEqual(1148, refused.exception.code)
        self.faults.set(closed_market_reply="rejected_3024")
        order_id = self.engine.place_external_order(self.acct, "ETH-PERP", True, "0.100", "LIMIT", "3000.00")
        self.engine.process_pending()
        self.assertEqual(("REJECTED", 3024), (self.acct.orders[order_id].status, self.acct.orders[order_id].code))
        self.assertEqual(["NEW", "REJECTED"], [a["status"] for e, a in self.events if e == "ORDER"])
