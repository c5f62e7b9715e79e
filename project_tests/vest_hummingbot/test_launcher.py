"""The launcher's paths, keystore, key storage and headless exit code. Each case that touches Hummingbot's settings
runs in a child interpreter: `use_home()` changes process-wide Hummingbot settings, which must not leak into the rest
of the test session (the headless run's order bookkeeping, `OrderOutcomes`, is also tested in-process: it needs none
of them)."""
import json
import tempfile
import unittest
from decimal import Decimal
from pathlib import Path

from project_tests.vest_hummingbot.headless_bot import BotHome, HeadlessBot, VenueThread, strategy_config, wait_until
from project_tests.vest_hummingbot.support import child_env, run_python
from vest_hummingbot import launcher
from vest_hummingbot.demo import connector_keys

TIMEOUT = 120.0
API_KEY = "d98273073073eebde8f806cfac145d90ee71f0ff510e4498db1cb71c749816f0"  # noqa: mock
SIGNING_KEY = "0x1f5bb33a034b8ae697c59f19bb79657d14d20ce2e3ac85db8dedf1197aab994e"  # noqa: mock
PASSWORD = "launcher-test"
# A valid secp256k1 key that no simulator account registers (the public Hardhat account #1).
WRONG_SIGNING_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"  # noqa: mock
SEED = 7
BALANCE = Decimal("10000")
STRATEGY_FILE = "conf_vest_headless_exit.yml"
RUN_DURATION = 300.0  # the bot stops itself after this, should a test die without stopping it
FIRST_ORDERS_TIMEOUT = 90.0  # start-up (~7 s) plus the strategy's position-mode handshake (~10 s), on a loaded machine
STOP_TIMEOUT = 60.0
NO_ORDER_EXIT_CODE = 3

PATHS_SCRIPT = """
import json, hummingbot
from vest_hummingbot import launcher
home = launcher.use_home()
launcher.prepare_home()
from hummingbot.client import settings
from hummingbot.client.config.config_crypt import PASSWORD_VERIFICATION_PATH
from hummingbot.client.config.config_helpers import load_client_config_map_from_file
config = load_client_config_map_from_file()
print(json.dumps({"home": str(home), "prefix": hummingbot.prefix_path(), "data": hummingbot.data_path(),
                  "conf": str(settings.CONF_DIR_PATH), "connectors": str(settings.CONNECTORS_CONF_DIR_PATH),
                  "strategies": str(settings.STRATEGIES_CONF_DIR_PATH), "client": str(settings.CLIENT_CONFIG_PATH),
                  "password": str(PASSWORD_VERIFICATION_PATH), "log_file_path": str(config.log_file_path),
                  "usd_equivalents": list(config.global_token.usd_equivalent_tokens),
                  "metrics": type(config.anonymized_metrics_mode.hb_config).__name__}))
"""
EARLY_IMPORT_SCRIPT = """
import hummingbot.client.config.config_helpers
from vest_hummingbot import launcher
try:
    launcher.use_home()
except RuntimeError as error:
    print("refused:", error)
"""
STORE_SCRIPT = f"""
import sys
from vest_hummingbot import launcher
launcher.use_home()
launcher.unlock_keystore(sys.argv[1])
print(launcher.save_connector_keys("vest_perpetual", {{"vest_perpetual_api_key": "{API_KEY}",
      "vest_perpetual_signing_private_key": "{SIGNING_KEY}", "vest_perpetual_account_group": "0"}}))
"""
# What a pasted key with its line break becomes when stored without the CLI (which strips its answers itself).
STORE_PADDED_SCRIPT = f"""
import sys
from vest_hummingbot import launcher
launcher.use_home()
launcher.unlock_keystore(sys.argv[1])
print(launcher.save_connector_keys("vest_perpetual", {{"vest_perpetual_api_key": " \\t{API_KEY}\\r\\n",
      "vest_perpetual_signing_private_key": "{SIGNING_KEY}", "vest_perpetual_account_group": "0"}}))
"""
READ_SCRIPT = """
import json, sys
from vest_hummingbot import launcher
launcher.use_home()
try:
    launcher.unlock_keystore(sys.argv[1])
except launcher.LauncherError as error:
    print(json.dumps({"error": str(error)}))
    sys.exit(0)
from hummingbot.client.config.security import Security
print(json.dumps(Security.api_keys("vest_perpetual"), default=str))  # settings may be Decimals
"""


class LauncherTest(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.home = Path(self._tmp.name) / "home"
        self.env = child_env(VEST_HB_HOME=str(self.home))

    def tearDown(self):
        self._tmp.cleanup()

    def _run(self, script: str, *args: str) -> str:
        result = run_python(["-c", script, *args], self.env, TIMEOUT)
        self.assertEqual(0, result.returncode, result.stderr)
        return result.stdout.strip().splitlines()[-1]

    def test_conf_logs_and_data_live_in_the_home_folder(self):
        paths = json.loads(self._run(PATHS_SCRIPT))
        home = self.home.resolve()
        self.assertEqual(str(home), paths["home"])
        self.assertEqual(str(home), paths["prefix"])
        for key, relative in (("data", "data"), ("conf", "conf"), ("connectors", "conf/connectors"),
                              ("strategies", "conf/strategies"), ("client", "conf/conf_client.yml"),
                              ("password", "conf/.password_verification"), ("log_file_path", "logs")):
            self.assertEqual(str(home / relative), paths[key], key)
        self.assertTrue((home / "conf" / "conf_client.yml").is_file())
        self.assertTrue((home / "conf" / "strategies" / "conf_vest_perpetual_mm.yml").is_file())
        self.assertIn("USDC", paths["usd_equivalents"])
        self.assertEqual("AnonymizedMetricsDisabledMode", paths["metrics"])

    def test_refuses_to_move_paths_after_hummingbot_copied_them(self):
        self.assertIn("refused: use_home() must run before", self._run(EARLY_IMPORT_SCRIPT))

    def test_keys_are_stored_encrypted(self):
        path = Path(self._run(STORE_SCRIPT, PASSWORD))
        self.assertEqual(self.home.resolve() / "conf" / "connectors" / "vest_perpetual.yml", path)
        stored = path.read_text()
        self.assertIn("connector: vest_perpetual", stored)
        self.assertNotIn(API_KEY, stored)
        self.assertNotIn(SIGNING_KEY[2:], stored)

    def test_wrong_password_is_refused(self):
        self._run(STORE_SCRIPT, PASSWORD)
        self.assertIn("Invalid keystore password", json.loads(self._run(READ_SCRIPT, "not-the-password"))["error"])

    def test_stored_keys_decrypt_in_a_new_process(self):
        """What every restart of Hummingbot does: log in and decrypt conf/connectors/*.yml."""
        self._run(STORE_SCRIPT, PASSWORD)
        keys = json.loads(self._run(READ_SCRIPT, PASSWORD))
        answers = ("vest_perpetual_api_key", "vest_perpetual_signing_private_key", "vest_perpetual_account_group")
        self.assertEqual({"vest_perpetual_api_key": API_KEY, "vest_perpetual_signing_private_key": SIGNING_KEY,
                          "vest_perpetual_account_group": 0}, {name: keys.get(name) for name in answers})

    def test_headless_needs_a_password(self):
        result = run_python(["-m", "vest_hummingbot", "--headless", "--strategy", "missing.yml"], self.env, TIMEOUT)
        self.assertEqual(2, result.returncode)
        self.assertIn("Set CONFIG_PASSWORD", result.stderr)

    def test_api_key_stored_without_surrounding_whitespace(self):
        self._run(STORE_PADDED_SCRIPT, PASSWORD)
        self.assertEqual(API_KEY, json.loads(self._run(READ_SCRIPT, PASSWORD))["vest_perpetual_api_key"])


def failure(message: str, error_type: str = "INVALID_SIGNATURE"):
    from hummingbot.core.data_type.common import OrderType
    from hummingbot.core.event.events import MarketOrderFailureEvent
    return MarketOrderFailureEvent(timestamp=0.0, order_id="vest-1", order_type=OrderType.LIMIT,
                                   error_message=message, error_type=error_type)


class OrderOutcomesTest(unittest.TestCase):
    """What decides a headless run's exit code, fed through Hummingbot's event API (a PubSub stands in for the
    connector: `add_listener` / `trigger_event` are the same)."""

    def setUp(self):
        from hummingbot.core.event.events import MarketEvent
        from hummingbot.core.pubsub import PubSub
        self.events = MarketEvent
        self.connector = PubSub()
        self.outcomes = launcher.OrderOutcomes()
        self.outcomes.attach([self.connector])

    def test_a_run_that_never_tried_is_not_a_failure(self):
        self.assertEqual(0, self.outcomes.exit_code)
        self.assertEqual("Orders created: 0, failed: 0.", self.outcomes.summary())

    def test_every_order_failed(self):
        self.connector.trigger_event(self.events.OrderFailure, failure("Vest error 3002 INSUFFICIENT_MARGIN: no"))
        self.connector.trigger_event(self.events.OrderFailure,
                                     failure("Vest error 1022 INVALID_SIGNATURE: Invalid signature (HTTP 400)"))
        self.assertEqual(NO_ORDER_EXIT_CODE, self.outcomes.exit_code)
        summary = self.outcomes.summary()
        self.assertTrue(summary.startswith("No order placed: all 2 order(s) failed; the last: Vest refused it with "
                                           "1022 INVALID_SIGNATURE. The signing key is not the one registered"),
                        summary)
        self.assertIn("run vest-register", summary)
        self.assertNotIn("\n", summary)

    def test_one_created_order_is_enough(self):
        self.connector.trigger_event(self.events.OrderFailure, failure("Vest error 1022 INVALID_SIGNATURE: x"))
        self.connector.trigger_event(self.events.SellOrderCreated, object())
        self.assertEqual(0, self.outcomes.exit_code)
        self.assertEqual("Orders created: 1, failed: 1.", self.outcomes.summary())

    def test_a_failure_not_from_vest_is_named_by_hummingbot(self):
        self.connector.trigger_event(self.events.OrderFailure, failure("Connection reset\nby peer", "OSError"))
        self.assertTrue(self.outcomes.summary().endswith("the last: OSError: Connection reset by peer"),
                        self.outcomes.summary())

    def test_detached_outcomes_hear_nothing(self):
        self.outcomes.detach()
        self.connector.trigger_event(self.events.BuyOrderCreated, object())
        self.assertEqual(0, self.outcomes.created)


class HeadlessExitCodeTest(unittest.TestCase):
    """`python -m vest_hummingbot --headless` (the shipped perpetual_market_making config) against a simulator,
    with keys stored as `connect` and the demo store them."""

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self._tmp.cleanup)
        self.venue = VenueThread(seed=SEED).__enter__()
        self.addCleanup(self.venue.__exit__, None, None, None)
        self.account = self.venue.create_account(BALANCE)

    def _start(self, signing_key: str, duration: float = RUN_DURATION) -> HeadlessBot:
        keys = {**connector_keys(self.account), "vest_perpetual_signing_private_key": signing_key}
        home = BotHome.create(Path(self._tmp.name) / "home", keys, STRATEGY_FILE, strategy_config(STRATEGY_FILE))
        bot = home.start(self.venue, duration)
        self.addCleanup(bot.close)
        return bot

    def _stop_after(self, bot: HeadlessBot, log_text: str, what: str) -> int:
        wait_until(lambda: log_text in bot.log(), FIRST_ORDERS_TIMEOUT, what, bot)
        return bot.stop(STOP_TIMEOUT)

    def test_run_whose_every_order_failed_exits_non_zero_with_the_cause(self):
        bot = self._start(WRONG_SIGNING_KEY)
        code = self._stop_after(bot, "has failed. Order Update", "the strategy's first failed order")
        output = bot.output()
        self.assertEqual(NO_ORDER_EXIT_CODE, code, output)
        self.assertEqual([], self.venue.orders(self.account.primary_address))
        last_line = output.strip().splitlines()[-1]
        self.assertRegex(last_line, r"^No order placed: all \d+ order\(s\) failed; the last: Vest refused it with "
                                    r"1022 INVALID_SIGNATURE\. .*run vest-register")

    def test_run_that_placed_orders_exits_0(self):
        bot = self._start(self.account.signing_private_key)
        code = self._stop_after(bot, "Created LIMIT", "the strategy's first created order")
        output = bot.output()
        self.assertEqual(0, code, output)
        self.assertRegex(output.strip().splitlines()[-1], r"^Orders created: [1-9]\d*, failed: 0\.$")

    def test_run_stopped_before_any_order_exits_0(self):
        """Nothing tried is not a failure, even with a signing key that would make every order fail."""
        bot = self._start(WRONG_SIGNING_KEY, duration=0)
        code = bot.process.wait(STOP_TIMEOUT + FIRST_ORDERS_TIMEOUT)
        output = bot.output()
        self.assertEqual(0, code, output)
        self.assertEqual("Orders created: 0, failed: 0.", output.strip().splitlines()[-1])
