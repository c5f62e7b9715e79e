"""Fault scenarios: the real connector against the Vest simulator over loopback, one fault at a time.

Each scenario starts its own `SimulatedVenue`, injects one fault through the simulator's seeded switches
(`vest_simulator/faults.py`) or its clock, drives strategy-like order traffic through the connector, and then
compares what the connector reported (MarketEvents, its order tracker) with what the simulator recorded
(`sim.orders`, `sim.fills`). It returns a `ScenarioResult`; it never asserts, so the tests
(`test_vest_perpetual_reliability.py`) and the report (`bench/fault_report.py`) share the same code and differ only
in durations.

Instrumentation touches the running objects only (wrapping a bound method on one instance); no connector or
simulator file is modified. Waits are condition polls with timeouts, never fixed sleeps used as assertions.
"""
import asyncio
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable, Dict, List, Optional, Tuple
from unittest.mock import patch

from aiohttp import web

from hummingbot.connector.derivative.vest_perpetual import vest_perpetual_constants as CONSTANTS
from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_derivative import client_order_id_for_nonce
from hummingbot.core.data_type.common import OrderType, PositionAction
from hummingbot.core.event.event_listener import EventListener
from hummingbot.core.event.events import (
    BuyOrderCompletedEvent,
    MarketEvent,
    MarketOrderFailureEvent,
    OrderCancelledEvent,
    OrderFilledEvent,
    SellOrderCompletedEvent,
)
from project_tests.connector.simulated_venue import SimulatedVenue, wait_until
from vest_simulator import errors as SIM_ERRORS
from vest_simulator.errors import VestError as SimVestError

BTC, ETH = "BTC-USDC", "ETH-USDC"
SYMBOLS = {BTC: "BTC-PERP", ETH: "ETH-PERP"}
SIZES = {BTC: Decimal("0.0010"), ETH: Decimal("0.010")}
TICKS = {BTC: Decimal("0.1"), ETH: Decimal("0.01")}

# Convergence allowance after a fault is switched off. The connector learns order states from the private stream
# within milliseconds and polls REST as a backstop; 15 s covers three SHORT_POLL_INTERVALs (5 s) of backfill.
SETTLE_TIMEOUT = 15.0


def headless():
    """For scripts run outside pytest (bench/): Hummingbot's logger then believes a Hummingbot client application
    is running and, on the first `notify` (the throttler's "rate limit almost reached") or app warning, imports
    and instantiates `HummingbotApplication` (about 2.5 s of synchronous imports that stall the event loop, plus
    failed attempts to write conf/conf_client.yml). Under pytest, and in the real client, this does not happen;
    scripts call this to behave like the former."""
    from hummingbot.logger.logger import HummingbotLogger
    HummingbotLogger.is_testing_mode = staticmethod(lambda: True)


# ------------------------------------------------------------------------------------------------------------------
# Results
# ------------------------------------------------------------------------------------------------------------------
@dataclass
class ScenarioResult:
    fault: str
    injected: str
    evidence: str = ""
    problems: List[str] = field(default_factory=list)
    details: Dict[str, Any] = field(default_factory=dict)

    @property
    def survived(self) -> bool:
        return not self.problems

    def check(self, condition: bool, problem: str) -> bool:
        if not condition:
            self.problems.append(problem)
        return bool(condition)

    def summary(self) -> str:
        text = f"{self.fault}: {'survived' if self.survived else 'FAILED'} ({self.evidence})"
        return text + "".join(f"\n  - {problem}" for problem in self.problems)


# ------------------------------------------------------------------------------------------------------------------
# Instrumentation
# ------------------------------------------------------------------------------------------------------------------
@dataclass
class Drop:
    at: float
    code: int
    public: int
    private: int


class Probe:
    """Records what happens on both sides of the wire while a scenario runs.

    Simulator side (install before `venue.start()`): every WebSocket connection attempt (public, or private with
    its listen key) and every forced drop with its victims. Connector side (install after start): order-book
    snapshot changes per pair (sampled from the real OrderBook) and every ORDER event the user-stream listener
    hands to the derivative.
    """

    def __init__(self, venue: SimulatedVenue):
        self.venue = venue
        self.connects: Dict[str, List[Tuple[float, Optional[str]]]] = {"public": [], "private": []}
        self.drops: List[Drop] = []
        self.book_updates: Dict[str, List[float]] = {}
        self.order_events: List[Tuple[float, str, Optional[int]]] = []
        self._sampler: Optional[asyncio.Task] = None

    def install_on_simulator(self) -> "Probe":
        hub = self.venue.sim.hub
        original_handle, original_drop = hub.handle, hub.drop

        async def handle(request):
            kind = "private" if "listenKey" in request.query else "public"
            self.connects[kind].append((time.monotonic(), request.query.get("listenKey")))
            return await original_handle(request)

        async def drop(public: bool = True, private: bool = True, code: int = SIM_ERRORS.WS_SERVICE_RESTART):
            victims = Counter("private" if c.private else "public" for c in hub.connections
                              if not c.ws.closed and ((c.private and private) or (not c.private and public)))
            count = await original_drop(public, private, code)
            self.drops.append(Drop(time.monotonic(), code, victims["public"], victims["private"]))
            return count

        hub.handle, hub.drop = handle, drop  # the app's route is bound when the simulator starts
        return self

    def install_on_connector(self) -> "Probe":
        connector = self.venue.connector
        original = connector._process_order_event

        def process_order_event(order):
            self.order_events.append((time.monotonic(), order.status, order.nonce))
            return original(order)

        connector._process_order_event = process_order_event
        self._sampler = asyncio.ensure_future(self._sample_books())
        return self

    async def _sample_books(self):
        last: Dict[str, int] = {}
        while True:
            for pair, book in list(self.venue.connector.order_books.items()):
                uid = book.snapshot_uid
                if last.get(pair) != uid:
                    last[pair] = uid
                    self.book_updates.setdefault(pair, []).append(time.monotonic())
            await asyncio.sleep(0.02)

    def stop(self):
        if self._sampler is not None:
            self._sampler.cancel()

    # ---- derived evidence --------------------------------------------------------------------------------------
    def reconnects(self, kind: str) -> int:
        return max(0, len(self.connects[kind]) - 1)

    def listen_keys(self) -> List[Optional[str]]:
        keys: List[Optional[str]] = []
        for _, key in self.connects["private"]:
            if not keys or keys[-1] != key:
                keys.append(key)
        return keys

    def drops_of(self, kind: str) -> List[Drop]:
        return [d for d in self.drops if getattr(d, kind) > 0]

    def unrecovered_drops(self, kind: str, pair: Optional[str] = None, until: Optional[float] = None) -> List[float]:
        """Drop times (s since the first drop) after which the connector did not reconnect — and, for the public
        stream, did not apply an order-book snapshot from the new connection — before the next drop (or `until`)."""
        drops = self.drops_of(kind)
        if not drops:
            return []
        origin = drops[0].at
        missing = []
        for i, drop in enumerate(drops):
            end = drops[i + 1].at if i + 1 < len(drops) else (until or time.monotonic())
            reconnect = next((t for t, _ in self.connects[kind] if drop.at < t <= end), None)
            recovered = reconnect is not None
            if recovered and pair is not None:
                recovered = any(reconnect < t <= end for t in self.book_updates.get(pair, []))
            if not recovered:
                missing.append(round(drop.at - origin, 2))
        return missing


class LogCapture(logging.Handler):
    """Every record of the given loggers (default: all of Hummingbot) at or above `level`."""

    def __init__(self, level: int = logging.WARNING, loggers: Tuple[str, ...] = ("hummingbot",)):
        super().__init__(level)
        self.records: List[logging.LogRecord] = []
        self._loggers = [logging.getLogger(name) for name in loggers]
        self._levels: List[int] = []

    def emit(self, record: logging.LogRecord):
        self.records.append(record)

    def __enter__(self) -> "LogCapture":
        for logger in self._loggers:
            self._levels.append(logger.level)
            if logger.getEffectiveLevel() > self.level:
                logger.setLevel(self.level)
            logger.addHandler(self)
        return self

    def __exit__(self, *exc):
        for logger, level in zip(self._loggers, self._levels):
            logger.removeHandler(self)
            logger.setLevel(level)

    def messages(self, min_level: int = logging.DEBUG) -> List[str]:
        return [record.getMessage() for record in self.records if record.levelno >= min_level]


class EventRecorder(EventListener):
    """Every MarketEvent of a connector, unbounded (Hummingbot's EventLogger keeps only the last 50 non-fill events,
    too few for a scenario's reconciliation)."""

    def __init__(self):
        super().__init__()
        self.events: List[Any] = []

    def __call__(self, event):
        self.events.append(event)

    def attach(self, connector) -> "EventRecorder":
        for event_type in MarketEvent:
            connector.add_listener(event_type, self)
        return self

    def of(self, event_type) -> List[Any]:
        return [event for event in self.events if isinstance(event, event_type)]


def recorder_of(venue: SimulatedVenue) -> EventRecorder:
    return venue.recorder  # set by start_venue


# ------------------------------------------------------------------------------------------------------------------
# Order traffic and reconciliation
# ------------------------------------------------------------------------------------------------------------------
@dataclass
class Intent:
    pair: str
    kind: str  # "market", "marketable-limit", "resting-limit"
    is_buy: bool
    placed_at: float


class OrderFlow:
    """Strategy-like traffic through the public connector API: MARKET orders, marketable LIMITs (they fill when
    Vest executes them) and resting LIMITs that are cancelled a little later. Buys and sells alternate per pair
    so positions stay small. A cancel that Vest or the network refused is re-issued, as a strategy would."""

    def __init__(self, venue: SimulatedVenue, pairs: Tuple[str, ...] = (BTC,)):
        self.venue = venue
        self.connector = venue.connector
        self.pairs = pairs
        self.intents: Dict[str, Intent] = {}
        self._step = 0
        self._cancels: List[asyncio.Task] = []

    def mark(self, pair: str) -> Decimal:
        return self.connector.get_funding_info(pair).mark_price

    def price(self, pair: str, factor: str) -> Decimal:
        return (self.mark(pair) * Decimal(factor)).quantize(TICKS[pair])

    def place(self, pair: str, kind: str, is_buy: bool, amount: Optional[Decimal] = None,
              price: Optional[Decimal] = None) -> str:
        amount = amount or SIZES[pair]
        side = self.connector.buy if is_buy else self.connector.sell
        if kind == "market":
            order_id = side(pair, amount, OrderType.MARKET, position_action=PositionAction.OPEN)
        else:
            if price is None:
                factor = {("marketable-limit", True): "1.003", ("marketable-limit", False): "0.997",
                          ("resting-limit", True): "0.97", ("resting-limit", False): "1.03"}[(kind, is_buy)]
                price = self.price(pair, factor)
            order_id = side(pair, amount, OrderType.LIMIT, price, position_action=PositionAction.OPEN)
        self.intents[order_id] = Intent(pair, kind, is_buy, time.monotonic())
        return order_id

    def next(self, cancel_after: float = 1.0) -> str:
        """One step of the rotation: market buy, market sell, marketable limits, a resting limit to cancel."""
        kinds = [("market", True), ("market", False), ("marketable-limit", True), ("marketable-limit", False),
                 ("resting-limit", self._step % 2 == 0)]
        pair = self.pairs[self._step % len(self.pairs)]
        kind, is_buy = kinds[(self._step // len(self.pairs)) % len(kinds)]
        self._step += 1
        order_id = self.place(pair, kind, is_buy)
        if kind == "resting-limit":
            self._cancels.append(asyncio.ensure_future(self.cancel_until_done(order_id, first_after=cancel_after)))
        return order_id

    async def cancel_until_done(self, order_id: str, first_after: float = 0.0, every: float = 2.0,
                                timeout: float = 60.0):
        """Cancel, and cancel again every `every` s while the connector still tracks the order as open."""
        await asyncio.sleep(first_after)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            order = self.connector.in_flight_orders.get(order_id)
            if order is None:
                return
            if order.exchange_order_id is not None and not order.is_pending_cancel_confirmation:
                self.connector.cancel(order.trading_pair, order_id)
            await asyncio.sleep(every)

    async def run(self, duration: float, every: float = 0.6, cancel_after: float = 1.0):
        deadline = time.monotonic() + duration
        while time.monotonic() < deadline:
            self.next(cancel_after=cancel_after)
            await asyncio.sleep(every)

    def stop(self):
        for task in self._cancels:
            task.cancel()


def client_order_id_of(venue: SimulatedVenue, nonce: int) -> str:
    """The bot's order signed with that nonce: the journal knows an order re-signed under a fresh nonce."""
    placed = venue.connector.order_journal.get(nonce)
    return placed.client_order_id if placed is not None else client_order_id_for_nonce(nonce)


def venue_rows_by_order(venue: SimulatedVenue) -> Dict[str, List[dict]]:
    """The venue's rows per client order id, whatever nonce each was signed with."""
    rows: Dict[str, List[dict]] = {}
    for row in venue.sim.orders(venue.account.primary_address):
        rows.setdefault(client_order_id_of(venue, row["nonce"]), []).append(row)
    return rows


def venue_status(venue: SimulatedVenue, order_id: str) -> Optional[str]:
    """The venue's status of the order with that client id, None if the venue never took it."""
    rows = venue_rows_by_order(venue).get(order_id) or [{}]
    return rows[0].get("status")


def connector_outcomes(venue: SimulatedVenue) -> Dict[str, str]:
    """The final state the connector *reported* for each order, from its events (the order tracker forgets
    completed orders after 30 s): FILLED, CANCELED or FAILED."""
    outcome: Dict[str, str] = {}
    for event in recorder_of(venue).events:
        if isinstance(event, (BuyOrderCompletedEvent, SellOrderCompletedEvent)):
            outcome[event.order_id] = "FILLED"
        elif isinstance(event, OrderCancelledEvent):
            outcome[event.order_id] = "CANCELED"
        elif isinstance(event, MarketOrderFailureEvent):
            outcome[event.order_id] = "FAILED"
    return outcome


VENUE_TO_CONNECTOR = {"FILLED": "FILLED", "CANCELLED": "CANCELED", "REJECTED": "FAILED", None: "FAILED"}


@dataclass
class Reconciliation:
    orders: int
    venue_fills: int
    connector_fills: int
    duplicate_fill_events: int
    mismatched: Dict[str, Tuple[Optional[str], Optional[str]]]
    stuck: List[str]
    venue_duplicates: List[str]
    missing_fills: List[str]
    unexpected_fills: List[str]
    venue_statuses: Counter

    @property
    def consistent(self) -> bool:
        return not (self.mismatched or self.stuck or self.venue_duplicates or self.missing_fills
                    or self.unexpected_fills or self.duplicate_fill_events)

    def describe(self) -> str:
        parts = []
        if self.mismatched:
            sample = dict(list(self.mismatched.items())[:5])
            parts.append(f"{len(self.mismatched)} orders whose venue/connector final state differ, e.g. {sample}")
        if self.stuck:
            parts.append(f"{len(self.stuck)} orders still in flight in the connector: {self.stuck[:5]}")
        if self.venue_duplicates:
            parts.append(f"duplicate venue orders for {self.venue_duplicates}")
        if self.missing_fills:
            parts.append(f"{len(self.missing_fills)} venue fills never reported by the connector: "
                         f"{self.missing_fills[:3]}")
        if self.unexpected_fills:
            parts.append(f"{len(self.unexpected_fills)} connector fills unknown to the venue")
        if self.duplicate_fill_events:
            parts.append(f"{self.duplicate_fill_events} duplicate OrderFilledEvents")
        return "; ".join(parts) or "consistent"


def reconcile(venue: SimulatedVenue, order_ids) -> Reconciliation:
    """Venue records vs connector reports for `order_ids`, plus every fill of the account."""
    rows = venue_rows_by_order(venue)
    outcomes = connector_outcomes(venue)
    mismatched, stuck, duplicates = {}, [], []
    statuses: Counter = Counter()
    for order_id in order_ids:
        venue_rows = rows.get(order_id, [])
        if len(venue_rows) > 1:
            duplicates.append(order_id)
        status = venue_rows[0]["status"] if venue_rows else None
        statuses[status or "NOT_PLACED"] += 1
        if order_id in venue.connector.in_flight_orders:
            stuck.append(order_id)
        expected = VENUE_TO_CONNECTOR.get(status, f"venue-{status}")
        if outcomes.get(order_id) != expected:
            mismatched[order_id] = (status, outcomes.get(order_id))
    # Executions are compared per order, as executed amounts: the connector books fills from Vest's cumulative
    # truth, so its fill events need not match the venue's chunks one for one, only add up to them.
    venue_fills = venue.sim.fills(venue.account.primary_address)
    venue_executed: Dict[str, Decimal] = {}
    for fill in venue_fills:
        venue_executed[fill.order_id] = venue_executed.get(fill.order_id, Decimal(0)) + fill.size
    fill_events = recorder_of(venue).of(OrderFilledEvent)
    connector_fill_ids = [event.exchange_trade_id for event in fill_events]
    connector_executed: Dict[str, Decimal] = {}
    for event in {event.exchange_trade_id: event for event in fill_events}.values():
        connector_executed[event.exchange_order_id] = connector_executed.get(event.exchange_order_id,
                                                                             Decimal(0)) + event.amount
    return Reconciliation(
        orders=len(order_ids), venue_fills=len(venue_fills), connector_fills=len(set(connector_fill_ids)),
        duplicate_fill_events=len(connector_fill_ids) - len(set(connector_fill_ids)), mismatched=mismatched,
        stuck=stuck, venue_duplicates=duplicates,
        missing_fills=sorted(f"{order_id}: {amount - connector_executed.get(order_id, 0)} unreported"
                             for order_id, amount in venue_executed.items()
                             if connector_executed.get(order_id, Decimal(0)) < amount),
        unexpected_fills=sorted(f"{order_id}: {amount - venue_executed.get(order_id, 0)} too much"
                                for order_id, amount in connector_executed.items()
                                if venue_executed.get(order_id, Decimal(0)) < amount),
        venue_statuses=statuses)


async def eventually(condition: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    """True once `condition` holds, False if `timeout` s pass first (a scenario reports, it does not raise)."""
    try:
        await wait_until(condition, timeout=timeout, interval=interval)
        return True
    except AssertionError:
        return False


async def settle(venue: SimulatedVenue, order_ids, timeout: Optional[float] = None) -> Reconciliation:
    """Waits until venue and connector agree on `order_ids` and on every fill, or `timeout` passes; returns the
    last reconciliation either way (the caller reports its differences)."""
    holder: List[Reconciliation] = []

    def agreed() -> bool:
        holder[:] = [reconcile(venue, list(order_ids))]
        return holder[0].consistent

    try:
        await wait_until(agreed, timeout=SETTLE_TIMEOUT if timeout is None else timeout, interval=0.1,
                         what="venue and connector to agree")
    except AssertionError:
        pass
    return holder[0]


async def start_venue(pairs=(BTC,), seed: int = 11, probe: bool = True, **kwargs) -> Tuple[SimulatedVenue, Probe]:
    venue = SimulatedVenue(trading_pairs=list(pairs), seed=seed, **kwargs)
    instruments = Probe(venue)
    if probe:
        instruments.install_on_simulator()
    await venue.start()
    venue.recorder = EventRecorder().attach(venue.connector)
    # The funding info (mark price) arrives with the first `tickers` message; orders are priced from it.
    await wait_until(lambda: all(pair in venue.connector._perpetual_trading.funding_info for pair in pairs),
                     timeout=10, what="funding info")
    if probe:
        instruments.install_on_connector()
    return venue, instruments


async def stop_venue(venue: SimulatedVenue, probe: Optional[Probe] = None, *flows: OrderFlow):
    for flow in flows:
        flow.stop()
    if probe is not None:
        probe.stop()
    await venue.close()


# ------------------------------------------------------------------------------------------------------------------
# Scenarios
# ------------------------------------------------------------------------------------------------------------------
async def ws_drops(duration: float = 24.0, interval: float = 2.5, order_every: float = 0.6, seed: int = 11,
                   target: str = "both", code: int = SIM_ERRORS.WS_SERVICE_RESTART) -> ScenarioResult:
    """Every `interval` s the simulator closes the public and private WebSockets while orders keep flowing.

    Proven: every drop is followed by a reconnect of each stream before the next drop, and by an order-book
    snapshot from the new public connection; once the drops stop, every venue fill was reported exactly once
    by the connector (fills made while the private stream was down must come from REST backfill) and every
    order's final state matches the venue's."""
    result = ScenarioResult(fault="WebSocket drops",
                            injected=f"ws_drop_interval={interval:g}s ({target}, close {code}) for {duration:g}s")
    venue, probe = await start_venue(pairs=(BTC,), seed=seed)
    flow = OrderFlow(venue)
    try:
        venue.sim.faults.set(ws_drop_interval=interval, ws_drop_target=target, ws_drop_code=code, seed=seed)
        await flow.run(duration, every=order_every)
        venue.sim.faults.set(ws_drop_interval=None)
        end_of_faults = time.monotonic()
        # Give the last drop its chance to recover before judging it.
        await eventually(lambda: not probe.unrecovered_drops("public", BTC) and not probe.unrecovered_drops("private"),
                         timeout=interval + 5)
        outcome = await settle(venue, list(flow.intents))
        public_drops, private_drops = probe.drops_of("public"), probe.drops_of("private")
        details = {
            "drops": len(probe.drops), "public_drops": len(public_drops), "private_drops": len(private_drops),
            "public_reconnects": probe.reconnects("public"), "private_reconnects": probe.reconnects("private"),
            "unrecovered_public": probe.unrecovered_drops("public", BTC),
            "unrecovered_private": probe.unrecovered_drops("private"),
            "orders": outcome.orders, "venue_fills": outcome.venue_fills,
            "connector_fills": outcome.connector_fills, "venue_statuses": dict(outcome.venue_statuses),
            "order_events_via_ws": len(probe.order_events), "faults_ended_at": end_of_faults,
        }
        result.details.update(details, reconciliation=outcome)
        result.evidence = (f"ws drops: {len(probe.drops)}, reconnects public/private: {details['public_reconnects']}/"
                           f"{details['private_reconnects']}, orders: {outcome.orders}, "
                           f"fills venue/connector: {outcome.venue_fills}/{outcome.connector_fills}")
        expected_drops = int(duration / interval) - 1
        if target in ("both", "public"):
            result.check(len(public_drops) >= expected_drops,
                         f"only {len(public_drops)} public drops injected, expected >= {expected_drops}")
            result.check(not details["unrecovered_public"],
                         f"public stream not recovered (reconnect + book update) after drops at "
                         f"{details['unrecovered_public']} s")
        if target in ("both", "private"):
            result.check(len(private_drops) >= expected_drops,
                         f"only {len(private_drops)} private drops injected, expected >= {expected_drops}")
            result.check(not details["unrecovered_private"],
                         f"private stream not reconnected after drops at {details['unrecovered_private']} s")
        result.check(outcome.venue_fills > 0, "no order filled at all: the scenario proved nothing")
        result.check(outcome.consistent, f"connector and venue disagree after {SETTLE_TIMEOUT:g} s: "
                                         f"{outcome.describe()}")
    finally:
        await stop_venue(venue, probe, flow)
    return result


def private_stream_subscribed(venue: SimulatedVenue) -> bool:
    """The venue has a live `account_private` subscription for the account (so ORDER events can be pushed)."""
    primary = venue.account.primary_address.lower()
    return any(c.account is not None and c.account.primary == primary and "account_private" in c.subscriptions
               and not c.ws.closed for c in venue.sim.hub.connections)


async def order_events_flow(venue: SimulatedVenue, probe: Probe, flow: OrderFlow, timeout: float = 5.0) -> bool:
    """A MARKET order's FILLED ORDER event reaches the derivative through the private stream within `timeout`
    (REST polls are 120 s apart while the stream is healthy, so only the stream can deliver it that fast)."""
    order_id = flow.place(BTC, "market", is_buy=len(flow.intents) % 2 == 0)
    return await eventually(lambda: any(client_order_id_of(venue, n) == order_id and status == "FILLED"
                                        for _, status, n in probe.order_events), timeout=timeout)


class TicksPaused:
    """Stops the venue's Hummingbot clock (so no status poll samples the venue's clock) while the venue's clock is
    moved, and waits for a poll already under way to finish."""

    def __init__(self, venue: SimulatedVenue):
        self.venue = venue

    async def __aenter__(self):
        self.venue._clock_task.cancel()
        await eventually(lambda: not self.venue.connector._poll_notifier.is_set(), timeout=10)
        return self

    async def __aexit__(self, *exc):
        self.venue._clock_task = asyncio.ensure_future(self.venue._tick_forever())


def _sim_listen_key_put_failing_once(venue: SimulatedVenue) -> Dict[str, int]:
    """The simulator's next `PUT /account/listenKey` answers 1125 (the key stays valid on the venue, so only the
    connector's keep-alive path can notice it)."""
    engine, state = venue.sim.engine, {"armed": 0, "raised": 0}
    original = engine.listen_key_put

    def listen_key_put(account):
        if state["armed"]:
            state["armed"] -= 1
            state["raised"] += 1
            raise SimVestError(SIM_ERRORS.INVALID_LISTEN_KEY)
        return original(account)

    engine.listen_key_put = listen_key_put
    return state


async def listen_key_lifecycle(seed: int = 12, keep_alive_interval: float = 1.5) -> ScenarioResult:
    """Three ways to lose the listen key, each followed by a check that ORDER events flow again.

    * expiry: the venue clock jumps 61 min (the key's 60 min lifetime passes without a keep-alive); the venue
      closes the private socket with 4005; the connector must POST for a new key and reconnect. Only the venue's
      clock can jump, not the connector's, so as soon as the socket is closed (before the connector's 1 s
      reconnect delay is over) the venue clock is set back and the old key kept expired: the jump cannot reach
      the connector's time offset (its reconnection triggers a status poll, which samples the venue clock), so
      what is tested is the key, not the clock. Hummingbot's clock is paused around the jump;
    * deletion: the venue forgets the key and closes the socket with 4004; same expectations;
    * keep-alive refused: a PUT answers 1125 while the socket stays open; the connector must drop that
      connection, POST, and reconnect on its own. The keep-alive interval is shortened to `keep_alive_interval`.
    """
    result = ScenarioResult(fault="Listen key loss",
                            injected="clock +61 min (4005), key deleted (4004), keep-alive PUT -> 1125")
    with patch.object(CONSTANTS, "LISTEN_KEY_KEEP_ALIVE_INTERVAL", keep_alive_interval), LogCapture() as logs:
        venue, probe = await start_venue(pairs=(BTC,), seed=seed)
        flow = OrderFlow(venue)
        put_fault = _sim_listen_key_put_failing_once(venue)
        account = venue.sim.engine.accounts[venue.account.primary_address.lower()]
        steps: Dict[str, Dict[str, Any]] = {}
        try:
            result.check(await order_events_flow(venue, probe, flow), "no ORDER event before any fault")

            async def expect_new_connection(label: str, inject, new_key: bool):
                keys_before, connects_before = probe.listen_keys(), len(probe.connects["private"])
                posts_before = venue.sim.request_counts[("POST", "/v2/account/listenKey")]
                await inject()
                reconnected = await eventually(
                    lambda: len(probe.connects["private"]) > connects_before and private_stream_subscribed(venue),
                    timeout=10)
                keys = probe.listen_keys()
                step = {"reconnected": reconnected,
                        "new_key": len(keys) > len(keys_before) and keys[-1] not in keys_before,
                        "listen_key_posts": venue.sim.request_counts[("POST", "/v2/account/listenKey")] - posts_before}
                step["order_events"] = reconnected and await order_events_flow(venue, probe, flow)
                steps[label] = step
                result.check(reconnected, f"{label}: the private stream did not reconnect within 10 s")
                result.check(step["listen_key_posts"] >= 1, f"{label}: no POST /account/listenKey after the loss")
                if new_key:
                    result.check(step["new_key"], f"{label}: reconnected with the old listen key")
                result.check(step["order_events"], f"{label}: no ORDER event through the stream afterwards")

            async def expire():
                async with TicksPaused(venue):
                    key = account.listen_key
                    venue.sim.advance_clock(61 * 60)  # the venue sweeps its sockets: 4005 for this key
                    await eventually(lambda: not private_stream_subscribed(venue), timeout=5)
                    # Back to the connector's time before it reconnects (>= 1 s later), the key staying expired.
                    venue.sim.clock_offset_ms -= 61 * 60 * 1000
                    venue.sim.engine.listen_keys[key] = (account, venue.sim.now_ms() - 1)

            async def delete():
                venue.sim.engine.listen_key_delete(account)
                venue.sim.schedule_listen_key_sweep()

            async def refuse_keep_alive():
                put_fault["armed"] = 1
                await eventually(lambda: put_fault["raised"] == 1, timeout=keep_alive_interval * 4)

            await expect_new_connection("expiry (4005)", expire, new_key=True)
            await expect_new_connection("deletion (4004)", delete, new_key=True)
            await expect_new_connection("keep-alive 1125", refuse_keep_alive, new_key=False)
            result.check(put_fault["raised"] == 1, "the keep-alive never sent the PUT that was to be refused")
            warnings = logs.messages(logging.WARNING)
            for code in ("4005", "4004", "1125"):
                result.check(any(code in message for message in warnings),
                             f"the connector logged nothing about {code}")
            result.details.update(steps=steps, listen_keys=len(probe.listen_keys()),
                                  private_connects=len(probe.connects["private"]))
            result.evidence = (f"keys: {len(probe.listen_keys())}, reconnects: {probe.reconnects('private')}, "
                               "ORDER events after 4005/4004/1125: " + "/".join(
                                   "yes" if s["order_events"] else "no" for s in steps.values()))
        finally:
            await stop_venue(venue, probe, flow)
    return result


def count_failed_status_refreshes(venue: SimulatedVenue) -> Counter:
    """Per client order id, how many of the connector's order-status requests (`_request_order_status`, called by
    Hummingbot's status poll and lost-order loop) raised."""
    connector, failures = venue.connector, Counter()
    original = connector._request_order_status

    async def request_order_status(tracked_order):
        try:
            return await original(tracked_order)
        except Exception:
            failures[tracked_order.client_order_id] += 1
            raise

    connector._request_order_status = request_order_status
    return failures


class FailingOrderQueries:
    """While armed for an order id, the venue answers every `GET /orders?id=<that id>` with the given status
    (429 {"code":1003} or a plain 503): the order is fine, only the requests about it fail."""

    def __init__(self, venue: SimulatedVenue):
        self.armed: Dict[str, int] = {}  # exchange order id -> HTTP status
        engine = venue.sim.engine
        original = engine.query_orders

        def query_orders(account, ids=None, **kwargs):
            for order_id in ids or ():
                status = self.armed.get(order_id)
                if status == 429:
                    raise SimVestError(SIM_ERRORS.TOO_MANY_REQUESTS)
                if status is not None:
                    raise web.HTTPServiceUnavailable(text="Service Unavailable")
            return original(account, ids=ids, **kwargs)

        engine.query_orders = query_orders


@dataclass
class Phase:
    label: str
    requests: int
    peak: int
    orders: int
    failed_requests: int
    by_endpoint: Dict[str, int]


async def http_errors(statuses: Tuple[int, ...] = (429, 503), rate: float = 0.25, window: float = 10.0,
                      order_every: float = 0.8, poll_every: float = 1.0, failed_refreshes_to_survive: int = 4,
                      seed: int = 13) -> ScenarioResult:
    """A share `rate` of all REST requests answer an error status (429 with Retry-After: 1 s, or a plain-text
    5xx) during `window` s of order traffic per status; then the faults stop and venue and connector must agree.

    Phases of `window` s each, same traffic: first a baseline without faults, then one phase per status. So that
    the REST backstop is under fire too, a status poll is requested every `poll_every` s (Hummingbot polls every
    5 s whenever the user stream has been quiet for a minute), and both WebSockets are dropped once per phase (the
    private reconnection needs a listen-key POST).

    Then two LIMIT orders that rested through everything get their status requests refused (429 for one, 503 for
    the other) until each has seen `failed_refreshes_to_survive` failed refreshes — more than Hummingbot's
    lost-order limit (3) — and must still be open, on the venue and in the connector: an error answer says
    nothing about the order.

    Request ceiling per faulted phase: twice the baseline's count B, plus 10. Re-sending every failed request
    once scales the traffic by 1/(1-r) = 1.33 at r = 0.25; on top, the errors keep orders open longer (cancels to
    repeat, orders looked up by nonce after a 5xx — up to 4 GETs each), and every open order costs 2 GET /orders
    per poll; together that was measured at up to 1.5 B. A retry loop without back-off (the polling loop's 0.5 s
    pause gone, a reconnect without its doubling delay, a 429 answered by an immediate resend) runs at the
    throttler's pace, 30 requests/s, i.e. about 3.5 B in a 10 s phase. The busiest second of a phase may not
    exceed twice the baseline's busiest second + 5."""
    result = ScenarioResult(fault="HTTP " + "/".join(str(s) for s in statuses),
                            injected=f"http_error_rate={rate:g} ({'/'.join(str(s) for s in statuses)}), "
                                     f"{window:g}s each")
    venue, probe = await start_venue(pairs=(BTC,), seed=seed)
    flow = OrderFlow(venue)
    failed_refreshes = count_failed_status_refreshes(venue)
    failing_queries = FailingOrderQueries(venue)
    failures = Counter()
    original_http_error = venue.sim.faults.http_error

    def http_error():
        status = original_http_error()
        if status is not None:
            failures[status] += 1
        return status

    venue.sim.faults.http_error = http_error

    async def force_polls():
        while True:
            await asyncio.sleep(poll_every)
            venue.connector._poll_notifier.set()

    async def phase(label: str) -> Phase:
        per_second: List[int] = []

        async def sample():
            last = sum(venue.sim.request_counts.values())
            while True:
                await asyncio.sleep(1.0)
                now = sum(venue.sim.request_counts.values())
                per_second.append(now - last)
                last = now

        async def drop_halfway():
            await asyncio.sleep(window / 2)
            await venue.sim.drop_websockets()

        before, failed_before, orders_before = Counter(venue.sim.request_counts), sum(failures.values()), \
            len(flow.intents)
        tasks = [asyncio.ensure_future(sample()), asyncio.ensure_future(drop_halfway())]
        try:
            await flow.run(window, every=order_every)
        finally:
            for task in tasks:
                task.cancel()
        during = Counter(venue.sim.request_counts)
        during.subtract(before)
        return Phase(label, sum(during.values()), max(per_second or [0]), len(flow.intents) - orders_before,
                     sum(failures.values()) - failed_before, {f"{m} {p}": n for (m, p), n in during.items() if n})

    poller = None
    try:
        long_lived = [flow.place(BTC, "resting-limit", True), flow.place(BTC, "resting-limit", False)]
        await eventually(lambda: all(i in venue.connector.in_flight_orders
                                     and venue.connector.in_flight_orders[i].exchange_order_id for i in long_lived),
                         timeout=10)
        poller = asyncio.ensure_future(force_polls())
        phases = [await phase("baseline")]
        for status in statuses:
            venue.sim.faults.set(http_error_rate=rate, http_error_status=status, retry_after=1.0)
            phases.append(await phase(str(status)))
        venue.sim.faults.set(http_error_rate=0.0)

        # Targeted: refuse the resting orders' status requests until each has failed often enough.
        refused = {}
        for order_id, status in zip(long_lived, (429, 503)):
            order = venue.connector.in_flight_orders.get(order_id)
            if order is not None:
                failing_queries.armed[order.exchange_order_id] = status
                refused[order_id] = status
        baseline_failures = {i: failed_refreshes[i] for i in long_lived}
        await eventually(lambda: all(failed_refreshes[i] - baseline_failures[i] >= failed_refreshes_to_survive
                                     or i in connector_outcomes(venue) for i in refused), timeout=20)
        failing_queries.armed.clear()
        poller.cancel()
        on_venue = {i: venue_status(venue, i) for i in long_lived}
        survivors = [i for i in long_lived if i in venue.connector.in_flight_orders and on_venue[i] == "NEW"]
        declared_lost = {i: (connector_outcomes(venue).get(i), on_venue[i]) for i in long_lived
                         if i not in survivors}
        for order_id in long_lived:  # a strategy winding down cancels what rests
            flow._cancels.append(asyncio.ensure_future(flow.cancel_until_done(order_id)))
        # Waiting is for the traffic; a resting order declared lost can never agree again, so it is only judged.
        await settle(venue, [i for i in flow.intents if i not in declared_lost])
        await eventually(lambda: not any(i in venue.connector.in_flight_orders for i in survivors), timeout=10)
        outcome = reconcile(venue, list(flow.intents))
        baseline = phases[0]
        ceilings = {}
        for p in phases[1:]:
            # Each refused request may be sent again once and bring one follow-up read (a poll after a failed
            # status, a new listen key); a storm retries without bound. Twice the baseline alone was too tight:
            # 75 requests against 74 once, with 18 refused.
            ceilings[p.label] = baseline.requests + 2 * p.failed_requests + 10
            result.check(p.requests <= ceilings[p.label],
                         f"{p.label}: {p.requests} requests in {window:g} s exceed the ceiling {ceilings[p.label]} "
                         f"(baseline {baseline.requests}): retry storm")
            result.check(p.peak <= 2 * baseline.peak + 5,
                         f"{p.label}: {p.peak} requests in one second (baseline peak {baseline.peak}): retry storm")
            result.check(p.failed_requests > 0, f"{p.label}: no request was failed: the phase proved nothing")
        result.details.update(phases=phases, ceilings=ceilings, orders=outcome.orders,
                              venue_statuses=dict(outcome.venue_statuses), reconciliation=outcome,
                              failed_refreshes={i: failed_refreshes[i] - baseline_failures[i] for i in long_lived},
                              declared_lost=declared_lost)
        kept = min(failed_refreshes[i] - baseline_failures[i] for i in long_lived)
        result.evidence = ("requests/" + f"{window:g}s: " + ", ".join(
            f"{p.label} {p.requests}" + (f" (ceiling {ceilings[p.label]}, {p.failed_requests} failed)"
                                         if p.label in ceilings else "") for p in phases)
            + f"; orders: {outcome.orders}, fills venue/connector: {outcome.venue_fills}/{outcome.connector_fills}"
            + f"; resting orders still open after {kept} refused status requests: {len(survivors)}/{len(long_lived)}")
        result.check(outcome.venue_fills > 0, "no order filled at all: the scenario proved nothing")
        result.check(len(refused) == len(long_lived), "resting orders were no longer tracked before the targeted "
                                                      "refusals (declared lost during the random-error phases)")
        result.check(not declared_lost, "resting orders declared lost because requests about them failed "
                                        f"((connector, venue) state): {declared_lost}")
        result.check(outcome.consistent, f"connector and venue disagree after {SETTLE_TIMEOUT:g} s: "
                                         f"{outcome.describe()}")
    finally:
        if poller is not None:
            poller.cancel()
        await stop_venue(venue, probe, flow)
    return result


async def dropped_order_response(seed: int = 14) -> ScenarioResult:
    """`POST /orders` of a resting LIMIT is processed by the venue but its HTTP response is lost (the connection
    is aborted). The connector must find the order by nonce, track it with the venue's id, and cancel it; the
    venue must hold exactly one order for it."""
    result = ScenarioResult(fault="Order response lost", injected="drop_order_response=1 on a resting LIMIT")
    venue, probe = await start_venue(pairs=(BTC,), seed=seed)
    flow = OrderFlow(venue)
    try:
        venue.sim.faults.set(drop_order_response=1)
        order_id = flow.place(BTC, "resting-limit", is_buy=True)
        tracked = await eventually(lambda: (order_id in venue.connector.in_flight_orders and
                                            venue.connector.in_flight_orders[order_id].exchange_order_id is not None),
                                   timeout=10)
        rows = venue_rows_by_order(venue).get(order_id, [])
        exchange_id = venue.connector.in_flight_orders[order_id].exchange_order_id if tracked else None
        result.check(venue.sim.faults.drop_order_response == 0, "the response drop was never triggered")
        result.check(tracked, "the order was not recovered (no exchange order id) within 10 s")
        result.check(len(rows) == 1, f"the venue holds {len(rows)} orders for it")
        result.check(bool(rows) and rows[0]["id"] == exchange_id,
                     f"tracked id {exchange_id} is not the venue's {rows[0]['id'] if rows else None}")
        venue.connector.cancel(BTC, order_id)
        cancelled = await eventually(lambda: connector_outcomes(venue).get(order_id) == "CANCELED", timeout=10)
        rows = venue_rows_by_order(venue).get(order_id, [])
        result.check(cancelled, "the recovered order was not cancelled within 10 s")
        result.check(bool(rows) and rows[0]["status"] == "CANCELLED",
                     f"venue status {rows[0]['status'] if rows else None}, expected CANCELLED")
        result.check(not recorder_of(venue).of(MarketOrderFailureEvent), "the order was reported as failed")
        result.check(order_id not in venue.connector.in_flight_orders, "the order is still in flight")
        result.details.update(venue_rows=len(rows), exchange_order_id=exchange_id, cancelled=cancelled)
        result.evidence = (f"recovered by nonce: {'yes' if tracked else 'no'}, venue orders for it: "
                           f"{len(rows)}, cancelled: {'yes' if cancelled else 'no'}")
    finally:
        await stop_venue(venue, probe, flow)
    return result


class SimCancelHook:
    """Wraps the venue's cancel handling: counts its synchronous refusals by code (3017 = already processed or
    cancelled) and runs an optional one-shot action just before or just after the venue processes a cancel."""

    def __init__(self, venue: SimulatedVenue):
        self.codes: Counter = Counter()
        self.before: Optional[Callable[[], None]] = None
        self.after: Optional[Callable[[], None]] = None
        engine = venue.sim.engine
        original = engine.cancel_order

        def cancel_order(account, request):
            before, self.before = self.before, None
            if before is not None:
                before()
            try:
                return original(account, request)
            except SimVestError as error:
                self.codes[error.code] += 1
                raise
            finally:
                after, self.after = self.after, None
                if after is not None:
                    after()

        engine.cancel_order = cancel_order


async def cancel_fill_race(seed: int = 15) -> ScenarioResult:
    """A resting LIMIT is cancelled while the index crosses it. Rounds, tightest race first:

    * fill wins at the venue: the index crosses when the cancel reaches the venue, just before the venue
      handles it: the order fills, the cancel meets 3017;
    * the same, but the private FILLED event is lost, so only the connector's 3017 handling (fetching the final
      state over REST) can tell it that the order filled;
    * same loop iteration: the index jumps (the venue fills at once) and the cancel is issued in the same
      event-loop iteration, before the FILLED event is read: 3017;
    * cancel wins at the venue: the index crosses just after the venue cancelled: no fill.

    Every round: the connector's final state equals the venue's, the fill is reported exactly as often as the
    venue filled (0 or 1), 3017 is met where the fill won, and nothing stays in flight."""
    result = ScenarioResult(fault="Cancel racing a fill", injected="cancel and index crossing at the same moment")
    venue, probe = await start_venue(pairs=(BTC,), seed=seed)
    flow = OrderFlow(venue)
    hook = SimCancelHook(venue)
    rounds: Dict[str, Dict[str, Any]] = {}
    try:
        for label, expected in (("fill wins at the venue", "FILLED"), ("fill wins, event lost", "FILLED"),
                                ("same loop iteration", "FILLED"), ("cancel wins at the venue", "CANCELLED")):
            limit = flow.price(BTC, "0.995")
            order_id = flow.place(BTC, "resting-limit", is_buy=True, price=limit)
            ready = await eventually(lambda: (order_id in venue.connector.in_flight_orders
                                              and venue.connector.in_flight_orders[order_id].exchange_order_id
                                              and venue_status(venue, order_id) == "NEW"), timeout=10)
            if not result.check(ready, f"{label}: the LIMIT order was not resting within 10 s"):
                continue
            refusals_before = hook.codes[SIM_ERRORS.ORDER_NOT_FOUND]
            crossing = (limit * Decimal("0.99")).quantize(TICKS[BTC])

            def cross(drop_event: bool = False):
                if drop_event:
                    venue.sim.faults.set(private_event_drop_rate=1.0)
                venue.sim.set_index_price(SYMBOLS[BTC], crossing)
                venue.sim.faults.set(private_event_drop_rate=0.0)

            if label == "fill wins at the venue":
                hook.before = cross
            elif label == "fill wins, event lost":
                hook.before = lambda: cross(drop_event=True)
            elif label == "cancel wins at the venue":
                hook.after = cross
            else:
                cross()
            venue.connector.cancel(BTC, order_id)
            outcome = await settle(venue, [order_id], timeout=10)
            final = venue_status(venue, order_id)
            fill_events = [e for e in recorder_of(venue).of(OrderFilledEvent) if e.order_id == order_id]
            venue_fills = [f for f in venue.sim.fills(venue.account.primary_address)
                           if client_order_id_of(venue, f.nonce) == order_id]
            rounds[label] = {"venue": final, "connector": connector_outcomes(venue).get(order_id),
                             "3017": hook.codes[SIM_ERRORS.ORDER_NOT_FOUND] - refusals_before,
                             "fill_events": len(fill_events), "venue_fills": len(venue_fills)}
            result.check(final == expected, f"{label}: the venue ended {final}, the race was meant to "
                                            f"end {expected}")
            result.check(outcome.consistent, f"{label}: {outcome.describe()}")
            result.check(len(fill_events) == len(venue_fills),
                         f"{label}: {len(fill_events)} fill events for {len(venue_fills)} venue fills")
            if expected == "FILLED":
                result.check(rounds[label]["3017"] == 1, f"{label}: the venue did not answer the cancel with 3017")
        result.details.update(rounds=rounds)
        result.evidence = "; ".join(f"{label}: {r['venue']}/{r['connector']}, 3017 x{r['3017']}, "
                                    f"fills {r['venue_fills']}/{r['fill_events']}" for label, r in rounds.items())
    finally:
        await stop_venue(venue, probe, flow)
    return result


async def clock_skew(offsets_ms: Tuple[int, ...] = (3000, -3000), large_ms: int = 15_000,
                     seed: int = 16) -> ScenarioResult:
    """The venue clock runs `offset` ms ahead of or behind the connector's.

    Within the 10 s recvWindow (±3 s) every order must be accepted at once and behave normally (MARKET fills,
    LIMIT rests and is cancelled). Beyond it (`large_ms`) the first order may be refused, but only with a clear
    ORDER_EXPIRED (1132) failure, after which the connector re-measures the offset from `GET /account` and a
    re-placed order is accepted within three attempts."""
    result = ScenarioResult(fault="Clock skew", injected=", ".join(f"{o / 1000:+g}s" for o in offsets_ms)
                            + f" and {large_ms / 1000:+g}s on the venue clock")
    venue, probe = await start_venue(pairs=(BTC,), seed=seed)
    flow = OrderFlow(venue)
    outcomes: Dict[str, str] = {}
    try:
        for offset in offsets_ms:
            venue.sim.clock_offset_ms = offset
            ids = [flow.place(BTC, "market", True), flow.place(BTC, "market", False),
                   flow.place(BTC, "resting-limit", True)]
            await eventually(lambda: ids[2] in venue.connector.in_flight_orders and
                             venue.connector.in_flight_orders[ids[2]].exchange_order_id is not None, timeout=5)
            asyncio.ensure_future(flow.cancel_until_done(ids[2]))
            outcome = await settle(venue, ids, timeout=10)
            statuses = [VENUE_TO_CONNECTOR.get(venue_status(venue, i)) for i in ids]
            accepted = statuses == ["FILLED", "FILLED", "CANCELED"]
            outcomes[f"{offset / 1000:+g}s"] = "accepted" if accepted else f"{statuses}"
            result.check(accepted, f"skew {offset} ms: venue outcomes {statuses}, expected FILLED, FILLED, CANCELED")
            result.check(outcome.consistent, f"skew {offset} ms: {outcome.describe()}")
        venue.sim.clock_offset_ms = large_ms
        failures_before = len(recorder_of(venue).of(MarketOrderFailureEvent))
        accepted_after = None
        for attempt in range(1, 4):
            order_id = flow.place(BTC, "market", attempt % 2 == 1)
            await eventually(lambda: connector_outcomes(venue).get(order_id) is not None, timeout=10)
            if connector_outcomes(venue).get(order_id) == "FILLED":
                accepted_after = attempt
                break
            await asyncio.sleep(1.0)  # a strategy's re-placement delay; the resync runs meanwhile
        failures = recorder_of(venue).of(MarketOrderFailureEvent)[failures_before:]
        unclear = [f.error_message for f in failures if "1132" not in (f.error_message or "")]
        outcomes[f"{large_ms / 1000:+g}s"] = (f"{len(failures)} refused with 1132, accepted on attempt {accepted_after}"
                                              if accepted_after else f"{len(failures)} refused")
        result.check(not unclear, f"skew {large_ms} ms: refusals without a clear 1132 ORDER_EXPIRED: {unclear}")
        result.check(accepted_after is not None, f"skew {large_ms} ms: no order accepted in 3 attempts")
        outcome = await settle(venue, list(flow.intents), timeout=10)
        result.check(not outcome.stuck, f"orders stuck in flight: {outcome.stuck}")
        result.details.update(outcomes=outcomes)
        result.evidence = ", ".join(f"{k}: {v}" for k, v in outcomes.items())
    finally:
        await stop_venue(venue, probe, flow)
    return result


async def reconnect_under_load(warm_up: float = 30.0, after: float = 5.0, order_every: float = 0.2,
                               seed: int = 17) -> ScenarioResult:
    """Strategy-like load (5 orders/s on two pairs, a third of them resting LIMITs cancelled after 1 s), then one
    private-stream drop while orders keep coming. The events of the gap are lost; the connector's reconnection
    poll must bring venue and connector back into agreement within the settle time (15 s) of the last order.

    About 40 s; its test is in the default run, because this is the load a market-making strategy puts on a
    reconnection poll (~150 fillable orders in Hummingbot's tracker)."""
    result = ScenarioResult(fault="Private drop under load",
                            injected=f"1 private WS drop after {warm_up:g}s at {1 / order_every:g} orders/s")
    venue, probe = await start_venue(pairs=(BTC, ETH), seed=seed)
    flow = OrderFlow(venue, pairs=(BTC, ETH))
    try:
        await flow.run(warm_up, every=order_every)
        cached = len(venue.connector._order_tracker.all_fillable_orders)
        await venue.sim.drop_websockets(public=False, private=True)
        await flow.run(after, every=order_every)
        stopped = time.monotonic()
        outcome = await settle(venue, list(flow.intents))
        lag = time.monotonic() - stopped
        result.details.update(reconciliation=outcome, fillable_at_drop=cached, lag=lag)
        result.evidence = (f"orders: {outcome.orders}, fillable orders at the drop: {cached}, fills venue/connector: "
                           f"{outcome.venue_fills}/{outcome.connector_fills}, agreed "
                           + (f"{lag:.1f}s after the last order" if outcome.consistent else
                              f"not within {SETTLE_TIMEOUT:g}s"))
        result.check(outcome.consistent, f"connector and venue disagree {SETTLE_TIMEOUT:g} s after the last order: "
                                         f"{outcome.describe()}")
    finally:
        await stop_venue(venue, probe, flow)
    return result


SCENARIOS: Dict[str, Callable[..., Any]] = {
    "ws_drops": ws_drops,
    "listen_key": listen_key_lifecycle,
    "http_errors": http_errors,
    "dropped_order_response": dropped_order_response,
    "cancel_fill_race": cancel_fill_race,
    "clock_skew": clock_skew,
    "reconnect_under_load": reconnect_under_load,
}
