"""Opt-in live check of a Vest domain: `python -m vest_hummingbot.live_check [--domain …] [--place-order]`.

For users with network access. Public endpoints always; with keys in the environment (VEST_PERPETUAL_API_KEY,
VEST_PERPETUAL_SIGNING_KEY, VEST_PERPETUAL_ACCOUNT_GROUP) also the account, a listen key and the private stream;
only with `--place-order` and only on the testnet domain, a minimum-size LIMIT far from the market and its cancel.
A check that cannot run says why and is skipped. It goes through the connector's own requests and parsers.
"""
import argparse
import asyncio
import json
import os
import sys
from decimal import Decimal
from typing import Awaitable, Callable, List, Optional, Tuple

import aiohttp

from hummingbot.connector.derivative.vest_perpetual import (
    vest_perpetual_constants as CONSTANTS,
    vest_perpetual_web_utils as web_utils,
)
from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_auth import CancelAction, OrderAction
from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_derivative import VestPerpetualDerivative
from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_messages import (
    VestMarket,
    decode_frame,
    parse_account,
    parse_depth,
    parse_exchange_info,
    parse_listen_key,
    parse_order_id,
    parse_orders,
    parse_tickers,
)
from hummingbot.core.web_assistant.connections.connections_factory import ConnectionsFactory

API_KEY_ENV, SIGNING_KEY_ENV, GROUP_ENV = "VEST_PERPETUAL_API_KEY", "VEST_PERPETUAL_SIGNING_KEY", \
    "VEST_PERPETUAL_ACCOUNT_GROUP"
PRIVATE_ACK_TIMEOUT = 10.0
FAR_FROM_MARKET = Decimal("0.5")  # the test order's limit: half the mark price, so it rests and never fills


class LiveCheck:
    def __init__(self, domain: str, api_key: str, signing_key: str, account_group: int, place_order: bool):
        self.domain = domain
        self.place_order = place_order
        self.has_keys = bool(api_key and signing_key)
        self.connector = VestPerpetualDerivative(api_key, signing_key, account_group, trading_pairs=[],
                                                 trading_required=False, domain=domain)
        self.market: Optional[VestMarket] = None
        self.mark_price: Optional[Decimal] = None
        self.results: List[Tuple[str, str, str]] = []

    async def run(self) -> bool:
        await self._check("exchangeInfo", self._exchange_info)
        await self._check("ticker/latest", self._ticker, needs_market=True)
        await self._check("depth", self._depth, needs_market=True)
        keys_missing = None if self.has_keys else f"set {API_KEY_ENV} and {SIGNING_KEY_ENV} to check private access"
        await self._check("account", self._account, skip_reason=keys_missing)
        await self._check("listen key + private stream", self._private_stream, skip_reason=keys_missing)
        order_skip = keys_missing or self._order_skip_reason()
        await self._check("order + cancel (testnet)", self._order_and_cancel, needs_market=True,
                          skip_reason=order_skip)
        await ConnectionsFactory().close()
        return all(status != "FAIL" for _, status, _ in self.results)

    def _order_skip_reason(self) -> Optional[str]:
        if not self.place_order:
            return "pass --place-order to place and cancel a minimum-size order"
        if self.domain != CONSTANTS.TESTNET_DOMAIN:
            return f"orders are only placed on {CONSTANTS.TESTNET_DOMAIN}"
        return None

    async def _check(self, name: str, check: Callable[[], Awaitable[str]], needs_market: bool = False,
                     skip_reason: Optional[str] = None):
        if skip_reason is None and needs_market and self.market is None:
            skip_reason = "no tradable market was read"
        if skip_reason is not None:
            self.results.append((name, "SKIP", skip_reason))
        else:
            try:
                self.results.append((name, "OK", await check()))
            except Exception as error:  # every failure is reported, none stops the other checks
                self.results.append((name, "FAIL", f"{type(error).__name__}: {error}"))
        print(f"{self.results[-1][1]:5} {name}: {self.results[-1][2]}", flush=True)

    async def _exchange_info(self) -> str:
        markets, rejected = parse_exchange_info(await self.connector._api_get(CONSTANTS.EXCHANGE_INFO_PATH_URL))
        tradable = [market for market in markets if market.is_trading]
        self.market = tradable[0] if tradable else None
        return f"{len(markets)} markets ({len(tradable)} trading, {len(rejected)} unreadable)"

    async def _ticker(self) -> str:
        response = await self.connector._api_get(CONSTANTS.TICKER_LATEST_PATH_URL,
                                                 params={"symbols": self.market.symbol})
        ticker = parse_tickers(response)[0]
        self.mark_price = ticker.mark_price
        return f"{ticker.symbol} mark {ticker.mark_price}, 1h funding {ticker.one_hr_funding_rate}"

    async def _depth(self) -> str:
        bids, asks = parse_depth(await self.connector._api_get(
            CONSTANTS.DEPTH_PATH_URL, params={"symbol": self.market.symbol, "limit": CONSTANTS.DEPTH_LIMIT}))
        return f"{len(bids)} bids, {len(asks)} asks"

    async def _account(self) -> str:
        account = parse_account(await self.connector._api_get(
            CONSTANTS.ACCOUNT_PATH_URL, params={"time": self.connector._now_ms()}, is_auth_required=True))
        positions = "positions not reported" if account.positions is None else f"{len(account.positions)} positions"
        return f"balance {account.total_balance} USDC, {positions}"

    async def _private_stream(self) -> str:
        listen_key = parse_listen_key(await self.connector._api_post(CONSTANTS.LISTEN_KEY_PATH_URL,
                                                                     is_auth_required=True))
        url = web_utils.private_ws_url(listen_key, self.connector.account_group, self.domain)
        try:
            async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
                await ws.send_json({"method": CONSTANTS.WS_SUBSCRIBE_METHOD,
                                    "params": [CONSTANTS.WS_ACCOUNT_PRIVATE_CHANNEL], "id": 1})
                message = await ws.receive(timeout=PRIVATE_ACK_TIMEOUT)
                if message.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                    raise ConnectionError(f"private stream closed: {ws.close_code}")
                reply = decode_frame(message.data)
        finally:
            await self.connector._api_delete(CONSTANTS.LISTEN_KEY_PATH_URL, is_auth_required=True)
        return f"subscribed to {CONSTANTS.WS_ACCOUNT_PRIVATE_CHANNEL} (reply {json.dumps(reply)[:60]})"

    async def _order_and_cancel(self) -> str:
        market, auth = self.market, self.connector.authenticator
        order = OrderAction(time=self.connector._now_ms(), nonce=self.connector._nonces.next(),
                            order_type=CONSTANTS.ORDER_TYPE_LIMIT, symbol=market.symbol, is_buy=True,
                            size=market.format_size(market.size_step),
                            limit_price=market.format_price(self.mark_price * FAR_FROM_MARKET), reduce_only=False,
                            time_in_force=CONSTANTS.TIME_IN_FORCE_GTC)
        order_id = parse_order_id(await self.connector._api_post(CONSTANTS.ORDERS_PATH_URL,
                                                                 data=auth.signed_body(order), is_auth_required=True))
        cancel = CancelAction(time=self.connector._now_ms(), nonce=self.connector._nonces.next(), order_id=order_id)
        await self.connector._api_post(CONSTANTS.CANCEL_ORDER_PATH_URL, data=auth.signed_body(cancel),
                                       params={"time": cancel.time, "nonce": cancel.nonce}, is_auth_required=True)
        rows, _ = parse_orders(await self.connector._api_get(
            CONSTANTS.ORDERS_PATH_URL, params={"id": order_id, "time": self.connector._now_ms()},
            is_auth_required=True))
        return f"{order.size} {market.symbol} @ {order.limit_price}: {order_id} -> {rows[0].status if rows else '?'}"


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domain", default=CONSTANTS.TESTNET_DOMAIN, choices=sorted(CONSTANTS.REST_URLS))
    parser.add_argument("--place-order", action="store_true", help="testnet only: place and cancel a minimum order")
    args = parser.parse_args(argv)
    print(f"Vest live check of {args.domain} at {web_utils.rest_base_url(args.domain)}")

    async def run() -> bool:  # Hummingbot's connector is built inside a running event loop
        return await LiveCheck(args.domain, os.environ.get(API_KEY_ENV, ""), os.environ.get(SIGNING_KEY_ENV, ""),
                               int(os.environ.get(GROUP_ENV, "0") or 0), args.place_order).run()

    passed = asyncio.run(run())
    print("live check " + ("passed" if passed else "FAILED"))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
