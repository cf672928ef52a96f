"""Admission the real API server applies to updates, after validation (the plugins that are on by default).

PersistentVolumeClaimResize (k8s.io/kubernetes plugin/pkg/admission/storage/persistentvolume/resize): a claim's
requested storage may only grow, only on a bound claim, and only when it was provisioned by a StorageClass with
allowVolumeExpansion; otherwise 403 Forbidden. A shrink is refused by validation (422) before that.
"""

from . import errors
from .kinds import BY_KIND
from .quantity import parse

NOT_RESIZABLE = ("only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must "
                 "support resize")


def _requested(claim):
    return parse((((claim.get("spec") or {}).get("resources") or {}).get("requests") or {}).get("storage"))


def check_update(cluster, kind, old, new):
    """Raise the API server's refusal of ``new`` replacing ``old`` (nothing for other kinds)."""
    if kind.kind != "PersistentVolumeClaim" or old is None:
        return
    before, after = _requested(old), _requested(new)
    if before is None or after is None or after == before:
        return
    name = new["metadata"]["name"]
    if after < before:
        raise errors.invalid(kind, name, [("spec.resources.requests.storage",
                                          "Forbidden: field can not be less than previous value")])
    if ((old.get("status") or {}).get("phase")) != "Bound":
        raise errors.forbidden(kind, name, "Only bound persistent volume claims can be expanded")
    class_name = (old.get("spec") or {}).get("storageClassName")
    storage_class = cluster.get(BY_KIND[("storage.k8s.io", "StorageClass")], None, class_name) if class_name else None
    if not storage_class or not storage_class.get("allowVolumeExpansion"):
        raise errors.forbidden(kind, name, NOT_RESIZABLE)
