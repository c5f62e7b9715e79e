"""aiohttp application: thin REST handlers under `/v2` (docs/vest-protocol.md §2-3), the WS hub at `/ws-api` (§5) and the
fault middleware. Business logic lives in `engine.py` / `market.py`.

Headers (§1.3, §3.1, §7.2): private routes need `X-API-KEY` (missing/unknown -> 1002, HTTP 401) and
`xrestservermm: restserver<g>` equal to the key's group (missing/malformed/mismatch -> 1146). Public routes and
/register accept a missing `xrestservermm` (sources conflict, §9.3) unless `strict_requests`, but reject a
malformed or unknown one.

Rate limits (§7.11, ratelimit.py): every /v2 request passes the `rate_limits` windows first; one over a limit is
answered 429 at once (after `response_delay`) and never reaches its handler.

Answer faults decided per route (§7.11): `garble_cancel_response` (HTML 200, cancel not executed),
`fail_order_queries` (plain-text 503 on `GET /orders`), `account_without_positions`, `drop_order_response`,
`stall_order_requests` (held unprocessed until the client disconnects, then discarded). Request readings (§7.13):
`leverage_params`, `cancel_requires_time_query`, `strict_requests`, `limit_above_max`, `unknown_symbols`,
`end_time_default`, `rate_limit_code`.
"""
from __future__ import annotations

import asyncio
import json
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Awaitable, Callable, List, Optional, Set

from aiohttp import web

from . import errors as E
from .errors import RequestValidationError, VestError
from .faults import GARBLED_BODY
from .market import INTERVAL_MS, MAX_HISTORY_LIMIT
from .models import ORDER_STATUSES, Account
from .ratelimit import ROUTES, retry_after_header, route_name
from .schema import CancelRequest, LeverageRequest, LpRequest, OrderRequest, RegisterRequest, WithdrawRequest, query_int
from .util import fmt_usdc
from .ws import parse_group

if TYPE_CHECKING:
    from .simulator import VestSimulator

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
DEPTH_DEFAULT, DEPTH_MAX = 20, 100
CONTROL_PREFIX = "/_sim/"
API_PREFIX = "/v2/"
HOLD_POLL_S = 0.02  # how often a held request checks whether its client is still connected


def _json(data: Any, status: int = 200, headers: Optional[dict] = None) -> web.Response:
    return web.Response(body=json.dumps(data, separators=(",", ":")).encode(), status=status,
                        content_type="application/json", headers=headers)


class Api:
    """REST handlers bound to one simulator."""

    def __init__(self, sim: "VestSimulator") -> None:
        self.sim = sim
        self.engine = sim.engine
        self.market = sim.market
        self._shutting_down = False

    async def on_shutdown(self, _app: web.Application) -> None:
        self._shutting_down = True  # held requests let go (`_hold`), so the server's shutdown does not wait on them

    # ---- middleware ----------------------------------------------------------------------------------------
    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        if path.startswith(CONTROL_PREFIX):
            return await handler(request)
        self.sim.request_counts[(request.method, path)] += 1
        faults = self.sim.faults
        if not path.startswith(API_PREFIX):
            return await handler(request)
        route = route_name(request.method, path)
        limiter = self.sim.rate_limiter
        wait = limiter.admit(route, self._identity(request, route), faults.rate_limits, faults.rate_limits_version)
        if faults.response_delay > 0:
            await asyncio.sleep(faults.response_delay)
        if wait is not None:  # over a `rate_limits` rule: refused before any processing
            limiter.note_429(route)
            return self._rate_limited(retry_after_header(wait))
        status = faults.http_error()
        if status == 429:
            limiter.note_429(route)
            return self._rate_limited(f"{faults.retry_after:g}")
        if status is not None:
            return web.Response(status=status, text=_reason(status))
        try:
            return await handler(request)
        except VestError as error:
            return self._error(error)
        except RequestValidationError as error:
            return _json({"detail": error.details}, status=422)
        except web.HTTPNotFound:
            return _json({"detail": "Not Found"}, status=404)
        except web.HTTPMethodNotAllowed:
            return _json({"detail": "Method Not Allowed"}, status=405)

    @staticmethod
    def _identity(request: web.Request, route: str) -> str:
        """Whose budget a request uses (ratelimit.py): the client address on public routes (a key sent along is
        ignored), else its API key, or the client address when it has none."""
        api_key = None if ROUTES.get(route) is False else request.headers.get("X-API-KEY")
        return f"key:{api_key}" if api_key else f"ip:{request.remote}"

    def _rate_limited(self, retry_after: str) -> web.Response:
        """HTTP 429: body code 1003 (Error Codes) or 429 (the docs' example, `rate_limit_code`); `Retry-After`
        unless `retry_after_header` is off."""
        faults = self.sim.faults
        code = E.RATE_LIMITED if faults.rate_limit_code == E.RATE_LIMITED else E.TOO_MANY_REQUESTS
        return self._error(VestError(code), {"Retry-After": retry_after} if faults.retry_after_header else None)

    def _error(self, error: VestError, headers: Optional[dict] = None) -> web.Response:
        body = {"code": error.code, "msg": error.msg}
        if self.sim.faults.error_envelope == "detail":
            body = {"detail": body}
        return _json(body, status=error.http_status, headers=headers)

    # ---- helpers -------------------------------------------------------------------------------------------
    def _check_group_header(self, request: web.Request, expected: Optional[int] = None) -> None:
        value = request.headers.get("xrestservermm")
        if value is None and expected is None and not self.sim.faults.strict_requests:
            return
        try:
            group = parse_group(value, self.engine.account_groups)
        except (ValueError, LookupError):
            raise VestError(E.INVALID_ACCOUNT_GROUP) from None
        if expected is not None and group != expected:
            raise VestError(E.INVALID_ACCOUNT_GROUP)

    def _auth(self, request: web.Request) -> Account:
        acct = self.engine.account_by_api_key(request.headers.get("X-API-KEY"))
        self._check_group_header(request, acct.group)
        return acct

    @staticmethod
    async def _body(request: web.Request, empty: Any = None) -> Any:
        """The JSON body (422 `json_invalid` when unreadable); `empty`, when given, stands for an empty body."""
        raw = await request.read()
        if empty is not None and not raw.strip():
            return empty
        try:
            return json.loads(raw)
        except ValueError as error:
            raise RequestValidationError([{"type": "json_invalid", "loc": ["body", 0], "msg": "JSON decode error",
                                           "input": {}, "ctx": {"error": str(error)}}]) from None

    def _symbols_filter(self, request: web.Request) -> List[str]:
        """The `symbols` comma list; unknown symbols: 1121, or left out under `unknown_symbols="skip"`."""
        text = request.query.get("symbols")
        if not text:
            return self.market.symbols
        symbols = [s for s in text.split(",") if s]
        if self.sim.faults.unknown_symbols == "skip":
            return [s for s in symbols if s in self.market.states]
        if any(s not in self.market.states for s in symbols):
            raise VestError(E.BAD_SYMBOL)
        return symbols

    def _symbol(self, request: web.Request) -> str:
        symbol = request.query.get("symbol")
        if not symbol:
            raise RequestValidationError.missing(["query", "symbol"])
        if symbol not in self.market.states:
            raise VestError(E.BAD_SYMBOL)
        return symbol

    def _limit(self, request: web.Request, default: int, maximum: int) -> int:
        """`limit`: below 1 -> 1130; above the documented maximum -> 1130, or the maximum (`limit_above_max`)."""
        limit = query_int(request.query, "limit")
        if limit is None:
            return default
        if limit > maximum and self.sim.faults.limit_above_max == "clamp":
            return maximum
        if not 1 <= limit <= maximum:
            raise VestError(E.INVALID_PARAMETER, f"limit must be between 1 and {maximum}")
        return limit

    def _end_time(self, request: web.Request) -> Optional[int]:
        """`endTime` "defaults to current" [Doc: 'GET /orders']; `end_time_default="unbounded"` applies none."""
        end = query_int(request.query, "endTime")
        if end is None and self.sim.faults.end_time_default == "now":
            return self.sim.now_ms()
        return end

    def _private_time(self, request: web.Request) -> None:
        """`time` of the private GETs: listed without "optional", required (422) under `strict_requests`."""
        query_int(request.query, "time", required=self.sim.faults.strict_requests)

    @staticmethod
    def _interval(request: web.Request) -> str:
        interval = request.query.get("interval", "1m")
        if interval not in INTERVAL_MS:
            raise VestError(E.INVALID_PARAMETER, "Invalid interval")
        return interval

    @staticmethod
    def _ids(request: web.Request) -> Optional[Set[str]]:
        text = request.query.get("id")
        return {s for s in text.split(",") if s} if text else None

    # ---- public --------------------------------------------------------------------------------------------
    async def exchange_info(self, request: web.Request) -> web.Response:
        self._check_group_header(request)
        symbols = self._symbols_filter(request)
        return _json({"symbols": [self.market.exchange_symbol(s) for s in symbols],
                      "exchange": {"lp": fmt_usdc(self.engine.lp_pool()), "insurance": fmt_usdc(self.sim.insurance),
                                   "collateralDecimals": 6}})

    async def ticker_latest(self, request: web.Request) -> web.Response:
        self._check_group_header(request)
        symbols = self._symbols_filter(request)
        self.market.accrue()
        return _json({"tickers": [self.market.ticker_latest(s) for s in symbols]})

    async def ticker_24hr(self, request: web.Request) -> web.Response:
        self._check_group_header(request)
        return _json({"tickers": [self.market.ticker_24hr(s) for s in self._symbols_filter(request)]})

    async def funding_history(self, request: web.Request) -> web.Response:
        self._check_group_header(request)
        symbol, interval = self._symbol(request), self._interval(request)
        limit = self._limit(request, MAX_HISTORY_LIMIT, MAX_HISTORY_LIMIT)
        self.market.accrue()
        return _json(self.market.funding_history(symbol, interval, query_int(request.query, "startTime"),
                                                 query_int(request.query, "endTime"), limit))

    async def klines(self, request: web.Request) -> web.Response:
        self._check_group_header(request)
        symbol, interval = self._symbol(request), self._interval(request)
        limit = self._limit(request, MAX_HISTORY_LIMIT, MAX_HISTORY_LIMIT)
        return _json(self.market.klines(symbol, interval, query_int(request.query, "startTime"),
                                        query_int(request.query, "endTime"), limit))

    async def trades(self, request: web.Request) -> web.Response:
        self._check_group_header(request)
        symbol = self._symbol(request)
        limit = self._limit(request, MAX_HISTORY_LIMIT, MAX_HISTORY_LIMIT)
        return _json(self.market.trades(symbol, query_int(request.query, "startTime"),
                                        query_int(request.query, "endTime"), limit))

    async def depth(self, request: web.Request) -> web.Response:
        self._check_group_header(request)
        symbol = self._symbol(request)
        return _json(self.market.depth(symbol, self._limit(request, DEPTH_DEFAULT, DEPTH_MAX)))

    # ---- private -------------------------------------------------------------------------------------------
    async def register(self, request: web.Request) -> web.Response:
        self._check_group_header(request)
        strict = self.sim.faults.strict_requests
        api_key, group = self.engine.register(RegisterRequest.parse(await self._body(request), strict))
        return _json({"apiKey": api_key, "accGroup": group})

    async def account(self, request: web.Request) -> web.Response:
        acct = self._auth(request)
        self._private_time(request)
        body = self.engine.render_account(acct)
        if self.sim.faults.account_without_positions:
            del body["positions"]
        return _json(body)

    async def account_nonce(self, request: web.Request) -> web.Response:
        acct = self._auth(request)
        query_int(request.query, "time", required=True)
        return _json({"lastNonce": acct.last_nonce})

    async def leverage(self, request: web.Request) -> web.Response:
        """Parameters from the body, the query string or both (`leverage_params`, §3.5)."""
        acct = self._auth(request)
        mode = self.sim.faults.leverage_params
        if mode == "query":
            req = LeverageRequest.parse(None, request.query, mode)  # the body is not read
        elif mode == "body":
            req = LeverageRequest.parse(await self._body(request), None, mode)  # the query string is ignored
        else:
            req = LeverageRequest.parse(await self._body(request, empty={}), request.query, mode)
        return _json(self.engine.set_leverage(acct, req))

    async def post_order(self, request: web.Request) -> web.StreamResponse:
        if self.sim.faults.take_order_stall():
            return await self._hold(request)
        acct = self._auth(request)
        order_id = self.engine.place_order(acct, OrderRequest.parse(await self._body(request)))
        self.sim.schedule_processing()
        if self.sim.faults.take_order_response_drop() and request.transport is not None:
            # Fault: the order is accepted and processed, but the connection is aborted before the response
            # (the client sees ServerDisconnectedError); aiohttp's write of the response below becomes a no-op.
            request.transport.abort()
        return _json({"id": order_id})

    async def _hold(self, request: web.Request) -> web.StreamResponse:
        """Fault `stall_order_requests`: the request is read, then held without being processed until its client
        disconnects, and discarded; the order is never booked. If the simulator stops first, the connection is
        aborted: the client gets no answer either way."""
        await request.read()
        while request.transport is not None and not request.transport.is_closing():
            if self._shutting_down:
                request.transport.abort()
                break
            await asyncio.sleep(HOLD_POLL_S)
        return web.Response(status=503, text=_reason(503))  # written nowhere: the connection is gone

    async def cancel_order(self, request: web.Request) -> web.Response:
        if self.sim.faults.take_cancel_garble():
            # Fault: something in front of Vest answers 200 with an HTML page; the cancel never reaches the engine.
            return web.Response(status=200, text=GARBLED_BODY, content_type="text/html")
        acct = self._auth(request)
        if self.sim.faults.cancel_requires_time_query:  # one server's behaviour; the docs show a body only
            query_int(request.query, "time", required=True)
        order_id = self.engine.cancel_order(acct, CancelRequest.parse(await self._body(request)))
        return _json({"id": order_id})

    async def get_orders(self, request: web.Request) -> web.Response:
        if self.sim.faults.take_order_query_failure():
            return web.Response(status=503, text=_reason(503))
        acct = self._auth(request)
        q = request.query
        status = q.get("status") or None
        if status is not None and ("," in status or status not in ORDER_STATUSES):
            raise VestError(E.INVALID_PARAMETER, "Invalid status")
        self._private_time(request)
        symbol = q.get("symbol") or None
        if symbol is not None and symbol not in self.market.states:
            if self.sim.faults.unknown_symbols != "skip":
                raise VestError(E.BAD_SYMBOL)
            return _json([])  # an unknown market has no orders
        return _json(self.engine.query_orders(
            acct, ids=self._ids(request), nonce=query_int(q, "nonce"), symbol=symbol,
            order_type=q.get("orderType") or None, status=status, start=query_int(q, "startTime"),
            end=self._end_time(request), limit=self._limit(request, MAX_HISTORY_LIMIT, MAX_HISTORY_LIMIT)))

    async def post_lp(self, request: web.Request) -> web.Response:
        acct = self._auth(request)
        return _json({"id": self.engine.lp_order(acct, LpRequest.parse(await self._body(request)))})

    def _rows(self, request: web.Request, rows: list, with_status: bool) -> web.Response:
        q = request.query
        self._private_time(request)
        return _json(self.engine.filter_rows(
            rows, ids=self._ids(request), nonce=query_int(q, "nonce"), order_type=q.get("orderType") or None,
            status=(q.get("status") or None) if with_status else None, start=query_int(q, "startTime"),
            end=self._end_time(request), limit=self._limit(request, MAX_HISTORY_LIMIT, MAX_HISTORY_LIMIT)))

    async def get_lp(self, request: web.Request) -> web.Response:
        acct = self._auth(request)
        return self._rows(request, acct.lp_orders, with_status=True)

    async def withdraw(self, request: web.Request) -> web.Response:
        acct = self._auth(request)
        req = WithdrawRequest.parse(await self._body(request), self.sim.faults.strict_requests)
        return _json({"id": self.engine.withdraw(acct, req)})

    async def get_transfers(self, request: web.Request) -> web.Response:
        acct = self._auth(request)
        return self._rows(request, acct.transfers, with_status=False)

    async def listen_key_post(self, request: web.Request) -> web.Response:
        return _json({"listenKey": self.engine.listen_key_post(self._auth(request))})

    async def listen_key_put(self, request: web.Request) -> web.Response:
        return _json({"listenKey": self.engine.listen_key_put(self._auth(request))})

    async def listen_key_delete(self, request: web.Request) -> web.Response:
        self.engine.listen_key_delete(self._auth(request))
        self.sim.schedule_listen_key_sweep()
        return _json({})

    def routes(self) -> List[web.RouteDef]:
        return [
            web.get("/v2/exchangeInfo", self.exchange_info),
            web.get("/v2/ticker/latest", self.ticker_latest),
            web.get("/v2/ticker/24hr", self.ticker_24hr),
            web.get("/v2/funding/history", self.funding_history),
            web.get("/v2/klines", self.klines),
            web.get("/v2/trades", self.trades),
            web.get("/v2/depth", self.depth),
            web.post("/v2/register", self.register),
            web.get("/v2/account", self.account),
            web.get("/v2/account/nonce", self.account_nonce),
            web.post("/v2/account/leverage", self.leverage),
            web.post("/v2/account/listenKey", self.listen_key_post),
            web.put("/v2/account/listenKey", self.listen_key_put),
            web.delete("/v2/account/listenKey", self.listen_key_delete),
            web.post("/v2/orders", self.post_order),
            web.get("/v2/orders", self.get_orders),
            web.post("/v2/orders/cancel", self.cancel_order),
            web.post("/v2/lp", self.post_lp),
            web.get("/v2/lp", self.get_lp),
            web.post("/v2/transfer/withdraw", self.withdraw),
            web.get("/v2/transfer", self.get_transfers),
        ]


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Server Error"


def build_app(sim: "VestSimulator") -> web.Application:
    from .control import control_routes

    api = Api(sim)
    app = web.Application(middlewares=[api.middleware])
    app.on_shutdown.append(api.on_shutdown)
    app.add_routes(api.routes())
    app.router.add_get("/ws-api", sim.hub.handle)
    app.add_routes(control_routes(sim))
    return app
