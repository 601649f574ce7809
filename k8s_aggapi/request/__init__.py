"""The request, as every layer sees it: who asks (`User`), what about (`RequestInfo`), where
the middleware leaves both (`context`), and how a response goes on the wire (`wire`).

A leaf: it imports nothing else of k8s_aggapi but `errors`, so the middleware, the handlers,
the registry and authorization all may import it (Go's k8s.io/apiserver pkg/endpoints/request).
"""
