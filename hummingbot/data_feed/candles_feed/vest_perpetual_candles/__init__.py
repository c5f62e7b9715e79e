from hummingbot.data_feed.candles_feed.vest_perpetual_candles.vest_perpetual_candles import (
    VestPerpetualCandles,
    VestPerpetualTestnetCandles,
)

__all__ = ["VestPerpetualCandles", "VestPerpetualTestnetCandles"]
