"""A type file (Azure Files) workload beside the blob ones, through the real site.yml (inventories/sandbox): converged,
re-run without a write, drift repaired, and every broken link of the token-only SMB chain failing with its own words.

One chain per worker, converged once (conftest `doctor_converged`) and restored before each test (`chain`).
"""

import json

import pytest
import yaml

from . import doctor_chain, sdk
from .doctor_chain import ACCOUNT, CLUSTER_RG, FILE_IDENTITY, FILE_NAMESPACE, FILE_ROLES, FILE_SHARE, HOST, STORAGE_RG
from .playbook import run_playbook

pytestmark = pytest.mark.long_running  # minutes of playbooks: scheduled first

FILE_PV, FILE_CLAIM = "pv-docs-shared-docs", "shared-docs-file"
SMB_MI_ADMIN = FILE_ROLES["Storage File Data SMB MI Admin"]
UPSTREAM_CHARTS = "https://raw.githubusercontent.com/kubernetes-sigs/azurefile-csi-driver/master/charts"


def site(chain, *extra):
    before = chain.sandbox.counters()
    run = doctor_chain.playbook(chain.sandbox, chain.workdir, "site.yml", *extra)
    return run, chain.sandbox.counters_delta(before)


def said(run):
    """The run's output, its line wrapping undone (failure messages are folded)."""
    return " ".join(run.stdout.split())


def files_jobs(chain):
    return chain.batch.list_namespaced_job(FILE_NAMESPACE).items


def revalidate(chain):
    """Delete the Files validation Job (and its pod) behind the collection's back, so the next run makes a new one."""
    chain.free_claim(FILE_NAMESPACE, FILE_CLAIM)
    assert files_jobs(chain) == []


def smb_oauth(chain, enabled=None):
    """SMB OAuth of the account; with ``enabled``, set it through the SDK first (drift behind the chain's back)."""
    if enabled is not None:
        from azure.mgmt.storage import models
        chain.storage.storage_accounts.update(STORAGE_RG, ACCOUNT, models.StorageAccountUpdateParameters(
            azure_files_identity_based_authentication=models.AzureFilesIdentityBasedAuthentication(
                directory_service_options="None",
                smb_o_auth_settings=models.SmbOAuthSettings(is_smb_o_auth_enabled=enabled))))
    auth = chain.storage.storage_accounts.get_properties(STORAGE_RG, ACCOUNT).azure_files_identity_based_authentication
    return bool(auth and auth.smb_o_auth_settings and auth.smb_o_auth_settings.is_smb_o_auth_enabled)


def file_role_assignments(chain):
    principal = chain.identity(FILE_IDENTITY).principal_id
    found = chain.auth.role_assignments.list_for_scope("/subscriptions/%s" % chain.sub,
                                                       filter="principalId eq '%s'" % principal)
    return sorted((a.scope.lower(), a.role_definition_id.rsplit("/", 1)[1]) for a in found)


def test_converged_chain_mounts_the_share_with_the_token_only(chain):
    jobs = files_jobs(chain)
    assert [c.type for j in jobs for c in j.status.conditions or [] if c.status == "True"].count("Complete") == 1
    pods = chain.core.list_namespaced_pod(FILE_NAMESPACE).items
    assert "keyless write+read ok" in chain.core.read_namespaced_pod_log(pods[0].metadata.name, FILE_NAMESPACE)

    share = chain.storage.file_shares.get(STORAGE_RG, ACCOUNT, FILE_SHARE)
    assert share.share_quota == 10  # the workload's volume.size, 10Gi
    account = chain.storage.storage_accounts.get_properties(STORAGE_RG, ACCOUNT)
    assert account.allow_shared_key_access is False and smb_oauth(chain) is True
    # one role, at the account (not the share), the one token-only SMB mounts need
    assert file_role_assignments(chain) == [(chain.account_id().lower(), SMB_MI_ADMIN)]
    cluster = sdk.containerservice_client(chain.sandbox.conn).managed_clusters.get(CLUSTER_RG, HOST)
    assert cluster.storage_profile.file_csi_driver.enabled is False

    pv = chain.core.read_persistent_volume(FILE_PV).spec.csi
    assert pv.driver == "file.csi.azure.com" and pv.volume_attributes["mountWithWorkloadIdentityToken"] == "true"
    assert pv.volume_attributes["shareName"] == FILE_SHARE and pv.node_stage_secret_ref is None


def test_a_rerun_writes_nothing_and_lists_no_keys(chain):
    run, delta = site(chain)
    assert run.returncode == 0, run.stdout[-4000:]
    assert (delta["writes"], delta["kubernetes"]["writes"], delta["list_keys"]) == (0, 0, 0), delta
    recap = next(line for line in run.stdout.splitlines() if line.startswith(HOST + " ") and "changed=" in line)
    assert " changed=0 " in recap, recap


def test_smb_oauth_turned_off_behind_our_back_is_repaired(chain):
    assert smb_oauth(chain, enabled=False) is False
    run, delta = site(chain)
    assert run.returncode == 0, run.stdout[-4000:]
    assert smb_oauth(chain) is True
    # the account's setting only: nothing in the cluster, no key listed
    assert delta["writes"] >= 1 and (delta["kubernetes"]["writes"], delta["list_keys"]) == (0, 0), delta


def test_no_smb_oauth_fails_the_files_job_with_its_reason(chain):
    smb_oauth(chain, enabled=False)
    revalidate(chain)
    run, _delta = site(chain, "--tags", "workloads")
    assert run.returncode != 0
    text = said(run)
    assert "Keyless storage access could not be proven for 1 workload(s)" in text, text[-4000:]
    assert "does not have SMB OAuth enabled" in text, text[-4000:]


def test_a_share_scoped_smb_share_contributor_role_is_not_enough(chain):
    """Replacing the chain's role by a share-level SMB role (the one users reach for) breaks the mount: the ticket
    is requested at the account endpoint, and only the MI Admin role's actions allow a managed identity in."""
    chain.remove_file_roles()
    chain.grant_file_role("Storage File Data SMB Share Contributor", chain.share_scope())
    revalidate(chain)
    run, _delta = site(chain, "--tags", "workloads")
    assert run.returncode != 0
    assert "AuthorizationPermissionMismatch" in said(run), said(run)[-4000:]


def test_a_driver_older_than_1_35_is_refused_before_anything_is_rendered(chain):
    helm = [{"name": "behind our back", "kubernetes.core.helm": {
        "kubeconfig": str(chain.workdir / "kubeconfig"), "binary_path": chain.sandbox.conn["helm_binary"],
        "release_name": "azurefile-csi-driver", "release_namespace": "kube-system", "chart_ref": "azurefile-csi-driver",
        "chart_repo_url": UPSTREAM_CHARTS, "chart_version": "1.34.8", "release_state": "present"}}]
    installed = run_playbook(chain.tmp_path, helm, dict(chain.sandbox.env(), TMPDIR=str(chain.tmp_path)))
    assert installed.rc == 0, installed
    revalidate(chain)
    run, delta = site(chain, "--tags", "workloads")
    assert run.returncode != 0
    assert ("the Azure Files CSI driver 1.34.8 (DaemonSet kube-system/csi-azurefile-node, image "
            in said(run)), said(run)[-4000:]
    assert "is older than 1.35.0" in said(run)
    assert delta["kubernetes"]["writes"] == 0 and files_jobs(chain) == [], delta


def test_nfs_is_refused_by_the_preflight_before_any_request(chain):
    inventory = yaml.safe_load((doctor_chain.REPO / "inventories" / "sandbox" / "group_vars" / "aks_clusters.yml")
                               .read_text())
    workloads = [dict(w, protocol="nfs") if w.get("type") == "file" else w for w in inventory["keyless_workloads"]]
    run, delta = site(chain, "-e", json.dumps({"keyless_workloads": workloads}))
    assert run.returncode != 0
    assert "keyless_workloads[2] (docs/shared-docs): protocol nfs is refused - NFS mounts carry no credentials" \
        in said(run), said(run)[-4000:]
    assert (delta["reads"], delta["writes"], delta["kubernetes"]["reads"]) == (0, 0, 0), delta


def test_the_managed_files_driver_left_on_is_refused(chain):
    """Turned back on behind our back, and the cluster stage told to leave it (unmanaged): the driver stage stops."""
    client = sdk.containerservice_client(chain.sandbox.conn)
    cluster = client.managed_clusters.get(CLUSTER_RG, HOST)
    cluster.storage_profile.file_csi_driver.enabled = True
    client.managed_clusters.begin_create_or_update(CLUSTER_RG, HOST, cluster).result()
    run, _delta = site(chain, "--tags", "driver,workloads", "-e", "oidc_cluster_file_driver=unmanaged")
    assert run.returncode != 0
    assert "The AKS-managed Azure Files CSI driver is enabled on this cluster" in said(run), said(run)[-4000:]


def test_a_changed_federated_subject_fails_the_files_job(chain):
    chain.set_file_credential(subject="system:serviceaccount:docs:someone-else")
    revalidate(chain)
    run, _delta = site(chain, "--tags", "workloads")
    assert run.returncode != 0
    text = said(run)
    assert "AADSTS700213" in text and FILE_NAMESPACE + "/keyless-validate-shared-docs-" in text, text[-4000:]
