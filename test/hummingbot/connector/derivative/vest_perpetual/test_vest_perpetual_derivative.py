"""Hummingbot's generic perpetual-connector suite, run against `VestPerpetualDerivative`.

Every `configure_*` hook registers an `aioresponses` mock shaped like Vest's documented payloads
(docs/vest-protocol.md: exchangeInfo §2.1, tickers §2.2, trades §2.6, orders §3.6-§3.8, account §3.3, leverage §3.5,
ORDER events §5.4) and returns the URL (a regex where the request carries per-call query parameters).

Inherited tests are overridden only where they hard-code something Vest cannot do; each override says why and
asserts what Vest does instead (6 overrides, marked `OVERRIDE`).
"""
import asyncio
import json
import re
import tempfile
import time
import unittest
from decimal import Decimal
from typing import Any, Callable, Dict, List, Optional, Tuple
from unittest.mock import AsyncMock

from aioresponses import aioresponses
from aioresponses.core import CallbackResult, RequestCall
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import keccak

import hummingbot
from hummingbot.connector.derivative.position import Position
from hummingbot.connector.derivative.vest_perpetual import (
    vest_perpetual_constants as CONSTANTS,
    vest_perpetual_web_utils as web_utils,
)
from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_derivative import VestPerpetualDerivative
from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_messages import parse_market
from hummingbot.connector.test_support.perpetual_derivative_test import AbstractPerpetualDerivativeTests
from hummingbot.connector.trading_rule import TradingRule
from hummingbot.core.data_type.common import OrderType, PositionAction, PositionMode, PositionSide, TradeType
from hummingbot.core.data_type.funding_info import FundingInfo
from hummingbot.core.data_type.in_flight_order import InFlightOrder
from hummingbot.core.data_type.trade_fee import AddedToCostTradeFee, TokenAmount, TradeFeeBase
from hummingbot.core.event.events import FundingPaymentCompletedEvent, OrderFilledEvent, SellOrderCompletedEvent

# Distinctive fake credentials: the Hardhat test key #1 (public knowledge) and a made-up API key.
API_KEY = "vest-test-api-key-5e1f0c3a9b7d"
SIGNING_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"  # noqa: mock
SIGNER_ADDRESS = Account.from_key(SIGNING_KEY).address.lower()
ACCOUNT_GROUP = 2

SYMBOL = "COINALPHA-PERP"
EXCHANGE_ORDER_ID = "0x5f3e9a0c1d2b4a6e8f7c9d0b1a2e3f4c5d6e7f8091a2b3c4d5e6f708192a3b4c"  # noqa: mock
FILL_TIME_MS = 1640780000123
POST_TIME_MS = 1640780000050

ORDER_ABI_TYPES = ["uint256", "uint256", "string", "string", "bool", "string", "string", "bool"]
CANCEL_ABI_TYPES = ["uint256", "uint256", "string"]


# --------------------------------------------------------------------------------------------------------------
# Helpers shared with test_vest_perpetual_derivative_vest_specific.py (functions only, so that pytest does not
# collect the test class twice).
# --------------------------------------------------------------------------------------------------------------
def rest_url(path: str, domain: str = CONSTANTS.DOMAIN) -> str:
    return web_utils.private_rest_url(path, domain=domain)


def url_with_query(path: str, domain: str = CONSTANTS.DOMAIN) -> re.Pattern:
    """A regex for `path` followed by a query string (per-call `time`, `id`, `nonce` ... parameters)."""
    return re.compile(rf"^{re.escape(rest_url(path, domain))}\?")


def recover_order_signer(order_json: Dict[str, Any], signature: str) -> str:
    """Recomputes the §4.2 digest independently with eth_abi and recovers the EIP-191 signer."""
    digest = keccak(abi_encode(ORDER_ABI_TYPES, [
        order_json["time"], order_json["nonce"], order_json["orderType"], order_json["symbol"],
        order_json["isBuy"], order_json["size"], order_json["limitPrice"], order_json["reduceOnly"]]))
    return Account.recover_message(encode_defunct(primitive=digest), signature=signature).lower()


def recover_cancel_signer(order_json: Dict[str, Any], signature: str) -> str:
    digest = keccak(abi_encode(CANCEL_ABI_TYPES, [order_json["time"], order_json["nonce"], order_json["id"]]))
    return Account.recover_message(encode_defunct(primitive=digest), signature=signature).lower()


def symbol_row(symbol: str = SYMBOL, base: str = "COINALPHA", quote: str = "HBOT", size_decimals: int = 6,
               price_decimals: int = 4, **extra) -> Dict[str, Any]:
    """One `exchangeInfo.symbols[]` row (§2.1), with the observed `asset`/`tradingStatus` fields."""
    row = {"symbol": symbol, "displayName": symbol, "base": base, "quote": quote, "sizeDecimals": size_decimals,
           "priceDecimals": price_decimals, "initMarginRatio": "0.1", "maintMarginRatio": "0.05",
           "takerFee": "0.0001", "isolated": False, "asset": "crypto", "tradingStatus": "TRADING"}
    row.update(extra)
    return row


def exchange_info(*rows: Dict[str, Any]) -> Dict[str, Any]:
    return {"symbols": list(rows),
            "exchange": {"lp": "250000.000000", "insurance": "50000.000000", "collateralDecimals": 6}}


def account_response(total: str = "2000", withdrawable: str = "1500", positions: Optional[List[Dict]] = None,
                     leverages: Optional[List[Dict]] = None, time_ms: int = 1640780000000) -> Dict[str, Any]:
    """`GET /account` (§3.3): USDC is the only balance Vest reports."""
    return {"address": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
            "balances": [{"asset": "USDC", "total": total, "locked": "0"}],
            "collateral": total, "withdrawable": withdrawable, "totalAccountValue": total,
            "openOrderMargin": "0", "totalMaintMargin": "0",
            "positions": positions or [], "leverages": leverages or [],
            "lp": {"balance": "0", "shares": "0", "unrealizedPnl": "0"}, "time": time_ms,
            "twitterUsername": None, "discordUsername": None}


def position_row(symbol: str = SYMBOL, is_long: bool = True, size: str = "1", entry_price: str = "10000",
                 unrealized_pnl: str = "12") -> Dict[str, Any]:
    return {"symbol": symbol, "isLong": is_long, "size": size, "entryPrice": entry_price, "entryFunding": "0.1",
            "unrealizedPnl": unrealized_pnl, "settledFunding": "0", "markPrice": "10012", "indexPrice": "10011",
            "liqPrice": "5000", "initMargin": "1000", "maintMargin": "500", "initMarginRatio": "0.1"}


def order_nonce(client_order_id: str) -> int:
    """Our client ids are `vest-<nonce>`; ids of other shapes (the suite uses some) get a nonce no order has."""
    prefix = CONSTANTS.CLIENT_ORDER_ID_PREFIX
    suffix = client_order_id[len(prefix):]
    return int(suffix) if client_order_id.startswith(prefix) and suffix.isdigit() else 987654321


def order_row(order: InFlightOrder, status: str, fill_size: Optional[Decimal] = None,
              fill_price: Optional[Decimal] = None, fees: str = "30", fill_time: int = FILL_TIME_MS,
              settled_funding: Optional[str] = "0", **extra) -> Dict[str, Any]:
    """A `GET /orders` row (§3.8) for a tracked order; fill fields are null unless the order has filled."""
    filled = status in (CONSTANTS.ORDER_STATUS_FILLED, CONSTANTS.ORDER_STATUS_PARTIALLY_FILLED)
    fill_size = fill_size if fill_size is not None else order.amount
    fill_price = fill_price if fill_price is not None else order.price
    row = {"id": order.exchange_order_id, "nonce": order_nonce(order.client_order_id), "symbol": SYMBOL,
           "isBuy": order.trade_type is TradeType.BUY, "orderType": "LIMIT", "limitPrice": str(order.price),
           "markPrice": str(order.price), "size": str(order.amount), "status": status,
           "reduceOnly": getattr(order, "position", PositionAction.NIL) is PositionAction.CLOSE,
           "initMarginRatio": "0.1", "code": None,
           "lastFilledSize": str(fill_size) if filled else None,
           "lastFilledPrice": str(fill_price) if filled else None,
           "lastFilledTime": fill_time if filled else None,
           "avgFilledPrice": str(fill_price) if filled else None,
           "settledFunding": settled_funding if filled else None,
           "fees": fees if filled else "0",
           "realizedPnl": "0" if filled else None,
           "postTime": POST_TIME_MS, "tpPrice": None, "slPrice": None}
    row.update(extra)
    return row


def order_event(args: Dict[str, Any]) -> Dict[str, Any]:
    """An `account_private` ORDER message (§5.4) as the user stream data source queues it."""
    return {"channel": CONSTANTS.WS_ACCOUNT_PRIVATE_CHANNEL, "data": {"event": CONSTANTS.WS_EVENT_ORDER, "args": args}}


def error_body(code: int, msg: str) -> str:
    return json.dumps({"code": code, "msg": msg})


async def wait_until(predicate: Callable[[], bool], max_yields: int = 200):
    """Yields to the loop until `predicate()` holds (deterministic: no wall-clock sleeps)."""
    for _ in range(max_yields):
        if predicate():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition not reached")


def use_temporary_data_path(test_case: unittest.TestCase):
    """The connector keeps its order journal in Hummingbot's data folder: each test gets its own."""
    folder = tempfile.TemporaryDirectory()
    test_case.addCleanup(folder.cleanup)
    test_case.addCleanup(hummingbot.set_data_path, hummingbot.data_path())
    hummingbot.set_data_path(folder.name)


class VestPerpetualDerivativeTests(AbstractPerpetualDerivativeTests.PerpetualDerivativeTests):
    # Our client ids are "vest-<nonce>" and Vest's order ids are hex strings (§3.6).
    client_order_id_prefix = CONSTANTS.CLIENT_ORDER_ID_PREFIX
    exchange_order_id_prefix = "0x"

    def _expected_initial_status_dict(self) -> Dict[str, bool]:
        # A new connector counts as having fresh market data until its public stream stays silent (§5.3).
        return {**super()._expected_initial_status_dict(), "market_data_fresh": True}

    def setUp(self) -> None:
        use_temporary_data_path(self)
        super().setUp()

    # ------------------------------------------------------------------------------------------ URLs
    @property
    def all_symbols_url(self):
        return rest_url(CONSTANTS.EXCHANGE_INFO_PATH_URL)

    @property
    def latest_prices_url(self):
        return url_with_query(CONSTANTS.TRADES_PATH_URL)

    @property
    def network_status_url(self):
        return rest_url(CONSTANTS.EXCHANGE_INFO_PATH_URL)

    @property
    def trading_rules_url(self):
        return rest_url(CONSTANTS.EXCHANGE_INFO_PATH_URL)

    @property
    def order_creation_url(self):
        return rest_url(CONSTANTS.ORDERS_PATH_URL)

    @property
    def balance_url(self):
        return rest_url(CONSTANTS.ACCOUNT_PATH_URL)

    @property
    def funding_info_url(self):
        return url_with_query(CONSTANTS.TICKER_LATEST_PATH_URL)

    @property
    def funding_payment_url(self):
        return None  # §6.3: Vest has no funding-payment endpoint (see the funding override below)

    # ------------------------------------------------------------------------------------------ payloads
    @property
    def all_symbols_request_mock_response(self):
        return exchange_info(symbol_row())

    @property
    def latest_prices_request_mock_response(self):
        # §2.6: a bare array, newest trade last or first; the connector asks for one trade.
        return [{"id": "0x9a01", "price": str(self.expected_latest_price), "qty": "0.5000", "quoteQty": "4999.9",
                 "time": 1640780000000}]

    @property
    def all_symbols_including_invalid_pair_mock_response(self) -> Tuple[str, Any]:
        # A halted market (observed `tradingStatus`) is not offered as a trading pair.
        return "INVALID-HBOT", exchange_info(symbol_row(),
                                             symbol_row(symbol="INVALID-PERP", base="INVALID",
                                                        tradingStatus=CONSTANTS.SYMBOL_STATUS_HALT))

    @property
    def network_status_request_successful_mock_response(self):
        return exchange_info(symbol_row())

    @property
    def trading_rules_request_mock_response(self):
        return exchange_info(symbol_row())

    @property
    def trading_rules_request_erroneous_mock_response(self):
        return exchange_info(self._erroneous_symbol_row)

    @property
    def _erroneous_symbol_row(self):
        row = symbol_row()
        del row["sizeDecimals"]
        return row

    @property
    def order_creation_request_successful_mock_response(self):
        return {"id": self.expected_exchange_order_id}

    @property
    def balance_request_mock_response_for_base_and_quote(self):
        return account_response(total="2000", withdrawable="1500")

    @property
    def balance_request_mock_response_only_base(self):
        return account_response(total="15", withdrawable="10")

    @property
    def balance_event_websocket_update(self):
        # §5.4: Vest pushes no balance event; a TRANSFER is the only account event that moves collateral.
        return {"channel": CONSTANTS.WS_ACCOUNT_PRIVATE_CHANNEL,
                "data": {"event": "TRANSFER",
                         "args": {"id": "0x7ab1", "size": "500000000", "orderType": "DEPOSIT", "status": "FILLED",
                                  "code": None, "chainId": 8453, "postTime": 1640780000000, "nonce": 7}}}

    @property
    def funding_info_mock_response(self):
        return {"tickers": [{"symbol": SYMBOL,
                             "markPrice": str(self.target_funding_info_mark_price),
                             "indexPrice": str(self.target_funding_info_index_price),
                             "imbalance": "12.5",
                             "oneHrFundingRate": str(self.target_funding_info_rate),
                             "cumFunding": "0.5", "status": "TRADING"}]}

    @property
    def empty_funding_payment_mock_response(self):
        return None  # no endpoint (§6.3)

    @property
    def funding_payment_mock_response(self):
        return None  # no endpoint (§6.3)

    @property
    def expected_latest_price(self):
        return 9999.9

    @property
    def expected_supported_order_types(self):
        return [OrderType.LIMIT, OrderType.MARKET]  # §6.2: taker-only, no LIMIT_MAKER

    @property
    def expected_supported_position_modes(self) -> List[PositionMode]:
        return [PositionMode.ONEWAY]

    @property
    def expected_trading_rule(self):
        return TradingRule(trading_pair=self.trading_pair, min_order_size=Decimal("0.000001"),
                           min_base_amount_increment=Decimal("0.000001"), min_price_increment=Decimal("0.0001"),
                           min_notional_size=Decimal(0), buy_order_collateral_token=CONSTANTS.COLLATERAL_TOKEN,
                           sell_order_collateral_token=CONSTANTS.COLLATERAL_TOKEN)  # §1.5: USDC on every market

    @property
    def expected_logged_error_for_erroneous_trading_rule(self):
        return (f"Error parsing the trading pair rule {self._erroneous_symbol_row}. Skipping. "
                "(missing field 'sizeDecimals')")

    @property
    def expected_exchange_order_id(self):
        return EXCHANGE_ORDER_ID

    @property
    def is_order_fill_http_update_included_in_status_update(self) -> bool:
        return True  # GET /orders rows carry the last fill (§3.8)

    @property
    def is_order_fill_http_update_executed_during_websocket_order_event_processing(self) -> bool:
        return False  # the ORDER event itself carries the fill (§5.4)

    @property
    def expected_partial_fill_price(self) -> Decimal:
        return Decimal("10500")

    @property
    def expected_partial_fill_amount(self) -> Decimal:
        return Decimal("0.5")

    @property
    def expected_fill_fee(self) -> TradeFeeBase:
        # Fees are charged in USDC, Vest's only collateral (§1.5), whatever the market's quote.
        return AddedToCostTradeFee(flat_fees=[TokenAmount(token=CONSTANTS.COLLATERAL_TOKEN, amount=Decimal("30"))])

    @property
    def expected_fill_trade_id(self) -> str:
        return f"{self.expected_exchange_order_id}-{FILL_TIME_MS}"

    @property
    def target_funding_info_next_funding_utc_timestamp(self):
        # §6.3: Vest funds continuously; the connector reports the top of the next hour.
        return self._next_top_of_hour

    @property
    def target_funding_info_next_funding_utc_timestamp_ws_updated(self):
        return self._next_top_of_hour

    @property
    def _next_top_of_hour(self) -> int:
        return (int(time.time()) // 3600 + 1) * 3600

    def exchange_symbol_for_tokens(self, base_token: str, quote_token: str) -> str:
        return f"{base_token}-PERP"  # §6.4: crypto symbols are {COIN}-PERP whatever the quote

    def create_exchange_instance(self):
        return VestPerpetualDerivative(
            vest_perpetual_api_key=API_KEY,
            vest_perpetual_signing_private_key=SIGNING_KEY,
            vest_perpetual_account_group=ACCOUNT_GROUP,
            trading_pairs=[self.trading_pair],
        )

    def _simulate_trading_rules_initialized(self):
        # The suite's rule (min size 0.01, tick 0.0001, step 0.000001), plus the Vest market the connector signs
        # with (sizeDecimals 6, priceDecimals 4), as _update_trading_rules would have stored from exchangeInfo.
        super()._simulate_trading_rules_initialized()
        self.exchange._markets = {self.trading_pair: parse_market(symbol_row())}

    # ------------------------------------------------------------------------------------------ validators
    def validate_auth_credentials_present(self, request_call: RequestCall):
        headers = request_call.kwargs["headers"]
        self.assertEqual(API_KEY, headers[CONSTANTS.API_KEY_HEADER])
        self.assertEqual(f"restserver{ACCOUNT_GROUP}", headers[CONSTANTS.ACCOUNT_GROUP_HEADER])

    def validate_order_creation_request(self, order: InFlightOrder, request_call: RequestCall):
        body = json.loads(request_call.kwargs["data"])
        sent = body["order"]
        self.assertEqual(SYMBOL, sent["symbol"])
        self.assertEqual(order.trade_type is TradeType.BUY, sent["isBuy"])
        self.assertEqual(CONSTANTS.ORDER_TYPE_LIMIT, sent["orderType"])
        self.assertEqual(CONSTANTS.TIME_IN_FORCE_GTC, sent["timeInForce"])
        # Exactly sizeDecimals (6) / priceDecimals (4) digits: the signed strings are the sent strings (§4.2).
        self.assertEqual(f"{order.amount:.6f}", sent["size"])
        self.assertEqual(f"{order.price:.4f}", sent["limitPrice"])
        self.assertEqual(getattr(order, "position", PositionAction.NIL) is PositionAction.CLOSE, sent["reduceOnly"])
        self.assertEqual(self.exchange.order_journal.nonce_of(order.client_order_id), sent["nonce"])
        self.assertEqual(CONSTANTS.RECV_WINDOW_MS, body["recvWindow"])
        self.assertTrue(body["signature"].startswith("0x"))
        self.assertEqual(SIGNER_ADDRESS, recover_order_signer(sent, body["signature"]))

    def validate_order_cancelation_request(self, order: InFlightOrder, request_call: RequestCall):
        body = json.loads(request_call.kwargs["data"])
        sent = body["order"]
        self.assertEqual(order.exchange_order_id, sent["id"])
        # §3.7: `time` and `nonce` are repeated in the query string.
        self.assertEqual({"time": sent["time"], "nonce": sent["nonce"]}, request_call.kwargs["params"])
        self.assertEqual(SIGNER_ADDRESS, recover_cancel_signer(sent, body["signature"]))

    def validate_order_status_request(self, order: InFlightOrder, request_call: RequestCall):
        params = request_call.kwargs["params"]
        self.assertEqual(order.exchange_order_id, params["id"])
        self.assertIn("time", params)

    def validate_trades_request(self, order: InFlightOrder, request_call: RequestCall):
        # No fills endpoint exists (§5.4): fills are read from the same GET /orders?id= row.
        self.validate_order_status_request(order, request_call)

    # ------------------------------------------------------------------------------------------ cancel mocks
    def configure_successful_cancelation_response(self, order: InFlightOrder, mock_api: aioresponses,
                                                  callback: Optional[Callable] = lambda *args, **kwargs: None) -> str:
        url = url_with_query(CONSTANTS.CANCEL_ORDER_PATH_URL)
        mock_api.post(url, body=json.dumps({"id": order.exchange_order_id}), callback=callback)
        return url

    def configure_erroneous_cancelation_response(self, order: InFlightOrder, mock_api: aioresponses,
                                                 callback: Optional[Callable] = lambda *args, **kwargs: None) -> str:
        url = url_with_query(CONSTANTS.CANCEL_ORDER_PATH_URL)
        mock_api.post(url, status=400, body=error_body(1022, "Invalid signature"), callback=callback)
        return url

    def configure_order_not_found_error_cancelation_response(
            self, order: InFlightOrder, mock_api: aioresponses,
            callback: Optional[Callable] = lambda *args, **kwargs: None) -> str:
        # 3017 "already processed or cancelled"; the connector then reads the order, which Vest does not know.
        url = url_with_query(CONSTANTS.CANCEL_ORDER_PATH_URL)
        mock_api.post(url, status=400, body=error_body(3017, "Order already processed or cancelled"))
        mock_api.get(url_with_query(CONSTANTS.ORDERS_PATH_URL), body=json.dumps([]), callback=callback)
        return url

    def configure_one_successful_one_erroneous_cancel_all_response(self, successful_order: InFlightOrder,
                                                                   erroneous_order: InFlightOrder,
                                                                   mock_api: aioresponses) -> List[str]:
        url = url_with_query(CONSTANTS.CANCEL_ORDER_PATH_URL)

        def respond(url, **kwargs):  # one endpoint, answered per order id
            order_id = json.loads(kwargs["data"])["order"]["id"]
            if order_id == successful_order.exchange_order_id:
                return None
            return CallbackResult(status=400, body=error_body(1022, "Invalid signature"))

        mock_api.post(url, body=json.dumps({"id": successful_order.exchange_order_id}), callback=respond,
                      repeat=True)
        return [url]

    # ------------------------------------------------------------------------------------------ status mocks
    def _mock_orders(self, mock_api: aioresponses, rows: Any, callback: Optional[Callable], repeat: bool = False,
                     status: int = 200) -> re.Pattern:
        url = url_with_query(CONSTANTS.ORDERS_PATH_URL)
        body = rows if isinstance(rows, str) else json.dumps(rows)
        mock_api.get(url, status=status, body=body, callback=callback, repeat=repeat)
        return url

    # Status mocks repeat (one poll after another). One `GET /orders?id=a,b,…` per poll gives fill and state together.
    def configure_completely_filled_order_status_response(self, order: InFlightOrder, mock_api: aioresponses,
                                                          callback: Optional[Callable] = lambda *args, **kwargs: None):
        return [self._mock_orders(mock_api, [order_row(order, "FILLED")], callback, repeat=True)]

    def configure_canceled_order_status_response(self, order: InFlightOrder, mock_api: aioresponses,
                                                 callback: Optional[Callable] = lambda *args, **kwargs: None):
        return [self._mock_orders(mock_api, [order_row(order, "CANCELLED")], callback, repeat=True)]

    def configure_open_order_status_response(self, order: InFlightOrder, mock_api: aioresponses,
                                             callback: Optional[Callable] = lambda *args, **kwargs: None):
        return [self._mock_orders(mock_api, [order_row(order, "NEW")], callback, repeat=True)]

    def configure_http_error_order_status_response(self, order: InFlightOrder, mock_api: aioresponses,
                                                   callback: Optional[Callable] = lambda *args, **kwargs: None):
        return self._mock_orders(mock_api, error_body(1002, "Unauthorized"), callback, repeat=True, status=401)

    def configure_partially_filled_order_status_response(
            self, order: InFlightOrder, mock_api: aioresponses,
            callback: Optional[Callable] = lambda *args, **kwargs: None):
        return self._mock_orders(mock_api, [self._partial_fill_row(order)], callback, repeat=True)

    def configure_order_not_found_error_order_status_response(
            self, order: InFlightOrder, mock_api: aioresponses,
            callback: Optional[Callable] = lambda *args, **kwargs: None) -> List[str]:
        # Vest answers an unknown id with an empty list (§3.8).
        return [self._mock_orders(mock_api, [], callback, repeat=True)]

    def configure_partial_fill_trade_response(self, order: InFlightOrder, mock_api: aioresponses,
                                              callback: Optional[Callable] = lambda *args, **kwargs: None):
        return self._mock_orders(mock_api, [self._partial_fill_row(order)], callback)

    def configure_erroneous_http_fill_trade_response(self, order: InFlightOrder, mock_api: aioresponses,
                                                     callback: Optional[Callable] = lambda *args, **kwargs: None):
        # Nothing to fail: Vest has no separate fills request, the fill comes in the status row (§3.8). A failing
        # GET /orders is covered by configure_http_error_order_status_response.
        return None

    def configure_full_fill_trade_response(self, order: InFlightOrder, mock_api: aioresponses,
                                           callback: Optional[Callable] = lambda *args, **kwargs: None):
        return self._mock_orders(mock_api, [order_row(order, "FILLED")], callback)

    def _partial_fill_row(self, order: InFlightOrder) -> Dict[str, Any]:
        return order_row(order, "PARTIALLY_FILLED", fill_size=self.expected_partial_fill_amount,
                         fill_price=self.expected_partial_fill_price)

    # ------------------------------------------------------------------------------------------ WS events
    def order_event_for_new_order_websocket_update(self, order: InFlightOrder):
        row = order_row(order, "NEW")
        return order_event({key: row[key] for key in ("id", "symbol", "isBuy", "orderType", "limitPrice", "size",
                                                      "reduceOnly", "initMarginRatio", "status", "postTime",
                                                      "nonce")})

    def order_event_for_canceled_order_websocket_update(self, order: InFlightOrder):
        # §5.4 partial shape: no symbol, found by nonce or id.
        return order_event({"id": order.exchange_order_id, "status": "CANCELLED", "postTime": POST_TIME_MS,
                            "nonce": order_nonce(order.client_order_id)})

    def order_event_for_full_fill_websocket_update(self, order: InFlightOrder):
        row = order_row(order, "FILLED")
        event = {key: row[key] for key in ("id", "symbol", "isBuy", "orderType", "limitPrice", "size", "reduceOnly",
                                           "initMarginRatio", "status", "postTime", "nonce", "lastFilledSize",
                                           "lastFilledPrice", "lastFilledTime", "avgFilledPrice", "fees")}
        event["cumFunding"] = "0"  # the WS name of settled funding (§5.4)
        return order_event(event)

    def trade_event_for_full_fill_websocket_update(self, order: InFlightOrder):
        return None  # no separate trade event: the ORDER event carries the fill (§5.4)

    def position_event_for_full_fill_websocket_update(self, order: InFlightOrder, unrealized_pnl: float):
        return None  # no position event (§5.4): positions come from GET /account

    def funding_info_event_for_websocket_update(self):
        # The public data source routes `tickers` rows to the pairs it subscribed; a pushed message implies the
        # subscription happened, so the pair is registered with the data source first.
        data_source = self.exchange._orderbook_ds
        data_source._track(SYMBOL, self.trading_pair)
        # A `tickers` push (§5.3) is parsed on arrival; with no listener running, its update waits in the queue.
        data_source._route({"channel": CONSTANTS.WS_TICKERS_CHANNEL, "data": [{
            "symbol": SYMBOL, "markPrice": str(self.target_funding_info_mark_price_ws_updated),
            "indexPrice": str(self.target_funding_info_index_price_ws_updated), "imbalance": "1",
            "oneHrFundingRate": str(self.target_funding_info_rate_ws_updated), "cumFunding": "0.6",
            "priceChange": "0", "priceChangePercent": "0", "status": "TRADING"}]})
        return data_source._message_queue[data_source._funding_info_messages_queue_key].get_nowait()

    # ------------------------------------------------------------------------------------------ position mocks
    def configure_successful_set_position_mode(self, position_mode: PositionMode, mock_api: aioresponses,
                                               callback: Optional[Callable] = lambda *args, **kwargs: None):
        pass  # ONEWAY is Vest's only mode and needs no request (§3.3)

    def configure_failed_set_position_mode(self, position_mode: PositionMode, mock_api: aioresponses,
                                           callback: Optional[Callable] = lambda *args, **kwargs: None
                                           ) -> Tuple[str, str]:
        return "", "Vest keeps one net position per market: only ONEWAY position mode is supported."

    def configure_failed_set_leverage(self, leverage: int, mock_api: aioresponses,
                                      callback: Optional[Callable] = lambda *args, **kwargs: None
                                      ) -> Tuple[str, str]:
        url = url_with_query(CONSTANTS.LEVERAGE_PATH_URL)  # §3.5: the parameters go in the query and the body
        mock_api.post(url, status=400, body=error_body(3021, "Cannot decrease leverage with an open position"),
                      callback=callback)
        return url, ("Vest error 3021 DECREASE_LEVERAGE_WITH_POSITION: Cannot decrease leverage with an open "
                     "position (HTTP 400). Vest does not allow lowering leverage while a COINALPHA-HBOT position is "
                     "open; close it first or keep the current leverage.")

    def configure_successful_set_leverage(self, leverage: int, mock_api: aioresponses,
                                          callback: Optional[Callable] = lambda *args, **kwargs: None):
        url = url_with_query(CONSTANTS.LEVERAGE_PATH_URL)
        mock_api.post(url, body=json.dumps({"symbol": SYMBOL, "value": leverage}), callback=callback)
        return url

    # ------------------------------------------------------------------------------------------ abstract test
    @aioresponses()
    def test_get_buy_and_sell_collateral_tokens(self, mock_api):
        # Margin and fees are in USDC on every Vest market (§1.5), whatever quote exchangeInfo names.
        self.configure_trading_rules_response(mock_api=mock_api)
        self.async_run_with_timeout(self.exchange._update_trading_rules())
        self.assertEqual(CONSTANTS.COLLATERAL_TOKEN, self.exchange.get_buy_collateral_token(self.trading_pair))
        self.assertEqual(CONSTANTS.COLLATERAL_TOKEN, self.exchange.get_sell_collateral_token(self.trading_pair))

    # ------------------------------------------------------------------------------------------ overrides
    def _track_open_buy_order(self) -> InFlightOrder:
        """The LIMIT BUY, with its exchange id, that the generic suite's status-poll tests track."""
        self.exchange._set_current_timestamp(1640780000)
        self.exchange.start_tracking_order(
            order_id=self.client_order_id_prefix + "1", exchange_order_id=str(self.expected_exchange_order_id),
            trading_pair=self.trading_pair, order_type=OrderType.LIMIT, trade_type=TradeType.BUY,
            price=Decimal("10000"), amount=Decimal("1"))
        return self.exchange.in_flight_orders[self.client_order_id_prefix + "1"]

    @aioresponses()
    async def test_update_order_status_when_request_fails_marks_order_as_not_found(self, mock_api):
        # OVERRIDE: the inherited test counts any failed status request (here HTTP 401) as "order not found".
        # Hummingbot fails, then cancels, an order after a few such counts, so 429s and 5xx bursts would kill live
        # Vest orders (the reliability suite shows it). Only Vest's own answer that the order is unknown counts;
        # the order stays open and uncounted, and the next poll retries.
        order = self._track_open_buy_order()
        url = self.configure_http_error_order_status_response(order=order, mock_api=mock_api)

        await self.exchange._update_order_status()

        self.validate_order_status_request(order=order, request_call=self._all_executed_requests(mock_api, url)[0])
        self.assertTrue(order.is_open)
        self.assertNotIn(order.client_order_id, self.exchange._order_tracker._order_not_found_records)

        mock_api.clear()
        self.configure_order_not_found_error_order_status_response(order=order, mock_api=mock_api)
        await self.exchange._update_order_status()
        self.assertEqual(1, self.exchange._order_tracker._order_not_found_records[order.client_order_id])

    @aioresponses()
    async def test_update_order_status_when_filled_correctly_processed_even_when_trade_fill_update_fails(
            self, mock_api):
        # OVERRIDE: the inherited test makes a separate fills request fail while the status request succeeds, and
        # expects the completion without a fill event. Vest has no separate fills request: one GET /orders row
        # carries the fill and the state (§3.8), so the same poll reports the fill, then the completion.
        order = self._track_open_buy_order()
        self.assertIsNone(self.configure_erroneous_http_fill_trade_response(order=order, mock_api=mock_api))
        [url] = self.configure_completely_filled_order_status_response(order=order, mock_api=mock_api)

        await self.exchange._update_order_status()
        await order.wait_until_completely_filled()
        await asyncio.sleep(0.1)

        self.assertEqual(1, len(self._all_executed_requests(mock_api, url)))
        self.assertTrue(order.is_filled and order.is_done)
        self.assertEqual([order.client_order_id], [event.order_id for event in self.order_filled_logger.event_log])
        self.assertEqual([order.client_order_id],
                         [event.order_id for event in self.buy_order_completed_logger.event_log])

    @aioresponses()
    async def test_update_balances(self, mock_api):
        # OVERRIDE: the inherited test expects a spot-style wallet with a COINALPHA (base) balance. A Vest account
        # holds USDC collateral only (§1.5, §3.3): total = balances[USDC].total, available = withdrawable.
        self._configure_balance_response(response=account_response(total="2000", withdrawable="1500"),
                                         mock_api=mock_api)
        await self.exchange._update_balances()
        self.assertEqual({"USDC": Decimal("2000")}, self.exchange.get_all_balances())
        self.assertEqual({"USDC": Decimal("1500")}, self.exchange.available_balances)
        self.assertNotIn(self.base_asset, self.exchange.get_all_balances())

        self._configure_balance_response(response=account_response(total="15", withdrawable="10"),
                                         mock_api=mock_api)
        await self.exchange._update_balances()
        self.assertEqual(Decimal("15"), self.exchange.get_balance("USDC"))
        self.assertEqual(Decimal("10"), self.exchange.available_balances["USDC"])

    @aioresponses()
    async def test_user_stream_balance_update(self, mock_api):
        # OVERRIDE: Vest pushes no balance event (§5.4). An account event that moves collateral (TRANSFER) makes the
        # connector re-read GET /account, which is where balances come from.
        self.exchange._set_current_timestamp(1640780000)
        request_sent = asyncio.Event()
        self._configure_balance_response(response=account_response(total="15", withdrawable="10"),
                                         mock_api=mock_api, callback=lambda *args, **kwargs: request_sent.set())

        mock_queue = AsyncMock()
        mock_queue.get.side_effect = [self.balance_event_websocket_update, asyncio.CancelledError]
        self.exchange._user_stream_tracker._user_stream = mock_queue
        try:
            await self.exchange._user_stream_event_listener()
        except asyncio.CancelledError:
            pass
        await asyncio.wait_for(request_sent.wait(), 1)
        await asyncio.wait_for(self.exchange._account_refresh_task, 1)

        self.assertEqual(Decimal("10"), self.exchange.available_balances["USDC"])
        self.assertEqual(Decimal("15"), self.exchange.get_balance("USDC"))

    @aioresponses()
    def test_user_stream_update_for_order_full_fill(self, mock_api):
        # OVERRIDE: Vest pushes no position event (§5.4). The inherited assertions on the fill and the completion
        # are kept; the position is then read from GET /account, which the connector requests after a fill.
        self.exchange._set_current_timestamp(1640780000)
        leverage = 2
        self.exchange._perpetual_trading.set_leverage(self.trading_pair, leverage)
        self.exchange.start_tracking_order(
            order_id=self.client_order_id_prefix + "1",
            exchange_order_id=self.exchange_order_id_prefix + "1",
            trading_pair=self.trading_pair,
            order_type=OrderType.LIMIT,
            trade_type=TradeType.SELL,
            price=Decimal("10000"),
            amount=Decimal("1"),
            position_action=PositionAction.OPEN,
        )
        order = self.exchange.in_flight_orders[self.client_order_id_prefix + "1"]
        self._configure_balance_response(
            response=account_response(positions=[position_row(is_long=False, size="1", entry_price="10000",
                                                              unrealized_pnl="12")],
                                      leverages=[{"symbol": SYMBOL, "value": leverage}]),
            mock_api=mock_api)

        mock_queue = AsyncMock()
        mock_queue.get.side_effect = [self.order_event_for_full_fill_websocket_update(order=order),
                                      asyncio.CancelledError]
        self.exchange._user_stream_tracker._user_stream = mock_queue
        try:
            self.async_run_with_timeout(self.exchange._user_stream_event_listener())
        except asyncio.CancelledError:
            pass
        self.async_run_with_timeout(order.wait_until_completely_filled())
        self.async_run_with_timeout(self.exchange._account_refresh_task)
        self.async_run_with_timeout(wait_until(lambda: order.is_done and self.sell_order_completed_logger.event_log))

        fill_event: OrderFilledEvent = self.order_filled_logger.event_log[0]
        self.assertEqual(self.exchange.current_timestamp, fill_event.timestamp)
        self.assertEqual(order.client_order_id, fill_event.order_id)
        self.assertEqual(order.trade_type, fill_event.trade_type)
        self.assertEqual(order.price, fill_event.price)
        self.assertEqual(order.amount, fill_event.amount)
        self.assertEqual(self.expected_fill_fee, fill_event.trade_fee)
        self.assertEqual(leverage, fill_event.leverage)
        self.assertEqual(PositionAction.OPEN.value, fill_event.position)

        sell_event: SellOrderCompletedEvent = self.sell_order_completed_logger.event_log[0]
        self.assertEqual(order.client_order_id, sell_event.order_id)
        self.assertEqual(order.amount, sell_event.base_asset_amount)
        self.assertEqual(order.amount * fill_event.price, sell_event.quote_asset_amount)
        self.assertNotIn(order.client_order_id, self.exchange.in_flight_orders)
        self.assertTrue(order.is_filled)
        self.assertTrue(self.is_logged("INFO", f"SELL order {order.client_order_id} completely filled."))

        self.assertEqual(1, len(self.exchange.account_positions))
        position: Position = self.exchange.account_positions[self.trading_pair]
        self.assertEqual(PositionSide.SHORT, position.position_side)
        self.assertEqual(Decimal("12"), position.unrealized_pnl)
        self.assertEqual(fill_event.price, position.entry_price)
        self.assertEqual(-fill_event.amount, position.amount)
        self.assertEqual(leverage, position.leverage)

    def test_set_position_mode_failure(self):
        # OVERRIDE: the inherited test waits for an exchange request; Vest has no position-mode endpoint and only
        # one-way positions (§3.3), so HEDGE is refused locally, with no request and a failure event.
        _, error_msg = self.configure_failed_set_position_mode(PositionMode.HEDGE, mock_api=None)
        self.async_run_with_timeout(
            self.exchange._execute_set_position_mode(PositionMode.HEDGE))
        self.assertTrue(self.is_logged("ERROR", f"Failed to set position mode to {PositionMode.HEDGE}: {error_msg}"))
        self.assertEqual(PositionMode.ONEWAY, self.exchange.position_mode)

        # Through the public entry point HEDGE is not even attempted.
        self.exchange.set_position_mode(PositionMode.HEDGE)
        self.assertTrue(self.is_logged("ERROR", f"Position mode {PositionMode.HEDGE} is not supported. Mode not set."))

    def test_set_position_mode_success(self):
        # OVERRIDE: the inherited test switches to HEDGE and back; Vest only has ONEWAY (§3.3), which is accepted
        # without any exchange request.
        with aioresponses() as mock_api:
            self.async_run_with_timeout(self.exchange._execute_set_position_mode(PositionMode.ONEWAY))
            self.assertEqual(0, len(mock_api.requests))
        self.assertEqual(PositionMode.ONEWAY, self.exchange.position_mode)
        self.assertTrue(self.is_logged("INFO", f"Position mode switched to {PositionMode.ONEWAY}."))

    def test_funding_payment_polling_loop_sends_update_event(self):
        # OVERRIDE: Vest has no funding-payment endpoint (§6.3); the inherited test waits for a request to it.
        # Funding settles into a filled order's `settledFunding` (positive = received), which the polling loop
        # reports as one FundingPaymentCompletedEvent, once.
        self._simulate_trading_rules_initialized()
        self.exchange._perpetual_trading.initialize_funding_info(FundingInfo(
            trading_pair=self.trading_pair, index_price=Decimal("1"), mark_price=Decimal("2"),
            next_funding_utc_timestamp=1657099053, rate=Decimal("0.0001")))
        self.exchange._set_current_timestamp(1640780000)
        self.exchange.start_tracking_order(
            order_id=self.client_order_id_prefix + "1", exchange_order_id=self.expected_exchange_order_id,
            trading_pair=self.trading_pair, order_type=OrderType.LIMIT, trade_type=TradeType.BUY,
            price=Decimal("10000"), amount=Decimal("1"), position_action=PositionAction.CLOSE)
        order = self.exchange.in_flight_orders[self.client_order_id_prefix + "1"]

        async def run_test():
            with aioresponses() as mock_api:
                self._configure_balance_response(account_response(), mock_api)  # the refresh after the fill
                loop_task = asyncio.create_task(self.exchange._funding_payment_polling_loop())
                self.async_tasks.append(loop_task)
                # The first pass only records the starting point.
                await wait_until(lambda: self.trading_pair in self.exchange._last_funding_fee_payment_ts)
                self.assertEqual(0, len(self.funding_payment_logger.event_log))

                event = self.order_event_for_full_fill_websocket_update(order)
                event["data"]["args"]["cumFunding"] = "-1.25"  # settled funding of this fill (§5.4)
                mock_queue = AsyncMock()
                mock_queue.get.side_effect = [event, asyncio.CancelledError]
                self.exchange._user_stream_tracker._user_stream = mock_queue
                try:
                    await self.exchange._user_stream_event_listener()
                except asyncio.CancelledError:
                    pass

                self.exchange._funding_fee_poll_notifier.set()
                await self.funding_payment_logger.wait_for(FundingPaymentCompletedEvent, timeout_seconds=1)
                await self.exchange._update_all_funding_payments(fire_event_on_new=True)  # nothing new
                await asyncio.wait_for(self.exchange._account_refresh_task, 1)

        self.async_run_with_timeout(run_test())

        self.assertEqual(1, len(self.funding_payment_logger.event_log))
        funding_event: FundingPaymentCompletedEvent = self.funding_payment_logger.event_log[0]
        self.assertEqual(FILL_TIME_MS * 1e-3, funding_event.timestamp)
        self.assertEqual(self.exchange.name, funding_event.market)
        self.assertEqual(self.trading_pair, funding_event.trading_pair)
        self.assertEqual(Decimal("-1.25"), funding_event.amount)
        self.assertEqual(Decimal("0.0001"), funding_event.funding_rate)
        self.assertTrue(self.is_logged("INFO", f"Funding payment of 1.25 paid on {self.trading_pair} market."))
