"""The ``signals`` command (console script and ``python -m signals``): an idle ``run`` is
answered by ``signals.fast_run`` without loading the CLI; everything else goes to
``signals.cli``."""

from __future__ import annotations

import sys


def main() -> None:
    from .fast_run import try_idle

    if try_idle(sys.argv[1:]):
        return
    from .cli import main as cli_main

    cli_main()
