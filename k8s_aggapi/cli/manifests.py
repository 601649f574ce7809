"""`aggapi manifests MODULE:ATTR`: the YAML that deploys a server and registers its APIs.

Reads the server object for names and groups, the certificate files `aggapi certs` wrote for
TLS, and prints one stream (or writes one file per kind with `--output-dir`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from cryptography import x509

from k8s_aggapi.cli.base import CLIError, add_command
from k8s_aggapi.cli.certs import service_dns_names
from k8s_aggapi.cli.target import load_application
from k8s_aggapi.manifests import DeployOptions, TLSFiles, render, to_yaml, write_dir
from k8s_aggapi.serving.certs import load_bundle

EXAMPLES = """\
  aggapi certs --service wardle-server --namespace wardle --out certs
  aggapi manifests examples.sample_apiserver.app:server --namespace wardle \\
      --image wardle:dev --ca-bundle certs/ca.crt          # tls.crt/tls.key read beside it
  aggapi manifests examples.sample_apiserver.app:server --namespace wardle \\
      --image wardle:dev --insecure-skip-tls-verify --output-dir deploy
  aggapi manifests mypkg.app:server --namespace my-api --image my-api:1.0 \\
      --ca-bundle certs/ca.crt --replicas 2 --storage etcd | kubectl apply -f -

The server object names the Deployment, Service and ServiceAccount (Application.name);
its groups give one APIService per group version and the view/edit/admin roles.
"""


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise CLIError(f"cannot read {what} {path}: {e.strerror}") from None


def _tls(args: argparse.Namespace, service: str) -> TLSFiles | None:
    if args.insecure_skip_tls_verify:
        return None
    ca_path = Path(args.ca_bundle)
    ca = _read(ca_path, "--ca-bundle")
    try:
        if not load_bundle(ca):
            raise ValueError("no certificate")
        cert_pem = _read(Path(args.tls_cert or ca_path.with_name("tls.crt")), "serving cert")
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError as e:
        raise CLIError(f"not a PEM certificate: {e}") from None
    key = _read(Path(args.tls_key or ca_path.with_name("tls.key")), "serving key")
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = set(sans.get_values_for_type(x509.DNSName))
    except x509.ExtensionNotFound:
        names = set()
    wanted = service_dns_names(service, args.namespace)[0]
    if wanted not in names:
        raise CLIError(f"the serving cert is not valid for {wanted} (run: aggapi certs "
                       f"--service {service} --namespace {args.namespace})")
    return TLSFiles(ca=ca, cert=cert_pem, key=key)


def _handle(args: argparse.Namespace) -> int:
    if args.replicas < 1:
        raise CLIError(f"--replicas must be at least 1, got {args.replicas}")
    app = load_application(args.target)
    options = DeployOptions(
        namespace=args.namespace, image=args.image, replicas=args.replicas,
        tls=_tls(args, app.name), storage=args.storage, etcd_image=args.etcd_image,
        group_priority_minimum=args.group_priority_minimum,
        version_priority=args.version_priority, local_port=args.local_port,
        image_pull_policy=args.image_pull_policy)
    objects = render(app, options)
    if args.output_dir:
        for path in write_dir(objects, Path(args.output_dir)):
            sys.stdout.write(f"wrote {path}\n")
    else:
        sys.stdout.write(to_yaml(objects))
    return 0


def register(commands: Any) -> None:
    p = add_command(commands, "manifests",
                    "Print the Kubernetes manifests that deploy a server and register its APIs.",
                    EXAMPLES)
    p.add_argument("target", metavar="MODULE:ATTR", help="the server object (an Application)")
    p.add_argument("--namespace", required=True)
    p.add_argument("--image", required=True, help="the container image that runs the server")
    p.add_argument("--replicas", type=int, default=1,
                   help="more than 1 adds anti-affinity and a PodDisruptionBudget")
    p.add_argument("--storage", choices=["memory", "etcd"], default="memory",
                   help="etcd adds an etcd StatefulSet and --etcd-servers")
    p.add_argument("--etcd-image", default=DeployOptions.etcd_image)
    tls = p.add_mutually_exclusive_group(required=True)
    tls.add_argument("--ca-bundle", metavar="FILE",
                     help="the CA (ca.crt of aggapi certs) the APIService trusts")
    tls.add_argument("--insecure-skip-tls-verify", action="store_true",
                     help="no caBundle: the server self-signs and the aggregator does not verify")
    p.add_argument("--tls-cert", metavar="FILE", help="serving cert (default: tls.crt beside "
                   "--ca-bundle)")
    p.add_argument("--tls-key", metavar="FILE", help="its key (default: tls.key beside it)")
    p.add_argument("--group-priority-minimum", type=int, default=None,
                   help="default: the server object's (1000)")
    p.add_argument("--version-priority", type=int, default=None,
                   help="of the least preferred version; each more preferred one gets +5 "
                        "(default: the server object's, 15)")
    p.add_argument("--local-port", type=int, default=None, metavar="PORT",
                   help="an ExternalName Service to localhost:PORT instead (server runs "
                        "outside the cluster, as under k8s_aggapi.envtest)")
    p.add_argument("--image-pull-policy", default="IfNotPresent",
                   choices=["IfNotPresent", "Always", "Never"])
    p.add_argument("--output-dir", metavar="DIR",
                   help="write one file per kind plus kustomization.yaml into DIR")
    p.set_defaults(handler=_handle)
