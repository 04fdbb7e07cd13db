"""Entry script PyInstaller freezes into ``sigma-studio`` (the windowed desktop app)."""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()  # a frozen app re-runs this script in any child process
    from studio.app import main

    sys.exit(main())
