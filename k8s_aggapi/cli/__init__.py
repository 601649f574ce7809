"""`aggapi`: the command line of k8s-aggapi (init, create resource, run, certs, manifests).

Each subcommand lives in its own module and registers itself on one argparse parser; every
failure is a `CLIError`, printed as one line on stderr with a non-zero exit code.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from k8s_aggapi.cli import certs, init, manifests, resource, run
from k8s_aggapi.cli.base import CLIError, Parser

__all__ = ["CLIError", "build_parser", "main"]

DESCRIPTION = """\
Build, run and deploy Kubernetes aggregated API servers written with k8s-aggapi.

examples:
  aggapi init widgets --group widgets.example.com
  aggapi create resource --group widgets.example.com --version v1 --kind Widget
  aggapi run widgets.app:server --dev
  aggapi certs --service widgets-api --namespace widgets --out certs
  aggapi manifests widgets.app:server --namespace widgets --image widgets:dev \\
      --ca-bundle certs/ca.crt
"""


def build_parser() -> Parser:
    parser = Parser(prog="aggapi", description=DESCRIPTION)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True,
                                     parser_class=Parser)
    init.register(commands)
    resource.register(commands)
    run.register(commands)
    certs.register(commands)
    manifests.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The console script: parse, run one command, map `CLIError` to a one-line message."""
    args = build_parser().parse_args(argv)
    try:
        code: int = args.handler(args)
    except CLIError as e:
        sys.stderr.write(f"aggapi {args.command}: error: {e}\n")
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
