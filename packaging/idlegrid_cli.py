"""Entry point of the frozen console executable ``idlegrid`` (CLI, runner, worker, verifier)."""

import sys

from engine.cli import main

if __name__ == "__main__":
    sys.exit(main())
