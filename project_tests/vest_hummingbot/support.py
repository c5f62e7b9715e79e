"""Test support: a simulator on a background thread, a pseudo-terminal child process and a tiny VT100 screen."""
import asyncio
import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
import unicodedata
from decimal import Decimal
from pathlib import Path
from typing import Callable, Dict, List, Optional

PROJECT_ROOT = Path(__file__).resolve().parents[2]
LAUNCHER_ENV_VARS = ("CONFIG_PASSWORD", "HBOT_PASSWORD", "VEST_DEMO_PASSWORD", "VEST_HB_HOME",
                     "VEST_PERPETUAL_REST_URL", "VEST_PERPETUAL_WS_URL")
START_TIMEOUT = 30.0
READ_CHUNK = 65536
POLL_INTERVAL = 0.1
KEY_DELAY = 0.03  # seconds between typed characters
ENTER_DELAY = 1.0  # let prompt_toolkit's completer settle before Enter, as after a human's typing
BRACKETED_PASTE_START, BRACKETED_PASTE_END = "\x1b[200~", "\x1b[201~"


def child_env(**extra: str) -> Dict[str, str]:
    """The current environment without any launcher/demo settings, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if k not in LAUNCHER_ENV_VARS}
    env.update(extra)
    return env


def run_python(args: List[str], env: Dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    """`python <args>` from the project root with the test interpreter (the project's venv)."""
    return subprocess.run([sys.executable, *args], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


class SimulatorThread:
    """A seeded `VestSimulator` on a free loopback port, served by its own event loop on a daemon thread."""

    def __init__(self, seed: int = 7):
        from vest_simulator import VestSimulator
        self.loop = asyncio.new_event_loop()
        self.sim = VestSimulator(seed=seed)
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> "SimulatorThread":
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.sim.start(), self.loop).result(START_TIMEOUT)
        return self

    def __exit__(self, *exc) -> None:
        asyncio.run_coroutine_threadsafe(self.sim.stop(), self.loop).result(START_TIMEOUT)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(START_TIMEOUT)
        self.loop.close()

    def create_account(self, balance: Decimal):
        async def create():
            return self.sim.create_account(balance=balance)
        return asyncio.run_coroutine_threadsafe(create(), self.loop).result(START_TIMEOUT)

    def connector_env(self) -> Dict[str, str]:
        return {"VEST_PERPETUAL_REST_URL": self.sim.rest_url, "VEST_PERPETUAL_WS_URL": self.sim.ws_url}


class Screen:
    """Just enough of a VT100 to render prompt_toolkit: cursor moves, erase, text; colours and modes ignored."""

    _TOKEN = re.compile(r"\x1b\[([0-9;?]*)([@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[=>78DEHMc]"
                        r"|[^\x1b]")

    _INCOMPLETE = re.compile(r"\x1b(\[[0-9;?]*|\][^\x07\x1b]*|[()])?$")

    def __init__(self, rows: int, cols: int):
        self.rows, self.cols = rows, cols
        self.grid = [[" "] * cols for _ in range(rows)]
        self.row = self.col = 0
        self._pending = ""

    def feed(self, text: str) -> None:
        text, self._pending = self._pending + text, ""
        incomplete = self._INCOMPLETE.search(text)  # an escape sequence cut by the read: keep it for later
        if incomplete:
            text, self._pending = text[:incomplete.start()], text[incomplete.start():]
        for match in self._TOKEN.finditer(text):
            if match.group(2):
                self._csi(match.group(1), match.group(2))
            elif not match.group(0).startswith("\x1b"):
                self._char(match.group(0))

    def _csi(self, params: str, command: str) -> None:
        numbers = [int(p) for p in params.lstrip("?").split(";") if p.isdigit()] if not params.startswith("?") else []
        n = numbers[0] if numbers else 1
        if command == "A":
            self.row = max(0, self.row - n)
        elif command == "B":
            self.row = min(self.rows - 1, self.row + n)
        elif command == "C":
            self.col = min(self.cols - 1, self.col + n)
        elif command == "D":
            self.col = max(0, self.col - n)
        elif command in "Hf":
            self.row = min(self.rows, numbers[0] if numbers else 1) - 1
            self.col = min(self.cols, numbers[1] if len(numbers) > 1 else 1) - 1
        elif command == "J":
            mode = numbers[0] if numbers else 0
            rows = range(self.rows) if mode == 2 else range(self.row + 1, self.rows)
            for r in rows:
                self.grid[r] = [" "] * self.cols
            if mode != 2:
                self.grid[self.row][self.col:] = [" "] * (self.cols - self.col)
        elif command == "K":
            mode = numbers[0] if numbers else 0
            start = 0 if mode in (1, 2) else self.col
            end = self.col + 1 if mode == 1 else self.cols
            self.grid[self.row][start:end] = [" "] * (end - start)

    def _char(self, char: str) -> None:
        if char == "\r":
            self.col = 0
        elif char == "\n":
            if self.row == self.rows - 1:
                self.grid = self.grid[1:] + [[" "] * self.cols]
            else:
                self.row += 1
        elif char == "\b":
            self.col = max(0, self.col - 1)
        elif char >= " ":
            width = 2 if unicodedata.east_asian_width(char) in "WF" else 1
            if self.col + width <= self.cols:
                self.grid[self.row][self.col] = char
                if width == 2:
                    self.grid[self.row][self.col + 1] = ""
            self.col = min(self.cols - 1, self.col + width)

    def text(self) -> str:
        return "\n".join("".join(line).rstrip() for line in self.grid)


class PtyProcess:
    """A child process whose stdin/stdout/stderr are a pseudo-terminal of a given size; output feeds a Screen."""

    def __init__(self, argv: List[str], env: Dict[str, str], cwd: Path, rows: int, cols: int):
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.process = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=env,
                                        start_new_session=True, close_fds=True)
        os.close(slave)
        self.fd = master
        self.raw = b""
        self.screen = Screen(rows, cols)
        self._decoder_buffer = b""

    def _pump(self, timeout: float) -> None:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return
        try:
            data = os.read(self.fd, READ_CHUNK)
        except OSError:  # the child closed the terminal
            time.sleep(timeout)
            return
        self.raw += data
        self._decoder_buffer += data
        try:
            text = self._decoder_buffer.decode("utf-8")
            self._decoder_buffer = b""
        except UnicodeDecodeError:  # an incomplete multi-byte character: wait for the rest
            return
        self.screen.feed(text)

    def wait_for(self, condition: Callable[[str], bool], timeout: float) -> bool:
        """Read output until `condition(screen text)` holds or `timeout` passes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition(self.screen.text()):
                return True
            if self.process.poll() is not None:  # the child is gone: read what is left, then stop waiting
                self._pump(POLL_INTERVAL)
                break
            self._pump(POLL_INTERVAL)
        return condition(self.screen.text())

    def wait_for_text(self, text: str, timeout: float) -> bool:
        return self.wait_for(lambda screen: text in screen, timeout)

    def send(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def type_line(self, text: str) -> None:
        """Type `text` key by key, then Enter. Typed all at once, the completion menu that prompt_toolkit opens
        while typing can outlive the command and cover the output being checked."""
        for char in text:
            self.send(char)
            self._pump(KEY_DELAY)
        self.wait_for(lambda _: False, ENTER_DELAY)
        self.send("\r")

    def paste_line(self, text: str) -> None:
        """Paste `text` as a terminal does in bracketed-paste mode (which prompt_toolkit turns on): inserted as is,
        tabs and line breaks included (typed, a Tab completes and a line break is Enter); then Enter."""
        self.send(BRACKETED_PASTE_START + text + BRACKETED_PASTE_END)
        self.wait_for(lambda _: False, ENTER_DELAY)
        self.send("\r")

    def wait_exit(self, timeout: float) -> Optional[int]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            self._pump(POLL_INTERVAL)
        return self.process.poll()

    def close(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        os.close(self.fd)


class DemoMarketOnVenue:
    """The venue's view of the demo market, for tests holding `self.venue` (a `VenueThread`) and `self.account`."""

    def venue_rows(self) -> List[dict]:
        from vest_hummingbot.demo import SYMBOL
        return [row for row in self.venue.orders(self.account.primary_address) if row["symbol"] == SYMBOL]

    def venue_position(self) -> Decimal:
        from vest_hummingbot.demo import SYMBOL
        return self.venue.call(self.venue.sim.positions, self.account.primary_address).get(SYMBOL, Decimal(0))

    def resting_both_sides(self) -> List[dict]:
        """The rows, once a LIMIT rests on each side; else nothing."""
        rows = self.venue_rows()
        sides = {row["isBuy"] for row in rows if row["status"] == "NEW" and row["orderType"] == "LIMIT"}
        return rows if sides == {True, False} else []
