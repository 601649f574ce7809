"""`aggapi certs`: a CA and a serving certificate for `NAME.NS.svc`, as a TLS Secret names them.

Writes ca.crt, ca.key, tls.crt, tls.key with the helpers of `serving.certs`. Running it again
renews the serving certificate and keeps the CA (so the APIService caBundle stays valid)
unless `--new-ca` is given.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from k8s_aggapi.cli.base import CLIError, add_command
from k8s_aggapi.serving.certs import KeyPair, new_ca, new_cert

EXAMPLES = """\
  aggapi certs --service wardle-server --namespace wardle --out certs
  aggapi certs --service wardle-server --namespace wardle --out certs   # renews tls.crt only
  aggapi certs --service wardle-server --namespace wardle --out certs --new-ca
  kubectl create secret tls wardle-server-serving-cert -n wardle \\
      --cert certs/tls.crt --key certs/tls.key
"""


def service_dns_names(service: str, namespace: str) -> list[str]:
    """The names kube-apiserver's aggregator checks when it dials an APIService's Service."""
    return [f"{service}.{namespace}.svc", f"{service}.{namespace}.svc.cluster.local"]


def write_certs(out: Path, service: str, namespace: str, *, new_ca_: bool = False,
                days: int = 365) -> tuple[bool, KeyPair]:
    """Write the four files; return (whether a new CA was made, the serving pair)."""
    ca_crt, ca_key = out / "ca.crt", out / "ca.key"
    out.mkdir(parents=True, exist_ok=True)
    created = new_ca_ or not (ca_crt.exists() and ca_key.exists())
    if created:
        ca = new_ca(f"{service}.{namespace} CA")
        ca.write(ca_crt, ca_key)
    else:
        try:
            ca = KeyPair.load(ca_crt, ca_key)
        except (ValueError, TypeError) as e:
            raise CLIError(f"cannot reuse the CA in {out}: {e} (use --new-ca)") from None
    serving = new_cert(ca, f"{service}.{namespace}.svc", server=True, days=days,
                       dns_names=service_dns_names(service, namespace))
    serving.write(out / "tls.crt", out / "tls.key")
    return created, serving


def _handle(args: argparse.Namespace) -> int:
    if args.days < 1:
        raise CLIError(f"--days must be at least 1, got {args.days}")
    created, _ = write_certs(Path(args.out), args.service, args.namespace,
                             new_ca_=args.new_ca, days=args.days)
    ca = "new CA" if created else "kept CA"
    sys.stdout.write(f"wrote {args.out}/ca.crt ({ca}), ca.key, tls.crt, tls.key for "
                     f"{', '.join(service_dns_names(args.service, args.namespace))}\n")
    return 0


def register(commands: Any) -> None:
    p = add_command(commands, "certs",
                    "Write a CA and a serving certificate for an aggregated server's Service.",
                    EXAMPLES)
    p.add_argument("--service", required=True, help="the Service name the APIService points at")
    p.add_argument("--namespace", required=True, help="the Service's namespace")
    p.add_argument("--out", default=".", help="folder for ca.crt, ca.key, tls.crt, tls.key "
                   "(default: the current folder)")
    p.add_argument("--new-ca", action="store_true",
                   help="replace the CA too (the APIService caBundle must then change)")
    p.add_argument("--days", type=int, default=365, help="validity of the serving cert")
    p.set_defaults(handler=_handle)
