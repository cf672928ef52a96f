"""Microsoft.ContainerService: AKS managed clusters (+ agentPools, listClusterUserCredential/AdminCredential),
wired to the emulated Kubernetes API servers of `sandbox.k8s` (`app.kube`).

Shapes follow the 2025-07-01 examples in Azure/azure-rest-api-specs and what azure-mgmt-containerservice
41.8 (api-version 2026-08-01) sends and parses. `addons.reconcile_managed_driver` is the one function that
writes AKS-managed objects (the blob and Azure Files CSIDrivers) into a cluster.
"""

from .addons import reconcile_blob_driver, reconcile_file_driver, reconcile_managed_driver
from .agent_pools import AgentPools
from .managed_clusters import ManagedClusters


def register(registry):
    registry.register(ManagedClusters())
    registry.register(AgentPools())


__all__ = ["reconcile_blob_driver", "reconcile_file_driver", "reconcile_managed_driver", "register"]
