module k8s-aggapi.local/bench/loadgen

go 1.24
