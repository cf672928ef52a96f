"""The workload role's manifests: rendered by the role itself, checked against the real Kubernetes schemas."""

import json

import kubernetes_validate
import pytest

from .playbook import run_playbook

CLIENT_IDS = {"id-reports": "11111111-1111-1111-1111-111111111111", "id-archive": "22222222-2222-2222-2222-222222222222"}
WORKLOADS = [
    {"name": "reports", "namespace": "reports", "service_account": "reports-writer", "storage_account": "stkeyless",
     "resource_group": "rg-keyless", "container": "reports", "access": "readwrite", "identity": {"name": "id-reports"}},
    {"name": "archive", "namespace": "archive", "service_account": "archive-reader", "storage_account": "stkeyless",
     "resource_group": "rg-keyless", "container": "archive", "access": "read",
     "identity": {"name": "id-archive", "client_id": CLIENT_IDS["id-archive"], "tenant_id": "33333333-3333-3333-3333-333333333333"},
     "volume": {"pv_name": "pv-archive", "pvc_name": "archive-data", "size": "5Gi", "mount_options": ["-o ro"]}},
    {"name": "dynamic", "namespace": "dyn", "service_account": "dyn", "storage_account": "stkeyless",
     "resource_group": "rg-keyless", "container": "dyn", "identity": {"name": "id-reports"},
     "storage_class": {"name": "blob-keyless"}, "validate": False},
]


def render(tmp_path, workloads, **extra):
    out = tmp_path / "manifests.json"
    tasks = [
        {"name": "render", "ansible.builtin.include_role": {"name": "keyless.aks_storage.workload", "tasks_from": "render"},
         "vars": dict({"keyless_workloads": workloads, "workload_identity_client_ids": CLIENT_IDS}, **extra)},
        {"name": "dump", "ansible.builtin.copy": {"content": "{{ workload_manifests | to_json }}", "dest": str(out),
                                                  "mode": "0600"}},
    ]
    run = run_playbook(tmp_path, tasks)
    return run, (json.loads(out.read_text()) if out.exists() else None)


def test_manifests_pass_strict_schema_validation_and_are_token_only(tmp_path):
    run, manifests = render(tmp_path, WORKLOADS)
    assert run.rc == 0, run
    kinds = [m["kind"] for m in manifests]
    assert kinds.count("Job") == 2 and kinds.count("PersistentVolume") == 2 and kinds.count("StorageClass") == 1
    for manifest in manifests:
        kubernetes_validate.validate(manifest, "1.33", strict=True)

    by = {(m["kind"], m["metadata"]["name"]): m for m in manifests}
    pv = by[("PersistentVolume", "pv-reports-reports")]["spec"]
    assert pv["csi"]["driver"] == "blob.csi.azure.com"
    assert pv["csi"]["volumeAttributes"] == {
        "storageaccount": "stkeyless", "containerName": "reports", "resourcegroup": "rg-keyless",
        "clientID": CLIENT_IDS["id-reports"], "mountWithWorkloadIdentityToken": "true", "protocol": "fuse"}
    assert "nodeStageSecretRef" not in pv["csi"] and "nodePublishSecretRef" not in pv["csi"]
    assert "#" not in pv["csi"]["volumeHandle"] and "/" not in pv["csi"]["volumeHandle"]
    assert pv["accessModes"] == ["ReadWriteMany"]
    archive = by[("PersistentVolume", "pv-archive")]["spec"]
    assert archive["accessModes"] == ["ReadOnlyMany"] and archive["csi"]["readOnly"] is True
    assert archive["csi"]["volumeAttributes"]["tenantID"].startswith("3333")
    assert by[("PersistentVolumeClaim", "archive-data")]["spec"]["volumeName"] == "pv-archive"
    sa = by[("ServiceAccount", "reports-writer")]
    assert sa["metadata"]["annotations"]["azure.workload.identity/client-id"] == CLIENT_IDS["id-reports"]
    sc = by[("StorageClass", "blob-keyless")]
    assert sc["parameters"]["mountWithWorkloadIdentityToken"] == "true" and sc["provisioner"] == "blob.csi.azure.com"
    jobs = [m for m in manifests if m["kind"] == "Job"]
    for job in jobs:
        pod = job["spec"]["template"]
        assert pod["metadata"]["labels"]["azure.workload.identity/use"] == "true"
        assert len(job["metadata"]["name"]) <= 63
    assert {j["spec"]["template"]["spec"]["serviceAccountName"] for j in jobs} == {"reports-writer", "archive-reader"}
    assert not any(m["kind"] == "Secret" for m in manifests)


def test_job_name_changes_only_with_the_workload(tmp_path):
    _run, first = render(tmp_path, WORKLOADS[:1])
    _run, again = render(tmp_path, WORKLOADS[:1])
    _run, other = render(tmp_path, [dict(WORKLOADS[0], container="elsewhere")])
    name = [m["metadata"]["name"] for m in first if m["kind"] == "Job"]
    assert name == [m["metadata"]["name"] for m in again if m["kind"] == "Job"]
    assert name != [m["metadata"]["name"] for m in other if m["kind"] == "Job"]


@pytest.mark.parametrize("change,message", [
    ({"type": "file"}, "Azure Files) has no keyless path"),
    ({"protocol": "nfs"}, "protocol nfs is refused"),
    ({"identity": {"name": "id-unknown"}}, "no client ID for identity id-unknown"),
])
def test_guardrails_refuse_before_anything_is_written(tmp_path, change, message):
    run, manifests = render(tmp_path, [dict(WORKLOADS[0], **change)])
    assert run.rc != 0 and manifests is None
    assert message in run.failure_messages, run


def test_argument_spec_rejects_unknown_access(tmp_path):
    run, _manifests = render(tmp_path, [dict(WORKLOADS[0], access="everything")])
    assert run.rc != 0
    assert "access" in run.failure_messages and "everything" in run.failure_messages
