"""A Prometheus adapter on k8s_aggapi.custommetrics: prometheus-adapter's rule format, PromQL
to a real Prometheus, custom and external metrics. `python -m examples.prometheus_adapter`."""
