"""Market making with trigger orders, for Vest perpetuals (`vest_perpetual`).

Vest is taker-only: its pool is the counterparty of every trade and no order rests on a book. A LIMIT order is a
trigger that waits until Vest's index price reaches it and then fills at the pool's price, only if that is at or
better than the limit. So a buy LIMIT below the index works like a bid that fills on a dip, at taker fees, and a buy
LIMIT at or above the index fills at once. This controller quotes with that in mind:

- each level is a position executor whose entry is a LIMIT trigger `spread` away from the index (the price Vest
  triggers on, not the pool's mid), its take profit a LIMIT trigger, stop loss and time limit MARKET orders;
- spreads must be above zero (a trigger at the index is a market order) and take profit cannot be LIMIT_MAKER (Vest
  has no post-only orders);
- Vest keeps one net position per market (ONEWAY only). A long and a short held together would only cancel each
  other out at twice the fees, so while the controller holds a position it keeps only the triggers of that side and
  cancels the others until the position is closed.

Create a config with `create --controller-config market_making.vest_trigger_mm` and run it with a V2 script such as
`v2_vest_runner` (which sets the leverage and position mode before the first order).
"""
from decimal import Decimal
from typing import List, Optional

from pydantic import Field, field_validator

from hummingbot.core.data_type.common import OrderType, PositionMode, TradeType
from hummingbot.strategy_v2.controllers.market_making_controller_base import (
    MarketMakingControllerBase,
    MarketMakingControllerConfigBase,
)
from hummingbot.strategy_v2.executors.position_executor.data_types import PositionExecutorConfig
from hummingbot.strategy_v2.models.executor_actions import ExecutorAction, StopExecutorAction


class VestTriggerMMConfig(MarketMakingControllerConfigBase):
    controller_name: str = "vest_trigger_mm"
    connector_name: str = Field(
        default="vest_perpetual",
        json_schema_extra={"prompt": "Enter the connector name (vest_perpetual or vest_perpetual_testnet): ",
                           "prompt_on_new": True})
    trading_pair: str = Field(
        default="BTC-USDC",
        json_schema_extra={"prompt": "Enter the trading pair (Vest's BTC-PERP is BTC-USDC): ", "prompt_on_new": True})
    total_amount_quote: Decimal = Field(
        default=Decimal("500"),
        json_schema_extra={"prompt": "Enter the total notional of all levels, in USDC (e.g., 500): ",
                           "prompt_on_new": True, "is_updatable": True})
    buy_spreads: List[float] = Field(
        default="0.005",
        json_schema_extra={"prompt": "Enter the buy trigger distances below the index, comma-separated (0.005 = "
                                     "0.5%): ", "prompt_on_new": True, "is_updatable": True})
    sell_spreads: List[float] = Field(
        default="0.005",
        json_schema_extra={"prompt": "Enter the sell trigger distances above the index, comma-separated (0.005 = "
                                     "0.5%): ", "prompt_on_new": True, "is_updatable": True})
    executor_refresh_time: int = Field(
        default=120,
        json_schema_extra={"prompt": "Enter the seconds after which an untriggered order follows the index (e.g., "
                                     "120): ", "prompt_on_new": True, "is_updatable": True})
    cooldown_time: int = Field(
        default=60,
        json_schema_extra={"prompt": "Enter the seconds a level waits after a stop loss (e.g., 60): ",
                           "prompt_on_new": True, "is_updatable": True})
    leverage: int = Field(
        default=5,
        json_schema_extra={"prompt": "Enter the leverage (Vest allows up to 1 / initial margin ratio, e.g., 5): ",
                           "prompt_on_new": True})
    position_mode: PositionMode = Field(
        default="ONEWAY",
        json_schema_extra={"prompt": "Enter the position mode (Vest supports ONEWAY only): "})
    stop_loss: Optional[Decimal] = Field(
        default=Decimal("0.02"), gt=0,
        json_schema_extra={"prompt": "Enter the stop loss (as a decimal, e.g., 0.02 for 2%): ",
                           "prompt_on_new": True, "is_updatable": True})
    take_profit: Optional[Decimal] = Field(
        default=Decimal("0.004"), gt=0,
        json_schema_extra={"prompt": "Enter the take profit; it must cover two taker fees and the pool's premium "
                                     "(e.g., 0.004 for 0.4%): ", "prompt_on_new": True, "is_updatable": True})
    time_limit: Optional[int] = Field(
        default=30 * 60, gt=0,
        json_schema_extra={"prompt": "Enter the seconds after which a position is closed at market (e.g., 1800): ",
                           "prompt_on_new": True, "is_updatable": True})
    position_rebalance_threshold_pct: Decimal = Field(
        default=Decimal("0.05"), json_schema_extra={"is_updatable": True})  # spot only: not asked on a perpetual

    @field_validator("buy_spreads", "sell_spreads")
    @classmethod
    def spreads_above_zero(cls, spreads: List[float]) -> List[float]:
        if any(spread <= 0 for spread in spreads):
            raise ValueError("Every spread must be above 0: a Vest trigger at or through the index fills at once, "
                             "as a market order.")
        return spreads

    @field_validator("position_mode")
    @classmethod
    def oneway_only(cls, mode: PositionMode) -> PositionMode:
        if mode is not PositionMode.ONEWAY:
            raise ValueError("Vest keeps one net position per market: the position mode must be ONEWAY.")
        return mode

    @field_validator("take_profit_order_type")
    @classmethod
    def no_post_only(cls, order_type: OrderType) -> OrderType:
        if order_type not in (OrderType.LIMIT, OrderType.MARKET):
            raise ValueError("Vest has LIMIT (a trigger) and MARKET orders only: use LIMIT or MARKET.")
        return order_type


class VestTriggerMM(MarketMakingControllerBase):
    def __init__(self, config: VestTriggerMMConfig, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.config = config

    async def update_processed_data(self):
        """Quote around the index: Vest fires LIMIT triggers when the index reaches them."""
        funding_info = self.market_data_provider.get_funding_info(self.config.connector_name,
                                                                  self.config.trading_pair)
        self.processed_data = {"reference_price": Decimal(funding_info.index_price), "spread_multiplier": Decimal(1)}

    def get_executor_config(self, level_id: str, price: Decimal, amount: Decimal) -> PositionExecutorConfig:
        return PositionExecutorConfig(
            timestamp=self.market_data_provider.time(),
            level_id=level_id,
            connector_name=self.config.connector_name,
            trading_pair=self.config.trading_pair,
            entry_price=price,
            amount=amount,
            triple_barrier_config=self.config.triple_barrier_config,
            leverage=self.config.leverage,
            side=self.get_trade_type_from_level_id(level_id),
        )

    def held_side(self) -> Optional[TradeType]:
        """The side of the position the controller's executors hold; None when flat (or, after a race, when both
        sides hold and ONEWAY nets them)."""
        sides = {executor.side for executor in self.executors_info if executor.is_trading}
        return sides.pop() if len(sides) == 1 else None

    def get_levels_to_execute(self) -> List[str]:
        levels = super().get_levels_to_execute()
        side = self.held_side()
        return [level for level in levels if side is None or self.get_trade_type_from_level_id(level) == side]

    def executors_to_early_stop(self) -> List[ExecutorAction]:
        """Cancel the untriggered orders of the side opposite to the position held."""
        side = self.held_side()
        if side is None:
            return []
        return [StopExecutorAction(controller_id=self.config.id, executor_id=executor.id)
                for executor in self.executors_info
                if executor.is_active and not executor.is_trading and executor.side != side]

    def to_format_status(self) -> List[str]:
        side = self.held_side()
        reference = self.processed_data.get("reference_price")
        return [f"  {self.config.connector_name} {self.config.trading_pair} | index {reference} | "
                f"position side: {side.name if side else 'flat'} | triggers: buy {self.config.buy_spreads} / "
                f"sell {self.config.sell_spreads} | take profit {self.config.take_profit}, stop loss "
                f"{self.config.stop_loss}"]
