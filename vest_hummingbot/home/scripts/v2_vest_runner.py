"""Runs the V2 controllers listed in its config (`controllers_config`, files in conf/controllers/), on Vest or any
other connector.

Before the first order it sets each perpetual controller's leverage and position mode. A connector that cannot
hold the mode a controller asks for (Vest: ONEWAY only, while many of Hummingbot's controllers default to HEDGE)
keeps its own, and the log says so. A controller whose `manual_kill_switch` is set to true in its config file
(re-read every 10 s) stops: its orders are cancelled and its positions closed; set back to false, it starts again.

Create a config with `create --v2-config v2_vest_runner`, then `start --v2 <that file>`.
"""
import os
from typing import List

from hummingbot.strategy.strategy_v2_base import StrategyV2Base, StrategyV2ConfigBase
from hummingbot.strategy_v2.models.base import RunnableStatus
from hummingbot.strategy_v2.models.executor_actions import CreateExecutorAction, StopExecutorAction


class V2VestRunnerConfig(StrategyV2ConfigBase):
    script_file_name: str = os.path.basename(__file__)


class V2VestRunner(StrategyV2Base):
    def apply_initial_setting(self):
        for controller in self.controllers.values():
            config = controller.config
            connector_name = getattr(config, "connector_name", None)
            if connector_name not in self.connectors or not self.is_perpetual(connector_name):
                continue
            connector = self.connectors[connector_name]
            mode = getattr(config, "position_mode", None)
            if mode is not None and mode in connector.supported_position_modes():
                connector.set_position_mode(mode)
            elif mode is not None:
                self.logger().warning(
                    f"Controller {config.id} asks for position mode {mode.name}, which {connector_name} does not "
                    f"support; it trades in {connector.position_mode.name}.")
            leverage, trading_pair = getattr(config, "leverage", None), getattr(config, "trading_pair", None)
            if leverage and trading_pair:
                connector.set_leverage(trading_pair=trading_pair, leverage=leverage)

    def create_actions_proposal(self) -> List[CreateExecutorAction]:
        return []  # the controllers propose every executor; the script adds none of its own

    def stop_actions_proposal(self) -> List[StopExecutorAction]:
        return []

    def on_tick(self):
        super().on_tick()
        if not self._is_stop_triggered:
            self.apply_manual_kill_switches()

    def apply_manual_kill_switches(self):
        for controller_id, controller in self.controllers.items():
            if controller.config.manual_kill_switch and controller.status == RunnableStatus.RUNNING:
                self.logger().info(f"Manual kill switch: stopping controller {controller_id}.")
                controller.stop()
                self.executor_orchestrator.execute_actions([
                    StopExecutorAction(controller_id=controller_id, executor_id=executor.id)
                    for executor in self.get_executors_by_controller(controller_id) if executor.is_active])
            elif not controller.config.manual_kill_switch and controller.status == RunnableStatus.TERMINATED:
                self.logger().info(f"Manual kill switch cleared: starting controller {controller_id}.")
                controller.start()
