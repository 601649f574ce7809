"""Without the `[etcd]` extra a server still runs on memory, and `--storage=etcd` says what
to install (a subprocess in which `aetcd` cannot be imported)."""

import sys
from pathlib import Path

from k8s_aggapi.envtest import run

SCRIPT = """
import sys
sys.modules["aetcd"] = None  # as if the extra were not installed
from examples.sample_apiserver.app import server
from k8s_aggapi.options import config_from_args
config_from_args([], ["--dev"], storage_groups=server.storage_groups)
try:
    config_from_args([], ["--dev", "--storage=etcd"], storage_groups=server.storage_groups)
except ImportError as exc:
    print(exc)
"""


def test_memory_without_the_extra_and_a_hint_for_etcd():
    out = run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
              cwd=Path(__file__).parents[3], timeout=60, check=True)
    assert out.stdout.strip() == "the etcd storage needs its extra: pip install 'k8s-aggapi[etcd]'"
