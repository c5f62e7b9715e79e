"""The opt-in live check, pointed at the local simulator through the URL overrides."""
import os
import unittest
from decimal import Decimal
from unittest.mock import patch

from hummingbot.connector.derivative.vest_perpetual import vest_perpetual_constants as CONSTANTS
from hummingbot.core.web_assistant.connections.connections_factory import ConnectionsFactory
from vest_hummingbot.live_check import LiveCheck, main
from vest_simulator import VestSimulator

SIGNING_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"  # noqa: mock


class LiveCheckTests(unittest.IsolatedAsyncioTestCase):
    async def asyncSetUp(self):
        ConnectionsFactory()._shared_client = None  # one left by another test's closed loop cannot be reused
        self.sim = await VestSimulator(seed=3, port=0, tick_interval=None).start()
        self.env = patch.dict(os.environ, {name: self.sim.rest_url if kind == "rest" else self.sim.ws_url  # both domains
                                           for names in CONSTANTS.URL_OVERRIDE_ENV_VARS.values()
                                           for kind, name in names.items()})
        self.env.start()
        self.account = self.sim.create_account(signing_private_key=SIGNING_KEY, balance=Decimal("1000"))

    async def asyncTearDown(self):
        self.env.stop()
        await self.sim.stop()

    def statuses(self, check: LiveCheck):
        return {name: status for name, status, _ in check.results}

    async def test_without_keys_public_checks_run_and_private_ones_say_why_they_are_skipped(self):
        check = LiveCheck(CONSTANTS.TESTNET_DOMAIN, "", "", 0, place_order=True)
        self.assertTrue(await check.run())
        self.assertEqual({"exchangeInfo": "OK", "ticker/latest": "OK", "depth": "OK", "account": "SKIP",
                          "listen key + private stream": "SKIP", "order + cancel (testnet)": "SKIP"},
                         self.statuses(check))
        reasons = {name: reason for name, _, reason in check.results}
        self.assertIn("VEST_PERPETUAL_API_KEY", reasons["account"])

    async def test_with_keys_checks_account_listen_key_and_private_stream_but_no_order_without_the_flag(self):
        check = LiveCheck(CONSTANTS.TESTNET_DOMAIN, self.account.api_key, SIGNING_KEY, 0, place_order=False)
        self.assertTrue(await check.run())
        self.assertEqual("OK", self.statuses(check)["account"])
        self.assertEqual("OK", self.statuses(check)["listen key + private stream"])
        self.assertEqual("SKIP", self.statuses(check)["order + cancel (testnet)"])
        self.assertEqual([], self.sim.orders(self.account.primary_address))

    async def test_place_order_flag_places_and_cancels_a_minimum_order_on_testnet_only(self):
        prod = LiveCheck(CONSTANTS.DOMAIN, self.account.api_key, SIGNING_KEY, 0, place_order=True)
        self.assertTrue(await prod.run())
        self.assertEqual("SKIP", self.statuses(prod)["order + cancel (testnet)"])
        self.assertEqual([], self.sim.orders(self.account.primary_address))

        testnet = LiveCheck(CONSTANTS.TESTNET_DOMAIN, self.account.api_key, SIGNING_KEY, 0, place_order=True)
        self.assertTrue(await testnet.run())
        self.assertEqual("OK", self.statuses(testnet)["order + cancel (testnet)"])
        orders = self.sim.orders(self.account.primary_address)
        self.assertEqual(["CANCELLED"], [order["status"] for order in orders])

    async def test_a_wrong_api_key_fails_the_check_with_vest_code(self):
        check = LiveCheck(CONSTANTS.TESTNET_DOMAIN, "not-a-key", SIGNING_KEY, 0, place_order=False)
        self.assertFalse(await check.run())
        failure = dict((name, reason) for name, status, reason in check.results if status == "FAIL")
        self.assertIn("1002", failure["account"])


class LiveCheckCommandTests(unittest.TestCase):
    def test_unreachable_venue_exits_1_and_reports_each_check(self):
        with patch.dict(os.environ, {CONSTANTS.REST_URL_ENV_VAR: "http://127.0.0.1:9/v2",
                                     "VEST_PERPETUAL_API_KEY": "", "VEST_PERPETUAL_SIGNING_KEY": ""}), \
                patch("builtins.print") as printed:
            self.assertEqual(1, main(["--domain", CONSTANTS.TESTNET_DOMAIN]))
        lines = [" ".join(str(a) for a in call.args) for call in printed.call_args_list]
        self.assertTrue(any(line.startswith("FAIL  exchangeInfo") for line in lines), lines)
        self.assertEqual("live check FAILED", lines[-1])
