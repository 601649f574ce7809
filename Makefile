# Two commands matter: `make run` and `make test`. Each creates .venv when it is missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST := $(BIN)/python -m pytest
SAMPLE_MANIFESTS := examples.sample_apiserver.app:server --namespace wardle --image wardle:dev --insecure-skip-tls-verify
# the metrics server's deployments: upstream's components.yaml and its high-availability variant
METRICS_MANIFESTS := examples.metrics_server.app:server --namespace kube-system --image k8s-aggapi-metrics-server:dev --insecure-skip-tls-verify

.PHONY: venv run test lint unit integration attack e2e binaries cluster cluster-metrics bench bench-wire bench-storage bench-metrics manifests wheel clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

# The sample API server in dev mode: no cluster, a PKI and kubeconfig in .aggapi/.
run: venv
	$(BIN)/python -m examples.sample_apiserver --dev

lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

unit: venv
	$(PYTEST) -q

# The Go-built control plane (kube-apiserver, kube-controller-manager, kube-scheduler,
# kubectl, etcd, kwok), cached in ~/.cache/k8s-aggapi/bin by version.
binaries: venv
	$(BIN)/python -m k8s_aggapi.envtest build

integration: binaries
	$(PYTEST) -q -m integration tests/integration

# the attack suite alone (also part of `make test`): fuzzing, corpus, authorization, memory
attack: venv
	$(PYTEST) -q -m attack tests/attack

e2e: binaries
	$(PYTEST) -q -m e2e tests/e2e

# lint, then every test: unit, integration (real TLS, real kubectl) and e2e (real control plane),
# on TEST_WORKERS pytest-xdist workers (tests/conftest.py groups what shares a server);
# TEST_WORKERS=0 runs them serially.
TEST_WORKERS ?= 2
test: lint binaries
	AGGAPI_E2E_REQUIRED=1 $(PYTEST) -q -n $(TEST_WORKERS) --dist loadgroup tests

# The whole loop, to watch with kubectl (docs/custom-metrics.md): the control plane; the sample
# (wardle v1alpha1 and v1beta1, on the control plane's etcd); the metrics server as
# v1beta1.metrics.k8s.io with kwok pods reporting CPU and memory (namespace demo: `kubectl top
# pod -n demo`); Debian's Prometheus (installed when missing) scraping kube-apiserver and every
# server with monitoring/rules.yaml; the Prometheus adapter as v1beta2/v1beta1.custom.metrics.k8s.io
# and v1beta1.external.metrics.k8s.io; two HPAs in demo, on a Pods and an External metric.
# Prints the kubeconfig, Prometheus's URL and a `ready: {json}` line (also .aggapi/cluster/ready).
METRICS_SERVER_CMD := $(BIN)/python -m examples.metrics_server --metric-resolution=15s \
  --kubelet-use-node-status-port --kubelet-preferred-address-types=InternalIP,Hostname \
  --kubelet-certificate-authority={kubelet_ca}
ADAPTER_CMD := $(BIN)/python -m examples.prometheus_adapter \
  --config=examples/prometheus_adapter/config.yaml --prometheus-url={prometheus} \
  --metrics-relist-interval=10s
SAMPLE_CMD := $(BIN)/python -m examples.sample_apiserver --storage=etcd --etcd-servers={etcd} \
  --etcd-prefix=/wardle

cluster: binaries
	exec $(BIN)/python -m k8s_aggapi.envtest cluster --state-dir .aggapi/cluster --stop-with-parent \
	  --server "wardle.example.com/v1alpha1,v1beta1=$(SAMPLE_CMD)" \
	  --server "metrics.k8s.io/v1beta1=$(METRICS_SERVER_CMD)" --demo-workload \
	  --server "custom.metrics.k8s.io/v1beta2,v1beta1,external.metrics.k8s.io/v1beta1=$(ADAPTER_CMD)" \
	  --prometheus --prometheus-rules monitoring/rules.yaml

# the same (it once ran the custom-metrics loop alone)
cluster-metrics: cluster

# The sample's checked-in deployment (a unit test fails when it is stale).
manifests: venv
	$(BIN)/aggapi manifests $(SAMPLE_MANIFESTS) --output-dir examples/sample_apiserver/deploy
	$(BIN)/aggapi manifests $(METRICS_MANIFESTS) --output-dir examples/metrics_server/deploy/default
	$(BIN)/aggapi manifests $(METRICS_MANIFESTS) --replicas 2 --output-dir examples/metrics_server/deploy/high-availability

# In-process lists and GETs; BENCH_ARGS="--baseline db3b5f7" measures this tree beside that
# commit in one run (interleaved rounds, CPU time per request; see docs/benchmarks.md).
bench: venv
	$(BIN)/python -m bench $(BENCH_ARGS)

# Over real TLS, one core per side: the Starlette ceiling, our sample (x509, front proxy) and
# Go's sample-apiserver, against an envtest control plane (about 8 minutes; see
# docs/benchmarks.md). BENCH_WIRE_ARGS="--rounds 1 --ops get" for a quick look.
bench-wire: binaries
	$(BIN)/python -m bench.wire $(BENCH_WIRE_ARGS)

# the storage layer on memory and a real etcd, with and without the watch cache
bench-storage: binaries
	$(BIN)/python -m bench.storage

# Our metrics server beside metrics-server v0.8.0 on a simulated kubelet fleet (100 and 1,000
# nodes by default; see docs/benchmarks.md). BENCH_METRICS_ARGS="--nodes 100 --rounds 1".
bench-metrics: binaries
	$(BIN)/python -m bench.metrics_pipeline $(BENCH_METRICS_ARGS)

clean:
	rm -rf $(VENV) .aggapi .pytest_cache .mypy_cache .ruff_cache
