"""Private REST: headers, register, account, nonce, leverage, listen keys, LP, transfers (docs/vest-protocol.md §3)."""
from __future__ import annotations

from decimal import Decimal

from vest_simulator import DEV_ROUTER, PROD_ROUTER
from vest_simulator.signatures import address_of, to_checksum

from .base import SimTestCase
from .signing import (
    OTHER_KEY,
    PRIMARY_ADDRESS,
    SIGNING_ADDRESS,
    SIGNING_KEY,
    USDC_BASE,
    lp_body,
    signer_proof_signature,
    withdraw_body,
)


class HeaderTests(SimTestCase):
    async def test_api_key_required(self) -> None:
        self.assert_error(await self.call("GET", "/account", headers={"xrestservermm": "restserver0"}), 1002, 401)
        self.assert_error(await self.call("GET", "/account", headers={"X-API-KEY": "nope",
                                                                      "xrestservermm": "restserver0"}), 1002, 401)
        status, _ = await self.call("GET", "/account", headers={"x-api-key": self.acct.api_key,
                                                                "XRESTSERVERMM": "restserver0"})
        self.assertEqual(200, status)  # header names are case-insensitive

    async def test_account_group_header(self) -> None:
        for value in ("restserver1", "restserverA", "", None):
            headers = {"X-API-KEY": self.acct.api_key}
            if value is not None:
                headers["xrestservermm"] = value
            self.assert_error(await self.call("GET", "/account", headers=headers), 1146)
        other = self.sim.create_account(signing_private_key=OTHER_KEY, account_group=3)
        status, _ = await self.call("GET", "/account", headers=self.headers(other))
        self.assertEqual(200, status)
        self.assert_error(await self.call("GET", "/account", headers=self.headers(other, "restserver0")), 1146)


class RegisterTests(SimTestCase):
    sim_kwargs = {"routers": (DEV_ROUTER, PROD_ROUTER)}

    def body(self, router: str, expiry: int, primary_key: str = OTHER_KEY) -> dict:
        primary = address_of(primary_key)
        return {"signingAddr": SIGNING_ADDRESS.lower(), "primaryAddr": primary,
                "signature": signer_proof_signature(primary_key, router, SIGNING_ADDRESS, expiry),
                "expiryTime": expiry, "networkType": 0}

    async def test_register_then_trade(self) -> None:
        expiry = self.sim.now_ms() + 7 * 86_400_000
        for router in (DEV_ROUTER, PROD_ROUTER):
            status, body = await self.call("POST", "/register", body=self.body(router, expiry), auth=False)
            self.assertEqual(200, status, body)
            self.assertEqual(0, body["accGroup"])
            self.assertIsInstance(body["apiKey"], str)
        primary = to_checksum(address_of(OTHER_KEY))
        self.sim.fund(primary, Decimal("5000"))
        status, account = await self.call("GET", "/account", headers={"X-API-KEY": body["apiKey"],
                                                                      "xrestservermm": "restserver0"})
        self.assertEqual((primary, "5000.000000"), (account["address"], account["collateral"]))

    async def test_register_errors(self) -> None:
        now = self.sim.now_ms()
        self.assert_error(await self.call("POST", "/register", body=self.body(DEV_ROUTER, now - 1), auth=False), 1022)
        bad = self.body(DEV_ROUTER, now + 10_000)
        bad["expiryTime"] += 1  # signature no longer matches
        self.assert_error(await self.call("POST", "/register", body=bad, auth=False), 1022)
        wrong_router = self.body("0x" + "11" * 20, now + 10_000)
        self.assert_error(await self.call("POST", "/register", body=wrong_router, auth=False), 1022)
        self.assert_error(await self.call("POST", "/register", body={**self.body(DEV_ROUTER, now + 10_000),
                                                                     "networkType": 1}, auth=False), 1024)
        status, body = await self.call("POST", "/register", body={"signingAddr": SIGNING_ADDRESS}, auth=False)
        self.assertEqual(422, status)
        self.assertEqual(["body", "primaryAddr"], body["detail"][0]["loc"])

    async def test_dev_router_only_by_default(self) -> None:
        sim_routers = self.sim.engine.routers
        self.sim.engine.routers = [DEV_ROUTER.lower()]
        try:
            body = self.body(PROD_ROUTER, self.sim.now_ms() + 10_000)
            self.assert_error(await self.call("POST", "/register", body=body, auth=False), 1022)
        finally:
            self.sim.engine.routers = sim_routers


class AccountTests(SimTestCase):
    async def test_account_shape(self) -> None:
        status, body = await self.call("GET", "/account", params={"time": self.sim.now_ms()})
        self.assertEqual(200, status)
        self.assertEqual(PRIMARY_ADDRESS, body["address"])
        self.assertEqual([{"asset": "USDC", "total": "10000.000000", "locked": "0.000000"}], body["balances"])
        for key in ("collateral", "withdrawable", "totalAccountValue", "openOrderMargin", "totalMaintMargin"):
            self.assertIsInstance(body[key], str)
        self.assertEqual([], body["positions"])
        self.assertIn({"symbol": "BTC-PERP", "value": 10}, body["leverages"])
        self.assertEqual({"balance", "shares", "unrealizedPnl"}, set(body["lp"]))
        self.assertIsInstance(body["time"], int)
        await self.place_ok(size="0.1000")
        position = (await self.call("GET", "/account"))[1]["positions"][0]
        self.assertEqual({"symbol", "isLong", "size", "entryPrice", "entryFunding", "unrealizedPnl", "settledFunding",
                          "markPrice", "indexPrice", "liqPrice", "initMargin", "maintMargin", "initMarginRatio"},
                         set(position))
        self.assertEqual((True, "0.1000", "650.000000", "0.1000"),
                         tuple(position[k] for k in ("isLong", "size", "initMargin", "initMarginRatio")))

    async def test_nonce(self) -> None:
        status, body = await self.call("GET", "/account/nonce")
        self.assertEqual(422, status)
        self.assertEqual({"detail": [{"type": "missing", "loc": ["query", "time"], "msg": "Field required",
                                      "input": None}]}, body)
        self.assertEqual((200, {"lastNonce": 0}),
                         await self.call("GET", "/account/nonce", params={"time": self.sim.now_ms()}))
        await self.place_ok(nonce=42)
        self.assertEqual({"lastNonce": 42}, (await self.call("GET", "/account/nonce", params={"time": 1}))[1])

    async def test_leverage(self) -> None:
        body = {"time": self.sim.now_ms(), "symbol": "BTC-PERP", "value": 20}
        self.assertEqual((200, {"symbol": "BTC-PERP", "value": 20}),
                         await self.call("POST", "/account/leverage", body=body))
        self.assert_error(await self.call("POST", "/account/leverage", body={**body, "value": 51}), 1130)
        self.assert_error(await self.call("POST", "/account/leverage", body={**body, "value": 0}), 1130)
        self.assert_error(await self.call("POST", "/account/leverage", body={**body, "symbol": "X-PERP"}), 1121)
        await self.place_ok(size="0.0100")
        self.assert_error(await self.call("POST", "/account/leverage", body={**body, "value": 5}), 3021)
        self.assertEqual(200, (await self.call("POST", "/account/leverage", body={**body, "value": 50}))[0])
        order = self.order(await self.place_ok(size="0.0100"))
        self.assertEqual("0.0200", order["initMarginRatio"])  # max(IMR, 1/leverage)
        status, body422 = await self.call("POST", "/account/leverage", body={"symbol": "BTC-PERP", "value": 5})
        self.assertEqual((422, ["body", "time"]), (status, body422["detail"][0]["loc"]))


class ListenKeyTests(SimTestCase):
    async def test_lifecycle(self) -> None:
        self.assert_error(await self.call("PUT", "/account/listenKey"), 1125)
        status, body = await self.call("POST", "/account/listenKey")
        key = body["listenKey"]
        self.assertRegex(key, r"^[0-9a-f]{32}$")
        self.assertEqual(key, (await self.call("POST", "/account/listenKey"))[1]["listenKey"])  # same active key
        self.sim.advance_clock(50 * 60)
        self.assertEqual((200, {"listenKey": key}), await self.call("PUT", "/account/listenKey"))
        self.sim.advance_clock(50 * 60)  # 100 min after POST, 50 min after PUT: still valid
        self.assertEqual(200, (await self.call("PUT", "/account/listenKey"))[0])
        self.sim.advance_clock(61 * 60)
        status, body = await self.call("PUT", "/account/listenKey")
        self.assertEqual((400, {"code": 1125, "msg": "Listen key expired. Make a POST request to create a new key."}),
                         (status, body))
        new_key = (await self.call("POST", "/account/listenKey"))[1]["listenKey"]
        self.assertNotEqual(key, new_key)
        self.assertEqual((200, {}), await self.call("DELETE", "/account/listenKey"))
        self.assert_error(await self.call("PUT", "/account/listenKey"), 1125)


class LpAndTransferTests(SimTestCase):
    def lp(self, order_type: str, size: str) -> dict:
        return lp_body(SIGNING_KEY, time=self.sim.now_ms(), nonce=self.nonce(), order_type=order_type, size=size)

    async def test_lp(self) -> None:
        ws = await self.private_ws()
        status, body = await self.call("POST", "/lp", body=self.lp("DEPOSIT", "100"))
        self.assertEqual(200, status)
        event = (await self.recv_until(ws, lambda m: m["data"]["event"] == "LP"))["data"]["args"]
        self.assertEqual({"id": body["id"], "size": "100.000000", "orderType": "DEPOSIT", "status": "FILLED",
                          "code": None}, {k: event[k] for k in ("id", "size", "orderType", "status", "code")})
        # the docs' 'LP Order' payload: no `fees` (GET /lp rows carry them)
        self.assertEqual({"id", "size", "orderType", "status", "code", "postTime", "nonce"}, set(event))
        account = (await self.call("GET", "/account"))[1]
        self.assertEqual(("100.000000", "9900.000000"), (account["lp"]["balance"], account["collateral"]))
        self.assertEqual("1000100.000000", (await self.call("GET", "/exchangeInfo"))[1]["exchange"]["lp"])
        await self.call("POST", "/lp", body=self.lp("IMMEDIATE_WITHDRAW", "500"))
        event = (await self.recv_until(ws, lambda m: m["data"]["event"] == "LP"))["data"]["args"]
        self.assertEqual(("REJECTED", 4012), (event["status"], event["code"]))
        await self.call("POST", "/lp", body=self.lp("IMMEDIATE_WITHDRAW", "40"))
        event = (await self.recv_until(ws, lambda m: m["data"]["event"] == "LP"))["data"]["args"]
        self.assertEqual("FILLED", event["status"])
        row = (await self.call("GET", "/lp", params={"id": event["id"]}))[1][0]
        self.assertEqual("0.040000", row["fees"])
        await self.call("POST", "/lp", body=self.lp("SCHEDULE_WITHDRAW", "60"))
        event = (await self.recv_until(ws, lambda m: m["data"]["event"] == "LP"))["data"]["args"]
        self.assertEqual("NEW", event["status"])
        self.sim.advance_clock(1800)
        self.assertEqual(200, (await self.call("PUT", "/account/listenKey"))[0])  # keep the private stream alive
        self.sim.advance_clock(1801)  # the scheduled withdrawal matures after one hour
        event = (await self.recv_until(ws, lambda m: m["data"]["event"] == "LP"))["data"]["args"]
        self.assertEqual("FILLED", event["status"])
        await self.call("POST", "/lp", body=self.lp("IMMEDIATE_WITHDRAW", "1"))
        event = (await self.recv_until(ws, lambda m: m["data"]["event"] == "LP"))["data"]["args"]
        self.assertEqual(4007, event["code"])
        await self.call("POST", "/lp", body=self.lp("DEPOSIT", "20000"))
        event = (await self.recv_until(ws, lambda m: m["data"]["event"] == "LP"))["data"]["args"]
        self.assertEqual(4001, event["code"])
        status, rows = await self.call("GET", "/lp")
        self.assertEqual(6, len(rows))
        self.assertEqual({"id", "nonce", "size", "orderType", "status", "code", "fees", "postTime"}, set(rows[0]))
        rejected = (await self.call("GET", "/lp", params={"status": "REJECTED", "orderType": "IMMEDIATE_WITHDRAW"}))[1]
        self.assertEqual([4007, 4012], [r["code"] for r in rejected])  # newest first
        self.assert_error(await self.call("POST", "/lp", body=self.lp("DEPOSIT", "1.0000001")), 1111)
        self.assert_error(await self.call("POST", "/lp", body=self.lp("STAKE", "1")), 1116)

    async def test_withdraw_and_transfers(self) -> None:
        ws = await self.private_ws()
        self.sim.fund(PRIMARY_ADDRESS, Decimal("250"))
        event = (await self.recv_until(ws, lambda m: m["data"]["event"] == "TRANSFER"))["data"]["args"]
        self.assertEqual(("DEPOSIT", "250.000000", "FILLED"), (event["orderType"], event["size"], event["status"]))
        body = withdraw_body(SIGNING_KEY, time=self.sim.now_ms(), nonce=self.nonce(), account=PRIMARY_ADDRESS,
                             recipient=PRIMARY_ADDRESS, token_address=USDC_BASE, size=100_000_000, chain_id=8453)
        status, result = await self.call("POST", "/transfer/withdraw", body=body)
        self.assertEqual(200, status, result)
        event = (await self.recv_until(ws, lambda m: m["data"]["event"] == "TRANSFER"))["data"]["args"]
        self.assertEqual({"id": result["id"], "size": "100.000000", "orderType": "WITHDRAW", "status": "FILLED",
                          "code": None, "chainId": 8453, "postTime": event["postTime"],
                          "nonce": body["order"]["nonce"]}, event)
        self.assertEqual("10150.000000", (await self.call("GET", "/account"))[1]["collateral"])
        rows = (await self.call("GET", "/transfer"))[1]
        self.assertEqual(["WITHDRAW", "DEPOSIT", "DEPOSIT"], [r["orderType"] for r in rows])
        withdrawal = rows[0]
        self.assertEqual(SIGNING_ADDRESS, withdrawal["signer"])
        self.assertTrue(withdrawal["requestArgs"].startswith("0x") and len(withdrawal["requestArgs"]) == 2 + 512)
        self.assertTrue(withdrawal["signatureProof"].startswith("0x") and withdrawal["validatorSignature"])
        self.assertEqual([withdrawal], (await self.call("GET", "/transfer", params={"id": result["id"]}))[1])
        too_much = withdraw_body(SIGNING_KEY, time=self.sim.now_ms(), nonce=self.nonce(), account=PRIMARY_ADDRESS,
                                 recipient=PRIMARY_ADDRESS, token_address=USDC_BASE, size=10**12, chain_id=8453)
        await self.call("POST", "/transfer/withdraw", body=too_much)
        event = (await self.recv_until(ws, lambda m: m["data"]["event"] == "TRANSFER"))["data"]["args"]
        self.assertEqual(("REJECTED", 5002), (event["status"], event["code"]))
        wrong_token = withdraw_body(SIGNING_KEY, time=self.sim.now_ms(), nonce=self.nonce(), account=PRIMARY_ADDRESS,
                                    recipient=PRIMARY_ADDRESS, token_address=USDC_BASE, size=1, chain_id=42161)
        self.assert_error(await self.call("POST", "/transfer/withdraw", body=wrong_token), 1022)
        unknown_chain = {**body, "order": {**body["order"], "chainId": 999, "nonce": self.nonce()}}
        self.assert_error(await self.call("POST", "/transfer/withdraw", body=unknown_chain), 1130)
