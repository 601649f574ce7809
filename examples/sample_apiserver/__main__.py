"""`python -m examples.sample_apiserver [flags]`: upstream sample-apiserver's flags, plus --dev."""

from examples.sample_apiserver.app import server

if __name__ == "__main__":
    server.main()
