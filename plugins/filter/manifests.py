# -*- coding: utf-8 -*-
# Copyright: keyless.aks_storage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which rendered manifests the cluster does not already hold, so a re-run sends nothing for converged objects."""

from __future__ import annotations


def _contains(desired, live):
    """Whether ``live`` holds every value ``desired`` sets (dicts key by key, lists item by item, scalars equal)."""
    if isinstance(desired, dict):
        return isinstance(live, dict) and all(_contains(v, live.get(k)) for k, v in desired.items())
    if isinstance(desired, list):
        return (isinstance(live, list) and len(desired) == len(live)
                and all(_contains(d, item) for d, item in zip(desired, live)))
    return desired == live


def _key(obj):
    meta = obj.get("metadata") or {}
    return obj.get("kind"), meta.get("namespace") or "", meta.get("name")


def unconverged(manifests, live, skip=None):
    """The manifests missing from ``live`` (objects read from the cluster) or differing from their live copy.

    ``skip``: "namespace/name" keys of live objects to treat as missing (for example failed Jobs just deleted).
    Server-set fields (status, uid, defaults) are ignored: only what a manifest sets is compared.
    """
    gone = {("Job",) + tuple(key.split("/", 1)) for key in skip or []}
    by_key = {_key(obj): obj for obj in live or [] if _key(obj) not in gone}
    return [m for m in manifests or [] if not _contains(m, by_key.get(_key(m)))]


def keep_claim_sizes(manifests, live):
    """The manifests with each existing claim's requested storage as the cluster has it.

    A workload's ``volume.size`` is its PersistentVolume's capacity (informational for blob storage). A claim that is
    not dynamically provisioned cannot be resized (PersistentVolumeClaimResize admission answers 403), nor can one of
    the role's StorageClasses (allowVolumeExpansion false), so a changed size is applied to a static volume only and
    the claim keeps the size it was created with."""
    by_key = {_key(obj): obj for obj in live or []}
    kept = []
    for manifest in manifests or []:
        current = by_key.get(_key(manifest))
        spec = manifest.get("spec") or {}
        if manifest.get("kind") == "PersistentVolumeClaim" and current:
            requests = ((current.get("spec") or {}).get("resources") or {}).get("requests") or {}
            if requests.get("storage"):
                manifest = dict(manifest, spec=dict(spec, resources=dict(spec.get("resources") or {},
                                                                         requests=dict(requests))))
        kept.append(manifest)
    return kept


def replacements(manifests, live):
    """The static volumes whose immutable CSI source changed (a new identity client ID, account, container or share:
    blob and Azure Files volumes alike, by their volumeAttributes):
    ``[{pv, claim: "namespace/name", changed: [attribute, ...]}]``. Kubernetes refuses to update such a
    PersistentVolume (422), so it and its claim must be deleted and created again."""
    by_key = {_key(obj): obj for obj in live or []}
    claims = {(m.get("spec") or {}).get("volumeName"): "%s/%s" % (m["metadata"].get("namespace"), m["metadata"]["name"])
              for m in manifests or [] if m.get("kind") == "PersistentVolumeClaim"}
    found = []
    for pv in (m for m in manifests or [] if m.get("kind") == "PersistentVolume"):
        current = by_key.get(_key(pv))
        want, have = (pv.get("spec") or {}).get("csi") or {}, ((current or {}).get("spec") or {}).get("csi") or {}
        if current is None or _contains(want, have):
            continue
        attributes = set(want.get("volumeAttributes") or {}) | set(have.get("volumeAttributes") or {})
        changed = sorted(a for a in attributes if (want.get("volumeAttributes") or {}).get(a)
                         != (have.get("volumeAttributes") or {}).get(a))
        found.append({"pv": pv["metadata"]["name"], "claim": claims.get(pv["metadata"]["name"]),
                      "changed": changed or ["csi"]})
    return found


# A StorageClass's provisioner, parameters, reclaimPolicy and volumeBindingMode cannot be updated (the API server
# answers 422 "updates to parameters are forbidden", pkg/apis/storage/validation ValidateStorageClassUpdate).
CLASS_IMMUTABLE = ("provisioner", "parameters", "reclaimPolicy", "volumeBindingMode")


def class_conflicts(manifests, live):
    """The role's StorageClasses the cluster holds with other immutable fields: ["<name>: <field>, ..."]."""
    by_key = {_key(obj): obj for obj in live or []}
    found = []
    for sc in (m for m in manifests or [] if m.get("kind") == "StorageClass"):
        current = by_key.get(_key(sc))
        changed = [f for f in CLASS_IMMUTABLE if current is not None and f in sc and sc[f] != current.get(f)]
        if changed:
            found.append("%s: %s" % (sc["metadata"]["name"], ", ".join(changed)))
    return found


def claim_volumes(volumes, claims):
    """The PersistentVolumes (k8s_info resources) whose claimRef names one of ``claims`` ("namespace/name")."""
    return [pv for pv in volumes or [] if "%s/%s" % (((pv.get("spec") or {}).get("claimRef") or {}).get("namespace"),
                                                     ((pv.get("spec") or {}).get("claimRef") or {}).get("name"))
            in (claims or [])]


VALIDATION_LABEL = "keyless.aks-storage/validation"


def _holders(pods, claims):
    """``(claim, pod)`` for every scheduled pod that mounts one of ``claims`` ("namespace/name"), whatever its phase:
    the pvc-protection controller keeps a deleted claim until every such pod is deleted, completed ones included."""
    for pod in pods or []:
        spec, meta = pod.get("spec") or {}, pod.get("metadata") or {}
        if not spec.get("nodeName"):
            continue
        for volume in spec.get("volumes") or []:
            key = "%s/%s" % (meta.get("namespace"), (volume.get("persistentVolumeClaim") or {}).get("claimName"))
            if key in (claims or []):
                yield key, pod


def _validation_job(pod):
    """``namespace/job`` when ``pod`` belongs to one of this role's validation Jobs, else None."""
    meta = pod.get("metadata") or {}
    if (meta.get("labels") or {}).get(VALIDATION_LABEL) != "true":
        return None
    owner = next((r for r in meta.get("ownerReferences") or [] if r.get("kind") == "Job"), None)
    return "%s/%s" % (meta.get("namespace"), owner["name"]) if owner else None


def claim_users(pods, claims):
    """``{"namespace/claim": [pod, ...]}``: the pods, other than this role's validation Jobs' pods, that hold a claim
    (running or completed: either keeps a deleted claim in Terminating)."""
    users = {}
    for claim, pod in _holders(pods, claims):
        if _validation_job(pod) is None:
            users.setdefault(claim, []).append(pod["metadata"].get("name"))
    return users


def claim_jobs(pods, claims):
    """``["namespace/job", ...]``: this role's validation Jobs whose pods hold one of the claims; they are deleted,
    with their pods, before the claims."""
    return sorted({job for job in (_validation_job(pod) for _claim, pod in _holders(pods, claims)) if job})


def without(live, replaced, jobs=None):
    """``live`` minus the volumes and claims of ``replaced`` and the Jobs ``jobs`` ("namespace/name"): they are
    deleted, so they count as missing."""
    gone = {("PersistentVolume", "", r["pv"]) for r in replaced or []}
    gone |= {("PersistentVolumeClaim",) + tuple(r["claim"].split("/", 1)) for r in replaced or [] if r["claim"]}
    gone |= {("Job",) + tuple(job.split("/", 1)) for job in jobs or []}
    return [obj for obj in live or [] if _key(obj) not in gone]


class FilterModule:
    def filters(self):
        return {"unconverged": unconverged, "volume_replacements": replacements, "claim_users": claim_users,
                "claim_jobs": claim_jobs, "class_conflicts": class_conflicts, "claim_volumes": claim_volumes,
                "without_replaced": without, "keep_claim_sizes": keep_claim_sizes}
