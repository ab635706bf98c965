"""``transfigure engines``: every operation's engines, and whether each can run here."""

from __future__ import annotations

import argparse

from app.cli.console import EXIT_OK


def add_commands(commands, common: argparse.ArgumentParser) -> None:
    """``engines`` (called by ``app.cli.main.build_parser``)."""
    engines = commands.add_parser(
        "engines", parents=[common],
        help="list the engines of every operation and whether they can run here",
    )
    engines.set_defaults(handler=cmd_engines)


def cmd_engines(args: argparse.Namespace) -> int:
    from engines import registry

    for operation in registry.operation_names():
        entries = registry.entries(operation)
        print(f"{operation}:")
        width = max((len(e.name) for e in entries), default=0)
        for e in entries:
            availability = e.availability()
            if availability.available:
                state = "available"
            else:
                state = f"unavailable: {availability.reason}"
                if availability.fix:
                    state += f" (fix: {availability.fix})"
            default = " (default)" if e.default else ""
            print(f"  {e.name:<{width}}  {e.title}{default}  {state}")
    return EXIT_OK
