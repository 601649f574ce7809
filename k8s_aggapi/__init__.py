"""k8s-aggapi: build Kubernetes aggregated API servers in Python."""

from k8s_aggapi.api import APIGroup, APIVersion, Resource, ResourceInfo, Scale, TableColumn
from k8s_aggapi.application import Application, PolicyRule
from k8s_aggapi.config import CompletedConfig, ServerConfig
from k8s_aggapi.errors import StatusError
from k8s_aggapi.models import KubeModel, KubeObject, ObjectMeta
from k8s_aggapi.registry.strategy import Strategy
from k8s_aggapi.server import build_app, main, run
from k8s_aggapi.storage import MemoryStorage, Storage

__version__ = "0.1.0"

__all__ = [
    "APIGroup",
    "APIVersion",
    "Application",
    "CompletedConfig",
    "KubeModel",
    "KubeObject",
    "MemoryStorage",
    "ObjectMeta",
    "PolicyRule",
    "Resource",
    "ResourceInfo",
    "Scale",
    "ServerConfig",
    "StatusError",
    "Storage",
    "Strategy",
    "TableColumn",
    "build_app",
    "main",
    "run",
]
