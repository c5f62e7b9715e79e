"""docs/vest-protocol.md §4.10 vectors against the simulator's own encoder/verifier, plus encoder property tests."""
from __future__ import annotations

import unittest

from eth_abi import encode as eth_abi_encode
from eth_utils import keccak as eth_keccak
from hypothesis import given, settings, strategies as st

from vest_simulator.signatures import (
    CANCEL_TYPES,
    LP_TYPES,
    ORDER_TYPES,
    PROD_ROUTER,
    WITHDRAW_TYPES,
    abi_encode,
    address_of,
    domain_separator,
    keccak,
    personal_hash,
    recover_address,
    request_digest,
    sign_hash,
    signer_proof_hashes,
    to_checksum,
)

from .signing import (
    CANCEL_SIG,
    LP_SIG,
    ORDER_SIG,
    PRIMARY_ADDRESS,
    PRIMARY_KEY,
    PROOF_SIG,
    SIGNING_ADDRESS,
    SIGNING_KEY,
    USDC_BASE,
    WITHDRAW_SIG,
    T,
    sign,
    signer_proof_signature,
)


class VectorTests(unittest.TestCase):
    """Every vector of §4.10: our digest equals the documented one and the documented signature recovers the
    documented address over it (and eth_account reproduces the signature)."""

    def assert_vector(self, types, values, keccak_hex: str, signature: str, signer: str) -> None:
        digest, message_hash = request_digest(types, values)
        self.assertEqual(keccak_hex, "0x" + digest.hex())
        self.assertEqual(signer.lower(), recover_address(message_hash, signature))
        self.assertEqual(signature, sign(types, values, SIGNING_KEY if signer == SIGNING_ADDRESS else PRIMARY_KEY))

    def test_keys(self) -> None:
        self.assertEqual(PRIMARY_ADDRESS, to_checksum(address_of(PRIMARY_KEY)))
        self.assertEqual(SIGNING_ADDRESS, to_checksum(address_of(SIGNING_KEY)))

    def test_signer_proof(self) -> None:
        separator, struct_hash, digest = signer_proof_hashes(PROD_ROUTER, SIGNING_ADDRESS, 1700604800000)
        self.assertEqual("0x8df60953c66b298930b42687623b1eda856dfdce250e668bdc4996995a9ccdc3", "0x" + separator.hex())  # noqa: mock
        self.assertEqual(separator, domain_separator(PROD_ROUTER.lower()))
        self.assertEqual("0x7329e93c63e81cd93c3ccee277b8b69585cb2b4530759167a4b1bde2ce518eb1", "0x" + struct_hash.hex())  # noqa: mock
        self.assertEqual("0xbc49e08e56a2e23d221247f4a1651765e8f76b6b8c472c740f9cf0ecfa1b9137", "0x" + digest.hex())  # noqa: mock
        self.assertEqual(PRIMARY_ADDRESS.lower(), recover_address(digest, PROOF_SIG))
        self.assertEqual(PROOF_SIG, signer_proof_signature(PRIMARY_KEY, PROD_ROUTER, SIGNING_ADDRESS, 1700604800000))

    def test_order(self) -> None:
        values = (T, T, "LIMIT", "BTC-PERP", True, "0.0100", "30000.00", False)
        self.assertEqual(512, len(abi_encode(ORDER_TYPES, values)))
        message_hash = request_digest(ORDER_TYPES, values)[1]
        personal = "0xa6d46df67d96ce3357e84806685f831c87f95c6a37dd6b9fe4ffd39d686ea934"  # noqa: mock
        self.assertEqual(personal, "0x" + message_hash.hex())
        self.assert_vector(ORDER_TYPES, values, "0x47586aa4b8c0fd58e5ca3db10632fc4023159cabead9cd6ac129a76854ab38c6",  # noqa: mock
                           ORDER_SIG, SIGNING_ADDRESS)
        short = request_digest(ORDER_TYPES, (T, T, "LIMIT", "BTC-PERP", True, "0.01", "30000.00", False))[0]
        self.assertEqual("0x7a592942a70a287547b7b003eb0cbf8013dbf1cdfbb738b917d90edb8e4b8f1c", "0x" + short.hex())  # noqa: mock

    def test_cancel(self) -> None:
        self.assert_vector(CANCEL_TYPES, (T + 1, T + 1, "0x1234abcd"),
                           "0xc6b436b89158533a6343ced956ef87c6cc5c7b670bf6e11d3785ab4eb5489270", CANCEL_SIG,  # noqa: mock
                           SIGNING_ADDRESS)

    def test_lp(self) -> None:
        self.assert_vector(LP_TYPES, (T, T, "DEPOSIT", "100"),
                           "0x2fcdf9ad6aca1afbb8197671a2296f55efdaeff55ee5eec4e16419fd25baed9a", LP_SIG,  # noqa: mock
                           SIGNING_ADDRESS)

    def test_withdraw(self) -> None:
        values = (T, T, False, PRIMARY_ADDRESS, PRIMARY_ADDRESS, USDC_BASE, 100000000, 8453)
        self.assert_vector(WITHDRAW_TYPES, values, "0x8773c84cd31e4d779d65126ddeb5c1bfb1422fb6ec813c104d8a23fe48b571cc",  # noqa: mock
                           WITHDRAW_SIG, SIGNING_ADDRESS)

    def test_tampered_and_malformed_signatures(self) -> None:
        values = (T, T, "LIMIT", "BTC-PERP", True, "0.0100", "30000.00", False)
        signature = sign(ORDER_TYPES, values, SIGNING_KEY)
        tampered = request_digest(ORDER_TYPES, (T, T, "LIMIT", "BTC-PERP", True, "0.0200", "30000.00", False))[1]
        self.assertNotEqual(SIGNING_ADDRESS.lower(), recover_address(tampered, signature))
        message_hash = request_digest(ORDER_TYPES, values)[1]
        malformed = (signature[2:], signature[:-2], "0x" + "00" * 65, signature[:-2] + "1d", 12345,
                     "0xzz" + signature[4:])
        for bad in malformed:
            self.assertIsNone(recover_address(message_hash, bad), bad)
        low_v = signature[:-2] + format(int(signature[-2:], 16) - 27, "02x")
        self.assertEqual(SIGNING_ADDRESS.lower(), recover_address(message_hash, low_v))

    def test_sign_hash_round_trip(self) -> None:
        message_hash = personal_hash(keccak(b"abc"))
        self.assertEqual(SIGNING_ADDRESS.lower(), recover_address(message_hash, sign_hash(SIGNING_KEY, message_hash)))


_static = {"uint256": st.integers(min_value=0, max_value=2 ** 256 - 1), "bool": st.booleans(),
           "address": st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex()),
           "string": st.text(max_size=80), "bytes": st.binary(max_size=80)}


class EncoderPropertyTests(unittest.TestCase):
    @settings(max_examples=150, deadline=None, derandomize=True)
    @given(st.lists(st.sampled_from(sorted(_static)), min_size=1, max_size=8).flatmap(
        lambda types: st.tuples(st.just(types), st.tuples(*(_static[t] for t in types)))))
    def test_matches_eth_abi(self, case) -> None:
        types, values = case
        self.assertEqual(eth_abi_encode(list(types), list(values)), abi_encode(types, values))

    def test_keccak_matches_eth_utils(self) -> None:
        self.assertEqual(eth_keccak(b"vest"), keccak(b"vest"))

    def test_rejects_bad_values(self) -> None:
        for types, values in ((["uint256"], [-1]), (["uint256"], [True]), (["address"], ["0x1234"]),
                              (["int8"], [1]), (["uint256", "bool"], [1])):
            with self.assertRaises(ValueError):
                abi_encode(types, values)
