"""Makes a stock (PyPI) Hummingbot offer the Vest candles feed and rate source, without editing Hummingbot.

The modules sit where an upstream pull request puts them, `hummingbot/data_feed/candles_feed/vest_perpetual_candles/`
and `hummingbot/core/rate_oracle/sources/vest_perpetual_rate_source.py` (`make dev` links them into the installed
package). That pull request would also add one line to each of Hummingbot's maps; `register()` adds the same
entries at run time:

- `CandlesFactory._candles_map`: `vest_perpetual` and `vest_perpetual_testnet`, so
  `CandlesFactory.get_candle(CandlesConfig(connector="vest_perpetual", ...))` works in scripts, controllers and
  the market data provider.
- `RATE_ORACLE_SOURCES` (`hummingbot.core.rate_oracle.rate_oracle`): `vest_perpetual`; the CLI's completer offers
  the names of this map.
- `RATE_SOURCE_MODES` (`hummingbot.client.config.client_config_map`): a `vest_perpetual` mode, the sub-model
  `config rate_oracle_source` and conf_client.yml choose by name. `ClientConfigMap.rate_oracle_source` is typed
  as the Union of the modes that existed when Hummingbot's module was imported, so the field is given the Union
  with ours and the model rebuilt (pydantic's `model_rebuild(force=True)`): the state an upstream one-line
  addition to `RATE_SOURCE_MODES` would give.

Call `register()` after `launcher.use_home()` (it imports `client_config_map`, which copies Hummingbot's conf
paths) and before the client config is loaded (conf_client.yml may name `vest_perpetual`). It is idempotent.
"""
from typing import Dict, Type, Union

CANDLES_CONNECTORS = ("vest_perpetual", "vest_perpetual_testnet")
RATE_SOURCE_NAME = "vest_perpetual"
RATE_ORACLE_SOURCE_FIELD = "rate_oracle_source"
_rate_source_mode: Type = None  # created on first use: it subclasses a model of `client_config_map`


def register() -> None:
    """Adds the Vest candles feeds and the `vest_perpetual` rate source to the installed Hummingbot's maps."""
    register_candles()
    register_rate_source()


def register_candles() -> None:
    from hummingbot.data_feed.candles_feed.candles_factory import CandlesFactory
    from hummingbot.data_feed.candles_feed.vest_perpetual_candles import (
        VestPerpetualCandles,
        VestPerpetualTestnetCandles,
    )
    feeds = dict(zip(CANDLES_CONNECTORS, (VestPerpetualCandles, VestPerpetualTestnetCandles)))
    for connector, feed in feeds.items():
        CandlesFactory._candles_map.setdefault(connector, feed)


def register_rate_source() -> None:
    from hummingbot.client.config import client_config_map
    from hummingbot.core.rate_oracle.rate_oracle import RATE_ORACLE_SOURCES
    from hummingbot.core.rate_oracle.sources.vest_perpetual_rate_source import VestPerpetualRateSource
    RATE_ORACLE_SOURCES.setdefault(RATE_SOURCE_NAME, VestPerpetualRateSource)
    client_config_map.RATE_SOURCE_MODES.setdefault(RATE_SOURCE_NAME, rate_source_mode())
    _accept_every_mode(client_config_map.ClientConfigMap, client_config_map.RATE_SOURCE_MODES)


def rate_source_mode() -> Type:
    """The `vest_perpetual` client-config mode: builds `RATE_ORACLE_SOURCES["vest_perpetual"]()`, as Hummingbot's
    modes of other exchanges do."""
    global _rate_source_mode
    if _rate_source_mode is None:
        from pydantic import ConfigDict, Field

        from hummingbot.client.config.client_config_map import ExchangeRateSourceModeBase

        class VestPerpetualRateSourceMode(ExchangeRateSourceModeBase):
            name: str = Field(default=RATE_SOURCE_NAME)
            model_config = ConfigDict(title=RATE_SOURCE_NAME)

        _rate_source_mode = VestPerpetualRateSourceMode
    return _rate_source_mode


def _accept_every_mode(config_map_class: Type, modes: Dict[str, Type]) -> None:
    """Types `rate_oracle_source` as the Union of every registered mode and rebuilds the model's validator."""
    field = config_map_class.model_fields[RATE_ORACLE_SOURCE_FIELD]
    accepted = Union[tuple(modes.values())]
    if field.annotation != accepted:
        field.annotation = accepted
        config_map_class.model_rebuild(force=True)
