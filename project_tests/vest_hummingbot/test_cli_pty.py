"""Drives the REAL Hummingbot CLI (`python -m vest_hummingbot`) in a pseudo-terminal against a local simulator.

First start: Hummingbot's welcome and set-password dialogs, `connect vest_perpetual` (three answers, the two secret
ones never echoed), `balance`, `exit`. Restart: the unlock dialog, then `balance` from the stored, encrypted keys.
Answers gone wrong (keystore unlocked by CONFIG_PASSWORD): a signing key that is not the account's registered signer
fails `connect` with Vest's 1022 and the fix, and no keys are kept; an API key pasted with whitespace around it
connects; an API key with whitespace inside is refused at the prompt, without echo, and asked again.
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
WIDE_COLS = 480  # Hummingbot's output pane is about half the terminal: room for a whole `connect` error on one line
API_KEY_PROMPT = "Enter your Vest API key"
SIGNING_KEY_PROMPT = "Enter your Vest signing private key"
ACCOUNT_GROUP_PROMPT = "Enter your Vest account group"
CONNECTED = "You are now connected to vest_perpetual"
# A valid secp256k1 key that is not the simulator account's signer (the public Hardhat account #1).
WRONG_SIGNING_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"  # noqa: mock
BAD_SIGNER_CODE = "1022 INVALID_SIGNATURE"
BAD_SIGNER_HINT = "The signing key is not the one registered for this API key, or it expired: run vest-register and " \
                  "connect again with the three values it prints."
INNER_SPACE_REFUSAL = "The API key must not contain spaces or line breaks; paste it again as one word."
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

    # ---- answers gone wrong ----------------------------------------------------------------------------------------
    def _start_unlocked_cli(self) -> PtyProcess:
        """The CLI with the keystore unlocked by CONFIG_PASSWORD (no dialogs), at its prompt."""
        self.cli = PtyProcess([sys.executable, "-m", "vest_hummingbot"], {**self.env, "CONFIG_PASSWORD": PASSWORD},
                              PROJECT_ROOT, ROWS, WIDE_COLS)
        self._wait("Home folder", START_TIMEOUT)
        return self.cli

    def _wait_count(self, text: str, count: int) -> None:
        self.assertTrue(self.cli.wait_for(lambda screen: screen.count(text) >= count, STEP_TIMEOUT),
                        f"never saw {text!r} {count} times:\n{self.cli.screen.text()}")

    @property
    def _keys_file(self) -> Path:
        return self.home / "conf" / "connectors" / "vest_perpetual.yml"

    def test_connect_with_a_wrong_signing_key_fails_and_keeps_no_keys(self):
        cli = self._start_unlocked_cli()
        cli.type_line("connect vest_perpetual")
        self._answer(API_KEY_PROMPT, self.account.api_key)
        self._answer(SIGNING_KEY_PROMPT, WRONG_SIGNING_KEY)
        self._answer(ACCOUNT_GROUP_PROMPT, str(self.account.account_group))
        self._wait(BAD_SIGNER_CODE)
        error = next(line for line in cli.screen.text().splitlines() if BAD_SIGNER_CODE in line)
        self.assertTrue(error.strip().startswith("Error: "), error)
        self.assertIn(BAD_SIGNER_HINT, error)
        self.assertNotIn(CONNECTED, cli.screen.text())
        self.assertFalse(self._keys_file.exists(), "Hummingbot kept the keys of a failed connect")

        cli.type_line("balance")
        self._wait("Exchanges Total")
        self.assertNotIn("vest_perpetual:", cli.screen.text())
        cli.type_line("exit")
        self.assertEqual(0, cli.wait_exit(EXIT_TIMEOUT), cli.screen.text())
        for secret in (self.account.api_key, WRONG_SIGNING_KEY):
            self._assert_never_echoed(secret)

    def test_connect_with_whitespace_around_the_answers(self):
        """What a copy from a terminal brings along: the API key pasted with spaces, a tab and its line break (a
        tab cannot be typed into the prompt: Tab completes), the signing key typed between spaces."""
        cli = self._start_unlocked_cli()
        cli.type_line("connect vest_perpetual")
        self._wait(API_KEY_PROMPT)
        cli.paste_line(f"  \t{self.account.api_key} \t\n")
        self._answer(SIGNING_KEY_PROMPT, f"  {self.account.signing_private_key}  ")
        self._answer(ACCOUNT_GROUP_PROMPT, f" {self.account.account_group} ")
        self._wait(CONNECTED)
        self._check_balance_and_exit()
        for secret in (self.account.api_key, self.account.signing_private_key):
            self._assert_never_echoed(secret)

    def test_api_key_with_whitespace_inside_is_refused_and_asked_again(self):
        cli = self._start_unlocked_cli()
        cli.type_line("connect vest_perpetual")
        key = self.account.api_key
        head, tail = key[:len(key) // 2], key[len(key) // 2:]
        self._answer(API_KEY_PROMPT, f"{head} {tail}")
        self._wait(INNER_SPACE_REFUSAL)
        self._wait_count(API_KEY_PROMPT, 2)
        cli.paste_line(f"{head}\n{tail}")  # a line break inside, as a paste of a wrapped key brings it
        self._wait_count(INNER_SPACE_REFUSAL, 2)
        self._wait_count(API_KEY_PROMPT, 3)
        self.assertNotIn(SIGNING_KEY_PROMPT, cli.screen.text())
        for part in (head, tail):
            self._assert_never_echoed(part)

        cli.type_line(key)
        self._answer(SIGNING_KEY_PROMPT, self.account.signing_private_key)
        self._answer(ACCOUNT_GROUP_PROMPT, str(self.account.account_group))
        self._wait(CONNECTED)
        cli.type_line("exit")
        self.assertEqual(0, cli.wait_exit(EXIT_TIMEOUT), cli.screen.text())
        self._assert_never_echoed(head)
