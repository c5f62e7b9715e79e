"""The project's small launcher around the installed Hummingbot: project-local paths, keys, CLI, headless runs, demo.

Import `vest_hummingbot.launcher` and call `use_home()` before anything imports `hummingbot.client.*`: Hummingbot
computes its conf paths when those modules are first imported.
"""
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
