"""The `*-tpl` templates of `scaffold/`: where they are, how `@{name}` is filled, and where
the running k8s-aggapi came from (so a generated project installs the same one).

Installed from a wheel the templates are `k8s_aggapi/_scaffold/`; in a source tree they are
the top-level `scaffold/` folder.
"""

from __future__ import annotations

import importlib.metadata
import json
import string
import urllib.parse
from collections.abc import Mapping
from pathlib import Path

from k8s_aggapi.cli.base import CLIError

PACKAGE = Path(__file__).resolve().parents[1]
SUFFIX = "-tpl"
MODULE_DIR = "__module__"


class _Template(string.Template):
    """Only `@{name}`: Makefiles' `$(VAR)` and Python's decorators pass through."""

    delimiter = "@"
    pattern = r"@(?:(?P<escaped>(?!))|(?P<named>(?!))|\{(?P<braced>[a-z_]+)\}|(?P<invalid>\{))"  # type: ignore[assignment]


def scaffold_root() -> Path:
    for candidate in (PACKAGE / "_scaffold", PACKAGE.parent / "scaffold"):
        if candidate.is_dir():
            return candidate
    raise CLIError(f"the templates are missing (looked in {PACKAGE / '_scaffold'}); "
                   "reinstall k8s-aggapi")


def render(text: str, values: Mapping[str, str], name: str) -> str:
    try:
        return _Template(text).substitute(values)
    except (KeyError, ValueError) as e:
        raise CLIError(f"template {name}: no value for {e}") from None


def target_name(relative: Path, module: str) -> Path:
    """`__module__/app.py-tpl` -> `<module>/app.py`; `gitignore-tpl` -> `.gitignore`."""
    parts = [module if p == MODULE_DIR else p for p in relative.parts]
    parts[-1] = parts[-1].removesuffix(SUFFIX)
    if parts[-1] == "gitignore":
        parts[-1] = ".gitignore"
    return Path(*parts)


def render_tree(kind: str, values: Mapping[str, str]) -> dict[Path, str]:
    """Every template under scaffold/<kind>/ as {relative target path: text}."""
    root = scaffold_root() / kind
    return {target_name(p.relative_to(root), values["module"]):
            render(p.read_text(), values, str(p.relative_to(root.parent)))
            for p in sorted(root.rglob(f"*{SUFFIX}"))}


def render_one(kind: str, template: str, values: Mapping[str, str]) -> str:
    path = scaffold_root() / kind / template
    return render(path.read_text(), values, f"{kind}/{template}")


def install_source() -> str:
    """Where this k8s-aggapi was installed from: a local wheel or source folder (PEP 610
    direct_url.json), else the source tree it runs from, else a plain requirement."""
    try:
        dist = importlib.metadata.distribution("k8s-aggapi")
    except importlib.metadata.PackageNotFoundError:
        dist = None
    direct = dist.read_text("direct_url.json") if dist else None
    if direct:
        url = str(json.loads(direct).get("url", ""))
        if url.startswith("file://"):
            return urllib.parse.unquote(urllib.parse.urlparse(url).path)
    if (PACKAGE.parent / "pyproject.toml").is_file() and (PACKAGE.parent / "scaffold").is_dir():
        return str(PACKAGE.parent)
    version = dist.version if dist else "0"
    return f"k8s-aggapi=={version}"
