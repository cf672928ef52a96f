"""What AKS itself installs into a cluster's Kubernetes API: the managed blob CSI driver.

`storageProfile.blobCSIDriver.enabled` makes AKS deploy its own build of the blob CSI driver. In the
emulated API server that is its `CSIDriver` object `blob.csi.azure.com`, carrying the labels AKS puts
on the objects its addon manager reconciles (`addonmanager.kubernetes.io/mode: Reconcile`,
`kubernetes.azure.com/managedby: aks`) and **no** `tokenRequests` for `api://AzureADTokenExchange`:
the managed driver cannot mount with a workload identity token, which is why the keyless chain needs
the open-source driver from Helm (whose CSIDriver has that token request). The spec otherwise
follows the upstream driver's manifest (kubernetes-sigs/blob-csi-driver deploy/csi-blob-driver.yaml).

Reconcile semantics, like AKS's addon manager: enabling (re)writes the object even over a
Helm-installed one; disabling removes it only when it is AKS's (the AKS label), never the OSS one.
"""

BLOB_DRIVER = "blob.csi.azure.com"
CSIDRIVER_KEY = "storage.k8s.io/csidrivers"
FIELD_MANAGER = "aks-addon-manager"
AKS_LABELS = {
    "addonmanager.kubernetes.io/mode": "Reconcile",
    "kubernetes.azure.com/managedby": "aks",
}


def managed_blob_csidriver() -> dict:
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "CSIDriver",
        "metadata": {"name": BLOB_DRIVER, "labels": dict(AKS_LABELS)},
        "spec": {"attachRequired": False, "podInfoOnMount": True, "fsGroupPolicy": "ReadWriteOnceWithFSType",
                 "volumeLifecycleModes": ["Persistent", "Ephemeral"]},
    }


def is_aks_managed(obj) -> bool:
    labels = ((obj or {}).get("metadata") or {}).get("labels") or {}
    return labels.get("kubernetes.azure.com/managedby") == "aks"


def reconcile_blob_driver(hub, cluster_id: str, enabled: bool) -> str:
    """Make the cluster's CSIDriver match the AKS blob driver flag. Returns what was done:
    "created", "replaced", "removed" or "unchanged" ("no-cluster" if the hub has no such cluster).
    The caller holds the store lock (the hub shares it)."""
    from ....k8s import (  # the hub's own write path: defaults, validation, managedFields
        kinds,
        operations,
    )

    cluster = hub.cluster(cluster_id)
    if cluster is None:
        return "no-cluster"
    kind = kinds.BY_KEY[CSIDRIVER_KEY]
    current = cluster.get(kind, "", BLOB_DRIVER)
    opts = operations.WriteOptions(manager=FIELD_MANAGER)
    if enabled:
        wanted = managed_blob_csidriver()
        if current is None:
            operations.create(cluster, kind, "", wanted, opts)
            return "created"
        if is_aks_managed(current) and _spec_matches(current, wanted):
            return "unchanged"
        # Replace: the CSIDriver spec is immutable in Kubernetes, so (like an addon manager recreating
        # it) delete the old object and create AKS's.
        operations.delete(cluster, kind, "", BLOB_DRIVER, opts, {})
        operations.create(cluster, kind, "", wanted, opts)
        return "replaced"
    if current is not None and is_aks_managed(current):
        operations.delete(cluster, kind, "", BLOB_DRIVER, opts, {})
        return "removed"
    return "unchanged"


def _spec_matches(current: dict, wanted: dict) -> bool:
    spec = current.get("spec") or {}
    return (not spec.get("tokenRequests")
            and all(spec.get(k) == v for k, v in wanted["spec"].items())
            and all((current["metadata"].get("labels") or {}).get(k) == v for k, v in AKS_LABELS.items()))


__all__ = ["AKS_LABELS", "BLOB_DRIVER", "is_aks_managed", "managed_blob_csidriver", "reconcile_blob_driver"]
