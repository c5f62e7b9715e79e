"""Smoke test of the benchmark suite: every benchmark function runs with tiny sizes and returns its numbers,
and the runner builds its table and exit code. No timing is asserted here; `bench/run.py` does that."""
import math
import unittest

from bench import bench_connector as bc, bench_peers as bp, bench_scale as bs, run


class BenchmarkFunctionsSmokeTest(unittest.TestCase):
    def assert_positive(self, result, *keys):
        for key in keys:
            self.assertIn(key, result)
            self.assertTrue(math.isfinite(result[key]) and result[key] > 0, f"{key} = {result[key]}")

    def test_sign(self):
        result = bc.bench_sign(iterations=64, peer_iterations=2, repeats=1)
        self.assert_positive(result, "sign_us", "signature_us", "floor_us", "peer_us")

    def test_eth_account_peer_signs_like_the_connector(self):
        action = bc._order_actions(1)[0]
        auth = bc.VestPerpetualAuth(api_key="", signing_private_key=bc.CONNECTOR_KEY)
        expected = bc.eth_account_sign(action, bc.CONNECTOR_KEY)
        self.assertEqual(expected, auth.signed_body(action)["signature"])
        self.assertEqual(expected, bc.SigningKey(bc.CONNECTOR_KEY).sign_personal(bc.action_digest(action)))

    def test_depth(self):
        result = bc.bench_depth(messages=20, repeats=1)
        self.assert_positive(result, "depth_us", "json_us", "depth_per_s", "json_per_s", "stage_route_us",
                             "stage_parse_us", "stage_rows_us", "stage_apply_us")

    def test_market_frames_are_hub_shaped(self):
        depth, trades, pair_by_symbol = bc.market_frames(3, 2, levels=5)
        self.assertEqual((3, 2), (len(depth), len(trades)))
        message = bc.json.loads(depth[0])
        self.assertTrue(message["channel"].endswith("@depth"))
        self.assertEqual(5, len(message["data"]["bids"]))
        self.assertIn(message["channel"].split("@")[0], pair_by_symbol)

    def test_depth_pipeline(self):
        self.assert_positive(bc.bench_depth_pipeline(messages=200), "pipeline_per_s", "pipeline_us")

    def test_memory(self):
        result = bc.bench_memory(messages=200, warmup=50)
        self.assertIn("rss_growth_mb", result)
        self.assert_positive(result, "rss_before_mb", "memory_msgs_per_s")

    def test_round_trip(self):
        self.assert_positive(bc.bench_round_trip(samples=2, pace_s=0.0, warmup=0), "order_ms", "bare_ms",
                             "order_p90_ms", "bare_p90_ms")

    def test_ready(self):
        result = bc.bench_ready(pairs=1, timeout_s=20)
        self.assert_positive(result, "ready_s", "status_order_books_initialized_s")

    def test_simulator_benchmark_is_included(self):
        result = run.simulator_benchmark(orders=10, concurrency=2)
        self.assert_positive(result, "sim_startup_s", "sim_console_startup_s", "sim_orders_per_s")

    def test_scale_session(self):
        result = bs.bench_scale(symbols=2, orders=4, market_seconds=0.5)
        self.assert_positive(result, "ready_s", "lag_samples", "cpu_per_s", "floor_cpu_per_s", "burst_ack_s",
                             "cancel_s", "requests_total")
        self.assertEqual(4, result["burst_open"])  # every resting order reached the venue
        self.assertEqual(0, result["cancel_left_open"])
        self.assertEqual(1.0, result["books_live_share"])

    def test_the_venue_enforces_the_connectors_declared_limits(self):
        rules = bs.venue_rate_limits()
        declared = {limit.limit_id: [limit.limit, float(limit.time_interval)] for limit in bs.CONSTANTS.RATE_LIMITS}
        self.assertEqual(declared[bs.CONSTANTS.ALL_ENDPOINTS_LIMIT_ID], rules["*"])
        self.assertEqual(declared[bs.CONSTANTS.ORDERS_PATH_URL], rules["POST /orders"])
        self.assertEqual(declared["GET /orders"], rules["GET /orders"])  # its own limit, not the placement's

    def test_peer_depth_sign_and_round_trip(self):
        depth = bp.bench_peer_depth(messages=20, repeats=1)
        self.assert_positive(depth, "depth_vest_us", *(f"depth_{peer}_us" for peer in bp.DEPTH_PEERS
                                                       if bp.missing_import(peer, "api_order_book_data_source")
                                                       is None))
        self.assert_positive(bp.bench_peer_sign(iterations=64, peer_iterations=64, repeats=1), "sign_vest_us")
        round_trip = bp.bench_peer_round_trip(samples=2, pace_s=0.0, warmup=0)
        self.assert_positive(round_trip, "rt_vest_us", "rt_bare_us", "rt_vest_over_bare")

    def test_machine_notes(self):
        notes = bc.machine_notes()
        self.assertTrue({"cpu", "python", "hummingbot", "date", "load"} <= set(notes))


class RunnerSmokeTest(unittest.TestCase):
    def test_every_row_reads_a_known_benchmark(self):
        names = {benchmark.name for benchmark in run.BENCHMARKS}
        self.assertTrue(all(row.benchmark in names for row in run.ROWS))

    def test_medians_ratio_and_bar(self):
        row = next(r for r in run.ROWS if r.benchmark == "sign" and r.passes is not None)
        runs = [{"sign_us": 40.0, "floor_us": 30.0}, {"sign_us": 90.0, "floor_us": 30.0},
                {"sign_us": 44.0, "floor_us": 31.0}]
        line = run.summarize(row, runs)
        self.assertEqual("44.0 µs", line.measured)
        self.assertEqual("1.42x", line.ratio)  # the median of the per-run ratios 1.33, 3.00, 1.42
        self.assertEqual(("yes", False), (line.ok, line.failed))
        missed = run.summarize(row, [{"sign_us": 90.0, "floor_us": 30.0}])
        self.assertEqual(("NO", True), (missed.ok, missed.failed))

    def test_a_broken_benchmark_is_a_failed_row(self):
        row = next(r for r in run.ROWS if r.benchmark == "ready" and r.passes is not None)
        line = run.summarize(row, [], error="TimeoutError: x")
        self.assertTrue(line.failed)
        self.assertIn("ready", run.render([line], bc.machine_notes(), 1, 0.0))

    def test_main_prints_one_table_and_honours_no_fail(self):
        self.assertEqual(0, run.main(["--only", "sign", "--quick", "--runs", "1", "--no-fail", "--quiet"]))
