"""Runs every benchmark and prints ONE table. The single entry point: `make bench` or

    .venv/bin/python bench/run.py [--runs 3] [--quick] [--only sign,depth,...] [--no-fail] [--profile PATH]
                                  [--market-seconds 30] [--push-interval 0.1]

Each benchmark runs `--runs` times (the scale session and the peer section once: each is long, or interleaves its
own repeats); the table shows the median of the measured values, the median of the reference values and the median
of the per-run ratios (a ratio is always measured against a reference from the same run).
Exit status 1 when a bar is missed (or a benchmark failed), unless `--no-fail`. See bench/README.md.
"""
from __future__ import annotations

import argparse
import asyncio
import cProfile
import functools
import io
import math
import pstats
import statistics
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import bench_connector as bc, bench_peers as bp, bench_scale as bs  # noqa: E402
from project_tests.connector.fault_scenarios import headless  # noqa: E402

Result = Dict[str, float]


# ---------------------------------------------------------------------------------------------------------------
# benchmarks: name -> (function, full-size kwargs, quick kwargs)
# ---------------------------------------------------------------------------------------------------------------
def simulator_benchmark(orders: int = 3000, concurrency: int = 32) -> Result:
    """bench/bench_simulator.py (owned by the simulator): start-up in-process and console, signed orders/s."""
    from bench import bench_simulator as bs

    async def run() -> Result:
        in_process = await bs.startup_in_process()
        process, rest_url, console = await bs.start_console_server()
        try:
            result = await bs.throughput(rest_url, orders, concurrency)
        finally:
            process.terminate()
            await process.wait()
        return {"sim_startup_s": in_process, "sim_console_startup_s": console, "sim_orders_per_s": result["rate"],
                "sim_accepted_share": result["accepted"] / orders}

    with bc.quiet_logging():
        return asyncio.run(run())


@dataclass(frozen=True)
class Benchmark:
    """`runs`: at most this many runs whatever `--runs` says (None: `--runs`)."""
    name: str
    function: Callable[..., Result]
    full: Dict[str, float]
    quick: Dict[str, float]
    runs: Optional[int] = None


BENCHMARKS: List[Benchmark] = [
    Benchmark("sign", bc.bench_sign, {"iterations": 5000, "peer_iterations": 500, "repeats": 5},
              {"iterations": 500, "peer_iterations": 50, "repeats": 3}),
    Benchmark("depth", bc.bench_depth, {"messages": 2000, "repeats": 5}, {"messages": 300, "repeats": 3}),
    Benchmark("pipeline", bc.bench_depth_pipeline, {"messages": 20000}, {"messages": 2000}),
    Benchmark("roundtrip", bc.bench_round_trip, {"samples": 100}, {"samples": 8}),
    Benchmark("ready", bc.bench_ready, {"pairs": 10, "timeout_s": 15.0}, {"pairs": 10, "timeout_s": 15.0}),
    Benchmark("memory", bc.bench_memory, {"messages": 100_000}, {"messages": 10_000, "warmup": 1000}),
    Benchmark("simulator", simulator_benchmark, {"orders": 3000}, {"orders": 500}),
    # One ~100 s session against the simulator in its own process (100 markets): ready, market data, burst, cancel_all.
    Benchmark("scale", bs.bench_scale, {"symbols": 100, "orders": 300, "market_seconds": 30.0},
              {"symbols": 10, "orders": 20, "market_seconds": 2.0}, runs=1),
    Benchmark("peers", bp.bench_peers, {"messages": 2000, "repeats": 5, "round_trip_samples": 40},
              {"messages": 200, "repeats": 1, "sign_iterations": 64, "sign_peer_iterations": 64,
               "round_trip_samples": 4}, runs=1),
]


# ---------------------------------------------------------------------------------------------------------------
# rows of the table
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Row:
    """One line of the table. `measured` and `reference` read a metric of one run; `ratio` divides them per run.
    `passes(measured, ratio)` is the bar; None marks a context row without a bar."""
    path: str
    benchmark: str
    measured: str
    fmt_measured: Callable[[float], str]
    reference: Optional[str] = None
    fmt_reference: Callable[[float], str] = str
    ratio: bool = False
    bar: str = "-"
    passes: Optional[Callable[[float, Optional[float]], bool]] = None
    # Shown, without a miss, when the benchmark left the metric out (a peer that cannot be imported here).
    skipped: Optional[Callable[[], str]] = None


def _us(value: float) -> str:
    return f"{value:,.1f} µs"


def _ms(value: float) -> str:
    return f"{value:,.3f} ms"


def _rate(value: float) -> str:
    return f"{value:,.0f} msg/s"


def _s(value: float) -> str:
    return "not ready" if math.isinf(value) else f"{value:,.3f} s"


def _n(value: float) -> str:
    return f"{value:,.0f}"


def _lag(value: float) -> str:
    return f"{value:,.1f} ms"


def _ms_us(value: float) -> str:
    return _ms(value / 1e3)


def _peer_rows(title: str, key: str, fmt: Callable[[float], str], peers: Sequence[Tuple[str, str]],
               reference: Optional[Tuple[str, Callable[[float], str]]] = None) -> List[Row]:
    """A vest row (against `reference` when given), then one row per peer: peer / ours, vest ahead when > 1."""
    ours = f"{key}_vest_us"
    rows = [Row(title, "peers", ours, fmt, *(reference or (None, str)), ratio=reference is not None)]
    for peer, what in peers:
        rows.append(Row(f"  vs {peer} {what} (peer/ours)", "peers", f"{key}_{peer}_us", fmt, ours,
                        lambda v: f"ours {fmt(v)}", ratio=True, bar="> 1.0x (vest ahead)",
                        passes=lambda m, r: r > 1.0, skipped=functools.partial(bp.skip_note, peer, key)))
    return rows


ROWS: List[Row] = [
    Row("sign one order: VestPerpetualAuth.signed_body(OrderAction)", "sign", "sign_us", _us,
        "floor_us", lambda v: f"keccak+coincurve {_us(v)}", ratio=True, bar="<= 2.0x",
        passes=lambda m, r: r <= 2.0),
    Row("  stage: signature part, sign_personal(action_digest(action))", "sign", "signature_us", _us,
        "floor_us", lambda v: f"keccak+coincurve {_us(v)}", ratio=True),
    Row("  context: eth-account default path (peer)", "sign", "peer_us", _us,
        "signature_us", lambda v: f"ours, signature part {_us(v)}", ratio=True, bar="(peer/ours)"),
    Row("WS depth 20x2 -> data source -> OrderBook: rate", "depth", "depth_per_s", _rate,
        "json_per_s", lambda v: f"json.loads {_rate(v)}", bar=">= 20,000 msg/s",
        passes=lambda m, r: m >= 20_000),
    Row("WS depth 20x2 -> data source -> OrderBook: cost", "depth", "depth_us", _us,
        "json_us", lambda v: f"json.loads {_us(v)}", ratio=True, bar="<= 4.0x",
        passes=lambda m, r: r <= 4.0),
    Row("  stage: json.loads in Hummingbot's WSConnection (= reference)", "depth", "json_us", _us),
    Row("  stage: data source _route(decoded) (envelope, parse on arrival, hand-over)", "depth", "stage_route_us",
        _us),
    Row("  stage: parse_depth alone (float() per level -> float pairs)", "depth", "stage_parse_us", _us),
    Row("  stage: OrderBookMessage.bids/.asks (rows built, C-level)", "depth", "stage_rows_us", _us),
    Row("  stage: OrderBook.apply_snapshot (Cython)", "depth", "stage_apply_us", _us),
    Row("  context: same frames via OrderBookTracker tasks", "pipeline", "pipeline_per_s", _rate,
        "pipeline_us", lambda v: f"{_us(v)} per msg"),
    Row("order round trip: buy() -> exchange order id", "roundtrip", "order_ms", _ms,
        "bare_ms", lambda v: f"bare aiohttp POST {_ms(v)}", ratio=True, bar="<= 1.3x",
        passes=lambda m, r: r <= 1.3),
    Row("  context: p90 of the same samples", "roundtrip", "order_p90_ms", _ms,
        "bare_p90_ms", lambda v: f"bare p90 {_ms(v)}", ratio=True),
    Row("connector ready, 10 pairs (start_network -> ready)", "ready", "ready_s", _s, bar="< 1 s",
        passes=lambda m, r: m < 1.0),
    Row("  status: account balance", "ready", "status_account_balance_s", _s),
    Row("  status: user stream initialized", "ready", "status_user_stream_initialized_s", _s),
    Row("  status: funding info", "ready", "status_funding_info_s", _s),
    Row("  status: order books initialized", "ready", "status_order_books_initialized_s", _s),
    Row("memory: depth+trade msgs via data source+tracker+books", "memory", "rss_growth_mb",
        lambda v: f"{v:+.2f} MB RSS", "messages", lambda v: f"over {v:,.0f} msgs (after warm-up)",
        bar="growth < 5 MB", passes=lambda m, r: m < 5.0),
    Row("  context: RSS before / messages per second", "memory", "rss_before_mb", lambda v: f"{v:,.1f} MB",
        "memory_msgs_per_s", _rate),
    Row("simulator start-up, in-process (bench_simulator)", "simulator", "sim_startup_s", _s, bar="< 2 s",
        passes=lambda m, r: m < 2.0),
    Row("simulator start-up, console (bench_simulator)", "simulator", "sim_console_startup_s", _s, bar="< 2 s",
        passes=lambda m, r: m < 2.0),
    Row("simulator signed orders/s on loopback (bench_simulator)", "simulator", "sim_orders_per_s",
        lambda v: f"{v:,.0f} orders/s", "sim_accepted_share", lambda v: f"accepted {v:.0%}", bar=">= 1,000/s",
        passes=lambda m, r: m >= 1000),
    # bench_scale.py: one session, the simulator in its own process (python -m vest_simulator --symbols 100), the
    # connector's own declared rate limits enforced by the venue
    Row("connector ready, 100 pairs (start_network -> ready)", "scale", "ready_s", _s, "sim_start_s",
        lambda v: f"venue process up in {_s(v)}", bar="< 2 s", passes=lambda m, r: m < 2.0),
    Row("  status: order books initialized", "scale", "status_order_books_initialized_s", _s),
    Row("  status: funding info", "scale", "status_funding_info_s", _s),
    Row("  status: user stream initialized", "scale", "status_user_stream_initialized_s", _s),
    Row("  status: account balance / trading rules", "scale", "status_account_balance_s", _s,
        "status_trading_rule_initialized_s", _s),
    Row("  start-up: requests refused by the venue's rate limits", "scale", "refused_ready", _n,
        "requests_ready", lambda v: f"of {v:,.0f} requests", bar="= 0", passes=lambda m, r: m == 0),
    Row("100 pairs, market data: event-loop lag p99 (10 ms sleeps)", "scale", "lag_p99_ms", _lag,
        "lag_p50_ms", lambda v: f"p50 {_lag(v)}", bar="< 20 ms", passes=lambda m, r: m < 20.0),
    Row("  market data: event-loop lag max", "scale", "lag_max_ms", _lag, "lag_samples",
        lambda v: f"{v:,.0f} samples"),
    Row("100 pairs, market data: bot CPU s per wall s", "scale", "cpu_per_s", lambda v: f"{v:.3f} s/s",
        "market_seconds", lambda v: f"over {v:,.0f} s", bar="< 0.1 s/s", passes=lambda m, r: m < 0.1),
    Row("  floor: Hummingbot's pipeline, parser costing nothing", "scale", "floor_cpu_per_s",
        lambda v: f"{v:.3f} s/s", "floor_md_msgs_per_s", _rate),
    Row("  market data: books live / msgs applied per s", "scale", "books_live_share", lambda v: f"{v:.0%}",
        "md_msgs_per_s", _rate, bar="100%", passes=lambda m, r: m >= 1.0),
    Row("burst: 300 buy() at once, resting -> open on the venue", "scale", "burst_open",
        lambda v: f"{v:,.0f} open", "orders", lambda v: f"of {v:,.0f} sent", ratio=True, bar="all (1.00x)",
        passes=lambda m, r: r is not None and r >= 1.0),
    Row("  burst: failed 1132 ORDER_EXPIRED", "scale", "burst_expired", _n, "burst_failed",
        lambda v: f"failed for any reason {v:,.0f}", bar="= 0", passes=lambda m, r: m == 0),
    Row("  burst: seconds until all acknowledged (id or failure)", "scale", "burst_ack_s", _s,
        "burst_lag_max_ms", lambda v: f"loop lag max {_lag(v)}"),
    Row("cancel_all(20 s timeout) of the 300 -> left open on the venue", "scale", "cancel_left_open", _n,
        "cancel_left_open_2s", lambda v: f"2 s later {v:,.0f}", bar="= 0", passes=lambda m, r: m == 0),
    Row("  cancel_all: seconds / successes it reported", "scale", "cancel_s", _s, "cancel_ok",
        lambda v: f"successful {v:,.0f}"),
    Row("rate limits: requests refused by the venue, whole session", "scale", "refused_total", _n,
        "requests_total", lambda v: f"of {v:,.0f} requests", bar="= 0", passes=lambda m, r: m == 0),
    # bench_peers.py: Hummingbot's own connectors, same content, interleaved
    *_peer_rows("peers: WS depth 20x2 -> applied book, vest_perpetual", "depth", _us, (
        ("hyperliquid_perpetual", "l2Book snapshot"), ("binance_perpetual", "depthUpdate diff"),
        ("lighter_perpetual", "order_book update diff"), ("pacifica_perpetual", "book snapshot"))),
    *_peer_rows("peers: sign one LIMIT order into its body, vest_perpetual", "sign", _us, (
        ("hyperliquid_perpetual", "add_auth_to_params_post"),)),
    *_peer_rows("peers: buy() -> exchange id over loopback POST, vest_perpetual", "rt", _ms_us, (
        ("binance_perpetual", "buy()"), ("hyperliquid_perpetual", "buy()")),
        reference=("rt_bare_us", lambda v: f"bare aiohttp POST {_ms_us(v)}")),
    *(Row(f"  context: {peer} buy() over the bare POST", "peers", f"rt_{peer}_over_bare", lambda v: f"{v:.2f}x",
          skipped=functools.partial(bp.skip_note, peer, "rt"))
      for peer in ("binance_perpetual", "hyperliquid_perpetual")),
]


@dataclass
class Line:
    path: str
    measured: str
    reference: str
    ratio: str
    bar: str
    ok: str
    failed: bool


def summarize(row: Row, runs: Sequence[Result], error: Optional[str] = None) -> Line:
    """Medians over runs; the ratio is the median of the per-run ratios."""
    if error is not None or not runs:
        return Line(row.path, "ERROR", error or "no runs", "-", row.bar, "NO" if row.passes else "-",
                    row.passes is not None)
    values = [run[row.measured] for run in runs if row.measured in run]
    if not values and row.skipped is not None:
        return Line(row.path, "skipped", row.skipped(), "-", row.bar, "-", False)
    if not values:
        return Line(row.path, "n/a", "-", "-", row.bar, "NO" if row.passes else "-", row.passes is not None)
    measured = statistics.median(values)
    reference_text, ratio_value, ratio_text = "-", None, "-"
    if row.reference is not None:
        references = [run[row.reference] for run in runs if row.reference in run]
        if references:
            reference_text = row.fmt_reference(statistics.median(references))
        if row.ratio:
            ratios = [run[row.measured] / run[row.reference] for run in runs
                      if run.get(row.reference) and row.measured in run]
            if ratios:
                ratio_value = statistics.median(ratios)
                ratio_text = f"{ratio_value:.2f}x"
    if row.passes is None:
        return Line(row.path, row.fmt_measured(measured), reference_text, ratio_text, row.bar, "-", False)
    try:
        ok = bool(row.passes(measured, ratio_value))
    except TypeError:  # a ratio bar without a ratio
        ok = False
    return Line(row.path, row.fmt_measured(measured), reference_text, ratio_text, row.bar, "yes" if ok else "NO",
                not ok)


def render(lines: Sequence[Line], notes: Dict[str, str], runs: int, elapsed: float) -> str:
    header = ("path", "measured", "reference (floor/peer, same run)", "ratio", "bar", "ok")
    cells = [header] + [(line.path, line.measured, line.reference, line.ratio, line.bar, line.ok) for line in lines]
    widths = [max(len(cell[i]) for cell in cells) for i in range(len(header))]
    align = ["<", ">", "<", ">", "<", "<"]

    def fmt(cell) -> str:
        return " | ".join(f"{value:{a}{w}}" for value, a, w in zip(cell, align, widths)).rstrip()

    once = ", ".join(b.name for b in BENCHMARKS if b.runs is not None and b.runs < runs)
    out = [f"vest_perpetual benchmarks - {notes['date']}",
           f"machine: {notes['cpu']}; {notes['python']}; hummingbot {notes['hummingbot']}; "
           f"load average at start {notes['load']}",
           f"median of {runs} run(s) per benchmark{f' ({once}: 1 run)' if once else ''}; ratios are per run "
           f"against the reference of the same run; {elapsed:.0f} s in total", "",
           fmt(header), "-+-".join("-" * w for w in widths)]
    out += [fmt(cell) for cell in cells[1:]]
    failed = [line.path.strip() for line in lines if line.failed]
    out += ["", f"bars missed: {len(failed)}" + (" - " + "; ".join(failed) if failed else "")]
    return "\n".join(out)


def run_benchmarks(selected: Sequence[Benchmark], runs: int, quick: bool, progress: Callable[[str], None],
                   overrides: Optional[Dict[str, Dict[str, float]]] = None) -> Dict[str, tuple]:
    """name -> (list of per-run results, error text or None). `overrides`: name -> keyword arguments to change."""
    results: Dict[str, tuple] = {}
    for benchmark in selected:
        kwargs = {**(benchmark.quick if quick else benchmark.full), **(overrides or {}).get(benchmark.name, {})}
        done: List[Result] = []
        error = None
        count = min(runs, benchmark.runs or runs)
        for index in range(count):
            progress(f"{benchmark.name} run {index + 1}/{count} ...")
            try:
                done.append(benchmark.function(**kwargs))
            except Exception as exc:  # a broken benchmark is a failed row, never a crashed table
                error = f"{type(exc).__name__}: {exc}"[:80]
                progress(traceback.format_exc())
                break
        results[benchmark.name] = (done, error)
    return results


def profile(name: str, quick: bool, top: int = 30) -> str:
    """cProfile of one benchmark run, sorted by cumulative and by own time."""
    benchmark = next(b for b in BENCHMARKS if b.name == name)
    kwargs = benchmark.quick if quick else benchmark.full
    profiler = cProfile.Profile()
    profiler.enable()
    benchmark.function(**kwargs)
    profiler.disable()
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    return stream.getvalue()


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="vest_perpetual performance benchmarks (one table)")
    parser.add_argument("--runs", type=int, default=3, help="runs per benchmark; the table shows medians")
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run, not for the bars)")
    parser.add_argument("--only", default="", help=f"comma-separated subset of {[b.name for b in BENCHMARKS]}")
    parser.add_argument("--no-fail", action="store_true", help="exit 0 even when a bar is missed")
    parser.add_argument("--profile", choices=[b.name for b in BENCHMARKS],
                        help="print a cProfile of one run of this benchmark instead of the table")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    parser.add_argument("--market-seconds", type=float, default=None,
                        help="scale: seconds of 100-pair market data measured (default 30; --quick 2)")
    parser.add_argument("--push-interval", type=float, default=None,
                        help="scale: seconds between the venue's depth/ticker pushes (default: every 0.1 s tick)")
    args = parser.parse_args(argv)
    # As in the running client: Hummingbot's logger would otherwise import the whole client application (2.5 s of
    # synchronous imports) on the first throttler notice, inside a measured start-up.
    headless()

    if args.profile:
        print(profile(args.profile, args.quick))
        return 0
    names = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(names) - {b.name for b in BENCHMARKS}
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    selected = [b for b in BENCHMARKS if not names or b.name in names]

    def progress(text: str) -> None:
        if not args.quiet:
            print(text, file=sys.stderr, flush=True)

    notes = bc.machine_notes()
    started = time.perf_counter()
    scale = {key: value for key, value in (("market_seconds", args.market_seconds),
                                           ("push_interval", args.push_interval)) if value is not None}
    results = run_benchmarks(selected, max(1, args.runs), args.quick, progress, {"scale": scale})
    lines = [summarize(row, *results[row.benchmark]) for row in ROWS if row.benchmark in results]
    print(render(lines, notes, max(1, args.runs), time.perf_counter() - started))
    missed = any(line.failed for line in lines)
    return 1 if missed and not args.no_fail else 0


if __name__ == "__main__":
    sys.exit(main())
