"""The Kubernetes sample-apiserver (wardle.example.com) rebuilt on k8s-aggapi."""
