"""`vest-register`: approve a fresh signing key for a Vest account and print the `connect` answers.

Registration (docs/vest-protocol.md §3.2) is a one-off step outside the connector: the PRIMARY (wallet) key signs an
EIP-712 `SignerProof` for a newly generated signing key, and `POST /register` answers with the api key and account
group. The primary key is read from `VEST_PRIMARY_PRIVATE_KEY` or a hidden prompt, never from the command line, and is
never printed. Run again (a new signing key) before the signer expires.
"""
import argparse
import asyncio
import getpass
import json
import os
import sys
import time
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Tuple

import aiohttp
from eth_account import Account
from eth_account.messages import SignableMessage, encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from hummingbot.connector.derivative.vest_perpetual import (
    vest_perpetual_constants as CONSTANTS,
    vest_perpetual_web_utils as web_utils,
)
from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_messages import parse_error_envelope

# docs/vest-protocol.md §3.2: the EIP-712 verifying contract ("VestRouterV2") per domain.
ROUTER_ADDRESSES: Dict[str, str] = {
    CONSTANTS.DOMAIN: "0x919386306C47b2Fe1036e3B4F7C40D22D2461a23",
    CONSTANTS.TESTNET_DOMAIN: "0x8E4D87AEf4AC4D5415C35A12319013e34223825B",
}
EIP712_DOMAIN_NAME = "VestRouterV2"
EIP712_DOMAIN_VERSION = "0.0.1"
NETWORK_TYPE_EVM = 0
SIGNER_EXPIRY_DAYS = 30  # clients use 1-30 days; the maximum is unknown
REGISTER_PATH_URL = "/register"

# The domain has no chainId, so the full EIP712Domain type is spelled out rather than left to eth_account.
_SIGNER_PROOF_TYPES = {
    "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                     {"name": "verifyingContract", "type": "address"}],
    "SignerProof": [{"name": "approvedSigner", "type": "address"}, {"name": "signerExpiry", "type": "uint256"}],
}

PRIMARY_KEY_ENV_VAR = "VEST_PRIMARY_PRIVATE_KEY"
PRIMARY_KEY_NAME = f"The primary (wallet) private key from {PRIMARY_KEY_ENV_VAR} or the prompt"
REQUEST_TIMEOUT_SECONDS = 30


class RegistrationError(Exception):
    """A failure worded for the user; printed as is, without a stack trace."""


def _parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="vest-register",
        description=f"Register a new Vest signing key (the primary key is read from {PRIMARY_KEY_ENV_VAR} "
                    f"or a hidden prompt).")
    parser.add_argument("--domain", choices=sorted(ROUTER_ADDRESSES), default=CONSTANTS.DOMAIN)
    parser.add_argument("--expiry-days", type=int, default=SIGNER_EXPIRY_DAYS,
                        help="signer lifetime in days (§3.2: the maximum is unknown)")
    parser.add_argument("--account-group", type=int, default=CONSTANTS.PUBLIC_ACCOUNT_GROUP,
                        help="xrestservermm group sent with the call (§1.3: unknown before registration)")
    args = parser.parse_args(argv)
    if args.expiry_days <= 0:
        parser.error("--expiry-days must be a positive number of days")
    if args.account_group < 0:
        parser.error("--account-group must be 0 or greater")
    return args


def primary_account(text: Optional[str]) -> LocalAccount:
    """The primary key as an eth_account account; any failure is reworded so the key never reaches a message."""
    text = (text or "").strip()
    if text.startswith(("0x", "0X")):
        text = text[2:]
    try:  # 32 raw bytes, because eth_account's own errors may quote a text key
        secret = bytes.fromhex(text)
        if len(secret) != 32:
            raise ValueError
        return Account.from_key(secret)  # rejects zero and keys at or above the curve order
    except Exception:
        raise RegistrationError(f"{PRIMARY_KEY_NAME} is not a valid private key: expected 64 hex characters "
                                f"(optionally prefixed with 0x) of a secp256k1 key.") from None


def _read_primary_key() -> LocalAccount:
    return primary_account(os.environ.get(PRIMARY_KEY_ENV_VAR) or getpass.getpass("Primary (wallet) private key: "))


def signer_proof(signing_address: str, expiry_ms: int, router_address: str) -> SignableMessage:
    """The EIP-712 `SignerProof(approvedSigner, signerExpiry)` under the no-chainId domain (§3.2).

    Addresses are checksummed first, so either spelling of an address gives the same message.
    """
    return encode_typed_data(full_message={
        "types": _SIGNER_PROOF_TYPES,
        "primaryType": "SignerProof",
        "domain": {"name": EIP712_DOMAIN_NAME, "version": EIP712_DOMAIN_VERSION,
                   "verifyingContract": to_checksum_address(router_address)},
        "message": {"approvedSigner": to_checksum_address(signing_address), "signerExpiry": int(expiry_ms)},
    })


def registration_body(primary: LocalAccount, signing_address: str, expiry_ms: int,
                      router_address: str) -> Dict[str, Any]:
    """The `POST /register` body (§3.2): lower-case addresses and the proof as 0x r‖s‖v, v in {27, 28}."""
    signed = primary.sign_message(signer_proof(signing_address, expiry_ms, router_address))
    return {"signingAddr": signing_address.lower(), "primaryAddr": primary.address.lower(),
            "signature": "0x" + bytes(signed.signature).hex(), "expiryTime": expiry_ms,
            "networkType": NETWORK_TYPE_EVM}


async def _post_register(url: str, body: dict, account_group: int) -> Tuple[int, Any]:
    headers = {CONSTANTS.ACCOUNT_GROUP_HEADER: web_utils.account_group_value(account_group),
               "Content-Type": "application/json"}
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        async with session.post(url, json=body, headers=headers) as response:
            text = await response.text()
    try:
        return response.status, json.loads(text)
    except ValueError:
        return response.status, text


def _register(args: argparse.Namespace) -> str:
    """Signs the SignerProof (§3.2), posts it and returns the text to print."""
    primary = _read_primary_key()
    signer = Account.create()  # a fresh key from the OS's randomness
    signing_secret = "0x" + bytes(signer.key).hex()
    signing_address, primary_address = signer.address.lower(), primary.address.lower()
    # A standalone command: the wall clock, since no connector clock exists here.
    expiry_ms = int(time.time() * 1000) + args.expiry_days * 86_400_000
    body = registration_body(primary, signing_address, expiry_ms, ROUTER_ADDRESSES[args.domain])
    url = web_utils.private_rest_url(REGISTER_PATH_URL, args.domain)
    try:
        status, payload = asyncio.run(_post_register(url, body, args.account_group))
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as error:
        raise RegistrationError(f"Could not reach {url}: {error or type(error).__name__}") from None
    error = parse_error_envelope(payload, status)  # all three envelopes of §3.12
    if error is not None:
        raise RegistrationError(f"Registration refused: code {error.code} {error.name}: {error.message}"
                                f" (HTTP {status})")
    api_key = payload.get("apiKey") if isinstance(payload, dict) else None
    group = payload.get("accGroup") if isinstance(payload, dict) else None
    if not isinstance(api_key, str) or not api_key or isinstance(group, bool) or not isinstance(group, int):
        raise RegistrationError(f"Unexpected answer from {url} (HTTP {status}): expected apiKey and accGroup")
    expiry = datetime.fromtimestamp(expiry_ms / 1000, tz=timezone.utc).isoformat(timespec="seconds")
    prefix = args.domain
    return "\n".join([
        f"Registered signing key {signing_address} for account {primary_address} on {args.domain}.",
        f"The signer expires on {expiry}; run vest-register again before then.",
        "",
        f"Paste these answers into `connect {args.domain}` in Hummingbot:",
        f"  {prefix}_api_key: {api_key}",
        f"  {prefix}_signing_private_key: {signing_secret}",
        f"  {prefix}_account_group: {group}",
        "",
        "Keep the signing private key secret: it signs orders for your account.",
    ])


def main(argv: Optional[List[str]] = None) -> int:
    args = _parse_args(argv)
    try:
        print(_register(args))
    except RegistrationError as error:
        print(f"vest-register: {error}", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, EOFError):
        print("vest-register: aborted", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
