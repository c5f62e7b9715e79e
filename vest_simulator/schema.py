"""Request body/query parsing with FastAPI-shaped 422 errors (docs/vest-protocol.md §3.4, §3.6-3.10, §3.12).

Only the *shape* is validated here (presence and JSON types); business rules (1xxx codes) live in the engine.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, List, Mapping, Optional

from .errors import RequestValidationError

_KINDS = {"int": int, "str": str, "bool": bool, "dict": dict}


def field(obj: Mapping[str, Any], name: str, kind: str, loc: List[Any], optional: bool = False) -> Any:
    """Fetch obj[name] checking its JSON type; missing/null -> 422 unless optional."""
    value = obj.get(name)
    if value is None:
        if optional:
            return None
        raise RequestValidationError.missing(loc + [name], dict(obj))
    expected = _KINDS[kind]
    if not isinstance(value, expected) or (kind == "int" and isinstance(value, bool)):
        raise RequestValidationError.wrong_type(loc + [name], kind, value)
    return value


def query_int(query: Mapping[str, str], name: str, required: bool = False) -> Optional[int]:
    """An integer query parameter (422 `missing` / `int_parsing` like FastAPI)."""
    text = query.get(name)
    if text is None or text == "":
        if required:
            raise RequestValidationError.missing(["query", name], None)
        return None
    try:
        return int(text)
    except ValueError:
        raise RequestValidationError.wrong_type(["query", name], "int", text) from None


def query_str(query: Mapping[str, str], name: str, required: bool = False) -> Optional[str]:
    """A string query parameter (422 `missing` like FastAPI when required and absent or empty)."""
    text = query.get(name)
    if not text:
        if required:
            raise RequestValidationError.missing(["query", name], None)
        return None
    return text


def body_dict(body: Any) -> Mapping[str, Any]:
    if not isinstance(body, dict):
        raise RequestValidationError.wrong_type(["body"], "dict", body)
    return body


def _signed_envelope(body: Any) -> tuple:
    body = body_dict(body)
    order = field(body, "order", "dict", ["body"])
    recv_window = field(body, "recvWindow", "int", ["body"], optional=True)
    signature = field(body, "signature", "str", ["body"])
    return order, recv_window, signature


@dataclass(frozen=True)
class OrderRequest:
    """POST /orders (§3.6)."""

    time: int
    nonce: int
    symbol: str
    is_buy: bool
    size: str
    order_type: str
    limit_price: str
    reduce_only: bool
    time_in_force: Optional[str]
    tp_price: Optional[str]
    tp_signature: Optional[str]
    sl_price: Optional[str]
    sl_signature: Optional[str]
    recv_window: Optional[int]
    signature: str

    @classmethod
    def parse(cls, body: Any) -> "OrderRequest":
        order, recv_window, signature = _signed_envelope(body)
        loc = ["body", "order"]
        return cls(
            time=field(order, "time", "int", loc), nonce=field(order, "nonce", "int", loc),
            symbol=field(order, "symbol", "str", loc), is_buy=field(order, "isBuy", "bool", loc),
            size=field(order, "size", "str", loc), order_type=field(order, "orderType", "str", loc),
            limit_price=field(order, "limitPrice", "str", loc), reduce_only=field(order, "reduceOnly", "bool", loc),
            time_in_force=field(order, "timeInForce", "str", loc, optional=True),
            tp_price=field(order, "tpPrice", "str", loc, optional=True),
            tp_signature=field(order, "tpSignature", "str", loc, optional=True),
            sl_price=field(order, "slPrice", "str", loc, optional=True),
            sl_signature=field(order, "slSignature", "str", loc, optional=True),
            recv_window=recv_window, signature=signature,
        )


@dataclass(frozen=True)
class CancelRequest:
    """POST /orders/cancel (§3.7)."""

    time: int
    nonce: int
    id: str
    recv_window: Optional[int]
    signature: str

    @classmethod
    def parse(cls, body: Any) -> "CancelRequest":
        order, recv_window, signature = _signed_envelope(body)
        loc = ["body", "order"]
        return cls(field(order, "time", "int", loc), field(order, "nonce", "int", loc), field(order, "id", "str", loc),
                   recv_window, signature)


@dataclass(frozen=True)
class LpRequest:
    """POST /lp (§3.9)."""

    time: int
    nonce: int
    order_type: str
    size: str
    recv_window: Optional[int]
    signature: str

    @classmethod
    def parse(cls, body: Any) -> "LpRequest":
        order, recv_window, signature = _signed_envelope(body)
        loc = ["body", "order"]
        return cls(field(order, "time", "int", loc), field(order, "nonce", "int", loc),
                   field(order, "orderType", "str", loc), field(order, "size", "str", loc), recv_window, signature)


@dataclass(frozen=True)
class WithdrawRequest:
    """POST /transfer/withdraw (§3.10); `size` is an integer in USDC base units (1e-6)."""

    time: int
    nonce: int
    recipient: str
    token: str
    size: int
    chain_id: int
    execute: bool
    recv_window: Optional[int]
    signature: str

    @classmethod
    def parse(cls, body: Any, strict: bool = False) -> "WithdrawRequest":
        """`execute` is in the docs' example without "optional"; it is required only under `strict_requests`."""
        order, recv_window, signature = _signed_envelope(body)
        loc = ["body", "order"]
        execute = field(body_dict(body), "execute", "bool", ["body"], optional=not strict)
        return cls(field(order, "time", "int", loc), field(order, "nonce", "int", loc),
                   field(order, "recipient", "str", loc), field(order, "token", "str", loc),
                   field(order, "size", "int", loc), field(order, "chainId", "int", loc),
                   bool(execute), recv_window, signature)


@dataclass(frozen=True)
class RegisterRequest:
    """POST /register (§3.2)."""

    signing_addr: str
    primary_addr: str
    signature: str
    expiry_time: int
    network_type: int

    @classmethod
    def parse(cls, body: Any, strict: bool = False) -> "RegisterRequest":
        """`networkType` is in the docs' example; it defaults to 0 unless `strict_requests` requires it."""
        body = body_dict(body)
        loc = ["body"]
        return cls(field(body, "signingAddr", "str", loc), field(body, "primaryAddr", "str", loc),
                   field(body, "signature", "str", loc), field(body, "expiryTime", "int", loc),
                   field(body, "networkType", "int", loc, optional=not strict) or 0)


@dataclass(frozen=True)
class LeverageRequest:
    """POST /account/leverage (§3.5): time, symbol, value, listed as "Parameters" (the page's word for query
    strings elsewhere) while clients send a JSON body."""

    time: int
    symbol: str
    value: int

    FIELDS = (("time", "int"), ("symbol", "str"), ("value", "int"))

    @classmethod
    def parse(cls, body: Any, query: Optional[Mapping[str, str]] = None, mode: str = "body") -> "LeverageRequest":
        """`mode` is the `leverage_params` switch: "body" reads the JSON body only, "query" the query string only,
        "either" each field from the body and, where the body lacks it (absent or null), from the query string.
        A missing or mistyped field is a 422 at `["body", name]`, or `["query", name]` when read from the query."""
        query = query or {}
        if mode == "query":
            return cls(*(_query_value(query, name, kind) for name, kind in cls.FIELDS))
        body = body_dict(body)
        values = []
        for name, kind in cls.FIELDS:
            if mode == "either" and body.get(name) is None and query.get(name):
                values.append(_query_value(query, name, kind))
            else:
                values.append(field(body, name, kind, ["body"]))
        return cls(*values)


def _query_value(query: Mapping[str, str], name: str, kind: str) -> Any:
    return query_int(query, name, required=True) if kind == "int" else query_str(query, name, required=True)
