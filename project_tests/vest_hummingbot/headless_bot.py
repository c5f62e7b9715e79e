"""Test support: real Hummingbot run headless by the project's launcher in a child process, against a simulator served
by the test process; its home folder (keys, strategy config, order journal, trades DB, log) read from outside."""
import asyncio
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, TypeVar

from project_tests.vest_hummingbot.support import PROJECT_ROOT, SimulatorThread, child_env

T = TypeVar("T")
CONNECTOR = "vest_perpetual"
PASSWORD = "kill-restart"
SHIPPED_STRATEGY = PROJECT_ROOT / "conf" / "strategies" / "conf_vest_perpetual_mm.yml"
SETUP_TIMEOUT = 120.0
CALL_TIMEOUT = 10.0
POLL_INTERVAL = 0.05
OPEN_STATUSES = ("NEW", "PARTIALLY_FILLED")
TRADE_FILL_SCALE = 6  # Hummingbot stores TradeFill amounts as integers of 1e-6 (its SqliteDecimal(6) columns)
# What `connect vest_perpetual` would store (API key, signing key, account group), done the way the demo does it.
STORE_KEYS_SCRIPT = """
import json, sys
from vest_hummingbot import launcher
launcher.use_home(sys.argv[1])
launcher.prepare_home()
launcher.unlock_keystore(sys.argv[2])
launcher.save_connector_keys(launcher.CONNECTOR, json.loads(sys.stdin.read()))
"""


class VenueThread(SimulatorThread):
    """`SimulatorThread` whose simulator is only touched on its own event loop (it is not thread-safe)."""

    def call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        async def run() -> T:
            return function(*args, **kwargs)
        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(CALL_TIMEOUT)

    def orders(self, primary_address: str) -> List[Dict[str, Any]]:
        return self.call(self.sim.orders, primary_address)

    def set_faults(self, **switches: Any) -> None:
        self.call(self.sim.faults.set, **switches)

    def reset_faults(self) -> None:
        self.call(self.sim.faults.reset)

    def fault(self, name: str) -> Any:
        return self.call(getattr, self.sim.faults, name)

    def set_index_price(self, symbol: str, price: Decimal) -> None:
        self.call(self.sim.set_index_price, symbol, price)


def wait_until(condition: Callable[[], Any], timeout: float, what: str, process: Optional["HeadlessBot"] = None) -> Any:
    """Poll `condition` until it returns something truthy; fail with `what` (and the bot's log tail) after
    `timeout`, or as soon as the bot process has exited."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if process is not None and process.exited():
            raise AssertionError(f"Hummingbot exited ({process.returncode}) while waiting for {what}\n"
                                 f"{process.output_tail()}")
        if time.monotonic() > deadline:
            tail = process.output_tail() if process is not None else ""
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}\n{tail}")
        time.sleep(POLL_INTERVAL)


def strategy_config(name: str, **overrides: Any) -> str:
    """The shipped perpetual_market_making config with `key: value` lines replaced."""
    text = SHIPPED_STRATEGY.read_text()
    for key, value in overrides.items():
        text, count = re.subn(rf"^{key}: .*$", f"{key}: {value}", text, flags=re.MULTILINE)
        if count != 1:
            raise KeyError(f"{key} is not a line of {SHIPPED_STRATEGY.name}")
    return text


@dataclass
class JournalOrder:
    nonce: int
    client_order_id: str
    trade_type: str
    amount: Decimal
    signed_until_ms: int
    exchange_order_id: Optional[str] = None
    outcome: Optional[str] = None
    finished: bool = False


@dataclass
class HummingbotFill:
    order_id: str
    exchange_trade_id: str
    amount: Decimal


@dataclass
class BotHome:
    """A launcher home folder holding a simulator account's keys and a strategy config."""

    path: Path
    strategy_file: str
    log_name: str = field(init=False)

    def __post_init__(self):
        self.log_name = Path(self.strategy_file).stem

    @classmethod
    def create(cls, path: Path, keys: Mapping[str, Any], strategy_file: str, strategy_text: str) -> "BotHome":
        result = subprocess.run([sys.executable, "-c", STORE_KEYS_SCRIPT, str(path), PASSWORD], cwd=PROJECT_ROOT,
                                env=child_env(), input=json.dumps(dict(keys)), capture_output=True, text=True,
                                timeout=SETUP_TIMEOUT)
        if result.returncode != 0:
            raise AssertionError(f"storing the keys failed: {result.stdout}{result.stderr}")
        (path / "conf" / "strategies" / strategy_file).write_text(strategy_text)
        return cls(path, strategy_file)

    @property
    def data_dir(self) -> Path:
        return self.path / "data"

    @property
    def log_path(self) -> Path:
        return self.path / "logs" / f"logs_{self.log_name}.log"

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def journal(self) -> Dict[int, JournalOrder]:
        """The connector's order journal, read without opening it through the connector (which would rewrite it);
        a line cut by a kill is skipped, as the connector does."""
        orders: Dict[int, JournalOrder] = {}
        for path in self.data_dir.glob(f"{CONNECTOR}_orders_*.jsonl"):
            for line in path.read_text().splitlines():
                try:
                    fact = json.loads(line)
                except ValueError:
                    continue
                if "placed" in fact:
                    placed = fact["placed"]
                    orders[placed["nonce"]] = JournalOrder(
                        nonce=placed["nonce"], client_order_id=placed["client_order_id"],
                        trade_type=placed["trade_type"], amount=Decimal(placed["amount"]),
                        signed_until_ms=placed["signed_until_ms"],
                        exchange_order_id=placed.get("exchange_order_id"), outcome=placed.get("outcome"),
                        finished=placed.get("finished_at") is not None)
                    continue
                order = orders.get(fact.get("nonce"))
                if order is None:
                    continue
                if "exchange_order_id" in fact:
                    order.exchange_order_id = fact["exchange_order_id"]
                if "finished_at" in fact:
                    order.finished, order.outcome = fact["finished_at"] is not None, fact["outcome"]
        return orders

    def fills(self) -> List[HummingbotFill]:
        """Every fill Hummingbot recorded (its MarketsRecorder's TradeFill table)."""
        db_path = self.data_dir / f"{self.log_name}.sqlite"
        if not db_path.exists():
            return []
        with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as db:
            try:
                rows = db.execute("SELECT order_id, exchange_trade_id, amount FROM TradeFill").fetchall()
            except sqlite3.OperationalError:  # the table is created with the recorder
                return []
        return [HummingbotFill(order_id, trade_id, Decimal(amount).scaleb(-TRADE_FILL_SCALE))
                for order_id, trade_id, amount in rows]

    def start(self, venue: SimulatorThread, duration: float) -> "HeadlessBot":
        return HeadlessBot(self, venue, duration)


class HeadlessBot:
    """`python -m vest_hummingbot --headless` on a home folder, in its own process group, output to a file."""

    def __init__(self, home: BotHome, venue: SimulatorThread, duration: float):
        self.home = home
        self.log_offset = len(home.log_text())  # this run's part of the (appended) log starts here
        self.output_path = home.path / f"output-{time.monotonic_ns()}.txt"
        env = child_env(CONFIG_PASSWORD=PASSWORD, **venue.connector_env())
        with self.output_path.open("w") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "vest_hummingbot", "--home", str(home.path), "--headless", "--strategy",
                 home.strategy_file, "--duration", str(duration)],
                cwd=PROJECT_ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)

    @property
    def returncode(self) -> Optional[int]:
        return self.process.poll()

    def exited(self) -> bool:
        return self.process.poll() is not None

    def log(self) -> str:
        """This run's lines of Hummingbot's log."""
        return self.home.log_text()[self.log_offset:]

    def output(self) -> str:
        return self.output_path.read_text(errors="replace") if self.output_path.exists() else ""

    def output_tail(self, lines: int = 40) -> str:
        log = self.log().splitlines()[-lines:]
        return "--- stdout/stderr ---\n" + self.output()[-4000:] + "\n--- log tail ---\n" + "\n".join(log)

    def kill(self) -> None:
        """kill -9: no handler, no clean-up, nothing flushed that was not already."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self, timeout: float) -> int:
        """Hummingbot's graceful stop (the launcher's SIGTERM handler): strategy, open orders, connector, clock."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"Hummingbot did not stop within {timeout:.0f}s\n{self.output_tail()}")

    def close(self) -> None:
        """Whatever happened, leave no process behind."""
        if self.process.poll() is None:
            self.kill()
