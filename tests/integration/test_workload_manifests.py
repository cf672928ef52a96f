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
    ({"type": "file"}, "share is required for type file"),
    ({"share": "docs"}, "share is for type file; a type blob workload mounts its container"),
    ({"protocol": "nfs"}, "protocol nfs is refused"),
    ({"identity": {"name": "id-unknown"}}, "no client ID for identity id-unknown"),
])
def test_guardrails_refuse_before_anything_is_written(tmp_path, change, message):
    run, manifests = render(tmp_path, [dict(WORKLOADS[0], **change)])
    assert run.rc != 0 and manifests is None
    assert message in run.failure_messages, run


FILE_WORKLOAD = {"name": "shared-docs", "namespace": "docs", "service_account": "docs-writer", "type": "file",
                 "storage_account": "stkeyless", "resource_group": "rg-keyless", "share": "docs", "access": "readwrite",
                 "identity": {"name": "id-reports"}}


def test_file_workload_renders_a_token_only_smb_volume_and_its_cifs_probe(tmp_path):
    reader = dict(FILE_WORKLOAD, name="docs-reader", service_account="docs-reader", access="read",
                  identity={"name": "id-archive", "tenant_id": "33333333-3333-3333-3333-333333333333"})
    run, manifests = render(tmp_path, [WORKLOADS[0], FILE_WORKLOAD, reader], workload_subscription_id="sub-1")
    assert run.rc == 0, run
    for manifest in manifests:
        kubernetes_validate.validate(manifest, "1.33", strict=True)
    by = {(m["kind"], m["metadata"]["name"]): m for m in manifests}
    pv = by[("PersistentVolume", "pv-docs-shared-docs")]["spec"]
    assert pv["csi"]["driver"] == "file.csi.azure.com" and pv["persistentVolumeReclaimPolicy"] == "Retain"
    assert pv["csi"]["volumeHandle"] == "rg-keyless#stkeyless#docs#pv-docs-shared-docs"
    assert pv["csi"]["volumeAttributes"] == {
        "resourcegroup": "rg-keyless", "storageaccount": "stkeyless", "shareName": "docs",
        "clientID": CLIENT_IDS["id-reports"], "mountWithWorkloadIdentityToken": "true", "subscriptionID": "sub-1"}
    assert pv["mountOptions"] == ["dir_mode=0777", "file_mode=0777", "mfsymlinks", "cache=strict", "nosharesock",
                                  "actimeo=30", "nobrl"]
    assert "nodeStageSecretRef" not in pv["csi"] and "nodePublishSecretRef" not in pv["csi"]
    read_pv = by[("PersistentVolume", "pv-docs-docs-reader")]["spec"]
    assert read_pv["csi"]["readOnly"] is True and read_pv["accessModes"] == ["ReadOnlyMany"]
    assert read_pv["csi"]["volumeAttributes"]["tenantID"].startswith("3333")
    assert by[("PersistentVolumeClaim", "shared-docs-file")]["spec"]["volumeName"] == "pv-docs-shared-docs"
    blob_pv = by[("PersistentVolume", "pv-reports-reports")]["spec"]
    assert blob_pv["csi"]["driver"] == "blob.csi.azure.com" and blob_pv["csi"]["volumeAttributes"]["subscriptionid"]
    jobs = {m["spec"]["template"]["spec"]["serviceAccountName"]: m["spec"]["template"]["spec"]
            for m in manifests if m["kind"] == "Job"}
    writer, probe = jobs["docs-writer"], jobs["docs-writer"]["containers"][0]
    assert probe["volumeMounts"][0]["mountPath"] == "/mnt/share" and probe["volumeMounts"][0]["name"] == "share"
    claim = {"claimName": "shared-docs-file", "readOnly": False}
    assert writer["volumes"][0] == {"name": "share", "persistentVolumeClaim": claim}
    script = probe["command"][2]
    assert script.startswith("grep -q ' /mnt/share .* - cifs' /proc/self/mountinfo || { echo \"not an Azure Files "
                             "mount: the CSIDriver file.csi.azure.com has no tokenRequests"), script
    assert "echo keyless-probe > $f" in script and "f=/mnt/share/keyless-probe-" in script
    assert "ls -la /mnt/share" in jobs["docs-reader"]["containers"][0]["command"][2]
    assert jobs["reports-writer"]["containers"][0]["volumeMounts"][0]["mountPath"] == "/mnt/blob"


@pytest.mark.parametrize("change,message", [
    ({"protocol": "nfs"}, "protocol nfs is refused - NFS mounts carry no credentials"),
    ({"protocol": "fuse2"}, "protocol fuse2 does not apply to type file; use one of smb"),
    ({"storage_class": {"name": "files-keyless"}}, "storage_class with type file is refused"),
    ({"share": "Docs_1"}, "share 'Docs_1' is not a valid file share name"),
    ({"container": "docs"}, "container is for type blob; a type file workload mounts its share"),
    ({"volume": {"mount_options": ["vers=2.1"]}}, "volume.mount_options vers=2.1 is refused: SMB below 3.0"),
    ({"volume": {"mount_options": ["sec=ntlmssp"]}}, "volume.mount_options sec=ntlmssp is refused"),
    ({"volume": {"mount_options": ["uid=0,username=admin"]}}, "volume.mount_options username=admin is refused"),
    ({"volume": {"mount_options": ["password=x"]}}, "volume.mount_options password=x is refused"),
    ({"volume": {"mount_options": ["credentials=/etc/smb"]}}, "volume.mount_options credentials=/etc/smb is refused"),
    ({"volume": {"mount_options": ["domain=corp"]}}, "volume.mount_options domain=corp is refused"),
])
def test_file_guardrails_refuse_before_anything_is_written(tmp_path, change, message):
    run, manifests = render(tmp_path, [dict(FILE_WORKLOAD, **change)])
    assert run.rc != 0 and manifests is None
    assert "keyless_workloads[0] (docs/shared-docs): " + message in run.failure_messages, run


def test_file_mount_options_that_keep_encryption_are_accepted(tmp_path):
    options = ["vers=3.1.1", "dir_mode=0755", "file_mode=0644", "uid=1000", "gid=1000", "mfsymlinks"]
    run, manifests = render(tmp_path, [dict(FILE_WORKLOAD, volume={"mount_options": options, "size": "5Gi"})])
    assert run.rc == 0, run
    pv = next(m for m in manifests if m["kind"] == "PersistentVolume")
    assert pv["spec"]["mountOptions"] == options and pv["spec"]["capacity"]["storage"] == "5Gi"


def test_argument_spec_rejects_unknown_access(tmp_path):
    run, _manifests = render(tmp_path, [dict(WORKLOADS[0], access="everything")])
    assert run.rc != 0
    assert "access" in run.failure_messages and "everything" in run.failure_messages


K8S_NAME_CASES = [
    ({"namespace": "Reports"}, "namespace 'Reports' is not a valid DNS-1123 label name"),
    ({"namespace": "my_ns"}, "namespace 'my_ns' is not a valid DNS-1123 label name"),
    ({"namespace": "n" * 64}, "is not a valid DNS-1123 label name: use at most 63"),
    ({"service_account": "SA!"}, "service_account 'SA!' is not a valid DNS-1123 subdomain name"),
    ({"name": "Reports_1"}, "name 'Reports_1' is not a valid DNS-1123 label name"),
    ({"container": "Bad_Container"}, "container 'Bad_Container' is not a valid container name"),
    ({"volume": {"size": "1024Mi"}}, "volume.size '1024Mi' is written by Kubernetes as '1Gi'; use '1Gi'"),
    ({"volume": {"size": "0.5Gi"}}, "volume.size '0.5Gi' is not a size like 10Gi"),
    ({"volume": {"pvc_name": "PVC"}}, "volume.pvc_name 'PVC' is not a valid DNS-1123 subdomain name"),
    ({"identity": {"name": "id-reports", "client_id": "not-a-guid"}}, "identity.client_id 'not-a-guid' must be a GUID"),
    ({"identity": {"name": "id-reports", "tenant_id": "contoso"}}, "identity.tenant_id 'contoso' must be a GUID"),
]


@pytest.mark.parametrize("change,message", K8S_NAME_CASES, ids=[m.split(" is ")[0] for _c, m in K8S_NAME_CASES])
def test_kubernetes_names_and_sizes_are_refused_before_anything_is_written(tmp_path, change, message):
    run, manifests = render(tmp_path, [dict(WORKLOADS[0], **change)])
    assert run.rc != 0 and manifests is None
    assert "keyless_workloads[0] (" in run.failure_messages and message in run.failure_messages, run


def test_names_yaml_would_coerce_stay_strings(tmp_path):
    """A namespace "2024", a service account "007", a container "null" and a claim "yes" are valid Kubernetes names;
    they must reach the API as strings, not as a number, null or a boolean."""
    workload = dict(WORKLOADS[0], name="2024", namespace="2024", service_account="007", container="null",
                    volume={"pvc_name": "yes", "pv_name": "true", "size": "10Gi"})
    run, manifests = render(tmp_path, [workload])
    assert run.rc == 0, run
    by_kind = {m["kind"]: m for m in manifests}
    assert by_kind["Namespace"]["metadata"]["name"] == "2024"
    assert by_kind["ServiceAccount"]["metadata"] == dict(by_kind["ServiceAccount"]["metadata"], name="007",
                                                         namespace="2024")
    assert by_kind["PersistentVolumeClaim"]["metadata"]["name"] == "yes"
    assert by_kind["PersistentVolumeClaim"]["spec"]["volumeName"] == "true"
    assert by_kind["PersistentVolume"]["spec"]["csi"]["volumeAttributes"]["containerName"] == "null"
    assert by_kind["Job"]["spec"]["template"]["spec"]["serviceAccountName"] == "007"
    for manifest in manifests:
        kubernetes_validate.validate(manifest, "1.33", strict=True)
