"""`aggapi init DIR --group GROUP`: a new project that serves GROUP, ready for `make test`.

Writes the `scaffold/project` templates; never overwrites (DIR must be new or empty). The
project records where k8s-aggapi came from (`--aggapi-source` overrides) in its Makefile.
"""

from __future__ import annotations

import argparse
import keyword
import re
import sys
from pathlib import Path
from typing import Any

from k8s_aggapi.cli.base import CLIError, add_command
from k8s_aggapi.cli.scaffold import install_source, render_tree

EXAMPLES = """\
  aggapi init widgets --group widgets.example.com
  aggapi init my-api --group things.example.org --module things
  aggapi init widgets --group widgets.example.com \\
      --aggapi-source dist/k8s_aggapi-0.1.0-py3-none-any.whl
  cd widgets && aggapi create resource --group widgets.example.com --version v1 --kind Widget
  make test
"""

GROUP_RE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+")


def check_group(group: str) -> str:
    if len(group) > 253 or not GROUP_RE.fullmatch(group):
        raise CLIError(f"--group {group!r} is not a DNS subdomain with a dot "
                       "(e.g. widgets.example.com)")
    return group


def check_module(module: str) -> str:
    if not module.isidentifier() or keyword.iskeyword(module) or module != module.lower():
        raise CLIError(f"--module {module!r} is not a lower-case Python identifier")
    return module


def project_values(directory: Path, group: str, module: str | None,
                   source: str | None) -> dict[str, str]:
    project = directory.resolve().name
    module = check_module(module or re.sub(r"[^a-z0-9_]", "_", project.lower()))
    short = group.split(".")[0]
    return {"project": project, "module": module, "group": group, "group_short": short,
            "name": f"{short}-apiserver", "title": short.capitalize(),
            "aggapi_source": source or install_source()}


def _handle(args: argparse.Namespace) -> int:
    directory = Path(args.dir)
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise CLIError(f"{directory} exists and is not empty (aggapi init never overwrites)")
    values = project_values(directory, check_group(args.group), args.module, args.aggapi_source)
    files = render_tree("project", values)
    for relative, text in files.items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    sys.stdout.write(
        f"created {directory} ({len(files)} files) serving {values['group']}, module "
        f"{values['module']}; k8s-aggapi from {values['aggapi_source']}\n"
        f"next: cd {directory} && aggapi create resource --group {values['group']} "
        f"--version v1alpha1 --kind <Kind> && make test\n")
    return 0


def register(commands: Any) -> None:
    p = add_command(commands, "init", "Create a new aggregated API server project.", EXAMPLES)
    p.add_argument("dir", metavar="DIR", help="the new project's folder (must not exist, or "
                   "be empty)")
    p.add_argument("--group", required=True, help="the API group it serves")
    p.add_argument("--module", help="the Python package name (default: from DIR)")
    p.add_argument("--aggapi-source", metavar="SPEC",
                   help="what the project's Makefile installs k8s-aggapi from: a wheel, a "
                        "folder or a requirement (default: where this aggapi came from)")
    p.set_defaults(handler=_handle)
