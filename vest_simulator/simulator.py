"""`VestSimulator`: the in-process API tying market, engine, faults, HTTP app and WS hub together (docs/vest-protocol.md §7).

    async with VestSimulator(seed=7, tick_interval=None) as sim:
        acct = sim.create_account(signing_private_key="0x..")
        ...  # REST at sim.rest_url, WS at sim.ws_url

Clock: simulator time = wall-clock ms + `clock_offset_ms` (`advance_clock` adds to the offset, `set_clock` puts
it at a given instant). The background ticker calls `step()` every `tick_interval` seconds (None disables it; call
`step()` yourself); `push_interval` (seconds, None = every tick) spaces the periodic public pushes, and
`trade_probability` sets the background trades per market and tick. Scale: `symbols=100` (an integer) serves the
catalog markets plus synthetic `SYNnnn-PERP` ones (market.py). A housekeeping loop (every 50 ms) applies
`ws_drop_interval` and closes private sockets whose listen key expired.

Rate limits (§7.11): every /v2 request passes `rate_limiter` (ratelimit.py) under the `rate_limits` switch;
`stats()`, `rate_limit_breaches()` and `reset_stats()` report on them.

Market status (§7.13): `set_market_status(symbol, "HALT" | "TRADING")` halts or resumes a market at once; the
`market_hours` switch opens and closes markets as the simulator clock moves. A change of a status shown in the
ticker is pushed on `tickers` at once (and with every tick).
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Dict, Iterable, List, Optional

from aiohttp import web

from .app import build_app
from .engine import INSURANCE_FUND, Engine
from .faults import Faults
from .market import BACKGROUND_TRADE_PROBABILITY, Market, SymbolSpec, resolve_specs
from .models import Fill
from .ratelimit import RateLimitBreach, RateLimiter
from .signatures import DEV_ROUTER, address_of, to_checksum
from .util import fmt
from .ws import Hub

log = logging.getLogger(__name__)

HOUSEKEEPING_INTERVAL_S = 0.05
DEFAULT_ACCOUNT_GROUPS = tuple(range(10))


@dataclass(frozen=True)
class SimAccount:
    """Handle returned by `create_account`."""

    api_key: str
    account_group: int
    primary_address: str
    signing_address: str
    primary_private_key: str
    signing_private_key: str
    signer_expiry: int

    def to_json(self) -> Dict[str, Any]:
        return {"apiKey": self.api_key, "accountGroup": self.account_group, "primaryAddress": self.primary_address,
                "signingAddress": self.signing_address, "primaryPrivateKey": self.primary_private_key,
                "signingPrivateKey": self.signing_private_key, "signerExpiry": self.signer_expiry}


class VestSimulator:
    def __init__(self, seed: int = 7, symbols: Optional[Iterable[Any]] = None, host: str = "127.0.0.1",
                 port: int = 0, tick_interval: Optional[float] = 0.1, *, routers: Iterable[str] = (DEV_ROUTER,),
                 account_groups: Iterable[int] = DEFAULT_ACCOUNT_GROUPS, register_account_group: int = 0,
                 halted_symbols: Iterable[str] = (), start_prices: Optional[Dict[str, Decimal]] = None,
                 history_minutes: int = 1440, faults: Optional[Faults] = None, push_interval: Optional[float] = None,
                 trade_probability: float = BACKGROUND_TRADE_PROBABILITY) -> None:
        self.seed = seed
        self.host = host
        self.port = port
        self.tick_interval = tick_interval
        self.push_interval = push_interval
        self.clock_offset_ms = 0
        self.insurance = INSURANCE_FUND
        self.faults = faults or Faults(seed=seed)
        self.request_counts: Counter = Counter()
        self.rate_limiter = RateLimiter()
        specs: List[SymbolSpec] = resolve_specs(symbols, start_prices)
        self.market = Market(specs, seed, self.now_ms, history_minutes, halted_symbols, faults=self.faults,
                             trade_probability=trade_probability)
        self.engine = Engine(self.market, self.now_ms, seed, routers, account_groups, register_account_group,
                             faults=self.faults)
        self.hub = Hub(self.engine, self.faults)
        self.engine.on_private = self.hub.publish_private
        self.engine.wants_private = self.hub.has_private_listener
        self.engine.on_trade = self._publish_trade
        self._runner: Optional[web.AppRunner] = None
        self._tasks: List[asyncio.Task] = []
        self._processing_scheduled = False
        self._last_ws_drop = 0.0
        self._last_push: Optional[float] = None  # time.monotonic() of the last periodic public push
        self._shown_statuses = self._ticker_statuses()  # `status` per market as last pushed on `tickers`

    # ---- lifecycle -----------------------------------------------------------------------------------------
    async def start(self) -> "VestSimulator":
        self._runner = web.AppRunner(build_app(self), access_log=None, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port, reuse_address=True).start()
        self.port = self._runner.addresses[0][1]  # the actual port when 0 was requested
        self._last_ws_drop = time.monotonic()
        if self.tick_interval:
            self._tasks.append(asyncio.ensure_future(self._tick_loop(self.tick_interval)))
        self._tasks.append(asyncio.ensure_future(self._housekeeping_loop()))
        return self

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        await self.hub.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> "VestSimulator":
        return await self.start()

    async def __aexit__(self, *exc: Any) -> None:
        await self.stop()

    @property
    def rest_url(self) -> str:
        return f"http://{self.host}:{self.port}/v2"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/ws-api"

    # ---- clock & market ------------------------------------------------------------------------------------
    def now_ms(self) -> int:
        return int(time.time() * 1000) + self.clock_offset_ms

    def advance_clock(self, seconds: float) -> None:
        """Move simulator time forward: funding accrues, scheduled LP withdrawals mature, listen keys expire,
        markets open and close by their `market_hours`."""
        self.clock_offset_ms += int(seconds * 1000)
        self._clock_moved()

    def set_clock(self, time_ms: int) -> None:
        """Put simulator time at `time_ms` (epoch ms; it runs on with the wall clock from there). Backwards is
        allowed, as with `clock_offset_ms`. Then the same follows as after `advance_clock`."""
        self.clock_offset_ms = int(time_ms) - int(time.time() * 1000)
        self._clock_moved()

    def _clock_moved(self) -> None:
        self.market.accrue()
        self.engine.check_triggers()
        self.schedule_listen_key_sweep()
        self._publish_status_changes()

    def step(self) -> None:
        """One market tick: prices move, background trades print (pushed at once), triggers fire, and the public
        snapshots (`@depth`, `tickers`, `@kline_*`) are pushed: on every tick, or under `push_interval` on the first
        tick once that many seconds (monotonic) have passed since the last periodic push."""
        for symbol, trade in self.market.step():
            self._publish_trade(symbol, trade)
        self.engine.check_triggers()
        now = time.monotonic()
        if self.push_interval is None or self._last_push is None or now - self._last_push >= self.push_interval:
            self._last_push = now
            self._publish_market()
        else:
            self._publish_status_changes()
        self.schedule_listen_key_sweep()

    def set_market_status(self, symbol: str, status: str) -> str:
        """`HALT`: halt `symbol` at once, until resumed (a `faults.reset()` keeps it). `TRADING`: lift that halt and
        a `halted_symbols` fault on it; a market outside its `market_hours` stays closed, and resting LIMITs the
        index crossed meanwhile execute now. Returns the venue's status now. The ticker REST route shows it at
        once, the `tickers` channel gets a push at once when its shown status changed (`halt_flag_in`)."""
        if symbol not in self.market.states:
            raise KeyError(f"unknown symbol {symbol}")
        if status == "HALT":
            self.market.halt(symbol)
        elif status == "TRADING":
            self.market.resume(symbol)
            self.engine.check_triggers([symbol])
        else:
            raise ValueError(f"status must be HALT or TRADING, not {status!r}")
        self._publish_status_changes()
        return self.market.status(symbol)

    def market_status(self, symbol: Optional[str] = None) -> Any:
        """The venue's status (`TRADING` / `HALT`) of `symbol`, or {symbol: status} of every market, whatever
        `halt_flag_in` shows."""
        if symbol is not None:
            if symbol not in self.market.states:
                raise KeyError(f"unknown symbol {symbol}")
            return self.market.status(symbol)
        return {s: self.market.status(s) for s in self.market.symbols}

    def _ticker_statuses(self) -> Dict[str, str]:
        return {s: self.market.shown_status(s, "ticker") for s in self.market.symbols}

    def _publish_status_changes(self) -> None:
        """Push `tickers` now if a market's ticker `status` changed since the last push (halt, resume, session)."""
        statuses = self._ticker_statuses()
        if statuses != self._shown_statuses:
            self._shown_statuses = statuses
            if self.hub.has_subscribers("tickers"):
                self.hub.publish("tickers", [self.market.ws_ticker(s) for s in self.market.symbols])

    def _publish_trade(self, symbol: str, trade: dict) -> None:
        self.hub.publish(f"{symbol}@trades", trade)

    def set_index_price(self, symbol: str, price: Decimal) -> None:
        """Jump the index (mark follows); crossed resting LIMITs and TP/SL fire immediately."""
        if symbol not in self.market.states:
            raise KeyError(f"unknown symbol {symbol}")
        self.market.set_index(symbol, Decimal(price))
        self.engine.check_triggers([symbol])
        self._publish_market([symbol])

    def _publish_market(self, symbols: Optional[List[str]] = None) -> None:
        hub, market = self.hub, self.market
        for symbol in symbols or market.symbols:
            channel = f"{symbol}@depth"
            if hub.has_subscribers(channel):
                hub.publish(channel, market.depth(symbol, 20))
        if hub.has_subscribers("tickers"):
            hub.publish("tickers", [market.ws_ticker(s) for s in market.symbols])
        self._shown_statuses = self._ticker_statuses()
        for channel in hub.subscribed_channels():
            symbol, _, kind = channel.partition("@")
            if kind.startswith("kline_") and (symbols is None or symbol in symbols):
                hub.publish(channel, market.current_kline(symbol, kind[6:]))

    # ---- accounts ------------------------------------------------------------------------------------------
    def create_account(self, signing_private_key: Optional[str] = None, primary_private_key: Optional[str] = None,
                       balance: Decimal = Decimal("10000"), account_group: int = 0,
                       signer_expiry_ms: Optional[int] = None) -> SimAccount:
        """Create (or extend) an account with a registered signer and a fresh API key; no /register needed."""
        acct, api_key, signing_key, primary_key, expiry = self.engine.create_account(
            signing_private_key, primary_private_key, Decimal(balance), account_group, signer_expiry_ms)
        return SimAccount(api_key=api_key, account_group=acct.group, primary_address=to_checksum(acct.primary),
                          signing_address=to_checksum(address_of(signing_key)), primary_private_key=primary_key,
                          signing_private_key=signing_key, signer_expiry=expiry)

    def fund(self, primary_address: str, amount: Decimal) -> None:
        """Credit USDC collateral (TRANSFER DEPOSIT row + private event)."""
        self.engine.fund(primary_address, Decimal(amount))

    def orders(self, primary_address: Optional[str] = None, reported: bool = False) -> List[dict]:
        """Every order of the account (all accounts if None), newest first, as venue truth: `GET /orders` rows
        with the real status, per-fill `lastFilled*`, nulls, no overrides, plus `executedSize` (size executed so
        far), `fillCount` (executions so far) and `external` (placed by `place_order`/`liquidate`).
        `reported=True`: the rows exactly as `GET /orders` shows them now (switches and overrides applied)."""
        acct = self._account(primary_address)
        rows = self.engine.query_orders(acct, limit=1 << 62, reported=reported)
        if not reported:
            accounts = [acct] if acct is not None else self.engine.accounts.values()
            orders = {order_id: order for account in accounts for order_id, order in account.orders.items()}
            for row in rows:
                order = orders[row["id"]]
                row.update(executedSize=fmt(order.filled_size, order.spec.size_decimals),
                           fillCount=order.fill_count, external=order.external)
        return rows

    def fills(self, primary_address: Optional[str] = None) -> List[Fill]:
        """Every execution (one per chunk), oldest first."""
        return self.engine.fills(self._account(primary_address))

    def positions(self, primary_address: str) -> Dict[str, Decimal]:
        """Signed position size per symbol (long > 0); flat markets are absent."""
        acct = self._account(primary_address)
        return {symbol: position.size for symbol, position in acct.positions.items() if position.size}

    # ---- other clients, the venue, presentation overrides (docs/vest-protocol.md §7.12) --------------------
    def place_order(self, primary_address: str, symbol: str, is_buy: bool, size: Any, order_type: str = "LIMIT",
                    limit_price: Any = None, reduce_only: bool = False, nonce: Optional[int] = None) -> str:
        """An order of another client of the account (Vest's web UI, a second API key): NEW event at once, then
        executed on the next loop iteration (or the next `step()`) exactly like a signed order. Its nonce comes
        from a band no time-based client reaches (>= 10**15) unless `nonce` is given; it does not move
        `lastNonce`. Raises VestError for what a signed order would be refused for. Returns the order id."""
        acct = self._account(primary_address)
        order_id = self.engine.place_external_order(acct, symbol, is_buy, size, order_type, limit_price,
                                                    reduce_only, nonce)
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # no running loop: the next step() / engine.process_pending() executes it
            return order_id
        self.schedule_processing()
        return order_id

    def liquidate(self, primary_address: str, symbol: str, penalty: Decimal = Decimal(0),
                  reject_open_orders: bool = False) -> str:
        """Close the account's position in `symbol` at the mark with a LIQUIDATION order: one FILLED ORDER event,
        a fill, position and balance updated. Returns the order id; ValueError without a position."""
        return self.engine.liquidate(self._account(primary_address), symbol, Decimal(penalty), reject_open_orders)

    def override_order_status(self, order_id: str, status: str, emit: bool = False) -> None:
        """`GET /orders` rows and later ORDER events of the order report `status` (any string, e.g. "EXPIRED");
        the order itself is unchanged. `emit=True` also pushes an ORDER event now."""
        self.engine.override_order_status(order_id, status, emit)

    def clear_order_status_override(self, order_id: str) -> None:
        self.engine.override_order_status(order_id, None)

    def override_order_fields(self, order_id: str, events: bool = False, emit: bool = False, **fields: Any) -> None:
        """Wire fields of the order's `GET /orders` rows replaced or added as given, e.g.
        `override_order_fields(oid, lastFilledSize="5.0000")` (a fill larger than the order); `events=True` also
        in its later ORDER events, `emit=True` pushes one now. Replaces the order's earlier field overrides."""
        self.engine.override_order_fields(order_id, fields, events, emit)

    def clear_order_field_overrides(self, order_id: str) -> None:
        self.engine.override_order_fields(order_id, {})

    def _account(self, primary_address: Optional[str]) -> Any:
        if primary_address is None:
            return None
        acct = self.engine.accounts.get(primary_address.lower())
        if acct is None:
            raise KeyError(f"unknown account {primary_address}")
        return acct

    # ---- request statistics and rate limits (docs/vest-protocol.md §7.11) -----------------------------------
    def stats(self) -> Dict[str, Any]:
        """Counts since start (or `reset_stats()`), route names as in `rate_limits` ("POST /orders"):
        `requests` {route: /v2 requests received, refused ones included}, `rate_limited` {route: refused by
        `rate_limits`}, `rate_limited_total`, `http_429` {route: 429 answers, `http_error_rate` ones included},
        `rate_limit_peaks` {rule: most admitted requests of one identity within one window of the rule: how close
        a client ran to a limit}; plus `accounts`, `orders`, `fills`, `ws_connections`."""
        data = self.rate_limiter.stats()
        data.update(accounts=len(self.engine.accounts),
                    orders=sum(len(a.orders) for a in self.engine.accounts.values()),
                    fills=sum(len(a.fills) for a in self.engine.accounts.values()),
                    ws_connections=len(self.hub.connections))
        return data

    def rate_limit_breaches(self) -> List[RateLimitBreach]:
        """The requests refused by `rate_limits` (the latest 10,000), oldest first; empty: no limit was broken."""
        return list(self.rate_limiter.breaches)

    def reset_stats(self) -> None:
        """Zero `stats()` counts, peaks and breaches (and `request_counts`); the rate-limit windows are kept."""
        self.rate_limiter.reset_stats()
        self.request_counts.clear()

    # ---- websockets & background work ----------------------------------------------------------------------
    async def drop_websockets(self, public: bool = True, private: bool = True, code: int = 1012) -> int:
        """Close WS connections now with `code` (1012 SERVICE_RESTART by default); returns how many."""
        return await self.hub.drop(public, private, code)

    def silence_websockets(self, public: bool = True, private: bool = True) -> int:
        """Open WS connections go quiet (PONGs and acks only) while staying open; returns how many (`Hub.silence`)."""
        return self.hub.silence(public, private)

    def schedule_processing(self) -> None:
        """Run queued order executions on the next loop iteration (after the HTTP response is written)."""
        if not self._processing_scheduled:
            self._processing_scheduled = True
            asyncio.get_running_loop().call_soon(self._process)

    def _process(self) -> None:
        self._processing_scheduled = False
        try:
            self.engine.process_pending()
        except Exception:  # pragma: no cover - a bug must not kill the loop
            log.exception("order processing failed")

    def schedule_listen_key_sweep(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if any(c.private for c in self.hub.connections):
            loop.create_task(self.hub.close_expired())

    async def _tick_loop(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                self.step()
            except Exception:  # pragma: no cover
                log.exception("tick failed")

    async def _housekeeping_loop(self) -> None:
        while True:
            await asyncio.sleep(HOUSEKEEPING_INTERVAL_S)
            interval = self.faults.ws_drop_interval
            now = time.monotonic()
            if interval and now - self._last_ws_drop >= interval:
                self._last_ws_drop = now
                target = self.faults.ws_drop_target
                await self.hub.drop(target != "private", target != "public", self.faults.ws_drop_code)
            elif not interval:
                self._last_ws_drop = now
            await self.hub.close_expired()
