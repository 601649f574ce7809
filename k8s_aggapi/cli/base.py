"""What every `aggapi` command shares: the parser class, `CLIError`, help formatting.

A usage error is one line (`aggapi certs: error: ... (see aggapi certs --help)`), exit 2;
a failure while running is one line too, exit 1.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, NoReturn


class CLIError(Exception):
    """A failure a person can fix; its message is the whole line printed."""


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors and examples kept as written in the help text."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message} (see {self.prog} --help)\n")
        raise SystemExit(2)




def add_command(commands: Any, name: str, summary: str, examples: str) -> Parser:
    """A subcommand whose --help starts with `summary` and ends with `examples`."""
    parser: Parser = commands.add_parser(
        name, help=summary, description=summary, epilog=f"examples:\n{examples}")
    return parser
