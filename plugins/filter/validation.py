# -*- coding: utf-8 -*-
# Copyright: keyless.aks_storage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the workload role's validation Jobs."""

from __future__ import annotations

import hashlib
import json

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


def job_outcomes(jobs, expected):
    """Map "namespace/name" of each expected Job to complete, failed or running, from k8s_info resources."""
    by_key = {}
    for job in jobs or []:
        meta = job.get("metadata") or {}
        by_key["%s/%s" % (meta.get("namespace"), meta.get("name"))] = job
    outcomes = {}
    for key in expected:
        job = by_key.get(key)
        state = "missing" if job is None else "running"
        for condition in ((job or {}).get("status") or {}).get("conditions") or []:
            if condition.get("status") == "True" and condition.get("type") in ("Complete", "Failed"):
                state = "complete" if condition["type"] == "Complete" else "failed"
        outcomes[key] = state
    return outcomes


def object_keys(manifests, kind):
    """ "namespace/name" of every manifest of ``kind``."""
    return ["%s/%s" % (m["metadata"].get("namespace"), m["metadata"]["name"])
            for m in manifests or [] if m.get("kind") == kind]


class FilterModule:
    def filters(self):
        return {"validation_job_name": validation_job_name, "job_outcomes": job_outcomes, "object_keys": object_keys}
