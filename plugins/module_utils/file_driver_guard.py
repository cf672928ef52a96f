# -*- coding: utf-8 -*-
# Copyright: keyless.aks_storage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The guard before the AKS-managed Azure Files CSI driver is turned off (``storageProfile.fileCSIDriver``).

Both drivers register the CSI driver name ``file.csi.azure.com``. What happens to existing volumes when the managed
one is disabled is not documented by Microsoft (docs/research/azure-files.md §4); inferred from how CSI works:
existing kernel mounts stay, but every new mount, unmount and provisioning of a ``file.csi.azure.com`` volume fails
until a driver registers that name again. So before that write this lists, read-only and with the cluster's own
credentials, the PersistentVolumes and StorageClasses that use the driver, and refuses when any would be affected.
Exempt are the volumes this collection rendered for token-only mounts (``mountWithWorkloadIdentityToken: "true"``,
which the open-source driver installed next serves the same way) and AKS's own StorageClasses (AKS manages them
with the driver; a warning names them).
"""

from __future__ import annotations

from ansible_collections.keyless.aks_storage.plugins.module_utils import aks_access
from ansible_collections.keyless.aks_storage.plugins.module_utils.errors import ModuleError
from ansible_collections.keyless.aks_storage.plugins.module_utils.kube import KubeError

FILE_DRIVER = "file.csi.azure.com"
OURS = ("app.kubernetes.io/managed-by", "keyless.aks_storage")
# The driver compares this attribute's value with the literal "true"; attribute names are matched case-insensitively
# (azurefile-csi-driver v1.35.7 nodeserver.go shouldUseServiceAccountToken, utils.go getValueInMap).
TOKEN_ATTRIBUTE = "mountwithworkloadidentitytoken"
# Labels AKS puts on what its addon manager owns (the default StorageClasses azurefile, azurefile-csi, ...).
AKS_LABELS = (("kubernetes.azure.com/managedby", "aks"), ("addonmanager.kubernetes.io/mode", None))
WHAT_HAPPENS = (
    "Existing mounts stay, but new mounts and unmounts of these volumes, and claims of these classes, fail until the "
    "open-source Azure Files CSI driver registers file.csi.azure.com (inferred: no Microsoft source says what "
    "happens, docs/research/azure-files.md section 4)")
PROCEED = ("Move these workloads first, or set file_driver_disruption_ok: true to turn the managed driver off "
           "anyway")


def attribute(values, name):
    return next((v for k, v in (values or {}).items() if k.lower() == name), None)


def token_only_and_ours(metadata, values):
    labels = (metadata or {}).get("labels") or {}
    return labels.get(OURS[0]) == OURS[1] and attribute(values, TOKEN_ATTRIBUTE) == "true"


def aks_owned(metadata):
    labels = (metadata or {}).get("labels") or {}
    return any(key in labels and (value is None or labels[key] == value) for key, value in AKS_LABELS)


def affected_volumes(volumes):
    """``PersistentVolume <name> (claim <ns>/<name>, share <share>)`` of each file.csi.azure.com volume not exempt."""
    found = []
    for pv in volumes:
        csi = (pv.get("spec") or {}).get("csi") or {}
        if csi.get("driver") != FILE_DRIVER or token_only_and_ours(pv.get("metadata"), csi.get("volumeAttributes")):
            continue
        claim = (pv.get("spec") or {}).get("claimRef") or {}
        handle = (csi.get("volumeHandle") or "").split("#")  # <resource group>#<account>#<share>#...
        share = attribute(csi.get("volumeAttributes"), "sharename") or (handle[2] if len(handle) > 2 else "?")
        found.append("PersistentVolume %s (claim %s, share %s)" % (
            pv["metadata"]["name"], "%s/%s" % (claim.get("namespace"), claim.get("name")) if claim else "none",
            share))
    return found


def affected_classes(classes):
    """(StorageClasses to refuse for, AKS's own StorageClasses) of the file.csi.azure.com provisioner."""
    refused, aks = [], []
    for sc in classes:
        if sc.get("provisioner") != FILE_DRIVER or token_only_and_ours(sc.get("metadata"), sc.get("parameters")):
            continue
        (aks if aks_owned(sc.get("metadata")) else refused).append(sc["metadata"]["name"])
    return refused, aks


def refusal(name, volumes, classes):
    listed = volumes + ["StorageClass %s" % c for c in classes]
    return ModuleError("file_driver=oss turns off the AKS-managed Azure Files CSI driver of cluster %s, which these "
                       "use: %s. %s. %s." % (name, "; ".join(listed), WHAT_HAPPENS, PROCEED))


def aks_classes_warning(name, classes):
    return ("cluster %s: AKS's own StorageClasses %s provision with the managed Azure Files driver; with it off, AKS "
            "removes them (inferred, docs/research/azure-files.md section 4), so claims naming them stay Pending: "
            "use a StorageClass of the open-source driver" % (name, ", ".join(classes)))


def check(module, clusters, cluster):
    """Refuse, before any write, to turn the managed Files driver off while volumes use it; fails closed when the
    cluster cannot be read. Returns the Kubernetes reads made."""
    name = cluster["name"]
    try:
        reader = aks_access.reader_from_arm(module, clusters, cluster, module.params["kubeconfig_auth"])
        volumes = reader.items("list PersistentVolumes", "CoreV1Api", "list_persistent_volume")
        classes = reader.items("list StorageClasses", "StorageV1Api", "list_storage_class")
    except (KubeError, ModuleError) as exc:
        raise ModuleError("file_driver=oss turns off the AKS-managed Azure Files CSI driver of cluster %s, and which "
                          "volumes use it could not be read (%s), so nothing was changed. %s. Check access to the "
                          "cluster, or set file_driver_disruption_ok: true to turn it off without this check"
                          % (name, exc, WHAT_HAPPENS.replace("these volumes, and claims of these classes",
                                                             "its volumes"))) from exc
    refused, aks = affected_classes(classes)
    in_use = affected_volumes(volumes)
    if in_use or refused:
        raise refusal(name, in_use, refused)
    if aks:
        module.warn(aks_classes_warning(name, aks))
    return reader.reads
