"""HTTP endpoints for resources: request info, negotiation, the verb handlers, watch, patch."""
