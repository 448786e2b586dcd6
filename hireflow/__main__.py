"""``python -m hireflow demo`` runs the demo; every other command goes to the command-line client."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Dispatch ``demo`` to :mod:`hireflow.demo` and the rest to :func:`hireflow.cli.main`."""
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "demo":
        from hireflow.demo import main as demo_main

        return demo_main(args[1:])
    from hireflow.cli import main as cli_main

    result = cli_main(args)
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
