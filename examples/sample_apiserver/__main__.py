"""`python -m examples.sample_apiserver [flags]`: upstream sample-apiserver's flags, plus --dev."""

from examples.sample_apiserver.apis import wardle_group
from k8s_aggapi.server import main

if __name__ == "__main__":
    main([wardle_group()], title="Wardle", prog="python -m examples.sample_apiserver",
         example="examples/sample_apiserver/flunder.yaml")
