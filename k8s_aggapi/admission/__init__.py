"""Admission: an ordered chain of mutating, then validating plugins for every write.

    attributes.py   Operation, Attributes (what a plugin sees), forbidden()
    interface.py    MutatingPlugin, ValidatingPlugin
    chain.py        Chain (the server's plugins in order), RequestAdmission (bound to a request)
    namespace.py    NamespaceLifecycle: no content in a missing or terminating namespace

It sits below the registry: the generic store calls the chain on create, update (PUT and
every patch) and delete, with the object and the old object. See docs/admission.md.
"""

from k8s_aggapi.admission.attributes import (
    Attributes,
    GroupVersionKind,
    GroupVersionResource,
    Operation,
    forbidden,
)
from k8s_aggapi.admission.chain import EMPTY, Chain, RequestAdmission
from k8s_aggapi.admission.interface import MutatingPlugin, Plugin, ValidatingPlugin

__all__ = [
    "EMPTY",
    "Attributes",
    "Chain",
    "GroupVersionKind",
    "GroupVersionResource",
    "MutatingPlugin",
    "Operation",
    "Plugin",
    "RequestAdmission",
    "ValidatingPlugin",
    "forbidden",
]
