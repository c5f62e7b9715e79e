"""Test-side request signing with eth_account / eth_abi (independent of both the simulator and the connector)."""
from __future__ import annotations

from typing import Any, Dict, Optional, Sequence

from eth_abi import encode as abi_encode
from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data
from eth_utils import keccak

# Public Hardhat test keys used by docs/vest-protocol.md §4.10.
PRIMARY_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"  # noqa: mock
PRIMARY_ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
SIGNING_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"  # noqa: mock
SIGNING_ADDRESS = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
OTHER_KEY = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"  # noqa: mock

USDC_BASE = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"  # USDC on Base
T = 1700000000000  # time and nonce of the §4.10 vectors


# docs/vest-protocol.md §4.10 (65-byte signatures split in two for line length)
PROOF_SIG = ("0x8720c026019aaa3d98bb4ad566c9f0c0339f47c0a36dd943ad1d73d4d3b74fe1"  # noqa: mock
             "3e5400e7cb37ea5182ad13cd5f155e3f99564236510809baa57ea4144177ba191c")
ORDER_SIG = ("0x677bed1bd00f969e127db9d4828304e5cfb720d8c9230fcb8ffbf5ac38a716e6"  # noqa: mock
             "4440d5cfe5f4a7dc0928a68b312b6653487153462be696a7a682225d33a7ffc21b")
CANCEL_SIG = ("0x87d86e9e62f9b804553df1ad36375dd58ea915600417824b3934a57a73f1e75d"  # noqa: mock
              "7656910d8178373bf422870ab9058026e157e06855b3279ff9e996bceab66a381b")
LP_SIG = ("0xda823a00637365ad71e1a8da0453a289950bb888b249001316381462dec44c3f"  # noqa: mock
          "0c136b461a3505bcd35fb154e881d2ea62b2c443fe69d1fb53972701c46d4cc21b")
WITHDRAW_SIG = ("0x0442baf927809bef09ce5b629d589f8485868f8909b25d46ba30de348fc4ef70"  # noqa: mock
                "240f422ef2c6e7f7cd907e16ea5c7a617793895620b632f7599577eb8f1084c31c")

ORDER_TYPES = ["uint256", "uint256", "string", "string", "bool", "string", "string", "bool"]
CANCEL_TYPES = ["uint256", "uint256", "string"]
LP_TYPES = ["uint256", "uint256", "string", "string"]
WITHDRAW_TYPES = ["uint256", "uint256", "bool", "address", "address", "address", "uint256", "uint256"]


def sign(types: Sequence[str], values: Sequence[Any], key: str) -> str:
    digest = keccak(abi_encode(list(types), list(values)))
    signature = Account.sign_message(encode_defunct(primitive=digest), key).signature.hex()
    return signature if signature.startswith("0x") else "0x" + signature


def order_body(key: str, *, time: int, nonce: int, symbol: str = "BTC-PERP", is_buy: bool = True,
               size: str = "0.0100", order_type: str = "MARKET", limit_price: str = "70000.0",
               reduce_only: bool = False, time_in_force: Optional[str] = None, tp_price: Optional[str] = None,
               sl_price: Optional[str] = None, recv_window: Optional[int] = None) -> Dict[str, Any]:
    order: Dict[str, Any] = {"time": time, "nonce": nonce, "symbol": symbol, "isBuy": is_buy, "size": size,
                             "orderType": order_type, "limitPrice": limit_price, "reduceOnly": reduce_only}
    if time_in_force is not None:
        order["timeInForce"] = time_in_force
    body: Dict[str, Any] = {"order": order, "signature": sign(
        ORDER_TYPES, [time, nonce, order_type, symbol, is_buy, size, limit_price, reduce_only], key)}
    # TP/SL children: parent time and size, nonce+1 / nonce+2 (docs/vest-protocol.md §4.3, an observed convention)
    for child_type, price, offset, prefix in (("TAKE_PROFIT", tp_price, 1, "tp"), ("STOP_LOSS", sl_price, 2, "sl")):
        if price is not None:
            order[f"{prefix}Price"] = price
            order[f"{prefix}Signature"] = sign(
                ORDER_TYPES, [time, nonce + offset, child_type, symbol, not is_buy, size, price, True], key)
    if recv_window is not None:
        body["recvWindow"] = recv_window
    return body


def cancel_body(key: str, *, time: int, nonce: int, order_id: str) -> Dict[str, Any]:
    return {"order": {"time": time, "nonce": nonce, "id": order_id},
            "signature": sign(CANCEL_TYPES, [time, nonce, order_id], key)}


def lp_body(key: str, *, time: int, nonce: int, order_type: str, size: str) -> Dict[str, Any]:
    return {"order": {"time": time, "nonce": nonce, "orderType": order_type, "size": size},
            "signature": sign(LP_TYPES, [time, nonce, order_type, size], key)}


def withdraw_body(key: str, *, time: int, nonce: int, account: str, recipient: str, token_address: str,
                  size: int, chain_id: int) -> Dict[str, Any]:
    signature = sign(WITHDRAW_TYPES, [time, nonce, False, account, recipient, token_address, size, chain_id], key)
    return {"order": {"time": time, "nonce": nonce, "recipient": recipient, "token": "USDC", "size": size,
                      "chainId": chain_id}, "execute": True, "recvWindow": 60000, "signature": signature}


def signer_proof_signature(primary_key: str, router: str, signer: str, expiry: int) -> str:
    """EIP-712 SignerProof (docs/vest-protocol.md §3.2): domain without chainId."""
    typed = {
        "types": {
            "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                             {"name": "verifyingContract", "type": "address"}],
            "SignerProof": [{"name": "approvedSigner", "type": "address"}, {"name": "signerExpiry", "type": "uint256"}],
        },
        "primaryType": "SignerProof",
        "domain": {"name": "VestRouterV2", "version": "0.0.1", "verifyingContract": router},
        "message": {"approvedSigner": signer, "signerExpiry": expiry},
    }
    signature = Account.sign_message(encode_typed_data(full_message=typed), primary_key).signature.hex()
    return signature if signature.startswith("0x") else "0x" + signature
