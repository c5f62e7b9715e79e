"""Seeded market model: index path, mark price, AMM ladder, funding, klines, trade tape.

docs/vest-protocol.md §2, §6.2-6.3, §7.

Pure state, no I/O. Time comes from an injected clock (ms). Vest has no order book: the "depth" is the AMM's
quote ladder around the mark price and every fill is a taker fill against it (§2.7, §6.2).

Model (all [inferred], documented guesses):
* index: geometric random walk, one step per tick, rounded to the price tick;
* mark = index * (1 + premium); premium = small mean-reverting noise + a term proportional to the net
  user open-interest imbalance (notional / liquidity);
* execution price for a taker of size S: mark * (1 ± (HALF_SPREAD + IMPACT * S*mark / (2*liquidity))), i.e. the
  VWAP of walking a linear-impact ladder; `depth()` renders the discretised ladder;
* oneHrFundingRate: base rate + imbalance term + mean-reverting noise; cumFunding accrues continuously:
  d(cumFunding) = rate/3600 per second * index price (§6.3). Minute samples form /funding/history;
* 1-minute bars of the mark price (volume from fills), aggregated for any interval (§2.5).

Market status (§2.2, §7.13): a market is halted while it is halted by hand (`halt`, the simulator's
`halted_symbols` argument and `set_market_status`), by the `halted_symbols` fault, or outside its `market_hours`
session. Where the halt shows follows `halt_flag_in`; prices keep moving while a market is halted.
"""
from __future__ import annotations

import calendar
import random
from collections import deque
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from decimal import Decimal
from typing import Callable, Deque, Dict, Iterable, List, Optional, Sequence, Set, Tuple

from .faults import Faults
from .signatures import keccak
from .util import RATE_DECIMALS, ZERO, fmt, fmt_usdc, round_to, step, units_formatter

MINUTE_MS = 60_000
DAY_MS = 86_400_000
HALF_SPREAD = Decimal("0.0001")  # relative half-spread of the AMM quote
IMPACT = Decimal("0.01")  # marginal relative price impact per `liquidity_usd` of notional
LADDER_LEVELS = 100
LADDER_LEVEL_SHARE = Decimal(1) / Decimal(200)  # notional per ladder level, as a share of liquidity
PREMIUM_NOISE_LIMIT = Decimal("0.0002")
PREMIUM_IMBALANCE_COEF = Decimal("0.05")
PREMIUM_LIMIT = Decimal("0.005")
FUNDING_NOISE_LIMIT = Decimal("0.00001")
FUNDING_IMBALANCE_COEF = Decimal("0.001")
FUNDING_LIMIT = Decimal("0.001")
BACKGROUND_TRADE_PROBABILITY = 0.3
BACKGROUND_NOTIONAL_RANGE = (100, 5000)
MAX_GAP_FILL_MINUTES = 2 * 1440
TRADE_TAPE_LENGTH = 10_000
MAX_HISTORY_LIMIT = 1000
HISTORY_MINUTE_VOL_FACTOR = 10  # synthetic history: per-minute stdev = 10 x per-tick stdev

# (1 + rel, 1 - rel) of each ladder level as exact integer ratios, rel = HALF_SPREAD + IMPACT x share x level
_LADDER_FACTORS = [((1 + rel).as_integer_ratio(), (1 - rel).as_integer_ratio())
                   for rel in (HALF_SPREAD + IMPACT * LADDER_LEVEL_SHARE * i for i in range(LADDER_LEVELS))]

INTERVAL_MS = {
    "1m": MINUTE_MS, "3m": 3 * MINUTE_MS, "5m": 5 * MINUTE_MS, "15m": 15 * MINUTE_MS, "30m": 30 * MINUTE_MS,
    "1h": 60 * MINUTE_MS, "2h": 120 * MINUTE_MS, "4h": 240 * MINUTE_MS, "6h": 360 * MINUTE_MS,
    "8h": 480 * MINUTE_MS, "12h": 720 * MINUTE_MS, "1d": DAY_MS, "3d": 3 * DAY_MS, "1w": 7 * DAY_MS,
    "1M": 31 * DAY_MS,  # nominal; real buckets are calendar months
}
_WEEK_ALIGN_MS = 4 * DAY_MS  # the epoch was a Thursday; weeks start on Monday 00:00 UTC


@dataclass(frozen=True)
class SymbolSpec:
    """Static market parameters as served by /exchangeInfo (§2.1)."""

    symbol: str
    base: str
    quote: str
    size_decimals: int
    price_decimals: int
    init_margin_ratio: Decimal
    maint_margin_ratio: Decimal
    start_price: Decimal
    liquidity_usd: Decimal
    taker_fee: Decimal = Decimal("0.0001")
    asset: str = "crypto"
    isolated: bool = False
    display_name: str = ""
    volatility: Decimal = Decimal("0.00005")  # relative stdev of the index per tick
    base_funding_rate: Decimal = Decimal("0.0000125")

    @property
    def name(self) -> str:
        return self.display_name or self.symbol

    @property
    def max_leverage(self) -> int:
        return int(Decimal(1) / self.init_margin_ratio)


D = Decimal
CATALOG: Dict[str, SymbolSpec] = {s.symbol: s for s in (
    SymbolSpec("BTC-PERP", "BTC", "USDC", 4, 1, D("0.02"), D("0.01"), D("65000.0"), D("20000000")),
    SymbolSpec("ETH-PERP", "ETH", "USDC", 3, 2, D("0.02"), D("0.01"), D("3500.00"), D("10000000")),
    SymbolSpec("SOL-PERP", "SOL", "USDC", 2, 3, D("0.05"), D("0.025"), D("150.000"), D("3000000")),
    SymbolSpec("kBONK-PERP", "kBONK", "USDC", 0, 6, D("0.1"), D("0.05"), D("0.025000"), D("500000"),
               isolated=True, volatility=D("0.0001")),
    # quote "USDC" for -USD-PERP symbols is a guess (§2.1 says unknown).
    SymbolSpec("AAPL-USD-PERP", "AAPL", "USDC", 2, 2, D("0.1"), D("0.05"), D("230.00"), D("2000000"),
               asset="stock", display_name="Apple Inc.", volatility=D("0.00003")),
    SymbolSpec("EUR-USD-PERP", "EUR", "USDC", 0, 5, D("0.02"), D("0.01"), D("1.08000"), D("5000000"),
               asset="forex", display_name="Euro / US Dollar", volatility=D("0.00002")),
)}
DEFAULT_SYMBOLS = ("BTC-PERP", "ETH-PERP", "SOL-PERP", "kBONK-PERP", "AAPL-USD-PERP")
# Synthetic markets for scale runs, cycled by number: (size decimals, price decimals, start price of the first).
SYNTHETIC_TEMPLATES = ((0, 5, D("0.50000")), (1, 4, D("5.0000")), (2, 3, D("50.000")), (3, 2, D("500.00")))


def synthetic_specs(count: int, first: int = 1) -> List[SymbolSpec]:
    """`count` synthetic crypto markets `SYN001-PERP`, `SYN002-PERP`, ... (base `SYN001`, quote USDC): size/price
    decimals and start prices cycle through SYNTHETIC_TEMPLATES (start x 1.0 .. 1.9 by number), IMR 0.05, MMR
    0.025, 2M USDC of AMM liquidity. Independent of the seed."""
    specs = []
    for number in range(first, first + count):
        size_decimals, price_decimals, price = SYNTHETIC_TEMPLATES[(number - 1) % len(SYNTHETIC_TEMPLATES)]
        name = f"SYN{number:03d}"
        start = round_to(price * (1 + D(number % 10) / 10), price_decimals, up=False)
        specs.append(SymbolSpec(f"{name}-PERP", name, "USDC", size_decimals, price_decimals, D("0.05"), D("0.025"),
                                start, D("2000000"), display_name=f"Synthetic {number}"))
    return specs


def scale_specs(count: int) -> List[SymbolSpec]:
    """`count` markets: the CATALOG's in order (BTC, ETH, SOL, kBONK, AAPL, EUR), then `synthetic_specs`."""
    if isinstance(count, bool) or count < 1:
        raise ValueError("the number of symbols must be >= 1")
    catalog = list(CATALOG.values())[:count]
    return catalog + synthetic_specs(count - len(catalog))


def resolve_specs(symbols: Optional[Iterable[object]], start_prices: Optional[Dict[str, Decimal]] = None
                  ) -> List[SymbolSpec]:
    """Symbol names (from CATALOG) or SymbolSpec objects -> specs; None -> DEFAULT_SYMBOLS; an integer n ->
    `scale_specs(n)` (e.g. `symbols=100`)."""
    if isinstance(symbols, int):
        symbols = scale_specs(symbols)
    specs: List[SymbolSpec] = []
    for item in symbols if symbols is not None else DEFAULT_SYMBOLS:
        if isinstance(item, SymbolSpec):
            specs.append(item)
        elif item in CATALOG:
            specs.append(CATALOG[item])  # type: ignore[index]
        else:
            raise ValueError(f"unknown symbol {item!r}; pass a SymbolSpec (known: {', '.join(CATALOG)})")
    if start_prices:
        specs = [replace(s, start_price=D(str(start_prices[s.symbol]))) if s.symbol in start_prices else s
                 for s in specs]
    return specs


def bucket_start(time_ms: int, interval: str) -> int:
    if interval == "1M":
        moment = datetime.fromtimestamp(time_ms / 1000, tz=timezone.utc)
        return calendar.timegm((moment.year, moment.month, 1, 0, 0, 0)) * 1000
    size = INTERVAL_MS[interval]
    offset = _WEEK_ALIGN_MS if interval == "1w" else 0
    return (time_ms - offset) // size * size + offset


def bucket_end(start_ms: int, interval: str) -> int:
    """Exclusive end of the bucket starting at start_ms."""
    if interval == "1M":
        moment = datetime.fromtimestamp(start_ms / 1000, tz=timezone.utc)
        year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
        return calendar.timegm((year, month, 1, 0, 0, 0)) * 1000
    return start_ms + INTERVAL_MS[interval]


class Bar:
    """One 1-minute bar; volume in base units, quote volume in USDC."""

    __slots__ = ("open_time", "open", "high", "low", "close", "volume", "quote_volume", "trades")

    def __init__(self, open_time: int, price: Decimal, close: Optional[Decimal] = None) -> None:
        self.open_time = open_time
        self.open = price
        self.close = price if close is None else close
        self.high = max(self.open, self.close)
        self.low = min(self.open, self.close)
        self.volume = ZERO
        self.quote_volume = ZERO
        self.trades = 0

    def update(self, price: Decimal) -> None:
        self.close = price
        if price > self.high:
            self.high = price
        if price < self.low:
            self.low = price


@dataclass
class SymbolState:
    spec: SymbolSpec
    rng: random.Random
    index: Decimal
    mark: Decimal = ZERO
    premium_noise: Decimal = ZERO
    funding_noise: Decimal = ZERO
    funding_rate: Decimal = ZERO
    cum_funding: Decimal = ZERO
    last_accrual_ms: int = 0
    imbalance: Decimal = ZERO  # net user open interest, base units (positive = long-heavy)
    bars: Dict[int, Bar] = field(default_factory=dict)
    funding_samples: List[Tuple[int, Decimal]] = field(default_factory=list)
    trades: Deque[Trade] = field(default_factory=lambda: deque(maxlen=TRADE_TAPE_LENGTH))
    trade_seq: int = 0
    trade_id_prefix: str = "0x"  # 0x + 16 hex of keccak(seed:symbol); WS trade ids are 0x + 64 hex
    day_cache: Optional[Tuple[int, Optional[tuple]]] = None  # (minute, closed-minutes aggregate) for /ticker/24hr


class Trade:
    """One public trade (§2.6, §5.3): `id` is its WS id (0x + 64 hex), `seq` its REST id (an integer, as the
    docs' `GET /trades` example shows); `qty` is signed (negative: the taker sold)."""

    __slots__ = ("seq", "id", "price", "qty", "quote_qty", "time", "is_buy")

    def __init__(self, seq: int, trade_id: str, price: str, qty: str, quote_qty: str, time_ms: int,
                 is_buy: bool) -> None:
        self.seq, self.id, self.price, self.qty, self.quote_qty = seq, trade_id, price, qty, quote_qty
        self.time, self.is_buy = time_ms, is_buy

    def render(self, side: str = "signed_qty", rest: bool = False) -> dict:
        """The wire object under the `trade_side` reading; `rest` gives the REST id, else the WS id."""
        data = {"id": self.seq if rest else self.id, "price": self.price,
                "qty": self.qty if side == "signed_qty" else self.qty.lstrip("-"), "quoteQty": self.quote_qty,
                "time": self.time}
        if side == "is_buy":
            data["isBuy"] = self.is_buy
        elif side == "side":
            data["side"] = "BUY" if self.is_buy else "SELL"
        return data


def _gauss(rng: random.Random) -> Decimal:
    return Decimal(rng.gauss(0.0, 1.0)).quantize(Decimal("1e-9"))


def _clamp(value: Decimal, limit: Decimal) -> Decimal:
    return max(-limit, min(limit, value))


class Market:
    """All symbols' prices and history. `halted` are markets halted by hand (until `resume`); `faults` gives the
    `halted_symbols` fault, `market_hours` and the readings of how markets and trades are shown (shared with the
    engine, which adopts the market's when given none)."""

    def __init__(self, specs: Sequence[SymbolSpec], seed: int, clock: Callable[[], int],
                 history_minutes: int = 1440, halted: Iterable[str] = (), faults: Optional[Faults] = None,
                 trade_probability: float = BACKGROUND_TRADE_PROBABILITY) -> None:
        if not 0.0 <= trade_probability <= 1.0:
            raise ValueError("trade_probability must be within [0, 1]")
        if len({spec.symbol for spec in specs}) != len(specs):
            raise ValueError("symbols must be unique")
        self.clock = clock
        self.seed = seed
        self.trade_probability = trade_probability  # chance of a background trade per market and tick
        self.faults = faults if faults is not None else Faults(seed=seed)
        self.halted: Set[str] = set(halted)
        self.states: Dict[str, SymbolState] = {}
        now = clock()
        for spec in specs:
            state = SymbolState(spec=spec, rng=random.Random(f"{seed}:{spec.symbol}:live"), index=spec.start_price,
                                funding_rate=spec.base_funding_rate, last_accrual_ms=now)
            state.trade_id_prefix = "0x" + keccak(f"{seed}:{spec.symbol}".encode()).hex()[:16]
            self._reprice(state)
            self._generate_history(state, now, history_minutes)
            self.states[spec.symbol] = state

    # ---- lookups -------------------------------------------------------------------------------------------
    @property
    def symbols(self) -> List[str]:
        return list(self.states)

    def spec(self, symbol: str) -> SymbolSpec:
        return self.states[symbol].spec

    def state(self, symbol: str) -> SymbolState:
        return self.states[symbol]

    def is_halted(self, symbol: str) -> bool:
        """The venue's truth: halted by hand, by the `halted_symbols` fault, or outside its `market_hours`."""
        return (symbol in self.halted or symbol in self.faults.halted_symbols
                or not self.faults.in_session(symbol, self.clock()))

    def status(self, symbol: str) -> str:
        """`TRADING` or `HALT`, the venue's truth (wherever it shows)."""
        return "HALT" if self.is_halted(symbol) else "TRADING"

    def shown_status(self, symbol: str, where: str) -> str:
        """The status shown at `where` ("ticker" or "exchange_info"): the truth where `halt_flag_in` shows halts,
        `TRADING` elsewhere."""
        return self.status(symbol) if self.faults.halt_flag_in in (where, "both") else "TRADING"

    def halt(self, symbol: str) -> None:
        self.halted.add(symbol)

    def resume(self, symbol: str) -> None:
        """Lift the halts by hand and by fault; a market outside its `market_hours` stays closed."""
        self.halted.discard(symbol)
        self.faults.halted_symbols.discard(symbol)

    # ---- evolution -----------------------------------------------------------------------------------------
    def _generate_history(self, state: SymbolState, now: int, minutes: int) -> None:
        """Seeded past 1-minute bars and funding samples ending at the start price."""
        rng = random.Random(f"{self.seed}:{state.spec.symbol}:history")
        spec = state.spec
        minute_vol = spec.volatility * HISTORY_MINUTE_VOL_FACTOR
        prices = [spec.start_price]
        for _ in range(minutes):
            prices.append(round_to(prices[-1] * (1 - minute_vol * _gauss(rng)), spec.price_decimals, up=False))
        prices.reverse()
        current_minute = now // MINUTE_MS * MINUTE_MS
        rate = spec.base_funding_rate
        for i in range(minutes):
            open_time = current_minute - (minutes - i) * MINUTE_MS
            bar = Bar(open_time, prices[i], prices[i + 1])
            wiggle = abs(_gauss(rng)) * minute_vol / 2
            bar.high = round_to(bar.high * (1 + wiggle), spec.price_decimals, up=True)
            bar.low = round_to(bar.low * (1 - wiggle), spec.price_decimals, up=False)
            notional = Decimal(rng.randint(*BACKGROUND_NOTIONAL_RANGE) * rng.randint(1, 20))
            bar.volume = round_to(notional / bar.close, spec.size_decimals, up=False)
            bar.quote_volume = notional
            bar.trades = rng.randint(1, 40)
            state.bars[open_time] = bar
            rate = spec.base_funding_rate + _clamp(rate - spec.base_funding_rate + _gauss(rng) * Decimal("2e-7"),
                                                   FUNDING_NOISE_LIMIT)
            state.funding_samples.append((open_time, rate.quantize(step(RATE_DECIMALS))))
        state.bars[current_minute] = Bar(current_minute, state.mark)
        state.funding_samples.append((current_minute, state.funding_rate))

    def _reprice(self, state: SymbolState) -> None:
        spec = state.spec
        imbalance_share = state.imbalance * state.index / spec.liquidity_usd
        premium = _clamp(state.premium_noise + PREMIUM_IMBALANCE_COEF * imbalance_share, PREMIUM_LIMIT)
        state.mark = round_to(state.index * (1 + premium), spec.price_decimals, up=premium > 0)
        rate = spec.base_funding_rate + state.funding_noise + FUNDING_IMBALANCE_COEF * imbalance_share
        state.funding_rate = _clamp(rate, FUNDING_LIMIT).quantize(step(RATE_DECIMALS))

    def accrue(self, now: Optional[int] = None, symbol: Optional[str] = None) -> None:
        """Accrue cumFunding up to `now`, record minute funding samples and roll bars (fills clock gaps)."""
        now = self.clock() if now is None else now
        for state in self.states.values() if symbol is None else (self.states[symbol],):
            elapsed = now - state.last_accrual_ms
            if elapsed > 0:
                state.cum_funding += state.funding_rate * state.index * Decimal(elapsed) / Decimal(3_600_000)
                state.last_accrual_ms = now
            minute = now // MINUTE_MS * MINUTE_MS
            last_sample = state.funding_samples[-1][0]
            if minute > last_sample:
                first = max(last_sample + MINUTE_MS, minute - MAX_GAP_FILL_MINUTES * MINUTE_MS)
                state.funding_samples.extend((t, state.funding_rate) for t in range(first, minute + 1, MINUTE_MS))
            self._bar_for(state, minute).update(state.mark)

    def _bar_for(self, state: SymbolState, minute: int) -> Bar:
        bar = state.bars.get(minute)
        if bar is None:
            last_time = next(reversed(state.bars))
            if minute < last_time:  # clock moved backwards (negative skew): keep bars ascending
                return state.bars[last_time]
            close = state.bars[last_time].close
            first = max(last_time + MINUTE_MS, minute - MAX_GAP_FILL_MINUTES * MINUTE_MS)
            for t in range(first, minute, MINUTE_MS):
                state.bars[t] = Bar(t, close)
            bar = state.bars[minute] = Bar(minute, close)
        return bar

    def step(self) -> List[Tuple[str, dict]]:
        """One tick: move every index, re-derive mark/funding, roll bars; returns background trades."""
        now = self.clock()
        self.accrue(now)
        trades: List[Tuple[str, dict]] = []
        for symbol, state in self.states.items():
            spec, rng = state.spec, state.rng
            state.index = max(step(spec.price_decimals),
                              round_to(state.index * (1 + spec.volatility * _gauss(rng)), spec.price_decimals,
                                       up=False))
            state.premium_noise = _clamp(state.premium_noise * Decimal("0.9") + _gauss(rng) * Decimal("0.00002"),
                                         PREMIUM_NOISE_LIMIT)
            state.funding_noise = _clamp(state.funding_noise * Decimal("0.99") + _gauss(rng) * Decimal("2e-7"),
                                         FUNDING_NOISE_LIMIT)
            self._reprice(state)
            self._bar_for(state, now // MINUTE_MS * MINUTE_MS).update(state.mark)
            if rng.random() < self.trade_probability and not self.is_halted(symbol):
                is_buy = rng.random() < 0.5
                notional = Decimal(rng.randint(*BACKGROUND_NOTIONAL_RANGE))
                size = max(step(spec.size_decimals), round_to(notional / state.mark, spec.size_decimals, up=False))
                price = self.execution_price(symbol, is_buy, size)
                trades.append((symbol, self.record_trade(symbol, price, size if is_buy else -size, now)))
        return trades

    def set_index(self, symbol: str, price: Decimal) -> None:
        state = self.states[symbol]
        self.accrue()
        state.index = round_to(Decimal(price), state.spec.price_decimals, up=False)
        self._reprice(state)
        self.accrue()

    def add_imbalance(self, symbol: str, signed_size: Decimal) -> None:
        state = self.states[symbol]
        self.accrue(symbol=symbol)  # funding so far accrues at the rate before the imbalance changes
        state.imbalance += signed_size
        self._reprice(state)

    # ---- pricing -------------------------------------------------------------------------------------------
    def execution_price(self, symbol: str, is_buy: bool, size: Decimal) -> Decimal:
        """Taker VWAP against the AMM ladder: mark ± (half-spread + size-dependent premium)."""
        state = self.states[symbol]
        rel = HALF_SPREAD + IMPACT * size * state.mark / (2 * state.spec.liquidity_usd)
        return round_to(state.mark * (1 + rel if is_buy else 1 - rel), state.spec.price_decimals, up=is_buy)

    def depth(self, symbol: str, limit: int) -> Dict[str, List[List[str]]]:
        """The AMM quote ladder: `limit` levels per side around the mark (§2.7). Level i starts at mark x (1 +/- rel),
        rel = HALF_SPREAD + IMPACT x LADDER_LEVEL_SHARE x i, rounded outwards to the tick and at least a tick
        beyond the level before; each level holds `liquidity_usd` x LADDER_LEVEL_SHARE of notional (at least one
        size step). Exact integer arithmetic in ticks and size steps (the same strings as Decimal arithmetic)."""
        state = self.states[symbol]
        spec = state.spec
        price_decimals, size_decimals = spec.price_decimals, spec.size_decimals
        mark_num, mark_den = state.mark.as_integer_ratio()
        mark_num *= 10 ** price_decimals  # the mark in ticks = mark_num / mark_den
        notional_num, notional_den = (spec.liquidity_usd * LADDER_LEVEL_SHARE).as_integer_ratio()
        size_num = notional_num * 10 ** (price_decimals + size_decimals)  # steps at p ticks: size_num / (den x p)
        price_text, size_text = units_formatter(price_decimals), units_formatter(size_decimals)
        bids: List[List[str]] = []
        asks: List[List[str]] = []
        last_ask, last_bid = 0, 0
        for i in range(min(limit, LADDER_LEVELS)):
            (ask_num, ask_den), (bid_num, bid_den) = _LADDER_FACTORS[i]
            ask = -(-mark_num * ask_num // (mark_den * ask_den))  # ceiling
            if ask <= last_ask:
                ask = last_ask + 1
            bid = mark_num * bid_num // (mark_den * bid_den)  # floor
            if i and bid >= last_bid:
                bid = last_bid - 1
            last_ask, last_bid = ask, bid
            size = size_num // (notional_den * ask)
            asks.append([price_text(ask), size_text(size if size > 0 else 1)])
            if bid > 0:
                size = size_num // (notional_den * bid)
                bids.append([price_text(bid), size_text(size if size > 0 else 1)])
        return {"bids": bids, "asks": asks}

    def record_trade(self, symbol: str, price: Decimal, signed_size: Decimal, time_ms: int) -> dict:
        """Append a fill to the tape and the current bar; negative size = taker sold (§2.6). Returns the
        `{symbol}@trades` payload (hex id, `trade_side` reading)."""
        state = self.states[symbol]
        spec = state.spec
        state.trade_seq += 1
        quote = abs(signed_size) * price
        trade = Trade(state.trade_seq, f"{state.trade_id_prefix}{state.trade_seq:048x}",
                      fmt(price, spec.price_decimals), fmt(signed_size, spec.size_decimals), fmt_usdc(quote), time_ms,
                      signed_size > 0)
        state.trades.append(trade)
        bar = self._bar_for(state, time_ms // MINUTE_MS * MINUTE_MS)
        bar.volume += abs(signed_size)
        bar.quote_volume += quote
        bar.trades += 1
        return trade.render(self.faults.trade_side)

    # ---- public renderings ---------------------------------------------------------------------------------
    def exchange_symbol(self, symbol: str) -> dict:
        """An `/exchangeInfo` row (§2.1): the documented fields, plus the observed `asset` and `tradingStatus`
        under `exchange_info_fields="observed"` (`tradingStatus` also whenever halts show there)."""
        spec = self.states[symbol].spec
        row = {
            "symbol": spec.symbol, "displayName": spec.name, "base": spec.base, "quote": spec.quote,
            "sizeDecimals": spec.size_decimals, "priceDecimals": spec.price_decimals,
            "initMarginRatio": f"{spec.init_margin_ratio:f}", "maintMarginRatio": f"{spec.maint_margin_ratio:f}",
            "takerFee": f"{spec.taker_fee:f}", "isolated": spec.isolated,
        }
        observed = self.faults.exchange_info_fields == "observed"
        if observed:
            row["asset"] = spec.asset
        if observed or self.faults.halt_flag_in != "ticker":
            row["tradingStatus"] = self.shown_status(symbol, "exchange_info")
        return row

    def ticker_latest(self, symbol: str) -> dict:
        state = self.states[symbol]
        decimals = state.spec.price_decimals
        return {
            "symbol": symbol, "markPrice": fmt(state.mark, decimals), "indexPrice": fmt(state.index, decimals),
            "imbalance": fmt(state.imbalance, state.spec.size_decimals),
            "oneHrFundingRate": fmt(state.funding_rate, RATE_DECIMALS),
            "cumFunding": fmt(state.cum_funding, RATE_DECIMALS), "status": self.shown_status(symbol, "ticker"),
        }

    def _day_stats(self, symbol: str) -> Tuple[int, int, Decimal, Decimal, Decimal, Decimal, Decimal, Decimal]:
        """Rolling 24 h window: the closed minutes are aggregated once per minute, the live bar on every call."""
        state = self.states[symbol]
        now = self.clock()
        start, minute = now - DAY_MS, now // MINUTE_MS * MINUTE_MS
        live = state.bars.get(minute) or Bar(minute, state.mark)
        aggregate = self._day_aggregate(state, now)
        if aggregate is None:
            return start, now, live.open, state.mark, live.high, live.low, live.volume, live.quote_volume
        open_price, high, low, volume, quote_volume = aggregate
        return (start, now, open_price, state.mark, max(high, live.high), min(low, live.low), volume + live.volume,
                quote_volume + live.quote_volume)

    @staticmethod
    def _day_aggregate(state: SymbolState, now: int) -> Optional[tuple]:
        """(open, high, low, volume, quote volume) of the closed minutes of the 24 h window, computed once a
        minute; None when there are none."""
        start, minute = now - DAY_MS, now // MINUTE_MS * MINUTE_MS
        if state.day_cache is None or state.day_cache[0] != minute:
            closed: List[Bar] = []
            for open_time, bar in reversed(state.bars.items()):
                if open_time < start - MINUTE_MS:
                    break
                if open_time < minute:
                    closed.append(bar)
            aggregate = None
            if closed:
                aggregate = (closed[-1].open, max(b.high for b in closed), min(b.low for b in closed),
                             sum((b.volume for b in closed), ZERO), sum((b.quote_volume for b in closed), ZERO))
            state.day_cache = (minute, aggregate)
        return state.day_cache[1]

    def ticker_24hr(self, symbol: str) -> dict:
        spec = self.states[symbol].spec
        start, now, open_price, close, high, low, volume, quote_volume = self._day_stats(symbol)
        change = close - open_price
        return {
            "symbol": symbol, "openPrice": fmt(open_price, spec.price_decimals),
            "closePrice": fmt(close, spec.price_decimals), "highPrice": fmt(high, spec.price_decimals),
            "lowPrice": fmt(low, spec.price_decimals), "quoteVolume": fmt_usdc(quote_volume),
            "volume": fmt(volume, spec.size_decimals), "priceChange": fmt(change, spec.price_decimals),
            "priceChangePercent": fmt(change / open_price * 100, 3),  # percent units (§2.3 ambiguity)
            "openTime": start, "closeTime": now,
        }

    def ws_ticker(self, symbol: str) -> dict:
        """Entry of the `tickers` WS channel (§5.3): the fields of `ticker_latest` and the price change of
        `ticker_24hr`, computed without rendering the rest of them (one entry per market on every push)."""
        state = self.states[symbol]
        spec = state.spec
        decimals = spec.price_decimals
        now = self.clock()
        aggregate = self._day_aggregate(state, now)
        if aggregate is None:
            minute = now // MINUTE_MS * MINUTE_MS
            open_price = (state.bars.get(minute) or Bar(minute, state.mark)).open
        else:
            open_price = aggregate[0]
        change = state.mark - open_price
        return {
            "symbol": symbol, "oneHrFundingRate": fmt(state.funding_rate, RATE_DECIMALS),
            "cumFunding": fmt(state.cum_funding, RATE_DECIMALS), "imbalance": fmt(state.imbalance, spec.size_decimals),
            "indexPrice": fmt(state.index, decimals), "markPrice": fmt(state.mark, decimals),
            "priceChange": fmt(change, decimals), "priceChangePercent": fmt(change / open_price * 100, 3),
            "status": self.shown_status(symbol, "ticker"),
        }

    def klines(self, symbol: str, interval: str, start: Optional[int], end: Optional[int], limit: int) -> List[list]:
        """Aggregated bars [openTime, o, h, l, c, closeTime, v, qv, n], ascending, last `limit` before end."""
        state = self.states[symbol]
        end = self.clock() if end is None else end
        out: List[list] = []
        for open_time, bar in reversed(state.bars.items()):
            if open_time > end:
                continue
            if start is not None and open_time < bucket_start(start, interval):
                break
            bucket = bucket_start(open_time, interval)
            if out and out[-1][0] == bucket:
                agg = out[-1]
                agg[1] = bar.open
                agg[2] = max(agg[2], bar.high)
                agg[3] = min(agg[3], bar.low)
                agg[5] += bar.volume
                agg[6] += bar.quote_volume
                agg[7] += bar.trades
            else:
                if len(out) == limit:
                    break
                out.append([bucket, bar.open, bar.high, bar.low, bar.close, bar.volume, bar.quote_volume, bar.trades])
        out.reverse()
        return [self._render_kline(state.spec, row, interval) for row in out]

    @staticmethod
    def _render_kline(spec: SymbolSpec, row: list, interval: str, trades_as_str: bool = False) -> list:
        bucket, o, h, low, c, v, qv, n = row
        p = spec.price_decimals
        return [bucket, fmt(o, p), fmt(h, p), fmt(low, p), fmt(c, p), bucket_end(bucket, interval) - 1,
                fmt(v, spec.size_decimals), fmt_usdc(qv), str(n) if trades_as_str else n]

    def current_kline(self, symbol: str, interval: str) -> list:
        """The bar in progress for the `@kline_{interval}` channel; numTrades is a string there (§5.3)."""
        rows = self.klines(symbol, interval, None, None, 1)
        row = rows[-1]
        row[8] = str(row[8])
        return row

    def funding_history(self, symbol: str, interval: str, start: Optional[int], end: Optional[int],
                        limit: int) -> List[dict]:
        """Minute samples downsampled to one (the first) per `interval` bucket, ascending (§2.4)."""
        state = self.states[symbol]
        end = self.clock() if end is None else end
        picked: List[Tuple[int, Decimal]] = []
        for time_ms, rate in reversed(state.funding_samples):
            if time_ms > end:
                continue
            if start is not None and time_ms < start:
                break
            if picked and bucket_start(picked[-1][0], interval) == bucket_start(time_ms, interval):
                picked[-1] = (time_ms, rate)  # walking backwards: keep the earliest sample of the bucket
                continue
            if len(picked) == limit:
                break
            picked.append((time_ms, rate))
        picked.reverse()
        return [{"symbol": symbol, "time": t, "oneHrFundingRate": fmt(r, RATE_DECIMALS)} for t, r in picked]

    def trades(self, symbol: str, start: Optional[int], end: Optional[int], limit: int) -> List[dict]:
        """`GET /trades` (§2.6): ascending, the last `limit` up to `end`, integer ids, `trade_side` reading."""
        out: List[Trade] = []
        for trade in reversed(self.states[symbol].trades):
            if end is not None and trade.time > end:
                continue
            if (start is not None and trade.time < start) or len(out) == limit:
                break
            out.append(trade)
        out.reverse()
        side = self.faults.trade_side
        return [trade.render(side, rest=True) for trade in out]
