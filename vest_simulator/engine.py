"""Exchange state and rules: accounts, signers, API keys, orders, positions, LP, transfers, listen keys.

Pure state (no I/O): time comes from an injected clock (ms), randomness from the seed. Private events are
handed to `on_private(primary, event, args)`, public fills to `on_trade(symbol, trade)` (docs/vest-protocol.md §5.3-5.4).

Sequencing of ORDER events (§5.4, §7.5): `place_order` validates synchronously (1xxx codes and 3015 are HTTP
errors), records the order, emits `NEW` (TP/SL children emit their own `NEW` right after) and queues it.
`process_pending()` (scheduled by the HTTP layer right after the response, and run by every tick) then executes:
MARKET -> `FILLED` or `REJECTED` (3001 price, 3002 margin, 3018/3019 reduce-only); LIMIT -> `FILLED` when the
index has crossed and the execution price is at or better than the limit, else it rests as NEW (FOK ->
`CANCELLED`). Resting LIMITs and armed TP/SL children are re-checked on every tick and price change.

Processing passes and partial fills (§7.5, §7.12): `process_pending()` and `check_triggers()` are each one pass.
With `faults.partial_fill_chunks` = N > 1 an order that executes does so in N chunks (fixed at its first
execution), at most one per pass: the first where it would have filled whole, the others on later
`check_triggers()` passes (ticks, price jumps, clock moves); in between it is PARTIALLY_FILLED.

Halted markets (§7.13): an order to a halted market is refused with 1148 (`closed_market_reply="http_1148"`) or
accepted and then REJECTED with 3024 on its first pass (`"rejected_3024"`). A MARKET or FOK order accepted before
the halt and still queued is REJECTED with 3024; a GTC LIMIT rests. Nothing of a halted market executes (resting
LIMITs, later chunks, TP/SL children wait); cancels, positions and leverage are unaffected.
"""
from __future__ import annotations

import random
from collections import deque
from decimal import Decimal
from typing import Any, Callable, Deque, Dict, Iterable, List, Optional, Set, Tuple

from . import errors as E
from .errors import VestError
from .faults import Faults
from .market import Market, SymbolSpec
from .models import LIVE_STATUSES, Account, Fill, LpOrder, Metrics, Order, Position, Transfer
from .schema import CancelRequest, LeverageRequest, LpRequest, OrderRequest, RegisterRequest, WithdrawRequest
from .signatures import (
    CANCEL_TYPES,
    LP_TYPES,
    ORDER_TYPES,
    WITHDRAW_TYPES,
    abi_encode,
    address_of,
    is_address,
    keccak,
    personal_hash,
    recover_address,
    sign_hash,
    signer_proof_hashes,
    to_checksum,
)
from .util import RATE_DECIMALS, USDC_DECIMALS, ZERO, fmt, fmt_usdc, parse_decimal, step, usdc

DEFAULT_RECV_WINDOW_MS = 5000
LISTEN_KEY_TTL_MS = 60 * 60 * 1000
DEFAULT_LEVERAGE = 10
DEFAULT_SIGNER_EXPIRY_MS = 365 * 24 * 3600 * 1000
LP_IMMEDIATE_WITHDRAW_FEE = Decimal("0.001")
LP_SCHEDULE_DELAY_MS = 60 * 60 * 1000
LP_POOL_START = Decimal("1000000")
INSURANCE_FUND = Decimal("50000")
DEPOSIT_CHAIN_ID = 8453
# Nonces of orders the venue itself or another client places (VestSimulator.place_order / liquidate): far above
# any time-based nonce (ms until the year 33658) and below 2**53, so JSON readers in any language keep them exact.
EXTERNAL_NONCE_BASE = 10 ** 15
EXTERNAL_MARKET_SLIPPAGE = Decimal("0.05")  # worst price of an external MARKET order without a limit
USDC_BY_CHAIN = {  # USDC token addresses signed in withdraw requests (§4.6)
    1: "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48",
    10: "0x0b2C639c533813f4Aa9D7837CAf62653d097Ff85",
    137: "0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359",
    324: "0x1d17CBcF0D6D143135aE902365D2E5e2A16538D4",
    8453: "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913",
    42161: "0xaf88d065e77c8cC2239327C5EDb3A432268e5831",
}


class Rejection(Exception):
    """An asynchronous engine rejection (3xxx), reported as a REJECTED event."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class Engine:
    def __init__(self, market: Market, clock: Callable[[], int], seed: int = 0, routers: Iterable[str] = (),
                 account_groups: Iterable[int] = range(10), register_group: int = 0,
                 listen_key_ttl_ms: int = LISTEN_KEY_TTL_MS, faults: Optional[Faults] = None) -> None:
        self.market = market
        # One set of switches for the engine and its market (halts, sessions, readings): given ones win.
        self.faults = faults if faults is not None else market.faults
        market.faults = self.faults
        self.clock = clock
        self.routers = [r.lower() for r in routers]
        self.account_groups = set(account_groups)
        self.register_group = register_group
        self.listen_key_ttl_ms = listen_key_ttl_ms
        self.rng = random.Random(f"{seed}:engine")
        self.validator_key = "0x" + keccak(f"{seed}:validator".encode()).hex()
        self.accounts: Dict[str, Account] = {}
        self.api_keys: Dict[str, Account] = {}
        self.listen_keys: Dict[str, Tuple[Account, int]] = {}  # key -> (account, expiry ms)
        self.on_private: Callable[[str, str, dict], None] = lambda primary, event, args: None
        self.wants_private: Callable[[str], bool] = lambda primary: True  # skip rendering unheard events
        self.on_trade: Callable[[str, dict], None] = lambda symbol, trade: None
        self._pending: Deque[Order] = deque()
        self._triggers: Dict[str, Dict[Tuple[str, str], Order]] = {s: {} for s in market.symbols}
        self._scheduled_lp: List[Tuple[Account, LpOrder]] = []
        self._transfer_seq = 0
        self._order_seq = 0
        self._external_seq = 0
        self._pass = 0

    # ---- accounts & keys -----------------------------------------------------------------------------------
    def _new_hex(self, nbytes: int) -> str:
        return self.rng.getrandbits(8 * nbytes).to_bytes(nbytes, "big").hex()

    def ensure_account(self, primary: str, group: int) -> Account:
        primary = primary.lower()
        acct = self.accounts.get(primary)
        if acct is None:
            acct = self.accounts[primary] = Account(primary=primary, group=group)
        return acct

    def issue_api_key(self, acct: Account) -> str:
        key = self._new_hex(32)
        acct.api_keys.add(key)
        self.api_keys[key] = acct
        return key

    def create_account(self, signing_private_key: Optional[str], primary_private_key: Optional[str],
                       balance: Decimal, account_group: int, signer_expiry_ms: Optional[int]
                       ) -> Tuple[Account, str, str, str, int]:
        """Register a signer directly (no /register). Returns (account, api_key, signing_key, primary_key, expiry)."""
        if account_group not in self.account_groups:
            raise ValueError(f"account group {account_group} not in {sorted(self.account_groups)}")
        primary_key = primary_private_key or "0x" + self._new_hex(32)
        signing_key = signing_private_key or "0x" + self._new_hex(32)
        expiry = signer_expiry_ms or self.clock() + DEFAULT_SIGNER_EXPIRY_MS
        acct = self.ensure_account(address_of(primary_key), account_group)
        signer = address_of(signing_key)
        acct.signers[signer] = expiry
        if self.routers:
            acct.proofs[signer] = sign_hash(primary_key, signer_proof_hashes(self.routers[0], signer, expiry)[2])
        if balance:
            self.fund(acct.primary, balance)
        return acct, self.issue_api_key(acct), signing_key, primary_key, expiry

    def register(self, req: RegisterRequest) -> Tuple[str, int]:
        """POST /register: verify the EIP-712 SignerProof against any accepted router (§3.2, §7.3). Addresses are
        "lower-cased" in the docs' example: `strict_requests` refuses others with 1130."""
        if req.network_type != 0:
            raise VestError(E.INVALID_NETWORK_TYPE)
        if not is_address(req.signing_addr) or not is_address(req.primary_addr):
            raise VestError(E.INVALID_PARAMETER, "Invalid address")
        if self.faults.strict_requests and (req.signing_addr != req.signing_addr.lower()
                                            or req.primary_addr != req.primary_addr.lower()):
            raise VestError(E.INVALID_PARAMETER, "Addresses must be lower-cased")
        primary, signer = req.primary_addr.lower(), req.signing_addr.lower()
        if req.expiry_time <= self.clock():
            raise VestError(E.INVALID_SIGNATURE, "Signer expiry is in the past")
        if not any(recover_address(signer_proof_hashes(router, signer, req.expiry_time)[2], req.signature) == primary
                   for router in self.routers):
            raise VestError(E.INVALID_SIGNATURE)
        acct = self.ensure_account(primary, self.register_group)
        acct.signers[signer] = req.expiry_time
        acct.proofs[signer] = req.signature
        return self.issue_api_key(acct), acct.group

    def fund(self, primary: str, amount: Decimal, chain_id: int = DEPOSIT_CHAIN_ID) -> Transfer:
        """Credit USDC collateral as an on-chain deposit: TRANSFER DEPOSIT row + event."""
        acct = self.ensure_account(primary, self.register_group)
        amount = usdc(Decimal(amount))
        self._transfer_seq += 1
        row = Transfer(id="0x" + keccak(f"deposit:{acct.primary}:{self._transfer_seq}".encode()).hex(), nonce=0,
                       order_type="DEPOSIT", size=amount, chain_id=chain_id, post_time=self.clock())
        acct.balance += amount
        acct.transfers.append(row)
        self.on_private(acct.primary, "TRANSFER", row.event_args())
        return row

    def account_by_api_key(self, api_key: Optional[str]) -> Account:
        acct = self.api_keys.get(api_key) if api_key else None
        if acct is None:
            raise VestError(E.UNAUTHORIZED)
        return acct

    # ---- request authentication (§4, §7.4) -----------------------------------------------------------------
    def _preflight(self, time_ms: int, nonce: int, recv_window: Optional[int], order: bool = False) -> bool:
        """recvWindow (1131), time window (1132) and nonce range (1023) checks before signature recovery. The docs
        discard a request once `now > time + recvWindow`; `future_time_check="recv_window"` also refuses
        `time > now + recvWindow` (§4.9: the future tolerance is unknown). For an order under
        `expired_order_reply="rejected_3004"` the window is not refused here: True is returned instead, and the
        order is REJECTED with 3004 ORDER_STALE on its first pass."""
        window = DEFAULT_RECV_WINDOW_MS if recv_window is None else recv_window
        if window <= 0:
            raise VestError(E.BAD_RECV_WINDOW)
        now = self.clock()
        stale = now > time_ms + window or (self.faults.future_time_check == "recv_window" and time_ms > now + window)
        if stale and not (order and self.faults.expired_order_reply == "rejected_3004"):
            raise VestError(E.ORDER_EXPIRED)
        if not 0 <= nonce < 1 << 256:
            raise VestError(E.INVALID_NONCE, "Invalid nonce")
        return stale

    def _closed_on_arrival(self, symbol: str) -> bool:
        """An order to a halted market: 1148 now (`http_1148`), or True: REJECTED with 3024 on its first pass."""
        if not self.market.is_halted(symbol):
            return False
        if self.faults.closed_market_reply == "http_1148":
            raise VestError(E.MARKET_CLOSED)
        return True

    def _verify(self, acct: Account, encoded: bytes, signature: str, time_ms: int) -> Tuple[bytes, str]:
        """Recover the signer of keccak(encoded); it must be the primary or a registered signer whose expiry is
        >= time. Returns (digest, signer)."""
        digest = keccak(encoded)
        signer = recover_address(personal_hash(digest), signature)
        if signer is None or not (signer == acct.primary or time_ms <= acct.signers.get(signer, -1)):
            raise VestError(E.INVALID_SIGNATURE)
        return digest, signer

    def _use_nonce(self, acct: Account, nonce: int) -> None:
        """The nonce rule Vest does not state (§4.8): unique, or above lastNonce (`nonce_policy`)."""
        if self.faults.nonce_policy == "increasing" and nonce <= acct.last_nonce:
            raise VestError(E.INVALID_NONCE, "Invalid nonce")
        if nonce in acct.nonces:
            raise VestError(E.DUPLICATE)
        acct.nonces.add(nonce)
        acct.last_nonce = max(acct.last_nonce, nonce)

    def _spec(self, symbol: str) -> SymbolSpec:
        if symbol not in self.market.states:
            raise VestError(E.BAD_SYMBOL)
        return self.market.spec(symbol)

    def leverage(self, acct: Account, symbol: str) -> int:
        return acct.leverages.get(symbol, min(DEFAULT_LEVERAGE, self.market.spec(symbol).max_leverage))

    def effective_imr(self, acct: Account, spec: SymbolSpec) -> Decimal:
        return max(spec.init_margin_ratio, Decimal(1) / Decimal(self.leverage(acct, spec.symbol)))

    # ---- orders --------------------------------------------------------------------------------------------
    def place_order(self, acct: Account, req: OrderRequest) -> str:
        """POST /orders: synchronous validation, NEW event(s), then queued execution. Returns the order id."""
        stale = self._preflight(req.time, req.nonce, req.recv_window, order=True)
        values = (req.time, req.nonce, req.order_type, req.symbol, req.is_buy, req.size, req.limit_price,
                  req.reduce_only)
        digest, _ = self._verify(acct, abi_encode(ORDER_TYPES, values), req.signature, req.time)
        spec = self._spec(req.symbol)
        closed = self._closed_on_arrival(spec.symbol)
        if req.order_type not in ("MARKET", "LIMIT"):
            raise VestError(E.INVALID_ORDER_TYPE)
        size = parse_decimal(req.size, spec.size_decimals)
        limit_price = parse_decimal(req.limit_price, spec.price_decimals)
        if size is None or limit_price is None:
            raise VestError(E.BAD_DECIMALS)
        time_in_force = req.time_in_force
        if time_in_force is not None and req.order_type == "MARKET" and self.faults.tif_on_market == "ignore":
            time_in_force = None  # "only accepted when orderType == LIMIT" [Doc]; one client sends it anyway
        if time_in_force is not None and (req.order_type != "LIMIT" or time_in_force not in ("GTC", "FOK")):
            raise VestError(E.INVALID_TIME_IN_FORCE)
        children = self._tp_sl_children(acct, req, spec, size, limit_price)
        self._use_nonce(acct, req.nonce)
        order = self._new_order("0x" + digest.hex(), acct, req.nonce, spec, req.is_buy, req.order_type, size,
                                limit_price, req.reduce_only, time_in_force)
        order.arrival_code = E.ORDER_STALE if stale else E.MARKET_CLOSED_REJECTION if closed else None
        acct.orders[order.id] = order
        self._emit_order(order)
        for child_type, price, nonce, child_id in children:
            child = self._new_order(child_id, acct, nonce, spec, not req.is_buy, child_type, size, price, True, None)
            child.init_margin_ratio, child.mark_price, child.parent = order.init_margin_ratio, order.mark_price, order
            child.post_time = order.post_time
            order.children.append(child)
            acct.orders[child.id] = child
            self._emit_order(child)
            if child_type == "TAKE_PROFIT":
                order.tp_price = price
            else:
                order.sl_price = price
        self._pending.append(order)
        return order.id

    def _new_order(self, order_id: str, acct: Account, nonce: int, spec: SymbolSpec, is_buy: bool, order_type: str,
                   size: Decimal, limit_price: Decimal, reduce_only: bool, time_in_force: Optional[str]) -> Order:
        self._order_seq += 1
        return Order(id=order_id, account=acct, nonce=nonce, spec=spec, is_buy=is_buy, order_type=order_type,
                     size=size, limit_price=limit_price, reduce_only=reduce_only, time_in_force=time_in_force,
                     post_time=self.clock(), init_margin_ratio=self.effective_imr(acct, spec),
                     mark_price=self.market.state(spec.symbol).mark, seq=self._order_seq)

    # ---- orders of other clients and of the venue (VestSimulator.place_order / liquidate, §7.12) -----------
    def _external_nonce(self, acct: Account, nonce: Optional[int]) -> int:
        """A nonce in the external band, never one a client used; external nonces do not move lastNonce."""
        if nonce is not None:
            if nonce in acct.nonces:
                raise VestError(E.DUPLICATE)
        else:
            nonce = EXTERNAL_NONCE_BASE + self._external_seq
            while nonce in acct.nonces:
                self._external_seq += 1
                nonce = EXTERNAL_NONCE_BASE + self._external_seq
            self._external_seq += 1
        acct.nonces.add(nonce)
        return nonce

    def _external_id(self, acct: Account, nonce: int, order_type: str, symbol: str, is_buy: bool, size: str,
                     limit_price: str, reduce_only: bool) -> str:
        """Like a signed order's id, keccak of the order tuple (§4.2), here with the account appended."""
        values = (self.clock(), nonce, order_type, symbol, is_buy, size, limit_price, reduce_only)
        return "0x" + keccak(abi_encode(ORDER_TYPES, values) + bytes.fromhex(acct.primary[2:])).hex()

    def place_external_order(self, acct: Account, symbol: str, is_buy: bool, size: Any, order_type: str = "LIMIT",
                             limit_price: Any = None, reduce_only: bool = False, nonce: Optional[int] = None) -> str:
        """An order another client of the account (Vest's web UI, a second API key) placed: validated like a
        signed one (1121, 1148 or a later 3024, 1116, 1111, 3015), then NEW and queued exactly like one. A MARKET
        order without a limit gets mark x (1 +/- 5%). Returns the order id."""
        spec = self._spec(symbol)
        closed = self._closed_on_arrival(symbol)
        if order_type not in ("MARKET", "LIMIT"):
            raise VestError(E.INVALID_ORDER_TYPE)
        if limit_price is None:
            if order_type == "LIMIT":
                raise VestError(E.INVALID_PARAMETER, "limit_price is required for a LIMIT order")
            mark = self.market.state(symbol).mark
            limit_price = mark * (1 + EXTERNAL_MARKET_SLIPPAGE if is_buy else 1 - EXTERNAL_MARKET_SLIPPAGE)
            limit_price = limit_price.quantize(step(spec.price_decimals))
        size_value = parse_decimal(str(size), spec.size_decimals)
        price_value = parse_decimal(str(limit_price), spec.price_decimals)
        if size_value is None or price_value is None:
            raise VestError(E.BAD_DECIMALS)
        nonce = self._external_nonce(acct, nonce)
        order_id = self._external_id(acct, nonce, order_type, symbol, is_buy, fmt(size_value, spec.size_decimals),
                                     fmt(price_value, spec.price_decimals), reduce_only)
        order = self._new_order(order_id, acct, nonce, spec, is_buy, order_type, size_value, price_value,
                                reduce_only, "GTC" if order_type == "LIMIT" else None)
        order.external = True
        order.arrival_code = E.MARKET_CLOSED_REJECTION if closed else None
        acct.orders[order.id] = order
        self._emit_order(order)
        self._pending.append(order)
        return order.id

    def liquidate(self, acct: Account, symbol: str, penalty: Decimal = ZERO, reject_open_orders: bool = False) -> str:
        """Close the account's whole position in `symbol` at the mark with a venue order of type LIQUIDATION:
        one FILLED ORDER event (no NEW), a fill, position and balance updated. `fees` = taker fee + `penalty`
        (USDC, debited too). With `reject_open_orders` the account's live orders in that market are first
        REJECTED with 3008 DELETED_BY_LIQ. Returns the order id."""
        spec = self._spec(symbol)
        position = acct.positions.get(symbol)
        if position is None or position.size == 0:
            raise ValueError(f"no {symbol} position to liquidate")
        self.market.accrue()
        if reject_open_orders:
            for order in list(acct.orders.values()):
                if order.symbol == symbol and order.status in LIVE_STATUSES:
                    self._finish(order, "REJECTED", E.DELETED_BY_LIQ)
            position = acct.positions.get(symbol)
            if position is None:
                raise ValueError(f"no {symbol} position to liquidate")  # pragma: no cover - orders never fill here
        is_buy, size, mark = position.size < 0, abs(position.size), self.market.state(symbol).mark
        nonce = self._external_nonce(acct, None)
        order_id = self._external_id(acct, nonce, "LIQUIDATION", symbol, is_buy, fmt(size, spec.size_decimals),
                                     fmt(mark, spec.price_decimals), True)
        order = self._new_order(order_id, acct, nonce, spec, is_buy, "LIQUIDATION", size, mark, True, None)
        order.external = True
        order.chunk_plan = [size]
        acct.orders[order.id] = order
        self._fill(order, size, mark, penalty=usdc(Decimal(penalty)))
        return order.id

    # ---- presentation overrides (§7.12) --------------------------------------------------------------------
    def find_order(self, order_id: str) -> Order:
        for acct in self.accounts.values():
            order = acct.orders.get(order_id)
            if order is not None:
                return order
        raise KeyError(f"unknown order {order_id}")

    def override_order_status(self, order_id: str, status: Optional[str], emit: bool = False) -> Order:
        """Rows (and ORDER events from now on) of the order report `status` (None clears); the engine keeps the
        real state. `emit` pushes an ORDER event at once."""
        order = self.find_order(order_id)
        order.status_override = status
        if emit:
            self._emit_order(order)
        return order

    def override_order_fields(self, order_id: str, fields: Dict[str, Any], events: bool = False,
                              emit: bool = False) -> Order:
        """Replace (or add) wire fields of the order's rows, e.g. {"lastFilledSize": "9.0000"}; with `events`
        also of its ORDER events from now on. Values are sent as given (strings for decimals). Each call replaces
        the order's earlier field overrides; an empty `fields` clears them."""
        order = self.find_order(order_id)
        order.field_overrides = dict(fields)
        order.overrides_in_events = events and bool(fields)
        if emit:
            self._emit_order(order)
        return order

    def _tp_sl_children(self, acct: Account, req: OrderRequest, spec: SymbolSpec, size: Decimal,
                        limit_price: Decimal) -> List[Tuple[str, Decimal, int, str]]:
        """Validate tpPrice/slPrice (+signatures per the observed convention of §4.3: parent time and size,
        nonce+1 for TP, nonce+2 for SL). Returns (type, price, nonce, id) per child."""
        legs = [("TAKE_PROFIT", req.tp_price, req.tp_signature, 1), ("STOP_LOSS", req.sl_price, req.sl_signature, 2)]
        if all(price is None for _, price, _, _ in legs):
            return []
        if req.order_type != "LIMIT":
            raise VestError(E.INVALID_TP_SL_PRICE)
        children = []
        for child_type, price_text, signature, nonce_offset in legs:
            if price_text is None:
                continue
            price = parse_decimal(price_text, spec.price_decimals)
            if price is None:
                raise VestError(E.BAD_DECIMALS)
            above = price > limit_price
            if (child_type == "TAKE_PROFIT") != (above == req.is_buy) or price == limit_price:
                raise VestError(E.INVALID_TP_SL_PRICE)
            values = (req.time, req.nonce + nonce_offset, child_type, req.symbol, not req.is_buy, req.size,
                      price_text, True)
            digest, _ = self._verify(acct, abi_encode(ORDER_TYPES, values), signature or "", req.time)
            children.append((child_type, price, req.nonce + nonce_offset, "0x" + digest.hex()))
        return children

    def cancel_order(self, acct: Account, req: CancelRequest) -> str:
        """POST /orders/cancel: CANCELLED event + id, or 3017 for terminal/unknown orders (§3.7)."""
        self._preflight(req.time, req.nonce, req.recv_window)
        self._verify(acct, abi_encode(CANCEL_TYPES, (req.time, req.nonce, req.id)), req.signature, req.time)
        self._use_nonce(acct, req.nonce)
        order = acct.orders.get(req.id)
        if order is None or order.status not in LIVE_STATUSES:
            raise VestError(E.ORDER_NOT_FOUND)
        self._finish(order, "CANCELLED")
        return order.id

    def _emit_order(self, order: Order) -> None:
        if self.wants_private(order.account.primary):
            self.on_private(order.account.primary, "ORDER",
                            order.event_args(self.faults.last_filled_reading, self.faults.zero_for_null))

    def _finish(self, order: Order, status: str, code: Optional[int] = None) -> None:
        """Move an order to CANCELLED/REJECTED; cascades to its TP/SL children."""
        order.status, order.code = status, code
        self._disarm(order)
        self._emit_order(order)
        for child in order.children:
            if child.status == "NEW":
                self._finish(child, "CANCELLED")

    def process_pending(self) -> None:
        """One pass over queued orders (MARKET fill/reject, LIMIT immediate trigger or rest, FOK)."""
        if not self._pending:
            return
        self._pass += 1
        self._process_queue()

    def _process_queue(self) -> None:
        if not self._pending:
            return
        self.market.accrue()
        while self._pending:
            order = self._pending.popleft()
            if order.status != "NEW":
                continue  # cancelled before execution
            if order.arrival_code is not None:  # refused on arrival, reported now (3004 stale / 3024 closed)
                self._finish(order, "REJECTED", order.arrival_code)
                continue
            if self.market.is_halted(order.symbol):  # halted between acceptance and execution
                if order.order_type == "MARKET" or order.time_in_force == "FOK":
                    self._finish(order, "REJECTED", E.MARKET_CLOSED_REJECTION)
                else:
                    self._arm(order)  # a GTC LIMIT rests; it is checked once the market trades again
                continue
            self._try_execute(order, placement=True)
            if order.status in LIVE_STATUSES:
                self._arm(order)

    def _arm(self, order: Order) -> None:
        self._triggers[order.symbol][(order.account.primary, order.id)] = order
        order.account.resting[order.id] = order

    def _disarm(self, order: Order) -> None:
        self._triggers[order.symbol].pop((order.account.primary, order.id), None)
        order.account.resting.pop(order.id, None)

    def check_triggers(self, symbols: Optional[Iterable[str]] = None) -> None:
        """One pass: queued orders, then the next chunk of each PARTIALLY_FILLED order (one per pass), resting
        LIMITs and armed TP/SL children whose trigger the index has crossed."""
        self._pass += 1
        self._process_queue()
        for symbol in symbols if symbols is not None else self._triggers:
            if self.market.is_halted(symbol):
                continue
            for order in list(self._triggers[symbol].values()):
                if order.status == "NEW":
                    self._try_execute(order, placement=False)
                elif order.status == "PARTIALLY_FILLED" and order.chunk_pass != self._pass:
                    self._next_chunk(order)
        self._run_scheduled_lp()

    def _triggered(self, order: Order) -> bool:
        index = self.market.state(order.symbol).index
        if order.order_type == "LIMIT":
            return index <= order.limit_price if order.is_buy else index >= order.limit_price
        # TP/SL children close the parent's position: a sell child (long position) takes profit above and stops
        # below; a buy child (short position) the reverse.
        take_profit = order.order_type == "TAKE_PROFIT"
        if order.is_buy:
            return index <= order.limit_price if take_profit else index >= order.limit_price
        return index >= order.limit_price if take_profit else index <= order.limit_price

    def _plan_chunks(self, order: Order) -> List[Decimal]:
        """`partial_fill_chunks` equal chunks on the size step, the last taking the rest (never a zero chunk:
        an order of fewer steps than chunks fills one step at a time); FOK orders fill whole."""
        chunks = self.faults.partial_fill_chunks
        if chunks <= 1 or order.time_in_force == "FOK":
            return [order.size]
        quantum = step(order.spec.size_decimals)
        units = int(order.size / quantum)
        if units <= chunks:
            return [quantum] * (units - 1) + [order.size - quantum * (units - 1)]
        chunk = quantum * (units // chunks)
        return [chunk] * (chunks - 1) + [order.size - chunk * (chunks - 1)]

    def _price_ok(self, order: Order, price: Decimal) -> bool:
        return price <= order.limit_price if order.is_buy else price >= order.limit_price

    def _try_execute(self, order: Order, placement: bool) -> None:
        """Try to execute (the first chunk of) a NEW order now."""
        if order.order_type in ("TAKE_PROFIT", "STOP_LOSS"):
            self._try_child(order)
            return
        is_market = order.order_type == "MARKET"
        if not is_market and not self._triggered(order):  # the cheap test first: most resting LIMITs stop here
            if placement and order.time_in_force == "FOK":
                self._finish(order, "CANCELLED")
            return
        plan = self._plan_chunks(order)
        price = self.market.execution_price(order.symbol, order.is_buy, plan[0])
        if not self._price_ok(order, price):
            if is_market:
                self._finish(order, "REJECTED", E.PRICE_CHECK_FAILED)
            elif placement and order.time_in_force == "FOK":
                self._finish(order, "CANCELLED")
            return
        order.chunk_plan = plan
        self._execute_chunk(order, plan[0], price)

    def _execute_chunk(self, order: Order, size: Decimal, price: Decimal) -> None:
        order.chunk_pass = self._pass
        try:
            self._fill(order, size, price)
        except Rejection as rejection:
            self._finish(order, "REJECTED", rejection.code)  # a partially filled order keeps its fills

    def _next_chunk(self, order: Order) -> None:
        """A later chunk of a PARTIALLY_FILLED order: at the current execution price for the chunk, if it is at or
        better than the limit (LIMIT and MARKET; TP/SL close without a check), else it waits for a later pass."""
        assert order.chunk_plan is not None
        size = order.chunk_plan[order.fill_count]
        price = self.market.execution_price(order.symbol, order.is_buy, size)
        if order.order_type in ("MARKET", "LIMIT") and not self._price_ok(order, price):
            return
        self._execute_chunk(order, size, price)

    def _try_child(self, child: Order) -> None:
        """Armed TP/SL: on trigger, reduce-only market close of min(size, position) without price check."""
        if not child.armed or not self._triggered(child):
            return
        position = child.account.positions.get(child.symbol)
        if position is None or (position.size > 0) == child.is_buy:
            self._finish(child, "CANCELLED")
            return
        child.size = min(child.size, abs(position.size))
        child.chunk_plan = self._plan_chunks(child)
        size = child.chunk_plan[0]
        self._execute_chunk(child, size, self.market.execution_price(child.symbol, child.is_buy, size))
        assert child.parent is not None
        for sibling in child.parent.children:
            if sibling is not child and sibling.status == "NEW":
                self._finish(sibling, "CANCELLED")

    def _fill(self, order: Order, size: Decimal, price: Decimal, penalty: Decimal = ZERO) -> None:
        """Execute `size` of the order (one chunk) against the AMM: reduce-only and margin checks, funding
        settlement, PnL, fees (§6.3, §7.5); the order's fees, funding and PnL accumulate over its chunks."""
        acct, spec, state = order.account, order.spec, self.market.state(order.symbol)
        position = acct.positions.get(order.symbol)
        old = position.size if position else ZERO
        signed = size if order.is_buy else -size
        new = old + signed
        if order.reduce_only:
            if old == 0 or (old > 0) == order.is_buy:
                raise Rejection(E.REDUCE_ONLY_INCREASES)
            if size > abs(old):
                raise Rejection(E.REDUCE_ONLY_EXCEEDS_SIZE)
        taker_fee = usdc(size * price * spec.taker_fee)
        premium = usdc(size * abs(price - state.mark))
        closed = min(abs(old), size) if old and (old > 0) != order.is_buy else ZERO
        pnl = usdc(closed * (price - position.entry_price) * (1 if old > 0 else -1)) if position and closed else ZERO
        funding = self._accrued_funding(position) if position else ZERO
        flipped = position is None or (new != 0 and (old > 0) != (new > 0))
        if flipped:
            entry = price
        elif abs(new) > abs(old):
            entry = (abs(old) * position.entry_price + size * price) / abs(new)
        else:
            entry = position.entry_price
        if abs(new) > abs(old) or (old and flipped):
            self._margin_check(acct, order, new, entry, pnl + funding - taker_fee)
        # apply
        acct.balance += pnl + funding - taker_fee - penalty
        if new == 0:
            acct.positions.pop(order.symbol, None)
        elif flipped:
            acct.positions[order.symbol] = Position(order.symbol, new, price, state.cum_funding)
        else:
            position.entry_price = entry
            position.size = new
            position.entry_funding = state.cum_funding
            position.settled_funding += funding
        self.market.add_imbalance(order.symbol, signed)
        now = self.clock()
        # every execution of an order gets its own lastFilledTime (the fill's identity, §5.4), even within one ms
        fill_time = now if order.last_filled_time is None else max(now, order.last_filled_time + 1)
        fee, chunk_pnl = taker_fee + premium + penalty, pnl + funding - taker_fee - penalty
        order.last_filled_size, order.last_filled_price, order.last_filled_time = size, price, fill_time
        order.filled_size += size
        order.filled_notional += size * price
        order.fill_count += 1
        order.settled_funding = (order.settled_funding or ZERO) + funding
        order.fees += fee
        order.realized_pnl = (order.realized_pnl or ZERO) + chunk_pnl
        order.status = "FILLED" if order.filled_size >= order.size else "PARTIALLY_FILLED"
        if order.status == "FILLED":
            self._disarm(order)
        trade = self.market.record_trade(order.symbol, price, signed, now)
        acct.fills.append(Fill(order.id, order.nonce, order.symbol, order.is_buy, size, price, fee, fill_time,
                               acct.primary, trade["id"], chunk_pnl, funding, order.filled_size))
        self._emit_order(order)
        self.on_trade(order.symbol, trade)
        if order.status == "FILLED":
            for child in order.children:
                if child.status == "NEW":
                    child.armed = True
                    self._arm(child)
        if new == 0:
            for other in list(acct.resting.values()):
                if other.armed and other.symbol == order.symbol and other is not order:
                    self._finish(other, "CANCELLED")

    def _margin_check(self, acct: Account, order: Order, new_size: Decimal, entry: Decimal,
                      balance_delta: Decimal) -> None:
        """3002 if the initial margin after the trade exceeds the account value after it (§6.3)."""
        state = self.market.state(order.symbol)
        metrics = self.metrics(acct, exclude=order.symbol, with_orders=False)
        value = metrics.account_value + balance_delta + new_size * (state.mark - entry)
        required = metrics.init_margin + abs(new_size) * state.index * self.effective_imr(acct, order.spec)
        if required > value:
            raise Rejection(E.MARGIN_CHECK_FAILED)

    def _accrued_funding(self, position: Position) -> Decimal:
        """Funding owed to (+) / by (-) the trader since entryFunding; longs pay when cumFunding rises."""
        cum = self.market.state(position.symbol).cum_funding
        return usdc(-(cum - position.entry_funding) * position.size)

    def metrics(self, acct: Account, exclude: Optional[str] = None, with_orders: bool = True) -> Metrics:
        value, init_margin, maint_margin, open_margin = acct.balance, ZERO, ZERO, ZERO
        for symbol, position in acct.positions.items():
            if symbol == exclude:
                continue
            state = self.market.state(symbol)
            value += (state.mark - position.entry_price) * position.size + self._accrued_funding(position)
            notional = abs(position.size) * state.index
            init_margin += notional * self.effective_imr(acct, state.spec)
            maint_margin += notional * state.spec.maint_margin_ratio
        for order in acct.resting.values() if with_orders else ():
            if order.order_type == "LIMIT" and not order.reduce_only:
                open_margin += order.remaining_size * order.limit_price * order.init_margin_ratio
        return Metrics(value, init_margin, maint_margin, open_margin)

    # ---- leverage ------------------------------------------------------------------------------------------
    def set_leverage(self, acct: Account, req: LeverageRequest) -> dict:
        """POST /account/leverage: 1..1/IMR, no decrease with an open position (3021)."""
        spec = self._spec(req.symbol)
        if not 1 <= req.value <= spec.max_leverage:
            raise VestError(E.INVALID_PARAMETER, f"Leverage must be between 1 and {spec.max_leverage}")
        if req.symbol in acct.positions and req.value < self.leverage(acct, req.symbol):
            raise VestError(E.DECREASE_LEVERAGE_WITH_POSITION)
        acct.leverages[req.symbol] = req.value
        return {"symbol": req.symbol, "value": req.value}

    # ---- LP (§3.9) -----------------------------------------------------------------------------------------
    def lp_order(self, acct: Account, req: LpRequest) -> str:
        self._preflight(req.time, req.nonce, req.recv_window)
        encoded = abi_encode(LP_TYPES, (req.time, req.nonce, req.order_type, req.size))
        digest, _ = self._verify(acct, encoded, req.signature, req.time)
        if req.order_type not in ("DEPOSIT", "IMMEDIATE_WITHDRAW", "SCHEDULE_WITHDRAW"):
            raise VestError(E.INVALID_ORDER_TYPE)
        size = parse_decimal(req.size, USDC_DECIMALS)
        if size is None:
            raise VestError(E.BAD_DECIMALS)
        self._use_nonce(acct, req.nonce)
        lp = LpOrder(id="0x" + digest.hex(), nonce=req.nonce, order_type=req.order_type, size=size,
                     post_time=self.clock())
        acct.lp_orders.append(lp)
        code = None
        if req.order_type == "DEPOSIT":
            if size > self.metrics(acct).withdrawable:
                code = E.LP_INSUFFICIENT_BALANCE
            else:
                acct.balance -= size
                acct.lp_balance += size
        elif acct.lp_balance == 0:
            code = E.LP_WITHDRAW_WITHOUT_SHARES
        elif size > acct.lp_balance:
            code = E.LP_WITHDRAW_EXCEEDS_BALANCE
        else:
            acct.lp_balance -= size
            if req.order_type == "SCHEDULE_WITHDRAW":
                lp.due_time = lp.post_time + LP_SCHEDULE_DELAY_MS
                self._scheduled_lp.append((acct, lp))
                self.on_private(acct.primary, "LP", lp.event_args())
                return lp.id
            lp.fees = usdc(size * LP_IMMEDIATE_WITHDRAW_FEE)
            acct.balance += size - lp.fees
        lp.status, lp.code = ("REJECTED", code) if code else ("FILLED", None)
        self.on_private(acct.primary, "LP", lp.event_args())
        return lp.id

    def _run_scheduled_lp(self) -> None:
        now = self.clock()
        due = [(a, lp) for a, lp in self._scheduled_lp if lp.due_time is not None and lp.due_time <= now]
        for acct, lp in due:
            self._scheduled_lp.remove((acct, lp))
            acct.balance += lp.size
            lp.status = "FILLED"
            self.on_private(acct.primary, "LP", lp.event_args())

    def lp_pool(self) -> Decimal:
        return LP_POOL_START + sum((a.lp_balance for a in self.accounts.values()), ZERO)

    # ---- transfers (§3.10) ---------------------------------------------------------------------------------
    def withdraw(self, acct: Account, req: WithdrawRequest) -> str:
        self._preflight(req.time, req.nonce, req.recv_window)
        token = USDC_BY_CHAIN.get(req.chain_id)
        if req.token != "USDC" or token is None or not is_address(req.recipient) or not 0 < req.size < 1 << 256:
            raise VestError(E.INVALID_PARAMETER)
        values = (req.time, req.nonce, False, acct.primary, req.recipient, token, req.size, req.chain_id)
        request_args = abi_encode(WITHDRAW_TYPES, values)
        digest, signer = self._verify(acct, request_args, req.signature, req.time)
        self._use_nonce(acct, req.nonce)
        amount = Decimal(req.size).scaleb(-USDC_DECIMALS)
        proof = None
        if signer != acct.primary and signer in acct.proofs:
            proof_args = abi_encode(("address", "uint256"), (signer, acct.signers[signer]))
            proof = "0x" + abi_encode(("bytes", "bytes"), (bytes.fromhex(acct.proofs[signer][2:]), proof_args)).hex()
        row = Transfer(id="0x" + digest.hex(), nonce=req.nonce, order_type="WITHDRAW", size=amount,
                       chain_id=req.chain_id, post_time=self.clock(), request_args="0x" + request_args.hex(),
                       signer=to_checksum(signer), signature=req.signature, signature_proof=proof,
                       validator_signature=sign_hash(self.validator_key, personal_hash(digest)))
        if amount > self.metrics(acct).withdrawable:
            row.status, row.code = "REJECTED", E.TRANSFER_MARGIN_CHECK_FAILED
        else:
            acct.balance -= amount
        acct.transfers.append(row)
        self.on_private(acct.primary, "TRANSFER", row.event_args())
        return row.id

    # ---- listen keys (§3.11) -------------------------------------------------------------------------------
    def listen_key_post(self, acct: Account) -> str:
        now = self.clock()
        key = acct.listen_key
        if key is None or self.listen_keys[key][1] <= now:
            key = acct.listen_key = self._new_hex(16)
        self.listen_keys[key] = (acct, now + self.listen_key_ttl_ms)
        return key

    def listen_key_put(self, acct: Account) -> str:
        key = acct.listen_key
        if key is None or self.listen_keys[key][1] <= self.clock():
            raise VestError(E.INVALID_LISTEN_KEY)
        self.listen_keys[key] = (acct, self.clock() + self.listen_key_ttl_ms)
        return key

    def listen_key_delete(self, acct: Account) -> None:
        if acct.listen_key is not None:
            self.listen_keys.pop(acct.listen_key, None)
            acct.listen_key = None

    def listen_key_state(self, key: str) -> Tuple[Optional[Account], str]:
        """(account, "active" | "expired" | "unknown")."""
        entry = self.listen_keys.get(key)
        if entry is None:
            return None, "unknown"
        return entry[0], "active" if entry[1] > self.clock() else "expired"

    # ---- renderings ----------------------------------------------------------------------------------------
    def render_account(self, acct: Account) -> dict:
        """GET /account (§3.3)."""
        self.market.accrue()
        metrics = self.metrics(acct)
        positions = []
        for symbol, position in acct.positions.items():
            state = self.market.state(symbol)
            spec = state.spec
            accrued = self._accrued_funding(position)
            notional = abs(position.size) * state.index
            imr = self.effective_imr(acct, spec)
            positions.append({
                "symbol": symbol, "isLong": position.size > 0, "size": fmt(abs(position.size), spec.size_decimals),
                "entryPrice": fmt(position.entry_price, spec.price_decimals),
                "entryFunding": fmt(position.entry_funding, RATE_DECIMALS),
                "unrealizedPnl": fmt_usdc((state.mark - position.entry_price) * position.size + accrued),
                "settledFunding": fmt_usdc(position.settled_funding),
                "markPrice": fmt(state.mark, spec.price_decimals), "indexPrice": fmt(state.index, spec.price_decimals),
                "liqPrice": fmt(self._liquidation_price(position, metrics, state.mark, state.index),
                                spec.price_decimals),
                "initMargin": fmt_usdc(notional * imr), "maintMargin": fmt_usdc(notional * spec.maint_margin_ratio),
                "initMarginRatio": fmt(imr, 4),
            })
        return {
            "address": to_checksum(acct.primary),
            "balances": [{"asset": "USDC", "total": fmt_usdc(acct.balance),
                          "locked": fmt_usdc(metrics.open_order_margin)}],
            "collateral": fmt_usdc(acct.balance), "withdrawable": fmt_usdc(metrics.withdrawable),
            "totalAccountValue": fmt_usdc(metrics.account_value),
            "openOrderMargin": fmt_usdc(metrics.open_order_margin),
            "totalMaintMargin": fmt_usdc(metrics.maint_margin), "positions": positions,
            "leverages": [{"symbol": s, "value": self.leverage(acct, s)} for s in self.market.symbols],
            "lp": {"balance": fmt_usdc(acct.lp_balance), "shares": fmt_usdc(acct.lp_balance),
                   "unrealizedPnl": "0.000000"},
            "time": self.clock(), "twitterUsername": None, "discordUsername": None,
        }

    def _liquidation_price(self, position: Position, metrics: Metrics, mark: Decimal, index: Decimal) -> Decimal:
        """Price at which account value meets maintenance margin, other positions held constant."""
        mmr = self.market.spec(position.symbol).maint_margin_ratio
        size = position.size
        denominator = size - abs(size) * mmr
        if denominator == 0:
            return ZERO
        price = (metrics.maint_margin - abs(size) * index * mmr - metrics.account_value + size * mark) / denominator
        return max(ZERO, price)

    def query_orders(self, acct: Optional[Account], ids: Optional[Set[str]] = None, nonce: Optional[int] = None,
                     symbol: Optional[str] = None, order_type: Optional[str] = None, status: Optional[str] = None,
                     start: Optional[int] = None, end: Optional[int] = None, limit: int = 1000,
                     reported: bool = True) -> List[dict]:
        """GET /orders: newest first (postTime, then creation order), at most `limit` with start <= postTime <=
        end (§3.8, §7.9). `status` matches the reported status (overrides included). `reported=False` gives the
        engine's truth instead: real status, no overrides, per-fill reading, nulls."""
        accounts = [acct] if acct is not None else list(self.accounts.values())
        rows = []
        for account in accounts:
            for order in account.orders.values():
                if ((ids is None or order.id in ids) and (nonce is None or order.nonce == nonce)
                        and (symbol is None or order.symbol == symbol)
                        and (order_type is None or order.order_type == order_type)
                        and (status is None or (order.reported_status if reported else order.status) == status)
                        and (start is None or order.post_time >= start) and (end is None or order.post_time <= end)):
                    rows.append(order)
        rows.sort(key=lambda o: (o.post_time, o.seq), reverse=True)
        if not reported:
            return [o.render(reported=False) for o in rows[:limit]]
        reading, zero_for_null = self.faults.last_filled_reading, self.faults.zero_for_null
        return [o.render(reading, zero_for_null) for o in rows[:limit]]

    @staticmethod
    def filter_rows(rows: Iterable, ids: Optional[Set[str]] = None, nonce: Optional[int] = None,
                    order_type: Optional[str] = None, status: Optional[str] = None, start: Optional[int] = None,
                    end: Optional[int] = None, limit: int = 1000) -> List[dict]:
        """GET /lp and GET /transfer filtering (§3.9, §3.10): newest first."""
        picked = [r for r in rows
                  if (ids is None or r.id in ids) and (nonce is None or r.nonce == nonce)
                  and (order_type is None or r.order_type == order_type) and (status is None or r.status == status)
                  and (start is None or r.post_time >= start) and (end is None or r.post_time <= end)]
        picked.sort(key=lambda r: r.post_time, reverse=True)
        return [r.render() for r in picked[:limit]]

    def fills(self, acct: Optional[Account] = None) -> List[Fill]:
        accounts = [acct] if acct is not None else list(self.accounts.values())
        return sorted((f for a in accounts for f in a.fills), key=lambda f: f.time)
