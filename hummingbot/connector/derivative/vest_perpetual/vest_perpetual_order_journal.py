"""The orders this bot has signed, in Hummingbot's data folder, so that none can stay on Vest unknown to it after a
lost answer or a crash between signing and the answer (docs/vest-protocol.md §3.13, §3.6).

One JSON line per fact (placed, Vest's id, finished), flushed before the order is sent: a process killed at any
point leaves every signed order here, and a line cut short by the kill is skipped when read back."""
import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, TextIO

RETENTION_SECONDS = 24 * 60 * 60


@dataclass
class PlacedOrder:
    nonce: int
    client_order_id: str
    trading_pair: str
    trade_type: str
    order_type: str
    amount: str
    price: str
    position_action: str
    signed_until_ms: int  # Vest refuses the signed request after this time (`time` + `recvWindow`, §4.9)
    exchange_order_id: Optional[str] = None
    finished_at: Optional[float] = None
    # "venue": Vest confirmed a final state; "unreachable": no order with this nonce existed after the signature
    # expired, so Vest can never book it (were it to show up after all, it is taken back).
    outcome: Optional[str] = None


class OrderJournal:
    """Append-only record of this bot's signed orders, one file per domain and signer."""

    def __init__(self, path: Path, logger: logging.Logger, clock: Callable[[], float]):
        self._path = path
        self._logger = logger
        self._clock = clock
        self._orders: Dict[int, PlacedOrder] = {}
        self._nonce_by_client_order_id: Dict[str, int] = {}  # the latest: an order re-signed after 1023 has two
        self._file: Optional[TextIO] = None
        self._read()

    def get(self, nonce: Optional[int]) -> Optional[PlacedOrder]:
        return self._orders.get(nonce)

    def nonce_of(self, client_order_id: str) -> Optional[int]:
        return self._nonce_by_client_order_id.get(client_order_id)

    def unfinished(self) -> List[PlacedOrder]:
        return [order for order in self._orders.values() if order.finished_at is None]

    def record_placement(self, order: PlacedOrder):
        self._remember(order)
        self._write({"placed": asdict(order)})

    def _remember(self, order: PlacedOrder):
        self._orders[order.nonce] = order
        self._nonce_by_client_order_id[order.client_order_id] = order.nonce

    def record_exchange_order_id(self, nonce: int, exchange_order_id: str):
        order = self._orders.get(nonce)
        if order is not None and order.exchange_order_id != exchange_order_id:
            order.exchange_order_id = exchange_order_id
            self._write({"nonce": nonce, "exchange_order_id": exchange_order_id})

    def record_finished(self, nonce: int, outcome: str):
        order = self._orders.get(nonce)
        if order is not None and order.outcome != outcome:
            order.finished_at, order.outcome = self._clock(), outcome
            self._write({"nonce": nonce, "finished_at": order.finished_at, "outcome": outcome})

    def reopen(self, nonce: int):
        """An order given up as unreachable turned out to exist on Vest."""
        order = self._orders.get(nonce)
        if order is not None and order.finished_at is not None:
            order.finished_at = order.outcome = None
            self._write({"nonce": nonce, "finished_at": None, "outcome": None})

    def close(self):
        if self._file is not None:
            self._file.close()
            self._file = None

    def _write(self, fact: dict):
        """Flushed to the operating system: the line survives the process being killed."""
        if self._file is None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self._path.open("a", encoding="utf-8")
        self._file.write(json.dumps(fact, separators=(",", ":")) + "\n")
        self._file.flush()

    def _read(self):
        if not self._path.exists():
            return
        with self._path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                try:
                    self._apply(json.loads(line))
                except (ValueError, TypeError, KeyError) as error:  # e.g. the last line of a killed process
                    self._logger.warning(f"Skipping line {number} of the order journal {self._path}: {error!r}")
        self._compact()

    def _apply(self, fact: dict):
        if "placed" in fact:
            self._remember(PlacedOrder(**fact["placed"]))
            return
        order = self._orders[fact["nonce"]]
        if "exchange_order_id" in fact:
            order.exchange_order_id = fact["exchange_order_id"]
        if "finished_at" in fact:
            order.finished_at, order.outcome = fact["finished_at"], fact["outcome"]

    def _compact(self):
        """Drops the orders finished over RETENTION_SECONDS ago (atomically: a kill leaves the old file)."""
        horizon = self._clock() - RETENTION_SECONDS
        self._orders = {nonce: order for nonce, order in self._orders.items()
                        if order.finished_at is None or order.finished_at > horizon}
        self._nonce_by_client_order_id = {order.client_order_id: nonce for nonce, order in sorted(self._orders.items())}
        temporary = self._path.with_suffix(".tmp")
        with temporary.open("w", encoding="utf-8") as rewritten:
            for order in self._orders.values():
                rewritten.write(json.dumps({"placed": asdict(order)}, separators=(",", ":")) + "\n")
        os.replace(temporary, self._path)
