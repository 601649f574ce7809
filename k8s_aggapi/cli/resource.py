"""`aggapi create resource`: a kind in one version — model, registration, tests.

Reads the project's `[tool.aggapi]` (written by `aggapi init`), writes the `scaffold/resource`
templates and adds an import and a `register` line to `<module>/apis.py`. A second version of
a kind also gets a conversion stub whose round-trip test fails until it is written.
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from pathlib import Path
from typing import Any

from k8s_aggapi.cli.base import CLIError, add_command
from k8s_aggapi.cli.scaffold import render_one

EXAMPLES = """\
  aggapi create resource --group widgets.example.com --version v1alpha1 --kind Widget
  aggapi create resource --group widgets.example.com --version v1alpha1 --kind Gadget \\
      --cluster-scoped --short-names gd,gdg
  aggapi create resource --group widgets.example.com --version v1 --kind Widget \\
      --project widgets      # a second version: adds a conversion stub to write
"""

IMPORTS = "# aggapi: imports"
RESOURCES = "    # aggapi: resources"
KIND_RE = re.compile(r"[A-Z][A-Za-z0-9]*")
VERSION_RE = re.compile(r"v[1-9][0-9]*((alpha|beta)[1-9][0-9]*)?")
NAME_RE = re.compile(r"[a-z]([a-z0-9]*)")


def plural_of(kind: str) -> str:
    word = kind.lower()
    if re.search(r"[^aeiou]y$", word):
        return word[:-1] + "ies"
    if re.search(r"(s|x|z|ch|sh)$", word):
        return word + "es"
    return word + "s"


def _project(directory: Path) -> dict[str, str]:
    path = directory / "pyproject.toml"
    try:
        config = tomllib.loads(path.read_text()).get("tool", {}).get("aggapi", {})
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise CLIError(f"cannot read {path}: {e} (run inside a project made by aggapi init, "
                       "or pass --project)") from None
    if not {"module", "group"} <= set(config):
        raise CLIError(f"{path} has no [tool.aggapi] module and group (not made by aggapi init)")
    return {"module": str(config["module"]), "group": str(config["group"])}


def _check(args: argparse.Namespace, project: dict[str, str]) -> None:
    if args.group != project["group"]:
        raise CLIError(f"this project serves {project['group']}, not {args.group}")
    if not KIND_RE.fullmatch(args.kind):
        raise CLIError(f"--kind {args.kind!r} must be CamelCase letters and digits (e.g. Widget)")
    if not VERSION_RE.fullmatch(args.version):
        raise CLIError(f"--version {args.version!r} is not a Kubernetes version (v1, v1beta1, "
                       "v2alpha3)")
    for name in [args.plural or "", *args.short_names]:
        if name and not NAME_RE.fullmatch(name):
            raise CLIError(f"{name!r} must be lower-case letters and digits")


def _write(path: Path, text: str) -> None:
    if path.exists():
        raise CLIError(f"{path} exists (aggapi never overwrites)")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _insert(apis: Path, kind_lower: str, version: str, module: str) -> None:
    text = apis.read_text()
    if IMPORTS not in text or RESOURCES not in text:
        raise CLIError(f"{apis} lost its '{IMPORTS}' or '{RESOURCES.strip()}' line; add the "
                       "registration by hand")
    alias = f"{kind_lower}_{version}"
    text = text.replace(IMPORTS, f"from {module}.{version} import {kind_lower} as {alias}\n"
                                 f"{IMPORTS}")
    text = text.replace(RESOURCES, f'    {alias}.register(group.version("{version}"))\n'
                                   f"{RESOURCES}")
    apis.write_text(text)


def _handle(args: argparse.Namespace) -> int:
    root = Path(args.project)
    project = _project(root)
    _check(args, project)
    module, kind_lower = project["module"], args.kind.lower()
    package = root / module
    model = package / args.version / f"{kind_lower}.py"
    if model.exists():
        raise CLIError(f"{args.kind} already exists in {args.version} ({model})")
    hubs = sorted(p.parent.name for p in package.glob(f"v*/{kind_lower}.py"))
    values = {"module": module, "group": args.group, "version": args.version,
              "kind": args.kind, "kind_lower": kind_lower,
              "plural": args.plural or plural_of(args.kind),
              "namespaced": str(not args.cluster_scoped),
              "short_names": repr(tuple(args.short_names)),
              "hub_version": hubs[0] if hubs else ""}
    written = [model, root / "tests" / f"test_{kind_lower}_{args.version}.py"]
    if hubs:
        written += [package / args.version / f"{kind_lower}_conversion.py",
                    root / "tests" / f"test_{kind_lower}_{args.version}_conversion.py"]
    texts = [render_one("resource", t, values) for t in
             ("model.py-tpl", "test_model.py-tpl", "conversion.py-tpl",
              "test_conversion.py-tpl")[:len(written)]]
    init = package / args.version / "__init__.py"
    if not init.exists():
        _write(init, render_one("resource", "version_init.py-tpl", values))
    for path, text in zip(written, texts, strict=True):
        _write(path, text)
    _insert(package / "apis.py", kind_lower, args.version, module)
    sys.stdout.write(f"added {args.kind} to {args.group}/{args.version}: "
                     f"{', '.join(str(p) for p in written)}\n")
    if hubs:
        sys.stdout.write(f"write the {args.version} <-> {hubs[0]} conversion in {written[2]} "
                         f"(its test fails until you do)\n")
    return 0


def _names(text: str) -> list[str]:
    return [n.strip() for n in text.split(",") if n.strip()]


def register(commands: Any) -> None:
    create = add_command(commands, "create", "Add something to a project made by aggapi init.",
                         EXAMPLES)
    kinds = create.add_subparsers(dest="what", metavar="WHAT", required=True,
                                  parser_class=type(create))
    p = add_command(kinds, "resource", "Add a kind in one version: its model, registration "
                    "and tests.", EXAMPLES)
    p.add_argument("--group", required=True)
    p.add_argument("--version", required=True)
    p.add_argument("--kind", required=True, help="CamelCase, e.g. Widget")
    p.add_argument("--plural", help="default: the kind in lower case plus s/es/ies")
    p.add_argument("--cluster-scoped", action="store_true", help="default: namespaced")
    p.add_argument("--short-names", type=_names, default=[], metavar="A,B")
    p.add_argument("--project", default=".", help="the project folder (default: here)")
    p.set_defaults(handler=_handle)
