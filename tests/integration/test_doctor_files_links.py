"""playbooks/doctor.yml on the converged chain with its Azure Files workload (share docs, SMB OAuth, the open-source
Files driver): every link ok within a counted read budget (the blob workloads' reads unchanged), then each Files
breakage made behind the collection's back is exactly its link failing, with a fix that, applied, heals it."""

import json

import pytest
import yaml

from .doctor_chain import ACCOUNT, FILE_NAMESPACE, FILE_SHARE, FILE_WORKLOAD, REPO, STORAGE_RG
from .playbook import run_playbook
from .test_doctor_azure_links import assert_exactly, assert_green, assert_read_only
from .test_doctor_cluster_links import fix_patch

pytestmark = pytest.mark.long_running  # minutes of playbooks: scheduled first

FILE_DRIVER = "file.csi.azure.com"
# cluster, issuer, workload identity, managed blob and Files drivers, Azure RBAC, API server, then per driver
# version, CSIDriver and node pods
CLUSTER_LINKS = 7 + 2 * 3
BLOB_LINKS, FILE_LINKS = 14, 15  # a Files workload: smb_oauth and share instead of container
# the dynamically provisioned blob workload (scratch): storage_class and provisioner_role, and 2 cluster links
DYNAMIC_LINKS = BLOB_LINKS + 2 + 2
FILE_PV = "pv-%s-%s" % (FILE_NAMESPACE, FILE_WORKLOAD)
FILE_PVC = FILE_WORKLOAD + "-file"


def blob_only_vars(chain):
    """Extra vars that give doctor.yml only the inventory's blob workloads."""
    inventory = yaml.safe_load((REPO / "inventories/sandbox/group_vars/aks_clusters.yml").read_text())
    blobs = [w for w in inventory["keyless_workloads"] if w.get("type", "blob") == "blob"]
    path = chain.tmp_path / "blob-only.json"
    path.write_text(json.dumps({"keyless_workloads": blobs}))
    return "@%s" % path


def test_a_healthy_chain_with_a_files_workload_is_all_ok_within_a_bounded_read_budget(chain):
    found = chain.doctor()
    assert found.rc == 0, found
    assert [i["status"] for i in found.links] == ["ok"] * (CLUSTER_LINKS + 2 * BLOB_LINKS + FILE_LINKS
                                                           + DYNAMIC_LINKS), found
    assert_read_only(found)
    files = {i["link"]: i for i in found.links if i["workload"] == FILE_WORKLOAD}
    assert list(files)[:4] == ["storage_account", "shared_key", "smb_oauth", "share"], list(files)
    assert "container" not in files
    assert files["role_assignment"]["evidence"]["scope"].endswith("/storageAccounts/" + ACCOUNT)
    assert files["persistent_volume"]["summary"].startswith("token-only SMB volume on %s/%s as client "
                                                            % (ACCOUNT, FILE_SHARE))
    assert files["probe_data"]["summary"].startswith("validation Job ") and \
        "mounted the share and its probe passed" in files["probe_data"]["summary"]
    cluster = [i["link"] for i in found.links if i["workload"] is None]
    for name in ("managed_file_driver", "file_driver_version", "file_csi_driver", "file_driver_nodes"):
        assert name in cluster, cluster
    # The Files workload adds: ARM share, identity, credentials, role assignments, the SMB MI Admin definition
    # (the account is the blob workloads', cached); Kubernetes the Files CSIDriver and DaemonSet, its
    # ServiceAccount, claim, volume, pods, events and validation Jobs. No data-plane request: SMB is not probed.
    c = found.counters
    # (the dynamic workload's 6 ARM and 8 Kubernetes reads, TokenRequest and blob listing are in both figures)
    assert (c["reads"], c["kubernetes"]["reads"], c["kubernetes"]["token_requests"]) == (18 + 5, 21 + 8, 4), c
    assert found.result["reads"] == {"azure": 23, "kubernetes": 29, "token_requests": 4, "entra": 4,
                                     "data_plane": 3}, found.result["reads"]
    assert c["storage_data"]["by_operation"] == {"ListBlobs": 3}, c

    # The blob workloads alone, on the same cluster with the Files driver installed: their budget as before.
    blobs = chain.doctor("-e", blob_only_vars(chain))
    assert blobs.rc == 0, blobs
    assert len(blobs.links) == 9 + 2 * BLOB_LINKS + DYNAMIC_LINKS and not [
        i for i in blobs.links if "file" in i["link"]], blobs
    assert blobs.result["reads"] == {"azure": 18, "kubernetes": 21, "token_requests": 3, "entra": 3,
                                     "data_plane": 3}, blobs.result["reads"]


def test_one_files_claim_named_on_the_command_line_is_diagnosed_from_its_volume(chain):
    found = chain.doctor("-e", "doctor_namespace=%s" % FILE_NAMESPACE, "-e", "doctor_pvc=%s" % FILE_PVC)
    assert found.rc == 0, found
    links = [i for i in found.links if i["workload"]]
    assert {i["workload"] for i in links} == {FILE_PVC} and len(links) == FILE_LINKS, found
    assert all(i["status"] == "ok" for i in found.links), found
    assert found.find(FILE_PVC, "share")["summary"] == "file share %s exists (SMB)" % FILE_SHARE
    assert found.find(FILE_PVC, "identity")["summary"].startswith("identity id-docs ")
    assert found.find(FILE_PVC, "role_assignment")["evidence"]["needed"] == [
        "Microsoft.Storage/storageAccounts/fileServices/runAsBuiltInFileAdministrator/action",
        "Microsoft.Storage/storageAccounts/fileServices/fileshares/files/read",
        "Microsoft.Storage/storageAccounts/fileServices/fileshares/files/write"]
    # only the Files driver's links: the claim mounts no blob
    assert "csi_driver" not in [i["link"] for i in found.links] and found.counters["writes"] == 0


def smb_oauth_off(c):
    c.sandbox.merge_resource(c.account_id(), {"properties": {"azureFilesIdentityBasedAuthentication": {
        "directoryServiceOptions": "None", "smbOAuthSettings": {"isSmbOAuthEnabled": False}}}})


def share_role_instead_of_account_role(c):
    c.remove_file_roles()
    c.grant_file_role("Storage File Data SMB Share Contributor", c.share_scope())


def install_old_file_driver(c):
    helm = {"kubeconfig": str(c.workdir / "kubeconfig"), "binary_path": c.sandbox.conn["helm_binary"],
            "release_name": "azurefile-csi-driver", "release_namespace": "kube-system",
            "chart_ref": "azurefile-csi-driver",
            "chart_repo_url": "https://raw.githubusercontent.com/kubernetes-sigs/azurefile-csi-driver/master/charts",
            "chart_version": "1.34.8", "release_values": {"node": {"enableManagedIdentityAuth": True},
                                                          "controller": {"replicas": 2}}}
    run = run_playbook(c.tmp_path, [{"name": "an older release, as another tool installed it",
                                     "kubernetes.core.helm": helm}], dict(c.sandbox.env(), TMPDIR=str(c.tmp_path)))
    assert run.rc == 0, run


SITE, CSIDRIVER_PATCH = "site", "csidriver"
# (id, break(chain), workload, link, phrases in summary or fix, how the fix is applied)
BREAKAGES = [
    ("smb_oauth_off", smb_oauth_off, FILE_WORKLOAD, "smb_oauth",
     ["SMB OAuth is off on account %s" % ACCOUNT, "--enable-smb-oauth true"], SITE),
    ("share_missing", lambda c: c.storage.file_shares.delete(STORAGE_RG, ACCOUNT, FILE_SHARE), FILE_WORKLOAD,
     "share", ["file share docs does not exist in %s" % ACCOUNT, "site.yml --tags storage"], SITE),
    ("smb_share_contributor_at_the_share", share_role_instead_of_account_role, FILE_WORKLOAD, "role_assignment",
     ["no role assignment at the account or above", "Storage File Data SMB Share Contributor at",
      "do not cover this account", '--role "Storage File Data SMB MI Admin"', "not sufficient"], SITE),
    ("managed_files_driver_on", lambda c: c.sandbox.merge_resource(c.cluster_id(), {"properties": {
        "storageProfile": {"fileCSIDriver": {"enabled": True}}}}), None, "managed_file_driver",
     ["the AKS-managed Azure Files driver is on", "--disable-file-driver"], SITE),
    ("csidriver_without_republish", lambda c: c.storage_k8s.patch_csi_driver(FILE_DRIVER, {"spec": {
        "requiresRepublish": False}}), None, "file_csi_driver", ["requiresRepublish is False"], CSIDRIVER_PATCH),
    ("driver_1_34", install_old_file_driver, None, "file_driver_version",
     ["driver 1.34.8 is below 1.35.0", "azurefile_csi_driver_chart_version"], SITE),
    ("volume_without_token_flag", lambda c: c.recreate_volume(FILE_NAMESPACE, FILE_PVC, FILE_PV, {
        "mountWithWorkloadIdentityToken": None}), FILE_WORKLOAD, "persistent_volume",
     ["mountWithWorkloadIdentityToken is None, not \"true\" (key mode)"], SITE),
    ("credential_subject_mismatch", lambda c: c.set_file_credential(
        subject="system:serviceaccount:docs:default"), FILE_WORKLOAD, "federated_credential",
     ["subject system:serviceaccount:docs:default is not system:serviceaccount:docs:docs-writer"], SITE),
]


@pytest.mark.parametrize("name,breakage,workload,link,phrases,fix_kind", BREAKAGES, ids=[b[0] for b in BREAKAGES])
def test_files_breakage_is_diagnosed_as_exactly_that_link_and_its_fix_heals_it(chain, name, breakage, workload,
                                                                               link, phrases, fix_kind):
    breakage(chain)
    found = assert_exactly(chain.doctor(), workload, link, *phrases)
    assert found["evidence"], found
    if fix_kind == SITE:
        chain.apply_site_fix(found["fix"])
    else:
        chain.storage_k8s.patch_csi_driver(FILE_DRIVER, fix_patch(found["fix"]))
    healed = chain.doctor()
    assert_green(healed)
    assert healed.find(FILE_WORKLOAD, "probe_data")["status"] == "ok", healed
