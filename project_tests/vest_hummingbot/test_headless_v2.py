"""A V2 config run headless by the launcher (`python -m vest_hummingbot --headless`), against a simulator: the
shipped V2 script and Vest controller (seeded into the home folder) place triggers on both sides, the test fills one,
SIGTERM stops the run as Ctrl-C would: exit 0, the usual last line, no order left open, the position closed, and
every venue fill recorded by Hummingbot exactly once. Also: what `--v2` and `--strategy` accept.
"""
import contextlib
import io
import json
import subprocess
import sys
import tempfile
import unittest
from decimal import Decimal
from pathlib import Path

from project_tests.vest_hummingbot.headless_bot import (
    OPEN_STATUSES,
    PASSWORD,
    STORE_KEYS_SCRIPT,
    BotHome,
    VenueThread,
    wait_until,
)
from project_tests.vest_hummingbot.support import PROJECT_ROOT, DemoMarketOnVenue, child_env, run_python
from vest_hummingbot import launcher
from vest_hummingbot.demo import SYMBOL, choose_nudge, connector_keys

V2_CONFIG = "conf_v2_vest_runner.yml"  # shipped in vest_hummingbot/home/conf/scripts/
BALANCE = Decimal("10000")
RUN_DURATION = 300.0  # the bot stops itself after this, should a test die without stopping it
START_TIMEOUT = 90.0
STEP_TIMEOUT = 60.0
SETUP_TIMEOUT = 120.0


class HeadlessV2RunTest(DemoMarketOnVenue, unittest.TestCase):
    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.venue = VenueThread(seed=7).__enter__()
        self.addCleanup(self.venue.__exit__, None, None, None)
        self.account = self.venue.create_account(BALANCE)
        path = Path(tmp.name) / "home"
        stored = subprocess.run([sys.executable, "-c", STORE_KEYS_SCRIPT, str(path), PASSWORD], cwd=PROJECT_ROOT,
                                env=child_env(), input=json.dumps(connector_keys(self.account)),
                                capture_output=True, text=True, timeout=SETUP_TIMEOUT)
        self.assertEqual(0, stored.returncode, stored.stderr)
        self.home = BotHome(path, V2_CONFIG)

    def test_v2_config_trades_and_stops_cleanly(self):
        """Given as `--strategy` (`--v2` is the same run): a V2 config is recognised by where it sits."""
        bot = self.home.start(self.venue, RUN_DURATION)
        self.addCleanup(bot.close)
        rows = wait_until(self.resting_both_sides, START_TIMEOUT, "a buy and a sell trigger on the venue", bot)
        nudge = choose_nudge(rows, SYMBOL, Decimal(0), prefer_buy=True)
        self.venue.set_index_price(SYMBOL, nudge.index_price)
        wait_until(lambda: self.venue_position() > 0, STEP_TIMEOUT, "the long position on the venue", bot)

        self.assertEqual(0, bot.stop(STEP_TIMEOUT), bot.output_tail())
        output = bot.output()
        self.assertIn(f"Running {V2_CONFIG} headless", output)
        self.assertRegex(output.strip().splitlines()[-1], r"^Orders created: [1-9]\d*, failed: 0\.$")
        rows = self.venue_rows()
        self.assertEqual([], [row for row in rows if row["status"] in OPEN_STATUSES])
        self.assertEqual(Decimal(0), self.venue_position())
        venue_fills = sum(row["status"] == "FILLED" for row in rows)
        self.assertGreaterEqual(venue_fills, 2)  # the crossed trigger and the close at stop
        fills = self.home.fills()
        self.assertEqual(venue_fills, len(fills))
        self.assertEqual(len(fills), len({fill.exchange_trade_id for fill in fills}))


class HeadlessV2ArgumentsTest(unittest.TestCase):
    def test_v2_names_a_config_of_conf_scripts(self):
        with tempfile.TemporaryDirectory() as tmp:
            env = child_env(VEST_HB_HOME=tmp, CONFIG_PASSWORD=PASSWORD)
            result = run_python(["-m", "vest_hummingbot", "--headless", "--v2", "missing.yml"], env, SETUP_TIMEOUT)
        self.assertEqual(2, result.returncode, result.stdout + result.stderr)
        self.assertIn(f"No V2 config missing.yml in {Path(tmp).resolve()}/conf/scripts", result.stderr)

    def test_headless_takes_one_config(self):
        self.assertEqual("a.yml", launcher.parse_args(["--headless", "--v2", "a.yml"]).v2)
        for argv, refusal in ((["--headless"], "--headless needs --strategy or --v2"),
                              (["--headless", "--strategy", "a.yml", "--v2", "b.yml"], "not both")):
            stderr = io.StringIO()
            with self.assertRaises(SystemExit), contextlib.redirect_stderr(stderr):
                launcher.parse_args(argv)
            self.assertIn(refusal, stderr.getvalue())
