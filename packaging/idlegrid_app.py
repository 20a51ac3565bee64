"""Entry point of the frozen windowed executable ``idlegrid-app`` (the tray app)."""

import sys

from app.main import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
