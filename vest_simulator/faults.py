"""Named, seeded fault switches (docs/vest-protocol.md §5.1 frames, §6.5 rate limits, §3.12 envelopes) and the
switches that pick one reading where Vest's docs leave the venue's behaviour open (§7.11, §7.12).

Every random decision draws from a stream seeded by `seed`, so a run with the same switches, seed and request
sequence is reproducible. `set(...)` reseeds the streams whenever `seed` is passed. Counting switches
(`drop_order_response`, `stall_order_requests`, `garble_cancel_response`, `fail_order_queries`) count down as they
fire.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field, fields
from typing import Any, Dict, Iterable, Optional, Set

FRAME_MODES = ("text", "binary", "brotli")
ERROR_ENVELOPES = ("plain", "detail")
WS_DROP_TARGETS = ("both", "public", "private")
LAST_FILLED_READINGS = ("per_fill", "cumulative")
GARBLED_BODY = "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"


@dataclass
class Faults:
    """Fault switches; all off by default.

    * ws_drop_interval: seconds between forced drops of WS connections (`ws_drop_target`, close `ws_drop_code`).
    * http_error_rate / http_error_status: share of /v2 requests answered with that status instead
      (429 carries {"code":1003} and `Retry-After: retry_after`; 5xx carry a plain-text body).
    * response_delay: seconds added before every /v2 response.
    * drop_order_response: the next N `POST /orders` are processed, then the connection is aborted (no response).
    * stall_order_requests: the next N `POST /orders` are read, then held unprocessed until the client disconnects
      (or the simulator stops), and discarded: Vest never books them and never answers.
    * frame_mode: WS frames as "text", "binary" (UTF-8 bytes) or "brotli" (compressed bytes).
    * private_event_drop_rate / private_event_duplicate_rate: per account_private message delivery.
    * error_envelope: "plain" {"code","msg"} or "detail" {"detail":{"code","msg"}}.
    * halted_symbols: symbols reported as HALT; orders on them fail with 1148.
    * garble_cancel_response: the next N `POST /orders/cancel` get HTTP 200 with an HTML body (text/html); the
      cancel is not executed.
    * fail_order_queries: the next N `GET /orders` get HTTP 503 with a plain-text body.
    * account_without_positions: `GET /account` omits the `positions` field.

    Venue readings (not faults; the defaults are the simulator's original behaviour):

    * partial_fill_chunks: an executing order fills in this many equal chunks, one per processing pass.
    * last_filled_reading: "per_fill" (lastFilledSize/Price = the latest chunk) or "cumulative" (executed size so
      far / average price so far), in ORDER events and `GET /orders` rows alike.
    * zero_for_null: orders without fills carry "0" decimals (and lastFilledTime 0) where the docs say null.
    """

    seed: int = 0
    ws_drop_interval: Optional[float] = None
    ws_drop_target: str = "both"
    ws_drop_code: int = 1012
    http_error_rate: float = 0.0
    http_error_status: int = 429
    retry_after: float = 1.0
    response_delay: float = 0.0
    drop_order_response: int = 0
    stall_order_requests: int = 0
    frame_mode: str = "text"
    private_event_drop_rate: float = 0.0
    private_event_duplicate_rate: float = 0.0
    error_envelope: str = "plain"
    halted_symbols: Set[str] = field(default_factory=set)
    garble_cancel_response: int = 0
    fail_order_queries: int = 0
    account_without_positions: bool = False
    partial_fill_chunks: int = 1
    last_filled_reading: str = "per_fill"
    zero_for_null: bool = False

    def __post_init__(self) -> None:
        self._reseed()

    def _reseed(self) -> None:
        self._http_rng = random.Random(f"{self.seed}:http")
        self._event_rng = random.Random(f"{self.seed}:events")

    def set(self, **switches: Any) -> "Faults":
        """Change switches by name, e.g. `set(http_error_rate=0.2, http_error_status=429, seed=3)`."""
        names = {f.name for f in fields(self)}
        unknown = set(switches) - names
        if unknown:
            raise ValueError(f"unknown fault switch(es): {', '.join(sorted(unknown))}")
        for name, value in switches.items():
            if name == "halted_symbols":
                value = set(_as_iterable(value))
            setattr(self, name, value)
        self._validate()
        if "seed" in switches:
            self._reseed()
        return self

    def reset(self) -> "Faults":
        """All switches back to defaults (keeps the seed, reseeds the streams)."""
        for f in fields(self):
            if f.name != "seed":
                setattr(self, f.name, f.default_factory() if callable(f.default_factory) else f.default)
        self._reseed()
        return self

    def _validate(self) -> None:
        if self.frame_mode not in FRAME_MODES:
            raise ValueError(f"frame_mode must be one of {FRAME_MODES}")
        if self.error_envelope not in ERROR_ENVELOPES:
            raise ValueError(f"error_envelope must be one of {ERROR_ENVELOPES}")
        if self.ws_drop_target not in WS_DROP_TARGETS:
            raise ValueError(f"ws_drop_target must be one of {WS_DROP_TARGETS}")
        for name in ("http_error_rate", "private_event_drop_rate", "private_event_duplicate_rate"):
            if not 0.0 <= float(getattr(self, name)) <= 1.0:
                raise ValueError(f"{name} must be within [0, 1]")
        if not (self.http_error_status == 429 or 500 <= self.http_error_status <= 599):
            raise ValueError("http_error_status must be 429 or 5xx")
        if self.last_filled_reading not in LAST_FILLED_READINGS:
            raise ValueError(f"last_filled_reading must be one of {LAST_FILLED_READINGS}")
        for name, minimum in (("partial_fill_chunks", 1), ("drop_order_response", 0), ("stall_order_requests", 0),
                              ("garble_cancel_response", 0), ("fail_order_queries", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ValueError(f"{name} must be an integer >= {minimum}")

    def snapshot(self) -> Dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["halted_symbols"] = sorted(self.halted_symbols)
        return data

    # ---- decisions ---------------------------------------------------------------------------------------
    def http_error(self) -> Optional[int]:
        """Status to fail this request with, or None."""
        if self.http_error_rate > 0 and self._http_rng.random() < self.http_error_rate:
            return self.http_error_status
        return None

    def take_order_response_drop(self) -> bool:
        return self._take("drop_order_response")

    def take_order_stall(self) -> bool:
        return self._take("stall_order_requests")

    def take_cancel_garble(self) -> bool:
        return self._take("garble_cancel_response")

    def take_order_query_failure(self) -> bool:
        return self._take("fail_order_queries")

    def _take(self, name: str) -> bool:
        """Count one use of a counting switch; True if it fired."""
        if getattr(self, name) > 0:
            setattr(self, name, getattr(self, name) - 1)
            return True
        return False

    def private_event_copies(self) -> int:
        """How many times to deliver one private message: 0 (dropped), 1 or 2 (duplicated)."""
        if self.private_event_drop_rate > 0 and self._event_rng.random() < self.private_event_drop_rate:
            return 0
        if self.private_event_duplicate_rate > 0 and self._event_rng.random() < self.private_event_duplicate_rate:
            return 2
        return 1


def _as_iterable(value: Any) -> Iterable[str]:
    if value is None:
        return ()
    if isinstance(value, str):
        return [s for s in value.split(",") if s]
    return value
