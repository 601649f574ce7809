"""`MODULE:ATTR` -> an `Application`, the way uvicorn finds an app (the current folder first).

ATTR may name an `Application`, an `APIGroup`, a list of groups, or a function returning any
of these; a bare list of groups gets a default Application named after the first group.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence

from k8s_aggapi.api import APIGroup
from k8s_aggapi.application import Application
from k8s_aggapi.cli.base import CLIError

HINT = ("expected MODULE:ATTR naming an Application, e.g. examples.sample_apiserver.app:server")


def _name_for(groups: Sequence[APIGroup]) -> str:
    first = groups[0].name.split(".")[0] if groups else "aggapi"
    return f"{first}-apiserver"


def _as_application(value: object, spec: str, depth: int = 0) -> Application:
    if isinstance(value, Application):
        return value
    if isinstance(value, APIGroup):
        value = [value]
    if isinstance(value, list | tuple) and all(isinstance(g, APIGroup) for g in value):
        groups = list(value)
        if not groups:
            raise CLIError(f"{spec} is an empty list of API groups")
        return Application(name=_name_for(groups), groups=lambda: groups, title=_name_for(groups))
    if callable(value) and depth == 0:
        return _as_application(value(), spec, depth + 1)
    raise CLIError(f"{spec} is a {type(value).__name__}, not an Application or API groups")


def load_application(spec: str) -> Application:
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise CLIError(f"{spec!r}: {HINT}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name and module_name.startswith(e.name):
            raise CLIError(f"no module {e.name!r} (run aggapi from the folder that holds it, "
                           f"or install it)") from None
        raise
    value: object = module
    for part in attr.split("."):
        try:
            value = getattr(value, part)
        except AttributeError:
            raise CLIError(f"module {module_name!r} has no attribute {attr!r}") from None
    return _as_application(value, spec)
