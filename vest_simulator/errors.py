"""Vest error codes (docs/vest-protocol.md §6.6) and the exceptions the simulator raises for them.

1xxx codes are synchronous HTTP errors; 3xxx/4xxx/5xxx engine rejections are reported asynchronously as
REJECTED events (except 3015 DUPLICATE, 3017 ORDER_NOT_FOUND and 3021 which are answered synchronously). The
switches `closed_market_reply` and `expired_order_reply` (§7.13) move 1148 and 1132 of orders to their engine
counterparts 3024 and 3004.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional

UNAUTHORIZED = 1002
TOO_MANY_REQUESTS = 1003
INVALID_SIGNATURE = 1022
INVALID_NONCE = 1023
INVALID_NETWORK_TYPE = 1024
ACCOUNT_NOT_FOUND = 1099
BAD_DECIMALS = 1111
INVALID_ORDER_TYPE = 1116
BAD_SYMBOL = 1121
INVALID_LISTEN_KEY = 1125
INVALID_PARAMETER = 1130
BAD_RECV_WINDOW = 1131
ORDER_EXPIRED = 1132
INVALID_TIME_IN_FORCE = 1133
INVALID_TP_SL_PRICE = 1145
INVALID_ACCOUNT_GROUP = 1146
MARKET_CLOSED = 1148

PRICE_CHECK_FAILED = 3001
MARGIN_CHECK_FAILED = 3002
ORDER_STALE = 3004
DELETED_BY_LIQ = 3008
DUPLICATE = 3015
ORDER_NOT_FOUND = 3017
REDUCE_ONLY_INCREASES = 3018
REDUCE_ONLY_EXCEEDS_SIZE = 3019
DECREASE_LEVERAGE_WITH_POSITION = 3021
MARKET_CLOSED_REJECTION = 3024  # the engine's MARKET_CLOSED (the page lists the name twice: 1148 and 3024)
RATE_LIMITED = 429  # the body code of the page's rate-limit example {"code": 429, "msg": "Rate limited"}

LP_INSUFFICIENT_BALANCE = 4001
LP_WITHDRAW_WITHOUT_SHARES = 4007
LP_WITHDRAW_EXCEEDS_BALANCE = 4012
TRANSFER_MARGIN_CHECK_FAILED = 5002

# WebSocket close codes (§5.1)
WS_INTERNAL_ERROR = 1011
WS_SERVICE_RESTART = 1012
WS_WRONG_VERSION = 4000
WS_ACCOUNT_GROUP_NOT_FOUND = 4001
WS_ACCOUNT_GROUP_INVALID = 4002
WS_LISTEN_KEY_REQUIRED = 4003
WS_LISTEN_KEY_NOT_FOUND = 4004
WS_LISTEN_KEY_EXPIRED = 4005

MESSAGES = {
    UNAUTHORIZED: "Unauthorized",
    TOO_MANY_REQUESTS: "Too many requests",
    INVALID_SIGNATURE: "Invalid signature",
    INVALID_NETWORK_TYPE: "Invalid network type",
    BAD_DECIMALS: "Bad decimals",
    INVALID_ORDER_TYPE: "Invalid order type",
    BAD_SYMBOL: "Bad symbol",
    INVALID_LISTEN_KEY: "Listen key expired. Make a POST request to create a new key.",
    INVALID_PARAMETER: "Invalid parameter",
    BAD_RECV_WINDOW: "Bad recvWindow",
    ORDER_EXPIRED: "Order expired",
    INVALID_TIME_IN_FORCE: "Invalid time in force",
    INVALID_TP_SL_PRICE: "Invalid TP/SL price",
    INVALID_ACCOUNT_GROUP: "Invalid account group",
    MARKET_CLOSED: "Market closed",
    MARKET_CLOSED_REJECTION: "Market closed",
    ORDER_STALE: "Order stale",
    RATE_LIMITED: "Rate limited",
    DUPLICATE: "Duplicate",
    ORDER_NOT_FOUND: "Order already processed or cancelled",
    DECREASE_LEVERAGE_WITH_POSITION: "Cannot decrease leverage with an open position",
}

HTTP_STATUS = {UNAUTHORIZED: 401, TOO_MANY_REQUESTS: 429, RATE_LIMITED: 429}


class VestError(Exception):
    """A business error rendered as {"code","msg"} (or {"detail":{...}}), §3.12."""

    def __init__(self, code: int, msg: Optional[str] = None, http_status: Optional[int] = None) -> None:
        self.code = code
        self.msg = msg or MESSAGES.get(code, "Error")
        self.http_status = http_status or HTTP_STATUS.get(code, 400)
        super().__init__(f"{self.code}: {self.msg}")


class RequestValidationError(Exception):
    """A FastAPI-shaped HTTP 422 validation error: {"detail":[{type,loc,msg,input}]} (§3.4, §3.12)."""

    def __init__(self, details: List[Dict[str, Any]]) -> None:
        self.details = details
        super().__init__(str(details))

    @classmethod
    def missing(cls, loc: List[Any], parent: Any = None) -> "RequestValidationError":
        return cls([{"type": "missing", "loc": loc, "msg": "Field required", "input": parent}])

    @classmethod
    def wrong_type(cls, loc: List[Any], kind: str, value: Any) -> "RequestValidationError":
        messages = {
            "int": ("int_parsing" if isinstance(value, str) else "int_type", "Input should be a valid integer"),
            "str": ("string_type", "Input should be a valid string"),
            "bool": ("bool_type", "Input should be a valid boolean"),
            "dict": ("model_attributes_type", "Input should be a valid dictionary or object"),
        }
        type_name, msg = messages[kind]
        return cls([{"type": type_name, "loc": loc, "msg": msg, "input": value}])
