"""Parsers on the documented shapes of docs/vest-protocol.md §2, §3 and §5, and their failure mode: every single
field of every documented payload damaged in turn must give a VestMessageError, never another exception.

Randomised (property-based) versions of these checks live outside Hummingbot's tree, with the project's own tests.
"""
import copy
import gc
import json
import unittest
from decimal import Decimal

import brotli

from hummingbot.connector.derivative.vest_perpetual import vest_perpetual_messages as messages
from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_messages import VestAPIError, VestMessageError
from hummingbot.core.data_type.common import TradeType
from hummingbot.core.data_type.in_flight_order import OrderState
from hummingbot.core.data_type.order_book_row import OrderBookRow

# ------------------------------------------------------------------------------------------------------------------
# Documented shapes
# ------------------------------------------------------------------------------------------------------------------
ETH_ROW = {"symbol": "ETH-PERP", "displayName": "ETH-PERP", "base": "ETH", "quote": "USDC", "sizeDecimals": 3,
           "priceDecimals": 2, "initMarginRatio": "0.05", "maintMarginRatio": "0.025", "takerFee": "0.0001",
           "isolated": False}
BTC_ROW = {"symbol": "BTC-PERP", "displayName": "BTC-PERP", "base": "BTC", "quote": "USDC", "sizeDecimals": 4,
           "priceDecimals": 1, "initMarginRatio": "0.02", "maintMarginRatio": "0.01", "takerFee": "0.0001",
           "isolated": False, "asset": "crypto", "tradingStatus": "TRADING"}
BONK_ROW = {"symbol": "kBONK-PERP", "displayName": "kBONK-PERP", "base": "kBONK", "quote": "USDC",
            "sizeDecimals": 0, "priceDecimals": 6, "initMarginRatio": "0.3", "maintMarginRatio": "0.15",
            "takerFee": "0.0001", "isolated": True, "asset": "crypto", "tradingStatus": "TRADING"}
AAPL_ROW = {"symbol": "AAPL-USD-PERP", "displayName": "Apple Inc.", "base": "AAPL", "quote": "USD",
            "sizeDecimals": 2, "priceDecimals": 2, "initMarginRatio": "0.1", "maintMarginRatio": "0.05",
            "takerFee": "0.0001", "isolated": True, "asset": "stock", "tradingStatus": "HALT"}
EXCHANGE_INFO = {"symbols": [ETH_ROW, BTC_ROW, BONK_ROW, AAPL_ROW],
                 "exchange": {"lp": "250000.000000", "insurance": "50000.000000", "collateralDecimals": 6}}

TICKERS_REST = {"tickers": [{"symbol": "BTC-PERP", "markPrice": "64000.12", "indexPrice": "63990.00",
                             "imbalance": "12.5", "oneHrFundingRate": "0.000012", "cumFunding": "153.2211",
                             "status": "TRADING"}]}
TICKERS_WS = [{"symbol": "ETH-PERP", "oneHrFundingRate": "-0.000003", "cumFunding": "-2.5", "imbalance": "-3.1",
               "indexPrice": "3200.10", "markPrice": "3200.55", "priceChange": "12.3", "priceChangePercent": "0.38",
               "status": "HALT"}]
DEPTH = {"bids": [["64000.10", "0.5000"], ["63999.00", "1.2000"]], "asks": [["64001.20", "0.4000"]]}
TRADE_REST = {"id": 28457, "price": "64000.50", "qty": "-0.0100", "quoteQty": "-640.005000", "time": 1700000000123}
TRADE_WS = {"id": "0x9a1f", "price": "64000.50", "qty": "0.0100", "quoteQty": "640.005000", "time": 1700000000456}

ORDER_REST = {"id": "0x5f01", "nonce": 1700000000000, "symbol": "BTC-PERP", "isBuy": True, "orderType": "LIMIT",
              "limitPrice": "30000.00", "markPrice": "30010.00", "size": "0.0100", "status": "FILLED",
              "reduceOnly": False, "initMarginRatio": "0.0500", "code": None, "lastFilledSize": "0.0100",
              "lastFilledPrice": "29999.50", "lastFilledTime": 1700000000900, "avgFilledPrice": "29999.50",
              "settledFunding": "0.001", "fees": "0.030000", "realizedPnl": "-0.029", "postTime": 1700000000050,
              "tpPrice": None, "slPrice": None}
ORDER_NEW = {"id": "0x5f02", "symbol": "BTC-PERP", "isBuy": False, "orderType": "MARKET", "limitPrice": "29000.00",
             "size": "0.0200", "reduceOnly": True, "initMarginRatio": "0.0500", "status": "NEW",
             "postTime": 1700000000050, "nonce": 1700000000001}
ORDER_FILLED = {**ORDER_NEW, "status": "FILLED", "lastFilledSize": "0.0200", "lastFilledPrice": "29500.25",
                "lastFilledTime": 1700000001000, "avgFilledPrice": "29500.25", "cumFunding": "-0.0042",
                "fees": "0.059001"}
ORDER_CANCELLED = {"id": "0x5f03", "status": "CANCELLED", "postTime": 1700000002000, "nonce": 1700000000002}
ORDER_REJECTED = {"id": "0x5f04", "status": "REJECTED", "code": 3010, "postTime": 1700000003000,
                  "nonce": 1700000000003}
ACCOUNT = {
    "address": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
    "balances": [{"asset": "USDC", "total": "1000.500000", "locked": "10.000000"}],
    "collateral": "1000.500000", "withdrawable": "900.250000", "totalAccountValue": "1005.000000",
    "openOrderMargin": "10.000000", "totalMaintMargin": "5.000000",
    "positions": [
        {"symbol": "BTC-PERP", "isLong": True, "size": "0.0100", "entryPrice": "30000.00", "entryFunding": "150.1",
         "unrealizedPnl": "4.50", "settledFunding": "0.01", "markPrice": "30450.00", "indexPrice": "30440.00",
         "liqPrice": "15000.00", "initMargin": "6.0", "maintMargin": "3.0", "initMarginRatio": "0.02"},
        {"symbol": "ETH-PERP", "isLong": False, "size": "0.000", "entryPrice": "0", "entryFunding": "0",
         "unrealizedPnl": "0", "settledFunding": "0", "markPrice": "3200", "indexPrice": "3200", "liqPrice": "0",
         "initMargin": "0", "maintMargin": "0", "initMarginRatio": "0.05"},
        {"symbol": "SOL-PERP", "isLong": False, "size": "-2.5", "entryPrice": "150.00", "entryFunding": "1",
         "unrealizedPnl": None, "settledFunding": None, "markPrice": None, "indexPrice": "149", "liqPrice": "300",
         "initMargin": "37.5", "maintMargin": "18.75", "initMarginRatio": "0.1"},
    ],
    "leverages": [{"symbol": "BTC-PERP", "value": 20}, {"symbol": "ETH-PERP", "value": 10}],
    "lp": {"balance": "0", "shares": "0", "unrealizedPnl": "0"},
    "time": 1700000000999, "twitterUsername": None, "discordUsername": None,
}
ERROR_422 = {"detail": [{"type": "missing", "loc": ["query", "time"], "msg": "Field required", "input": None}]}
ACCOUNT_EVENT_ORDER = {"event": "ORDER", "args": ORDER_NEW}
ACCOUNT_EVENT_LP = {"event": "LP", "args": {"id": "0x1", "size": "100", "orderType": "DEPOSIT", "status": "FILLED",
                                            "code": None, "postTime": 1, "nonce": 2}}
ACCOUNT_EVENT_TRANSFER = {"event": "TRANSFER", "args": {"id": "0x2", "size": "5", "orderType": "WITHDRAW",
                                                        "status": "FILLED", "code": None, "chainId": 8453,
                                                        "postTime": 1, "nonce": 3}}


class FrameTest(unittest.TestCase):
    def test_decoded_objects_pass_through(self):
        payload = {"channel": "tickers", "data": []}
        self.assertIs(payload, messages.decode_frame(payload))
        rows = [1, 2]
        self.assertIs(rows, messages.decode_frame(rows))

    def test_text_and_binary_frames(self):
        payload = {"channel": "BTC-PERP@depth", "data": DEPTH, "note": "prix €"}
        text = json.dumps(payload, ensure_ascii=False)
        self.assertEqual(payload, messages.decode_frame(text))
        self.assertEqual(payload, messages.decode_frame(text.encode("utf-8")))
        self.assertEqual(payload, messages.decode_frame(bytearray(text.encode("utf-8"))))
        self.assertEqual(payload, messages.decode_frame(brotli.compress(text.encode("utf-8"))))

    def test_bad_frames(self):
        for frame in (b"\x00\xff\xfe\x80garbage", "not json", b"not json either",
                      brotli.compress(b"plain text, not JSON"), brotli.compress(b"\xff\xfe\x00"), 42, None):
            with self.assertRaises(VestMessageError):
                messages.decode_frame(frame)

    def test_a_push_in_every_frame_form_gives_channel_and_data(self):
        payload = {"channel": "BTC-PERP@depth", "data": DEPTH, "note": "prix €"}
        text = json.dumps(payload, ensure_ascii=False)
        for frame in (payload, text, text.encode("utf-8"), bytearray(text.encode("utf-8")),
                      brotli.compress(text.encode("utf-8"))):
            self.assertEqual(("BTC-PERP@depth", DEPTH), messages.parse_push(frame), type(frame).__name__)
        self.assertEqual(("tickers", None), messages.parse_push({"channel": "tickers"}))  # no data
        self.assertEqual(("account_private", ACCOUNT_EVENT_ORDER),
                         messages.parse_push({"channel": "account_private", "data": ACCOUNT_EVENT_ORDER}))

    def test_pong_and_acks_are_consumed(self):
        # §5.2: PONG compared case-insensitively, in any frame form; (UN)SUBSCRIBE acks {"result", "id"}.
        for reply in ({"data": "PONG"}, {"data": "pong"}, {"data": "Pong"}, '{"data":"PONG"}', b'{"data":"PONG"}',
                      brotli.compress(b'{"data":"pong"}'), {"result": None, "id": 7}, b'{"result":null,"id":3}',
                      {"result": "ok", "id": 1}):
            self.assertIsNone(messages.parse_push(reply), reply)

    def test_channel_messages_are_never_taken_for_control_replies(self):
        self.assertEqual(("tickers", "PONG"), messages.parse_push({"channel": "tickers", "data": "PONG"}))
        self.assertEqual(("x", None), messages.parse_push({"channel": "x", "result": None, "id": 1}))

    def test_bad_pushes(self):
        for bad in ({"data": DEPTH}, {"channel": 5, "data": 1}, {"channel": None, "data": 1}, ["channel"],
                    {"data": "PING"}, {"result": None}, {"id": 1}, {"data": {"event": "ORDER"}}, {}, "PONG",
                    '{"channel":5,"data":1}', '{"data":{"bids":[]}}', "not json", b"\x00\xff", "[1,2]", '"text"',
                    42, 4.2, True, None):
            with self.assertRaises(VestMessageError, msg=repr(bad)):
                messages.parse_push(bad)

    def test_channel_names(self):
        self.assertEqual("kBONK-PERP@depth", messages.depth_channel("kBONK-PERP"))
        self.assertEqual("AAPL-USD-PERP@trades", messages.trades_channel("AAPL-USD-PERP"))


class ErrorEnvelopeTest(unittest.TestCase):
    def test_documented_code_msg(self):
        error = messages.parse_error_envelope({"code": 3017, "msg": "Order already processed or cancelled"}, 400)
        self.assertIsInstance(error, VestAPIError)
        self.assertIsInstance(error, IOError)
        self.assertEqual((3017, "ORDER_NOT_FOUND", "Order already processed or cancelled", 400),
                         (error.code, error.name, error.message, error.http_status))
        self.assertEqual("Vest error 3017 ORDER_NOT_FOUND: Order already processed or cancelled (HTTP 400)",
                         str(error))

    def test_detail_object(self):
        error = messages.parse_error_envelope({"detail": {"code": 1022, "msg": "bad signature"}})
        self.assertEqual((1022, "INVALID_SIGNATURE", "bad signature", None),
                         (error.code, error.name, error.message, error.http_status))
        self.assertIn("1022", str(error))
        self.assertIn("INVALID_SIGNATURE", str(error))
        self.assertNotIn("HTTP", str(error))

    def test_string_code_and_unknown_code(self):
        self.assertEqual(1002, messages.parse_error_envelope({"code": "1002", "msg": "no key"}).code)
        error = messages.parse_error_envelope({"code": 429, "msg": "Rate limited"}, 429)  # §3.6 example
        self.assertEqual((429, "UNKNOWN_ERROR"), (error.code, error.name))
        self.assertIn("429 UNKNOWN_ERROR: Rate limited", str(error))
        self.assertIsNone(messages.parse_error_envelope({"detail": {"code": "x", "msg": "m"}}).code)

    def test_fastapi_validation_list(self):
        error = messages.parse_error_envelope(ERROR_422, 422)
        self.assertIsNone(error.code)
        self.assertEqual("HTTP_ERROR", error.name)
        self.assertEqual("request validation failed: query.time: Field required", error.message)
        self.assertEqual(422, error.http_status)
        error = messages.parse_error_envelope({"detail": [{"msg": "no location"}, "odd item"]}, 422)
        self.assertEqual("request validation failed: no location; odd item", error.message)

    def test_odd_validation_locations_and_overflowing_codes_still_give_an_error(self):
        # The envelope parser is the last line of defence for error bodies: it must never raise itself.
        error = messages.parse_error_envelope({"detail": [{"loc": 5, "msg": "bad"}, {"loc": None, "msg": "worse"}]},
                                              422)
        self.assertIsInstance(error, VestAPIError)
        self.assertIn("bad", error.message)
        self.assertIn("worse", error.message)
        error = messages.parse_error_envelope(json.loads('{"code": 1e400, "msg": "huge"}'), 400)
        self.assertIsInstance(error, VestAPIError)
        self.assertIsNone(error.code)
        self.assertEqual("huge", error.message)

    def test_detail_string(self):
        error = messages.parse_error_envelope({"detail": "Not Found"}, 404)
        self.assertEqual((None, "Not Found", 404), (error.code, error.message, error.http_status))

    def test_non_errors(self):
        for payload in ({"id": "0x1"}, {"listenKey": "abc"}, [], [ORDER_REST], ORDER_REJECTED,
                        {"code": None, "msg": ""}, {"apiKey": "k", "accGroup": 0}, "ok", None):
            self.assertIsNone(messages.parse_error_envelope(payload), payload)
            self.assertIsNone(messages.parse_error_envelope(payload, 200), payload)

    def test_non_json_and_unknown_shapes_with_error_status(self):
        error = messages.parse_error_envelope("<html>502 Bad Gateway</html>", 502)
        self.assertEqual((None, "HTTP_ERROR", 502), (error.code, error.name, error.http_status))
        self.assertIn("502 Bad Gateway", error.message)
        long_error = messages.parse_error_envelope("x" * 1000, 500)
        self.assertLess(len(long_error.message), 300)
        error = messages.parse_error_envelope({"unexpected": True}, 503)
        self.assertIn("unexpected", error.message)
        self.assertIsNone(messages.parse_error_envelope({"unexpected": True}, 399))


class MarketTest(unittest.TestCase):
    def test_exchange_info(self):
        markets, rejected = messages.parse_exchange_info(EXCHANGE_INFO)
        self.assertEqual([], rejected)
        self.assertEqual(["ETH-PERP", "BTC-PERP", "kBONK-PERP", "AAPL-USD-PERP"], [m.symbol for m in markets])
        eth, btc, bonk, aapl = markets
        self.assertEqual(("ETH-USDC", "ETH", "USDC", 3, 2), (eth.trading_pair, eth.base, eth.quote,
                                                             eth.size_decimals, eth.price_decimals))
        self.assertEqual(Decimal("0.0001"), eth.taker_fee)
        self.assertEqual("kBONK-USDC", bonk.trading_pair)
        self.assertEqual("AAPL-USD", aapl.trading_pair)
        self.assertTrue(eth.is_trading)  # no tradingStatus field: tradable
        self.assertTrue(btc.is_trading)
        self.assertFalse(aapl.is_trading)  # HALT

    def test_rows_rejected_with_reasons(self):
        payload = copy.deepcopy(EXCHANGE_INFO)
        payload["symbols"] += [
            {k: v for k, v in ETH_ROW.items() if k != "base"},
            {**ETH_ROW, "symbol": "X-PERP", "sizeDecimals": "three"},
            {**ETH_ROW, "symbol": "Y-PERP", "takerFee": "1%"},
            {**ETH_ROW, "symbol": None},
            "junk",
        ]
        markets, rejected = messages.parse_exchange_info(payload)
        self.assertEqual(4, len(markets))
        self.assertEqual(5, len(rejected))
        reasons = [str(error) for _, error in rejected]
        self.assertIn("'base'", reasons[0])
        self.assertIn("'sizeDecimals'", reasons[1])
        self.assertIn("'takerFee'", reasons[2])
        self.assertIn("'symbol'", reasons[3])
        self.assertIn("not an object", reasons[4])
        self.assertEqual("junk", rejected[4][0])

    def test_bad_exchange_info(self):
        for payload in (None, [], {"symbols": None}, {"symbols": {}}, {}):
            with self.assertRaises(VestMessageError):
                messages.parse_exchange_info(payload)

    def test_formatting_is_exact(self):
        eth = messages.parse_market(ETH_ROW)
        self.assertEqual("0.100", eth.format_size(Decimal("0.1")))
        self.assertEqual("12.345", eth.format_size(Decimal("12.345")))
        self.assertEqual("10.000", eth.format_size(Decimal("1E+1")))
        self.assertEqual("0.000", eth.format_size(Decimal("1E-7")))
        self.assertEqual("1900.50", eth.format_price(Decimal("1900.5")))
        self.assertEqual("30000.00", eth.format_price(Decimal("3E+4")))
        bonk = messages.parse_market(BONK_ROW)
        self.assertEqual("5", bonk.format_size(Decimal("5")))
        self.assertEqual("0.000021", bonk.format_price(Decimal("0.000021")))
        self.assertEqual((Decimal("0.001"), Decimal("0.01")), (eth.size_step, eth.price_tick))
        self.assertEqual((Decimal("1"), Decimal("0.000001")), (bonk.size_step, bonk.price_tick))

    def test_trading_rule(self):
        rule = messages.parse_market(ETH_ROW).trading_rule()
        self.assertEqual("ETH-USDC", rule.trading_pair)
        self.assertEqual(Decimal("0.001"), rule.min_order_size)
        self.assertEqual(Decimal("0.001"), rule.min_base_amount_increment)
        self.assertEqual(Decimal("0.01"), rule.min_price_increment)
        self.assertEqual(Decimal("0"), rule.min_notional_size)
        self.assertEqual("USDC", rule.buy_order_collateral_token)
        self.assertEqual("USDC", rule.sell_order_collateral_token)

    def test_collateral_is_usdc_whatever_the_quote(self):
        # §1.5: USDC is the only numéraire; an equity perp quoted in "USD" is still margined in USDC.
        rule = messages.parse_market(AAPL_ROW).trading_rule()
        self.assertEqual("USDC", rule.buy_order_collateral_token)
        self.assertEqual("USDC", rule.sell_order_collateral_token)


class TickerTest(unittest.TestCase):
    def test_rest_shape(self):
        (ticker,) = messages.parse_tickers(TICKERS_REST)
        self.assertEqual(("BTC-PERP", Decimal("64000.12"), Decimal("63990.00"), Decimal("0.000012"), "TRADING"),
                         (ticker.symbol, ticker.mark_price, ticker.index_price, ticker.one_hr_funding_rate,
                          ticker.status))

    def test_ws_shape(self):
        (ticker,) = messages.parse_tickers(TICKERS_WS)
        self.assertEqual(("ETH-PERP", Decimal("3200.55"), Decimal("-0.000003"), "HALT"),
                         (ticker.symbol, ticker.mark_price, ticker.one_hr_funding_rate, ticker.status))

    def test_optional_fields(self):
        row = {k: v for k, v in TICKERS_REST["tickers"][0].items() if k not in ("cumFunding", "status")}
        self.assertIsNone(messages.parse_ticker(row).status)

    def test_bad_tickers(self):
        for payload in ({"tickers": None}, {}, "x", [{"symbol": "BTC-PERP"}],
                        [{**TICKERS_WS[0], "markPrice": "NaN"}], [{**TICKERS_WS[0], "markPrice": "Infinity"}],
                        [{**TICKERS_WS[0], "markPrice": True}]):
            with self.assertRaises(VestMessageError):
                messages.parse_tickers(payload)

    def test_next_funding_timestamp_is_top_of_next_hour(self):
        self.assertEqual(1700002800, messages.next_funding_timestamp(1700000000.5))
        self.assertEqual(1700002800, messages.next_funding_timestamp(1699999200))  # exactly on the hour
        self.assertEqual(1700002800, messages.next_funding_timestamp(1700002799.999))
        self.assertEqual(3600, messages.next_funding_timestamp(0))


class DepthAndTradeTest(unittest.TestCase):
    def test_depth(self):
        bids, asks = messages.parse_depth(DEPTH)
        self.assertEqual([(64000.10, 0.5), (63999.0, 1.2)], bids)
        self.assertEqual([(64001.20, 0.4)], asks)
        self.assertEqual(([], []), messages.parse_depth({"bids": [], "asks": []}))

    def test_depth_levels_are_plain_float_pairs_the_garbage_collector_stops_tracking(self):
        # Rows (a tuple subclass) stay tracked, and a backlog of them drove 100+ ms full collections at 100 pairs.
        bids, _ = messages.parse_depth(DEPTH)
        self.assertTrue(all(type(level) is tuple for level in bids))
        gc.collect()
        self.assertFalse(any(gc.is_tracked(level) for level in bids))

    def test_book_rows_are_hummingbots_rows_with_the_update_id(self):
        rows = messages.book_rows(messages.parse_depth(DEPTH)[0], 7)
        self.assertEqual([OrderBookRow(64000.10, 0.5, 7), OrderBookRow(63999.0, 1.2, 7)], rows)
        self.assertTrue(all(type(row) is OrderBookRow for row in rows))
        self.assertEqual([], messages.book_rows([], 7))

    def test_depth_levels_with_extra_fields_keep_price_and_size(self):
        bids, asks = messages.parse_depth({"bids": [["10.5", "2", "x"], [9, 3.5, 1, 2]], "asks": [("11", "1")]})
        self.assertEqual([(10.5, 2.0), (9.0, 3.5)], bids)
        self.assertEqual([(11.0, 1.0)], asks)

    def test_finite_levels_whose_sum_overflows_are_kept(self):
        bids, _ = messages.parse_depth({"bids": [["1e308", "1e308"], ["1e308", "1"]], "asks": []})
        self.assertEqual([(1e308, 1e308), (1e308, 1.0)], bids)

    def test_bad_depth(self):
        for payload in ({"bids": []}, {"bids": [], "asks": None}, {"bids": [["1"]], "asks": []},
                        {"bids": [], "asks": ["1,2"]}, [], None, {"bids": [["abc", "1"]], "asks": []},
                        {"bids": [["NaN", "1"]], "asks": []}, {"bids": [], "asks": [["1", "inf"]]},
                        {"bids": [[None, "1"]], "asks": []}, {"bids": ["12", "34"], "asks": []},
                        {"bids": [["1", "2", "3"], ["4"]], "asks": []}, {"bids": [{"1": 0, "2": 0}], "asks": []},
                        {"bids": [["1", "2"]], "asks": [["1", "-inf"]]}, {"bids": [[10 ** 400, "1"]], "asks": []},
                        {"bids": [["1e400", "1"]], "asks": []}, {"bids": [[json.loads("1e400"), "1"]], "asks": []},
                        {"bids": [], "asks": [("1",)]}, {"bids": [[]], "asks": []}):
            with self.assertRaises(VestMessageError, msg=repr(payload)):
                messages.parse_depth(payload)

    def test_a_refused_depth_names_the_side_or_the_level(self):
        with self.assertRaises(VestMessageError) as raised:
            messages.parse_depth({"bids": [["1", "1"]]})
        self.assertEqual("depth lacks a 'asks' list", str(raised.exception))
        with self.assertRaises(VestMessageError) as raised:
            messages.parse_depth({"bids": [["1", "1"], ["9" * 500, "x"]], "asks": []})
        self.assertTrue(str(raised.exception).startswith("depth level is not [price, size] of finite numbers: "
                                                         "['999"))
        self.assertLess(len(str(raised.exception)), 300)  # a long level is shortened in the message

    def test_rest_trade_negative_qty_is_sell(self):
        trade = messages.parse_trade(TRADE_REST)
        self.assertEqual(("28457", Decimal("64000.50"), Decimal("0.0100"), TradeType.SELL),
                         (trade.trade_id, trade.price, trade.amount, trade.trade_type))
        self.assertAlmostEqual(1700000000.123, trade.timestamp, places=6)

    def test_ws_trade_hex_id_is_buy(self):
        trade = messages.parse_trade(TRADE_WS)
        self.assertEqual(("0x9a1f", Decimal("0.0100"), TradeType.BUY), (trade.trade_id, trade.amount, trade.trade_type))

    def test_an_explicit_side_wins_over_the_sign_of_qty(self):
        # §2.6: the side from the sign of `qty` is a guess; a trade carrying its side is read by it.
        for extra, expected in (({"isBuy": False}, TradeType.SELL), ({"side": "sell"}, TradeType.SELL),
                                ({"side": "BUY", "qty": "-0.0100"}, TradeType.BUY), ({"side": "?"}, TradeType.BUY)):
            trade = messages.parse_trade({**TRADE_WS, **extra})
            self.assertEqual((expected, Decimal("0.0100")), (trade.trade_type, trade.amount))
        with self.assertRaises(VestMessageError):
            messages.parse_trade({**TRADE_WS, "isBuy": "yes"})

    def test_bad_trades(self):
        for payload in ({**TRADE_WS, "qty": "abc"}, {**TRADE_WS, "id": None}, {**TRADE_WS, "time": "soon"},
                        {k: v for k, v in TRADE_WS.items() if k != "price"}, "trade"):
            with self.assertRaises(VestMessageError):
                messages.parse_trade(payload)

    def test_overflowing_numbers_are_message_errors(self):
        # json.loads turns 1e400 into float('inf') and keeps 400-digit integers; Decimal accepts "1e999999999" but
        # abs() of it overflows the context. None of these may escape as OverflowError / decimal.Overflow, which
        # callers (catching VestMessageError) would not expect.
        for time in (float("inf"), json.loads("1e400"), 10 ** 400):
            with self.assertRaises(VestMessageError):
                messages.parse_trade({**TRADE_WS, "time": time})
        with self.assertRaises(VestMessageError):
            messages.parse_trade({**TRADE_WS, "qty": "1e999999999"})
        with self.assertRaises(VestMessageError):
            messages.parse_position({**ACCOUNT["positions"][0], "size": "-1e999999999"})


class OrderTest(unittest.TestCase):
    def test_rest_row(self):
        order = messages.parse_order(ORDER_REST)
        self.assertEqual(("0x5f01", 1700000000000, "FILLED", "BTC-PERP", "LIMIT"),
                         (order.order_id, order.nonce, order.status, order.symbol, order.order_type))
        self.assertEqual((Decimal("0.0100"), False, None, 1700000000050),
                         (order.size, order.reduce_only, order.code, order.post_time))
        self.assertEqual((Decimal("0.0100"), Decimal("29999.50"), 1700000000900, Decimal("29999.50")),
                         (order.last_filled_size, order.last_filled_price, order.last_filled_time,
                          order.avg_filled_price))
        self.assertEqual((Decimal("0.030000"), Decimal("0.001")), (order.fees, order.settled_funding))
        self.assertEqual(OrderState.FILLED, order.state)

    def test_rest_row_prefers_settled_funding(self):
        order = messages.parse_order({**ORDER_REST, "cumFunding": "99"})
        self.assertEqual(Decimal("0.001"), order.settled_funding)

    def test_ws_new(self):
        order = messages.parse_order(ORDER_NEW)
        self.assertEqual((OrderState.OPEN, "MARKET", True, 1700000000001),
                         (order.state, order.order_type, order.reduce_only, order.nonce))
        self.assertIsNone(order.fill_beyond(Decimal("0.02"), Decimal(0), Decimal(0), Decimal(0)))
        self.assertIsNone(order.last_filled_size)
        self.assertFalse(order.carries_fill)

    def test_ws_filled_with_cum_funding(self):
        order = messages.parse_order(ORDER_FILLED)
        self.assertEqual(Decimal("-0.0042"), order.settled_funding)
        fill = order.fill_beyond(Decimal("0.02"), Decimal(0), Decimal(0), Decimal(0))
        self.assertEqual("0x5f02-0.02", fill.trade_id)  # named after the order's executed amount once booked
        self.assertEqual((Decimal("0.0200"), Decimal("29500.25"), Decimal("0.059001"), Decimal("-0.0042")),
                         (fill.size, fill.price, fill.fee, fill.settled_funding))
        self.assertAlmostEqual(1700000001.0, fill.timestamp)
        self.assertIsNone(order.fill_beyond(Decimal("0.02"), Decimal("0.02"), Decimal("590.005"),
                                            Decimal("0.059001")))  # the same truth again books nothing

    def test_partial_fills_book_what_either_reading_of_last_filled_size_proves(self):
        # §9.8: `lastFilledSize` may be per fill or cumulative. Booked: the lower bound of both, never more.
        first = messages.parse_order({**ORDER_FILLED, "status": "PARTIALLY_FILLED", "lastFilledSize": "0.0050",
                                      "fees": "0.01", "cumFunding": None})
        self.assertEqual(OrderState.PARTIALLY_FILLED, first.state)
        self.assertTrue(first.carries_fill)
        fill = first.fill_beyond(Decimal("0.02"), Decimal(0), Decimal(0), Decimal(0))
        self.assertEqual((Decimal("0.0050"), Decimal("29500.25"), Decimal("0.01"), None),
                         (fill.size, fill.price, fill.fee, fill.settled_funding))
        booked = (Decimal("0.005"), Decimal("147.50125"), Decimal("0.01"))
        smaller = messages.parse_order({**ORDER_FILLED, "status": "PARTIALLY_FILLED", "lastFilledSize": "0.0030"})
        self.assertIsNone(smaller.fill_beyond(Decimal("0.02"), *booked))  # a per-fill reading's second fill
        larger = messages.parse_order({**ORDER_FILLED, "status": "PARTIALLY_FILLED", "lastFilledSize": "0.0080",
                                       "fees": "0.016"})
        fill = larger.fill_beyond(Decimal("0.02"), *booked)  # a cumulative reading's running total
        self.assertEqual((Decimal("0.0030"), Decimal("0.006")), (fill.size, fill.fee))

    def test_filled_without_the_earlier_parts_books_the_rest_at_the_implied_price(self):
        # 0.005 booked at 29,000; Vest then reports FILLED with an average of 29,500.25 over 0.02.
        order = messages.parse_order({**ORDER_FILLED, "lastFilledSize": "0.0050", "lastFilledPrice": "30000"})
        fill = order.fill_beyond(Decimal("0.02"), Decimal("0.005"), Decimal("145"), Decimal("0.01"))
        self.assertEqual(Decimal("0.015"), fill.size)
        self.assertEqual((Decimal("29500.25") * Decimal("0.02") - Decimal("145")) / Decimal("0.015"), fill.price)
        self.assertEqual(Decimal("-0.0042"), fill.settled_funding)  # the fill that completes the order
        # No average: the last fill's price; an inconsistent average (implied price <= 0) falls back to it too.
        order = messages.parse_order({**ORDER_FILLED, "avgFilledPrice": None})
        self.assertEqual(Decimal("29500.25"), order.fill_beyond(Decimal("0.02"), Decimal("0.01"), Decimal("1"),
                                                                Decimal(0)).price)
        order = messages.parse_order({**ORDER_FILLED, "avgFilledPrice": "1"})
        self.assertEqual(Decimal("29500.25"), order.fill_beyond(Decimal("0.02"), Decimal("0.01"), Decimal("500"),
                                                                Decimal(0)).price)
        # A record without size (a partial event shape) is bounded by the tracked order's amount.
        sizeless = messages.parse_order({k: v for k, v in ORDER_FILLED.items() if k != "size"})
        self.assertEqual(Decimal("0.03"), sizeless.fill_beyond(Decimal("0.03"), Decimal(0), Decimal(0),
                                                               Decimal(0)).size)
        # No price at all: nothing can be booked yet.
        priceless = messages.parse_order({**ORDER_FILLED, "avgFilledPrice": None, "lastFilledPrice": None})
        self.assertIsNone(priceless.fill_beyond(Decimal("0.02"), Decimal(0), Decimal(0), Decimal(0)))

    def test_zero_where_null_is_documented_means_no_fill(self):
        zeros = {"lastFilledSize": "0.0000", "lastFilledPrice": "0.00", "lastFilledTime": 0, "avgFilledPrice": "0"}
        order = messages.parse_order({**ORDER_NEW, **zeros})
        self.assertEqual((None, None, None, None), (order.last_filled_size, order.last_filled_price,
                                                    order.last_filled_time, order.avg_filled_price))
        self.assertFalse(order.carries_fill)
        for impossible in ({"lastFilledSize": "-0.01"}, {"lastFilledPrice": "-1"}, {"lastFilledSize": "100"}):
            with self.assertRaises(VestMessageError):  # negative, or a fill larger than the order
                messages.parse_order({**ORDER_FILLED, **impossible})

    def test_partial_cancelled(self):
        order = messages.parse_order(ORDER_CANCELLED)
        self.assertEqual(("0x5f03", OrderState.CANCELED, 1700000000002, 1700000002000),
                         (order.order_id, order.state, order.nonce, order.post_time))
        self.assertIsNone(order.symbol)
        self.assertIsNone(order.fill_beyond(Decimal("1"), Decimal(0), Decimal(0), Decimal(0)))

    def test_partial_rejected_with_int_and_string_code(self):
        for code in (3010, "3010"):
            order = messages.parse_order({**ORDER_REJECTED, "code": code})
            self.assertEqual((OrderState.FAILED, 3010, "OI_CAP_EXCEEDED"), (order.state, order.code,
                                                                            order.error_name))
        self.assertEqual("UNKNOWN_ERROR", messages.parse_order({**ORDER_REJECTED, "code": None}).error_name)
        self.assertEqual("UNKNOWN_ERROR", messages.parse_order({**ORDER_REJECTED, "code": 9999}).error_name)

    def test_bad_orders(self):
        for payload in ({**ORDER_NEW, "status": "CANCELED"}, {**ORDER_NEW, "status": None},
                        {k: v for k, v in ORDER_NEW.items() if k != "id"}, {**ORDER_NEW, "reduceOnly": "true"},
                        {**ORDER_NEW, "size": "lots"}, {**ORDER_NEW, "nonce": "n"}, [ORDER_NEW]):
            with self.assertRaises(VestMessageError):
                messages.parse_order(payload)

    def test_order_list_and_id(self):
        orders, rejected = messages.parse_orders([ORDER_REST, ORDER_NEW, ORDER_CANCELLED, ORDER_REJECTED])
        self.assertEqual(["0x5f01", "0x5f02", "0x5f03", "0x5f04"], [order.order_id for order in orders])
        self.assertEqual(([], []), messages.parse_orders([]))
        with self.assertRaises(VestMessageError):
            messages.parse_orders({"orders": []})
        self.assertEqual("0xabc", messages.parse_order_id({"id": "0xabc"}))
        for bad in ({}, {"id": 5}, "0xabc"):
            with self.assertRaises(VestMessageError):
                messages.parse_order_id(bad)

    def test_each_row_of_a_list_is_read_on_its_own(self):
        rows = [ORDER_REST, {**ORDER_NEW, "status": "EXPIRED"}, {**ORDER_FILLED, "id": "0x5f09", "lastFilledSize": "1"},
                "garbage", {"status": "NEW"}, ORDER_CANCELLED]
        orders, rejected = messages.parse_orders(rows)
        self.assertEqual(["0x5f01", "0x5f03"], [order.order_id for order in orders])
        self.assertEqual(["0x5f02", "0x5f09", None, None], [order_id for order_id, _ in rejected])
        self.assertEqual("unknown order status 'EXPIRED'", str(rejected[0][1]))


class AccountTest(unittest.TestCase):
    def test_account(self):
        account = messages.parse_account(ACCOUNT)
        self.assertEqual(Decimal("1000.500000"), account.total_balance)
        self.assertEqual(Decimal("900.250000"), account.available_balance)
        self.assertEqual({"BTC-PERP": 20, "ETH-PERP": 10}, account.leverages)
        self.assertEqual(1700000000999, account.server_time_ms)
        self.assertEqual(["BTC-PERP", "SOL-PERP"], [p.symbol for p in account.positions])  # zero size skipped
        btc, sol = account.positions
        self.assertEqual((True, Decimal("0.0100"), Decimal("30000.00"), Decimal("4.50")),
                         (btc.is_long, btc.size, btc.entry_price, btc.unrealized_pnl))
        self.assertEqual((False, Decimal("2.5"), Decimal(0)), (sol.is_long, sol.size, sol.unrealized_pnl))

    def test_collateral_fallback_and_minimal_account(self):
        account = messages.parse_account({"balances": [{"asset": "ETH", "total": "1"}], "collateral": "77",
                                          "withdrawable": "70"})
        # No `positions` field: positions are unknown (None), not flat.
        self.assertEqual((Decimal("77"), Decimal("70"), None, {}, None),
                         (account.total_balance, account.available_balance, account.positions, account.leverages,
                          account.server_time_ms))

    def test_bad_accounts(self):
        bad = [
            {k: v for k, v in ACCOUNT.items() if k != "withdrawable"},
            {**ACCOUNT, "balances": [{"asset": "USDC"}]},
            {**ACCOUNT, "balances": "USDC"},
            {**ACCOUNT, "balances": [], "collateral": None},
            {**ACCOUNT, "positions": [{"symbol": "BTC-PERP", "size": "1"}]},
            {**ACCOUNT, "leverages": [{"symbol": "BTC-PERP", "value": "ten"}]},
            {**ACCOUNT, "leverages": ["BTC-PERP"]},
            {**ACCOUNT, "time": "now"},
            [],
        ]
        for payload in bad:
            with self.assertRaises(VestMessageError):
                messages.parse_account(payload)

    def test_nonce_leverage_listen_key(self):
        self.assertEqual(1700000000005, messages.parse_last_nonce({"lastNonce": 1700000000005}))
        self.assertEqual(("BTC-PERP", 10), messages.parse_leverage({"symbol": "BTC-PERP", "value": 10}))
        self.assertEqual("579e1280448d4843b190c50fbd170078",
                         messages.parse_listen_key({"listenKey": "579e1280448d4843b190c50fbd170078"}))
        for parser, bad in ((messages.parse_last_nonce, {"lastNonce": None}), (messages.parse_last_nonce, {}),
                            (messages.parse_leverage, {"symbol": "BTC-PERP"}), (messages.parse_leverage, []),
                            (messages.parse_listen_key, {"listenKey": 5}), (messages.parse_listen_key, None)):
            with self.assertRaises(VestMessageError):
                parser(bad)


class AccountEventTest(unittest.TestCase):
    def test_documented_events(self):
        for data in (ACCOUNT_EVENT_ORDER, ACCOUNT_EVENT_LP, ACCOUNT_EVENT_TRANSFER):
            event = messages.parse_account_event(data)
            self.assertEqual(data["event"], event.event)
            self.assertEqual(data["args"], dict(event.args))
        # The ORDER args are an order record.
        self.assertEqual("0x5f02", messages.parse_order(messages.parse_account_event(ACCOUNT_EVENT_ORDER).args)
                         .order_id)

    def test_full_private_message(self):
        frame = json.dumps({"channel": "account_private", "data": ACCOUNT_EVENT_ORDER}).encode()
        channel, data = messages.parse_push(frame)
        self.assertEqual("account_private", channel)
        self.assertEqual("ORDER", messages.parse_account_event(data).event)

    def test_rejected_events(self):
        for data in ({"event": "POSITION", "args": {}}, {"event": "ORDER"}, {"event": "ORDER", "args": []},
                     {"args": {}}, "ORDER", None):
            with self.assertRaises(VestMessageError):
                messages.parse_account_event(data)


# ------------------------------------------------------------------------------------------------------------------
# Failure mode: a parser returns or raises VestMessageError, never anything else.
# ------------------------------------------------------------------------------------------------------------------
def parse_depth(payload):
    return messages.parse_depth(payload)


PARSERS = {
    messages.parse_exchange_info: EXCHANGE_INFO,
    messages.parse_market: BTC_ROW,
    messages.parse_tickers: TICKERS_REST,
    messages.parse_ticker: TICKERS_WS[0],
    parse_depth: DEPTH,
    messages.parse_trade: TRADE_WS,
    messages.parse_order: ORDER_FILLED,
    messages.parse_orders: [ORDER_REST, ORDER_CANCELLED, ORDER_REJECTED],
    messages.parse_order_id: {"id": "0x1"},
    messages.parse_account: ACCOUNT,
    messages.parse_position: ACCOUNT["positions"][0],
    messages.parse_last_nonce: {"lastNonce": 3},
    messages.parse_leverage: {"symbol": "BTC-PERP", "value": 10},
    messages.parse_listen_key: {"listenKey": "k"},
    messages.parse_account_event: ACCOUNT_EVENT_TRANSFER,
    messages.parse_push: {"channel": "BTC-PERP@trades", "data": TRADE_WS},
}
ERROR_DOCUMENTS = (ERROR_422, {"detail": {"code": 1022, "msg": "m"}}, {"code": 3017, "msg": "m"})


def _paths(value, prefix=()):
    """Every (container path, key) inside a JSON value."""
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return
    for key, child in items:
        yield prefix, key
        yield from _paths(child, prefix + (key,))


# Wrong values a field may take, including what json.loads produces for 1e400 (inf), NaN and 400-digit numbers.
NASTY_VALUES = [None, True, False, 0, -1, 1.5, float("inf"), float("-inf"), float("nan"), 10 ** 400, "", "x",
                "NaN", "1e999999999", [], [1], {}, {"a": 1}]
_DELETED = object()


def _damaged(document):
    """Every single-field deletion and wrong-value replacement of a document, deterministically."""
    for prefix, key in _paths(document):
        for replacement in [_DELETED] + NASTY_VALUES:
            value = copy.deepcopy(document)
            container = value
            for part in prefix:
                container = container[part]
            if replacement is _DELETED:
                if not isinstance(container, dict):
                    continue
                del container[key]
            else:
                container[key] = replacement
            yield value


class DamagedPayloadTest(unittest.TestCase):
    def test_documented_payloads_with_every_field_damaged(self):
        failures, rejected = [], 0
        for parser, document in PARSERS.items():
            parser(copy.deepcopy(document))  # the undamaged document is read
            for payload in _damaged(document):
                try:
                    parser(payload)
                except VestMessageError:
                    rejected += 1
                except Exception as error:  # noqa: BLE001 - the property under test
                    failures.append(f"{parser.__name__}: {type(error).__name__}: {error} for {payload!r:.160}")
        self.assertEqual(0, len(failures), "\n".join(failures[:25]))
        self.assertGreater(rejected, 1000)  # the damage is real: most of it must be refused

    def test_damaged_messages_read_alike_in_every_frame_form(self):
        # parse_push reads what Hummingbot's WSConnection hands over: the parsed JSON, or bytes (§5.1).
        for payload in _damaged({"channel": "account_private", "data": ACCOUNT_EVENT_ORDER}):
            try:
                expected = messages.parse_push(payload)
            except VestMessageError:
                expected = VestMessageError
            text = json.dumps(payload)
            for frame in (text.encode("utf-8"), brotli.compress(text.encode("utf-8"))):
                try:
                    result = messages.parse_push(frame)
                except VestMessageError:
                    result = VestMessageError
                if isinstance(result, tuple) and isinstance(expected, tuple):
                    # NaN never equals itself; compare through JSON, which writes it the same way each time.
                    result, expected_text = json.dumps(result), json.dumps(expected)
                    self.assertEqual(expected_text, result, payload)
                else:
                    self.assertEqual(expected, result, payload)

    def test_error_envelopes_with_every_field_damaged(self):
        failures = []
        for document in ERROR_DOCUMENTS:
            for payload in _damaged(document):
                try:
                    result = messages.parse_error_envelope(payload, 400)
                except Exception as error:  # noqa: BLE001 - the property under test
                    failures.append(f"{type(error).__name__}: {error} for {payload!r:.160}")
                else:
                    self.assertIsInstance(result, VestAPIError, payload)
        self.assertEqual(0, len(failures), "\n".join(failures[:25]))
