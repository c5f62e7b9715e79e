"""Fault injection: the real connector against the Vest simulator over loopback, one fault per test class.

Each class runs one scenario of `fault_scenarios.py` once (in `setUpClass`, on its own event loop) and its tests
assert on separate aspects of the result, so a failure names the property that broke. The scenarios are seeded
(simulator, fault streams); they wait on conditions with timeouts and never use a sleep as an assertion. Durations
here are the short ones (the module runs in about a minute and a half); `bench/fault_report.py` runs the same scenarios
longer.
"""
import asyncio
import logging
import unittest
from typing import Any, Callable, Dict

from project_tests.connector import fault_scenarios as scenarios

SCENARIO_TIMEOUT = 180  # a hung scenario fails its class instead of hanging the run


def run_scenario(factory: Callable[[], Any]) -> scenarios.ScenarioResult:
    async def run():
        return await asyncio.wait_for(factory(), SCENARIO_TIMEOUT)

    # The connector logs every reconnect and refused request at WARNING; keep the test output readable.
    hummingbot_logger = logging.getLogger("hummingbot")
    level = hummingbot_logger.level
    hummingbot_logger.setLevel(logging.CRITICAL)
    try:
        return asyncio.run(run())
    finally:
        hummingbot_logger.setLevel(level)


class ScenarioTestCase(unittest.TestCase):
    result: scenarios.ScenarioResult
    details: Dict[str, Any]

    @classmethod
    def scenario(cls) -> Any:
        raise NotImplementedError

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.result = run_scenario(cls.scenario)
        cls.details = cls.result.details

    def problems_about(self, *words: str):
        return [p for p in self.result.problems if any(word in p for word in words)]


class WebSocketDropTests(ScenarioTestCase):
    """ws_drop_interval = 2.5 s on both streams for 20 s (8 drops) while MARKET and LIMIT orders flow."""

    @classmethod
    def scenario(cls):
        return scenarios.ws_drops(duration=20.0, interval=2.5, order_every=0.6)

    def test_drops_were_injected_on_both_streams(self):
        self.assertGreaterEqual(self.details["public_drops"], 7)
        self.assertGreaterEqual(self.details["private_drops"], 7)

    def test_public_stream_reconnects_and_the_order_book_updates_after_every_drop(self):
        self.assertEqual([], self.details["unrecovered_public"], self.result.summary())
        self.assertGreaterEqual(self.details["public_reconnects"], self.details["public_drops"])

    def test_private_stream_reconnects_after_every_drop(self):
        self.assertEqual([], self.details["unrecovered_private"], self.result.summary())
        self.assertGreaterEqual(self.details["private_reconnects"], self.details["private_drops"])

    def test_every_venue_fill_is_reported_once_and_final_states_match(self):
        """Fills made while the private stream was down reach the connector only through REST; they must be
        backfilled within the settle time (15 s), not at the next 120 s long poll."""
        reconciliation = self.details["reconciliation"]
        self.assertGreater(reconciliation.venue_fills, 0)
        self.assertTrue(reconciliation.consistent, self.result.summary())
        self.assertEqual(reconciliation.venue_fills, reconciliation.connector_fills)


class ListenKeyTests(ScenarioTestCase):
    @classmethod
    def scenario(cls):
        return scenarios.listen_key_lifecycle()

    def check_step(self, label: str, new_key: bool):
        step = self.details["steps"][label]
        self.assertTrue(step["reconnected"], self.result.summary())
        self.assertGreaterEqual(step["listen_key_posts"], 1)
        if new_key:
            self.assertTrue(step["new_key"], self.result.summary())
        self.assertTrue(step["order_events"], self.result.summary())

    def test_expiry_past_60_minutes_4005_gets_a_new_key_and_events_flow(self):
        self.check_step("expiry (4005)", new_key=True)

    def test_deleted_key_4004_gets_a_new_key_and_events_flow(self):
        self.check_step("deletion (4004)", new_key=True)

    def test_keep_alive_refused_with_1125_reconnects_and_events_flow(self):
        self.check_step("keep-alive 1125", new_key=False)

    def test_each_loss_is_logged(self):
        self.assertEqual([], self.problems_about("logged nothing"))

    def test_survived(self):
        self.assertTrue(self.result.survived, self.result.summary())


class HttpErrorTests(ScenarioTestCase):
    """A quarter of all REST requests answer 429 (Retry-After 1 s), then 503, for 6 s each, after a 6 s baseline."""

    @classmethod
    def scenario(cls):
        return scenarios.http_errors(statuses=(429, 503), rate=0.25, window=6.0)

    def test_errors_were_injected(self):
        for phase in self.details["phases"][1:]:
            self.assertGreater(phase.failed_requests, 0, phase)

    def test_no_retry_storm(self):
        self.assertEqual([], self.problems_about("retry storm"), self.result.summary())

    def test_every_order_ends_as_the_venue_recorded_it(self):
        reconciliation = self.details["reconciliation"]
        long_lived = set(self.details["failed_refreshes"])
        disagreements = {k: v for k, v in reconciliation.mismatched.items() if k not in long_lived}
        self.assertEqual({}, disagreements, self.result.summary())
        self.assertEqual([], [o for o in reconciliation.stuck if o not in long_lived])
        self.assertEqual(reconciliation.venue_fills, reconciliation.connector_fills)
        self.assertEqual([], reconciliation.missing_fills)

    def test_failed_status_requests_do_not_declare_live_orders_lost(self):
        """Hummingbot counts every failed status request of an order as "not found" and fails (then cancels) the
        order after the fourth; a 429 or 503 says nothing about the order."""
        self.assertEqual({}, self.details["declared_lost"], self.result.summary())


class DroppedOrderResponseTests(ScenarioTestCase):
    @classmethod
    def scenario(cls):
        return scenarios.dropped_order_response()

    def test_order_is_recovered_by_nonce_tracked_and_cancelled_without_duplicate(self):
        self.assertTrue(self.result.survived, self.result.summary())
        self.assertEqual(1, self.details["venue_rows"])
        self.assertTrue(self.details["cancelled"])


class CancelFillRaceTests(ScenarioTestCase):
    @classmethod
    def scenario(cls):
        return scenarios.cancel_fill_race()

    def check_round(self, label: str, venue: str, connector: str, refusals: int):
        rounds = self.details["rounds"]
        self.assertIn(label, rounds, self.result.summary())
        outcome = rounds[label]
        self.assertEqual((venue, connector), (outcome["venue"], outcome["connector"]), self.result.summary())
        self.assertEqual(refusals, outcome["3017"])
        self.assertEqual(outcome["venue_fills"], outcome["fill_events"])
        self.assertEqual([], self.problems_about(label))

    def test_fill_wins_at_the_venue_3017_then_final_state_fetched(self):
        self.check_round("fill wins at the venue", "FILLED", "FILLED", 1)

    def test_fill_wins_and_its_event_is_lost_3017_then_fill_fetched_once(self):
        self.check_round("fill wins, event lost", "FILLED", "FILLED", 1)

    def test_fill_and_cancel_in_the_same_loop_iteration(self):
        self.check_round("same loop iteration", "FILLED", "FILLED", 1)

    def test_cancel_wins_at_the_venue(self):
        self.check_round("cancel wins at the venue", "CANCELLED", "CANCELED", 0)


class ClockSkewTests(ScenarioTestCase):
    @classmethod
    def scenario(cls):
        return scenarios.clock_skew(offsets_ms=(3000, -3000), large_ms=15_000)

    def test_skew_of_plus_minus_3_s_is_within_the_recv_window(self):
        self.assertEqual("accepted", self.details["outcomes"]["+3s"], self.result.summary())
        self.assertEqual("accepted", self.details["outcomes"]["-3s"], self.result.summary())

    def test_skew_beyond_the_recv_window_fails_clearly_then_resyncs(self):
        self.assertEqual([], self.problems_about("15000"), self.result.summary())

    def test_nothing_stuck(self):
        self.assertEqual([], self.problems_about("stuck"), self.result.summary())


class PrivateDropUnderLoadTests(ScenarioTestCase):
    """5 orders/s on two pairs for 30 s (~150 orders fillable in Hummingbot's tracker), one private drop, 5 s more."""

    @classmethod
    def scenario(cls):
        return scenarios.reconnect_under_load()

    def test_the_gap_is_backfilled_within_15_s_of_the_last_order(self):
        """The reconnection poll reads ~150 fillable orders in 3 batched `GET /orders?id=a,b,…` (it used to make
        two requests per order through a 10/s limit and needed ~45 s)."""
        self.assertTrue(self.details["reconciliation"].consistent, self.result.summary())


if __name__ == "__main__":
    unittest.main()
