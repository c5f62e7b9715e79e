"""Admin routes under the reserved `/_sim/` prefix (JSON in, JSON out) for out-of-process use.

They mirror the in-process `VestSimulator` API (see README.md). They are never faulted, never counted in
`request_counts`, and errors come back as HTTP 400 {"error": "..."} (a Vest refusal also carries its "code").
"""
from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Dict, List

from aiohttp import web

from .errors import VestError

if TYPE_CHECKING:
    from .simulator import VestSimulator


def _ok(data: Any) -> web.Response:
    return web.json_response(data, dumps=lambda d: json.dumps(d, default=str))


async def _body(request: web.Request) -> Dict[str, Any]:
    if not request.can_read_body:
        return {}
    data = await request.json()
    if not isinstance(data, dict):
        raise ValueError("body must be a JSON object")
    return data


Handler = Callable[[web.Request], Awaitable[web.Response]]


def _guard(handler: Handler) -> Handler:
    async def wrapped(request: web.Request) -> web.Response:
        try:
            return await handler(request)
        except VestError as error:
            return web.json_response({"error": f"VestError: {error}", "code": error.code}, status=400)
        except (ValueError, KeyError, TypeError, InvalidOperation) as error:
            return web.json_response({"error": f"{type(error).__name__}: {error}"}, status=400)
    return wrapped


def _flag(value: Any) -> bool:
    """A boolean from JSON or a query string ("1", "true", "yes")."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return bool(value)


def control_routes(sim: "VestSimulator") -> List[web.RouteDef]:
    async def health(request: web.Request) -> web.Response:
        return _ok({"ok": True, "restUrl": sim.rest_url, "wsUrl": sim.ws_url, "time": sim.now_ms(),
                    "symbols": sim.market.symbols})

    async def create_account(request: web.Request) -> web.Response:
        body = await _body(request)
        account = sim.create_account(signing_private_key=body.get("signingPrivateKey"),
                                     primary_private_key=body.get("primaryPrivateKey"),
                                     balance=Decimal(str(body.get("balance", "10000"))),
                                     account_group=int(body.get("accountGroup", 0)),
                                     signer_expiry_ms=body.get("signerExpiry"))
        return _ok(account.to_json())

    async def fund(request: web.Request) -> web.Response:
        body = await _body(request)
        sim.fund(body["address"], Decimal(str(body["amount"])))
        return _ok({"ok": True})

    async def price(request: web.Request) -> web.Response:
        body = await _body(request)
        sim.set_index_price(body["symbol"], Decimal(str(body["price"])))
        return _ok(sim.market.ticker_latest(body["symbol"]))

    async def clock(request: web.Request) -> web.Response:
        body = await _body(request)
        if "offsetMs" in body:
            sim.clock_offset_ms = int(body["offsetMs"])
        if "timeMs" in body:
            sim.set_clock(int(body["timeMs"]))
        if "advanceSeconds" in body:
            sim.advance_clock(float(body["advanceSeconds"]))
        return _ok({"time": sim.now_ms(), "offsetMs": sim.clock_offset_ms})

    async def step(request: web.Request) -> web.Response:
        body = await _body(request)
        for _ in range(int(body.get("count", 1))):
            sim.step()
        return _ok({"tickers": [sim.market.ticker_latest(s) for s in sim.market.symbols]})

    async def get_market_status(request: web.Request) -> web.Response:
        return _ok(sim.market_status())

    async def set_market_status(request: web.Request) -> web.Response:
        body = await _body(request)
        return _ok({"symbol": body["symbol"], "status": sim.set_market_status(body["symbol"], body["status"])})

    async def get_faults(request: web.Request) -> web.Response:
        return _ok(sim.faults.snapshot())

    async def set_faults(request: web.Request) -> web.Response:
        sim.faults.set(**await _body(request))
        return _ok(sim.faults.snapshot())

    async def reset_faults(request: web.Request) -> web.Response:
        sim.faults.reset()
        return _ok(sim.faults.snapshot())

    async def stats(request: web.Request) -> web.Response:
        data = sim.stats()
        return _ok({
            "requestCounts": [{"method": m, "path": p, "count": c} for (m, p), c in sorted(sim.request_counts.items())],
            "accounts": data["accounts"], "orders": data["orders"], "fills": data["fills"],
            "wsConnections": data["ws_connections"], "subscriptions": sim.hub.subscribed_channels(),
            "routeCounts": data["requests"], "rateLimited": data["rate_limited"],
            "rateLimitedTotal": data["rate_limited_total"], "http429": data["http_429"],
            "rateLimitPeaks": data["rate_limit_peaks"],
            "rateLimitBreaches": [breach.to_json() for breach in sim.rate_limit_breaches()],
        })

    async def reset_stats(request: web.Request) -> web.Response:
        sim.reset_stats()
        return _ok({"ok": True})

    async def orders(request: web.Request) -> web.Response:
        return _ok(sim.orders(request.query.get("address"), reported=_flag(request.query.get("reported", ""))))

    async def place_order(request: web.Request) -> web.Response:
        body = await _body(request)
        limit = body.get("limitPrice")
        order_id = sim.place_order(body["address"], body["symbol"], bool(body["isBuy"]), str(body["size"]),
                                   order_type=body.get("orderType", "LIMIT"),
                                   limit_price=None if limit is None else str(limit),
                                   reduce_only=bool(body.get("reduceOnly", False)),
                                   nonce=None if body.get("nonce") is None else int(body["nonce"]))
        return _ok({"id": order_id})

    async def liquidate(request: web.Request) -> web.Response:
        body = await _body(request)
        order_id = sim.liquidate(body["address"], body["symbol"], penalty=Decimal(str(body.get("penalty", "0"))),
                                 reject_open_orders=bool(body.get("rejectOpenOrders", False)))
        return _ok({"id": order_id})

    async def order_status(request: web.Request) -> web.Response:
        body = await _body(request)
        if body.get("status") is None:
            sim.clear_order_status_override(body["id"])
        else:
            sim.override_order_status(body["id"], str(body["status"]), emit=bool(body.get("emit", False)))
        return _ok(sim.engine.find_order(body["id"]).render(sim.faults.last_filled_reading, sim.faults.zero_for_null))

    async def order_fields(request: web.Request) -> web.Response:
        body = await _body(request)
        fields = body.get("fields") or {}
        if not isinstance(fields, dict):
            raise ValueError("fields must be a JSON object")
        sim.engine.override_order_fields(body["id"], fields, bool(body.get("events", False)),
                                         bool(body.get("emit", False)))  # any field name, "events" included
        return _ok(sim.engine.find_order(body["id"]).render(sim.faults.last_filled_reading, sim.faults.zero_for_null))

    async def positions(request: web.Request) -> web.Response:
        return _ok({symbol: f"{size:f}" for symbol, size in sim.positions(request.query["address"]).items()})

    async def fills(request: web.Request) -> web.Response:
        return _ok([f.to_json() for f in sim.fills(request.query.get("address"))])

    async def drop_websockets(request: web.Request) -> web.Response:
        body = await _body(request)
        dropped = await sim.drop_websockets(public=bool(body.get("public", True)),
                                            private=bool(body.get("private", True)), code=int(body.get("code", 1012)))
        return _ok({"dropped": dropped})

    async def silence_websockets(request: web.Request) -> web.Response:
        body = await _body(request)
        silenced = sim.silence_websockets(public=bool(body.get("public", True)), private=bool(body.get("private", True)))
        return _ok({"silenced": silenced})

    return [
        web.get("/_sim/health", _guard(health)),
        web.post("/_sim/accounts", _guard(create_account)),
        web.post("/_sim/fund", _guard(fund)),
        web.post("/_sim/price", _guard(price)),
        web.post("/_sim/clock", _guard(clock)),
        web.post("/_sim/step", _guard(step)),
        web.get("/_sim/market_status", _guard(get_market_status)),
        web.post("/_sim/market_status", _guard(set_market_status)),
        web.get("/_sim/faults", _guard(get_faults)),
        web.post("/_sim/faults", _guard(set_faults)),
        web.post("/_sim/faults/reset", _guard(reset_faults)),
        web.get("/_sim/stats", _guard(stats)),
        web.post("/_sim/stats/reset", _guard(reset_stats)),
        web.get("/_sim/orders", _guard(orders)),
        web.post("/_sim/orders", _guard(place_order)),
        web.post("/_sim/orders/status", _guard(order_status)),
        web.post("/_sim/orders/fields", _guard(order_fields)),
        web.post("/_sim/liquidate", _guard(liquidate)),
        web.get("/_sim/positions", _guard(positions)),
        web.get("/_sim/fills", _guard(fills)),
        web.post("/_sim/drop_websockets", _guard(drop_websockets)),
        web.post("/_sim/silence_websockets", _guard(silence_websockets)),
    ]
