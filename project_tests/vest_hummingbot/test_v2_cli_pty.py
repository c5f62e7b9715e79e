"""Hummingbot's V2 framework from the REAL CLI (`python -m vest_hummingbot`) in a pseudo-terminal, against a simulator:
`create --controller-config` for the project's controller (`market_making.vest_trigger_mm`, every prompt answered with
its default), `create --v2-config v2_vest_runner` naming that controller config, `start --v2`, orders on the venue, one
filled (the test moves the index across it, as Vest fills a LIMIT trigger), `status`, `stop`: no order left open and
the position closed (a V2 stop closes its executors' positions), then `exit`.
"""
import json
import re
import subprocess
import sys
import tempfile
import unittest
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Union

from project_tests.vest_hummingbot.headless_bot import OPEN_STATUSES, PASSWORD, STORE_KEYS_SCRIPT, VenueThread
from project_tests.vest_hummingbot.support import PROJECT_ROOT, DemoMarketOnVenue, PtyProcess, child_env
from vest_hummingbot.demo import SYMBOL, choose_nudge, connector_keys

ROWS, COLS = 60, 400  # Hummingbot's output pane is about half the terminal: room for its longest lines here
BALANCE = Decimal("10000")
START_TIMEOUT = 90.0
STEP_TIMEOUT = 60.0
EXIT_TIMEOUT = 60.0
SETUP_TIMEOUT = 120.0
STATUS_TRIES, STATUS_WAIT = 10, 5.0
CONTROLLER = "market_making.vest_trigger_mm"
SCRIPT = "v2_vest_runner"
# The project controller's prompts, in the order Hummingbot asks them (a unique part of each).
CONTROLLER_PROMPTS = (
    "Enter the total notional of all levels", "Enter the connector name", "Enter the trading pair",
    "Enter the buy trigger distances", "Enter the sell trigger distances", "list of buy amounts",
    "list of sell amounts", "untriggered order follows the index", "a level waits after a stop loss",
    "Enter the leverage", "Enter the stop loss", "Enter the take profit", "closed at market",
    "order type for take profit", "Enter the trailing stop",
)
CONTROLLERS_PROMPT = "Enter controller configurations"
FILE_NAME_PROMPT = "Enter a new file name for your configuration"
CREATED = re.compile(r"A new config file has been created[^\n]*?: (\S+\.yml)")


class V2CliInPseudoTerminalTest(DemoMarketOnVenue, unittest.TestCase):
    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.home = Path(tmp.name) / "home"
        self.venue = VenueThread(seed=7).__enter__()
        self.addCleanup(self.venue.__exit__, None, None, None)
        self.account = self.venue.create_account(BALANCE)
        stored = subprocess.run([sys.executable, "-c", STORE_KEYS_SCRIPT, str(self.home), PASSWORD], cwd=PROJECT_ROOT,
                                env=child_env(), input=json.dumps(connector_keys(self.account)),
                                capture_output=True, text=True, timeout=SETUP_TIMEOUT)
        self.assertEqual(0, stored.returncode, stored.stderr)
        env = child_env(VEST_HB_HOME=str(self.home), CONFIG_PASSWORD=PASSWORD, TERM="xterm-256color",
                        **self.venue.connector_env())
        self.cli = PtyProcess([sys.executable, "-m", "vest_hummingbot"], env, PROJECT_ROOT, ROWS, COLS)
        self.addCleanup(self.cli.close)

    def _wait(self, text: str, timeout: float = STEP_TIMEOUT) -> None:
        self.assertTrue(self.cli.wait_for_text(text, timeout), f"never saw {text!r}:\n{self.cli.screen.text()}")

    def _accept_default(self, prompt: Union[str, re.Pattern]) -> None:
        """Hummingbot puts a prompt's default in the input line: Enter keeps it."""
        shown = prompt.search if isinstance(prompt, re.Pattern) else lambda screen: prompt in screen
        self.assertTrue(self.cli.wait_for(shown, STEP_TIMEOUT), f"never saw {prompt}:\n{self.cli.screen.text()}")
        self.cli.send("\r")

    def _created_file(self, count: int) -> str:
        """The file named by the `count`-th "A new config file has been created" line."""
        self.assertTrue(self.cli.wait_for(lambda screen: len(CREATED.findall(screen)) >= count, STEP_TIMEOUT),
                        f"no config file created:\n{self.cli.screen.text()}")
        return CREATED.findall(self.cli.screen.text())[count - 1]

    def _until(self, condition: Callable[[], Any], what: str, timeout: float = STEP_TIMEOUT) -> Any:
        """Poll the venue while reading the terminal: a CLI whose output nobody reads blocks on its next write."""
        result = None

        def check(_screen: str) -> bool:
            nonlocal result
            result = condition()
            return bool(result)
        self.assertTrue(self.cli.wait_for(check, timeout), f"timed out waiting for {what}:\n{self.cli.screen.text()}")
        return result

    def _status_shows(self, text: str) -> None:
        """`status` until it shows `text`: the controller sees a fill on its next tick (about a second later)."""
        for _ in range(STATUS_TRIES):
            self.cli.type_line("status")
            if self.cli.wait_for_text(text, STATUS_WAIT):
                return
        self.fail(f"`status` never showed {text!r}:\n{self.cli.screen.text()}")

    def test_create_start_fill_status_stop(self):
        cli = self.cli
        self._wait("Home folder", START_TIMEOUT)

        cli.type_line(f"create --controller-config {CONTROLLER}")
        for prompt in CONTROLLER_PROMPTS:
            self._accept_default(prompt)
        self._accept_default(FILE_NAME_PROMPT)
        controller_file = self._created_file(1)
        controller_conf = (self.home / "conf" / "controllers" / controller_file).read_text()
        self.assertIn("controller_name: vest_trigger_mm", controller_conf)
        self.assertIn("position_mode: ONEWAY", controller_conf)

        cli.type_line(f"create --v2-config {SCRIPT}")
        self._wait(CONTROLLERS_PROMPT)
        cli.paste_line(controller_file)
        # The file name prompt is on screen since the first `create`: wait for this one's default name. An Enter sent
        # before the prompt is up would be taken, with an empty line, as a second answer to the previous one.
        self._accept_default(re.compile(rf"{FILE_NAME_PROMPT} >>> conf_{SCRIPT}_\d+\.yml"))
        script_file = self._created_file(2)
        self.assertIn(controller_file, (self.home / "conf" / "scripts" / script_file).read_text())

        cli.type_line(f"start --v2 {script_file}")
        self._wait(f"Strategy '{SCRIPT}' started successfully")
        rows = self._until(self.resting_both_sides, "a buy and a sell trigger resting on the venue", START_TIMEOUT)
        self.assertEqual({"LIMIT"}, {row["orderType"] for row in rows})
        nudge = choose_nudge(rows, SYMBOL, Decimal(0), prefer_buy=True)
        self.venue.set_index_price(SYMBOL, nudge.index_price)
        self._until(lambda: any(row["id"] == nudge.order_id and row["status"] == "FILLED" for row in self.venue_rows()),
                    "the crossed buy trigger filled")
        self._until(lambda: self.venue_position() > 0, "the long position on the venue")

        self._status_shows("position side: BUY")

        cli.type_line("stop")
        self._until(lambda: self.venue_position() == 0 and not any(row["status"] in OPEN_STATUSES for row in self.venue_rows()),
                    "no open order and no position after stop")
        self.assertGreaterEqual(sum(row["status"] == "FILLED" for row in self.venue_rows()), 2)  # the entry, its close
        cli.type_line("exit")
        self.assertEqual(0, cli.wait_exit(EXIT_TIMEOUT), cli.screen.text())
