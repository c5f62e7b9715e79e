"""The launcher's paths, keystore and key storage. Each case runs in a child interpreter: `use_home()` changes
process-wide Hummingbot settings, which must not leak into the rest of the test session."""
import json
import tempfile
import unittest
from pathlib import Path

from project_tests.vest_hummingbot.support import child_env, run_python

TIMEOUT = 120.0
API_KEY = "d98273073073eebde8f806cfac145d90ee71f0ff510e4498db1cb71c749816f0"  # noqa: mock
SIGNING_KEY = "0x1f5bb33a034b8ae697c59f19bb79657d14d20ce2e3ac85db8dedf1197aab994e"  # noqa: mock
PASSWORD = "launcher-test"

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
print(json.dumps(Security.api_keys("vest_perpetual")))
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
        self.assertEqual({"vest_perpetual_api_key": API_KEY, "vest_perpetual_signing_private_key": SIGNING_KEY,
                          "vest_perpetual_account_group": 0}, keys)

    def test_headless_needs_a_password(self):
        result = run_python(["-m", "vest_hummingbot", "--headless", "--strategy", "missing.yml"], self.env, TIMEOUT)
        self.assertEqual(2, result.returncode)
        self.assertIn("Set CONFIG_PASSWORD", result.stderr)
