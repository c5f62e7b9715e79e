"""`python -m vest_hummingbot.demo [--duration 60] [--seed 7]`: real Hummingbot trading vest_perpetual, locally.

1. starts the Vest simulator in this process on a free loopback port and funds a fresh account;
2. stores the account's keys encrypted in a project-local keystore (`run/demo/conf`, as `connect` would) next to the
   shipped `perpetual_market_making` config (`conf/strategies/conf_vest_perpetual_mm.yml`);
3. runs Hummingbot headless (its clock, connector and strategy) for `--duration` seconds, printing progress. Vest is
   taker-only: a LIMIT order rests until the index price crosses it, so every few seconds the demo moves the
   simulator's index just past one resting order (the opening side when flat, the closing side when in a position);
4. stops the way Hummingbot's `stop` does (strategy, open orders, connector, clock) and prints a summary.

Exit code 0 only if Hummingbot saw a fill, held a non-zero position and left no open order on the venue.
"""
import argparse
import asyncio
import os
import shutil
import signal
import sys
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional, Sequence

from vest_hummingbot import PROJECT_ROOT, launcher

if TYPE_CHECKING:
    from hummingbot.client.hummingbot_application import HummingbotApplication
    from vest_simulator import SimAccount, VestSimulator

DESCRIPTION = "Real Hummingbot trading vest_perpetual against a local Vest simulator."
DEFAULT_DURATION = 60.0
DEFAULT_SEED = 7
DEMO_HOME = PROJECT_ROOT / "run" / "demo"
HOME_MARKER = ".vest-demo-home"  # only a folder carrying this marker is ever wiped
DEMO_PASSWORD_ENV_VAR = "VEST_DEMO_PASSWORD"
DEFAULT_DEMO_PASSWORD = "vest-demo"  # guards only the throwaway simulator keys of run/demo
STRATEGY_FILE = "conf_vest_perpetual_mm.yml"  # shipped in conf/strategies/, copied by launcher.prepare_home()
CONNECTOR = launcher.CONNECTOR
TRADING_PAIR = "BTC-USDC"
BASE = "BTC"
SYMBOL = "BTC-PERP"
SIZE_DECIMALS = 4  # BTC-PERP sizeDecimals, for display
ACCOUNT_BALANCE = Decimal("10000")
SAMPLE_INTERVAL = 0.5  # seconds between position / order samples
PROGRESS_INTERVAL = 5.0  # seconds between progress lines
NUDGE_INTERVAL = 6.0  # seconds between index moves (the first one as soon as an order rests)
NUDGE_BEYOND = Decimal("0.003")  # move the index 0.3% past a limit: clears the AMM half-spread and premium
SETTLE_DELAY = 1.0  # seconds for the connector's network tasks to finish after stop
HTTP_TIMEOUT = 10.0
VALUE_WIDTH = 24  # summary table: room for the value column
ZERO = Decimal(0)


# ---- pieces (pure) ----------------------------------------------------------------------------------------------
def connector_keys(account: "SimAccount") -> Dict[str, Any]:
    """The three `connect vest_perpetual` answers for a simulator account."""
    return {f"{CONNECTOR}_api_key": account.api_key,
            f"{CONNECTOR}_signing_private_key": account.signing_private_key,
            f"{CONNECTOR}_account_group": account.account_group}


def reset_home(home: Path) -> Path:
    """Start every demo from an empty home (keys, trades DB, logs); refuses non-empty folders it did not create."""
    if home.exists():
        if any(home.iterdir()) and not (home / HOME_MARKER).exists():
            raise launcher.LauncherError(f"{home} exists and is not a demo folder; pass another --home.")
        shutil.rmtree(home)
    home.mkdir(parents=True)
    (home / HOME_MARKER).touch()
    return home


def _limit_price(row: Mapping[str, Any]) -> Decimal:
    return Decimal(row["limitPrice"])


@dataclass(frozen=True)
class Nudge:
    order_id: str
    is_buy: bool
    limit_price: Decimal
    index_price: Decimal


def choose_nudge(order_rows: Sequence[Mapping[str, Any]], symbol: str, position: Decimal,
                 prefer_buy: bool) -> Optional[Nudge]:
    """Pick the resting LIMIT to fill next and the index price that fills it (docs/vest-protocol.md §6.2).

    In a position, close it (a sell when long, a buy when short); when flat, open on the preferred side if a
    resting order is there, else on the other side. The best-priced order of the side is chosen.
    """
    resting = [row for row in order_rows
               if row["status"] == "NEW" and row["symbol"] == symbol and row["orderType"] == "LIMIT"]
    if position != ZERO:
        sides = [position < ZERO]
    else:
        sides = [prefer_buy, not prefer_buy]
    for is_buy in sides:
        candidates = [row for row in resting if row["isBuy"] == is_buy]
        if not candidates:
            continue
        best = max(candidates, key=_limit_price) if is_buy else min(candidates, key=_limit_price)
        limit = _limit_price(best)
        index = limit * (1 - NUDGE_BEYOND) if is_buy else limit * (1 + NUDGE_BEYOND)
        return Nudge(best["id"], is_buy, limit, index)
    return None


@dataclass
class HummingbotStats:
    """What Hummingbot itself reported during the run (connector events and sampled positions)."""

    created: int = 0
    filled: int = 0
    cancelled: int = 0
    failed: int = 0
    max_abs_position: Decimal = ZERO
    position_seen: bool = False


@dataclass(frozen=True)
class Summary:
    placed: int
    filled: int
    cancelled: int
    rejected: int
    open_orders: int
    final_position: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    fees: Decimal
    funding: Decimal
    balance: Decimal
    hummingbot: HummingbotStats = field(default_factory=HummingbotStats)

    @property
    def passed(self) -> bool:
        return self.hummingbot.filled >= 1 and self.hummingbot.position_seen and self.open_orders == 0


def _decimal(value: Any) -> Decimal:
    return Decimal(str(value)) if value not in (None, "") else ZERO


def summarize(order_rows: Sequence[Mapping[str, Any]], account: Mapping[str, Any], symbol: str,
              hummingbot: HummingbotStats) -> Summary:
    """Totals from the venue's own records: `GET /orders` rows and `GET /account` (docs/vest-protocol.md §3.3, §3.8).

    `realizedPnl` already includes fees and funding (§3.8); fees include the AMM premium.
    """
    rows = [row for row in order_rows if row["symbol"] == symbol]
    filled = [row for row in rows if row["status"] == "FILLED"]
    positions = [p for p in account.get("positions", []) if p["symbol"] == symbol]
    final_position = sum((_decimal(p["size"]) * (1 if p["isLong"] else -1) for p in positions), ZERO)
    usdc = [b for b in account.get("balances", []) if b["asset"] == "USDC"]
    return Summary(
        placed=len(rows), filled=len(filled),
        cancelled=sum(row["status"] == "CANCELLED" for row in rows),
        rejected=sum(row["status"] == "REJECTED" for row in rows),
        open_orders=sum(row["status"] in ("NEW", "PARTIALLY_FILLED") for row in rows),
        final_position=final_position,
        realized_pnl=sum((_decimal(row["realizedPnl"]) for row in filled), ZERO),
        unrealized_pnl=sum((_decimal(p["unrealizedPnl"]) for p in positions), ZERO),
        fees=sum((_decimal(row["fees"]) for row in filled), ZERO),
        funding=sum((_decimal(row["settledFunding"]) for row in filled), ZERO),
        balance=_decimal(usdc[0]["total"]) if usdc else ZERO,
        hummingbot=hummingbot)


def render_table(summary: Summary, base: str = BASE, size_decimals: int = SIZE_DECIMALS) -> List[str]:
    """The summary's figures; the verdict line is each demo's own (see `render_summary`)."""
    hb = summary.hummingbot
    rows = [
        ("Orders placed", f"{summary.placed}"),
        ("Orders filled", f"{summary.filled}"),
        ("Orders cancelled", f"{summary.cancelled}"),
        ("Orders rejected", f"{summary.rejected}"),
        ("Open orders left", f"{summary.open_orders}"),
        ("Final position", f"{summary.final_position:+.{size_decimals}f} {base}"),
        ("Realized PnL (incl. fees, funding)", f"{summary.realized_pnl:+.6f} USDC"),
        ("Unrealized PnL (incl. funding)", f"{summary.unrealized_pnl:+.6f} USDC"),
        ("Fees paid (incl. premium)", f"{summary.fees:.6f} USDC"),
        ("Funding settled", f"{summary.funding:+.6f} USDC"),
        ("USDC balance", f"{summary.balance:.6f} USDC"),
        ("Hummingbot events: created/filled/cancelled/failed",
         f"{hb.created}/{hb.filled}/{hb.cancelled}/{hb.failed}"),
        ("Largest position Hummingbot held", f"{hb.max_abs_position:.{size_decimals}f} {base}"),
    ]
    width = max(len(label) for label, _ in rows)
    rule = "-" * (width + VALUE_WIDTH)
    return (["", "Summary (venue records; Hummingbot's own view in the last two rows)", rule]
            + [f"  {label:<{width}}  {value}" for label, value in rows] + [rule])


def render_summary(summary: Summary, base: str = BASE, size_decimals: int = SIZE_DECIMALS) -> List[str]:
    hb = summary.hummingbot
    return render_table(summary, base, size_decimals) + [
        f"Result: {'PASS' if summary.passed else 'FAIL'} (fill seen: {hb.filled >= 1}, position held: "
        f"{hb.position_seen}, no open orders: {summary.open_orders == 0})"]


# ---- the run ----------------------------------------------------------------------------------------------------
class VenueClient:
    """Read-only calls to the venue's documented REST API with the account's API key (§3.1, §3.3, §3.8)."""

    def __init__(self, rest_url: str, api_key: str, account_group: int):
        import aiohttp
        self._rest_url = rest_url
        self._headers = {"X-API-KEY": api_key, "xrestservermm": f"restserver{account_group}"}
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=HTTP_TIMEOUT))

    async def _get(self, path: str, **params: Any) -> Any:
        params["time"] = int(time.time() * 1000)
        async with self._session.get(f"{self._rest_url}{path}", params=params, headers=self._headers) as response:
            response.raise_for_status()
            return await response.json()

    async def orders(self) -> List[Dict[str, Any]]:
        return await self._get("/orders")

    async def account(self) -> Dict[str, Any]:
        return await self._get("/account")

    async def close(self) -> None:
        await self._session.close()


class DemoRun:
    """One demo: a simulator, a Hummingbot application, a monitor loop and the final checks."""

    def __init__(self, sim: "VestSimulator", account: "SimAccount", app: "HummingbotApplication", duration: float):
        from hummingbot.core.event.event_forwarder import SourceInfoEventForwarder
        self.sim, self.account, self.app, self.duration = sim, account, app, duration
        self.stats = HummingbotStats()
        self.venue = VenueClient(sim.rest_url, account.api_key, account.account_group)
        self._forwarder = SourceInfoEventForwarder(self._on_event)  # keep a reference: listeners are weak
        self._prefer_buy = True
        self._stop = asyncio.Event()

    @property
    def connector(self):
        return self.app.trading_core.connectors.get(CONNECTOR)

    def attach(self) -> None:
        from hummingbot.core.event.events import MarketEvent
        for event in (MarketEvent.BuyOrderCreated, MarketEvent.SellOrderCreated, MarketEvent.OrderFilled,
                      MarketEvent.OrderCancelled, MarketEvent.OrderFailure):
            self.connector.add_listener(event, self._forwarder)

    def _on_event(self, tag: int, _caller: Any, _event: Any) -> None:
        from hummingbot.core.event.events import MarketEvent
        event = MarketEvent(tag)
        if event in (MarketEvent.BuyOrderCreated, MarketEvent.SellOrderCreated):
            self.stats.created += 1
        elif event is MarketEvent.OrderFilled:
            self.stats.filled += 1
        elif event is MarketEvent.OrderCancelled:
            self.stats.cancelled += 1
        else:
            self.stats.failed += 1

    def position(self) -> Decimal:
        """Hummingbot's view of the BTC-USDC position (signed)."""
        positions = self.connector.account_positions.values() if self.connector is not None else ()
        return sum((p.amount for p in positions if p.trading_pair == TRADING_PAIR), ZERO)

    def request_stop(self) -> None:
        self._stop.set()

    async def monitor(self) -> None:
        """Sample, nudge and report until the duration ends (or Ctrl-C)."""
        start = time.monotonic()
        next_progress, last_nudge = PROGRESS_INTERVAL, -NUDGE_INTERVAL
        while not self._stop.is_set():
            elapsed = time.monotonic() - start
            if elapsed >= self.duration:
                break
            position = self.position()
            if position != ZERO:
                self.stats.position_seen = True
                self.stats.max_abs_position = max(self.stats.max_abs_position, abs(position))
            if elapsed - last_nudge >= NUDGE_INTERVAL and self._nudge(position):
                last_nudge = elapsed
            if elapsed >= next_progress:
                next_progress += PROGRESS_INTERVAL
                print(await self._progress_line(elapsed, position), flush=True)
            try:
                await asyncio.wait_for(self._stop.wait(), SAMPLE_INTERVAL)
            except asyncio.TimeoutError:
                pass

    def _nudge(self, position: Decimal) -> bool:
        """Move the index past one resting order (see `choose_nudge`); False if none rests."""
        nudge = choose_nudge(self.sim.orders(self.account.primary_address), SYMBOL, position, self._prefer_buy)
        if nudge is None:
            return False
        if position == ZERO:
            self._prefer_buy = not nudge.is_buy  # alternate long and short entries
        self.sim.set_index_price(SYMBOL, nudge.index_price)
        side = "buy" if nudge.is_buy else "sell"
        print(f"         simulator: index {SYMBOL} -> {nudge.index_price:.1f}, crossing the resting {side} "
              f"at {nudge.limit_price}", flush=True)
        return True

    async def _progress_line(self, elapsed: float, position: Decimal) -> str:
        rows = await self.venue.orders()
        open_orders = sum(row["status"] == "NEW" for row in rows)
        connector = self.connector
        ready = connector is not None and connector.ready
        index = self.sim.market.state(SYMBOL).index
        state = "" if ready else f" | connector not ready: {connector.status_dict if connector else 'none'}"
        return (f"[{elapsed:5.1f}s] open orders {open_orders} | fills {self.stats.filled} | "
                f"position {position:+.{SIZE_DECIMALS}f} {BASE} | index {index}{state}")

    async def finish(self) -> Summary:
        """Hummingbot's stop, then the venue's final records."""
        print("Stopping Hummingbot: strategy, open orders, connector, clock...", flush=True)
        await launcher.stop_headless(self.app)
        await asyncio.sleep(SETTLE_DELAY)
        try:
            return summarize(await self.venue.orders(), await self.venue.account(), SYMBOL, self.stats)
        finally:
            await self.venue.close()


def strategy_intro(duration: float, log_path: Path) -> List[str]:
    return [f"Starting Hummingbot headless: perpetual_market_making on {CONNECTOR} {TRADING_PAIR} "
            f"(conf/strategies/{STRATEGY_FILE}) for {duration:.0f}s; log: {log_path}",
            "The strategy sets its position mode on its 10th tick, so its first orders appear after ~10 s."]


async def run_demo(duration: float, seed: int, password: str, strategy_file: str = STRATEGY_FILE, v2: bool = False,
                   intro: Callable[[float, Path], List[str]] = strategy_intro) -> Summary:
    """The whole demo inside one event loop; returns the summary. `strategy_file` (a V2 config with `v2`) is
    started headless from the demo's home; `intro` gives the lines that say what runs."""
    from vest_simulator import VestSimulator
    async with VestSimulator(seed=seed) as sim:
        launcher.point_connector_at(sim.rest_url, sim.ws_url)
        account = sim.create_account(balance=ACCOUNT_BALANCE)
        secrets_manager = launcher.unlock_keystore(password)
        launcher.save_connector_keys(CONNECTOR, connector_keys(account))
        log_name = Path(strategy_file).stem
        print(f"Vest simulator on {sim.rest_url} (seed {seed}); account {account.primary_address} funded with "
              f"{ACCOUNT_BALANCE} USDC.", flush=True)
        for line in intro(duration, launcher.log_file(log_name)):
            print(line, flush=True)
        app = await launcher.start_headless(secrets_manager, strategy_file, log_name, v2)
        run = DemoRun(sim, account, app, duration)
        run.attach()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, run.request_stop)
        try:
            await run.monitor()
        finally:
            summary = await run.finish()
        return summary


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m vest_hummingbot.demo", description=DESCRIPTION)
    parser.add_argument("--duration", type=float, default=DEFAULT_DURATION, help="seconds of trading")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="simulator seed")
    parser.add_argument("--home", type=Path, default=DEMO_HOME,
                        help="demo folder for conf/, logs/, data/ (wiped at start)")
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    try:
        home = launcher.use_home(reset_home(args.home.resolve()))
        launcher.prepare_home()
        password = os.environ.get(DEMO_PASSWORD_ENV_VAR) or DEFAULT_DEMO_PASSWORD
        summary = asyncio.run(run_demo(args.duration, args.seed, password))
    except launcher.LauncherError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 2
    print("\n".join(render_summary(summary)))
    print(f"Hummingbot files for this run: {home}")
    return 0 if summary.passed else 1


if __name__ == "__main__":
    sys.exit(main())
