"""Drives the REAL Hummingbot CLI (`python -m vest_hummingbot`) in a pseudo-terminal against a local simulator.

First start: Hummingbot's welcome and set-password dialogs, `connect vest_perpetual` (three answers, the two secret
ones never echoed), `balance`, `exit`. Restart: the unlock dialog, then `balance` from the stored, encrypted keys.
"""
import sys
import tempfile
import unittest
from decimal import Decimal
from pathlib import Path

from project_tests.vest_hummingbot.support import PROJECT_ROOT, PtyProcess, SimulatorThread, child_env, run_python

ROWS, COLS = 60, 240  # wide enough that Hummingbot's output pane does not wrap the lines checked below
BALANCE = Decimal("12345")
PASSWORD = "cli-test-password"
START_TIMEOUT = 90.0
STEP_TIMEOUT = 60.0
EXIT_TIMEOUT = 60.0
SCRIPT_TIMEOUT = 120.0
MASK = "*" * 32
FIRST_START_DIALOGS = ("Welcome to Hummingbot", "PLEASE READ THIS CAREFULLY", "SET A SECURE PASSWORD")
STORE_KEYS_SCRIPT = """
import sys
from vest_hummingbot import launcher
launcher.use_home()
launcher.unlock_keystore(sys.argv[1])
launcher.save_connector_keys("vest_perpetual", {"vest_perpetual_api_key": sys.argv[2],
                             "vest_perpetual_signing_private_key": sys.argv[3], "vest_perpetual_account_group": 0})
"""


class CliInPseudoTerminalTest(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.home = Path(self._tmp.name) / "home"
        self.simulator = SimulatorThread(seed=7).__enter__()
        self.account = self.simulator.create_account(BALANCE)
        self.env = child_env(VEST_HB_HOME=str(self.home), TERM="xterm-256color", **self.simulator.connector_env())
        self.cli = None

    def tearDown(self):
        if self.cli is not None:
            self.cli.close()
        self.simulator.__exit__(None, None, None)
        self._tmp.cleanup()

    def _start_cli(self) -> PtyProcess:
        self.cli = PtyProcess([sys.executable, "-m", "vest_hummingbot"], self.env, PROJECT_ROOT, ROWS, COLS)
        return self.cli

    def _wait(self, text: str, timeout: float = STEP_TIMEOUT) -> None:
        self.assertTrue(self.cli.wait_for_text(text, timeout), f"never saw {text!r}:\n{self.cli.screen.text()}")

    def _answer(self, prompt: str, answer: str) -> None:
        self._wait(prompt)
        self.cli.type_line(answer)

    def _answer_dialog(self, prompt: str, answer: str) -> None:
        """A prompt_toolkit input dialog: Enter in the field moves to OK, a second Enter presses it."""
        self._answer(prompt, answer)
        self.cli.send("\r")

    def _assert_never_echoed(self, secret: str) -> None:
        self.assertNotIn(secret.encode(), self.cli.raw, "a secret reached the terminal")
        self.assertNotIn(secret, self.cli.screen.text())

    def _check_balance_and_exit(self) -> None:
        cli = self.cli
        cli.type_line("balance")
        self.assertTrue(cli.wait_for(lambda s: "vest_perpetual:" in s and "USDC" in s and f"{BALANCE}.0000" in s,
                                     STEP_TIMEOUT), f"no balance table:\n{cli.screen.text()}")
        cli.type_line("exit")
        self.assertEqual(0, cli.wait_exit(EXIT_TIMEOUT), cli.screen.text())

    def test_first_start_connect_balance_exit(self):
        cli = self._start_cli()
        for title in FIRST_START_DIALOGS:
            self._wait(title, START_TIMEOUT)
            cli.send("\r")
        self._answer_dialog("Enter your new password", PASSWORD)
        self._answer_dialog("Please re-enter your password", PASSWORD)
        self._wait("Home folder", START_TIMEOUT)

        cli.type_line("connect vest_perpetual")
        self._answer("Enter your Vest API key", self.account.api_key)
        self._answer("Enter your Vest signing private key", self.account.signing_private_key)
        self._answer("Enter your Vest account group", str(self.account.account_group))
        self.assertIn(MASK, cli.screen.text())  # the secret answers show as asterisks
        self._wait("You are now connected to vest_perpetual")
        self._check_balance_and_exit()

        for secret in (PASSWORD, self.account.api_key, self.account.signing_private_key):
            self._assert_never_echoed(secret)
        stored = (self.home / "conf" / "connectors" / "vest_perpetual.yml").read_text()
        self.assertIn("vest_perpetual_account_group: 0", stored)
        self.assertNotIn(self.account.api_key, stored)  # encrypted with the keystore password
        self.assertNotIn(self.account.signing_private_key, stored)

    def test_restart_unlocks_stored_keys(self):
        stored = run_python(["-c", STORE_KEYS_SCRIPT, PASSWORD, self.account.api_key,
                             self.account.signing_private_key], self.env, SCRIPT_TIMEOUT)
        self.assertEqual(0, stored.returncode, stored.stderr)
        self._start_cli()
        self._answer_dialog("Enter your password", PASSWORD)
        self._wait("Home folder", START_TIMEOUT)
        self._check_balance_and_exit()
        self._assert_never_echoed(PASSWORD)
