"""Vest request authentication: headers on every REST call and pure signing of each signed action.

§4.1: a signed action is `abi.encode(tuple)` -> keccak256 -> EIP-191 personal-sign over the 32 raw bytes, sent as
`0x` + r‖s‖v with v in {27, 28}. §3.2: registration instead signs an EIP-712 `SignerProof` with the primary key.
The action dataclasses hold the exact strings that are signed, and their `body()` sends those same strings.
"""
from dataclasses import dataclass, replace
from typing import Any, Dict, List, Optional, Sequence, Tuple

from eth_hash.auto import keccak

from hummingbot.connector.derivative.vest_perpetual import vest_perpetual_constants as CONSTANTS
from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_web_utils import account_group_value
from hummingbot.core.web_assistant.auth import AuthBase
from hummingbot.core.web_assistant.connections.data_types import RESTRequest, WSRequest

try:  # libsecp256k1 bindings: ~40x faster than eth_keys' pure-Python fallback, same RFC 6979 signatures.
    import coincurve
except ImportError:  # pragma: no cover - exercised only where coincurve cannot be installed
    coincurve = None

SIGNING_KEY_CONFIG_NAME = "vest_perpetual_signing_private_key"
_WORD = 32
_SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_PERSONAL_SIGN_PREFIX = b"\x19Ethereum Signed Message:\n32"
_EIP712_PREFIX = b"\x19\x01"
_EIP712_DOMAIN_TYPEHASH = keccak(b"EIP712Domain(string name,string version,address verifyingContract)")
_SIGNER_PROOF_TYPEHASH = keccak(b"SignerProof(address approvedSigner,uint256 signerExpiry)")


class VestAuthError(ValueError):
    """A key or signing problem, worded for the user; never carries key material."""


# ---------------------------------------------------------------------------------------------------------------
# ABI encoding of the fixed tuples Vest signs (standard head/tail `abi.encode`, §4.1). Only uint256, bool, address
# and string occur, so a small encoder replaces eth_abi on the order hot path.
# ---------------------------------------------------------------------------------------------------------------
def _uint_word(value: int) -> bytes:
    return int(value).to_bytes(_WORD, "big")


def _address_word(address: str) -> bytes:
    raw = bytes.fromhex(address[2:] if address.startswith(("0x", "0X")) else address)
    if len(raw) != 20:
        raise VestAuthError(f"Not a 20-byte address: {address!r}")
    return raw.rjust(_WORD, b"\0")


def abi_encode(types: Sequence[str], values: Sequence[Any]) -> bytes:
    """`abi.encode(values)` for a flat tuple of uint256 / bool / address / string."""
    heads: List[bytes] = []
    tails: List[bytes] = []
    tail_offset = _WORD * len(types)
    for abi_type, value in zip(types, values):
        if abi_type == "string":
            data = value.encode("utf-8")
            padded = data + b"\0" * (-len(data) % _WORD)
            heads.append(_uint_word(tail_offset))
            tails.append(_uint_word(len(data)) + padded)
            tail_offset += _WORD + len(padded)
        elif abi_type == "uint256":
            heads.append(_uint_word(value))
        elif abi_type == "bool":
            heads.append(_uint_word(1 if value else 0))
        elif abi_type == "address":
            heads.append(_address_word(value))
        else:
            raise ValueError(f"Unsupported ABI type {abi_type}")
    return b"".join(heads) + b"".join(tails)


# ---------------------------------------------------------------------------------------------------------------
# Signed actions. Each knows its ABI tuple (§4.2-§4.6) and the JSON body carrying the same values.
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OrderAction:
    """`POST /orders` (§3.6, §4.2). `size`/`limit_price` are the final decimal strings; never re-format them."""
    time: int
    nonce: int
    order_type: str
    symbol: str
    is_buy: bool
    size: str
    limit_price: str
    reduce_only: bool
    time_in_force: Optional[str] = None
    tp_price: Optional[str] = None
    sl_price: Optional[str] = None

    ABI_TYPES = ("uint256", "uint256", "string", "string", "bool", "string", "string", "bool")

    def abi_values(self) -> Tuple:
        # §4.2: orderType comes before symbol.
        return (self.time, self.nonce, self.order_type, self.symbol, self.is_buy, self.size, self.limit_price,
                self.reduce_only)

    def child(self, order_type: str, trigger_price: str, nonce_offset: int) -> "OrderAction":
        """TP/SL child tuple (§4.3): opposite side, reduce-only, trigger as limitPrice; nonce offset per C6."""
        return replace(self, nonce=self.nonce + nonce_offset, order_type=order_type, is_buy=not self.is_buy,
                       limit_price=trigger_price, reduce_only=True, time_in_force=None, tp_price=None, sl_price=None)

    def order_json(self) -> Dict[str, Any]:
        order = {"time": self.time, "nonce": self.nonce, "symbol": self.symbol, "isBuy": self.is_buy,
                 "size": self.size, "orderType": self.order_type, "limitPrice": self.limit_price,
                 "reduceOnly": self.reduce_only}
        if self.time_in_force is not None:
            order["timeInForce"] = self.time_in_force
        return order


@dataclass(frozen=True)
class CancelAction:
    """`POST /orders/cancel` (§3.7, §4.4): the order id is signed as a string."""
    time: int
    nonce: int
    order_id: str

    ABI_TYPES = ("uint256", "uint256", "string")

    def abi_values(self) -> Tuple:
        return self.time, self.nonce, self.order_id

    def order_json(self) -> Dict[str, Any]:
        return {"time": self.time, "nonce": self.nonce, "id": self.order_id}


@dataclass(frozen=True)
class LpAction:
    """`POST /lp` (§3.9, §4.5)."""
    time: int
    nonce: int
    order_type: str
    size: str

    ABI_TYPES = ("uint256", "uint256", "string", "string")

    def abi_values(self) -> Tuple:
        return self.time, self.nonce, self.order_type, self.size

    def order_json(self) -> Dict[str, Any]:
        return {"time": self.time, "nonce": self.nonce, "orderType": self.order_type, "size": self.size}


@dataclass(frozen=True)
class WithdrawAction:
    """`POST /transfer/withdraw` (§3.10, §4.6): signs the token *address*; the body names the token symbol."""
    time: int
    nonce: int
    account: str
    recipient: str
    token_address: str
    size: int
    chain_id: int
    token_symbol: str = CONSTANTS.COLLATERAL_TOKEN

    ABI_TYPES = ("uint256", "uint256", "bool", "address", "address", "address", "uint256", "uint256")

    def abi_values(self) -> Tuple:
        return (self.time, self.nonce, False, self.account, self.recipient, self.token_address, self.size,
                self.chain_id)

    def order_json(self) -> Dict[str, Any]:
        return {"time": self.time, "nonce": self.nonce, "recipient": self.recipient, "token": self.token_symbol,
                "size": self.size, "chainId": self.chain_id}


def action_digest(action) -> bytes:
    """keccak256(abi.encode(tuple)) of a signed action (§4.1 step 2)."""
    return keccak(abi_encode(action.ABI_TYPES, action.abi_values()))


def signer_proof_digest(signing_address: str, expiry_ms: int, router_address: str) -> bytes:
    """EIP-712 digest of `SignerProof(approvedSigner, signerExpiry)` under the no-chainId domain (§3.2)."""
    domain_separator = keccak(
        _EIP712_DOMAIN_TYPEHASH
        + keccak(CONSTANTS.EIP712_DOMAIN_NAME.encode())
        + keccak(CONSTANTS.EIP712_DOMAIN_VERSION.encode())
        + _address_word(router_address))
    struct_hash = keccak(_SIGNER_PROOF_TYPEHASH + _address_word(signing_address) + _uint_word(expiry_ms))
    return keccak(_EIP712_PREFIX + domain_separator + struct_hash)


# ---------------------------------------------------------------------------------------------------------------
# Keys
# ---------------------------------------------------------------------------------------------------------------
class SigningKey:
    """A secp256k1 private key that signs 32-byte hashes and never shows its secret."""

    __slots__ = ("_secret", "_coincurve_key", "address")

    def __init__(self, private_key_hex: str, config_name: str = SIGNING_KEY_CONFIG_NAME):
        secret = _parse_private_key(private_key_hex, config_name)
        self._secret = secret
        self._coincurve_key = coincurve.PrivateKey(secret) if coincurve is not None else None
        self.address = _address_of(secret)

    def sign_hash(self, message_hash: bytes) -> str:
        """65-byte r‖s‖v signature, v in {27, 28}, as 0x-prefixed hex (§4.1 step 4)."""
        if self._coincurve_key is not None:
            raw = self._coincurve_key.sign_recoverable(message_hash, hasher=None)
            return "0x" + raw[:64].hex() + format(raw[64] + 27, "02x")
        from eth_keys import keys  # pragma: no cover - fallback path
        signature = keys.PrivateKey(self._secret).sign_msg_hash(message_hash)  # pragma: no cover
        return "0x" + signature.to_bytes()[:64].hex() + format(signature.v + 27, "02x")  # pragma: no cover

    def sign_personal(self, digest: bytes) -> str:
        """EIP-191 personal_sign over the raw 32-byte digest (§4.1 step 3)."""
        return self.sign_hash(keccak(_PERSONAL_SIGN_PREFIX + digest))

    def __repr__(self) -> str:
        return f"SigningKey(address={self.address})"

    __str__ = __repr__

    def __reduce__(self):
        raise TypeError("SigningKey cannot be pickled")


def _parse_private_key(private_key_hex: str, config_name: str) -> bytes:
    text = (private_key_hex or "").strip()
    if text.startswith(("0x", "0X")):
        text = text[2:]
    try:
        secret = bytes.fromhex(text)
    except ValueError:
        secret = b""
    if len(secret) != 32 or not 0 < int.from_bytes(secret, "big") < _SECP256K1_ORDER:
        raise VestAuthError(f"{config_name} is not a valid private key: expected 64 hex characters "
                            f"(optionally prefixed with 0x) of a secp256k1 key.") from None
    return secret


def _address_of(secret: bytes) -> str:
    if coincurve is not None:
        public = coincurve.PublicKey.from_secret(secret).format(compressed=False)[1:]
    else:  # pragma: no cover
        from eth_keys import keys
        public = keys.PrivateKey(secret).public_key.to_bytes()
    return "0x" + keccak(public)[-20:].hex()


# ---------------------------------------------------------------------------------------------------------------
# Hummingbot auth
# ---------------------------------------------------------------------------------------------------------------
class VestPerpetualAuth(AuthBase):
    """Adds `X-API-KEY` and `xrestservermm` to every authenticated request and signs actions.

    Empty keys are accepted: Hummingbot builds non-trading instances with every config field empty. Signing then
    raises a `VestAuthError` naming the missing config key.
    """

    def __init__(self, api_key: str, signing_private_key: str, account_group: int = 0):
        self._api_key = api_key or ""
        self._account_group = int(account_group or 0)
        self._signing_key: Optional[SigningKey] = (
            SigningKey(signing_private_key) if signing_private_key else None)

    @property
    def account_group(self) -> int:
        return self._account_group

    @property
    def signer_address(self) -> Optional[str]:
        return self._signing_key.address if self._signing_key is not None else None

    def __repr__(self) -> str:
        return f"VestPerpetualAuth(account_group={self._account_group}, signer={self.signer_address})"

    __str__ = __repr__

    def auth_headers(self) -> Dict[str, str]:
        return {CONSTANTS.API_KEY_HEADER: self._api_key,
                CONSTANTS.ACCOUNT_GROUP_HEADER: account_group_value(self._account_group)}

    async def rest_authenticate(self, request: RESTRequest) -> RESTRequest:
        headers = dict(request.headers or {})
        headers.update(self.auth_headers())
        request.headers = headers
        return request

    async def ws_authenticate(self, request: WSRequest) -> WSRequest:
        return request  # §5.1: private WS access is granted by the listenKey in the URL.

    def sign(self, action) -> str:
        if self._signing_key is None:
            raise VestAuthError(f"{SIGNING_KEY_CONFIG_NAME} is not set; connect vest_perpetual with a signing key.")
        return self._signing_key.sign_personal(action_digest(action))

    def signed_body(self, action, recv_window_ms: int = CONSTANTS.RECV_WINDOW_MS) -> Dict[str, Any]:
        """The JSON body of a signed POST: `{"order": …, "recvWindow": …, "signature": "0x…"}`."""
        body: Dict[str, Any] = {"order": action.order_json(), "recvWindow": recv_window_ms,
                                "signature": self.sign(action)}
        if isinstance(action, OrderAction):
            for price, child_type, offset, price_key, signature_key in _TP_SL_CHILDREN:
                trigger = getattr(action, price)
                if trigger is not None:
                    body["order"][price_key] = trigger
                    body["order"][signature_key] = self.sign(action.child(child_type, trigger, offset))
        return body


# (attribute, child order type, nonce offset, body price field, body signature field), §4.3.
_TP_SL_CHILDREN = (
    ("tp_price", CONSTANTS.ORDER_TYPE_TAKE_PROFIT, 1, "tpPrice", "tpSignature"),
    ("sl_price", CONSTANTS.ORDER_TYPE_STOP_LOSS, 2, "slPrice", "slSignature"),
)


@dataclass(frozen=True)
class SignerRegistration:
    """The `POST /register` body (§3.2) for a fresh signing key approved by the primary key."""
    signing_address: str
    primary_address: str
    signature: str
    expiry_ms: int
    network_type: int = CONSTANTS.NETWORK_TYPE_EVM

    def body(self) -> Dict[str, Any]:
        return {"signingAddr": self.signing_address.lower(), "primaryAddr": self.primary_address.lower(),
                "signature": self.signature, "expiryTime": self.expiry_ms, "networkType": self.network_type}


def sign_signer_proof(primary_key: SigningKey, signing_address: str, expiry_ms: int,
                      router_address: str) -> SignerRegistration:
    digest = signer_proof_digest(signing_address, expiry_ms, router_address)
    return SignerRegistration(signing_address=signing_address, primary_address=primary_key.address,
                              signature=primary_key.sign_hash(digest), expiry_ms=expiry_ms)
