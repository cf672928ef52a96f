"""What AKS itself installs into a cluster's Kubernetes API: the managed blob and Azure Files CSI drivers.

`storageProfile.blobCSIDriver.enabled` / `storageProfile.fileCSIDriver.enabled` make AKS deploy its own build
of the driver. In the emulated API server that is its `CSIDriver` object, carrying the labels AKS puts on the
objects its addon manager reconciles (`addonmanager.kubernetes.io/mode: Reconcile`,
`kubernetes.azure.com/managedby: aks`).

- Blob (`blob.csi.azure.com`): **no** `tokenRequests` for `api://AzureADTokenExchange`: the managed blob driver
  cannot mount with a workload identity token, which is why the keyless chain needs the open-source driver from
  Helm. The spec otherwise follows kubernetes-sigs/blob-csi-driver deploy/csi-blob-driver.yaml.
- Azure Files (`file.csi.azure.com`, on by default: `fileCSIDriver` "The default value is true"): the spec of
  kubernetes-sigs/azurefile-csi-driver deploy/csi-azurefile-driver.yaml at v1.35.7 (attachRequired false,
  podInfoOnMount true, Persistent + Ephemeral, fsGroupPolicy ReadWriteOnceWithFSType) with what the AKS build of
  the cluster's version carries: from Kubernetes 1.35 (AKS: workload identity token mounts "starting with AKS
  version 1.35.0 on Linux nodes", azure-aks-docs articles/aks/create-volume-azure-files.md) the token request
  with `expirationSeconds: 3600` and `requiresRepublish: true` (that manifest since v1.35.0); from 1.29 the token
  request alone (the driver's docs/workload-identity-static-pv-mount.md at v1.35.7: "from AKS 1.29 with
  `tokenRequests` field support in `CSIDriver`"); before, neither.

Reconcile semantics, like AKS's addon manager: enabling (re)writes the object even over a Helm-installed one;
disabling removes it only when it is AKS's (the AKS label), never the open-source one.
"""

from . import common

BLOB_DRIVER = "blob.csi.azure.com"
FILE_DRIVER = "file.csi.azure.com"
TOKEN_AUDIENCE = "api://AzureADTokenExchange"
CSIDRIVER_KEY = "storage.k8s.io/csidrivers"
FIELD_MANAGER = "aks-addon-manager"
AKS_LABELS = {
    "addonmanager.kubernetes.io/mode": "Reconcile",
    "kubernetes.azure.com/managedby": "aks",
}
FILE_TOKEN_SINCE = "1.29.0"       # the managed Files driver's CSIDriver has tokenRequests
FILE_REPUBLISH_SINCE = "1.35.0"   # ... and token-only mounts: expirationSeconds 3600 + requiresRepublish


def _csidriver(name: str, spec: dict) -> dict:
    base = {"attachRequired": False, "podInfoOnMount": True, "fsGroupPolicy": "ReadWriteOnceWithFSType",
            "volumeLifecycleModes": ["Persistent", "Ephemeral"]}
    return {"apiVersion": "storage.k8s.io/v1", "kind": "CSIDriver",
            "metadata": {"name": name, "labels": dict(AKS_LABELS)}, "spec": {**base, **spec}}


def managed_blob_csidriver(kubernetes_version=None) -> dict:
    return _csidriver(BLOB_DRIVER, {})


def managed_file_csidriver(kubernetes_version=None) -> dict:
    """The AKS Files driver's CSIDriver for a cluster of `kubernetes_version` (None: the newest)."""
    version = kubernetes_version or FILE_REPUBLISH_SINCE
    if not common.version_below(version, FILE_REPUBLISH_SINCE):
        return _csidriver(FILE_DRIVER, {"tokenRequests": [{"audience": TOKEN_AUDIENCE, "expirationSeconds": 3600}],
                                        "requiresRepublish": True})
    if not common.version_below(version, FILE_TOKEN_SINCE):
        return _csidriver(FILE_DRIVER, {"tokenRequests": [{"audience": TOKEN_AUDIENCE}]})
    return _csidriver(FILE_DRIVER, {})


MANAGED_DRIVERS = {BLOB_DRIVER: managed_blob_csidriver, FILE_DRIVER: managed_file_csidriver}


def is_aks_managed(obj) -> bool:
    labels = ((obj or {}).get("metadata") or {}).get("labels") or {}
    return labels.get("kubernetes.azure.com/managedby") == "aks"


def reconcile_managed_driver(hub, cluster_id: str, driver: str, enabled: bool, kubernetes_version=None) -> str:
    """Make the cluster's CSIDriver `driver` (a MANAGED_DRIVERS name) match the AKS flag. Returns what was done:
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
    current = cluster.get(kind, "", driver)
    opts = operations.WriteOptions(manager=FIELD_MANAGER)
    if enabled:
        wanted = MANAGED_DRIVERS[driver](kubernetes_version)
        if current is None:
            operations.create(cluster, kind, "", wanted, opts)
            return "created"
        if is_aks_managed(current) and _spec_matches(current, wanted):
            return "unchanged"
        # Replace: the CSIDriver spec is immutable in Kubernetes, so (like an addon manager recreating
        # it) delete the old object and create AKS's.
        operations.delete(cluster, kind, "", driver, opts, {})
        operations.create(cluster, kind, "", wanted, opts)
        return "replaced"
    if current is not None and is_aks_managed(current):
        operations.delete(cluster, kind, "", driver, opts, {})
        return "removed"
    return "unchanged"


def reconcile_blob_driver(hub, cluster_id: str, enabled: bool) -> str:
    return reconcile_managed_driver(hub, cluster_id, BLOB_DRIVER, enabled)


def reconcile_file_driver(hub, cluster_id: str, enabled: bool, kubernetes_version=None) -> str:
    return reconcile_managed_driver(hub, cluster_id, FILE_DRIVER, enabled, kubernetes_version)


def _spec_matches(current: dict, wanted: dict) -> bool:
    """The wanted fields as wanted; the token fields AKS does not set are unset (or the API server's default)."""
    spec = current.get("spec") or {}
    unset = [k for k in ("tokenRequests", "requiresRepublish") if k not in wanted["spec"]]
    return (all(spec.get(k) == v for k, v in wanted["spec"].items())
            and not any(spec.get(k) for k in unset)
            and all((current["metadata"].get("labels") or {}).get(k) == v for k, v in AKS_LABELS.items()))


__all__ = ["AKS_LABELS", "BLOB_DRIVER", "FILE_DRIVER", "MANAGED_DRIVERS", "is_aks_managed", "managed_blob_csidriver",
           "managed_file_csidriver", "reconcile_blob_driver", "reconcile_file_driver", "reconcile_managed_driver"]
