"""The registry: REST verb protocols, the generic store over a storage backend, selectors."""
