"""Every module and package of k8s_aggapi is named in the import-linter layers contract, so
`make lint` checks that its imports point one way (a new package must be placed there)."""

import pkgutil
import re
import tomllib
from pathlib import Path

import k8s_aggapi

ROOT = Path(__file__).parents[2]


def test_the_layers_contract_names_every_package():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    [layers] = [c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers"]
    named = {name for layer in layers["layers"]
             for name in re.findall(r"k8s_aggapi\.(\w+)", layer)}
    present = {m.name for m in pkgutil.iter_modules(k8s_aggapi.__path__)
               if not m.name.startswith("_")}
    assert present - named == set(), "place these in pyproject.toml's layers contract"
