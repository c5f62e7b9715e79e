"""`python -m vest_hummingbot.v2_demo [--duration 60] [--seed 7]`: Hummingbot's V2 framework trading vest_perpetual,
locally.

The same run as `vest_hummingbot.demo` (simulator, keys, headless Hummingbot, index moved across resting orders,
Hummingbot's stop, venue summary), with the project's V2 script `v2_vest_runner` and its Vest controller
`vest_trigger_mm` (shipped in `vest_hummingbot/home/`, seeded into the demo's home) instead of a V1 strategy.

Exit code 0 only if Hummingbot reported every fill the venue made exactly once (at least one), and nothing was left
open: no open order on the venue and no position (stopping a V2 script closes its executors' positions).
"""
import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import List, Optional

from vest_hummingbot import PROJECT_ROOT, demo, launcher

DESCRIPTION = "Hummingbot's V2 framework (script + controller) trading vest_perpetual against a local Vest simulator."
V2_DEMO_HOME = PROJECT_ROOT / "run" / "v2-demo"
V2_CONFIG = "conf_v2_vest_runner.yml"  # shipped in vest_hummingbot/home/conf/scripts/, copied by prepare_home()
CONTROLLER_CONFIG = "conf_vest_trigger_mm.yml"  # the controller config it names


def v2_intro(duration: float, log_path: Path) -> List[str]:
    return [f"Starting Hummingbot headless: V2 script v2_vest_runner with controller vest_trigger_mm on "
            f"{demo.CONNECTOR} {demo.TRADING_PAIR} (conf/scripts/{V2_CONFIG}, conf/controllers/{CONTROLLER_CONFIG}) "
            f"for {duration:.0f}s; log: {log_path}",
            "Each order is a LIMIT trigger 0.5% from the index; once one fills, the controller keeps that side only, "
            "with a take-profit trigger, until the position is closed."]


def passed(summary: demo.Summary) -> bool:
    hummingbot = summary.hummingbot
    return (hummingbot.filled >= 1 and hummingbot.filled == summary.filled and summary.open_orders == 0
            and summary.final_position == 0)


def render_summary(summary: demo.Summary) -> List[str]:
    return demo.render_table(summary) + [
        f"Result: {'PASS' if passed(summary) else 'FAIL'} (fills venue/Hummingbot: {summary.filled}/"
        f"{summary.hummingbot.filled}, no open orders: {summary.open_orders == 0}, "
        f"flat at the end: {summary.final_position == 0})"]


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m vest_hummingbot.v2_demo", description=DESCRIPTION)
    parser.add_argument("--duration", type=float, default=demo.DEFAULT_DURATION, help="seconds of trading")
    parser.add_argument("--seed", type=int, default=demo.DEFAULT_SEED, help="simulator seed")
    parser.add_argument("--home", type=Path, default=V2_DEMO_HOME,
                        help="demo folder for conf/, logs/, data/, scripts/, controllers/ (wiped at start)")
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    try:
        home = launcher.use_home(demo.reset_home(args.home.resolve()))
        launcher.prepare_home()
        password = os.environ.get(demo.DEMO_PASSWORD_ENV_VAR) or demo.DEFAULT_DEMO_PASSWORD
        summary = asyncio.run(demo.run_demo(args.duration, args.seed, password, V2_CONFIG, v2=True, intro=v2_intro))
    except launcher.LauncherError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 2
    print("\n".join(render_summary(summary)))
    print(f"Hummingbot files for this run: {home}")
    return 0 if passed(summary) else 1


if __name__ == "__main__":
    sys.exit(main())
