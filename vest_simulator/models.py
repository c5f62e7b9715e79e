"""Exchange records and their wire renderings: positions, orders, fills, LP orders, transfers, accounts
(docs/vest-protocol.md §3.3, §3.8-3.10, §5.4)."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Dict, List, Optional, Set

from .market import SymbolSpec
from .util import USDC_DECIMALS, ZERO, fmt, fmt_opt, fmt_usdc

ORDER_STATUSES = ("NEW", "PARTIALLY_FILLED", "FILLED", "CANCELLED", "REJECTED")
LIVE_STATUSES = ("NEW", "PARTIALLY_FILLED")
FILL_FIELDS = ("lastFilledSize", "lastFilledPrice", "lastFilledTime", "avgFilledPrice", "settledFunding", "realizedPnl")


@dataclass
class Position:
    symbol: str
    size: Decimal  # signed: positive long
    entry_price: Decimal
    entry_funding: Decimal
    settled_funding: Decimal = ZERO


@dataclass
class Fill:
    """One execution (one chunk under `partial_fill_chunks`), as exposed by `VestSimulator.fills()`: `fee`,
    `realized_pnl` and `settled_funding` are this execution's share, `time` its `lastFilledTime`,
    `executed_size` the order's executed size once it was applied."""

    order_id: str
    nonce: int
    symbol: str
    is_buy: bool
    size: Decimal
    price: Decimal
    fee: Decimal
    time: int
    primary_address: str
    trade_id: str
    realized_pnl: Decimal
    settled_funding: Decimal
    executed_size: Decimal = ZERO  # the order's executed size including this fill

    def to_json(self) -> dict:
        return {"orderId": self.order_id, "nonce": self.nonce, "symbol": self.symbol, "isBuy": self.is_buy,
                "size": f"{self.size:f}", "price": f"{self.price:f}", "fee": f"{self.fee:f}", "time": self.time,
                "primaryAddress": self.primary_address, "tradeId": self.trade_id,
                "realizedPnl": f"{self.realized_pnl:f}", "settledFunding": f"{self.settled_funding:f}",
                "executedSize": f"{self.executed_size:f}"}


@dataclass
class Order:
    id: str
    account: "Account"
    nonce: int
    spec: SymbolSpec
    is_buy: bool
    order_type: str
    size: Decimal
    limit_price: Decimal
    reduce_only: bool
    time_in_force: Optional[str]
    post_time: int
    init_margin_ratio: Decimal
    mark_price: Decimal
    tp_price: Optional[Decimal] = None
    sl_price: Optional[Decimal] = None
    status: str = "NEW"
    code: Optional[int] = None
    children: List["Order"] = field(default_factory=list)
    parent: Optional["Order"] = None
    armed: bool = False  # TP/SL child: parent filled, trigger active
    seq: int = 0  # creation order, the tie-break of "newest first"
    external: bool = False  # placed by VestSimulator.place_order / liquidate, not by a signed request
    arrival_code: Optional[int] = None  # accepted, then REJECTED with it on the first pass (3004 stale, 3024 closed)
    # executions: the latest chunk, and running totals over all chunks (fees, funding and PnL are cumulative)
    last_filled_size: Optional[Decimal] = None
    last_filled_price: Optional[Decimal] = None
    last_filled_time: Optional[int] = None
    settled_funding: Optional[Decimal] = None
    realized_pnl: Optional[Decimal] = None
    fees: Decimal = ZERO
    filled_size: Decimal = ZERO
    filled_notional: Decimal = ZERO
    fill_count: int = 0
    chunk_plan: Optional[List[Decimal]] = None  # chunk sizes, fixed at the first execution
    chunk_pass: int = -1  # engine pass of the latest chunk (one chunk per pass)
    # presentation overrides (VestSimulator.override_order_status / override_order_fields)
    status_override: Optional[str] = None
    field_overrides: Dict[str, Any] = field(default_factory=dict)
    overrides_in_events: bool = False

    @property
    def symbol(self) -> str:
        return self.spec.symbol

    @property
    def avg_filled_price(self) -> Optional[Decimal]:
        return self.filled_notional / self.filled_size if self.filled_size else None

    @property
    def remaining_size(self) -> Decimal:
        return self.size - self.filled_size

    @property
    def reported_status(self) -> str:
        """The status `GET /orders` shows: a field override, else a status override, else the real status."""
        return self.field_overrides.get("status", self.status_override or self.status)

    def fill_fields(self, reading: str = "per_fill", zero_for_null: bool = False) -> Dict[str, Any]:
        """lastFilled*/avgFilledPrice/settledFunding/realizedPnl (§3.8) under a `last_filled_reading`."""
        p, s = self.spec.price_decimals, self.spec.size_decimals
        if not self.fill_count:
            if not zero_for_null:
                return dict.fromkeys(FILL_FIELDS)
            return {"lastFilledSize": fmt(ZERO, s), "lastFilledPrice": fmt(ZERO, p), "lastFilledTime": 0,
                    "avgFilledPrice": fmt(ZERO, p), "settledFunding": fmt_usdc(ZERO), "realizedPnl": fmt_usdc(ZERO)}
        if reading == "cumulative":
            size, price = self.filled_size, self.avg_filled_price
        else:
            size, price = self.last_filled_size, self.last_filled_price
        return {"lastFilledSize": fmt_opt(size, s), "lastFilledPrice": fmt_opt(price, p),
                "lastFilledTime": self.last_filled_time, "avgFilledPrice": fmt_opt(self.avg_filled_price, p),
                "settledFunding": fmt_opt(self.settled_funding, USDC_DECIMALS),
                "realizedPnl": fmt_opt(self.realized_pnl, USDC_DECIMALS)}

    def event_args(self, reading: str = "per_fill", zero_for_null: bool = False) -> dict:
        """ORDER event payload (§5.4): partial shapes for CANCELLED / REJECTED; executions (PARTIALLY_FILLED and
        FILLED) add the fill fields, `cumFunding` and `fees` cumulative; NEW adds them too, zero, under
        `zero_for_null`. A status override, and field overrides made with `events=True`, apply on top."""
        if self.status == "CANCELLED":
            args = {"id": self.id, "status": self.status, "postTime": self.post_time, "nonce": self.nonce}
        elif self.status == "REJECTED":
            args = {"id": self.id, "status": self.status, "code": self.code, "postTime": self.post_time,
                    "nonce": self.nonce}
        else:
            spec = self.spec
            args = {"id": self.id, "symbol": spec.symbol, "isBuy": self.is_buy, "orderType": self.order_type,
                    "limitPrice": fmt(self.limit_price, spec.price_decimals),
                    "size": fmt(self.size, spec.size_decimals), "reduceOnly": self.reduce_only,
                    "initMarginRatio": fmt(self.init_margin_ratio, 4), "status": self.status,
                    "postTime": self.post_time, "nonce": self.nonce}
            if self.fill_count or zero_for_null:
                fills = self.fill_fields(reading, zero_for_null)
                args.update(lastFilledSize=fills["lastFilledSize"], lastFilledPrice=fills["lastFilledPrice"],
                            lastFilledTime=fills["lastFilledTime"], avgFilledPrice=fills["avgFilledPrice"],
                            cumFunding=fills["settledFunding"], fees=fmt_usdc(self.fees))
        if self.status_override is not None:
            args["status"] = self.status_override
        if self.overrides_in_events:
            args.update(self.field_overrides)
        return args

    def render(self, reading: str = "per_fill", zero_for_null: bool = False, reported: bool = True) -> dict:
        """GET /orders row (§3.8); `reported=False` leaves out the presentation overrides."""
        spec = self.spec
        p, s = spec.price_decimals, spec.size_decimals
        row = {"id": self.id, "nonce": self.nonce, "symbol": spec.symbol, "isBuy": self.is_buy,
               "orderType": self.order_type, "limitPrice": fmt(self.limit_price, p),
               "markPrice": fmt(self.mark_price, p),
               "size": fmt(self.size, s), "status": self.status, "reduceOnly": self.reduce_only,
               "initMarginRatio": fmt(self.init_margin_ratio, 4), "code": self.code}
        fills = self.fill_fields(reading, zero_for_null)
        row.update(lastFilledSize=fills["lastFilledSize"], lastFilledPrice=fills["lastFilledPrice"],
                   lastFilledTime=fills["lastFilledTime"], avgFilledPrice=fills["avgFilledPrice"],
                   settledFunding=fills["settledFunding"], fees=fmt_usdc(self.fees),
                   realizedPnl=fills["realizedPnl"], postTime=self.post_time, tpPrice=fmt_opt(self.tp_price, p),
                   slPrice=fmt_opt(self.sl_price, p))
        if reported:
            if self.status_override is not None:
                row["status"] = self.status_override
            row.update(self.field_overrides)
        return row


@dataclass
class LpOrder:
    id: str
    nonce: int
    order_type: str
    size: Decimal
    post_time: int
    status: str = "NEW"
    code: Optional[int] = None
    fees: Decimal = ZERO
    due_time: Optional[int] = None

    def render(self) -> dict:
        """GET /lp row (§3.9)."""
        return {"id": self.id, "nonce": self.nonce, "size": fmt_usdc(self.size), "orderType": self.order_type,
                "status": self.status, "code": self.code, "fees": fmt_usdc(self.fees), "postTime": self.post_time}

    def event_args(self) -> dict:
        """LP event payload, the docs' shape: the row without `fees` (§5.4, Vest API docs, 'LP Order')."""
        return {"id": self.id, "size": fmt_usdc(self.size), "orderType": self.order_type, "status": self.status,
                "code": self.code, "postTime": self.post_time, "nonce": self.nonce}


@dataclass
class Transfer:
    id: str
    nonce: int
    order_type: str  # DEPOSIT | WITHDRAW
    size: Decimal  # USDC
    chain_id: int
    post_time: int
    status: str = "FILLED"
    code: Optional[int] = None
    request_args: Optional[str] = None
    signer: Optional[str] = None
    signature: Optional[str] = None
    signature_proof: Optional[str] = None
    validator_signature: Optional[str] = None

    def event_args(self) -> dict:
        return {"id": self.id, "size": fmt_usdc(self.size), "orderType": self.order_type, "status": self.status,
                "code": self.code, "chainId": self.chain_id, "postTime": self.post_time, "nonce": self.nonce}

    def render(self) -> dict:
        """GET /transfer row (§3.10); size rendered in USDC (a guess)."""
        row = self.event_args()
        row.update(requestArgs=self.request_args, signer=self.signer, signature=self.signature,
                   signatureProof=self.signature_proof, validatorSignature=self.validator_signature)
        return row


@dataclass
class Account:
    primary: str  # lower-case
    group: int
    balance: Decimal = ZERO
    signers: Dict[str, int] = field(default_factory=dict)  # signer -> expiry ms
    proofs: Dict[str, str] = field(default_factory=dict)  # signer -> SignerProof signature
    api_keys: Set[str] = field(default_factory=set)
    leverages: Dict[str, int] = field(default_factory=dict)
    positions: Dict[str, Position] = field(default_factory=dict)
    orders: Dict[str, Order] = field(default_factory=dict)
    nonces: Set[int] = field(default_factory=set)
    last_nonce: int = 0
    lp_balance: Decimal = ZERO
    lp_orders: List[LpOrder] = field(default_factory=list)
    transfers: List[Transfer] = field(default_factory=list)
    fills: List[Fill] = field(default_factory=list)
    resting: Dict[str, Order] = field(default_factory=dict)  # resting LIMITs and armed TP/SL children
    listen_key: Optional[str] = None


@dataclass
class Metrics:
    """Account valuation: totals over positions at mark (uPnL incl. accrued funding) and index (margins)."""

    account_value: Decimal
    init_margin: Decimal
    maint_margin: Decimal
    open_order_margin: Decimal

    @property
    def withdrawable(self) -> Decimal:
        return max(ZERO, self.account_value - self.init_margin - self.open_order_margin)
