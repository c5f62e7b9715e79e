"""`vest-register`: approve a fresh signing key for a Vest account and print the `connect` answers.

Registration (vest-api.md §3.2) is a one-off step outside the connector: the PRIMARY (wallet) key signs an EIP-712
`SignerProof` for a newly generated signing key, and `POST /register` answers with the api key and account group.
The primary key is read from `VEST_PRIMARY_PRIVATE_KEY` or a hidden prompt, never from the command line, and is
never printed. Run again (a new signing key) before the signer expires.
"""
import argparse
import asyncio
import getpass
import json
import os
import secrets
import sys
import time
from datetime import datetime, timezone
from typing import Any, List, Optional, Tuple

import aiohttp

from hummingbot.connector.derivative.vest_perpetual import (
    vest_perpetual_constants as CONSTANTS,
    vest_perpetual_web_utils as web_utils,
)
from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_auth import (
    SigningKey,
    VestAuthError,
    sign_signer_proof,
)
from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_messages import parse_error_envelope

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
    parser.add_argument("--domain", choices=sorted(CONSTANTS.ROUTER_ADDRESSES), default=CONSTANTS.DOMAIN)
    parser.add_argument("--expiry-days", type=int, default=CONSTANTS.SIGNER_EXPIRY_DAYS,
                        help="signer lifetime in days (§3.2: the maximum is unknown)")
    parser.add_argument("--account-group", type=int, default=CONSTANTS.PUBLIC_ACCOUNT_GROUP,
                        help="xrestservermm group sent with the call (§1.3: unknown before registration)")
    args = parser.parse_args(argv)
    if args.expiry_days <= 0:
        parser.error("--expiry-days must be a positive number of days")
    if args.account_group < 0:
        parser.error("--account-group must be 0 or greater")
    return args


def _read_primary_key() -> SigningKey:
    text = os.environ.get(PRIMARY_KEY_ENV_VAR) or getpass.getpass("Primary (wallet) private key: ")
    try:
        return SigningKey(text, config_name=PRIMARY_KEY_NAME)
    except VestAuthError as error:  # the message names the source, never the key
        raise RegistrationError(str(error)) from None


def _new_signing_key() -> Tuple[str, SigningKey]:
    while True:  # a random 32-byte value is a valid secp256k1 key with overwhelming probability
        secret_hex = "0x" + secrets.token_bytes(32).hex()
        try:
            return secret_hex, SigningKey(secret_hex)
        except VestAuthError:  # pragma: no cover - zero or >= curve order
            continue


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
    primary_key = _read_primary_key()
    signing_secret, signing_key = _new_signing_key()
    # A standalone command: the wall clock, since no connector clock exists here.
    expiry_ms = int(time.time() * 1000) + args.expiry_days * 86_400_000
    registration = sign_signer_proof(primary_key, signing_key.address, expiry_ms,
                                     CONSTANTS.ROUTER_ADDRESSES[args.domain])
    url = web_utils.public_rest_url(CONSTANTS.REGISTER_PATH_URL, args.domain)
    try:
        status, payload = asyncio.run(_post_register(url, registration.body(), args.account_group))
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
        f"Registered signing key {signing_key.address} for account {primary_key.address} on {args.domain}.",
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
