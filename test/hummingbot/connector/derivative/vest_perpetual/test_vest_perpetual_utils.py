"""Config maps, fees, discovery attributes and the symbol map (docs/vest-protocol.md §1.3, §6.3, §6.4)."""
import subprocess
import sys
import textwrap
import unittest
from decimal import Decimal

from bidict import bidict
from pydantic import SecretStr, ValidationError

from hummingbot.client.config.config_helpers import ClientConfigAdapter, ConfigValidationError
from hummingbot.client.settings import AllConnectorSettings
from hummingbot.connector.derivative.vest_perpetual import vest_perpetual_utils as utils

FAKE_SECRET = "0xNOTAREALKEY-sekrit-7f3a9c-DO-NOT-LEAK"
GOOD_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"  # noqa: mock
API_KEY = "api-key-8d1e4b77c2"


def _prod(**overrides):
    values = {"vest_perpetual_api_key": API_KEY, "vest_perpetual_signing_private_key": GOOD_KEY,
              "vest_perpetual_account_group": 0}
    values.update(overrides)
    return utils.VestPerpetualConfigMap(**values)


def _testnet(**overrides):
    values = {"vest_perpetual_testnet_api_key": API_KEY, "vest_perpetual_testnet_signing_private_key": GOOD_KEY,
              "vest_perpetual_testnet_account_group": 1}
    values.update(overrides)
    return utils.VestPerpetualTestnetConfigMap(**values)


class ValidatorTest(unittest.TestCase):
    def test_account_group_accepts_whole_numbers(self):
        self.assertEqual(0, utils.validate_account_group(0))
        self.assertEqual(3, utils.validate_account_group("3"))
        self.assertEqual(9, utils.validate_account_group(" 9 "))

    def test_account_group_rejects_bad_values_readably(self):
        for bad in ("abc", "1.5", "", None, "restserver0"):
            with self.assertRaisesRegex(ValueError, "whole number"):
                utils.validate_account_group(bad)
        for out_of_range in (-1, 10, 99999):  # §1.3: the groups in use are 0-9
            with self.assertRaisesRegex(ValueError, "between 0 and 9"):
                utils.validate_account_group(out_of_range)

    def test_api_key_is_trimmed_and_inner_whitespace_refused(self):
        self.assertEqual(API_KEY, utils.validate_api_key(f"  {API_KEY}\n"))
        self.assertEqual(API_KEY, utils.validate_api_key(SecretStr(f"{API_KEY}\r\n")))
        for bad in (f"{API_KEY[:5]} {API_KEY[5:]}", f"{API_KEY[:5]}\n{API_KEY[5:]}"):
            with self.assertRaisesRegex(ValueError, "must not contain spaces or line breaks") as caught:
                utils.validate_api_key(bad)
            self.assertNotIn(API_KEY[5:], str(caught.exception))

    def test_signing_key_shapes(self):
        self.assertEqual(GOOD_KEY, utils.validate_signing_key(GOOD_KEY))
        self.assertEqual(GOOD_KEY[2:], utils.validate_signing_key(GOOD_KEY[2:]))
        self.assertEqual("", utils.validate_signing_key(""))  # non-trading instances
        self.assertEqual(GOOD_KEY, utils.validate_signing_key(SecretStr(f" {GOOD_KEY}\n")))
        for bad in (FAKE_SECRET, GOOD_KEY[:-2], GOOD_KEY + "00", "0x" + "g" * 64, SecretStr(FAKE_SECRET)):
            with self.assertRaisesRegex(ValueError, "64 hex characters") as caught:
                utils.validate_signing_key(bad)
            self.assertNotIn("sekrit", str(caught.exception))
        # Well-formed but not a secp256k1 key: zero, the curve order and above.
        for bad in ("0x" + "0" * 64, "0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141",  # noqa: mock
                    "f" * 64):
            with self.assertRaisesRegex(ValueError, "not a valid secp256k1 key") as caught:
                utils.validate_signing_key(bad)
            self.assertNotIn(bad[-20:], str(caught.exception))

    def test_market_order_slippage_is_a_sane_fraction(self):
        self.assertEqual(Decimal("0.02"), utils.validate_market_order_slippage("0.02"))
        self.assertEqual(Decimal("0.5"), utils.validate_market_order_slippage(Decimal("0.5")))
        for bad in ("0", "-0.01", "0.51", "2", "two", "", None):
            with self.assertRaisesRegex(ValueError, "must be a fraction above 0 and at most 0.5"):
                utils.validate_market_order_slippage(bad)
        with self.assertRaises(ValidationError):
            _prod(vest_perpetual_market_order_slippage="5")

    def test_signing_key_in_hummingbot_encrypted_form_passes(self):
        """Hummingbot validates a stored config file before decrypting it (Security.login)."""
        from hummingbot.client.config.config_crypt import ETHKeyFileSecretManger
        encrypted = ETHKeyFileSecretManger("a password").encrypt_secret_value("vest_perpetual_signing_private_key",
                                                                              "0x" + "ab" * 32)
        self.assertEqual(encrypted, utils.validate_signing_key(encrypted))
        not_a_keyfile = b'{"other": 1}'.hex()
        with self.assertRaises(ValueError):
            utils.validate_signing_key(not_a_keyfile)


class ConfigMapTest(unittest.TestCase):
    def test_good_values_validate(self):
        config = _prod(vest_perpetual_account_group="2")
        self.assertEqual("vest_perpetual", config.connector)
        self.assertEqual(2, config.vest_perpetual_account_group)
        self.assertEqual(API_KEY, config.vest_perpetual_api_key.get_secret_value())
        self.assertEqual(GOOD_KEY, config.vest_perpetual_signing_private_key.get_secret_value())
        testnet = _testnet()
        self.assertEqual("vest_perpetual_testnet", testnet.connector)
        self.assertEqual(1, testnet.vest_perpetual_testnet_account_group)

    def test_bad_account_group_is_rejected_readably(self):
        for make, field in ((_prod, "vest_perpetual_account_group"),
                            (_testnet, "vest_perpetual_testnet_account_group")):
            with self.assertRaises(ValidationError) as caught:
                make(**{field: 99999})
            self.assertIn("between 0 and 9", str(caught.exception))
            with self.assertRaises(ValidationError) as caught:
                make(**{field: "two"})
            self.assertIn("whole number", str(caught.exception))

    def test_api_key_pasted_with_a_line_break_is_kept_without_it(self):
        config = _prod(vest_perpetual_api_key=f"{API_KEY}\n")
        self.assertEqual(API_KEY, config.vest_perpetual_api_key.get_secret_value())
        with self.assertRaises(ValidationError) as caught:
            _testnet(vest_perpetual_testnet_api_key=f"{API_KEY[:4]} {API_KEY[4:]}")
        self.assertIn("must not contain spaces", str(caught.exception))
        self.assertNotIn(API_KEY[4:], str(caught.exception))

    def test_malformed_signing_key_is_rejected_without_echo(self):
        for make, field in ((_prod, "vest_perpetual_signing_private_key"),
                            (_testnet, "vest_perpetual_testnet_signing_private_key")):
            with self.assertRaises(ValidationError) as caught:
                make(**{field: FAKE_SECRET})
            error = caught.exception
            self.assertIn("64 hex characters", str(error))
            # str/repr are what logs and Hummingbot's prompt show (`errors()` is structured data by design).
            for text in (str(error), repr(error), error.errors()[0]["msg"]):
                self.assertNotIn("sekrit", text)

    def test_other_fields_secrets_stay_hidden_when_one_field_fails(self):
        with self.assertRaises(ValidationError) as caught:
            _prod(vest_perpetual_api_key="api-sekrit-key", vest_perpetual_account_group="x")
        for text in (str(caught.exception), repr(caught.exception)):
            self.assertNotIn("sekrit", text)
            self.assertNotIn(GOOD_KEY[2:], text)

    def test_secrets_never_in_repr(self):
        config = _prod()
        for text in (repr(config), str(config)):
            self.assertNotIn(API_KEY, text)
            self.assertNotIn(GOOD_KEY[2:], text)

    def test_assignment_through_hummingbot_adapter_validates_and_hides_secret(self):
        adapter = ClientConfigAdapter(utils.VestPerpetualConfigMap.model_construct())
        adapter.vest_perpetual_account_group = "5"
        self.assertEqual(5, adapter.vest_perpetual_account_group)
        with self.assertRaises(ConfigValidationError) as caught:
            adapter.vest_perpetual_signing_private_key = FAKE_SECRET
        self.assertIn("64 hex characters", str(caught.exception))
        self.assertNotIn("sekrit", str(caught.exception))
        with self.assertRaises(ConfigValidationError):
            adapter.vest_perpetual_account_group = "-1"
        self.assertEqual(5, adapter.vest_perpetual_account_group)

    def test_connect_prompts(self):
        adapter = ClientConfigAdapter(utils.VestPerpetualConfigMap.model_construct())
        self.assertTrue(adapter.is_secure("vest_perpetual_api_key"))
        self.assertTrue(adapter.is_secure("vest_perpetual_signing_private_key"))
        self.assertFalse(adapter.is_secure("vest_perpetual_account_group"))
        for field in ("vest_perpetual_api_key", "vest_perpetual_signing_private_key", "vest_perpetual_account_group"):
            data = adapter.get_client_data(field)
            self.assertTrue(data.is_connect_key and data.prompt_on_new)
            self.assertIn("Vest", data.prompt)
        self.assertIn("not your wallet key", adapter.get_client_data("vest_perpetual_signing_private_key").prompt)

    def test_field_names_mirror_between_domains(self):
        prod = [name for name in utils.VestPerpetualConfigMap.model_fields if name != "connector"]
        testnet = [name for name in utils.VestPerpetualTestnetConfigMap.model_fields if name != "connector"]
        self.assertEqual(prod, [name.replace("vest_perpetual_testnet", "vest_perpetual") for name in testnet])


class DiscoveryTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        AllConnectorSettings.create_connector_settings()
        cls.settings = AllConnectorSettings.get_connector_settings()

    def test_both_domains_are_discovered_with_their_maps(self):
        prod = self.settings["vest_perpetual"]
        testnet = self.settings["vest_perpetual_testnet"]
        self.assertIsInstance(prod.config_keys, utils.VestPerpetualConfigMap)
        self.assertIsInstance(testnet.config_keys, utils.VestPerpetualTestnetConfigMap)
        self.assertEqual("Derivative", prod.type.name)
        self.assertFalse(prod.is_sub_domain)
        self.assertTrue(testnet.is_sub_domain)
        self.assertEqual("vest_perpetual", testnet.parent_name)
        self.assertEqual("vest_perpetual_testnet", testnet.domain_parameter)
        self.assertTrue(prod.centralised)

    def test_example_pair_and_fees(self):
        for name in ("vest_perpetual", "vest_perpetual_testnet"):
            setting = self.settings[name]
            self.assertEqual("BTC-USDC", setting.example_pair)
            self.assertEqual(Decimal("0.0001"), setting.trade_fee_schema.taker_percent_fee_decimal)
            self.assertLessEqual(setting.trade_fee_schema.maker_percent_fee_decimal, Decimal("0.0001"))

    def test_default_fees_are_the_flat_taker_fee_of_6_3(self):
        self.assertEqual(Decimal("0.0001"), utils.DEFAULT_FEES.taker_percent_fee_decimal)
        self.assertEqual(Decimal("0.0001"), utils.DEFAULT_FEES.maker_percent_fee_decimal)
        self.assertTrue(utils.DEFAULT_FEES.buy_percent_fee_deducted_from_returns)
        self.assertIs(utils.DEFAULT_FEES, utils.OTHER_DOMAINS_DEFAULT_FEES["vest_perpetual_testnet"])

    def test_testnet_init_parameters_map_to_constructor_names(self):
        api_keys = {"vest_perpetual_testnet_api_key": "k", "vest_perpetual_testnet_signing_private_key": "s",
                    "vest_perpetual_testnet_account_group": 3}
        params = self.settings["vest_perpetual_testnet"].conn_init_parameters(
            trading_pairs=["BTC-USDC"], trading_required=True, api_keys=api_keys)
        self.assertEqual("k", params["vest_perpetual_api_key"])
        self.assertEqual("s", params["vest_perpetual_signing_private_key"])
        self.assertEqual(3, params["vest_perpetual_account_group"])
        self.assertEqual("vest_perpetual_testnet", params["domain"])
        self.assertEqual(["BTC-USDC"], params["trading_pairs"])
        self.assertTrue(params["trading_required"])
        self.assertFalse(any(key.startswith("vest_perpetual_testnet") for key in params))

    def test_the_market_order_slippage_setting_reaches_the_connector_with_its_default(self):
        # §6.2: not asked at connect; stored in the connector's yml with its default; handed over like the keys.
        adapter = ClientConfigAdapter(utils.VestPerpetualTestnetConfigMap.model_construct())
        data = adapter.get_client_data("vest_perpetual_testnet_market_order_slippage")
        self.assertTrue(data.is_connect_key)
        self.assertFalse(data.prompt_on_new)
        self.assertEqual(Decimal("0.02"), _testnet().vest_perpetual_testnet_market_order_slippage)
        params = self.settings["vest_perpetual_testnet"].conn_init_parameters(api_keys={
            "vest_perpetual_testnet_market_order_slippage": Decimal("0.05")})
        self.assertEqual(Decimal("0.05"), params["vest_perpetual_market_order_slippage"])

    def test_prod_init_parameters_pass_keys_through(self):
        api_keys = {"vest_perpetual_api_key": "k", "vest_perpetual_signing_private_key": "s",
                    "vest_perpetual_account_group": 0}
        params = self.settings["vest_perpetual"].conn_init_parameters(api_keys=dict(api_keys))
        for key, value in api_keys.items():
            self.assertEqual(value, params[key])
        self.assertNotIn("domain", params)

    def test_discovery_without_heavy_dependencies(self):
        """Hummingbot skips a connector whose utils raise ModuleNotFoundError, so utils must not need them."""
        script = textwrap.dedent("""
            import sys
            # Hummingbot's own core (which needs aiohttp) is loaded first; only Vest's utils are under test.
            import hummingbot.client.settings, hummingbot.connector.utils
            import hummingbot.client.config.config_data_types, hummingbot.core.data_type.trade_fee
            BLOCKED = {"coincurve", "eth_account", "eth_hash", "eth_abi", "eth_keys", "brotli", "aiohttp"}
            for name in list(sys.modules):
                if name.split(".")[0] in BLOCKED:
                    del sys.modules[name]

            class Blocker:
                def find_spec(self, name, path=None, target=None):
                    if name.split(".")[0] in BLOCKED:
                        raise ModuleNotFoundError(f"blocked {name}", name=name)
                    return None

            sys.meta_path.insert(0, Blocker())
            from hummingbot.connector.derivative.vest_perpetual import vest_perpetual_utils
            from hummingbot.client.settings import AllConnectorSettings
            AllConnectorSettings.create_connector_settings()
            settings = AllConnectorSettings.get_connector_settings()
            assert "vest_perpetual" in settings and "vest_perpetual_testnet" in settings, sorted(settings)
            leaked = sorted(name for name in sys.modules if name.split(".")[0] in BLOCKED)
            assert not leaked, leaked
            print("DISCOVERED", settings["vest_perpetual_testnet"].config_keys.__class__.__name__)
        """)
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertIn("DISCOVERED VestPerpetualTestnetConfigMap", result.stdout)


ROWS = [
    {"symbol": "BTC-PERP", "base": "BTC", "quote": "USDC"},
    {"symbol": "kBONK-PERP", "base": "kBONK", "quote": "USDC"},
    {"symbol": "AAPL-USD-PERP", "base": "AAPL", "quote": "USD"},
    {"symbol": "SPX-USD-PERP", "base": "SPX", "quote": "USDC"},
]


class SymbolMapTest(unittest.TestCase):
    def test_pairs_come_from_base_and_quote(self):
        mapping = utils.build_symbol_map(ROWS)
        self.assertIsInstance(mapping, bidict)
        self.assertEqual({"BTC-PERP": "BTC-USDC", "kBONK-PERP": "kBONK-USDC", "AAPL-USD-PERP": "AAPL-USD",
                          "SPX-USD-PERP": "SPX-USDC"}, dict(mapping))

    def test_trading_pair_of_keeps_case(self):
        self.assertEqual("kBONK-USDC", utils.trading_pair_of({"base": "kBONK", "quote": "USDC"}))

    def test_duplicates_keep_the_first(self):
        rows = [{"symbol": "BTC-PERP", "base": "BTC", "quote": "USDC"},
                {"symbol": "BTC-OLD-PERP", "base": "BTC", "quote": "USDC"},  # same pair, another symbol
                {"symbol": "BTC-PERP", "base": "XBT", "quote": "USDC"}]  # same symbol, another pair
        mapping = utils.build_symbol_map(rows)
        self.assertEqual({"BTC-PERP": "BTC-USDC"}, dict(mapping))

    def test_conversions(self):
        mapping = utils.build_symbol_map(ROWS)
        self.assertEqual("kBONK-USDC", utils.convert_from_exchange_trading_pair("kBONK-PERP", mapping))
        self.assertEqual("AAPL-USD-PERP", utils.convert_to_exchange_trading_pair("AAPL-USD", mapping))
        self.assertEqual("BTC-PERP", utils.convert_to_exchange_trading_pair("BTC-USDC", mapping))
        self.assertIsNone(utils.convert_from_exchange_trading_pair("ETH-PERP", mapping))
        self.assertIsNone(utils.convert_to_exchange_trading_pair("ETH-USDC", mapping))

    def test_empty(self):
        self.assertEqual({}, dict(utils.build_symbol_map([])))
