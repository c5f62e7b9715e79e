"""Public REST endpoints (docs/vest-protocol.md §2) over loopback."""
from __future__ import annotations

from decimal import Decimal

from vest_simulator.market import DAY_MS, MINUTE_MS

from .base import SimTestCase


class PublicRestTests(SimTestCase):
    async def test_exchange_info(self) -> None:
        status, body = await self.call("GET", "/exchangeInfo", auth=False)
        self.assertEqual(200, status)
        symbols = {s["symbol"]: s for s in body["symbols"]}
        self.assertEqual({"BTC-PERP", "ETH-PERP", "SOL-PERP", "kBONK-PERP", "AAPL-USD-PERP"}, set(symbols))
        btc = symbols["BTC-PERP"]
        self.assertEqual({"symbol": "BTC-PERP", "displayName": "BTC-PERP", "base": "BTC", "quote": "USDC",
                          "sizeDecimals": 4, "priceDecimals": 1, "initMarginRatio": "0.02", "maintMarginRatio": "0.01",
                          "takerFee": "0.0001", "isolated": False, "asset": "crypto", "tradingStatus": "TRADING"}, btc)
        self.assertEqual(("kBONK", 0, 6), (symbols["kBONK-PERP"]["base"], symbols["kBONK-PERP"]["sizeDecimals"],
                                           symbols["kBONK-PERP"]["priceDecimals"]))
        aapl = symbols["AAPL-USD-PERP"]
        self.assertEqual(("AAPL", "USDC", "stock"), (aapl["base"], aapl["quote"], aapl["asset"]))
        self.assertEqual(6, body["exchange"]["collateralDecimals"])
        self.assertEqual("1000000.000000", body["exchange"]["lp"])
        self.assertIsInstance(body["exchange"]["insurance"], str)
        status, body = await self.call("GET", "/exchangeInfo", params={"symbols": "ETH-PERP,SOL-PERP"}, auth=False)
        self.assertEqual(["ETH-PERP", "SOL-PERP"], [s["symbol"] for s in body["symbols"]])
        self.assert_error(await self.call("GET", "/exchangeInfo", params={"symbols": "NOPE-PERP"}, auth=False), 1121)

    async def test_group_header_rules_on_public_routes(self) -> None:
        status, _ = await self.call("GET", "/exchangeInfo", headers={})
        self.assertEqual(200, status)  # missing header tolerated on public routes
        for value in ("restserverX", "restserver99", "server0"):
            self.assert_error(await self.call("GET", "/exchangeInfo", headers={"xrestservermm": value}), 1146)

    async def test_ticker_latest(self) -> None:
        status, body = await self.call("GET", "/ticker/latest", params={"symbols": "BTC-PERP"}, auth=False)
        self.assertEqual(200, status)
        ticker = body["tickers"][0]
        self.assertEqual({"symbol", "markPrice", "indexPrice", "imbalance", "oneHrFundingRate", "cumFunding", "status"},
                         set(ticker))
        self.assertEqual("65000.0", ticker["indexPrice"])
        self.assertEqual("TRADING", ticker["status"])
        self.assertLess(abs(Decimal(ticker["markPrice"]) / Decimal("65000") - 1), Decimal("0.001"))

    async def test_ticker_24hr(self) -> None:
        status, body = await self.call("GET", "/ticker/24hr", auth=False)
        self.assertEqual(200, status)
        self.assertEqual(5, len(body["tickers"]))
        t = body["tickers"][0]
        for key in ("openPrice", "closePrice", "highPrice", "lowPrice", "quoteVolume", "volume", "priceChange",
                    "priceChangePercent"):
            self.assertIsInstance(t[key], str, key)
        self.assertEqual(DAY_MS, t["closeTime"] - t["openTime"])
        self.assertEqual(Decimal(t["closePrice"]) - Decimal(t["openPrice"]), Decimal(t["priceChange"]))
        self.assertLessEqual(Decimal(t["lowPrice"]), Decimal(t["highPrice"]))

    async def test_depth(self) -> None:
        status, body = await self.call("GET", "/depth", params={"symbol": "BTC-PERP"}, auth=False)
        self.assertEqual(200, status)
        self.assertEqual((20, 20), (len(body["bids"]), len(body["asks"])))
        bids = [Decimal(p) for p, _ in body["bids"]]
        asks = [Decimal(p) for p, _ in body["asks"]]
        self.assertEqual(sorted(bids, reverse=True), bids)
        self.assertEqual(sorted(asks), asks)
        self.assertLess(bids[0], asks[0])
        self.assertTrue(all(len(p.split(".")[1]) == 1 and len(q.split(".")[1]) == 4 for p, q in body["asks"]))
        status, body = await self.call("GET", "/depth", params={"symbol": "kBONK-PERP", "limit": 100}, auth=False)
        self.assertEqual(100, len(body["asks"]))
        self.assertNotIn(".", body["asks"][0][1])  # 0 size decimals
        for limit in (101, 0):
            self.assert_error(await self.call("GET", "/depth", params={"symbol": "BTC-PERP", "limit": limit},
                                              auth=False), 1130)
        self.assert_error(await self.call("GET", "/depth", params={"symbol": "XYZ-PERP"}, auth=False), 1121)
        status, body = await self.call("GET", "/depth", auth=False)
        self.assertEqual(422, status)
        self.assertEqual(["query", "symbol"], body["detail"][0]["loc"])

    async def test_klines(self) -> None:
        status, rows = await self.call("GET", "/klines", params={"symbol": "ETH-PERP", "limit": 10}, auth=False)
        self.assertEqual(200, status)
        self.assertEqual(10, len(rows))
        row = rows[-1]
        self.assertEqual(9, len(row))
        open_time, o, h, low, c, close_time, volume, quote_volume, trades = row
        self.assertEqual(open_time + MINUTE_MS - 1, close_time)  # Vest order: closeTime before volume
        self.assertIsInstance(trades, int)
        self.assertTrue(all(isinstance(x, str) for x in (o, h, low, c, volume, quote_volume)))
        self.assertEqual([r[0] for r in rows], sorted(r[0] for r in rows))
        status, hourly = await self.call("GET", "/klines", params={"symbol": "ETH-PERP", "interval": "1h"}, auth=False)
        self.assertTrue(all(r[0] % (60 * MINUTE_MS) == 0 for r in hourly))
        self.assertIn(len(hourly), (3, 4))  # 180 minutes of history
        minutes = (await self.call("GET", "/klines", params={"symbol": "ETH-PERP", "limit": 1000}, auth=False))[1]
        last_hour = [m for m in minutes if m[0] >= hourly[-2][0] and m[0] < hourly[-1][0]]
        self.assertEqual(sum(Decimal(m[6]) for m in last_hour), Decimal(hourly[-2][6]))
        self.assertEqual(max(Decimal(m[2]) for m in last_hour), Decimal(hourly[-2][2]))
        # paging backwards with endTime
        end = rows[0][0] - 1
        status, older = await self.call("GET", "/klines", params={"symbol": "ETH-PERP", "limit": 5, "endTime": end},
                                        auth=False)
        self.assertEqual(rows[0][0] - 5 * MINUTE_MS, older[0][0])
        self.assertLess(older[-1][0], rows[0][0])
        status, ranged = await self.call("GET", "/klines", params={
            "symbol": "ETH-PERP", "startTime": rows[2][0], "endTime": rows[4][0]}, auth=False)
        self.assertEqual([r[0] for r in rows[2:5]], [r[0] for r in ranged])
        self.assert_error(await self.call("GET", "/klines", params={"symbol": "ETH-PERP", "interval": "7m"},
                                          auth=False), 1130)
        self.assert_error(await self.call("GET", "/klines", params={"symbol": "ETH-PERP", "limit": 1001},
                                          auth=False), 1130)

    async def test_funding_history(self) -> None:
        status, rows = await self.call("GET", "/funding/history", params={"symbol": "BTC-PERP", "limit": 30},
                                       auth=False)
        self.assertEqual(200, status)
        self.assertEqual(30, len(rows))
        self.assertEqual({"symbol", "time", "oneHrFundingRate"}, set(rows[0]))
        self.assertTrue(all(b["time"] - a["time"] == MINUTE_MS for a, b in zip(rows, rows[1:])))  # minute series
        status, hourly = await self.call("GET", "/funding/history", params={"symbol": "BTC-PERP", "interval": "1h"},
                                         auth=False)
        self.assertTrue(all(r["time"] % (60 * MINUTE_MS) == 0 for r in hourly[1:]))
        status, older = await self.call("GET", "/funding/history", params={
            "symbol": "BTC-PERP", "limit": 10, "endTime": rows[0]["time"] - 1}, auth=False)
        self.assertEqual(rows[0]["time"] - MINUTE_MS, older[-1]["time"])
        self.assertEqual(10, len(older))
        status, body = await self.call("GET", "/funding/history", params={"symbol": "BTC-PERP", "endTime": "abc"},
                                       auth=False)
        self.assertEqual(422, status)
        self.assertEqual("int_parsing", body["detail"][0]["type"])

    async def test_trades(self) -> None:
        self.assertEqual((200, []), await self.call("GET", "/trades", params={"symbol": "BTC-PERP"}, auth=False))
        await self.place_ok(is_buy=False, size="0.0200", limit_price="60000.0")
        for _ in range(30):
            self.sim.step()
        status, trades = await self.call("GET", "/trades", params={"symbol": "BTC-PERP"}, auth=False)
        self.assertEqual(200, status)
        self.assertGreater(len(trades), 1)
        ours = trades[0]
        self.assertEqual({"id", "price", "qty", "quoteQty", "time"}, set(ours))
        self.assertEqual("-0.0200", ours["qty"])  # negative qty = sell
        self.assertIsInstance(ours["id"], int)  # an integer on REST, as in the docs' example (hex on the WS)
        self.assertEqual([t["id"] for t in trades], sorted(t["id"] for t in trades))
        self.assertEqual(Decimal(ours["price"]) * Decimal("0.02"), Decimal(ours["quoteQty"]))
        status, two = await self.call("GET", "/trades", params={"symbol": "BTC-PERP", "limit": 2}, auth=False)
        self.assertEqual(trades[-2:], two)

    async def test_unknown_route_is_fastapi_404(self) -> None:
        self.assertEqual((404, {"detail": "Not Found"}), await self.call("GET", "/nope", auth=False))
