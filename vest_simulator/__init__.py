"""Local simulator of the Vest Markets perpetual-futures exchange (contract: docs/vest-protocol.md).

Independent of Hummingbot: it verifies request signatures itself (abi.encode -> keccak -> EIP-191, recovery).
"""
from .errors import RequestValidationError, VestError
from .faults import Faults
from .market import CATALOG, DEFAULT_SYMBOLS, SymbolSpec, scale_specs, synthetic_specs
from .models import Fill
from .ratelimit import RateLimitBreach
from .signatures import DEV_ROUTER, PROD_ROUTER
from .simulator import SimAccount, VestSimulator

__all__ = ["VestSimulator", "SimAccount", "Faults", "Fill", "SymbolSpec", "CATALOG", "DEFAULT_SYMBOLS",
           "DEV_ROUTER", "PROD_ROUTER", "VestError", "RequestValidationError", "RateLimitBreach", "scale_specs",
           "synthetic_specs"]
