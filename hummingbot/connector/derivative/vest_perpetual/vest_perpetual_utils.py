"""Config maps, fees, example pair and the attributes Hummingbot's connector discovery reads.

Hummingbot silently skips a connector whose utils module raises ModuleNotFoundError, so this module imports only
pydantic, bidict and Hummingbot's own core (tested in `test_vest_perpetual_utils`).
"""
import re
from decimal import Decimal
from typing import Any, Iterable, Mapping, Optional

from bidict import bidict
from pydantic import ConfigDict, Field, SecretStr, ValidationInfo, field_validator

from hummingbot.client.config.config_data_types import BaseConnectorConfigMap
from hummingbot.connector.utils import combine_to_hb_trading_pair
from hummingbot.core.data_type.trade_fee import TradeFeeSchema

CENTRALIZED = True
EXAMPLE_PAIR = "BTC-USDC"

# §6.3: a flat 1 bp on every trade; Vest is taker-only, so the maker rate is the taker's.
DEFAULT_FEES = TradeFeeSchema(maker_percent_fee_decimal=Decimal("0.0001"), taker_percent_fee_decimal=Decimal("0.0001"),
                              buy_percent_fee_deducted_from_returns=True)

_PRIVATE_KEY_PATTERN = re.compile(r"^(0x)?([0-9a-fA-F]{64})$")
_SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141  # noqa: mock
_ENCRYPTED_SECRET_PREFIX = b'{"crypto"'  # eth-keyfile JSON, as written by Hummingbot's Security
# §1.3: Vest's docs give no range; the groups seen in use are 0-9. A larger number is a typo, refused at `connect`.
ACCOUNT_GROUP_MAX = 9
# §6.2: a MARKET order signs a worst price, mark x (1 +/- this cap); Vest refuses a worse fill with 3001.
DEFAULT_MARKET_ORDER_SLIPPAGE = Decimal("0.02")
MAX_MARKET_ORDER_SLIPPAGE = Decimal("0.5")  # beyond it a sell's worst price nears zero: a typo, not a choice


def validate_account_group(value: Any) -> int:
    """Account group is the integer `accGroup` returned by `POST /register` (§1.3)."""
    try:
        group = int(str(value).strip())
    except (TypeError, ValueError):
        raise ValueError("The account group must be a whole number (the accGroup returned at registration, "
                         "usually 0).") from None
    if not 0 <= group <= ACCOUNT_GROUP_MAX:
        raise ValueError(f"The account group must be between 0 and {ACCOUNT_GROUP_MAX} (the accGroup returned at "
                         f"registration, usually 0).")
    return group


def validate_market_order_slippage(value: Any) -> Decimal:
    """The MARKET order's price cap as a fraction (0.02 = 2%)."""
    try:
        slippage = Decimal(str(value).strip())
    except ArithmeticError:
        slippage = None
    if slippage is None or not 0 < slippage <= MAX_MARKET_ORDER_SLIPPAGE:
        raise ValueError(f"The market order slippage must be a fraction above 0 and at most {MAX_MARKET_ORDER_SLIPPAGE}"
                         f" (e.g. 0.02 for 2%).")
    return slippage


def validate_api_key(value: Any) -> str:
    """Surrounding whitespace (a pasted line break) is dropped; whitespace inside cannot belong to a key."""
    text = (value.get_secret_value() if isinstance(value, SecretStr) else str(value or "")).strip()
    if any(character.isspace() for character in text):
        raise ValueError("The API key must not contain spaces or line breaks; paste it again as one word.")
    return text


def _is_hummingbot_encrypted(text: str) -> bool:
    """Hummingbot stores secrets as the hex of an encrypted JSON keyfile and validates the config file before it
    decrypts it, so that form must pass too."""
    try:
        return bytes.fromhex(text).startswith(_ENCRYPTED_SECRET_PREFIX)
    except ValueError:
        return False


def validate_signing_key(value: Any) -> str:
    """A secp256k1 private key (64 hex digits, optionally 0x, between 1 and the curve order), checked without
    echoing it; empty is allowed for non-trading instances."""
    text = (value.get_secret_value() if isinstance(value, SecretStr) else str(value or "")).strip()
    if not text or _is_hummingbot_encrypted(text):
        return text
    match = _PRIVATE_KEY_PATTERN.match(text)
    if match is None:
        raise ValueError("The signing private key must be 64 hex characters, optionally prefixed with 0x.")
    if not 0 < int(match.group(2), 16) < _SECP256K1_ORDER:
        raise ValueError("The signing private key is not a valid secp256k1 key (it must be between 1 and the curve "
                         "order); use the key printed by vest-register.")
    return text


def _slippage_setting():
    """Not asked at `connect` (its default suits most); kept, and editable, in conf/connectors/<name>.yml."""
    return Field(default=DEFAULT_MARKET_ORDER_SLIPPAGE, json_schema_extra={
        "prompt": "Enter the MARKET order price cap, as a fraction of the mark price (0.02 = 2%)",
        "is_secure": False, "is_connect_key": True, "prompt_on_new": False})


def _connect_key(prompt: str, secure: bool):
    return Field(default=..., json_schema_extra={
        "prompt": prompt, "is_secure": secure, "is_connect_key": True, "prompt_on_new": True})


_VALIDATORS_BY_SUFFIX = {"_account_group": validate_account_group, "_signing_private_key": validate_signing_key,
                         "_api_key": validate_api_key, "_market_order_slippage": validate_market_order_slippage}


class _VestConfigMapBase(BaseConnectorConfigMap):
    """Validators shared by the prod and testnet maps, matched on the field-name suffix."""

    # Secrets must never reach an error message: pydantic would otherwise echo the rejected input.
    model_config = ConfigDict(hide_input_in_errors=True)

    @field_validator("*", mode="before")
    @classmethod
    def _validate_vest_field(cls, value, info: ValidationInfo):
        for suffix, validate in _VALIDATORS_BY_SUFFIX.items():
            if info.field_name.endswith(suffix):
                return validate(value)
        return value


class VestPerpetualConfigMap(_VestConfigMapBase):
    connector: str = "vest_perpetual"
    vest_perpetual_api_key: SecretStr = _connect_key("Enter your Vest API key (from vest-register)", secure=True)
    vest_perpetual_signing_private_key: SecretStr = _connect_key(
        "Enter your Vest signing private key (the delegate key, not your wallet key)", secure=True)
    vest_perpetual_account_group: int = _connect_key(
        "Enter your Vest account group (accGroup from registration, usually 0)", secure=False)
    vest_perpetual_market_order_slippage: Decimal = _slippage_setting()
    model_config = ConfigDict(title="vest_perpetual")


KEYS = VestPerpetualConfigMap.model_construct()


class VestPerpetualTestnetConfigMap(_VestConfigMapBase):
    connector: str = "vest_perpetual_testnet"
    vest_perpetual_testnet_api_key: SecretStr = _connect_key(
        "Enter your Vest testnet API key (from vest-register --domain vest_perpetual_testnet)", secure=True)
    vest_perpetual_testnet_signing_private_key: SecretStr = _connect_key(
        "Enter your Vest testnet signing private key (the delegate key, not your wallet key)", secure=True)
    vest_perpetual_testnet_account_group: int = _connect_key(
        "Enter your Vest testnet account group (accGroup from registration, usually 0)", secure=False)
    vest_perpetual_testnet_market_order_slippage: Decimal = _slippage_setting()
    model_config = ConfigDict(title="vest_perpetual_testnet")


OTHER_DOMAINS = ["vest_perpetual_testnet"]
OTHER_DOMAINS_PARAMETER = {"vest_perpetual_testnet": "vest_perpetual_testnet"}
OTHER_DOMAINS_EXAMPLE_PAIR = {"vest_perpetual_testnet": EXAMPLE_PAIR}
OTHER_DOMAINS_DEFAULT_FEES = {"vest_perpetual_testnet": DEFAULT_FEES}
OTHER_DOMAINS_KEYS = {"vest_perpetual_testnet": VestPerpetualTestnetConfigMap.model_construct()}


# Symbol <-> trading pair, from exchangeInfo `base`/`quote` (§6.4), never by parsing the symbol string, so
# `kBONK-PERP` -> `kBONK-USDC` and `AAPL-USD-PERP` -> `AAPL-<its quote>` come out right.
def trading_pair_of(symbol_info: Mapping[str, Any]) -> str:
    return combine_to_hb_trading_pair(base=symbol_info["base"], quote=symbol_info["quote"])


def build_symbol_map(symbol_infos: Iterable[Mapping[str, Any]]) -> bidict:
    """Exchange symbol -> Hummingbot trading pair; the first symbol claiming a pair keeps it."""
    mapping: bidict = bidict()
    for info in symbol_infos:
        pair = trading_pair_of(info)
        if pair not in mapping.inverse and info["symbol"] not in mapping:
            mapping[info["symbol"]] = pair
    return mapping


def convert_from_exchange_trading_pair(exchange_symbol: str, symbol_map: Mapping[str, str]) -> Optional[str]:
    return symbol_map.get(exchange_symbol)


def convert_to_exchange_trading_pair(trading_pair: str, symbol_map: bidict) -> Optional[str]:
    return symbol_map.inverse.get(trading_pair)
