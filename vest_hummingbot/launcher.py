"""Hummingbot, launched from this project: project-local conf/logs/data, the keystore, the CLI or a headless run.

Built on Hummingbot's public pieces (`hummingbot.client.runner`, `HummingbotApplication`, `Security`), the same way
the distribution's own launchers are (its `bin/` scripts are left out of the PyPI package).

Paths: Hummingbot keeps `conf/` under `root_path()` (site-packages for a PyPI install) and `logs/`, `data/` under
`prefix_path()`. `use_home()` moves all three under one project folder (default `run/`): logs and data through
Hummingbot's own `set_prefix_path()` / `set_data_path()`; conf by setting the path constants of
`hummingbot.client.settings` before any module copies them, because Hummingbot has no setting or environment
variable for its conf folder.

V2: Hummingbot imports V2 scripts as `scripts.<name>` and controllers as `controllers.<type>.<name>`, from the
working folder of a source checkout. `use_home()` puts the home folder first on Python's import path, so its
`scripts/` and `controllers/` are the ones imported, and the launcher points `TradingCore` (which looks for
`./scripts`) at `<home>/scripts`. `use_home()` also adds Vest's candles feed and rate source to Hummingbot's maps
(`vest_hummingbot.overlay`).

    python -m vest_hummingbot                        # the interactive CLI (prompts for the keystore password)
    python -m vest_hummingbot --simulator            # ... pointed at a local, funded Vest simulator
    python -m vest_hummingbot --headless --strategy conf_vest_perpetual_mm.yml   # needs CONFIG_PASSWORD
    python -m vest_hummingbot --headless --v2 conf_v2_vest_runner.yml           # a V2 script and its controllers

Exit codes: 0 done; 1 the login dialog was cancelled; 2 a problem before the run (wrong password, missing file,
bad arguments); 3 a headless run whose every order failed (see `OrderOutcomes`).
"""
import argparse
import asyncio
import os
import re
import shutil
import signal
import sys
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, List, Mapping, Optional

import hummingbot
from vest_hummingbot import PROJECT_ROOT

if TYPE_CHECKING:
    from hummingbot.client.config.config_crypt import BaseSecretsManager
    from hummingbot.client.hummingbot_application import HummingbotApplication
    from hummingbot.core.event.events import MarketOrderFailureEvent

HOME_ENV_VAR = "VEST_HB_HOME"
DEFAULT_HOME = PROJECT_ROOT / "run"
PASSWORD_ENV_VARS = ("CONFIG_PASSWORD", "HBOT_PASSWORD")  # the names Hummingbot's own launchers read
CONNECTOR = "vest_perpetual"
REST_URL_ENV_VAR = "VEST_PERPETUAL_REST_URL"
WS_URL_ENV_VAR = "VEST_PERPETUAL_WS_URL"
USD_EQUIVALENT_TOKENS = ["USD", "USDC"]  # Vest's collateral is USDC: value it 1:1 in balance tables
SHIPPED_STRATEGIES = PROJECT_ROOT / "conf" / "strategies"  # example configs copied into a new home
SHIPPED_HOME = Path(__file__).resolve().parent / "home"  # V2 scripts, controllers and their configs, same purpose
SIMULATOR_BALANCE = Decimal("10000")
SIMULATOR_SEED = 7
NO_ORDER_PLACED_EXIT_CODE = 3  # a headless run tried to place orders and every one failed
_VEST_ERROR = re.compile(r"Vest error (?P<code>\S+) (?P<name>[A-Z0-9_]+)")  # how the connector words Vest's refusals

# `hummingbot.client.settings` constant -> path under the home folder.
_SETTINGS_PATHS = {
    "CONF_DIR_PATH": "conf",
    "CLIENT_CONFIG_PATH": "conf/conf_client.yml",
    "TRADE_FEES_CONFIG_PATH": "conf/conf_fee_overrides.yml",
    "STRATEGIES_CONF_DIR_PATH": "conf/strategies",
    "CONNECTORS_CONF_DIR_PATH": "conf/connectors",
    "SCRIPT_STRATEGY_CONF_DIR_PATH": "conf/scripts",
    "CONTROLLERS_CONF_DIR_PATH": "conf/controllers",
    "DEFAULT_LOG_FILE_PATH": "logs",
    "SCRIPT_STRATEGIES_PATH": "scripts",
    "CONTROLLERS_PATH": "controllers",
}
_HOME_DIRS = ("conf/connectors", "conf/strategies", "conf/scripts", "conf/controllers", "logs", "data", "scripts",
              "controllers")
# Modules that copy those constants (`from hummingbot.client.settings import ...PATH`) when first imported.
_PATH_COPYING_MODULES = (
    "hummingbot.client.config.client_config_map", "hummingbot.client.config.conf_migration",
    "hummingbot.client.config.config_crypt", "hummingbot.client.config.config_helpers",
    "hummingbot.client.config.security", "hummingbot.client.hummingbot_application", "hummingbot.client.runner",
    "hummingbot.client.ui", "hummingbot.client.ui.style", "hummingbot.client.command.config_command",
    "hummingbot.client.command.create_command", "hummingbot.client.command.import_command",
    "hummingbot.client.command.export_command",
)
# The overlay and the modules it registers (see `register_data_feeds`).
_DATA_FEED_MODULES = ("vest_hummingbot.overlay", "hummingbot.data_feed.candles_feed.vest_perpetual_candles",
                      "hummingbot.core.rate_oracle.sources.vest_perpetual_rate_source")
_home: Optional[Path] = None


class LauncherError(Exception):
    """A problem the user can fix (wrong password, missing file, ...); printed without a traceback."""


# ---- paths ------------------------------------------------------------------------------------------------------
def use_home(home: Optional[Path] = None) -> Path:
    """Point Hummingbot's conf/, logs/ and data/ at `home` (default $VEST_HB_HOME or `run/`); idempotent."""
    global _home
    home = Path(home or os.environ.get(HOME_ENV_VAR) or DEFAULT_HOME).resolve()
    if _home == home:
        return home
    early = [name for name in _PATH_COPYING_MODULES if name in sys.modules]
    if early:
        raise RuntimeError(f"use_home() must run before these modules are imported: {', '.join(early)}")
    for relative in _HOME_DIRS:
        (home / relative).mkdir(parents=True, exist_ok=True)
    hummingbot.set_prefix_path(str(home))
    hummingbot.set_data_path(str(home / "data"))
    from hummingbot.client import settings
    for name, relative in _SETTINGS_PATHS.items():
        setattr(settings, name, home / relative)
    sys.path.insert(0, str(home))  # `scripts.<name>` and `controllers.<type>.<name>` come from the home folder
    _home = home
    register_data_feeds()
    return home


def register_data_feeds() -> None:
    """Vest's candles feed and rate source join Hummingbot's maps (`vest_hummingbot.overlay`), before the client
    config (which may name the rate source) is loaded. Skipped where they are not installed: `make install` copies
    only the connector into Hummingbot, `make dev` links them too."""
    try:
        from vest_hummingbot import overlay
        overlay.register()
    except ModuleNotFoundError as error:
        if not str(error.name).startswith(_DATA_FEED_MODULES):
            raise


def prepare_home() -> None:
    """On first use: copy the shipped examples (V1 strategy configs; V2 scripts, controllers and their configs),
    then write `conf_client.yml` with local defaults. A file already in the home, maybe edited, is kept."""
    from hummingbot.client import settings
    for example in sorted(SHIPPED_STRATEGIES.glob("*.yml")):
        copy_if_missing(example, settings.STRATEGIES_CONF_DIR_PATH / example.name)
    for example in sorted(SHIPPED_HOME.rglob("*")):
        if example.is_file() and "__pycache__" not in example.parts:
            copy_if_missing(example, _home / example.relative_to(SHIPPED_HOME))
    if not settings.CLIENT_CONFIG_PATH.exists():
        write_client_config()


def copy_if_missing(source: Path, target: Path) -> None:
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)


def find_scripts_in_home(app: "HummingbotApplication") -> None:
    """`TradingCore` tells a V2 script from a V1 strategy by looking for `./scripts/<name>.py` in the working folder;
    point it at the home's `scripts/`."""
    from hummingbot.client import settings
    app.trading_core.scripts_path = settings.SCRIPT_STRATEGIES_PATH


def is_v2_config(config_file: str) -> bool:
    """A V2 config sits in conf/scripts/ (and names its script); a V1 strategy config in conf/strategies/."""
    from hummingbot.client import settings
    return (not (settings.STRATEGIES_CONF_DIR_PATH / config_file).exists()
            and (settings.SCRIPT_STRATEGY_CONF_DIR_PATH / config_file).exists())


def write_client_config() -> None:
    """`conf_client.yml` with Hummingbot's defaults except: no anonymous metrics or error-log sharing, and USDC
    (Vest's collateral) valued like USD in balance tables."""
    from hummingbot.client import settings
    from hummingbot.client.config.client_config_map import AnonymizedMetricsDisabledMode
    from hummingbot.client.config.config_helpers import load_client_config_map_from_file, save_to_yml
    config = load_client_config_map_from_file()
    config.anonymized_metrics_mode = AnonymizedMetricsDisabledMode()
    config.send_error_logs = False
    config.global_token.usd_equivalent_tokens = USD_EQUIVALENT_TOKENS
    save_to_yml(settings.CLIENT_CONFIG_PATH, config)


# ---- keystore and keys ------------------------------------------------------------------------------------------
def password_from_env() -> Optional[str]:
    return next((os.environ[name] for name in PASSWORD_ENV_VARS if os.environ.get(name)), None)


def unlock_keystore(password: str) -> "BaseSecretsManager":
    """Log in to Hummingbot's keystore; the first password ever used creates it (like Hummingbot's first start)."""
    from hummingbot.client.config.config_crypt import ETHKeyFileSecretManger, store_password_verification
    from hummingbot.client.config.security import Security
    if not password:
        raise LauncherError("The keystore password must not be empty.")
    secrets_manager = ETHKeyFileSecretManger(password)
    if Security.new_password_required():
        store_password_verification(secrets_manager)
    if not Security.login(secrets_manager):
        raise LauncherError("Invalid keystore password for this home folder.")
    return secrets_manager


def save_connector_keys(connector: str, keys: Mapping[str, object]) -> Path:
    """Store a connector's keys as `connect` does: validated, secrets encrypted, in conf/connectors/<name>.yml."""
    from hummingbot.client.config.config_helpers import ClientConfigAdapter, get_connector_config_yml_path
    from hummingbot.client.config.security import Security
    from hummingbot.client.settings import AllConnectorSettings
    if Security.secrets_manager is None:
        raise LauncherError("Unlock the keystore before saving keys.")
    config = ClientConfigAdapter(AllConnectorSettings.get_connector_config_keys(connector))
    for attr, value in keys.items():
        setattr(config, attr, value)
    Security.update_secure_config(config)
    return get_connector_config_yml_path(connector)


def point_connector_at(rest_url: str, ws_url: str) -> None:
    """Send vest_perpetual's traffic to another venue (e.g. the local simulator)."""
    os.environ[REST_URL_ENV_VAR] = rest_url
    os.environ[WS_URL_ENV_VAR] = ws_url


# ---- headless -----------------------------------------------------------------------------------------------------
async def start_headless(secrets_manager: "BaseSecretsManager", strategy_file: str,
                         log_name: str = "hummingbot", v2: bool = False) -> "HummingbotApplication":
    """Boot Hummingbot without its UI (as `hbot`'s engine does) and start a strategy from conf/strategies/, or
    with `v2` a V2 script from the config in conf/scripts/ that names it."""
    from hummingbot.client import settings
    from hummingbot.client.config.config_helpers import load_client_config_map_from_file
    from hummingbot.client.runner import bootstrap_application, load_and_start_strategy
    if v2 and not (settings.SCRIPT_STRATEGY_CONF_DIR_PATH / strategy_file).exists():
        raise LauncherError(f"No V2 config {strategy_file} in {settings.SCRIPT_STRATEGY_CONF_DIR_PATH}.")
    client_config = load_client_config_map_from_file()
    app = await bootstrap_application(client_config, secrets_manager, strategy_file_name=log_name,
                                      override_log_level=client_config.log_level, headless=True,
                                      silence_console=True)
    if app is None:
        raise LauncherError("Invalid keystore password.")
    find_scripts_in_home(app)
    config = {"v2_conf": strategy_file} if v2 else {"config_file_name": strategy_file}
    if not await load_and_start_strategy(app, headless=True, **config):
        raise LauncherError(f"Could not start strategy {strategy_file}; see {log_file(log_name)}.")
    return app


async def stop_headless(app: "HummingbotApplication") -> None:
    """Hummingbot's `stop` (strategy, open orders, connectors, clock), then a full trading-core shutdown."""
    await app.stop_loop()
    await app.trading_core.shutdown()


def log_file(log_name: str) -> Path:
    return Path(hummingbot.prefix_path()) / "logs" / f"logs_{log_name}.log"


def failure_reason(event: Optional["MarketOrderFailureEvent"]) -> str:
    """An order failure in a few words: Vest's code and name (and what to do, when the connector knows), else
    Hummingbot's error type and message."""
    if event is None:
        return "no reason given"
    message = " ".join(str(event.error_message or "").split())
    match = _VEST_ERROR.search(message)
    if match is None:
        return ": ".join(part for part in (event.error_type, message) if part) or "no reason given"
    from hummingbot.connector.derivative.vest_perpetual import vest_perpetual_constants as CONSTANTS
    code = match.group("code")
    hint = CONSTANTS.ERROR_HINTS.get(int(code)) if code.lstrip("-").isdigit() else None
    return f"Vest refused it with {code} {match.group('name')}" + (f". {hint}" if hint else "")


class OrderOutcomes:
    """What a headless run's connectors reported about its orders, heard through Hummingbot's public event API
    (`add_listener` with an event forwarder): orders created (accepted by the venue) and orders failed.

    A run fails only if it tried and could place nothing: at least one failure and no creation. A run that never
    tried (stopped before the strategy's first order, or a strategy with nothing to do) is not a failure."""

    def __init__(self) -> None:
        from hummingbot.core.event.event_forwarder import SourceInfoEventForwarder
        self.created = 0
        self.failed = 0
        self.last_failure: Optional["MarketOrderFailureEvent"] = None
        self._forwarder = SourceInfoEventForwarder(self._on_event)  # keep a reference: listeners are weak
        self._connectors: List[Any] = []

    @staticmethod
    def _events():
        from hummingbot.core.event.events import MarketEvent
        return MarketEvent.BuyOrderCreated, MarketEvent.SellOrderCreated, MarketEvent.OrderFailure

    def attach(self, connectors: Iterable[Any]) -> None:
        for connector in connectors:
            for event in self._events():
                connector.add_listener(event, self._forwarder)
            self._connectors.append(connector)

    def detach(self) -> None:
        for connector in self._connectors:
            for event in self._events():
                connector.remove_listener(event, self._forwarder)
        self._connectors = []

    def _on_event(self, tag: int, _caller: Any, event: Any) -> None:
        from hummingbot.core.event.events import MarketEvent
        if MarketEvent(tag) is MarketEvent.OrderFailure:
            self.failed += 1
            self.last_failure = event
        else:
            self.created += 1

    @property
    def no_order_placed(self) -> bool:
        return self.failed > 0 and self.created == 0

    @property
    def exit_code(self) -> int:
        return NO_ORDER_PLACED_EXIT_CODE if self.no_order_placed else 0

    def summary(self) -> str:
        if self.no_order_placed:
            return (f"No order placed: all {self.failed} order(s) failed; the last: "
                    f"{failure_reason(self.last_failure)}")
        return f"Orders created: {self.created}, failed: {self.failed}."


async def run_headless(secrets_manager: "BaseSecretsManager", strategy_file: str,
                       duration: Optional[float], v2: bool = False) -> int:
    """Run a strategy (a V2 script with `v2`) until Ctrl-C / SIGTERM or `duration` seconds, then stop it cleanly.
    Returns the exit code: `NO_ORDER_PLACED_EXIT_CODE` if the strategy tried to place orders and every one failed,
    else 0; the last line printed says which (with the last failure's cause)."""
    log_name = Path(strategy_file).stem
    app = await start_headless(secrets_manager, strategy_file, log_name, v2)
    outcomes = OrderOutcomes()
    outcomes.attach(app.trading_core.connectors.values())
    print(f"Running {strategy_file} headless; logs in {log_file(log_name)}. Ctrl-C stops.", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await asyncio.wait_for(stop.wait(), duration)
    except asyncio.TimeoutError:
        pass
    print("Stopping: cancelling open orders...", flush=True)
    await stop_headless(app)
    outcomes.detach()
    print("Stopped.", flush=True)
    print(outcomes.summary(), file=sys.stderr if outcomes.no_order_placed else sys.stdout, flush=True)
    return outcomes.exit_code


# ---- interactive CLI ----------------------------------------------------------------------------------------------
async def run_cli(secrets_manager: "BaseSecretsManager", banner: List[str]) -> None:
    """Hummingbot's own prompt UI (`connect`, `balance`, `create`, `start`, ... `exit`)."""
    from hummingbot.client.config.config_helpers import load_client_config_map_from_file
    from hummingbot.client.runner import bootstrap_application
    app = await bootstrap_application(load_client_config_map_from_file(), secrets_manager)
    if app is None:
        raise LauncherError("Invalid keystore password.")
    find_scripts_in_home(app)
    for line in banner:
        app.notify(line)
    try:
        await app.run()
    finally:
        await app.trading_core.shutdown(skip_order_cancellation=True)


async def run_cli_with_simulator(secrets_manager: "BaseSecretsManager", seed: int) -> None:
    """Start a local Vest simulator in this process, fund an account, and show its keys in the CLI."""
    from vest_simulator import VestSimulator
    async with VestSimulator(seed=seed) as sim:
        point_connector_at(sim.rest_url, sim.ws_url)
        account = sim.create_account(balance=SIMULATOR_BALANCE)
        banner = [
            f"Local Vest simulator at {sim.rest_url} (seed {seed}); a test account holds {SIMULATOR_BALANCE} USDC.",
            "Type `connect vest_perpetual` and enter:",
            f"  API key:             {account.api_key}",
            f"  signing private key: {account.signing_private_key}",
            f"  account group:       {account.account_group}",
            "Then `balance`, `create`, `start`... Everything stays on this machine.",
        ]
        await run_cli(secrets_manager, banner)


def interactive_login() -> Optional["BaseSecretsManager"]:
    """Hummingbot's password dialogs (create on first start, then unlock)."""
    from hummingbot.client.config.config_crypt import ETHKeyFileSecretManger
    from hummingbot.client.config.config_helpers import load_client_config_map_from_file
    from hummingbot.client.ui import login_prompt
    from hummingbot.client.ui.style import load_style
    return login_prompt(ETHKeyFileSecretManger, style=load_style(load_client_config_map_from_file()))


# ---- entry point --------------------------------------------------------------------------------------------------
def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m vest_hummingbot", description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=None,
                        help=f"folder for conf/, logs/, data/ (default ${HOME_ENV_VAR} or {DEFAULT_HOME})")
    parser.add_argument("--simulator", action="store_true",
                        help="start a local Vest simulator in-process and point vest_perpetual at it")
    parser.add_argument("--seed", type=int, default=SIMULATOR_SEED, help="simulator seed (with --simulator)")
    parser.add_argument("--headless", action="store_true", help="run --strategy or --v2 without the UI")
    parser.add_argument("--strategy", help="strategy config file in <home>/conf/strategies/, or a V2 config in "
                                           "<home>/conf/scripts/ (with --headless)")
    parser.add_argument("--v2", metavar="CONFIG", help="V2 config file in <home>/conf/scripts/, naming its script "
                                                       "(with --headless)")
    parser.add_argument("--duration", type=float, default=None, help="stop a headless run after N seconds")
    args = parser.parse_args(argv)
    if args.headless and not (args.strategy or args.v2):
        parser.error("--headless needs --strategy or --v2")
    if args.strategy and args.v2:
        parser.error("give --strategy or --v2, not both")
    return args


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    home = use_home(args.home)
    prepare_home()
    password = password_from_env()
    try:
        if args.headless:
            if password is None:
                raise LauncherError(f"Set {PASSWORD_ENV_VARS[0]} to unlock the keystore in {home}/conf.")
            config_file = args.v2 or args.strategy
            v2 = args.v2 is not None or is_v2_config(config_file)
            return asyncio.run(run_headless(unlock_keystore(password), config_file, args.duration, v2))
        secrets_manager = unlock_keystore(password) if password is not None else interactive_login()
        if secrets_manager is None:
            return 1
        if args.simulator:
            asyncio.run(run_cli_with_simulator(secrets_manager, args.seed))
        else:
            asyncio.run(run_cli(secrets_manager, [f"Home folder: {home}"]))
        return 0
    except LauncherError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 2
