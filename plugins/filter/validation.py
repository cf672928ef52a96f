# -*- coding: utf-8 -*-
# Copyright: keyless.aks_storage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the workload role's validation Jobs."""

from __future__ import annotations

import hashlib
import json
import re

JOB_PREFIX = "keyless-validate-"
# What the probe checks; bump it with every change of the Job's template (a Job's spec is immutable, so a changed
# probe must be a new Job). 2: the mount must be a fuse mount (/proc/self/mountinfo) before anything is written.
PROBE_REVISION = 2


def validation_job_name(workload, client_id, pvc_name):
    """A Job name that changes whenever what the Job proves changes (so a re-run re-validates only then).

    Job specs are immutable; naming the Job after a digest of the workload's settings (and of the probe's revision)
    lets an unchanged workload keep its finished Job (no-op re-run) while a changed one, or a new probe, gets a fresh
    Job.
    """
    digest = hashlib.sha256(json.dumps([workload, client_id, pvc_name, PROBE_REVISION], sort_keys=True,
                                       default=str).encode()).hexdigest()[:8]
    # Job names feed the pod label job-name, limited to 63 characters.
    base = str(workload.get("name", "workload")).lower()[:63 - len(JOB_PREFIX) - 9].rstrip("-")
    return "%s%s-%s" % (JOB_PREFIX, base, digest)


def object_key(obj):
    """ "namespace/name" of a manifest or a k8s_info resource."""
    meta = obj.get("metadata") or {}
    return "%s/%s" % (meta.get("namespace"), meta.get("name"))


def job_outcomes(jobs, expected):
    """Map "namespace/name" of each expected Job to complete, failed or running, from k8s_info resources."""
    by_key = {object_key(job): job for job in jobs or []}
    outcomes = {}
    for key in expected:
        job = by_key.get(key)
        state = "missing" if job is None else "running"
        for condition in ((job or {}).get("status") or {}).get("conditions") or []:
            if condition.get("status") == "True" and condition.get("type") in ("Complete", "Failed"):
                state = "complete" if condition["type"] == "Complete" else "failed"
        outcomes[key] = state
    return outcomes


# The version part of an image tag: v1.35.7, 1.35.7, v1.35.7-hotfix.1 (the driver's images are tagged v<semver>).
IMAGE_VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)(?:[-+].*)?$")
FILE_DRIVER_CONTAINER = "azurefile"


def _version(text):
    match = IMAGE_VERSION.match(str(text))
    return tuple(int(part) for part in match.groups()[:3]) if match else None


def image_version(image):
    """(major, minor, patch) of an image reference's tag, or None (no tag, a digest only, not a version)."""
    name = str(image or "").split("@", 1)[0]
    return _version(name.rsplit(":", 1)[1]) if ":" in name.rsplit("/", 1)[-1] else None


def file_driver_problem(daemonsets, minimum="1.35.0", name="csi-azurefile-node", namespace="kube-system"):
    """Why the installed Azure Files CSI driver cannot mount with a workload identity token alone, or None.

    ``daemonsets``: the k8s_info resources of its node DaemonSet (none when it is not installed). The version is the
    tag of the DaemonSet's ``azurefile`` container image: token-only SMB mounts exist from v1.35.0; an older driver
    given a clientID uses the token to list the account keys and mounts with a key.
    """
    where = "%s/%s" % (namespace, name)
    if not daemonsets:
        return ("the Azure Files CSI driver is not installed (no DaemonSet %s): run the role "
                "keyless.aks_storage.azurefile_csi_driver (site.yml --tags driver) before the workloads" % where)
    containers = (((daemonsets[0].get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []
    image = next((c.get("image") for c in containers if c.get("name") == FILE_DRIVER_CONTAINER), None)
    version, floor = image_version(image), _version(minimum)
    if version is None:
        return ("cannot tell the Azure Files CSI driver's version: DaemonSet %s has no %s container with a version "
                "tag (image %s); token-only SMB mounts need %s or newer" % (where, FILE_DRIVER_CONTAINER, image,
                                                                            minimum))
    if version < floor:
        return ("the Azure Files CSI driver %d.%d.%d (DaemonSet %s, image %s) is older than %s: before %s it cannot "
                "mount with a workload identity token alone (mountWithWorkloadIdentityToken) and would use the token "
                "to list the account keys, which a keyless account refuses; upgrade it with the role "
                "keyless.aks_storage.azurefile_csi_driver" % (version + (where, image, minimum, minimum)))
    return None


def object_keys(manifests, kind):
    """ "namespace/name" of every manifest of ``kind``."""
    return [object_key(m) for m in manifests or [] if m.get("kind") == kind]


def dynamic_claims(manifests):
    """ "namespace/name" of every rendered claim on a StorageClass (dynamically provisioned)."""
    return object_keys([m for m in manifests or [] if (m.get("spec") or {}).get("storageClassName")],
                       "PersistentVolumeClaim")


def unbound_claims(claims, expected):
    """The ``expected`` claims ("namespace/name") that are not Bound in the k8s_info ``claims``."""
    phases = {object_key(c): (c.get("status") or {}).get("phase") for c in claims or []}
    return [key for key in expected if phases.get(key) != "Bound"]


# What a claim's events say, most telling first: the driver's error, then "nobody is provisioning it".
CLAIM_REASONS = ("ProvisioningFailed", "FailedBinding", "ExternalProvisioning", "Provisioning")


def claim_problems(unbound, events):
    """One line per unbound claim with the latest message of its most telling event (see CLAIM_REASONS)."""
    lines = []
    for key in unbound:
        namespace, name = key.split("/", 1)
        mine = [e for e in events or [] if (e.get("involvedObject") or {}).get("kind") == "PersistentVolumeClaim"
                and (e.get("involvedObject") or {}).get("name") == name
                and (e.get("metadata") or {}).get("namespace") == namespace]
        told = next(([e for e in mine if e.get("reason") == reason] for reason in CLAIM_REASONS
                     if any(e.get("reason") == reason for e in mine)), [])
        latest = max(told, key=lambda e: (e.get("lastTimestamp") or e.get("eventTime") or "", e.get("count") or 0),
                     default=None)
        lines.append("claim %s is not bound%s" % (key, ": %s %s" % (latest.get("reason"), latest.get("message"))
                                                  if latest else " (no event)"))
    return lines


class FilterModule:
    def filters(self):
        return {"validation_job_name": validation_job_name, "job_outcomes": job_outcomes, "object_keys": object_keys,
                "dynamic_claims": dynamic_claims, "unbound_claims": unbound_claims, "claim_problems": claim_problems,
                "file_driver_problem": file_driver_problem}
