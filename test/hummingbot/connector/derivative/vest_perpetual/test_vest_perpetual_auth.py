"""Signing and headers, checked against the §4.10 vectors and against eth_abi / eth_account.

Sections refer to the project's protocol notes, docs/vest-protocol.md (§3.1 headers, §4 signing).
"""
import copy
import dataclasses
import json
import pickle
import traceback
import unittest

from eth_abi import encode as eth_abi_encode
from eth_account import Account
from eth_account.messages import _hash_eip191_message, encode_defunct
from eth_utils import keccak

from hummingbot.connector.derivative.vest_perpetual import (
    vest_perpetual_auth as auth_module,
    vest_perpetual_constants as CONSTANTS,
)
from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_auth import (
    CancelAction,
    OrderAction,
    SigningKey,
    VestAuthError,
    VestPerpetualAuth,
    abi_encode,
    action_digest,
)
from hummingbot.core.web_assistant.auth import AuthBase
from hummingbot.core.web_assistant.connections.data_types import RESTMethod, RESTRequest, WSJSONRequest
from test.isolated_asyncio_wrapper_test_case import IsolatedAsyncioWrapperTestCase

# §4.10: the public Hardhat test keys.
PRIMARY_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"  # noqa: mock
PRIMARY_ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
SIGNING_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"  # noqa: mock
SIGNING_ADDRESS = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
API_KEY = "my-api-key-c0ffee"

ORDER = OrderAction(time=1700000000000, nonce=1700000000000, order_type="LIMIT", symbol="BTC-PERP", is_buy=True,
                    size="0.0100", limit_price="30000.00", reduce_only=False)
ORDER_DIGEST = "0x47586aa4b8c0fd58e5ca3db10632fc4023159cabead9cd6ac129a76854ab38c6"  # noqa: mock
ORDER_PERSONAL_HASH = "0xa6d46df67d96ce3357e84806685f831c87f95c6a37dd6b9fe4ffd39d686ea934"  # noqa: mock
ORDER_SIGNATURE = ("0x677bed1bd00f969e127db9d4828304e5cfb720d8c9230fcb8ffbf5ac38a716e6"  # noqa: mock
                   "4440d5cfe5f4a7dc0928a68b312b6653487153462be696a7a682225d33a7ffc21b")  # noqa: mock
SHORT_SIZE_DIGEST = "0x7a592942a70a287547b7b003eb0cbf8013dbf1cdfbb738b917d90edb8e4b8f1c"  # noqa: mock
CANCEL = CancelAction(time=1700000000001, nonce=1700000000001, order_id="0x1234abcd")
CANCEL_DIGEST = "0xc6b436b89158533a6343ced956ef87c6cc5c7b670bf6e11d3785ab4eb5489270"  # noqa: mock
CANCEL_SIGNATURE = ("0x87d86e9e62f9b804553df1ad36375dd58ea915600417824b3934a57a73f1e75d"  # noqa: mock
                    "7656910d8178373bf422870ab9058026e157e06855b3279ff9e996bceab66a381b")  # noqa: mock

ORDER_TYPES = ["uint256", "uint256", "string", "string", "bool", "string", "string", "bool"]
CANCEL_TYPES = ["uint256", "uint256", "string"]
CURVE_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141  # secp256k1 n, public  # noqa: mock


def _recover(digest: bytes, signature: str) -> str:
    """eth_account's own EIP-191 personal-sign recovery (independent of the code under test)."""
    return Account.recover_message(encode_defunct(primitive=digest), signature=signature)


def _order_digest(*values) -> bytes:
    """keccak256(abi.encode(order tuple)) computed with eth_abi (§4.1, §4.2)."""
    return keccak(eth_abi_encode(ORDER_TYPES, list(values)))


class VectorTest(unittest.TestCase):
    """The order and cancel vectors of §4.10."""

    @classmethod
    def setUpClass(cls):
        cls.signer = SigningKey(SIGNING_KEY)

    def test_addresses_of_both_keys(self):
        self.assertEqual(PRIMARY_ADDRESS.lower(), SigningKey(PRIMARY_KEY, config_name="primary").address)
        self.assertEqual(SIGNING_ADDRESS.lower(), self.signer.address)
        self.assertEqual(SIGNING_ADDRESS, Account.from_key(SIGNING_KEY).address)

    def test_order_encoding_hash_and_signature(self):
        encoded = abi_encode(OrderAction.ABI_TYPES, ORDER.abi_values())
        self.assertEqual(512, len(encoded))
        self.assertEqual(eth_abi_encode(ORDER_TYPES, list(ORDER.abi_values())), encoded)
        digest = action_digest(ORDER)
        self.assertEqual(ORDER_DIGEST, "0x" + digest.hex())
        self.assertEqual(ORDER_PERSONAL_HASH, "0x" + _hash_eip191_message(encode_defunct(primitive=digest)).hex())
        signature = self.signer.sign_personal(digest)
        self.assertEqual(ORDER_SIGNATURE, signature)
        self.assertEqual(SIGNING_ADDRESS, _recover(digest, signature))

    def test_order_size_string_matters(self):
        # §4.2: size and price are signed as strings, so "0.01" and "0.0100" are different orders.
        short = dataclasses.replace(ORDER, size="0.01")
        self.assertEqual(SHORT_SIZE_DIGEST, "0x" + action_digest(short).hex())
        self.assertNotEqual(action_digest(ORDER), action_digest(short))

    def test_cancel(self):
        digest = action_digest(CANCEL)
        self.assertEqual(CANCEL_DIGEST, "0x" + digest.hex())
        self.assertEqual(keccak(eth_abi_encode(CANCEL_TYPES, [1700000000001, 1700000000001, "0x1234abcd"])), digest)
        self.assertEqual(CANCEL_SIGNATURE, self.signer.sign_personal(digest))
        self.assertEqual(SIGNING_ADDRESS, _recover(digest, CANCEL_SIGNATURE))


class ActionTest(unittest.TestCase):
    def test_order_tuple_follows_4_2(self):
        self.assertEqual(tuple(ORDER_TYPES), OrderAction.ABI_TYPES)
        # orderType comes before symbol in the signed tuple, unlike the JSON body.
        self.assertEqual((1700000000000, 1700000000000, "LIMIT", "BTC-PERP", True, "0.0100", "30000.00", False),
                         ORDER.abi_values())

    def test_order_json_carries_the_signed_strings(self):
        self.assertEqual({"time": 1700000000000, "nonce": 1700000000000, "symbol": "BTC-PERP", "isBuy": True,
                          "size": "0.0100", "orderType": "LIMIT", "limitPrice": "30000.00", "reduceOnly": False},
                         ORDER.order_json())
        with_tif = dataclasses.replace(ORDER, time_in_force=CONSTANTS.TIME_IN_FORCE_GTC)
        self.assertEqual("GTC", with_tif.order_json()["timeInForce"])

    def test_time_in_force_is_not_signed(self):
        with_tif = dataclasses.replace(ORDER, time_in_force="GTC")
        self.assertEqual(ORDER.abi_values(), with_tif.abi_values())
        self.assertEqual(action_digest(ORDER), action_digest(with_tif))

    def test_every_signed_field_changes_the_digest(self):
        changes = {"time": 1700000000001, "nonce": 1700000000001, "order_type": "MARKET", "symbol": "ETH-PERP",
                   "is_buy": False, "size": "0.0101", "limit_price": "30000.01", "reduce_only": True}
        digests = {action_digest(dataclasses.replace(ORDER, **{name: value})) for name, value in changes.items()}
        self.assertEqual(len(changes), len(digests))
        self.assertNotIn(action_digest(ORDER), digests)

    def test_cancel_tuple_follows_4_4(self):
        self.assertEqual(tuple(CANCEL_TYPES), CancelAction.ABI_TYPES)
        self.assertEqual((1700000000001, 1700000000001, "0x1234abcd"), CANCEL.abi_values())
        self.assertEqual({"time": 1700000000001, "nonce": 1700000000001, "id": "0x1234abcd"}, CANCEL.order_json())

    def test_actions_are_immutable(self):
        with self.assertRaises(dataclasses.FrozenInstanceError):
            ORDER.size = "1"
        with self.assertRaises(dataclasses.FrozenInstanceError):
            CANCEL.order_id = "0xother"


class AbiEncodeTest(unittest.TestCase):
    """Fixed examples; project_tests/connector/test_auth_and_web_properties.py checks random tuples."""

    EXAMPLES = [
        ([], []),
        (["uint256"], [0]),
        (["uint256"], [2 ** 256 - 1]),
        (["uint256", "uint256"], [1700000000000, 1]),
        (["bool", "bool"], [True, False]),
        (["string"], [""]),
        (["string"], ["a"]),
        (["string"], ["x" * 31]),
        (["string"], ["x" * 32]),
        (["string"], ["x" * 33]),
        (["string"], ["kBONK-PERP ü € 𝄞"]),  # multi-byte UTF-8: the length word counts bytes
        (["string", "string", "string"], ["", "0x1234abcd", "y" * 70]),
        (["bool", "string", "uint256", "string", "bool"], [True, "AAPL-USD-PERP", 5, "", False]),
        (ORDER_TYPES, [1, 2, "MARKET", "ETH-PERP", False, "1.000", "1900.00", True]),
    ]

    def test_equals_eth_abi(self):
        for types, values in self.EXAMPLES:
            with self.subTest(types=types, values=values):
                self.assertEqual(eth_abi_encode(types, values), abi_encode(types, values))

    def test_string_tail_is_length_then_padded_utf8(self):
        encoded = abi_encode(["string"], ["é"])
        self.assertEqual((32).to_bytes(32, "big"), encoded[:32])  # offset of the tail
        self.assertEqual((2).to_bytes(32, "big"), encoded[32:64])  # two UTF-8 bytes, one character
        self.assertEqual("é".encode("utf-8") + b"\0" * 30, encoded[64:])

    def test_rejects_other_types(self):
        for abi_type, value in (("address", PRIMARY_ADDRESS), ("bytes32", b"\0" * 32), ("int256", -1),
                                ("uint8", 1), ("bytes", b"")):
            with self.subTest(abi_type):
                with self.assertRaisesRegex(ValueError, f"Unsupported ABI type {abi_type}"):
                    abi_encode(["uint256", abi_type], [1, value])


class SigningKeyTest(unittest.TestCase):
    DIGESTS = [b"\0" * 32, b"\xff" * 32, keccak(b"vest"), bytes(range(32))]

    @classmethod
    def setUpClass(cls):
        cls.key = SigningKey(SIGNING_KEY)

    def test_signatures_recover_to_the_signer(self):
        for digest in self.DIGESTS:
            with self.subTest(digest=digest.hex()):
                signature = self.key.sign_personal(digest)
                self.assertRegex(signature, r"^0x[0-9a-f]{130}$")
                self.assertIn(signature[-2:], ("1b", "1c"))  # v in {27, 28} (§4.1)
                self.assertEqual(SIGNING_ADDRESS, _recover(digest, signature))

    def test_signatures_equal_eth_accounts(self):
        """Both sign deterministically (RFC 6979) with low s, so the bytes are identical."""
        for digest in self.DIGESTS:
            expected = Account.sign_message(encode_defunct(primitive=digest), SIGNING_KEY).signature.hex()
            self.assertEqual("0x" + expected.removeprefix("0x"), self.key.sign_personal(digest))

    def test_key_forms_accepted(self):
        bare = SIGNING_KEY[2:]
        for form in (SIGNING_KEY, bare, "0X" + bare, f"  {SIGNING_KEY}\n", "0x" + bare.upper()):
            with self.subTest(form=form[:6]):
                self.assertEqual(SIGNING_ADDRESS.lower(), SigningKey(form).address)

    def test_extreme_valid_keys(self):
        self.assertEqual(Account.from_key("0x" + "00" * 31 + "01").address.lower(),
                         SigningKey("0x" + "00" * 31 + "01").address)  # the key 1
        largest = "0x" + format(CURVE_ORDER - 1, "064x")
        self.assertEqual(Account.from_key(largest).address.lower(), SigningKey(largest).address)

    def test_repr_and_str_show_only_the_address(self):
        for text in (repr(self.key), str(self.key)):
            self.assertEqual(f"SigningKey(address={SIGNING_ADDRESS.lower()})", text)

    def test_signing_key_has_no_instance_dict(self):
        self.assertFalse(hasattr(self.key, "__dict__"))
        with self.assertRaises(AttributeError):
            self.key.extra = 1

    def test_pickling_and_copying_are_refused(self):
        for attempt in (pickle.dumps, copy.copy, copy.deepcopy):
            with self.subTest(attempt.__name__):
                with self.assertRaisesRegex(TypeError, "cannot be pickled"):
                    attempt(self.key)

    def test_module_constant_names_the_connector_key(self):
        self.assertEqual("vest_perpetual_signing_private_key", auth_module.SIGNING_KEY_CONFIG_NAME)


class BadKeyTest(unittest.TestCase):
    BAD_KEYS = {
        "empty": "",
        "blank": "   ",
        "too short": "0xdeadbeefcafe1234deadbeefcafe1234",
        "63 digits": "0x" + "5a17c0de" * 7 + "5a17c0d",
        "too long": "0x" + "5a17c0de" * 8 + "ab",
        "not hex": "0x" + "q7w8e9r0" * 8,
        "zero": "0x" + "00" * 32,
        "curve order": "0x" + format(CURVE_ORDER, "064x"),
        "above order": "0x" + "ff" * 32,
        "double prefix": "0x0x" + "5a17c0de" * 8,
        "words": "correct horse battery staple",
    }

    def test_bad_keys_name_the_config_key_and_hide_the_text(self):
        for label, key in self.BAD_KEYS.items():
            with self.subTest(label):
                with self.assertRaises(VestAuthError) as caught:
                    SigningKey(key)
                error = caught.exception
                self.assertIsInstance(error, ValueError)
                self.assertIn("vest_perpetual_signing_private_key is not a valid private key", str(error))
                self.assertIsNone(error.__cause__)
                self.assertTrue(error.__suppress_context__)
                # What a log line with the traceback would show.
                shown = "".join(traceback.format_exception(error)) + repr(error)
                body = key.strip()[2:] if key.strip().startswith("0x") else key.strip()
                for fragment in (body, body[:16], body[-16:]):
                    if fragment.strip():
                        self.assertNotIn(fragment, shown)

    def test_bad_key_in_auth(self):
        with self.assertRaisesRegex(VestAuthError, "vest_perpetual_signing_private_key") as caught:
            VestPerpetualAuth(api_key="k", signing_private_key=self.BAD_KEYS["too short"])
        self.assertNotIn("deadbeefcafe", str(caught.exception))

    def test_custom_config_name(self):
        with self.assertRaisesRegex(VestAuthError, "^VEST_PRIMARY_PRIVATE_KEY is not a valid private key"):
            SigningKey("0x1234", config_name="VEST_PRIMARY_PRIVATE_KEY")


class VestPerpetualAuthTest(IsolatedAsyncioWrapperTestCase):
    def setUp(self):
        super().setUp()
        self.auth = VestPerpetualAuth(api_key=API_KEY, signing_private_key=SIGNING_KEY, account_group=3)

    def test_properties(self):
        self.assertIsInstance(self.auth, AuthBase)
        self.assertEqual(3, self.auth.account_group)
        self.assertEqual(SIGNING_ADDRESS.lower(), self.auth.signer_address)
        self.assertEqual(7, VestPerpetualAuth(api_key="", signing_private_key="", account_group="7").account_group)

    async def test_rest_authenticate_sets_key_and_group_and_keeps_other_headers(self):
        # §1.3 / §3.1: the user's group replaces the public default a pre-processor may have set.
        request = RESTRequest(method=RESTMethod.POST, url="https://x/v2/orders",
                              headers={"Content-Type": "application/json", "xrestservermm": "restserver0",
                                       "X-Custom": "1"}, is_auth_required=True)
        result = await self.auth.rest_authenticate(request)
        self.assertEqual({"Content-Type": "application/json", "X-Custom": "1", "X-API-KEY": API_KEY,
                          "xrestservermm": "restserver3"}, dict(result.headers))

    async def test_rest_authenticate_without_headers(self):
        request = RESTRequest(method=RESTMethod.GET, url="https://x/v2/account", is_auth_required=True)
        result = await self.auth.rest_authenticate(request)
        self.assertEqual({"X-API-KEY": API_KEY, "xrestservermm": "restserver3"}, dict(result.headers))

    async def test_rest_authenticate_does_not_change_the_callers_header_dict(self):
        caller_headers = {"Accept": "application/json"}
        request = RESTRequest(method=RESTMethod.GET, url="https://x/v2/account", headers=caller_headers)
        await self.auth.rest_authenticate(request)
        self.assertEqual({"Accept": "application/json"}, caller_headers)

    async def test_rest_authenticate_without_keys_sends_an_empty_key_and_group_0(self):
        auth = VestPerpetualAuth(api_key=None, signing_private_key=None, account_group=None)
        result = await auth.rest_authenticate(RESTRequest(method=RESTMethod.GET, url="https://x/v2/account"))
        self.assertEqual({"X-API-KEY": "", "xrestservermm": "restserver0"}, dict(result.headers))

    async def test_ws_authenticate_passes_through(self):
        # §5.1: private access is the listen key in the URL; no login message.
        request = WSJSONRequest(payload={"method": "SUBSCRIBE", "params": ["account_private"], "id": 1})
        result = await self.auth.ws_authenticate(request)
        self.assertIs(request, result)
        self.assertEqual({"method": "SUBSCRIBE", "params": ["account_private"], "id": 1}, result.payload)

    def test_signed_body_of_a_limit_order(self):
        body = self.auth.signed_body(dataclasses.replace(ORDER, time_in_force="GTC"))
        self.assertEqual({"order", "recvWindow", "signature"}, set(body))
        self.assertEqual({"time": ORDER.time, "nonce": ORDER.nonce, "symbol": "BTC-PERP", "isBuy": True,
                          "size": "0.0100", "orderType": "LIMIT", "limitPrice": "30000.00", "reduceOnly": False,
                          "timeInForce": "GTC"}, body["order"])
        self.assertEqual(CONSTANTS.RECV_WINDOW_MS, body["recvWindow"])  # §4.9
        self.assertEqual(ORDER_SIGNATURE, body["signature"])  # timeInForce is not signed (§4.2)

    def test_signed_body_of_a_market_order(self):
        action = OrderAction(1, 2, "MARKET", "ETH-PERP", False, "1.000", "1900.00", True)
        body = self.auth.signed_body(action)
        self.assertNotIn("timeInForce", body["order"])
        self.assertEqual(CONSTANTS.RECV_WINDOW_MS, body["recvWindow"])
        digest = _order_digest(1, 2, "MARKET", "ETH-PERP", False, "1.000", "1900.00", True)
        self.assertEqual(SIGNING_ADDRESS, _recover(digest, body["signature"]))

    def test_signed_body_of_a_cancel(self):
        body = self.auth.signed_body(CancelAction(time=5, nonce=6, order_id="0xabc"))
        self.assertEqual({"time": 5, "nonce": 6, "id": "0xabc"}, body["order"])
        digest = keccak(eth_abi_encode(CANCEL_TYPES, [5, 6, "0xabc"]))
        self.assertEqual(SIGNING_ADDRESS, _recover(digest, body["signature"]))

    def test_signed_body_survives_json_with_the_signed_strings(self):
        """What the server hashes is rebuilt from the JSON it receives (§4.2)."""
        received = json.loads(json.dumps(self.auth.signed_body(ORDER)))
        order = received["order"]
        digest = _order_digest(order["time"], order["nonce"], order["orderType"], order["symbol"], order["isBuy"],
                               order["size"], order["limitPrice"], order["reduceOnly"])
        self.assertEqual(action_digest(ORDER), digest)
        self.assertEqual(SIGNING_ADDRESS, _recover(digest, received["signature"]))

    def test_empty_keys_accepted_but_signing_refused(self):
        for api_key, key in (("", ""), (None, None)):
            with self.subTest(key=key):
                auth = VestPerpetualAuth(api_key=api_key, signing_private_key=key, account_group=None)
                self.assertIsNone(auth.signer_address)
                self.assertEqual(0, auth.account_group)
                with self.assertRaisesRegex(VestAuthError, "vest_perpetual_signing_private_key is not set"):
                    auth.signed_body(ORDER)

    def test_repr_hides_secrets(self):
        for text in (repr(self.auth), str(self.auth)):
            self.assertEqual(f"VestPerpetualAuth(account_group=3, signer={SIGNING_ADDRESS.lower()})", text)
            self.assertNotIn(SIGNING_KEY[2:12], text)
            self.assertNotIn(API_KEY, text)
        self.assertEqual("VestPerpetualAuth(account_group=0, signer=None)",
                         repr(VestPerpetualAuth(api_key=API_KEY, signing_private_key="")))

    def test_pickling_an_auth_with_a_key_is_refused(self):
        with self.assertRaises(TypeError):
            pickle.dumps(self.auth)
        with self.assertRaises(TypeError):
            copy.deepcopy(self.auth)

    # Even without a signing key, the auth holds the API key: it refuses pickling like SigningKey.
    def test_pickling_never_shows_the_api_key(self):
        auth = VestPerpetualAuth(api_key=API_KEY, signing_private_key="", account_group=1)
        try:
            pickled = pickle.dumps(auth)
        except TypeError:
            return  # refusing is as good as hiding
        self.assertNotIn(API_KEY.encode(), pickled)
