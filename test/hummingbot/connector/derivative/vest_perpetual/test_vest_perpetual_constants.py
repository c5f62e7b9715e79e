"""The constants module against the project's protocol notes (docs/vest-protocol.md §1, §3, §5, §6)."""
import ast
import asyncio
import os
import unittest
from typing import Dict, Set

from hummingbot.connector.derivative.vest_perpetual import vest_perpetual_constants as CONSTANTS
from hummingbot.core.api_throttler.async_throttler import AsyncThrottler
from hummingbot.core.data_type.in_flight_order import OrderState

# §6.6, copied from the table of Vest's "Error Codes" page.
DOCUMENTED_ERROR_CODES = {
    1002: "UNAUTHORIZED", 1003: "TOO_MANY_REQUESTS", 1022: "INVALID_SIGNATURE", 1023: "INVALID_NONCE",
    1024: "INVALID_NETWORK_TYPE", 1099: "ACCOUNT_NOT_FOUND",
    1111: "BAD_DECIMALS", 1116: "INVALID_ORDER_TYPE", 1121: "BAD_SYMBOL", 1125: "INVALID_LISTEN_KEY",
    1130: "INVALID_PARAMETER", 1131: "BAD_RECV_WINDOW", 1132: "ORDER_EXPIRED", 1133: "INVALID_TIME_IN_FORCE",
    1143: "INVALID_TRANSACTION", 1144: "ALREADY_USE_TRANSACTION", 1145: "INVALID_TP_SL_PRICE",
    1146: "INVALID_ACCOUNT_GROUP", 1147: "DECLINE_WITHDRAW_FROM_MOBILE", 1148: "MARKET_CLOSED",
    3001: "PRICE_CHECK_FAILED", 3002: "MARGIN_CHECK_FAILED", 3003: "PRICE_STALE", 3004: "ORDER_STALE",
    3006: "INCREASE_WITH_SL_TP", 3007: "INCREASE_DURING_INSOLVENCY", 3008: "DELETED_BY_LIQ",
    3010: "OI_CAP_EXCEEDED", 3011: "INVALID_LIMIT_PRICE", 3015: "DUPLICATE", 3017: "ORDER_NOT_FOUND",
    3018: "REDUCE_ONLY_INCREASES", 3019: "REDUCE_ONLY_EXCEEDS_SIZE", 3020: "ORDER_CHANGES_LEVERAGE",
    3021: "DECREASE_LEVERAGE_WITH_POSITION", 3022: "INVALID_TP_SL_PRICE", 3023: "BAD_SYMBOL",
    3024: "MARKET_CLOSED",
    4001: "LP_INSUFFICIENT_BALANCE", 4002: "LP_MARGIN_CHECK_FAILED", 4003: "LP_PRICE_STALE",
    4004: "LP_ORDER_STALE", 4007: "LP_WITHDRAW_WITHOUT_SHARES", 4010: "LP_DUPLICATE",
    4012: "LP_WITHDRAW_EXCEEDS_BALANCE",
    5002: "TRANSFER_MARGIN_CHECK_FAILED", 5009: "TRANSFER_WITHDRAW_CAP_EXCEEDED", 5010: "TRANSFER_DUPLICATE",
    5013: "TRANSFER_EXECUTION_FAILED",
}

# §6.5: the connector's per-second budgets, and the shared pool.
# The table of the protocol notes' rate-limit section (Vest publishes none).
DOCUMENTED_REQUESTS_PER_SECOND = {
    "/exchangeInfo": 10, "/ticker/latest": 10, "/trades": 10, "/depth": 10, "/account": 5, "/account/nonce": 5,
    "/account/leverage": 2, "/account/listenKey": 2, "/orders": 20, "GET /orders": 10, "/orders/cancel": 25,
}
DOCUMENTED_POOL_PER_SECOND = 30
HUMMINGBOT_STOP_TIMEOUT_SECONDS = 20
ORDERS_A_STOP_CANCELS = 300

LISTEN_KEY_LIFETIME_SECONDS = 3600  # §3.11


def _path_constants() -> Dict[str, str]:
    return {name: value for name, value in vars(CONSTANTS).items() if name.endswith("_PATH_URL")}


def _constants_the_connector_requests() -> Set[str]:
    """Names of the `*_PATH_URL` / `*_LIMIT_ID` constants the connector's other modules read (`CONSTANTS.X`)."""
    folder = os.path.dirname(os.path.abspath(CONSTANTS.__file__))
    names = set()
    for file_name in sorted(os.listdir(folder)):
        if not file_name.endswith(".py") or file_name == os.path.basename(CONSTANTS.__file__):
            continue
        with open(os.path.join(folder, file_name), encoding="utf-8") as source:
            tree = ast.parse(source.read())
        names.update(node.attr for node in ast.walk(tree)
                     if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                     and node.value.id == "CONSTANTS" and node.attr.endswith(("_PATH_URL", "_LIMIT_ID")))
    return names


class ErrorCodeTableTest(unittest.TestCase):
    def test_table_equals_documented_list(self):
        self.assertEqual(DOCUMENTED_ERROR_CODES, CONSTANTS.ERROR_CODES)

    def test_every_code_is_an_int_with_an_upper_snake_name(self):
        for code, name in CONSTANTS.ERROR_CODES.items():
            self.assertIsInstance(code, int)
            self.assertRegex(name, r"^[A-Z][A-Z_]+$")

    def test_named_codes_point_at_the_right_entries(self):
        expected = {
            CONSTANTS.ERROR_INVALID_LISTEN_KEY: "INVALID_LISTEN_KEY",
            CONSTANTS.ERROR_ORDER_NOT_FOUND: "ORDER_NOT_FOUND",
            CONSTANTS.ERROR_DECREASE_LEVERAGE_WITH_POSITION: "DECREASE_LEVERAGE_WITH_POSITION",
        }
        self.assertEqual(3, len(expected))
        for code, name in expected.items():
            self.assertEqual(name, CONSTANTS.ERROR_CODES[code])

    def test_time_sync_codes_are_order_expired_and_bad_recv_window(self):
        # §4.9 / §6.6: the two request-time errors a fresh clock offset can cure.
        self.assertEqual({"ORDER_EXPIRED", "BAD_RECV_WINDOW"},
                         {CONSTANTS.ERROR_CODES[code] for code in CONSTANTS.TIME_SYNC_ERROR_CODES})
        self.assertEqual(2, len(CONSTANTS.TIME_SYNC_ERROR_CODES))


class RateLimitTest(unittest.TestCase):
    def setUp(self):
        self.limits = {limit.limit_id: limit for limit in CONSTANTS.RATE_LIMITS}
        self.requested = _constants_the_connector_requests() - {"ALL_ENDPOINTS_LIMIT_ID"}

    def test_limit_ids_are_unique(self):
        self.assertEqual(len(self.limits), len(CONSTANTS.RATE_LIMITS))

    def test_the_table_follows_6_5(self):
        pool = self.limits.pop(CONSTANTS.ALL_ENDPOINTS_LIMIT_ID)
        self.assertEqual((DOCUMENTED_POOL_PER_SECOND, 1), (pool.limit, pool.time_interval))
        self.assertEqual(DOCUMENTED_REQUESTS_PER_SECOND,
                         {limit_id: limit.limit for limit_id, limit in self.limits.items()})
        for limit in self.limits.values():
            self.assertEqual(1, limit.time_interval, limit.limit_id)

    def test_a_stopping_bot_cancels_300_orders_and_reads_them_back_within_hummingbots_stop_timeout(self):
        cancels = self.limits[CONSTANTS.CANCEL_ORDER_PATH_URL].limit
        reads = self.limits[CONSTANTS.ORDERS_QUERY_LIMIT_ID].limit * CONSTANTS.ORDER_STATUS_BATCH_SIZE
        self.assertLess(ORDERS_A_STOP_CANCELS / cancels,
                        HUMMINGBOT_STOP_TIMEOUT_SECONDS - CONSTANTS.CANCEL_ALL_READ_BACK_SECONDS)
        self.assertLess(ORDERS_A_STOP_CANCELS / reads, CONSTANTS.CANCEL_ALL_READ_BACK_SECONDS)
        self.assertLessEqual(cancels, self.limits[CONSTANTS.ALL_ENDPOINTS_LIMIT_ID].limit)  # the pool lets them go

    def test_the_scan_finds_the_connectors_requests(self):
        # Guards the scan below: the order path, its query budget and the listen key are certainly requested.
        self.assertLessEqual({"ORDERS_PATH_URL", "ORDERS_QUERY_LIMIT_ID", "LISTEN_KEY_PATH_URL"}, self.requested)

    def test_every_path_the_connector_requests_has_a_limit_linked_to_the_pool(self):
        for name in sorted(self.requested):
            with self.subTest(name):
                limit_id = getattr(CONSTANTS, name)
                self.assertIn(limit_id, self.limits, f"{name} ({limit_id}) has no rate limit")
                self.assertEqual([(CONSTANTS.ALL_ENDPOINTS_LIMIT_ID, 1)],
                                 [(pair.limit_id, pair.weight) for pair in self.limits[limit_id].linked_limits])

    def test_no_limit_without_a_requested_path_or_the_orders_query(self):
        requested_ids = {getattr(CONSTANTS, name) for name in self.requested}
        for limit_id in self.limits:
            if limit_id != CONSTANTS.ALL_ENDPOINTS_LIMIT_ID:
                self.assertIn(limit_id, requested_ids)
        not_a_path = set(self.limits) - set(_path_constants().values()) - {CONSTANTS.ALL_ENDPOINTS_LIMIT_ID}
        self.assertEqual({CONSTANTS.ORDERS_QUERY_LIMIT_ID}, not_a_path)

    def test_every_path_constant_is_requested(self):
        self.assertEqual(set(_path_constants()), {name for name in self.requested if name.endswith("_PATH_URL")})

    def test_the_pool_stands_alone_and_is_not_the_bottleneck_of_one_path(self):
        pool = self.limits[CONSTANTS.ALL_ENDPOINTS_LIMIT_ID]
        self.assertEqual(CONSTANTS.ALL_ENDPOINTS_LIMIT, pool.limit)
        self.assertEqual([], list(pool.linked_limits or []))
        for limit in self.limits.values():
            self.assertGreater(limit.limit, 0)
        self.assertGreaterEqual(CONSTANTS.ALL_ENDPOINTS_LIMIT,
                                max(limit.limit / limit.time_interval for limit in self.limits.values()))

    def test_order_queries_have_their_own_budget(self):
        # A status poll (`GET /orders`) never spends the placement budget (`POST /orders`).
        self.assertNotEqual(CONSTANTS.ORDERS_PATH_URL, CONSTANTS.ORDERS_QUERY_LIMIT_ID)
        self.assertIn(CONSTANTS.ORDERS_QUERY_LIMIT_ID, self.limits)

    def test_throttler_resolves_every_limit_to_itself_plus_the_pool(self):
        async def acquire_all() -> AsyncThrottler:
            throttler = AsyncThrottler(CONSTANTS.RATE_LIMITS)
            for limit_id in DOCUMENTED_REQUESTS_PER_SECOND:
                async with throttler.execute_task(limit_id=limit_id):
                    pass
            return throttler

        throttler = asyncio.run(asyncio.wait_for(acquire_all(), timeout=5))  # each acquired without waiting
        for limit_id in DOCUMENTED_REQUESTS_PER_SECOND:
            rate_limit, related = throttler.get_related_limits(limit_id)
            self.assertEqual(limit_id, rate_limit.limit_id)
            self.assertEqual([(CONSTANTS.ALL_ENDPOINTS_LIMIT_ID, 1)],
                             [(limit.limit_id, weight) for limit, weight in related])


class EnumAndTimingTest(unittest.TestCase):
    def test_order_state_mapping_follows_6_1(self):
        self.assertEqual({
            "NEW": OrderState.OPEN,
            "PARTIALLY_FILLED": OrderState.PARTIALLY_FILLED,
            "FILLED": OrderState.FILLED,
            "CANCELLED": OrderState.CANCELED,  # double L (§6.1)
            "REJECTED": OrderState.FAILED,
        }, CONSTANTS.ORDER_STATE)
        self.assertEqual(OrderState.FILLED, CONSTANTS.ORDER_STATE[CONSTANTS.ORDER_STATUS_FILLED])
        self.assertEqual(OrderState.PARTIALLY_FILLED,
                         CONSTANTS.ORDER_STATE[CONSTANTS.ORDER_STATUS_PARTIALLY_FILLED])

    def test_enum_spellings(self):
        self.assertEqual(("MARKET", "LIMIT"), (CONSTANTS.ORDER_TYPE_MARKET, CONSTANTS.ORDER_TYPE_LIMIT))
        self.assertEqual("GTC", CONSTANTS.TIME_IN_FORCE_GTC)
        self.assertEqual(("TRADING", "HALT"), (CONSTANTS.SYMBOL_STATUS_TRADING, CONSTANTS.SYMBOL_STATUS_HALT))

    def test_ws_names_follow_5_2_to_5_4(self):
        self.assertEqual(("PING", "PONG", "SUBSCRIBE", "UNSUBSCRIBE"),
                         (CONSTANTS.WS_PING_METHOD, CONSTANTS.WS_PONG_DATA, CONSTANTS.WS_SUBSCRIBE_METHOD,
                          CONSTANTS.WS_UNSUBSCRIBE_METHOD))
        self.assertEqual("tickers", CONSTANTS.WS_TICKERS_CHANNEL)
        self.assertEqual("BTC-PERP@depth", "BTC-PERP" + CONSTANTS.WS_DEPTH_CHANNEL_SUFFIX)
        self.assertEqual("BTC-PERP@trades", "BTC-PERP" + CONSTANTS.WS_TRADES_CHANNEL_SUFFIX)
        self.assertEqual("account_private", CONSTANTS.WS_ACCOUNT_PRIVATE_CHANNEL)
        self.assertEqual({"ORDER", "LP", "TRANSFER"}, set(CONSTANTS.WS_ACCOUNT_EVENTS))
        self.assertIn(CONSTANTS.WS_EVENT_ORDER, CONSTANTS.WS_ACCOUNT_EVENTS)

    def test_listen_key_refresh_happens_well_before_expiry(self):
        self.assertLess(CONSTANTS.LISTEN_KEY_KEEP_ALIVE_INTERVAL, LISTEN_KEY_LIFETIME_SECONDS)
        self.assertEqual(LISTEN_KEY_LIFETIME_SECONDS, CONSTANTS.LISTEN_KEY_LIFETIME_SECONDS)
        # A failed refresh is retried many times before the key has only its margin left.
        room = (LISTEN_KEY_LIFETIME_SECONDS - CONSTANTS.LISTEN_KEY_KEEP_ALIVE_INTERVAL
                - CONSTANTS.LISTEN_KEY_EXPIRY_MARGIN_SECONDS)
        self.assertGreater(room / CONSTANTS.LISTEN_KEY_RETRY_DELAY, 100)

    def test_ws_timings(self):
        self.assertTrue(20 <= CONSTANTS.WS_PING_INTERVAL <= 30)  # §5.2
        self.assertGreater(CONSTANTS.WS_HEARTBEAT_INTERVAL, CONSTANTS.WS_PING_INTERVAL)
        # §5.1: back-off from 1 s to 30 s.
        self.assertEqual((1.0, 30.0), (CONSTANTS.WS_RECONNECT_DELAY_INITIAL, CONSTANTS.WS_RECONNECT_DELAY_MAX))

    def test_recv_window_within_client_practice(self):
        self.assertTrue(5_000 <= CONSTANTS.RECV_WINDOW_MS <= 60_000)  # §4.9

    def test_depth_limit_is_the_documented_maximum(self):
        self.assertEqual(100, CONSTANTS.DEPTH_LIMIT)  # §2.7

    def test_order_polling_and_lookup(self):
        # §3.8: one status poll reads at most 1000 rows; 50 ids of 66 characters keep the URL near 3.3 kB.
        self.assertTrue(1 <= CONSTANTS.ORDER_STATUS_BATCH_SIZE <= 1000)
        self.assertLess(CONSTANTS.ORDER_STATUS_BATCH_SIZE * 67, 8 * 1024)
        # §3.6: a lost answer is looked up 4 times from 0.5 s, doubling.
        self.assertEqual((4, 0.5), (CONSTANTS.ORDER_LOOKUP_ATTEMPTS, CONSTANTS.ORDER_LOOKUP_INITIAL_DELAY))
        self.assertGreater(CONSTANTS.ACCOUNT_REUSE_SECONDS, 0)

    def test_client_order_id_fits_hummingbots_limit(self):
        # §3.6: the prefix plus the nonce; even a 20-digit nonce fits.
        self.assertEqual("vest-", CONSTANTS.CLIENT_ORDER_ID_PREFIX)
        longest = CONSTANTS.CLIENT_ORDER_ID_PREFIX + str(2 ** 64)
        self.assertLessEqual(len(longest), CONSTANTS.CLIENT_ORDER_ID_MAX_LENGTH)

    def test_fees_funding_and_collateral(self):
        self.assertEqual(3600, CONSTANTS.FUNDING_RATE_INTERVAL_SECONDS)  # §6.3: quoted per hour
        self.assertEqual(120, CONSTANTS.FUNDING_PAYMENT_POLL_INTERVAL)  # §6.3
        self.assertEqual("USDC", CONSTANTS.COLLATERAL_TOKEN)  # §1.5


class EnvironmentTest(unittest.TestCase):
    def test_hosts_follow_1_1_and_1_2(self):
        self.assertEqual("https://server-prod.hz.vestmarkets.com/v2", CONSTANTS.REST_URLS[CONSTANTS.DOMAIN])
        self.assertEqual("https://server-dev.hz.vestmarkets.com/v2", CONSTANTS.REST_URLS[CONSTANTS.TESTNET_DOMAIN])
        self.assertEqual("wss://ws-prod.hz.vestmarkets.com/ws-api", CONSTANTS.WS_URLS[CONSTANTS.DOMAIN])
        self.assertEqual("wss://ws-dev.hz.vestmarkets.com/ws-api", CONSTANTS.WS_URLS[CONSTANTS.TESTNET_DOMAIN])

    def test_every_table_covers_both_domains(self):
        self.assertEqual(("vest_perpetual", "vest_perpetual_testnet"), (CONSTANTS.DOMAIN, CONSTANTS.TESTNET_DOMAIN))
        for table in (CONSTANTS.REST_URLS, CONSTANTS.WS_URLS):
            self.assertEqual({CONSTANTS.DOMAIN, CONSTANTS.TESTNET_DOMAIN}, set(table))

    def test_override_variable_names(self):
        self.assertEqual(("VEST_PERPETUAL_REST_URL", "VEST_PERPETUAL_WS_URL"),
                         (CONSTANTS.REST_URL_ENV_VAR, CONSTANTS.WS_URL_ENV_VAR))

    def test_routing_names_follow_1_2_1_3_and_3_1(self):
        self.assertEqual("xrestservermm", CONSTANTS.ACCOUNT_GROUP_HEADER)
        self.assertEqual("restserver", CONSTANTS.ACCOUNT_GROUP_VALUE_PREFIX)
        self.assertEqual("X-API-KEY", CONSTANTS.API_KEY_HEADER)
        self.assertEqual({"xwebsocketserver", "websocketserver"}, set(CONSTANTS.WS_ACCOUNT_GROUP_PARAMS))
        self.assertEqual("1.0", CONSTANTS.WS_VERSION)
        self.assertEqual(0, CONSTANTS.PUBLIC_ACCOUNT_GROUP)

    def test_paths_are_relative_to_v2(self):
        paths = _path_constants()
        self.assertEqual(10, len(paths))
        for path in paths.values():
            self.assertTrue(path.startswith("/") and not path.startswith("/v2"), path)
