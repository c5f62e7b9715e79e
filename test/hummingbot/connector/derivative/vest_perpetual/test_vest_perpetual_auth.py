"""Signing and headers, checked against the §4.10 vectors and against eth_abi / eth_account.

Sections refer to vest-api.md (§3.2 registration, §4 signing).
"""
import asyncio
import copy
import dataclasses
import pickle
import unittest

from eth_abi import encode as eth_abi_encode
from eth_account import Account
from eth_account.messages import _hash_eip191_message, encode_defunct, encode_typed_data
from eth_utils import keccak, to_checksum_address
from hypothesis import given, settings, strategies as st

from hummingbot.connector.derivative.vest_perpetual import (
    vest_perpetual_auth as auth_module,
    vest_perpetual_constants as CONSTANTS,
)
from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_auth import (
    CancelAction,
    LpAction,
    OrderAction,
    SignerRegistration,
    SigningKey,
    VestAuthError,
    VestPerpetualAuth,
    WithdrawAction,
    abi_encode,
    action_digest,
    sign_signer_proof,
    signer_proof_digest,
)
from hummingbot.core.web_assistant.connections.data_types import RESTMethod, RESTRequest, WSJSONRequest

# §4.10: the public Hardhat test keys.
PRIMARY_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
PRIMARY_ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
SIGNING_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
SIGNING_ADDRESS = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
USDC_BASE = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"
PROD_ROUTER = "0x919386306C47b2Fe1036e3B4F7C40D22D2461a23"

ORDER = OrderAction(time=1700000000000, nonce=1700000000000, order_type="LIMIT", symbol="BTC-PERP", is_buy=True,
                    size="0.0100", limit_price="30000.00", reduce_only=False)
ORDER_SIGNATURE = ("0x677bed1bd00f969e127db9d4828304e5cfb720d8c9230fcb8ffbf5ac38a716e64440d5cfe5f4a7dc0928a68b312b"
                   "6653487153462be696a7a682225d33a7ffc21b")
ORDER_TYPES = ["uint256", "uint256", "string", "string", "bool", "string", "string", "bool"]


def _recover(digest: bytes, signature: str) -> str:
    """eth_account's own EIP-191 personal-sign recovery (independent of the code under test)."""
    return Account.recover_message(encode_defunct(primitive=digest), signature=signature)


def _order_digest(time, nonce, order_type, symbol, is_buy, size, limit_price, reduce_only) -> bytes:
    return keccak(eth_abi_encode(ORDER_TYPES, [time, nonce, order_type, symbol, is_buy, size, limit_price,
                                               reduce_only]))


class VectorTest(unittest.TestCase):
    """Every vector of §4.10."""

    @classmethod
    def setUpClass(cls):
        cls.primary = SigningKey(PRIMARY_KEY, config_name="primary")
        cls.signer = SigningKey(SIGNING_KEY)

    def test_addresses_of_both_keys(self):
        self.assertEqual(PRIMARY_ADDRESS.lower(), self.primary.address)
        self.assertEqual(SIGNING_ADDRESS.lower(), self.signer.address)
        self.assertEqual(SIGNING_ADDRESS, Account.from_key(SIGNING_KEY).address)

    def test_order_encoding_hash_and_signature(self):
        encoded = abi_encode(OrderAction.ABI_TYPES, ORDER.abi_values())
        self.assertEqual(512, len(encoded))
        self.assertEqual(eth_abi_encode(ORDER_TYPES, list(ORDER.abi_values())), encoded)
        digest = action_digest(ORDER)
        self.assertEqual("0x47586aa4b8c0fd58e5ca3db10632fc4023159cabead9cd6ac129a76854ab38c6", "0x" + digest.hex())
        self.assertEqual("0xa6d46df67d96ce3357e84806685f831c87f95c6a37dd6b9fe4ffd39d686ea934",
                         "0x" + _hash_eip191_message(encode_defunct(primitive=digest)).hex())
        signature = self.signer.sign_personal(digest)
        self.assertEqual(ORDER_SIGNATURE, signature)
        self.assertEqual(SIGNING_ADDRESS, _recover(digest, signature))

    def test_order_size_string_matters(self):
        short = OrderAction(time=ORDER.time, nonce=ORDER.nonce, order_type="LIMIT", symbol="BTC-PERP", is_buy=True,
                            size="0.01", limit_price="30000.00", reduce_only=False)
        self.assertEqual("0x7a592942a70a287547b7b003eb0cbf8013dbf1cdfbb738b917d90edb8e4b8f1c",
                         "0x" + action_digest(short).hex())
        self.assertNotEqual(action_digest(ORDER), action_digest(short))

    def test_cancel(self):
        cancel = CancelAction(time=1700000000001, nonce=1700000000001, order_id="0x1234abcd")
        digest = action_digest(cancel)
        self.assertEqual("0xc6b436b89158533a6343ced956ef87c6cc5c7b670bf6e11d3785ab4eb5489270", "0x" + digest.hex())
        self.assertEqual("0x87d86e9e62f9b804553df1ad36375dd58ea915600417824b3934a57a73f1e75d7656910d8178373bf42287"
                         "0ab9058026e157e06855b3279ff9e996bceab66a381b", self.signer.sign_personal(digest))
        self.assertEqual({"time": 1700000000001, "nonce": 1700000000001, "id": "0x1234abcd"}, cancel.order_json())

    def test_lp(self):
        lp = LpAction(time=1700000000000, nonce=1700000000000, order_type="DEPOSIT", size="100")
        digest = action_digest(lp)
        self.assertEqual("0x2fcdf9ad6aca1afbb8197671a2296f55efdaeff55ee5eec4e16419fd25baed9a", "0x" + digest.hex())
        self.assertEqual("0xda823a00637365ad71e1a8da0453a289950bb888b249001316381462dec44c3f0c136b461a3505bcd35fb1"
                         "54e881d2ea62b2c443fe69d1fb53972701c46d4cc21b", self.signer.sign_personal(digest))
        self.assertEqual({"time": 1700000000000, "nonce": 1700000000000, "orderType": "DEPOSIT", "size": "100"},
                         lp.order_json())

    def test_withdraw(self):
        withdraw = WithdrawAction(time=1700000000000, nonce=1700000000000, account=PRIMARY_ADDRESS,
                                  recipient=PRIMARY_ADDRESS, token_address=USDC_BASE, size=100000000, chain_id=8453)
        digest = action_digest(withdraw)
        self.assertEqual("0x8773c84cd31e4d779d65126ddeb5c1bfb1422fb6ec813c104d8a23fe48b571cc", "0x" + digest.hex())
        self.assertEqual("0x0442baf927809bef09ce5b629d589f8485868f8909b25d46ba30de348fc4ef70240f422ef2c6e7f7cd907e"
                         "16ea5c7a617793895620b632f7599577eb8f1084c31c", self.signer.sign_personal(digest))
        # The body names the token symbol; the signature encodes its address (§3.10).
        self.assertEqual({"time": 1700000000000, "nonce": 1700000000000, "recipient": PRIMARY_ADDRESS,
                          "token": "USDC", "size": 100000000, "chainId": 8453}, withdraw.order_json())

    def test_signer_proof(self):
        typed = encode_typed_data(full_message={
            "types": {"EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                                       {"name": "verifyingContract", "type": "address"}],
                      "SignerProof": [{"name": "approvedSigner", "type": "address"},
                                      {"name": "signerExpiry", "type": "uint256"}]},
            "primaryType": "SignerProof",
            "domain": {"name": "VestRouterV2", "version": "0.0.1", "verifyingContract": PROD_ROUTER},
            "message": {"approvedSigner": SIGNING_ADDRESS, "signerExpiry": 1700604800000},
        })
        self.assertEqual("0x8df60953c66b298930b42687623b1eda856dfdce250e668bdc4996995a9ccdc3",
                         "0x" + typed.header.hex())
        self.assertEqual("0x7329e93c63e81cd93c3ccee277b8b69585cb2b4530759167a4b1bde2ce518eb1", "0x" + typed.body.hex())
        digest = signer_proof_digest(SIGNING_ADDRESS, 1700604800000, PROD_ROUTER)
        self.assertEqual("0xbc49e08e56a2e23d221247f4a1651765e8f76b6b8c472c740f9cf0ecfa1b9137", "0x" + digest.hex())
        self.assertEqual(digest, keccak(b"\x19\x01" + typed.header + typed.body))
        registration = sign_signer_proof(self.primary, SIGNING_ADDRESS, 1700604800000,
                                         CONSTANTS.ROUTER_ADDRESSES[CONSTANTS.DOMAIN])
        self.assertEqual("0x8720c026019aaa3d98bb4ad566c9f0c0339f47c0a36dd943ad1d73d4d3b74fe13e5400e7cb37ea5182ad13cd"
                         "5f155e3f99564236510809baa57ea4144177ba191c", registration.signature)
        self.assertEqual(PRIMARY_ADDRESS, Account.recover_message(typed, signature=registration.signature))

    def test_signer_proof_digest_ignores_address_case_and_depends_on_router(self):
        lower = signer_proof_digest(SIGNING_ADDRESS.lower(), 1700604800000, PROD_ROUTER.lower())
        self.assertEqual(signer_proof_digest(SIGNING_ADDRESS, 1700604800000, PROD_ROUTER), lower)
        self.assertNotEqual(lower, signer_proof_digest(SIGNING_ADDRESS, 1700604800000,
                                                       CONSTANTS.ROUTER_ADDRESSES[CONSTANTS.TESTNET_DOMAIN]))

    def test_registration_body(self):
        registration = sign_signer_proof(self.primary, SIGNING_ADDRESS, 1700604800000, PROD_ROUTER)
        self.assertIsInstance(registration, SignerRegistration)
        self.assertEqual({"signingAddr": "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
                          "primaryAddr": "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
                          "signature": registration.signature, "expiryTime": 1700604800000, "networkType": 0},
                         registration.body())


ADDRESS = st.binary(min_size=20, max_size=20)
ABI_VALUE = st.one_of(
    st.tuples(st.just("uint256"), st.integers(min_value=0, max_value=2 ** 256 - 1)),
    st.tuples(st.just("bool"), st.booleans()),
    st.tuples(st.just("address"), ADDRESS.map(lambda raw: "0x" + raw.hex())),
    st.tuples(st.just("address"), ADDRESS.map(lambda raw: to_checksum_address(raw))),
    st.tuples(st.just("string"), st.text()),
)


class AbiEncodeTest(unittest.TestCase):
    @settings(max_examples=300, deadline=None, derandomize=True, database=None)
    @given(st.lists(ABI_VALUE, max_size=10))
    def test_equals_eth_abi(self, pairs):
        types = [abi_type for abi_type, _ in pairs]
        values = [value for _, value in pairs]
        self.assertEqual(eth_abi_encode(types, values), abi_encode(types, values))

    def test_rejects_unknown_types_and_bad_addresses(self):
        with self.assertRaises(ValueError):
            abi_encode(["bytes32"], [b"\0" * 32])
        with self.assertRaises(VestAuthError):
            abi_encode(["address"], ["0x1234"])
        with self.assertRaises(ValueError):
            abi_encode(["address"], ["0x" + "zz" * 20])


class SigningPropertyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.signer = SigningKey(SIGNING_KEY)

    @settings(max_examples=60, deadline=None, derandomize=True, database=None)
    @given(time=st.integers(min_value=0, max_value=2 ** 63), nonce=st.integers(min_value=0, max_value=2 ** 63),
           order_type=st.sampled_from(["MARKET", "LIMIT"]), symbol=st.text(min_size=1, max_size=20),
           is_buy=st.booleans(), size=st.decimals(min_value=0, max_value=10 ** 6, places=4).map(str),
           price=st.decimals(min_value=0, max_value=10 ** 6, places=2).map(str), reduce_only=st.booleans())
    def test_order_signatures_recover_to_the_signer(self, time, nonce, order_type, symbol, is_buy, size, price,
                                                    reduce_only):
        action = OrderAction(time, nonce, order_type, symbol, is_buy, size, price, reduce_only)
        digest = _order_digest(time, nonce, order_type, symbol, is_buy, size, price, reduce_only)
        self.assertEqual(digest, action_digest(action))
        signature = self.signer.sign_personal(digest)
        self.assertRegex(signature, r"^0x[0-9a-f]{130}$")
        self.assertIn(signature[-2:], ("1b", "1c"))  # v in {27, 28}
        self.assertEqual(SIGNING_ADDRESS, _recover(digest, signature))

    @settings(max_examples=30, deadline=None, derandomize=True, database=None)
    @given(st.binary(min_size=32, max_size=32))
    def test_sign_hash_recovers(self, message_hash):
        signature = self.signer.sign_hash(message_hash)
        self.assertEqual(SIGNING_ADDRESS, Account._recover_hash(message_hash, signature=signature))


class AuthTest(unittest.TestCase):
    def setUp(self):
        self.auth = VestPerpetualAuth(api_key="my-api-key-c0ffee", signing_private_key=SIGNING_KEY, account_group=3)

    def test_properties(self):
        self.assertEqual(3, self.auth.account_group)
        self.assertEqual(SIGNING_ADDRESS.lower(), self.auth.signer_address)
        self.assertEqual({"X-API-KEY": "my-api-key-c0ffee", "xrestservermm": "restserver3"}, self.auth.auth_headers())

    def test_rest_authenticate_merges_headers(self):
        request = RESTRequest(method=RESTMethod.POST, url="https://x/v2/orders",
                              headers={"Content-Type": "application/json", "xrestservermm": "restserver0",
                                       "X-Custom": "1"})
        result = asyncio.run(self.auth.rest_authenticate(request))
        self.assertEqual({"Content-Type": "application/json", "X-Custom": "1", "X-API-KEY": "my-api-key-c0ffee",
                          "xrestservermm": "restserver3"}, dict(result.headers))

    def test_rest_authenticate_without_headers(self):
        request = RESTRequest(method=RESTMethod.GET, url="https://x/v2/account")
        result = asyncio.run(self.auth.rest_authenticate(request))
        self.assertEqual({"X-API-KEY": "my-api-key-c0ffee", "xrestservermm": "restserver3"}, dict(result.headers))

    def test_ws_authenticate_passes_through(self):
        request = WSJSONRequest(payload={"method": "SUBSCRIBE", "params": ["account_private"], "id": 1})
        result = asyncio.run(self.auth.ws_authenticate(request))
        self.assertIs(request, result)
        self.assertEqual({"method": "SUBSCRIBE", "params": ["account_private"], "id": 1}, result.payload)

    def test_signed_body_of_plain_order(self):
        action = dataclasses.replace(ORDER, time_in_force="GTC")
        body = self.auth.signed_body(action)
        self.assertEqual({"time": ORDER.time, "nonce": ORDER.nonce, "symbol": "BTC-PERP", "isBuy": True,
                          "size": "0.0100", "orderType": "LIMIT", "limitPrice": "30000.00", "reduceOnly": False,
                          "timeInForce": "GTC"}, body["order"])
        self.assertEqual(CONSTANTS.RECV_WINDOW_MS, body["recvWindow"])
        self.assertEqual(ORDER_SIGNATURE, body["signature"])  # timeInForce is not signed (§4.2)
        self.assertEqual(set(body), {"order", "recvWindow", "signature"})

    def test_market_order_has_no_time_in_force_and_custom_recv_window(self):
        action = OrderAction(1, 2, "MARKET", "ETH-PERP", False, "1.000", "1900.00", True)
        body = self.auth.signed_body(action, recv_window_ms=60_000)
        self.assertNotIn("timeInForce", body["order"])
        self.assertEqual(60_000, body["recvWindow"])
        self.assertEqual(SIGNING_ADDRESS, _recover(_order_digest(1, 2, "MARKET", "ETH-PERP", False, "1.000",
                                                                 "1900.00", True), body["signature"]))

    def test_tp_sl_children(self):
        action = OrderAction(1700000000000, 500, "LIMIT", "BTC-PERP", True, "0.0100", "30000.00", False,
                             time_in_force="GTC", tp_price="31000.00", sl_price="29000.00")
        body = self.auth.signed_body(action)
        order = body["order"]
        self.assertEqual("31000.00", order["tpPrice"])
        self.assertEqual("29000.00", order["slPrice"])
        # §4.3: same tuple, opposite side, reduce-only, trigger as limitPrice; nonce+1 (TP) / nonce+2 (SL) per C6.
        tp_digest = _order_digest(1700000000000, 501, "TAKE_PROFIT", "BTC-PERP", False, "0.0100", "31000.00", True)
        sl_digest = _order_digest(1700000000000, 502, "STOP_LOSS", "BTC-PERP", False, "0.0100", "29000.00", True)
        self.assertEqual(SIGNING_ADDRESS, _recover(tp_digest, order["tpSignature"]))
        self.assertEqual(SIGNING_ADDRESS, _recover(sl_digest, order["slSignature"]))
        # The parent signature is unaffected by TP/SL.
        parent = _order_digest(1700000000000, 500, "LIMIT", "BTC-PERP", True, "0.0100", "30000.00", False)
        self.assertEqual(SIGNING_ADDRESS, _recover(parent, body["signature"]))
        self.assertEqual(500, order["nonce"])

    def test_tp_only(self):
        action = OrderAction(1, 10, "LIMIT", "BTC-PERP", False, "0.0100", "30000.00", False, tp_price="29000.00")
        order = self.auth.signed_body(action)["order"]
        self.assertIn("tpSignature", order)
        self.assertNotIn("slPrice", order)
        self.assertNotIn("slSignature", order)
        tp_digest = _order_digest(1, 11, "TAKE_PROFIT", "BTC-PERP", True, "0.0100", "29000.00", True)
        self.assertEqual(SIGNING_ADDRESS, _recover(tp_digest, order["tpSignature"]))

    def test_child_action(self):
        parent = OrderAction(1, 10, "LIMIT", "BTC-PERP", True, "0.0100", "30000.00", False, "GTC", "31000.00", "1")
        child = parent.child("TAKE_PROFIT", "31000.00", 1)
        self.assertEqual((1, 11, "TAKE_PROFIT", "BTC-PERP", False, "0.0100", "31000.00", True), child.abi_values())
        self.assertEqual((None, None, None), (child.time_in_force, child.tp_price, child.sl_price))

    def test_signed_body_of_other_actions(self):
        cancel = CancelAction(time=5, nonce=6, order_id="0xabc")
        body = self.auth.signed_body(cancel)
        self.assertEqual({"time": 5, "nonce": 6, "id": "0xabc"}, body["order"])
        digest = keccak(eth_abi_encode(["uint256", "uint256", "string"], [5, 6, "0xabc"]))
        self.assertEqual(SIGNING_ADDRESS, _recover(digest, body["signature"]))

    def test_empty_keys_accepted_but_signing_refused(self):
        for api_key, key in (("", ""), (None, None)):
            auth = VestPerpetualAuth(api_key=api_key, signing_private_key=key, account_group=None)
            self.assertIsNone(auth.signer_address)
            self.assertEqual(0, auth.account_group)
            with self.assertRaisesRegex(VestAuthError, "vest_perpetual_signing_private_key"):
                auth.sign(ORDER)
            with self.assertRaisesRegex(VestAuthError, "vest_perpetual_signing_private_key"):
                auth.signed_body(ORDER)

    def test_repr_hides_secrets(self):
        for text in (repr(self.auth), str(self.auth), repr(SigningKey(SIGNING_KEY)), str(SigningKey(SIGNING_KEY))):
            self.assertNotIn(SIGNING_KEY[2:], text)
            self.assertNotIn(SIGNING_KEY[2:12], text)
            self.assertNotIn("my-api-key-c0ffee", text)
        self.assertIn(SIGNING_ADDRESS.lower(), repr(self.auth))
        self.assertIn("account_group=3", repr(self.auth))

    def test_signing_key_has_no_instance_dict(self):
        key = SigningKey(SIGNING_KEY)
        self.assertFalse(hasattr(key, "__dict__"))

    def test_pickling_and_copying_a_signing_key_is_refused(self):
        key = SigningKey(SIGNING_KEY)
        with self.assertRaises(TypeError):
            pickle.dumps(key)
        with self.assertRaises(TypeError):
            copy.deepcopy(key)
        with self.assertRaises(TypeError):
            pickle.dumps(self.auth)


ORDER_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


class BadKeyTest(unittest.TestCase):
    BAD_KEYS = {
        "too short": "0xdeadbeefcafe1234deadbeefcafe1234",
        "too long": "0x" + "5a17c0de" * 8 + "ab",
        "not hex": "0x" + "q7w8e9r0" * 8,
        "zero": "0x" + "00" * 32,
        "curve order": "0x" + format(ORDER_N, "064x"),
        "above order": "0x" + "ff" * 32,
        "words": "correct horse battery staple",
    }

    def test_bad_keys_name_the_config_key_and_hide_the_text(self):
        for label, key in self.BAD_KEYS.items():
            with self.subTest(label):
                with self.assertRaises(VestAuthError) as caught:
                    SigningKey(key)
                message = str(caught.exception)
                self.assertIn("vest_perpetual_signing_private_key", message)
                body = key[2:] if key.startswith("0x") else key
                self.assertNotIn(body, message)
                self.assertNotIn(body[:16], message)
                self.assertNotIn(body[:16], repr(caught.exception))
                self.assertIsNone(caught.exception.__cause__)

    def test_bad_key_in_auth(self):
        with self.assertRaisesRegex(VestAuthError, "vest_perpetual_signing_private_key") as caught:
            VestPerpetualAuth(api_key="k", signing_private_key=self.BAD_KEYS["too short"])
        self.assertNotIn("deadbeefcafe", str(caught.exception))

    def test_custom_config_name(self):
        with self.assertRaisesRegex(VestAuthError, "^VEST_PRIMARY_PRIVATE_KEY is not a valid private key"):
            SigningKey("0x1234", config_name="VEST_PRIMARY_PRIVATE_KEY")

    def test_key_forms_accepted(self):
        for form in (SIGNING_KEY, SIGNING_KEY[2:], "0X" + SIGNING_KEY[2:], f"  {SIGNING_KEY}\n", SIGNING_KEY.upper()
                     .replace("0X", "0x")):
            self.assertEqual(SIGNING_ADDRESS.lower(), SigningKey(form).address)
        self.assertEqual("0x" + "7e5f4552091a69125d5dfcb7b8c2659029395bdf",
                         SigningKey("0x" + "00" * 31 + "01").address)  # the key 1
        self.assertTrue(SigningKey("0x" + format(ORDER_N - 1, "064x")).address.startswith("0x"))

    def test_module_constant_names_the_connector_key(self):
        self.assertEqual("vest_perpetual_signing_private_key", auth_module.SIGNING_KEY_CONFIG_NAME)
