"""Entry script PyInstaller freezes into ``sigma`` (the headless console command)."""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    from engine.cli import main

    sys.exit(main())
