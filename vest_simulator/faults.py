"""Named, seeded fault switches (docs/vest-protocol.md §5.1 frames, §6.5 rate limits, §3.12 envelopes).

Every random decision draws from a stream seeded by `seed`, so a run with the same switches, seed and request
sequence is reproducible. `set(...)` reseeds the streams whenever `seed` is passed.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field, fields
from typing import Any, Dict, Iterable, Optional, Set

FRAME_MODES = ("text", "binary", "brotli")
ERROR_ENVELOPES = ("plain", "detail")
WS_DROP_TARGETS = ("both", "public", "private")


@dataclass
class Faults:
    """Fault switches; all off by default.

    * ws_drop_interval: seconds between forced drops of WS connections (`ws_drop_target`, close `ws_drop_code`).
    * http_error_rate / http_error_status: share of /v2 requests answered with that status instead
      (429 carries {"code":1003} and `Retry-After: retry_after`; 5xx carry a plain-text body).
    * response_delay: seconds added before every /v2 response.
    * drop_order_response: the next N `POST /orders` are processed, then the connection is aborted (no response).
    * frame_mode: WS frames as "text", "binary" (UTF-8 bytes) or "brotli" (compressed bytes).
    * private_event_drop_rate / private_event_duplicate_rate: per account_private message delivery.
    * error_envelope: "plain" {"code","msg"} or "detail" {"detail":{"code","msg"}}.
    * halted_symbols: symbols reported as HALT; orders on them fail with 1148.
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
    frame_mode: str = "text"
    private_event_drop_rate: float = 0.0
    private_event_duplicate_rate: float = 0.0
    error_envelope: str = "plain"
    halted_symbols: Set[str] = field(default_factory=set)

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
        if self.drop_order_response > 0:
            self.drop_order_response -= 1
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
