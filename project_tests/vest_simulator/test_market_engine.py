"""Pure-state tests of the market model and engine with an injected clock (no sockets)."""
from __future__ import annotations

import unittest
from decimal import Decimal
from typing import List

from vest_simulator.engine import Engine
from vest_simulator.market import DAY_MS, MINUTE_MS, Market, bucket_end, bucket_start, resolve_specs
from vest_simulator.schema import OrderRequest

from .signing import PRIMARY_KEY, SIGNING_KEY, order_body

START = 1_750_000_000_000  # a Sunday, 2025-06-15


class Clock:
    def __init__(self, now: int = START) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def make_market(clock: Clock, seed: int = 7, minutes: int = 120) -> Market:
    return Market(resolve_specs(None), seed, clock, history_minutes=minutes)


class MarketTests(unittest.TestCase):
    def test_seeded_paths_are_reproducible(self) -> None:
        paths: List[List[Decimal]] = []
        for seed in (7, 7, 8):
            market = make_market(Clock(), seed)
            path = []
            for _ in range(50):
                market.step()
                path.append(market.state("ETH-PERP").index)
            paths.append(path)
        self.assertEqual(paths[0], paths[1])
        self.assertNotEqual(paths[0], paths[2])
        self.assertEqual(make_market(Clock()).klines("BTC-PERP", "1m", None, None, 1000),
                         make_market(Clock()).klines("BTC-PERP", "1m", None, None, 1000))

    def test_buckets(self) -> None:
        monday = 1_749_427_200_000  # 2025-06-09 00:00 UTC
        self.assertEqual(monday, bucket_start(START, "1w"))
        self.assertEqual(1_748_736_000_000, bucket_start(START, "1M"))  # 2025-06-01
        self.assertEqual(1_751_328_000_000, bucket_end(1_748_736_000_000, "1M"))  # 2025-07-01
        self.assertEqual(START // DAY_MS * DAY_MS, bucket_start(START + 5, "1d"))
        self.assertEqual(1_735_689_600_000, bucket_end(1_733_011_200_000, "1M"))  # Dec -> Jan

    def test_pricing(self) -> None:
        market = make_market(Clock())
        mark = market.state("BTC-PERP").mark
        small_buy = market.execution_price("BTC-PERP", True, Decimal("0.01"))
        big_buy = market.execution_price("BTC-PERP", True, Decimal("100"))
        sell = market.execution_price("BTC-PERP", False, Decimal("0.01"))
        self.assertLess(sell, mark)
        self.assertLess(mark, small_buy)
        self.assertLess(small_buy, big_buy)  # premium grows with size
        depth = market.depth("BTC-PERP", 100)
        asks = [Decimal(p) for p, _ in depth["asks"]]
        self.assertEqual(100, len(set(asks)))
        self.assertTrue(asks[0] <= small_buy <= asks[1])  # fills never beat the displayed ladder

    def test_imbalance_moves_mark_and_funding(self) -> None:
        market = make_market(Clock())
        state = market.state("SOL-PERP")
        mark, rate = state.mark, state.funding_rate
        market.add_imbalance("SOL-PERP", Decimal("10000"))
        self.assertGreater(state.mark, mark)
        self.assertGreater(state.funding_rate, rate)

    def test_funding_accrual_and_clock_gaps(self) -> None:
        clock = Clock()
        market = make_market(clock)
        state = market.state("BTC-PERP")
        before, rate = state.cum_funding, state.funding_rate
        clock.now += 3_600_000
        market.accrue()
        self.assertEqual(before + rate * state.index, state.cum_funding)
        minutes = market.funding_history("BTC-PERP", "1m", START, None, 1000)
        self.assertEqual(60, len(minutes))  # every minute of the jump is sampled (times >= START)
        bars = market.klines("BTC-PERP", "1m", START, None, 1000)
        self.assertEqual(61, len(bars))
        count = len(state.bars)
        clock.now -= 10 * MINUTE_MS  # negative skew never rewrites history
        market.step()
        market.record_trade("BTC-PERP", state.mark, Decimal("0.1"), clock.now)
        self.assertEqual(count, len(state.bars))
        self.assertEqual(sorted(state.bars), list(state.bars))

    def test_monthly_klines_aggregate_everything(self) -> None:
        market = make_market(Clock(), minutes=600)
        minutes = market.klines("ETH-PERP", "1m", None, None, 1000)
        [month] = market.klines("ETH-PERP", "1M", None, None, 1000)
        self.assertEqual(sum(m[8] for m in minutes), month[8])
        self.assertEqual(minutes[0][1], month[1])
        self.assertEqual(minutes[-1][4], month[4])


class EngineTests(unittest.TestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.market = make_market(self.clock)
        self.events: List[tuple] = []
        self.engine = Engine(self.market, self.clock, seed=1)
        self.engine.on_private = lambda primary, event, args: self.events.append((event, args))
        self.acct, *_ = self.engine.create_account(SIGNING_KEY, PRIMARY_KEY, Decimal("100000"), 0, None)
        self.nonce = 0

    def set_balance(self, amount: str) -> None:
        self.acct.balance = Decimal(amount)

    def trade(self, is_buy: bool, size: str, order_type: str = "MARKET", limit: str = "") -> dict:
        self.nonce += 1
        limit = limit or ("90000.0" if is_buy else "40000.0")
        body = order_body(SIGNING_KEY, time=self.clock.now, nonce=self.nonce, is_buy=is_buy, size=size,
                          order_type=order_type, limit_price=limit)
        order_id = self.engine.place_order(self.acct, OrderRequest.parse(body))
        self.engine.process_pending()
        return self.acct.orders[order_id].render()

    def test_flip_and_partial_close(self) -> None:
        first = self.trade(True, "1.0000")
        position = self.acct.positions["BTC-PERP"]
        self.assertEqual((Decimal("1"), Decimal(first["lastFilledPrice"])), (position.size, position.entry_price))
        self.trade(True, "1.0000")
        position = self.acct.positions["BTC-PERP"]
        self.assertEqual(Decimal(2), position.size)
        entry = position.entry_price
        partial = self.trade(False, "0.5000")
        self.assertEqual((Decimal("1.5"), entry), (position.size, position.entry_price))  # reducing keeps entry
        self.assertNotEqual("0.000000", partial["realizedPnl"])
        flip = self.trade(False, "2.0000")
        position = self.acct.positions["BTC-PERP"]
        self.assertEqual((Decimal("-0.5"), Decimal(flip["lastFilledPrice"])), (position.size, position.entry_price))
        self.assertEqual(Decimal("-0.5"), self.market.state("BTC-PERP").imbalance)
        self.trade(True, "0.5000")
        self.assertNotIn("BTC-PERP", self.acct.positions)

    def test_events_sequence(self) -> None:
        self.trade(True, "0.1000")
        self.assertEqual(["TRANSFER", "ORDER", "ORDER"], [e for e, _ in self.events])
        self.assertEqual(["NEW", "FILLED"], [a["status"] for e, a in self.events if e == "ORDER"])

    def test_margin_check_on_flip(self) -> None:
        self.set_balance("1000")
        self.trade(True, "0.1000")  # 6.5k notional, 650 margin at 10x
        flip = self.trade(False, "0.4000")  # would open a 0.3 short needing ~1950
        self.assertEqual(("REJECTED", 3002), (flip["status"], flip["code"]))
        self.assertEqual(Decimal("0.1"), self.acct.positions["BTC-PERP"].size)

    def test_metrics_and_liquidation_price(self) -> None:
        self.set_balance("2000")
        self.trade(True, "0.2000")
        account = self.engine.render_account(self.acct)
        liq = Decimal(account["positions"][0]["liqPrice"])
        entry = Decimal(account["positions"][0]["entryPrice"])
        self.assertTrue(Decimal("50000") < liq < entry, liq)
        self.market.set_index("BTC-PERP", liq)
        value = Decimal(self.engine.render_account(self.acct)["totalAccountValue"])
        maint = Decimal(self.engine.render_account(self.acct)["totalMaintMargin"])
        self.assertLess(abs(value - maint), Decimal("15"))  # mark premium/rounding only
