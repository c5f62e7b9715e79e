"""The tests exercise the working tree, and the installed Hummingbot discovers the connector from it."""
import os
import unittest
from pathlib import Path

import hummingbot
import hummingbot.connector.derivative.vest_perpetual as vest_perpetual
from hummingbot.client.settings import AllConnectorSettings

REPO_ROOT = Path(__file__).resolve().parents[1]
WORKING_TREE_MODULE = REPO_ROOT / "hummingbot" / "connector" / "derivative" / "vest_perpetual"


class InstallationTests(unittest.TestCase):
    def test_imported_connector_is_the_working_tree(self):
        imported = Path(vest_perpetual.__file__).resolve().parent
        self.assertEqual(WORKING_TREE_MODULE, imported,
                         "a stale copy of the connector is installed; run `make dev` (make test does)")

    def test_hummingbot_discovers_both_domains_from_its_own_package_folder(self):
        installed = Path(hummingbot.__file__).parent / "connector" / "derivative" / "vest_perpetual"
        self.assertTrue(os.path.exists(installed / "__init__.py"))
        AllConnectorSettings.create_connector_settings()
        settings = AllConnectorSettings.get_connector_settings()
        self.assertIn("vest_perpetual", settings)
        self.assertIn("vest_perpetual_testnet", settings)
        self.assertEqual("vest_perpetual", settings["vest_perpetual_testnet"].parent_name)
