"""The command line: ``python -m pipeline COMMAND ...``.

Each command lives in its own module under :mod:`pipeline.commands`, which defines
``add_parser(subparsers)`` and ``run(args) -> int``. Output meant for other tools
(``--json``) goes to standard output; messages go to standard error.
Exit status 2 means no input could be used (no file read, or no row of any file
loaded), or, from ``argparse``, that an option's value was refused.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

COMMANDS: tuple[str, ...] = (
    "stages",
    "inspect",
    "clv",
    "attribution",
    "sample",
    "report",
)


def parser() -> argparse.ArgumentParser:
    """The argument parser with every available command."""
    top = argparse.ArgumentParser(
        prog="python -m pipeline",
        description="Pipeline Lens: stages, data checks, customer value and "
        "attribution from e-commerce exports.",
    )
    top.add_argument("-v", "--verbose", action="store_true", help="log progress")
    sub = top.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"pipeline.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"pipeline.commands.{name}":
                raise
            continue
        module.add_parser(sub)
    return top


def main(argv: list[str] | None = None) -> int:
    """Run the command line and return its exit status."""
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    return int(args.run(args) or 0)
