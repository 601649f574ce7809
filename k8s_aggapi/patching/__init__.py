"""Patching and apply: strategic merge patch, field sets, managedFields and server-side apply.

Pure modules (no I/O): `schema` reads a model's merge declarations, `strategic` applies a
strategic merge patch, `fieldpath` holds field sets in the managedFields `fieldsV1` form,
`managedfields` tracks ownership for every write and `apply` merges an apply configuration.
"""
