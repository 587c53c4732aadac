"""Entry point of the frozen app: PyInstaller starts here (``packaging/muralstudio.spec``)."""

from __future__ import annotations

import multiprocessing
import os
import sys


def _main() -> int:
    multiprocessing.freeze_support()  # a torch DataLoader worker re-enters here on Windows/macOS
    if sys.stdout is None:  # a windowed Windows build has no console: printing must not fail
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115
    from muralstudio.cli import main

    return main()


if __name__ == "__main__":
    sys.exit(_main())
