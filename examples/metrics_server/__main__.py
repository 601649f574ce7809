"""`python -m examples.metrics_server [flags]`: kubernetes-sigs/metrics-server's flags."""

from examples.metrics_server.app import server

if __name__ == "__main__":
    server.main()
