"""Console entry point: `python -m vest_simulator --port 8765 --seed 7` (console script `vest-simulator`)."""
from __future__ import annotations

import argparse
import asyncio
import logging
from decimal import Decimal
from typing import List, Optional, Sequence, Union

from .signatures import DEV_ROUTER, PROD_ROUTER
from .simulator import VestSimulator


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="vest-simulator", description="Local Vest Markets exchange simulator")
    parser.add_argument("--host", default="127.0.0.1", help="bind address (loopback by default)")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--symbols", default=None,
                        help="comma list, e.g. BTC-PERP,ETH-PERP; or a number of markets, e.g. 100 (CATALOG, then "
                             "SYN001-PERP, ...)")
    parser.add_argument("--tick-interval", type=float, default=0.1, help="seconds between ticks; 0 disables")
    parser.add_argument("--push-interval", type=float, default=None,
                        help="seconds between depth/tickers/kline pushes (default: every tick)")
    parser.add_argument("--trade-probability", type=float, default=None,
                        help="chance of a background trade per market and tick (default 0.3)")
    parser.add_argument("--history-minutes", type=int, default=1440, help="minutes of seeded history per market")
    parser.add_argument("--fund", action="append", default=[], metavar="ADDRESS:AMOUNT",
                        help="credit USDC to a primary address (repeatable)")
    parser.add_argument("--halt", default="", help="comma list of symbols reported as HALT")
    parser.add_argument("--accept-prod-router", action="store_true",
                        help=f"also accept SignerProofs for the prod router {PROD_ROUTER}")
    parser.add_argument("--register-group", type=int, default=0, help="accGroup assigned by /register")
    parser.add_argument("--log-level", default="INFO")
    return parser.parse_args(argv)


def build_simulator(args: argparse.Namespace) -> VestSimulator:
    """The simulator the arguments describe (not started)."""
    symbols: Union[None, int, List[str]] = None
    if args.symbols:
        symbols = int(args.symbols) if args.symbols.strip().isdigit() else args.symbols.split(",")
    routers = (DEV_ROUTER, PROD_ROUTER) if args.accept_prod_router else (DEV_ROUTER,)
    extra = {} if args.trade_probability is None else {"trade_probability": args.trade_probability}
    return VestSimulator(seed=args.seed, symbols=symbols, host=args.host, port=args.port,
                         tick_interval=args.tick_interval or None, routers=routers,
                         register_account_group=args.register_group,
                         halted_symbols=[s for s in args.halt.split(",") if s], history_minutes=args.history_minutes,
                         push_interval=args.push_interval or None, **extra)


async def run(args: argparse.Namespace) -> None:
    sim = build_simulator(args)
    await sim.start()
    for item in args.fund:
        address, _, amount = item.rpartition(":")
        sim.fund(address, Decimal(amount))
    print(f"Vest simulator REST {sim.rest_url}", flush=True)
    print(f"Vest simulator WS   {sim.ws_url}", flush=True)
    print(f"Admin routes        http://{sim.host}:{sim.port}/_sim/", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await sim.stop()


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        asyncio.run(run(args))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
