"""The constants module against the protocol reference (vest-api.md §1, §3, §5.1, §6)."""
import asyncio
import unittest

from eth_utils import is_checksum_address

from hummingbot.connector.derivative.vest_perpetual import vest_perpetual_constants as CONSTANTS
from hummingbot.core.api_throttler.async_throttler import AsyncThrottler
from hummingbot.core.data_type.in_flight_order import OrderState

# §6.6, copied from the reference table (newest doc D1).
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

# §5.1
DOCUMENTED_CLOSE_CODES = {
    1011: "INTERNAL_ERROR", 1012: "SERVICE_RESTART", 4000: "WRONG_VERSION", 4001: "ACCOUNT_GROUP_NOT_FOUND",
    4002: "ACCOUNT_GROUP_INVALID", 4003: "LISTEN_KEY_REQUIRED", 4004: "LISTEN_KEY_NOT_FOUND",
    4005: "LISTEN_KEY_EXPIRED",
}


def _path_constants():
    return {name: value for name, value in vars(CONSTANTS).items() if name.endswith("_PATH_URL")}


class ErrorCodeTableTest(unittest.TestCase):
    def test_table_equals_documented_list(self):
        self.assertEqual(DOCUMENTED_ERROR_CODES, CONSTANTS.ERROR_CODES)

    def test_every_code_is_an_int_with_an_upper_snake_name(self):
        for code, name in CONSTANTS.ERROR_CODES.items():
            self.assertIsInstance(code, int)
            self.assertRegex(name, r"^[A-Z][A-Z_]+$")

    def test_named_codes_point_at_the_right_entries(self):
        expected = {
            CONSTANTS.ERROR_UNAUTHORIZED: "UNAUTHORIZED",
            CONSTANTS.ERROR_TOO_MANY_REQUESTS: "TOO_MANY_REQUESTS",
            CONSTANTS.ERROR_INVALID_SIGNATURE: "INVALID_SIGNATURE",
            CONSTANTS.ERROR_INVALID_NONCE: "INVALID_NONCE",
            CONSTANTS.ERROR_INVALID_LISTEN_KEY: "INVALID_LISTEN_KEY",
            CONSTANTS.ERROR_ORDER_EXPIRED: "ORDER_EXPIRED",
            CONSTANTS.ERROR_BAD_RECV_WINDOW: "BAD_RECV_WINDOW",
            CONSTANTS.ERROR_DUPLICATE: "DUPLICATE",
            CONSTANTS.ERROR_ORDER_NOT_FOUND: "ORDER_NOT_FOUND",
            CONSTANTS.ERROR_DECREASE_LEVERAGE_WITH_POSITION: "DECREASE_LEVERAGE_WITH_POSITION",
        }
        for code, name in expected.items():
            self.assertEqual(name, CONSTANTS.ERROR_CODES[code])

    def test_error_families_are_subsets_of_the_table(self):
        self.assertEqual({3017}, set(CONSTANTS.ORDER_NOT_FOUND_ERROR_CODES))
        self.assertEqual({1131, 1132}, set(CONSTANTS.TIME_SYNC_ERROR_CODES))
        for family in (CONSTANTS.ORDER_NOT_FOUND_ERROR_CODES, CONSTANTS.TIME_SYNC_ERROR_CODES):
            self.assertTrue(set(family) <= set(CONSTANTS.ERROR_CODES))


class CloseCodeTest(unittest.TestCase):
    def test_close_codes_equal_documented_list(self):
        self.assertEqual(DOCUMENTED_CLOSE_CODES, CONSTANTS.WS_CLOSE_CODES)

    def test_listen_key_closes_are_exactly_the_listen_key_codes(self):
        listen_key_codes = {code for code, name in CONSTANTS.WS_CLOSE_CODES.items() if "LISTEN_KEY" in name}
        self.assertEqual(listen_key_codes, set(CONSTANTS.WS_CLOSE_CODES_NEW_LISTEN_KEY))


class RateLimitTest(unittest.TestCase):
    def setUp(self):
        self.limits = {limit.limit_id: limit for limit in CONSTANTS.RATE_LIMITS}

    def test_limit_ids_are_unique(self):
        self.assertEqual(len(self.limits), len(CONSTANTS.RATE_LIMITS))

    def test_every_path_constant_is_a_limit_id(self):
        paths = _path_constants()
        self.assertGreaterEqual(len(paths), 17)
        for name, path in paths.items():
            self.assertIn(path, self.limits, f"{name} ({path}) has no rate limit")

    def test_every_limit_but_the_pool_is_a_path_or_the_order_query_linked_to_the_pool(self):
        pool = self.limits[CONSTANTS.ALL_ENDPOINTS_LIMIT_ID]
        self.assertEqual(CONSTANTS.ALL_ENDPOINTS_LIMIT, pool.limit)
        self.assertEqual([], list(pool.linked_limits or []))
        paths = set(_path_constants().values()) | {CONSTANTS.ORDERS_QUERY_LIMIT_ID}
        for limit_id, limit in self.limits.items():
            if limit_id == CONSTANTS.ALL_ENDPOINTS_LIMIT_ID:
                continue
            self.assertIn(limit_id, paths)
            self.assertEqual([(CONSTANTS.ALL_ENDPOINTS_LIMIT_ID, 1)],
                             [(pair.limit_id, pair.weight) for pair in limit.linked_limits])

    def test_limits_are_positive_and_the_pool_is_not_the_bottleneck_of_one_path(self):
        for limit in self.limits.values():
            self.assertGreater(limit.limit, 0)
            self.assertGreater(limit.time_interval, 0)
        per_second = [limit.limit / limit.time_interval for limit in self.limits.values()]
        self.assertGreaterEqual(CONSTANTS.ALL_ENDPOINTS_LIMIT, max(per_second))

    def test_register_is_the_most_restricted_call(self):
        register = self.limits[CONSTANTS.REGISTER_PATH_URL]
        self.assertEqual(min(limit.limit / limit.time_interval for limit in self.limits.values()),
                         register.limit / register.time_interval)

    def test_throttler_resolves_every_path_to_itself_plus_the_pool(self):
        async def acquire_all():
            throttler = AsyncThrottler(CONSTANTS.RATE_LIMITS)
            for path in _path_constants().values():
                async with throttler.execute_task(limit_id=path):
                    pass
            return throttler

        throttler = asyncio.run(acquire_all())  # every path can be acquired without blocking
        for path in _path_constants().values():
            rate_limit, related = throttler.get_related_limits(path)
            self.assertEqual(path, rate_limit.limit_id)
            self.assertEqual([(CONSTANTS.ALL_ENDPOINTS_LIMIT_ID, 1)],
                             [(limit.limit_id, weight) for limit, weight in related])


class EnumAndTimingTest(unittest.TestCase):
    def test_order_state_mapping_follows_6_1(self):
        self.assertEqual({
            "NEW": OrderState.OPEN,
            "PARTIALLY_FILLED": OrderState.PARTIALLY_FILLED,
            "FILLED": OrderState.FILLED,
            "CANCELLED": OrderState.CANCELED,
            "REJECTED": OrderState.FAILED,
        }, CONSTANTS.ORDER_STATE)

    def test_enum_spellings(self):
        self.assertEqual("CANCELLED", CONSTANTS.ORDER_STATUS_CANCELLED)  # double L (§6.1)
        self.assertEqual({"MARKET", "LIMIT", "STOP_LOSS", "TAKE_PROFIT", "LIQUIDATION"},
                         {CONSTANTS.ORDER_TYPE_MARKET, CONSTANTS.ORDER_TYPE_LIMIT, CONSTANTS.ORDER_TYPE_STOP_LOSS,
                          CONSTANTS.ORDER_TYPE_TAKE_PROFIT, CONSTANTS.ORDER_TYPE_LIQUIDATION})
        self.assertEqual(("GTC", "FOK"), (CONSTANTS.TIME_IN_FORCE_GTC, CONSTANTS.TIME_IN_FORCE_FOK))
        self.assertEqual(("TRADING", "HALT"), (CONSTANTS.SYMBOL_STATUS_TRADING, CONSTANTS.SYMBOL_STATUS_HALT))

    def test_listen_key_refresh_happens_well_before_expiry(self):
        self.assertEqual(3600, CONSTANTS.LISTEN_KEY_LIFETIME_SECONDS)  # §3.11
        self.assertLess(CONSTANTS.LISTEN_KEY_KEEP_ALIVE_INTERVAL, CONSTANTS.LISTEN_KEY_LIFETIME_SECONDS)
        # Even after every retry the key is refreshed before it expires.
        worst_case = (CONSTANTS.LISTEN_KEY_KEEP_ALIVE_INTERVAL
                      + CONSTANTS.LISTEN_KEY_KEEP_ALIVE_RETRIES * CONSTANTS.LISTEN_KEY_RETRY_DELAY)
        self.assertLess(worst_case, CONSTANTS.LISTEN_KEY_LIFETIME_SECONDS)

    def test_ws_timings(self):
        self.assertTrue(20 <= CONSTANTS.WS_PING_INTERVAL <= 30)  # §5.2
        self.assertLess(CONSTANTS.WS_RECONNECT_DELAY_INITIAL, CONSTANTS.WS_RECONNECT_DELAY_MAX)

    def test_recv_window_within_client_practice(self):
        self.assertTrue(5_000 <= CONSTANTS.RECV_WINDOW_MS <= 60_000)  # §4.9

    def test_depth_limit_within_documented_maximum(self):
        self.assertLessEqual(CONSTANTS.DEPTH_LIMIT_DEFAULT, CONSTANTS.DEPTH_LIMIT_MAX)
        self.assertEqual(100, CONSTANTS.DEPTH_LIMIT_MAX)  # §2.7


class EnvironmentTest(unittest.TestCase):
    def test_hosts_follow_1_1_and_1_2(self):
        self.assertEqual("https://server-prod.hz.vestmarkets.com/v2", CONSTANTS.REST_URLS[CONSTANTS.DOMAIN])
        self.assertEqual("https://server-dev.hz.vestmarkets.com/v2", CONSTANTS.REST_URLS[CONSTANTS.TESTNET_DOMAIN])
        self.assertEqual("wss://ws-prod.hz.vestmarkets.com/ws-api", CONSTANTS.WS_URLS[CONSTANTS.DOMAIN])
        self.assertEqual("wss://ws-dev.hz.vestmarkets.com/ws-api", CONSTANTS.WS_URLS[CONSTANTS.TESTNET_DOMAIN])

    def test_every_table_covers_both_domains(self):
        domains = {CONSTANTS.DOMAIN, CONSTANTS.TESTNET_DOMAIN}
        for table in (CONSTANTS.REST_URLS, CONSTANTS.WS_URLS, CONSTANTS.ROUTER_ADDRESSES):
            self.assertEqual(domains, set(table))

    def test_router_addresses_follow_1_4(self):
        self.assertEqual("0x919386306C47b2Fe1036e3B4F7C40D22D2461a23", CONSTANTS.ROUTER_ADDRESSES["vest_perpetual"])
        self.assertEqual("0x8E4D87AEf4AC4D5415C35A12319013e34223825B",
                         CONSTANTS.ROUTER_ADDRESSES["vest_perpetual_testnet"])
        for address in CONSTANTS.ROUTER_ADDRESSES.values():
            self.assertTrue(is_checksum_address(address))

    def test_eip712_domain_and_routing_names(self):
        self.assertEqual(("VestRouterV2", "0.0.1"), (CONSTANTS.EIP712_DOMAIN_NAME, CONSTANTS.EIP712_DOMAIN_VERSION))
        self.assertEqual(0, CONSTANTS.NETWORK_TYPE_EVM)
        self.assertEqual("xrestservermm", CONSTANTS.ACCOUNT_GROUP_HEADER)
        self.assertEqual("X-API-KEY", CONSTANTS.API_KEY_HEADER)
        self.assertEqual({"xwebsocketserver", "websocketserver"}, set(CONSTANTS.WS_ACCOUNT_GROUP_PARAMS))
        self.assertEqual("1.0", CONSTANTS.WS_VERSION)
        self.assertTrue(1 <= CONSTANTS.SIGNER_EXPIRY_DAYS <= 30)

    def test_paths_are_relative_to_v2(self):
        for path in _path_constants().values():
            self.assertTrue(path.startswith("/") and not path.startswith("/v2"), path)
