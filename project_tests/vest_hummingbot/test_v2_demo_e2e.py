"""`make v2-demo`'s entry (`python -m vest_hummingbot.v2_demo`, i.e. `v2_demo.main`) end to end, shortened: simulator,
real Hummingbot running the project's V2 script and Vest controller, index moves, stop, summary. It exits 0 only when
Hummingbot reported each venue fill once and nothing is left open."""
import re
import tempfile
import unittest
from pathlib import Path

from project_tests.vest_hummingbot.support import child_env, run_python

DURATION = 15  # the controller's first triggers rest ~2 s after start; the demo crosses one every 6 s
TIMEOUT = 180.0


class V2DemoEndToEndTest(unittest.TestCase):
    def test_short_v2_demo_trades_and_stops_cleanly(self):
        with tempfile.TemporaryDirectory() as tmp:
            home = Path(tmp) / "v2-demo"
            result = run_python(["-m", "vest_hummingbot.v2_demo", "--duration", str(DURATION), "--seed", "7",
                                 "--home", str(home)], child_env(), TIMEOUT)
            output = result.stdout
            self.assertEqual(0, result.returncode, output + result.stderr)
            self.assertIn("Starting Hummingbot headless: V2 script v2_vest_runner with controller vest_trigger_mm "
                          "on vest_perpetual BTC-USDC", output)
            self.assertIn("crossing the resting", output)
            venue_fills = int(re.search(r"Orders filled\s+(\d+)", output).group(1))
            hummingbot_fills = int(re.search(r"created/filled/cancelled/failed\s+\d+/(\d+)/", output).group(1))
            self.assertGreaterEqual(venue_fills, 1)
            self.assertEqual(venue_fills, hummingbot_fills)
            self.assertRegex(output, r"Open orders left\s+0\n")
            self.assertRegex(output, r"Final position\s+\+0\.0000 BTC")
            self.assertIn(f"Result: PASS (fills venue/Hummingbot: {venue_fills}/{venue_fills}, no open orders: True, "
                          f"flat at the end: True)", output)
            self.assertTrue((home / "scripts" / "v2_vest_runner.py").is_file())
            self.assertTrue((home / "controllers" / "market_making" / "vest_trigger_mm.py").is_file())
            self.assertTrue((home / "logs" / "logs_conf_v2_vest_runner.log").is_file())
