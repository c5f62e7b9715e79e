"""`vest_hummingbot.overlay.register()` in a stock Hummingbot, as the launcher runs it: after `use_home()`, before
the client config is read. Each case runs in a child interpreter, because `use_home()` changes process-wide
Hummingbot settings (see project_tests/vest_hummingbot/test_launcher.py)."""
import json
import tempfile
import unittest
from pathlib import Path

import hummingbot.core.rate_oracle.sources.vest_perpetual_rate_source as rate_source_module
import hummingbot.data_feed.candles_feed.vest_perpetual_candles as candles_package
from project_tests.vest_hummingbot.support import PROJECT_ROOT, child_env, run_python

TIMEOUT = 120.0

# conf_client.yml naming the Vest rate source, loaded the way Hummingbot starts; then `config rate_oracle_source`
# changed away and back through the config adapter (what the CLI's `config` command does) and saved.
REGISTERED_SCRIPT = """
import json
from ruamel.yaml import YAML
from vest_hummingbot import launcher, overlay
launcher.use_home()
launcher.prepare_home()
overlay.register()
overlay.register()  # idempotent
from hummingbot.client import settings
from hummingbot.client.config.client_config_map import RATE_SOURCE_MODES, ClientConfigMap
from hummingbot.client.config.config_helpers import load_client_config_map_from_file, save_to_yml
from hummingbot.core.rate_oracle.rate_oracle import RATE_ORACLE_SOURCES, RateOracle
from hummingbot.data_feed.candles_feed.candles_factory import CandlesFactory
from hummingbot.data_feed.candles_feed.data_types import CandlesConfig
yaml = YAML()
data = yaml.load(settings.CLIENT_CONFIG_PATH)
data["rate_oracle_source"] = {"name": "vest_perpetual"}
data["global_token"]["global_token_name"] = "USDC"
yaml.dump(data, settings.CLIENT_CONFIG_PATH)
config = load_client_config_map_from_file()
loaded = {"mode": config.rate_oracle_source.name, "source": type(RateOracle.get_instance().source).__name__,
          "quote": RateOracle.get_instance().quote_token}
config.rate_oracle_source = "binance"
switched = type(RateOracle.get_instance().source).__name__
config.rate_oracle_source = "vest_perpetual"
save_to_yml(settings.CLIENT_CONFIG_PATH, config)
saved = yaml.load(settings.CLIENT_CONFIG_PATH)["rate_oracle_source"]["name"]
prompt = ClientConfigMap.model_fields["rate_oracle_source"].json_schema_extra["prompt"](None)
feed = CandlesFactory.get_candle(CandlesConfig(connector="vest_perpetual_testnet", trading_pair="ETH-USDC"))
print(json.dumps({"loaded": loaded, "switched": switched, "back": type(RateOracle.get_instance().source).__name__,
                  "saved": saved, "prompt": prompt, "oracle_sources": sorted(RATE_ORACLE_SOURCES),
                  "modes": sorted(RATE_SOURCE_MODES), "candles": sorted(CandlesFactory._candles_map),
                  "feed": [type(feed).__name__, feed.name, feed.candles_url]}))
"""
# Hummingbot alone (no launcher, which registers them): it knows neither name.
UNREGISTERED_SCRIPT = """
import json
from hummingbot.client.config.client_config_map import ClientConfigMap
from hummingbot.data_feed.candles_feed.candles_factory import CandlesFactory, UnsupportedConnectorException
from hummingbot.data_feed.candles_feed.data_types import CandlesConfig
refused = []
try:
    ClientConfigMap(rate_oracle_source="vest_perpetual")
except Exception as error:
    refused.append(type(error).__name__)
try:
    CandlesFactory.get_candle(CandlesConfig(connector="vest_perpetual", trading_pair="BTC-USDC"))
except UnsupportedConnectorException as error:
    refused.append(type(error).__name__)
print(json.dumps(refused))
"""


class OverlayRegistrationTest(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.env = child_env(VEST_HB_HOME=str(Path(self._tmp.name) / "home"))

    def tearDown(self):
        self._tmp.cleanup()

    def _run(self, script: str):
        result = run_python(["-c", script], self.env, TIMEOUT)
        self.assertEqual(0, result.returncode, result.stderr)
        return json.loads(result.stdout.strip().splitlines()[-1])

    def test_conf_client_and_the_config_command_select_the_vest_rate_source(self):
        outcome = self._run(REGISTERED_SCRIPT)
        self.assertEqual({"mode": "vest_perpetual", "source": "VestPerpetualRateSource", "quote": "USDC"},
                         outcome["loaded"])
        self.assertEqual("BinanceRateSource", outcome["switched"])
        self.assertEqual("VestPerpetualRateSource", outcome["back"])
        self.assertEqual("vest_perpetual", outcome["saved"])
        self.assertIn("/vest_perpetual", outcome["prompt"])
        self.assertEqual(1, outcome["oracle_sources"].count("vest_perpetual"))
        self.assertEqual(1, outcome["modes"].count("vest_perpetual"))

    def test_the_candles_factory_serves_both_vest_domains(self):
        outcome = self._run(REGISTERED_SCRIPT)
        self.assertTrue({"vest_perpetual", "vest_perpetual_testnet"} <= set(outcome["candles"]))
        self.assertEqual(["VestPerpetualTestnetCandles", "vest_perpetual_testnet_ETH-USDC",
                          "https://server-dev.hz.vestmarkets.com/v2/klines"], outcome["feed"])

    def test_a_stock_hummingbot_knows_neither_without_it(self):
        self.assertEqual(["KeyError", "UnsupportedConnectorException"], self._run(UNREGISTERED_SCRIPT))


class DevelopmentLinksTest(unittest.TestCase):
    """`make dev` links the working tree's feed and rate source into the installed package (as the connector)."""

    def test_the_installed_hummingbot_imports_the_working_tree(self):
        self.assertEqual(PROJECT_ROOT / "hummingbot" / "data_feed" / "candles_feed" / "vest_perpetual_candles",
                         Path(candles_package.__file__).resolve().parent, "stale copy installed; run `make dev`")
        self.assertEqual(PROJECT_ROOT / "hummingbot" / "core" / "rate_oracle" / "sources" /
                         "vest_perpetual_rate_source.py", Path(rate_source_module.__file__).resolve(),
                         "stale copy installed; run `make dev`")
