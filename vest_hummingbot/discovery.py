"""`python -m vest_hummingbot.discovery`: does the installed Hummingbot discover vest_perpetual (and its testnet)?

Asks Hummingbot's own `AllConnectorSettings` (which scans its `connector/` folder) and prints, per connector, the
type, example pair, config keys (secret or not), whether `connect` offers it and whether its class imports.
Exit code 0 only if both connectors are discovered and loadable.
"""
import importlib
import sys
from dataclasses import dataclass
from typing import List, Optional, Tuple

EXPECTED_CONNECTORS = ("vest_perpetual", "vest_perpetual_testnet")


@dataclass(frozen=True)
class Discovery:
    name: str
    found: bool
    type: str = ""
    example_pair: str = ""
    config_keys: Tuple[Tuple[str, bool], ...] = ()  # (key, is_secure)
    connectable: bool = False
    class_path: str = ""
    class_error: Optional[str] = None

    @property
    def ok(self) -> bool:
        return self.found and self.connectable and self.class_error is None


def _config_keys(config_map) -> Tuple[Tuple[str, bool], ...]:
    keys = []
    for name, field in type(config_map).model_fields.items():
        extra = field.json_schema_extra or {}
        if isinstance(extra, dict) and extra.get("is_connect_key"):
            keys.append((name, bool(extra.get("is_secure"))))
    return tuple(keys)


def discover(name: str) -> Discovery:
    """What Hummingbot knows about connector `name`."""
    from hummingbot.client.settings import AllConnectorSettings, connectable_exchange_names
    setting = AllConnectorSettings.get_connector_settings().get(name)
    if setting is None:
        return Discovery(name=name, found=False)
    class_path = f"{setting.module_path()}.{setting.class_name()}"
    class_error = None
    try:
        getattr(importlib.import_module(setting.module_path()), setting.class_name())
    except Exception as error:  # any import failure means Hummingbot cannot create the connector
        class_error = f"{type(error).__name__}: {error}"
    return Discovery(name=name, found=True, type=setting.type.name, example_pair=setting.example_pair,
                     config_keys=_config_keys(setting.config_keys) if setting.config_keys is not None else (),
                     connectable=name in connectable_exchange_names(), class_path=class_path,
                     class_error=class_error)


def render(result: Discovery) -> List[str]:
    if not result.found:
        return [f"{result.name}: NOT discovered by AllConnectorSettings"]
    keys = ", ".join(f"{key}{' (secret)' if secure else ''}" for key, secure in result.config_keys)
    return [
        f"{result.name}: discovered ({result.type})",
        f"  example pair: {result.example_pair}",
        f"  config keys:  {keys}",
        f"  offered by `connect`: {'yes' if result.connectable else 'no'}",
        f"  class: {result.class_path} ({'imports' if result.class_error is None else result.class_error})",
    ]


def main() -> int:
    import hummingbot
    results = [discover(name) for name in EXPECTED_CONNECTORS]
    print(f"Hummingbot {_version()} at {hummingbot.__path__[0]}")
    for result in results:
        print("\n".join(render(result)))
    ok = all(result.ok for result in results)
    print("OK: vest_perpetual is discovered." if ok else "FAILED: see above (is the connector installed? "
          "run `make install` or `make dev`).")
    return 0 if ok else 1


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("hummingbot")
    except PackageNotFoundError:
        return "(unknown version)"


if __name__ == "__main__":
    sys.exit(main())
