"""`make upstream-pr`: the in-tree pull request to hummingbot/hummingbot, staged and checked on its own.

Writes `build/upstream-pr/`:
- `files/`: exactly the files the PR adds (this checkout's `hummingbot/` and `test/hummingbot/` trees, without the
  package `__init__.py` files of folders Hummingbot already has);
- `PR.md`: the description, the test evidence of this run, and the lines the PR adds to files Hummingbot already
  has (README exchange table, fee-override template, declared dependencies).

Then it runs upstream's lint on `files/` alone and the PR's tests against the installed Hummingbot, with the staged
module first on Hummingbot's package path and no project-level package (nor a dependency Hummingbot does not
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


def tracked(tree: str) -> List[Path]:
    listed = subprocess.run(["git", "ls-files", tree], cwd=ROOT, check=True, capture_output=True,
                            text=True).stdout.split()
    return [ROOT / name for name in listed]


def pr_files() -> List[Path]:
    """Every tracked file of the PR trees, except `__init__.py` of folders that only exist to hold others."""
    files = [path for tree in PR_TREES for path in tracked(tree)]
    holders = {path.parent for path in files if path.name != "__init__.py"}
    return sorted(path for path in files if path.name != "__init__.py" or path.parent in holders)


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


# Runs in the child interpreter: block the project's packages, put the staged module folders first on their
# installed parent package's path, then run pytest with coverage of the staged modules.
_CHILD = """
import importlib, importlib.abc, sys
from pathlib import Path
blocked, files, modules, args = {blocked!r}, Path({files!r}), {modules!r}, {args!r}

class NotInHummingbot(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            raise ModuleNotFoundError(f"{{name}} is not part of Hummingbot (upstream-pr run)", name=name)
        return None

sys.meta_path.insert(0, NotInHummingbot())
for module in modules:
    parent = importlib.import_module(module.rsplit(".", 1)[0])
    parent.__path__.insert(0, str(files / Path(*module.split(".")[:-1])))
import pytest
sys.exit(pytest.main(args))
"""


def staged_packages(staged: List[Path]) -> List[str]:
    """The staged top-level packages of the PR inside `hummingbot` (e.g. `...derivative.vest_perpetual`)."""
    folders = {path.parent for path in staged if path.is_relative_to(FILES / "hummingbot")}
    tops = {folder for folder in folders if folder.parent not in folders}
    return sorted(".".join(folder.relative_to(FILES).parts) for folder in tops)


def run_tests(staged: List[Path]) -> Tuple[int, str, Dict[str, float]]:
    packages = staged_packages(staged)
    coverage_json = OUT / "coverage.json"
    args = ["-q", "-p", "no:cacheprovider", "-p", "no:hypothesispytest", "--rootdir", str(TEST_RUN), "test/hummingbot",
            *[f"--cov={TEST_RUN / Path(*package.split('.'))}" for package in packages],
            "--cov-report=term", f"--cov-report=json:{coverage_json}"]
    code = _CHILD.format(blocked=NOT_IN_HUMMINGBOT, files=str(TEST_RUN), modules=packages, args=args)
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
    return f"""# Add Vest Markets perpetual connector (`vest_perpetual`, `vest_perpetual_testnet`)

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
