"""`python -m vest_hummingbot.discovery` (the `make discovery` check) and its pieces."""
import unittest

from project_tests.vest_hummingbot.support import child_env, run_python
from vest_hummingbot import discovery

TIMEOUT = 120.0


class DiscoveryTest(unittest.TestCase):
    def test_command_reports_both_connectors(self):
        result = run_python(["-m", "vest_hummingbot.discovery"], child_env(), TIMEOUT)
        self.assertEqual(0, result.returncode, result.stdout + result.stderr)
        for line in ("vest_perpetual: discovered (Derivative)", "vest_perpetual_testnet: discovered (Derivative)",
                     "example pair: BTC-USDC", "vest_perpetual_api_key (secret)",
                     "vest_perpetual_signing_private_key (secret)", "vest_perpetual_account_group",
                     "offered by `connect`: yes", "VestPerpetualDerivative (imports)", "OK: vest_perpetual"):
            self.assertIn(line, result.stdout)

    def test_discover_reads_hummingbots_settings(self):
        result = discovery.discover("vest_perpetual")
        self.assertTrue(result.ok)
        self.assertEqual("BTC-USDC", result.example_pair)
        self.assertEqual((("vest_perpetual_api_key", True), ("vest_perpetual_signing_private_key", True),
                          ("vest_perpetual_account_group", False), ("vest_perpetual_market_order_slippage", False)),
                         result.config_keys)

    def test_unknown_connector_fails(self):
        result = discovery.discover("no_such_connector")
        self.assertFalse(result.ok)
        self.assertEqual(["no_such_connector: NOT discovered by AllConnectorSettings"], discovery.render(result))

    def test_unimportable_class_fails(self):
        result = discovery.Discovery(name="x", found=True, connectable=True, class_error="ImportError: boom")
        self.assertFalse(result.ok)
        self.assertIn("ImportError: boom", discovery.render(result)[-1])
