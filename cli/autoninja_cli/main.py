"""The ``autoninja`` command line: one subcommand group per module, registered here.

Each module in :data:`COMMAND_MODULES` exposes ``register(commands)``, which adds its subcommand(s)
to the ``autoninja`` parser and sets ``run`` (a function of the parsed arguments returning the exit
status) as their default. Adding a command group is adding its module to the tuple; modules import
their heavy dependencies (boto3, the layer) only when run, so ``autoninja --help`` stays fast.

Example::

    autoninja invoke requirements-analyst tests/events/requirements-analyst/extract-requirements.json
"""

from __future__ import annotations

import argparse
import importlib
import sys

#: The command groups, one module each (``register(commands)`` adds its subcommands).
COMMAND_MODULES: tuple[str, ...] = (
    "autoninja_cli.trail",
    "autoninja_cli.run",
    "autoninja_cli.invoke",
    "autoninja_cli.demo",
)


def build_parser() -> argparse.ArgumentParser:
    """The ``autoninja`` parser with every registered command group."""
    parser = argparse.ArgumentParser(prog="autoninja", description="AutoNinja persistence tools")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command named in ``argv`` (default ``sys.argv[1:]``); its exit status."""
    args = build_parser().parse_args(argv)
    status: int = args.run(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
