"""Independent signature verification for Vest requests (docs/vest-protocol.md §3.2, §4).

Signed POST bodies: digest = keccak256(abi.encode(tuple)); the signer signs the EIP-191 personal-sign hash
of those 32 raw bytes. /register carries an EIP-712 `SignerProof` signed by the primary key with the domain
{name:"VestRouterV2", version:"0.0.1", verifyingContract} and no chainId.

The ABI encoder is a small hand-written one for the fixed tuples used here (uint256, bool, address, string,
bytes); it is checked against eth_abi in the tests and is much faster than the generic codec.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Sequence, Tuple

import coincurve
from eth_hash.auto import keccak as _keccak

PROD_ROUTER = "0x919386306C47b2Fe1036e3B4F7C40D22D2461a23"
DEV_ROUTER = "0x8E4D87AEf4AC4D5415C35A12319013e34223825B"

ORDER_TYPES = ("uint256", "uint256", "string", "string", "bool", "string", "string", "bool")  # §4.2
CANCEL_TYPES = ("uint256", "uint256", "string")  # §4.4
LP_TYPES = ("uint256", "uint256", "string", "string")  # §4.5
WITHDRAW_TYPES = ("uint256", "uint256", "bool", "address", "address", "address", "uint256", "uint256")  # §4.6

_PERSONAL_PREFIX = b"\x19Ethereum Signed Message:\n32"
_WORD = 32
_UINT256_MAX = (1 << 256) - 1


def keccak(data: bytes) -> bytes:
    return _keccak(data)


def _pad_right(data: bytes) -> bytes:
    return data + b"\x00" * (-len(data) % _WORD)


def _static_word(kind: str, value: Any) -> bytes:
    if kind == "uint256":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _UINT256_MAX:
            raise ValueError(f"bad uint256 {value!r}")
        return value.to_bytes(_WORD, "big")
    if kind == "bool":
        return (1 if value else 0).to_bytes(_WORD, "big")
    if kind == "address":
        raw = address_bytes(value)
        return b"\x00" * 12 + raw
    raise ValueError(f"unsupported static type {kind}")


_TRUE_WORD = (1).to_bytes(_WORD, "big")
_FALSE_WORD = bytes(_WORD)


def abi_encode(types: Sequence[str], values: Sequence[Any]) -> bytes:
    """Standard (non-packed) abi.encode of a flat tuple."""
    if len(types) != len(values):
        raise ValueError("types/values length mismatch")
    head, tail = [], []
    tail_offset = _WORD * len(types)
    for kind, value in zip(types, values):
        if kind == "string" or kind == "bytes":
            data = value.encode() if kind == "string" else bytes(value)
            head.append(tail_offset.to_bytes(_WORD, "big"))
            chunk = len(data).to_bytes(_WORD, "big") + _pad_right(data)
            tail.append(chunk)
            tail_offset += len(chunk)
        elif kind == "bool":
            head.append(_TRUE_WORD if value else _FALSE_WORD)
        else:
            head.append(_static_word(kind, value))
    return b"".join(head) + b"".join(tail)


def personal_hash(digest: bytes) -> bytes:
    """EIP-191 personal-sign hash over 32 raw digest bytes (§4.1 step 3)."""
    return keccak(_PERSONAL_PREFIX + digest)


def address_bytes(address: str) -> bytes:
    text = address[2:] if address[:2] in ("0x", "0X") else address
    raw = bytes.fromhex(text)
    if len(raw) != 20:
        raise ValueError(f"bad address {address!r}")
    return raw


def is_address(value: Any) -> bool:
    try:
        return isinstance(value, str) and value[:2] in ("0x", "0X") and len(address_bytes(value)) == 20
    except ValueError:
        return False


def to_checksum(address: str) -> str:
    """EIP-55 mixed-case address."""
    lower = address_bytes(address).hex()
    hashed = keccak(lower.encode()).hex()
    return "0x" + "".join(c.upper() if int(h, 16) >= 8 else c for c, h in zip(lower, hashed))


_ADDRESS_CACHE: Dict[bytes, str] = {}
_ADDRESS_CACHE_SIZE = 4096


def _address_of_public_key(public_key: coincurve.PublicKey) -> str:
    """keccak(uncompressed point)[-20:], cached: a simulator sees few distinct signers."""
    point = public_key.format(compressed=False)
    address = _ADDRESS_CACHE.get(point)
    if address is None:
        if len(_ADDRESS_CACHE) >= _ADDRESS_CACHE_SIZE:
            _ADDRESS_CACHE.clear()
        address = _ADDRESS_CACHE[point] = "0x" + keccak(point[1:])[-20:].hex()
    return address


def address_of(private_key: str) -> str:
    """Lower-case address of a 0x-hex private key."""
    return _address_of_public_key(coincurve.PrivateKey(bytes.fromhex(private_key.removeprefix("0x"))).public_key)


def recover_address(message_hash: bytes, signature: Any) -> Optional[str]:
    """Recover the lower-case signer address from a 0x-prefixed 65-byte r||s||v signature, or None."""
    if not isinstance(signature, str) or not signature.startswith("0x") or len(signature) != 132:
        return None
    try:
        raw = bytes.fromhex(signature[2:])
    except ValueError:
        return None
    v = raw[64]
    recovery_id = v - 27 if v >= 27 else v
    if recovery_id not in (0, 1):
        return None
    try:
        public_key = coincurve.PublicKey.from_signature_and_message(
            raw[:64] + bytes([recovery_id]), message_hash, hasher=None
        )
    except Exception:  # invalid curve point / zero r,s
        return None
    return _address_of_public_key(public_key)


def sign_hash(private_key: str, message_hash: bytes) -> str:
    """Sign a 32-byte hash; returns 0x r||s||v with v in {27, 28} (used for server-side proofs)."""
    key = coincurve.PrivateKey(bytes.fromhex(private_key.removeprefix("0x")))
    raw = key.sign_recoverable(message_hash, hasher=None)
    return "0x" + (raw[:64] + bytes([raw[64] + 27])).hex()


def request_digest(types: Sequence[str], values: Sequence[Any]) -> Tuple[bytes, bytes]:
    """(keccak of abi.encode, personal-sign hash) for a signed POST (§4.1)."""
    digest = keccak(abi_encode(types, values))
    return digest, personal_hash(digest)


_DOMAIN_TYPEHASH = keccak(b"EIP712Domain(string name,string version,address verifyingContract)")
_SIGNER_PROOF_TYPEHASH = keccak(b"SignerProof(address approvedSigner,uint256 signerExpiry)")
_DOMAIN_NAME_HASH = keccak(b"VestRouterV2")
_DOMAIN_VERSION_HASH = keccak(b"0.0.1")


def domain_separator(router: str) -> bytes:
    return keccak(_DOMAIN_TYPEHASH + _DOMAIN_NAME_HASH + _DOMAIN_VERSION_HASH + _static_word("address", router))


def signer_proof_hashes(router: str, signer: str, expiry_ms: int) -> Tuple[bytes, bytes, bytes]:
    """(domainSeparator, structHash, EIP-712 digest) of SignerProof (§3.2, §4.10)."""
    separator = domain_separator(router)
    struct_hash = keccak(_SIGNER_PROOF_TYPEHASH + _static_word("address", signer) + _static_word("uint256", expiry_ms))
    return separator, struct_hash, keccak(b"\x19\x01" + separator + struct_hash)
