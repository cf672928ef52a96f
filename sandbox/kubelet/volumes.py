"""The Azure storage volumes a pod mounts (drivers blob.csi.azure.com and file.csi.azure.com): claims resolved to
their PersistentVolumes, and inline CSI volumes.

A claim that is missing, being deleted, unbound or bound to a missing volume keeps the pod unschedulable
(`Unschedulable`), whatever its driver, like the scheduler's VolumeBinding plugin. Call with the store lock held.
"""

from dataclasses import dataclass

from ..k8s import kinds
from . import messages

PV, PVC = kinds.BY_KEY["/persistentvolumes"], kinds.BY_KEY["/persistentvolumeclaims"]


class Unschedulable(Exception):
    """The pod cannot be scheduled yet: the Job stays active with a FailedScheduling event."""


DRIVERS = (messages.BLOB_DRIVER, messages.FILE_DRIVER)


@dataclass
class CsiVolume:
    name: str                   # the PV name (inline: the pod volume name), as the kubelet names it
    attributes: dict            # volumeAttributes with lower-case keys (the drivers read them case-insensitively)
    pod_volume: str = ""        # the pod's volume name (what volumeMounts refer to)
    volume_handle: str = ""
    writable: bool = True
    inline: bool = False
    driver: str = messages.BLOB_DRIVER
    mount_options: tuple = ()   # the PV's spec.mountOptions (inline: the `mountOptions` attribute), split at ","


def csi_volumes(cluster, pod, nodes: int) -> list:
    spec = pod.get("spec") or {}
    namespace = pod["metadata"]["namespace"]
    found = []
    for volume in spec.get("volumes") or []:
        claim_ref = volume.get("persistentVolumeClaim")
        if claim_ref:
            pv = _bound_volume(cluster, namespace, claim_ref.get("claimName", ""), nodes)
            csi = (pv.get("spec") or {}).get("csi") or {}
            read_only = bool(csi.get("readOnly")) or bool(claim_ref.get("readOnly"))
            name, options = pv["metadata"]["name"], list((pv.get("spec") or {}).get("mountOptions") or [])
        elif (volume.get("csi") or {}).get("driver"):
            csi, name = volume["csi"], volume.get("name", "")
            read_only = bool(csi.get("readOnly"))
            options = [(csi.get("volumeAttributes") or {}).get("mountOptions") or ""]
        else:
            continue
        if csi.get("driver") not in DRIVERS:
            continue
        writable = not read_only and _mounted_writable(spec, volume.get("name"))
        found.append(CsiVolume(name=name, attributes={k.lower(): str(v) for k, v in
                                                      (csi.get("volumeAttributes") or {}).items()},
                               pod_volume=volume.get("name", ""), volume_handle=csi.get("volumeHandle", ""),
                               writable=writable, inline=not claim_ref, driver=csi["driver"],
                               mount_options=_split_options(options)))
    return found


def _split_options(options) -> tuple:
    """mount(8) style: each entry may itself hold several comma-separated options."""
    return tuple(o.strip() for entry in options for o in str(entry).split(",") if o.strip())


def _bound_volume(cluster, namespace, claim, nodes) -> dict:
    pvc = cluster.get(PVC, namespace, claim)
    if pvc is None:
        raise Unschedulable(messages.scheduling(nodes, messages.claim_not_found(claim)))
    if pvc["metadata"].get("deletionTimestamp"):   # kube-scheduler VolumeBinding refuses a claim in deletion
        raise Unschedulable(messages.scheduling(nodes, messages.claim_being_deleted(claim)))
    if (pvc.get("status") or {}).get("phase") != "Bound":
        raise Unschedulable(messages.scheduling(nodes, messages.UNBOUND_CLAIM))
    pv = cluster.get(PV, "", (pvc.get("spec") or {}).get("volumeName") or "")
    if pv is None:
        raise Unschedulable(messages.scheduling(nodes, messages.pv_missing(nodes)))
    return pv


def _mounted_writable(pod_spec, volume_name) -> bool:
    """Read-write when some container mounts the volume without readOnly."""
    for container in (pod_spec.get("containers") or []) + (pod_spec.get("initContainers") or []):
        for mount in container.get("volumeMounts") or []:
            if mount.get("name") == volume_name and not mount.get("readOnly"):
                return True
    return False
