"""The `rate_limits` switch (vest_simulator/ratelimit.py, docs/vest-protocol.md §7.11) and the request statistics.

Counts are asserted, not timings: bursts run under windows far longer than the burst (60 s), and the tests of a
window freeing up use short windows (0.2-0.3 s) and wait on conditions; exact `Retry-After` values are checked with
a stand-in clock.
"""
from __future__ import annotations

import asyncio
import time
import unittest
from decimal import Decimal
from typing import Any, List, Tuple

from vest_simulator import Faults, RateLimitBreach
from vest_simulator.ratelimit import ALL_ROUTES, ROUTES, RateLimiter, retry_after_header, route_name

from .base import SimTestCase
from .signing import OTHER_KEY, PRIMARY_KEY, SIGNING_KEY, order_body

LONG = 60.0  # a window no burst outlasts
RESTING = {"order_type": "LIMIT", "limit_price": "60000.0", "time_in_force": "GTC"}  # a buy far below the index


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class RateLimiterTests(unittest.TestCase):
    """The sliding windows alone, on a stand-in clock."""

    def setUp(self) -> None:
        self.clock = FakeClock()
        self.limiter = RateLimiter(self.clock)

    def test_sliding_window_and_wait(self) -> None:
        limits = {"POST /orders": (2, 1.0)}
        self.assertIsNone(self.limiter.admit("POST /orders", "key:a", limits))
        self.clock.now += 0.4
        self.assertIsNone(self.limiter.admit("POST /orders", "key:a", limits))
        self.clock.now += 0.1
        self.assertAlmostEqual(0.5, self.limiter.admit("POST /orders", "key:a", limits))  # the first frees at 1.0
        self.assertEqual("1", retry_after_header(0.5))
        self.clock.now += 0.5  # the first request leaves the window: room for one
        self.assertIsNone(self.limiter.admit("POST /orders", "key:a", limits))
        self.assertAlmostEqual(0.4, self.limiter.admit("POST /orders", "key:a", limits))
        self.assertIsNone(self.limiter.admit("GET /orders", "key:a", limits))  # no rule for that route
        self.assertEqual({"POST /orders": 5, "GET /orders": 1}, dict(self.limiter.requests))
        self.assertEqual({"POST /orders": 2}, dict(self.limiter.refused))
        self.assertEqual({"POST /orders": 2}, self.limiter.peaks)

    def test_refused_requests_use_no_budget(self) -> None:
        limits = {"GET /depth": (1, 2.0)}
        self.assertIsNone(self.limiter.admit("GET /depth", "ip:x", limits))
        for _ in range(5):  # hammering does not push the window back
            self.clock.now += 0.3
            self.assertIsNotNone(self.limiter.admit("GET /depth", "ip:x", limits))
        self.clock.now = 1002.0
        self.assertIsNone(self.limiter.admit("GET /depth", "ip:x", limits))

    def test_route_and_pool_both_apply(self) -> None:
        limits = {"POST /orders": (5, 10.0), ALL_ROUTES: (3, 1.0)}
        for route in ("POST /orders", "GET /account", "GET /orders"):
            self.assertIsNone(self.limiter.admit(route, "key:a", limits))
        self.assertIsNotNone(self.limiter.admit("POST /orders", "key:a", limits))
        self.assertEqual(ALL_ROUTES, self.limiter.breaches[-1].rule)
        self.assertIsNone(self.limiter.admit("POST /orders", "key:b", limits))  # another identity
        self.clock.now += 1.0  # the pool frees up; the route rule (5 in 10 s) has room for 4 more
        for _ in range(3):
            self.assertIsNone(self.limiter.admit("POST /orders", "key:a", limits))
        self.clock.now += 1.0
        self.assertIsNone(self.limiter.admit("POST /orders", "key:a", limits))
        self.assertAlmostEqual(8.0, self.limiter.admit("POST /orders", "key:a", limits))  # the route rule is full
        breach = self.limiter.breaches[-1]
        self.assertEqual(("POST /orders", "POST /orders", "key:a", 5, 10.0), (breach.route, breach.rule,
                                                                              breach.identity, breach.limit,
                                                                              breach.window))
        self.assertEqual({"POST /orders": 5, ALL_ROUTES: 3}, self.limiter.peaks)

    def test_longest_wait_wins(self) -> None:
        limits = {"GET /orders": (1, 10.0), ALL_ROUTES: (1, 1.0)}
        self.assertIsNone(self.limiter.admit("GET /orders", "key:a", limits))
        self.clock.now += 0.5
        self.assertAlmostEqual(9.5, self.limiter.admit("GET /orders", "key:a", limits))
        self.assertEqual("GET /orders", self.limiter.breaches[-1].rule)
        self.assertAlmostEqual(0.5, self.limiter.admit("GET /account", "key:a", limits))
        self.assertEqual(ALL_ROUTES, self.limiter.breaches[-1].rule)

    def test_a_change_of_limits_starts_afresh(self) -> None:
        limits = {"GET /depth": (1, LONG)}
        self.assertIsNone(self.limiter.admit("GET /depth", "ip:x", limits, version=1))
        self.assertIsNotNone(self.limiter.admit("GET /depth", "ip:x", limits, version=1))
        self.assertIsNone(self.limiter.admit("GET /depth", "ip:x", limits, version=2))
        self.limiter.reset_stats()
        self.assertEqual({"requests": {}, "rate_limited": {}, "rate_limited_total": 0, "http_429": {},
                          "rate_limit_peaks": {}}, self.limiter.stats())
        self.assertIsNotNone(self.limiter.admit("GET /depth", "ip:x", limits, version=2))  # windows kept

    def test_retry_after_rounds_up(self) -> None:
        self.assertEqual(["1", "1", "2", "3"], [retry_after_header(w) for w in (0.0001, 1.0, 1.2, 2.9999)])


class RateLimitSwitchTests(unittest.TestCase):
    def test_validation_json_and_reset(self) -> None:
        for bad in ({"POST /order": (1, 1)}, {"post /orders": (1, 1)}, {"*": (0, 1)}, {"*": (1, 0)}, {"*": (1,)},
                    {"*": (True, 1)}, {"*": (1.5, 1)}, {"*": "10/s"}, ["*"]):
            with self.assertRaises(ValueError, msg=bad):
                Faults().set(rate_limits=bad)
        faults = Faults().set(rate_limits={"POST /orders": [10, 1], "*": (30, 1.5)}, retry_after_header=False)
        self.assertEqual({"POST /orders": (10, 1.0), "*": (30, 1.5)}, faults.rate_limits)
        self.assertEqual({"POST /orders": [10, 1.0], "*": [30, 1.5]}, faults.snapshot()["rate_limits"])
        version = faults.rate_limits_version
        with self.assertRaises(ValueError):
            faults.set(rate_limits={"*": (1, -1)}, retry_after_header=True)
        self.assertEqual((version, False), (faults.rate_limits_version, faults.retry_after_header))  # unchanged
        faults.reset()
        self.assertEqual(({}, True), (faults.rate_limits, faults.retry_after_header))
        self.assertGreater(faults.rate_limits_version, version)
        with self.assertRaises(ValueError):
            Faults().set(retry_after_header="no")


class RateLimitHttpTests(SimTestCase):
    async def burst(self, count: int, **order: Any) -> List[Tuple[int, Any, dict]]:
        """`count` signed orders at once: (status, body, request body) each."""
        bodies = [order_body(SIGNING_KEY, time=self.sim.now_ms(), nonce=self.nonce(), **{**RESTING, **order})
                  for _ in range(count)]

        async def send(body: dict) -> Tuple[int, Any, dict]:
            status, answer = await self.call("POST", "/orders", body=body)
            return status, answer, body
        return list(await asyncio.gather(*(send(body) for body in bodies)))

    async def get(self, path: str, headers: Any = None, **params: Any) -> Tuple[int, Any, Any]:
        async with self.session.get(self.sim.rest_url + path, params=params or None,
                                    headers=self.headers() if headers is None else headers) as resp:
            return resp.status, await resp.json(content_type=None), resp.headers

    async def test_no_limits_by_default(self) -> None:
        results = await asyncio.gather(*(self.get("/depth", symbol="BTC-PERP") for _ in range(40)))
        self.assertEqual({200}, {status for status, _, _ in results})
        self.assertEqual([], self.sim.rate_limit_breaches())
        stats = self.sim.stats()
        self.assertEqual((40, 0, {}), (stats["requests"]["GET /depth"], stats["rate_limited_total"],
                                       stats["rate_limit_peaks"]))

    async def test_order_burst_refused_with_429_and_not_booked(self) -> None:
        self.sim.faults.set(rate_limits={"POST /orders": (3, LONG)})
        results = await self.burst(7)
        accepted = [answer["id"] for status, answer, _ in results if status == 200]
        refused = [(answer, body) for status, answer, body in results if status == 429]
        self.assertEqual((3, 4), (len(accepted), len(refused)))
        self.assertEqual([{"code": 1003, "msg": "Too many requests"}] * 4, [answer for answer, _ in refused])
        await self.settle()
        self.assertEqual(sorted(accepted), sorted(o["id"] for o in self.sim.orders(self.acct.primary_address)))
        self.assertEqual({"NEW"}, {o["status"] for o in self.sim.orders(self.acct.primary_address)})
        stats = self.sim.stats()
        self.assertEqual((7, 4, 4, 4, 3), (stats["requests"]["POST /orders"], stats["rate_limited"]["POST /orders"],
                                           stats["rate_limited_total"], stats["http_429"]["POST /orders"],
                                           stats["rate_limit_peaks"]["POST /orders"]))
        breaches = self.sim.rate_limit_breaches()
        self.assertEqual(4, len(breaches))
        self.assertIsInstance(breaches[0], RateLimitBreach)
        self.assertEqual({("POST /orders", "POST /orders", f"key:{self.acct.api_key}", 3, LONG)},
                         {(b.route, b.rule, b.identity, b.limit, b.window) for b in breaches})
        self.assertTrue(all(0 < b.retry_after <= LONG for b in breaches))
        # Other routes are not limited; a refused order never took its nonce: once limits are lifted, it is booked.
        self.assertEqual(200, (await self.get("/orders"))[0])
        self.sim.faults.set(rate_limits={})
        status, answer = await self.call("POST", "/orders", body=refused[0][1])
        self.assertEqual(200, status, answer)
        self.assertEqual(4, len(self.sim.orders(self.acct.primary_address)))

    async def test_body_and_retry_after_per_switches(self) -> None:
        self.sim.faults.set(rate_limits={"GET /depth": (1, LONG)})
        self.assertEqual(200, (await self.get("/depth", symbol="BTC-PERP"))[0])
        status, body, headers = await self.get("/depth", symbol="BTC-PERP")
        self.assertEqual((429, {"code": 1003, "msg": "Too many requests"}), (status, body))
        self.assertEqual(str(int(LONG)), headers["Retry-After"])  # whole seconds, rounded up
        self.assertEqual("application/json", headers["Content-Type"].split(";")[0])
        self.sim.faults.set(rate_limit_code=429, retry_after_header=False)  # `rate_limits` untouched: window kept
        status, body, headers = await self.get("/depth", symbol="BTC-PERP")
        self.assertEqual((429, {"code": 429, "msg": "Rate limited"}), (status, body))  # the docs' example
        self.assertNotIn("Retry-After", headers)
        self.sim.faults.set(error_envelope="detail", retry_after_header=True)
        status, body, headers = await self.get("/depth", symbol="BTC-PERP")
        self.assertEqual((429, {"detail": {"code": 429, "msg": "Rate limited"}}), (status, body))
        self.assertIn("Retry-After", headers)
        self.sim.faults.set(rate_limits={"GET /depth": (1, LONG)})  # set again: a fresh window
        self.assertEqual(200, (await self.get("/depth", symbol="BTC-PERP"))[0])
        # The random 429 fault follows `retry_after_header` too, and is counted among the 429s only.
        self.sim.faults.set(rate_limits={}, http_error_rate=1.0, http_error_status=429, retry_after_header=False)
        status, _, headers = await self.get("/exchangeInfo")
        self.assertEqual(429, status)
        self.assertNotIn("Retry-After", headers)
        stats = self.sim.stats()
        self.assertEqual((1, 3, 3), (stats["http_429"]["GET /exchangeInfo"], stats["rate_limited"]["GET /depth"],
                                     stats["rate_limited_total"]))

    async def test_window_frees_up_after_its_length(self) -> None:
        window = 0.25
        self.sim.faults.set(rate_limits={"GET /account": (2, window)})
        started = time.monotonic()
        statuses = [(await self.get("/account"))[0] for _ in range(3)]
        elapsed = time.monotonic() - started
        self.assertEqual([200, 200], statuses[:2])
        self.assertTrue(statuses[2] == 429 or elapsed >= window, (statuses, elapsed))  # full, unless it was slow
        first_refusal = self.sim.rate_limit_breaches()[:1]

        async def admitted() -> float:
            while (await self.get("/account"))[0] != 200:
                await asyncio.sleep(0.02)
            return time.monotonic() - started
        self.assertGreaterEqual(await asyncio.wait_for(admitted(), 5), window)
        if first_refusal:
            self.assertEqual("1", retry_after_header(first_refusal[0].retry_after))

    async def test_per_key_isolation(self) -> None:
        other_key = self.sim.create_account(signing_private_key=SIGNING_KEY, primary_private_key=PRIMARY_KEY)
        other_account = self.sim.create_account(signing_private_key=OTHER_KEY, balance=Decimal("1000"))
        self.assertEqual(self.acct.primary_address, other_key.primary_address)  # a second key of the same account
        self.sim.faults.set(rate_limits={"GET /orders": (2, LONG), "POST /orders": (1, LONG)})
        statuses = [(await self.get("/orders"))[0] for _ in range(3)]
        self.assertEqual([200, 200, 429], statuses)
        for acct in (other_key, other_account):
            statuses = [(await self.get("/orders", headers=self.headers(acct)))[0] for _ in range(3)]
            self.assertEqual([200, 200, 429], statuses, acct)
        self.assertEqual(200, (await self.place(**RESTING))[0])  # POST /orders has its own budget
        self.assertEqual(429, (await self.place(**RESTING))[0])
        self.assertEqual(200, (await self.place(acct=other_key, **RESTING))[0])
        self.assertEqual({f"key:{a.api_key}" for a in (self.acct, other_key, other_account)},
                         {b.identity for b in self.sim.rate_limit_breaches()})
        # Public routes use the client address; a key sent along changes nothing.
        self.sim.faults.set(rate_limits={"GET /depth": (2, LONG)})
        self.assertEqual([200, 200], [(await self.get("/depth", symbol="BTC-PERP"))[0] for _ in range(2)])
        self.assertEqual(429, (await self.get("/depth", headers=self.headers(other_account), symbol="BTC-PERP"))[0])
        self.assertEqual("ip:127.0.0.1", self.sim.rate_limit_breaches()[-1].identity)

    async def test_star_pools_every_route_of_a_key(self) -> None:
        other = self.sim.create_account(signing_private_key=OTHER_KEY, balance=Decimal("1000"))
        self.sim.faults.set(rate_limits={"*": (4, LONG), "GET /depth": (10, LONG)})
        self.assertEqual(200, (await self.get("/account"))[0])
        self.assertEqual(200, (await self.get("/orders"))[0])
        self.assertEqual(200, (await self.place(**RESTING))[0])
        self.assertEqual(200, (await self.call("POST", "/account/listenKey"))[0])
        self.assertEqual(429, (await self.place(**RESTING))[0])  # the pool is spent, whatever the route
        self.assertEqual(429, (await self.get("/account/nonce", time=self.sim.now_ms()))[0])
        self.assertEqual(429, (await self.call("GET", "/nope"))[0])  # "*" covers every /v2 path
        self.assertEqual(200, (await self.get("/account", headers=self.headers(other)))[0])
        # Public requests pool per client address, apart from the keys; "*" there is the tighter of the two.
        results = [(await self.get("/depth", symbol="BTC-PERP"))[0] for _ in range(5)]
        self.assertEqual([200, 200, 200, 200, 429], results)
        self.assertEqual(("GET /depth", "*", "ip:127.0.0.1"), (lambda b: (b.route, b.rule, b.identity))(
            self.sim.rate_limit_breaches()[-1]))
        await self.settle()
        self.assertEqual(1, len(self.sim.orders(self.acct.primary_address)))
        self.assertEqual({"*": 4, "GET /depth": 4}, self.sim.stats()["rate_limit_peaks"])

    async def test_admin_routes_and_reset(self) -> None:
        async def admin(method: str, route: str, body: Any = None) -> Any:
            url = self.sim.rest_url.replace("/v2", "/_sim/") + route
            async with self.session.request(method, url, json=body) as resp:
                return resp.status, await resp.json()
        status, faults = await admin("POST", "faults", {"rate_limits": {"GET /ticker/latest": [1, LONG]},
                                                        "rate_limit_code": 429})
        self.assertEqual((200, {"GET /ticker/latest": [1, LONG]}), (status, faults["rate_limits"]))
        self.assertEqual(400, (await admin("POST", "faults", {"rate_limits": {"GET /tickers": [1, 1]}}))[0])
        self.assertEqual(200, (await self.get("/ticker/latest"))[0])
        self.assertEqual(429, (await self.get("/ticker/latest"))[0])
        for _ in range(5):
            self.assertEqual(200, (await admin("GET", "health"))[0])  # admin routes are never limited
        status, stats = await admin("GET", "stats")
        self.assertEqual(({"GET /ticker/latest": 2}, {"GET /ticker/latest": 1}, 1, {"GET /ticker/latest": 1}),
                         (stats["routeCounts"], stats["rateLimited"], stats["rateLimitedTotal"],
                          stats["rateLimitPeaks"]))
        [breach] = stats["rateLimitBreaches"]
        self.assertEqual(("GET /ticker/latest", "GET /ticker/latest", "ip:127.0.0.1", 1, LONG),
                         (breach["route"], breach["rule"], breach["identity"], breach["limit"], breach["window"]))
        self.assertIn("retryAfter", breach)
        self.assertEqual(200, (await admin("POST", "stats/reset"))[0])
        status, stats = await admin("GET", "stats")
        self.assertEqual(({}, 0, [], []), (stats["routeCounts"], stats["rateLimitedTotal"], stats["rateLimitBreaches"],
                                           stats["requestCounts"]))
        self.assertEqual(429, (await self.get("/ticker/latest"))[0])  # a stats reset keeps the windows
        self.assertEqual({}, (await admin("POST", "faults/reset"))[1]["rate_limits"])
        self.assertEqual(200, (await self.get("/ticker/latest"))[0])

    def test_route_names_match_the_app(self) -> None:
        names = set()
        for route in self.sim._runner.app.router.routes():  # type: ignore[union-attr]
            path = route.resource.canonical if route.resource is not None else ""
            if path.startswith("/v2/") and route.method != "HEAD":
                names.add(route_name(route.method, path))
        self.assertEqual(set(ROUTES), names)
        self.assertEqual("POST /orders/cancel", route_name("POST", "/v2/orders/cancel"))
