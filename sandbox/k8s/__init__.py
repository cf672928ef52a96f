"""Emulated Kubernetes API servers (one per cluster, on the sandbox's port under /k8s/<slug>)."""

from .hub import KubeEndpoint, KubeHub
from .kubeconfig import kubeconfig

__all__ = ["KubeEndpoint", "KubeHub", "kubeconfig"]
