"""The demo's pure pieces: config installation, index nudges, summary; no network, no Hummingbot paths moved."""
import asyncio
import shutil
import tempfile
import unittest
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

from vest_hummingbot import demo, launcher


def order(id_, is_buy, price, status="NEW", symbol="BTC-PERP", order_type="LIMIT", **extra):
    row = {"id": id_, "isBuy": is_buy, "limitPrice": price, "status": status, "symbol": symbol,
           "orderType": order_type, "realizedPnl": None, "fees": "0.000000", "settledFunding": None}
    row.update(extra)
    return row


BOOK = [order("b1", True, "64900.0"), order("b2", True, "64950.0"), order("s1", False, "65050.0"),
        order("s2", False, "65100.0"), order("x", True, "65000.0", status="CANCELLED"),
        order("e", True, "3500.00", symbol="ETH-PERP"), order("m", True, "65500.0", order_type="MARKET")]


class ChooseNudgeTest(unittest.TestCase):
    def test_flat_opens_on_the_preferred_side_at_its_best_price(self):
        nudge = demo.choose_nudge(BOOK, "BTC-PERP", Decimal(0), prefer_buy=True)
        self.assertEqual(("b2", True, Decimal("64950.0")), (nudge.order_id, nudge.is_buy, nudge.limit_price))
        self.assertEqual(Decimal("64950.0") * (1 - demo.NUDGE_BEYOND), nudge.index_price)
        nudge = demo.choose_nudge(BOOK, "BTC-PERP", Decimal(0), prefer_buy=False)
        self.assertEqual(("s1", False), (nudge.order_id, nudge.is_buy))
        self.assertEqual(Decimal("65050.0") * (1 + demo.NUDGE_BEYOND), nudge.index_price)

    def test_flat_falls_back_to_the_other_side(self):
        sells_only = [row for row in BOOK if not row["isBuy"]]
        self.assertEqual("s1", demo.choose_nudge(sells_only, "BTC-PERP", Decimal(0), prefer_buy=True).order_id)

    def test_in_a_position_only_the_closing_side_is_crossed(self):
        self.assertEqual("s1", demo.choose_nudge(BOOK, "BTC-PERP", Decimal("0.01"), prefer_buy=True).order_id)
        self.assertEqual("b2", demo.choose_nudge(BOOK, "BTC-PERP", Decimal("-0.01"), prefer_buy=False).order_id)
        buys_only = [row for row in BOOK if row["isBuy"]]
        self.assertIsNone(demo.choose_nudge(buys_only, "BTC-PERP", Decimal("0.01"), prefer_buy=True))

    def test_nothing_resting(self):
        self.assertIsNone(demo.choose_nudge(BOOK[4:], "BTC-PERP", Decimal(0), prefer_buy=True))


class SummaryTest(unittest.TestCase):
    ROWS = [order("1", True, "64950.0", status="FILLED", realizedPnl="-0.065", fees="0.065", settledFunding="0"),
            order("2", False, "65050.0", status="FILLED", realizedPnl="0.935", fees="0.065", settledFunding="-0.01"),
            order("3", True, "64000.0", status="CANCELLED"), order("4", False, "66000.0", status="REJECTED"),
            order("5", True, "64900.0", status="FILLED", realizedPnl="-0.065", fees="0.065", settledFunding="0"),
            order("6", True, "3000.00", status="FILLED", symbol="ETH-PERP", realizedPnl="5", fees="1")]
    ACCOUNT = {"balances": [{"asset": "USDC", "total": "10000.805000", "locked": "0"}],
               "positions": [{"symbol": "BTC-PERP", "isLong": False, "size": "0.0100", "unrealizedPnl": "-0.25"},
                             {"symbol": "ETH-PERP", "isLong": True, "size": "1.000", "unrealizedPnl": "9"}]}

    def summary(self, **stats):
        hb = demo.HummingbotStats(**stats)
        return demo.summarize(self.ROWS, self.ACCOUNT, "BTC-PERP", hb)

    def test_totals_come_from_the_venue_rows_of_the_symbol(self):
        s = self.summary(filled=3, position_seen=True)
        self.assertEqual((5, 3, 1, 1, 0), (s.placed, s.filled, s.cancelled, s.rejected, s.open_orders))
        self.assertEqual(Decimal("-0.0100"), s.final_position)
        self.assertEqual(Decimal("0.805"), s.realized_pnl)
        self.assertEqual(Decimal("0.195"), s.fees)
        self.assertEqual(Decimal("-0.01"), s.funding)
        self.assertEqual(Decimal("-0.25"), s.unrealized_pnl)
        self.assertEqual(Decimal("10000.805000"), s.balance)
        self.assertTrue(s.passed)

    def test_pass_needs_a_fill_a_position_and_no_open_order(self):
        self.assertFalse(self.summary(filled=0, position_seen=True).passed)
        self.assertFalse(self.summary(filled=1, position_seen=False).passed)
        rows = self.ROWS + [order("7", True, "60000.0")]
        open_left = demo.summarize(rows, self.ACCOUNT, "BTC-PERP", demo.HummingbotStats(filled=1, position_seen=True))
        self.assertEqual(1, open_left.open_orders)
        self.assertFalse(open_left.passed)

    def test_render(self):
        lines = demo.render_summary(self.summary(filled=3, position_seen=True, max_abs_position=Decimal("0.01")))
        text = "\n".join(lines)
        for expected in ("Orders placed", "Orders filled", "Orders cancelled", "Final position", "-0.0100 BTC",
                         "Realized PnL (incl. fees, funding)", "+0.805000 USDC", "Unrealized PnL", "-0.250000 USDC",
                         "Fees paid (incl. premium)", "0.195000 USDC", "Funding settled", "-0.010000 USDC",
                         "Result: PASS"):
            self.assertIn(expected, text)
        self.assertIn("Result: FAIL", demo.render_summary(self.summary())[-1])


class ConfigTest(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.dir = Path(self._tmp.name)

    def tearDown(self):
        self._tmp.cleanup()

    def test_connector_keys_are_the_three_connect_answers(self):
        account = SimpleNamespace(api_key="k", signing_private_key="0xabc", account_group=3)
        self.assertEqual({"vest_perpetual_api_key": "k", "vest_perpetual_signing_private_key": "0xabc",
                          "vest_perpetual_account_group": 3}, demo.connector_keys(account))

    def test_shipped_strategy_config_loads_in_hummingbot(self):
        from hummingbot.client.config.config_helpers import (
            get_strategy_template_path,
            load_strategy_config_map_from_file,
            read_yml_file,
        )
        path = self.dir / demo.STRATEGY_FILE  # a copy: Hummingbot rewrites configs older than its template
        shutil.copyfile(launcher.SHIPPED_STRATEGIES / demo.STRATEGY_FILE, path)
        template = read_yml_file(get_strategy_template_path("perpetual_market_making"))
        shipped = read_yml_file(path)
        # An older template_version would make Hummingbot replace the file with its empty template.
        self.assertEqual(template["template_version"], shipped["template_version"])
        self.assertEqual(set(template), set(shipped))
        config = asyncio.run(load_strategy_config_map_from_file(path))
        values = {key: var.value for key, var in config.items()}
        self.assertEqual("vest_perpetual", values["derivative"])
        self.assertEqual("BTC-USDC", values["market"])
        self.assertEqual(5, values["leverage"])
        self.assertEqual("One-way", values["position_mode"])
        self.assertEqual([], [key for key, var in config.items() if var.required and var.value is None])

    def test_reset_home_only_wipes_demo_folders(self):
        home = demo.reset_home(self.dir / "demo")
        (home / "leftover").write_text("x")
        demo.reset_home(home)
        self.assertEqual([demo.HOME_MARKER], [p.name for p in home.iterdir()])
        empty = self.dir / "empty"
        empty.mkdir()
        self.assertTrue((demo.reset_home(empty) / demo.HOME_MARKER).exists())
        foreign = self.dir / "foreign"
        foreign.mkdir()
        (foreign / "notes.txt").write_text("mine")
        with self.assertRaises(launcher.LauncherError):
            demo.reset_home(foreign)
        self.assertTrue((foreign / "notes.txt").exists())
