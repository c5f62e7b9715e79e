"""Configurable rate limits of `/v2` requests: the `rate_limits` switch (docs/vest-protocol.md §6.5, §7.11).

Vest publishes no limits; its docs show only HTTP 429 with `{"code": 429, "msg": "Rate limited"}` and list 1003
TOO_MANY_REQUESTS. The simulator enforces what a test configures, so a client can be run at its limits:

    sim.faults.set(rate_limits={"POST /orders": (10, 1.0), "*": (30, 1.0)})

* Rule names: a route name, `"<METHOD> <path under /v2>"` as in `ROUTES` (e.g. "POST /orders", "GET /depth"), or
  `"*"` (every `/v2` request of one identity, unknown paths included). A value is `(requests, window_seconds)`.
* Identity: the `X-API-KEY` header on private routes and unknown paths (`"key:<api key>"`, so each key has its
  own budget, two keys of one account included); the client address on public routes and `/register` (a key sent
  along is ignored) and on requests without a key (`"ip:<address>"`). `"*"` thus pools all private requests of a
  key, and separately all public requests of an address.
* Sliding window on the monotonic wall clock (`time.monotonic`, not the simulator clock: rate limits are wall
  time): a request is admitted when every rule that applies to it has fewer than `requests` admitted requests of
  its identity in the last `window_seconds`; it is then counted in all of them. Otherwise it is refused (nothing
  is processed, nothing counted in any window) and waits `retry_after` seconds: until the fullest window has room.
* Every change of `rate_limits` (`set(rate_limits=...)`, `reset()`) starts all windows afresh.
"""
from __future__ import annotations

import math
import time
from collections import Counter, deque
from dataclasses import asdict, dataclass
from typing import Any, Callable, Deque, Dict, List, Optional, Tuple

ALL_ROUTES = "*"
# Route name -> private (authenticated by X-API-KEY). Mirrors `app.Api.routes()` (a test keeps them equal).
ROUTES: Dict[str, bool] = {
    "GET /exchangeInfo": False, "GET /ticker/latest": False, "GET /ticker/24hr": False,
    "GET /funding/history": False, "GET /klines": False, "GET /trades": False, "GET /depth": False,
    "POST /register": False,
    "GET /account": True, "GET /account/nonce": True, "POST /account/leverage": True,
    "POST /account/listenKey": True, "PUT /account/listenKey": True, "DELETE /account/listenKey": True,
    "POST /orders": True, "GET /orders": True, "POST /orders/cancel": True, "POST /lp": True, "GET /lp": True,
    "POST /transfer/withdraw": True, "GET /transfer": True,
}
MAX_BREACHES_KEPT = 10_000  # the most recent refusals kept in detail; the counts are exact
Limit = Tuple[int, float]


def route_name(method: str, path: str, prefix: str = "/v2") -> str:
    """("POST", "/v2/orders") -> "POST /orders"."""
    return f"{method} {path[len(prefix):] if path.startswith(prefix) else path}"


def normalise_limits(value: Any) -> Dict[str, Limit]:
    """`rate_limits` from Python or JSON (lists for tuples): {rule: (requests >= 1, window seconds > 0)}."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError('rate_limits must map route names (e.g. "POST /orders") or "*" to (requests, seconds)')
    limits: Dict[str, Limit] = {}
    for rule, limit in value.items():
        if rule != ALL_ROUTES and rule not in ROUTES:
            raise ValueError(f'rate_limits: unknown route {rule!r}; use "*" or one of {", ".join(ROUTES)}')
        if not isinstance(limit, (list, tuple)) or len(limit) != 2:
            raise ValueError(f"rate_limits[{rule!r}] must be (requests, window_seconds)")
        requests, window = limit
        if isinstance(requests, bool) or not isinstance(requests, int) or requests < 1:
            raise ValueError(f"rate_limits[{rule!r}]: requests must be an integer >= 1")
        if isinstance(window, bool) or not isinstance(window, (int, float)) or not 0 < window < math.inf:
            raise ValueError(f"rate_limits[{rule!r}]: window must be a number of seconds > 0")
        limits[rule] = (requests, float(window))
    return limits


def retry_after_header(wait: float) -> str:
    """Seconds until the window has room, rounded up to a whole second (at least 1), as `Retry-After` wants."""
    return str(max(1, math.ceil(round(wait, 6))))


@dataclass(frozen=True)
class RateLimitBreach:
    """One request refused by `rate_limits`."""

    route: str  # the request's route name, e.g. "POST /orders"
    rule: str  # the rule it broke (the one whose window frees up last): a route name or "*"
    identity: str  # "key:<api key>" or "ip:<address>"
    limit: int
    window: float
    retry_after: float  # seconds until that window has room (not rounded)
    time: float  # time.monotonic() of the refusal

    def to_json(self) -> Dict[str, Any]:
        data = asdict(self)
        data["retryAfter"] = data.pop("retry_after")
        return data


class RateLimiter:
    """Sliding-window counters per (rule, identity), plus the request statistics of `VestSimulator.stats()`."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._windows: Dict[Tuple[str, str], Deque[float]] = {}
        self._version: Optional[int] = None  # `Faults.rate_limits_version` the windows belong to
        self.requests: Counter = Counter()  # route name -> /v2 requests received (refused ones included)
        self.refused: Counter = Counter()  # route name -> requests refused by `rate_limits`
        self.http_429: Counter = Counter()  # route name -> HTTP 429 answers (rate limits and `http_error_rate`)
        self.peaks: Dict[str, int] = {}  # rule -> most admitted requests of one identity within one window
        self.breaches: Deque[RateLimitBreach] = deque(maxlen=MAX_BREACHES_KEPT)

    def admit(self, route: str, identity: str, limits: Dict[str, Limit], version: int = 0) -> Optional[float]:
        """Count a request; None when admitted (and counted in each applicable window), else the seconds until
        the fullest applicable window has room (the request is refused and counted in no window)."""
        self.requests[route] += 1
        if version != self._version:  # the limits changed: every window starts afresh
            self._windows.clear()
            self._version = version
        if not limits:
            return None
        now = self.clock()
        applicable: List[Tuple[str, Limit, Deque[float]]] = []
        worst: Optional[Tuple[float, str, Limit]] = None
        for rule in (route, ALL_ROUTES):
            limit = limits.get(rule)
            if limit is None:
                continue
            requests, window = limit
            stamps = self._windows.get((rule, identity))
            if stamps is None:
                stamps = self._windows[(rule, identity)] = deque(maxlen=requests)
            while stamps and now - stamps[0] >= window:
                stamps.popleft()
            if len(stamps) >= requests:
                wait = stamps[0] + window - now
                if worst is None or wait > worst[0]:
                    worst = (wait, rule, limit)
            applicable.append((rule, limit, stamps))
        if worst is not None:
            wait, rule, (requests, window) = worst
            self.refused[route] += 1
            self.breaches.append(RateLimitBreach(route, rule, identity, requests, window, wait, now))
            return wait
        for rule, _, stamps in applicable:
            stamps.append(now)
            if len(stamps) > self.peaks.get(rule, 0):
                self.peaks[rule] = len(stamps)
        return None

    def note_429(self, route: str) -> None:
        self.http_429[route] += 1

    def reset_stats(self) -> None:
        """Zero the statistics (the windows are kept: a reset does not lift a limit)."""
        self.requests.clear()
        self.refused.clear()
        self.http_429.clear()
        self.peaks.clear()
        self.breaches.clear()

    def stats(self) -> Dict[str, Any]:
        return {"requests": dict(self.requests), "rate_limited": dict(self.refused),
                "rate_limited_total": sum(self.refused.values()), "http_429": dict(self.http_429),
                "rate_limit_peaks": dict(self.peaks)}
