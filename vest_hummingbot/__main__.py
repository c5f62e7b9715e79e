"""`python -m vest_hummingbot`: Hummingbot's interactive CLI (or a headless run) with project-local paths."""
import sys

from vest_hummingbot.launcher import main

if __name__ == "__main__":
    sys.exit(main())
