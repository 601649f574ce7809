"""`aggapi run MODULE:ATTR [flags]`: serve any server object with the generic flags.

Everything after MODULE:ATTR is the server's own command line (upstream's flags and --dev),
exactly what `python -m <module>` of that server takes.
"""

from __future__ import annotations

import argparse
from typing import Any

from k8s_aggapi.cli.base import add_command
from k8s_aggapi.cli.target import load_application

EXAMPLES = """\
  aggapi run examples.sample_apiserver.app:server --dev
  aggapi run examples.sample_apiserver.app:server --dev --secure-port 9443 --v=3
  aggapi run examples.sample_apiserver.app:server --help      # the server's own flags
  aggapi run mypkg.app:server --tls-cert-file tls.crt --tls-private-key-file tls.key
"""


def _handle(args: argparse.Namespace) -> int:
    app = load_application(args.target)
    app.main(args.flags, prog=f"aggapi run {args.target}")
    return 0


def register(commands: Any) -> None:
    p = add_command(commands, "run", "Run an aggregated API server (MODULE:ATTR names its "
                    "Application, an APIGroup or a list of groups).", EXAMPLES)
    p.add_argument("target", metavar="MODULE:ATTR")
    p.add_argument("flags", nargs=argparse.REMAINDER,
                   help="the server's flags (--secure-port, --requestheader-*, --dev, ...)")
    p.set_defaults(handler=_handle)
