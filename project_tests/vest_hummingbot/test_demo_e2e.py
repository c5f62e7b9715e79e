"""`python -m vest_hummingbot.demo` end to end, shortened: simulator, real Hummingbot, strategy, stop, summary."""
import re
import tempfile
import unittest
from pathlib import Path

from project_tests.vest_hummingbot.support import child_env, run_python

DURATION = 30  # the strategy needs ~10 s (its position-mode handshake) before its first order
TIMEOUT = 180.0


class DemoEndToEndTest(unittest.TestCase):
    def test_short_demo_trades_and_stops_cleanly(self):
        with tempfile.TemporaryDirectory() as tmp:
            home = Path(tmp) / "demo"
            result = run_python(["-m", "vest_hummingbot.demo", "--duration", str(DURATION), "--seed", "7",
                                 "--home", str(home)], child_env(), TIMEOUT)
            output = result.stdout
            self.assertEqual(0, result.returncode, output + result.stderr)
            self.assertIn("Starting Hummingbot headless: perpetual_market_making on vest_perpetual BTC-USDC", output)
            self.assertRegex(output, r"\[\s*\d+\.\ds\] open orders \d+ \| fills \d+ \| position [+-]\d+\.\d{4} BTC")
            self.assertIn("crossing the resting", output)
            self.assertIn("Stopping Hummingbot", output)
            filled = int(re.search(r"Orders filled\s+(\d+)", output).group(1))
            self.assertGreaterEqual(filled, 1)
            self.assertRegex(output, r"Orders placed\s+\d+")
            self.assertRegex(output, r"Orders cancelled\s+\d+")
            self.assertRegex(output, r"Open orders left\s+0\n")
            for label in ("Final position", "Realized PnL", "Unrealized PnL", "Fees paid", "Funding settled"):
                self.assertIn(label, output)
            self.assertIn("Result: PASS", output)
            self.assertTrue((home / "conf" / "connectors" / "vest_perpetual.yml").is_file())
            self.assertTrue(list((home / "logs").glob("logs_*.log")))
