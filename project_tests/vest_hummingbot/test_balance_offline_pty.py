"""The REAL Hummingbot CLI (`python -m vest_hummingbot --simulator`) values balances with the `vest_perpetual` rate
source while the internet is unreachable: only loopback (the in-process simulator) may be reached.

The child runs under a guard (a `sitecustomize.py` on its PYTHONPATH): every name look-up or connection off loopback
fails as without a network and is recorded in a file. `conf_client.yml` selects the Vest rate source and USDC as the
global token, as the README says. In the CLI: `connect vest_perpetual` with the simulator's funded account, `balance`
(the USDC and its value in the global token), `rate --token BTC` (the path `balance` values a token by: the source is
vest_perpetual and the price is the simulator's, set by the test to a value no real market shows), `exit`. Then:
nothing off loopback was attempted, and Hummingbot's log has no failed price fetch.
"""
import errno
import json
import os
import re
import socket
import sys
import tempfile
import unittest
import urllib.request
from decimal import Decimal
from pathlib import Path
from typing import List

from project_tests.vest_hummingbot.support import PROJECT_ROOT, PtyProcess, child_env, run_python
from vest_hummingbot.launcher import SIMULATOR_BALANCE  # what `--simulator` funds its test account with

ROWS, COLS = 60, 400  # Hummingbot's output pane is about half the terminal: room for its longest lines here
PASSWORD = "offline-test-password"
START_TIMEOUT = 45.0
STEP_TIMEOUT = 30.0
EXIT_TIMEOUT = 30.0
SCRIPT_TIMEOUT = 60.0
RECORD_ENV_VAR = "VEST_TEST_OFFLINE_RECORD"  # the file the guard appends each refused attempt to
ARMED_ENV_VAR = "VEST_TEST_OFFLINE_ARMED"  # the file the guard writes its process id to when installed
SYMBOL, BASE = "BTC-PERP", "BTC"
SET_PRICE = Decimal("4321")  # the simulator's BTC index, set by the test: far from any real BTC price
PRICE_TOLERANCE = Decimal("0.02")  # the mark follows the index with a small premium and random walk
CONNECTED = "You are now connected to vest_perpetual"
BANNER_END = "Everything stays on this machine."
SIMULATOR_URL = re.compile(r"Local Vest simulator at (http://127\.0\.0\.1:\d+)/")
API_KEY = re.compile(r"API key:\s+(\S+)")
SIGNING_KEY = re.compile(r"signing private key:\s+(0x[0-9a-fA-F]+)")
ACCOUNT_GROUP = re.compile(r"account group:\s+(\d+)")
# `balance`: the asset row (Asset, Total, Total ($), Allocated) and the exchange total, in the global token's symbol.
USDC_ROW = re.compile(rf"USDC\s+{SIMULATOR_BALANCE}\.0000\s+{SIMULATOR_BALANCE}\s+0%")
EXCHANGE_TOTAL = f"Total: $ {SIMULATOR_BALANCE}"
EXCHANGES_TOTAL = f"Exchanges Total: $ {SIMULATOR_BALANCE}"
TOKEN_RATE = re.compile(rf"1 {BASE} = \$ ([0-9.]+) USDC")
RATE_SOURCE = "Source: vest_perpetual"
LOG_PROBLEMS = ("Error fetching", "Couldn't fetch newest prices", "Unexpected error while retrieving rates")

# The guard, run by the child's interpreter at start-up (before any other import). `socket.getaddrinfo` is what
# asyncio's `loop.getaddrinfo` (and so aiohttp's default resolver) calls; `socket.socket.connect`/`connect_ex` are
# what asyncio's `sock_connect` and `socket.create_connection` call.
GUARD = f'''
import errno
import ipaddress
import os
import socket

_RECORD = os.environ["{RECORD_ENV_VAR}"]


def _is_loopback(host):
    if isinstance(host, bytes):
        host = host.decode()
    if host is None or host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


def _record(what):
    with open(_RECORD, "a") as record:
        record.write(what + "\\n")


_getaddrinfo = socket.getaddrinfo


def getaddrinfo(host, port, *args, **kwargs):
    if not _is_loopback(host):
        _record(f"getaddrinfo {{host}}:{{port}}")
        raise socket.gaierror(socket.EAI_NONAME, f"{{host}}: no network (test guard)")
    return _getaddrinfo(host, port, *args, **kwargs)


def _guarded(connect):
    def guarded_connect(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address[0]):
            _record(f"connect {{address[0]}}:{{address[1]}}")
            raise OSError(errno.ENETUNREACH, f"{{address[0]}}: network unreachable (test guard)")
        return connect(sock, address)
    return guarded_connect


socket.getaddrinfo = getaddrinfo
socket.socket.connect = _guarded(socket.socket.connect)
socket.socket.connect_ex = _guarded(socket.socket.connect_ex)
with open(os.environ["{ARMED_ENV_VAR}"], "w") as armed:
    armed.write(str(os.getpid()))
'''
GUARD_CHECK_SCRIPT = """
import socket
for connect in (lambda: socket.create_connection(("example.com", 443), timeout=5),
                lambda: socket.socket().connect(("93.184.215.14", 443))):  # a public address: no look-up
    try:
        connect()
        print("reached")
    except OSError as error:
        print("refused", error.errno)
"""
# conf_client.yml as the launcher writes it on first use, then the two settings the README names, and no paper-trade
# exchanges: with Hummingbot's default list (binance, kucoin, kraken, gate_io) the CLI looks up api.binance.com,
# api.kucoin.com, api.kraken.com and api.gateio.ws at start-up, to fetch those exchanges' trading pairs for the
# completer (`TradingPairFetcher`), whatever the rate source; they are also price sites' hosts, so the guard could not
# tell such a look-up from a price request. Without them, the CLI must attempt nothing off loopback at all.
CONFIGURE_SCRIPT = """
from vest_hummingbot import launcher
launcher.use_home()
launcher.prepare_home()
from hummingbot.client import settings
from hummingbot.client.config.client_config_map import ClientConfigMap
from hummingbot.client.config.config_helpers import ClientConfigAdapter, read_yml_file, save_to_yml
data = read_yml_file(settings.CLIENT_CONFIG_PATH)
data["rate_oracle_source"] = {"name": "vest_perpetual"}
data["global_token"]["global_token_name"] = "USDC"
data["paper_trade"]["paper_trade_exchanges"] = []
save_to_yml(settings.CLIENT_CONFIG_PATH, ClientConfigAdapter(ClientConfigMap(**data)))
"""


class BalanceWithoutInternetTest(unittest.TestCase):
    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.tmp = Path(tmp.name)
        self.home = self.tmp / "home"
        self.guard_dir = self.tmp / "guard"
        self.guard_dir.mkdir()
        (self.guard_dir / "sitecustomize.py").write_text(GUARD)
        self.record = self.tmp / "refused.txt"
        self.record.write_text("")
        self.armed = self.tmp / "armed.txt"
        python_path = os.pathsep.join(filter(None, (str(self.guard_dir), os.environ.get("PYTHONPATH"))))
        self.guarded_env = child_env(VEST_HB_HOME=str(self.home), PYTHONPATH=python_path,
                                     **{RECORD_ENV_VAR: str(self.record), ARMED_ENV_VAR: str(self.armed)})
        self.cli = None

    def tearDown(self):
        if self.cli is not None:
            self.cli.close()

    def _wait(self, text: str, timeout: float = STEP_TIMEOUT) -> None:
        self.assertTrue(self.cli.wait_for_text(text, timeout), f"never saw {text!r}:\n{self.cli.screen.text()}")

    def _wait_match(self, pattern: re.Pattern, timeout: float = STEP_TIMEOUT) -> re.Match:
        self.assertTrue(self.cli.wait_for(lambda screen: pattern.search(screen) is not None, timeout),
                        f"never saw {pattern.pattern!r}:\n{self.cli.screen.text()}")
        return pattern.search(self.cli.screen.text())

    def _refused(self) -> List[str]:
        return self.record.read_text().splitlines()

    def _check_guard_refuses(self) -> None:
        """The guard, in a bare interpreter: a look-up and a connection off loopback fail, and are recorded."""
        checked = run_python(["-c", GUARD_CHECK_SCRIPT], self.guarded_env, SCRIPT_TIMEOUT)
        self.assertEqual(0, checked.returncode, checked.stderr)
        self.assertEqual([f"refused {socket.EAI_NONAME}", f"refused {errno.ENETUNREACH}"], checked.stdout.splitlines())
        self.assertEqual(["getaddrinfo example.com:443", "connect 93.184.215.14:443"], self._refused())
        self.record.write_text("")

    def _configure_rate_source(self) -> None:
        configured = run_python(["-c", CONFIGURE_SCRIPT], child_env(VEST_HB_HOME=str(self.home)), SCRIPT_TIMEOUT)
        self.assertEqual(0, configured.returncode, configured.stderr)
        conf = (self.home / "conf" / "conf_client.yml").read_text()
        self.assertRegex(conf, r"rate_oracle_source:\s*\n\s+name: vest_perpetual\n")
        self.assertRegex(conf, r"global_token:\s*\n\s+global_token_name: USDC\n")
        self.assertRegex(conf, r"paper_trade_exchanges: \[\]\n")

    @staticmethod
    def _set_index_price(simulator_url: str, symbol: str, price: Decimal) -> None:
        """The simulator's admin route (on loopback, from the test process: not under the guard)."""
        request = urllib.request.Request(f"{simulator_url}/_sim/price", method="POST",
                                         data=json.dumps({"symbol": symbol, "price": str(price)}).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=STEP_TIMEOUT) as response:
            json.load(response)

    def test_balance_and_rate_come_from_vest_with_the_internet_unreachable(self):
        self._check_guard_refuses()
        self._configure_rate_source()

        env = {**self.guarded_env, "CONFIG_PASSWORD": PASSWORD, "TERM": "xterm-256color"}
        self.cli = cli = PtyProcess([sys.executable, "-m", "vest_hummingbot", "--simulator"], env, PROJECT_ROOT,
                                    ROWS, COLS)
        self._wait(BANNER_END, START_TIMEOUT)
        self.assertEqual(str(cli.process.pid), self.armed.read_text(), "the guard is not armed in the CLI")
        screen = cli.screen.text()
        simulator_url = SIMULATOR_URL.search(screen).group(1)
        api_key, signing_key = API_KEY.search(screen).group(1), SIGNING_KEY.search(screen).group(1)
        account_group = ACCOUNT_GROUP.search(screen).group(1)
        # Before anything asks for prices (the rate source caches them 30 s).
        self._set_index_price(simulator_url, SYMBOL, SET_PRICE)

        cli.type_line("connect vest_perpetual")
        self._wait("Enter your Vest API key")
        cli.paste_line(api_key)
        self._wait("Enter your Vest signing private key")
        cli.paste_line(signing_key)
        self._wait("Enter your Vest account group")
        cli.paste_line(account_group)
        self._wait(CONNECTED)

        cli.type_line("balance")
        self._wait(EXCHANGES_TOTAL)
        balance = cli.screen.text()
        self.assertIn("vest_perpetual:", balance)
        self.assertRegex(balance, r"Asset\s+Total\s+Total \(\$\)\s+Allocated")
        self.assertRegex(balance, USDC_ROW)
        self.assertIn(EXCHANGE_TOTAL, balance)
        self.assertNotIn("A network error prevented the balances to update", balance)

        cli.type_line(f"rate --token {BASE}")
        rate = Decimal(self._wait_match(TOKEN_RATE).group(1))
        self.assertIn(RATE_SOURCE, cli.screen.text())
        self.assertLess(abs(rate - SET_PRICE), SET_PRICE * PRICE_TOLERANCE, f"1 {BASE} = {rate} USDC")

        cli.type_line("exit")
        self.assertEqual(0, cli.wait_exit(EXIT_TIMEOUT), cli.screen.text())

        refused = self._refused()
        self.assertEqual([], refused, "the CLI tried to reach the internet")
        # A price fetch that fails is logged here, e.g. "hummingbot.core.rate_oracle.sources.rate_source_base -
        # ERROR - Unexpected error while retrieving rates from Vest" when the venue cannot be reached.
        log = self.home / "logs" / "logs_hummingbot.log"
        self.assertTrue(log.is_file(), f"no Hummingbot log at {log}")
        logs = log.read_text()
        for problem in LOG_PROBLEMS:
            self.assertNotIn(problem, logs)
        rate_oracle_errors = [line for line in logs.splitlines()
                              if "rate_oracle" in line and re.search(r" - (ERROR|WARNING|NETWORK) - ", line)]
        self.assertEqual([], rate_oracle_errors)
