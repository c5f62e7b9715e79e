"""Fault report: every fault scenario once, against the real connector and the simulator, as a summary table.

    .venv/bin/python bench/fault_report.py [--only ws_drops,http_429] [--quick] [--strict]

The scenarios are those of the test suite (project_tests/connector/fault_scenarios.py)
with longer durations: WebSocket drops every 2.5 s for a full minute, 10 s windows of HTTP errors. `--quick` uses
the test suite's short durations. The table (Markdown) lists fault | injected | survived | evidence; the reasons
of every "no" follow it. The exit status is 0 unless `--strict` is given and a scenario failed.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from project_tests.connector import fault_scenarios as scenarios  # noqa: E402
from project_tests.connector.fault_scenarios import headless  # noqa: E402

# name -> (full-length factory, quick factory)
RUNS: Dict[str, Tuple[Callable, Callable]] = {
    "ws_drops": (lambda: scenarios.ws_drops(duration=60.0, interval=2.5),
                 lambda: scenarios.ws_drops(duration=20.0, interval=2.5)),
    "listen_key": (scenarios.listen_key_lifecycle, scenarios.listen_key_lifecycle),
    "http_429": (lambda: scenarios.http_errors(statuses=(429,), rate=0.25, window=10.0),
                 lambda: scenarios.http_errors(statuses=(429,), rate=0.25, window=6.0)),
    "http_5xx": (lambda: scenarios.http_errors(statuses=(503,), rate=0.25, window=10.0),
                 lambda: scenarios.http_errors(statuses=(503,), rate=0.25, window=6.0)),
    "dropped_order_response": (scenarios.dropped_order_response, scenarios.dropped_order_response),
    "cancel_fill_race": (scenarios.cancel_fill_race, scenarios.cancel_fill_race),
    "clock_skew": (scenarios.clock_skew, scenarios.clock_skew),
    "reconnect_under_load": (scenarios.reconnect_under_load, scenarios.reconnect_under_load),
}


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


async def run_all(names: List[str], quick: bool) -> List[Tuple[str, scenarios.ScenarioResult, float]]:
    results = []
    for name in names:
        full, short = RUNS[name]
        started = time.monotonic()
        print(f"running {name} ...", file=sys.stderr, flush=True)
        try:
            result = await asyncio.wait_for((short if quick else full)(), 300)
        except Exception as error:  # a scenario that crashes is a "no" with its error as evidence
            result = scenarios.ScenarioResult(fault=name, injected="-", evidence="scenario crashed",
                                              problems=[f"{type(error).__name__}: {error}"])
        results.append((name, result, time.monotonic() - started))
    return results


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help=f"comma-separated subset of: {', '.join(RUNS)}")
    parser.add_argument("--quick", action="store_true", help="the test suite's short durations")
    parser.add_argument("--strict", action="store_true", help="exit 1 if any scenario failed")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",")] if args.only else list(RUNS)
    unknown = [n for n in names if n not in RUNS]
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(unknown)}")
    headless()
    logging.getLogger("hummingbot").setLevel(logging.CRITICAL)  # reconnect and refusal warnings are the point here
    results = asyncio.run(run_all(names, args.quick))

    print("| fault | injected | survived | evidence |")
    print("|---|---|---|---|")
    for _, result, _ in results:
        print(f"| {cell(result.fault)} | {cell(result.injected)} | {'yes' if result.survived else 'no'} | "
              f"{cell(result.evidence)} |")
    failed = [(name, result) for name, result, _ in results if not result.survived]
    if failed:
        print()
        for name, result in failed:
            print(f"{result.fault} ({name}) did not survive:")
            for problem in result.problems:
                print(f"  - {problem}")
    print(f"\n{len(results) - len(failed)}/{len(results)} survived in "
          f"{sum(seconds for _, _, seconds in results):.0f} s", file=sys.stderr)
    return 1 if failed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
