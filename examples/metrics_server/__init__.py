"""metrics.k8s.io/v1beta1 on k8s-aggapi: a drop-in for kubernetes-sigs/metrics-server.

Modules, in the order data flows: `informers` (nodes and Running pods by list+watch),
`scraper` (every kubelet's /metrics/resource), `decode` (the five families upstream reads),
`storage` (two points per series, upstream's rules plus our documented improvements),
`rest` (NodeMetrics and PodMetrics get/list/Table), `formats` (Quantity, Duration, Time on
the wire), `monitoring` (the metrics_server_* families), `server` (the loop and health checks),
`options` (upstream's flags) and `app` (the Application `aggapi manifests` reads).
"""
