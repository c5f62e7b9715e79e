"""`make lint`: the checks of Hummingbot's pre-commit configuration, run from the project's virtual environment.

pre-commit itself would clone each hook's repository; these are the same tools at the same settings (`.flake8`,
`[tool.isort]` in pyproject.toml, autopep8's selected fixes) plus the file checks of pre-commit-hooks and the
wallet-private-key check, written here. Nothing is changed: every finding is printed and the exit status is 1.

    python tools/lint.py                 # the files git tracks (and new ones not ignored) in this checkout
    python tools/lint.py --root DIR      # every file under DIR (the upstream PR's file set)
"""
import argparse
import re
import subprocess
import sys
from pathlib import Path
from typing import Callable, Iterable, List

import yaml

ROOT = Path(__file__).resolve().parents[1]
PYTHON_SUFFIXES = {".py", ".pyx", ".pxd"}
TEXT_SUFFIXES = PYTHON_SUFFIXES | {".md", ".yml", ".yaml", ".toml", ".txt", ".cfg", ".ini", ".sh", ""}
# Hummingbot's autopep8 hook fixes exactly these codes; a file it would rewrite is a finding.
AUTOPEP8_SELECT = ("E26,E114,E117,E128,E129,E201,E202,E225,E226,E231,E261,E301,E302,E303,E304,E305,E306,E401,"
                   "W291,W292,W293,W391")
LARGE_FILE_BYTES = 500 * 1024  # pre-commit-hooks' check-added-large-files default
# A wallet private key: 64 hex digits standing alone. Hummingbot marks test keys and public constants (a curve
# order, a type hash) with `# noqa: mock` on the same line, and so does this project.
WALLET_KEY = re.compile(r"(?<![0-9a-zA-Z])(?:0x)?[0-9a-fA-F]{64}(?![0-9a-zA-Z])")
WALLET_KEY_ALLOWED = "noqa: mock"
PEM_PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----|PuTTY-User-Key-File-\d")


def files_to_check(root: Path, tracked_only: bool) -> List[Path]:
    if tracked_only:
        listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=root,
                                check=True, capture_output=True, text=True).stdout.splitlines()
        paths = [root / name for name in listed]
    else:
        paths = [path for path in root.rglob("*") if "__pycache__" not in path.parts]
    return sorted(path for path in paths if path.is_file() and path.suffix in TEXT_SUFFIXES)


def run_tool(command: List[str], cwd: Path) -> List[str]:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    output = (result.stdout + result.stderr).strip()
    return [output] if result.returncode != 0 and output else ([f"{command[2]} failed"] if result.returncode else [])


def text_findings(path: Path, root: Path) -> Iterable[str]:
    name = path.relative_to(root)
    if path.stat().st_size > LARGE_FILE_BYTES:
        yield f"{name}: larger than {LARGE_FILE_BYTES // 1024} kB"
        return
    text = path.read_text(encoding="utf-8", errors="replace")
    if (text and not text.endswith("\n")) or text.endswith("\n\n"):
        yield f"{name}: the file must end with exactly one newline"
    for number, line in enumerate(text.splitlines(), start=1):
        if line != line.rstrip():
            yield f"{name}:{number}: trailing whitespace"
        if WALLET_KEY.search(line) and WALLET_KEY_ALLOWED not in line:
            yield f"{name}:{number}: looks like a wallet private key (mark test values with '# {WALLET_KEY_ALLOWED}')"
        if PEM_PRIVATE_KEY.search(line):
            yield f"{name}:{number}: private key"
    if path.suffix in (".yml", ".yaml"):
        try:
            list(yaml.safe_load_all(text))
        except yaml.YAMLError as error:
            yield f"{name}: invalid YAML ({error})"


def main(argv: List[str] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, help="check every file under this folder instead of the checkout")
    args = parser.parse_args(argv)
    root = (args.root or ROOT).resolve()
    files = files_to_check(root, tracked_only=args.root is None)
    python_files = [str(path.relative_to(root)) for path in files if path.suffix in PYTHON_SUFFIXES]
    settings = str(ROOT / "pyproject.toml")
    checks: List[Callable[[], Iterable[str]]] = [
        lambda: run_tool([sys.executable, "-m", "flake8", "--config", str(ROOT / ".flake8"), *python_files], root),
        lambda: run_tool([sys.executable, "-m", "isort", "--check-only", "--diff", "--settings-path", settings,
                          *[name for name in python_files if name.endswith(".py")]], root),
        lambda: run_tool([sys.executable, "-m", "autopep8", "--diff", "--exit-code", "--max-line-length=120",
                          f"--select={AUTOPEP8_SELECT}", *python_files], root),
        lambda: [finding for path in files for finding in text_findings(path, root)],
    ]
    findings = [finding for check in checks for finding in check()]
    for finding in findings:
        print(finding)
    print(f"lint: {len(python_files)} Python files, {len(files)} files in all: "
          f"{'clean' if not findings else f'{len(findings)} finding(s)'}")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
