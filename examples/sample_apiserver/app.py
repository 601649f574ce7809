"""The sample's server object: what `python -m examples.sample_apiserver`, `aggapi run` and
`aggapi manifests examples.sample_apiserver.app:server` read."""

from examples.sample_apiserver.apis import wardle_group
from k8s_aggapi.application import Application

server = Application(
    name="wardle-server",
    groups=lambda: [wardle_group()],
    storage_groups=lambda storage: [wardle_group(storage)],  # --storage memory|etcd
    title="Wardle",
    prog="python -m examples.sample_apiserver",
    example="examples/sample_apiserver/flunder.yaml",
    command=("python", "-m", "examples.sample_apiserver"),
)
