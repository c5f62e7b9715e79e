"""`vest-register` against a loopback server that verifies the SignerProof on its own.

Sections refer to docs/vest-protocol.md (§1.3 account group header, §3.2 registration, §3.12 error envelopes).
"""
import asyncio
import contextlib
import io
import os
import re
import subprocess
import sys
import time
import unittest
from datetime import datetime
from typing import List, Optional
from unittest.mock import patch

from aiohttp import web
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak, to_checksum_address

from hummingbot.connector.derivative.vest_perpetual import vest_perpetual_constants as CONSTANTS
from vest_hummingbot import PROJECT_ROOT, registration

# The public Hardhat test keys.
PRIMARY_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"  # noqa: mock
PRIMARY_ADDRESS = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
SIGNING_ADDRESS = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
PROD_ROUTER = "0x919386306C47b2Fe1036e3B4F7C40D22D2461a23"
TESTNET_ROUTER = "0x8E4D87AEf4AC4D5415C35A12319013e34223825B"
EXPIRY_MS = 1700604800000
API_KEY = "test-api-key-5e1f"
DAY_MS = 86_400_000


def recover_signer_proof(body: dict, router: str) -> str:
    """The address that signed the SignerProof, computed with eth_account directly (not the code under test)."""
    typed = encode_typed_data(full_message={
        "types": {"EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                                   {"name": "verifyingContract", "type": "address"}],
                  "SignerProof": [{"name": "approvedSigner", "type": "address"},
                                  {"name": "signerExpiry", "type": "uint256"}]},
        "primaryType": "SignerProof",
        "domain": {"name": "VestRouterV2", "version": "0.0.1", "verifyingContract": router},
        "message": {"approvedSigner": to_checksum_address(body["signingAddr"]), "signerExpiry": body["expiryTime"]},
    })
    return Account.recover_message(typed, signature=body["signature"])


class RegistrationTest(unittest.IsolatedAsyncioTestCase):
    async def asyncSetUp(self):
        self.requests: List[dict] = []
        self.problems: List[str] = []
        self.router = PROD_ROUTER
        self.expected_group = "restserver0"
        self.reply = None  # (status, body text, content type) to answer instead of a success
        app = web.Application()
        app.router.add_post("/v2/register", self._register)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        self.base_url = f"http://127.0.0.1:{self.runner.addresses[0][1]}/v2"

    async def asyncTearDown(self):
        await self.runner.cleanup()

    async def _register(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append({"headers": dict(request.headers), "body": body})
        now_ms = time.time() * 1000
        checks = {
            "fields": set(body) == {"signingAddr", "primaryAddr", "signature", "expiryTime", "networkType"},
            "header": request.headers.get("xrestservermm") == self.expected_group,
            "content type": request.content_type == "application/json",
            "lower-case": all(re.fullmatch(r"0x[0-9a-f]{40}", body.get(key, "")) for key in
                              ("signingAddr", "primaryAddr")),
            "distinct keys": body.get("signingAddr") != body.get("primaryAddr"),
            "networkType": body.get("networkType") == 0,
            "expiry in ms, in the future": isinstance(body.get("expiryTime"), int) and body["expiryTime"] > now_ms,
            "signature": re.fullmatch(r"0x[0-9a-f]{130}", body.get("signature", "")) is not None,
        }
        self.problems = [name for name, ok in checks.items() if not ok]
        if not self.problems and recover_signer_proof(body, self.router).lower() != body["primaryAddr"]:
            self.problems.append("recovered signer")
        if self.problems:
            return web.json_response({"code": 1022, "msg": f"rejected: {self.problems}"}, status=400)
        if self.reply is not None:
            status, text, content_type = self.reply
            return web.Response(status=status, text=text, content_type=content_type)
        return web.json_response({"apiKey": API_KEY, "accGroup": 2})

    async def run_main(self, argv: List[str], env_key: Optional[str] = PRIMARY_KEY, prompt_key: Optional[str] = None,
                       rest_url: Optional[str] = None):
        """Runs main() in a worker thread (it owns its event loop) with the given key sources; returns the outcome."""
        environ = {key: value for key, value in os.environ.items() if key != registration.PRIMARY_KEY_ENV_VAR}
        for domain_env_vars in CONSTANTS.URL_OVERRIDE_ENV_VARS.values():  # both domains at the local server
            environ[domain_env_vars["rest"]] = rest_url or self.base_url
        if env_key is not None:
            environ[registration.PRIMARY_KEY_ENV_VAR] = env_key
        stdout, stderr = io.StringIO(), io.StringIO()

        def call():
            with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
                return registration.main(argv)

        getpass_mock = patch.object(registration.getpass, "getpass", return_value=prompt_key)
        with patch.dict(os.environ, environ, clear=True), getpass_mock as prompt:
            code = await asyncio.to_thread(call)
        return code, stdout.getvalue(), stderr.getvalue(), prompt

    def assert_answers(self, out: str, prefix: str, group: int):
        self.assertIn(f"  {prefix}_api_key: {API_KEY}\n", out)
        self.assertIn(f"  {prefix}_account_group: {group}\n", out)
        match = re.search(rf"  {prefix}_signing_private_key: (0x[0-9a-f]{{64}})\n", out)
        self.assertIsNotNone(match, out)
        body = self.requests[-1]["body"]
        self.assertEqual(body["signingAddr"], Account.from_key(match.group(1)).address.lower())
        expiry = re.search(r"expires on (\S+);", out).group(1)
        self.assertEqual(body["expiryTime"] // 1000, int(datetime.fromisoformat(expiry).timestamp()))
        self.assertIn(f"connect {prefix}", out)
        self.assertNotIn(PRIMARY_KEY[2:], out)

    async def test_env_key_prod(self):
        code, out, err, prompt = await self.run_main([])
        self.assertEqual(0, code, err)
        self.assertEqual([], self.problems)
        self.assertEqual("", err)
        prompt.assert_not_called()
        self.assertEqual(1, len(self.requests))
        body = self.requests[0]["body"]
        self.assertEqual(PRIMARY_ADDRESS, body["primaryAddr"])
        expected_expiry = time.time() * 1000 + 30 * DAY_MS
        self.assertLess(abs(body["expiryTime"] - expected_expiry), 60_000)
        self.assert_answers(out, "vest_perpetual", 2)
        self.assertIn(PRIMARY_ADDRESS, out)

    async def test_prompt_key_testnet_group_and_expiry(self):
        self.router = TESTNET_ROUTER
        self.expected_group = "restserver3"
        code, out, err, prompt = await self.run_main(
            ["--domain", "vest_perpetual_testnet", "--account-group", "3", "--expiry-days", "7"],
            env_key=None, prompt_key=PRIMARY_KEY)
        self.assertEqual(0, code, err)
        prompt.assert_called_once()
        self.assertNotIn(PRIMARY_KEY[2:], str(prompt.call_args))
        body = self.requests[0]["body"]
        self.assertLess(abs(body["expiryTime"] - (time.time() * 1000 + 7 * DAY_MS)), 60_000)
        self.assert_answers(out, "vest_perpetual_testnet", 2)
        self.assertNotIn("  vest_perpetual_api_key", out)

    async def test_each_run_creates_a_new_signing_key(self):
        await self.run_main([])
        await self.run_main([])
        self.assertEqual(2, len(self.requests))
        self.assertNotEqual(self.requests[0]["body"]["signingAddr"], self.requests[1]["body"]["signingAddr"])

    async def test_error_envelopes_exit_1_with_code_and_name(self):
        cases = [
            ((400, '{"code": 1024, "msg": "bad network"}', "application/json"), ["1024", "INVALID_NETWORK_TYPE",
                                                                                 "bad network", "HTTP 400"]),
            ((401, '{"detail": {"code": 1146, "msg": "wrong group"}}', "application/json"),
             ["1146", "INVALID_ACCOUNT_GROUP", "wrong group"]),
            ((422, '{"detail": [{"type": "missing", "loc": ["body", "expiryTime"], "msg": "Field required"}]}',
              "application/json"), ["None", "body.expiryTime: Field required", "HTTP 422"]),
            ((502, "<html>Bad Gateway</html>", "text/html"), ["HTTP_ERROR", "Bad Gateway", "HTTP 502"]),
            ((200, '{"code": 1002, "msg": "no"}', "application/json"), ["1002", "UNAUTHORIZED"]),
        ]
        for reply, expected in cases:
            with self.subTest(reply[0]):
                self.reply = reply
                code, out, err, _ = await self.run_main([])
                self.assertEqual(1, code)
                self.assertEqual("", out)  # no half-usable answers
                self.assertTrue(err.startswith("vest-register: Registration refused: code "), err)
                for text in expected:
                    self.assertIn(text, err)
                self.assertNotIn("Traceback", err)
                self.assertNotIn(PRIMARY_KEY[2:], err)

    async def test_unexpected_success_body(self):
        for text in ('{"apiKey": "", "accGroup": 0}', '{"apiKey": "k", "accGroup": "0"}',
                     '{"apiKey": "k", "accGroup": true}', '["k", 0]', "registered!"):
            with self.subTest(text):
                self.reply = (200, text, "application/json")
                code, out, err, _ = await self.run_main([])
                self.assertEqual(1, code)
                self.assertEqual("", out)
                self.assertIn("Unexpected answer", err)
                self.assertIn("expected apiKey and accGroup", err)

    async def test_bad_primary_key(self):
        secret = "0xdeadbeef" + "SECRETTEXT" * 5
        for env_key, prompt_key in ((secret, None), (None, secret), ("0x" + "00" * 32, None), (None, "")):
            with self.subTest(env=env_key is not None):
                code, out, err, _ = await self.run_main([], env_key=env_key, prompt_key=prompt_key)
                self.assertEqual(1, code)
                self.assertEqual("", out)
                self.assertIn("VEST_PRIMARY_PRIVATE_KEY", err)
                self.assertIn("prompt", err)
                self.assertIn("not a valid private key", err)
                self.assertNotIn("SECRETTEXT", err)
                self.assertNotIn("deadbeef", err)
                self.assertNotIn("Traceback", err)
        self.assertEqual([], self.requests)

    async def test_unreachable_server(self):
        closed = web.AppRunner(web.Application())
        await closed.setup()
        await web.TCPSite(closed, "127.0.0.1", 0).start()
        port = closed.addresses[0][1]
        await closed.cleanup()
        code, out, err, _ = await self.run_main([], rest_url=f"http://127.0.0.1:{port}/v2")
        self.assertEqual(1, code)
        self.assertIn(f"Could not reach http://127.0.0.1:{port}/v2/register", err)
        self.assertNotIn("Traceback", err)

    async def test_interrupted_prompt(self):
        environ = {key: value for key, value in os.environ.items() if key != registration.PRIMARY_KEY_ENV_VAR}
        stderr = io.StringIO()
        with patch.dict(os.environ, environ, clear=True), \
                patch.object(registration.getpass, "getpass", side_effect=KeyboardInterrupt), \
                contextlib.redirect_stderr(stderr):
            self.assertEqual(1, registration.main([]))
        self.assertIn("aborted", stderr.getvalue())


class ArgumentTest(unittest.TestCase):
    def test_invalid_arguments_exit_with_usage(self):
        for argv in (["--expiry-days", "0"], ["--account-group", "-1"], ["--domain", "binance"],
                     ["--primary-key", PRIMARY_KEY], [PRIMARY_KEY]):
            with self.subTest(argv[0]):
                stderr = io.StringIO()
                with contextlib.redirect_stderr(stderr), self.assertRaises(SystemExit) as caught:
                    registration.main(argv)
                self.assertEqual(2, caught.exception.code)
                self.assertIn("usage: vest-register", stderr.getvalue())

    def test_defaults(self):
        args = registration._parse_args([])
        self.assertEqual(("vest_perpetual", 30, 0),
                         (args.domain, args.expiry_days, args.account_group))

    def test_help_as_module(self):
        result = subprocess.run(
            [sys.executable, "-m", "vest_hummingbot.registration", "--help"], cwd=PROJECT_ROOT,
            capture_output=True, text=True, timeout=60)
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertIn("VEST_PRIMARY_PRIVATE_KEY", result.stdout)
        self.assertIn("vest_perpetual_testnet", result.stdout)


class SignerProofTest(unittest.TestCase):
    """The SignerProof vector (§3.2): the digest is eth_account's and the signature matches the one the connector's
    own EIP-712 code produced before registration moved here."""

    def setUp(self):
        self.primary = registration.primary_account(PRIMARY_KEY)

    def test_signer_proof_vector(self):
        proof = registration.signer_proof(SIGNING_ADDRESS, EXPIRY_MS, PROD_ROUTER)
        domain_separator = "0x8df60953c66b298930b42687623b1eda856dfdce250e668bdc4996995a9ccdc3"  # noqa: mock
        struct_hash = "0x7329e93c63e81cd93c3ccee277b8b69585cb2b4530759167a4b1bde2ce518eb1"  # noqa: mock
        digest = "0xbc49e08e56a2e23d221247f4a1651765e8f76b6b8c472c740f9cf0ecfa1b9137"  # noqa: mock
        self.assertEqual(domain_separator, "0x" + bytes(proof.header).hex())
        self.assertEqual(struct_hash, "0x" + bytes(proof.body).hex())
        self.assertEqual(digest, "0x" + keccak(b"\x19\x01" + proof.header + proof.body).hex())
        body = registration.registration_body(self.primary, SIGNING_ADDRESS, EXPIRY_MS,
                                              registration.ROUTER_ADDRESSES[CONSTANTS.DOMAIN])
        self.assertEqual("0x8720c026019aaa3d98bb4ad566c9f0c0339f47c0a36dd943ad1d73d4d3b74fe13e5400e7cb37ea5182ad13cd"
                         "5f155e3f99564236510809baa57ea4144177ba191c", body["signature"])
        self.assertEqual(PRIMARY_ADDRESS, recover_signer_proof(body, PROD_ROUTER).lower())

    def test_signer_proof_ignores_address_case_and_depends_on_router(self):
        lower = registration.signer_proof(SIGNING_ADDRESS.lower(), EXPIRY_MS, PROD_ROUTER.lower())
        self.assertEqual(registration.signer_proof(SIGNING_ADDRESS, EXPIRY_MS, PROD_ROUTER), lower)
        self.assertNotEqual(lower, registration.signer_proof(
            SIGNING_ADDRESS, EXPIRY_MS, registration.ROUTER_ADDRESSES[CONSTANTS.TESTNET_DOMAIN]))

    def test_registration_body(self):
        body = registration.registration_body(self.primary, SIGNING_ADDRESS, EXPIRY_MS, PROD_ROUTER)
        self.assertEqual({"signingAddr": "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
                          "primaryAddr": PRIMARY_ADDRESS,
                          "signature": body["signature"], "expiryTime": EXPIRY_MS, "networkType": 0}, body)
        self.assertIn(body["signature"][-2:], ("1b", "1c"))  # v in {27, 28}

    def test_router_addresses(self):
        self.assertEqual({CONSTANTS.DOMAIN: PROD_ROUTER, CONSTANTS.TESTNET_DOMAIN: TESTNET_ROUTER},
                         registration.ROUTER_ADDRESSES)
