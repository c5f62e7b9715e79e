"""`make upstream-pr`: the in-tree pull request to hummingbot/hummingbot, staged and checked on its own.

Writes `build/upstream-pr/`:
- `files/`: exactly the files the PR adds (this checkout's `hummingbot/` and `test/hummingbot/` trees as git would
  commit them, tracked or new: the connector, the candles feed, the rate source and their tests; a package
  `__init__.py` only for the packages the PR creates);
- `PR.md`: the description, the test evidence of this run, and the lines the PR adds to files Hummingbot already
  has (README exchange table, fee-override template, the candles and rate-source maps, declared dependencies).

Then it runs upstream's lint on `files/` alone and the PR's tests against the installed Hummingbot, with the staged
modules first on Hummingbot's package paths and no project-level package (nor a dependency Hummingbot does not
declare) importable. It fails unless lint is clean, every test passes and each in-tree module is covered >= 90% by
the in-tree tests alone.
"""
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Tuple

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "build" / "upstream-pr"
FILES = OUT / "files"
TEST_RUN = OUT / "test-run"  # the PR's files plus Hummingbot's test helpers, where its tests run
PR_TREES = ("hummingbot", "test/hummingbot")
# The packages the PR creates; every other folder of the PR trees exists in Hummingbot already (with its
# `__init__.py`), e.g. `hummingbot/core/rate_oracle/sources`, which gains one module.
PR_PACKAGES = (
    "hummingbot/connector/derivative/vest_perpetual",
    "hummingbot/data_feed/candles_feed/vest_perpetual_candles",
    "test/hummingbot/connector/derivative/vest_perpetual",
    "test/hummingbot/data_feed/candles_feed/vest_perpetual_candles",
)
# Hummingbot's own test helpers: present in its repository, absent from its PyPI distribution. The run puts the
# project's stand-ins (same semantics) beside the staged tests; the PR does not contain them.
UPSTREAM_TEST_HELPERS = ("test/__init__.py", "test/isolated_asyncio_wrapper_test_case.py", "test/logger_mixin_for_test.py")
# What must not be importable while the PR's tests run: the project around the connector, and the libraries that
# only it uses (Hummingbot's setup.py does not declare them).
NOT_IN_HUMMINGBOT = ("vest_simulator", "vest_hummingbot", "project_tests", "hypothesis", "msgspec")
MIN_MODULE_COVERAGE = 90.0
# Declared in Hummingbot's setup.py / setup/environment.yml by the PR, with the measured reason.
ADDED_DEPENDENCIES = {
    "coincurve>=20": "signs every order and cancel (~40 µs a signature, a third of eth_keys' time); already "
                     "installed with Hummingbot through bip-utils, now declared because the connector imports it",
}
CONNECTORS = ("vest_perpetual", "vest_perpetual_testnet")
# The lines the PR adds to Hummingbot's maps (a stock install gets them from `vest_hummingbot.overlay.register()`).
MAP_ADDITIONS = {
    "hummingbot/data_feed/candles_feed/candles_factory.py": """\
from hummingbot.data_feed.candles_feed.vest_perpetual_candles.vest_perpetual_candles import (
    VestPerpetualCandles,
    VestPerpetualTestnetCandles,
)
...
    _candles_map: Dict[str, Type[CandlesBase]] = {
        ...
        "vest_perpetual": VestPerpetualCandles,
        "vest_perpetual_testnet": VestPerpetualTestnetCandles,
    }""",
    "hummingbot/core/rate_oracle/rate_oracle.py": """\
from hummingbot.core.rate_oracle.sources.vest_perpetual_rate_source import VestPerpetualRateSource
...
RATE_ORACLE_SOURCES = {
    ...
    "vest_perpetual": VestPerpetualRateSource,
}""",
    "hummingbot/client/config/client_config_map.py": """\
class VestPerpetualRateSourceMode(ExchangeRateSourceModeBase):
    name: str = Field(default="vest_perpetual")
    model_config = ConfigDict(title="vest_perpetual")
...
RATE_SOURCE_MODES = {
    ...
    VestPerpetualRateSourceMode.model_config["title"]: VestPerpetualRateSourceMode,
}""",
}


def tracked(tree: str) -> List[Path]:
    """The files of a tree that a commit would hold: tracked ones and new ones git does not ignore."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", tree], cwd=ROOT,
                            check=True, capture_output=True, text=True).stdout.split()
    return [ROOT / name for name in listed if (ROOT / name).is_file()]


def is_new_package(folder: Path) -> bool:
    """A folder the PR creates: one of PR_PACKAGES or below one."""
    relative = folder.relative_to(ROOT)
    return any(relative == Path(package) or Path(package) in relative.parents for package in PR_PACKAGES)


def pr_files() -> List[Path]:
    """Every file of the PR trees, except the `__init__.py` of folders Hummingbot already has."""
    files = [path for tree in PR_TREES for path in tracked(tree)]
    return sorted(path for path in files if path.name != "__init__.py" or is_new_package(path.parent))


def stage() -> List[Path]:
    """Copies the PR's files to FILES, and them plus Hummingbot's test helpers to TEST_RUN."""
    shutil.rmtree(OUT, ignore_errors=True)
    staged = []
    for path in pr_files():
        staged.append(_copy(path, FILES))
        _copy(path, TEST_RUN)
    for helper in UPSTREAM_TEST_HELPERS:
        _copy(ROOT / helper, TEST_RUN)
    for folder in {path.parent for path in TEST_RUN.joinpath("test").rglob("*.py")}:
        for package in [folder, *folder.parents]:  # Hummingbot's test tree is a package all the way down
            if package == TEST_RUN:
                break
            (package / "__init__.py").touch()
    return staged


def _copy(path: Path, folder: Path) -> Path:
    target = folder / path.relative_to(ROOT)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(path, target)
    return target


# Runs in the child interpreter: block the project's packages, put each staged folder first on the path of the
# installed package it extends, then run pytest with coverage of the staged modules.
_CHILD = """
import importlib, importlib.abc, sys
from pathlib import Path
blocked, files, extended, args = {blocked!r}, Path({files!r}), {extended!r}, {args!r}

class NotInHummingbot(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            raise ModuleNotFoundError(f"{{name}} is not part of Hummingbot (upstream-pr run)", name=name)
        return None

sys.meta_path.insert(0, NotInHummingbot())
for package, folder in extended:
    importlib.import_module(package).__path__.insert(0, str(files / folder))
import pytest
sys.exit(pytest.main(args))
"""


def staged_folders(staged: List[Path]) -> List[Path]:
    """The staged top folders of the PR inside `hummingbot`, relative to FILES: each new package (e.g.
    `.../derivative/vest_perpetual`) and each existing package that gains modules (`.../rate_oracle/sources`)."""
    folders = {path.parent.relative_to(FILES) for path in staged
               if path.suffix == ".py" and path.is_relative_to(FILES / "hummingbot")}
    tops = {folder for folder in folders if not any(other in folder.parents for other in folders)}
    return sorted(tops)


def extended_packages(staged: List[Path]) -> List[Tuple[str, str]]:
    """`(installed package, staged folder)` pairs: a new package is found through its parent package's path, a
    module added to an existing package through that package's own path."""
    pairs = []
    for folder in staged_folders(staged):
        extended = folder.parent if is_new_package(ROOT / folder) else folder
        pairs.append((".".join(extended.parts), str(extended)))
    return pairs


def run_tests(staged: List[Path]) -> Tuple[int, str, Dict[str, float]]:
    coverage_json = OUT / "coverage.json"
    args = ["-q", "-p", "no:cacheprovider", "-p", "no:hypothesispytest", "--rootdir", str(TEST_RUN), "test/hummingbot",
            *[f"--cov={TEST_RUN / folder}" for folder in staged_folders(staged)],
            "--cov-report=term", f"--cov-report=json:{coverage_json}"]
    code = _CHILD.format(blocked=NOT_IN_HUMMINGBOT, files=str(TEST_RUN), extended=extended_packages(staged),
                         args=args)
    result = subprocess.run([sys.executable, "-c", code], cwd=TEST_RUN, capture_output=True, text=True)
    output = result.stdout + result.stderr
    per_file = {}
    if coverage_json.exists():
        report = json.loads(coverage_json.read_text())
        per_file = {str((TEST_RUN / name).resolve().relative_to(TEST_RUN.resolve())):  # names are relative to cwd
                    data["summary"]["percent_covered"] for name, data in report["files"].items()}
    return result.returncode, output, per_file


def run_lint() -> Tuple[int, str]:
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "lint.py"), "--root", str(FILES)],
                            capture_output=True, text=True)
    return result.returncode, (result.stdout + result.stderr).strip()


def line_count(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def pr_text(staged: List[Path], lint_output: str, test_summary: str, coverage: Dict[str, float]) -> str:
    modules = [path for path in staged if path.suffix == ".py" and path.is_relative_to(FILES / "hummingbot")]
    tests = [path for path in staged if path.is_relative_to(FILES / "test")]
    rows = "\n".join(f"| `{path.relative_to(FILES)}` | {line_count(path)} | "
                     f"{coverage.get(str(path.relative_to(FILES)), 0.0):.1f}% |" for path in modules)
    test_rows = "\n".join(f"- `{path.relative_to(FILES)}` ({line_count(path)} lines)" for path in tests)
    fee_lines = "\n".join(f"{name}_{field}:" for name in CONNECTORS for field in (
        "buy_percent_fee_deducted_from_returns", "maker_fixed_fees", "maker_percent_fee", "percent_fee_token",
        "taker_fixed_fees", "taker_percent_fee"))
    dependencies = "\n".join(f"- `{requirement}`: {reason}." for requirement, reason in ADDED_DEPENDENCIES.items())
    setup_lines = "\n".join(f'        "{requirement}",' for requirement in ADDED_DEPENDENCIES)
    conda_lines = "\n".join(f"  - {requirement}" for requirement in ADDED_DEPENDENCIES)
    map_lines = "\n".join(f"`{name}`:\n```\n{lines}\n```" for name, lines in MAP_ADDITIONS.items())
    return f"""# Add Vest Markets perpetual connector (`vest_perpetual`, `vest_perpetual_testnet`), candles and rate source

## What this adds
A derivative connector for [Vest Markets](https://vestmarkets.com) perpetual futures on `PerpetualDerivativePyBase`
(ONEWAY positions; MARKET and LIMIT orders; Vest is taker-only against its AMM, so there is no LIMIT_MAKER).
Vest's API: https://docs.vestmarkets.com/vest-api.

- Signed actions (orders, cancels) follow Vest's scheme: `abi.encode` -> keccak256 -> EIP-191 personal sign.
  Vest has no client order id, so the client id carries the signed nonce: an order whose answer was lost is
  found again by nonce, never resent.
- Execution reconciliation: every order is written to a small journal in Hummingbot's data folder before it is
  sent; at start-up and after every private-stream reconnection, orders of the bot that Hummingbot does not track
  are taken back (fills reported, open ones cancelled) and the account's open orders reviewed. Fills are booked
  from Vest's cumulative order state, so repeated, late or missed events neither double-count nor lose a fill; an
  order whose answer was lost stays pending until Vest shows it or its signed validity window has passed.
- Order status is polled 50 orders per `GET /orders?id=...`, each row read on its own; 429s, 5xx and timeouts
  never count towards "order not found".
- Every Vest error becomes `VestAPIError(code, name)`; rejected orders fail with Vest's code and name.
- Depth pushes are full snapshots (no sequence numbers) and are applied as snapshots.
- Candles feed `vest_perpetual` (and `vest_perpetual_testnet`) on `CandlesBase`: history from `GET /klines` (Vest's
  bars are `[openTime, o, h, l, c, closeTime, volume, quoteVolume, numTrades]`, `closeTime` before `volume`), the
  bar in progress from the `{{symbol}}@kline_{{interval}}` channel (the documented array, with `numTrades` as a
  string, and an older object shape), every interval Vest documents. The pair's symbol comes from exchangeInfo (or
  the attached connector's symbol map); the connector's URLs, headers and rate limits are reused. An unreadable
  bar or push is logged and skipped.
- Rate oracle source `vest_perpetual`: the mark price of every USDC-quoted market from one `GET /ticker/latest`
  (Vest has no last-trade price), pairs from exchangeInfo.

## Files
| module | lines | covered by the PR's tests |
|---|---|---|
{rows}

Tests:
{test_rows}

## Changes to files Hummingbot already has
README.md, exchange table:
```
| [Vest](https://vestmarkets.com) | AMM DEX | Perpetual | `vest_perpetual` | - |
```
`hummingbot/templates/conf_fee_overrides_TEMPLATE.yml` (alphabetical place):
```
{fee_lines}
```
Candles and rate-source maps (one entry each, plus its import):
{map_lines}

Dependencies:
{dependencies}

`setup.py` (`install_requires`):
```
{setup_lines}
```
`setup/environment.yml` (`dependencies`):
```
{conda_lines}
```

## Test evidence (this run)
```
{test_summary}
```
Lint (flake8, isort, autopep8's selected fixes, private-key checks, on the PR's files only):
```
{lint_output}
```
"""


def main() -> int:
    staged = stage()
    lint_code, lint_output = run_lint()
    test_code, test_output, coverage = run_tests(staged)
    summary = "\n".join(line for line in test_output.splitlines()
                        if " passed" in line or " failed" in line or " error" in line)
    (OUT / "PR.md").write_text(pr_text(staged, lint_output, summary, coverage), encoding="utf-8")
    modules = [str(path.relative_to(FILES)) for path in staged
               if path.suffix == ".py" and path.is_relative_to(FILES / "hummingbot")]
    under = {name: coverage.get(name, 0.0) for name in modules if coverage.get(name, 0.0) < MIN_MODULE_COVERAGE}
    print(f"Staged {len(staged)} files in {FILES.relative_to(ROOT)}:")
    for path in staged:
        name = str(path.relative_to(FILES))
        covered = f"  {coverage[name]:.1f}% covered" if name in coverage and name in modules else ""
        print(f"  {name} ({line_count(path)} lines){covered}")
    print(f"\nLint: {lint_output.splitlines()[-1] if lint_output else ''}")
    print(f"Tests (only Hummingbot's dependencies importable): {summary or test_output[-2000:]}")
    for name, percent in under.items():
        print(f"Coverage below {MIN_MODULE_COVERAGE:.0f}%: {name} {percent:.1f}%")
    if test_code != 0:
        print(test_output[-6000:])
    print(f"PR text: {(OUT / 'PR.md').relative_to(ROOT)}")
    return 1 if lint_code or test_code or under else 0


if __name__ == "__main__":
    sys.exit(main())
