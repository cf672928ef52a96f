"""playbooks/doctor.yml on a healthy chain (every link ok, the read budget counted) and on cluster-side breakages
made behind the collection's back, each reported as exactly its link with a fix that, applied, heals it."""

import json
import re

import pytest

from .playbook import run_playbook
from .test_doctor_azure_links import assert_exactly, assert_green, assert_read_only
from . import sdk

pytestmark = pytest.mark.long_running  # minutes of playbooks: scheduled first

JWT = re.compile(r"eyJ[\w-]{10,}\.eyJ[\w-]{10,}\.")
PATCH = re.compile(r"-p '(\{.*?\}|\[.*?\])'")
CLUSTER_LINKS, LINKS_PER_WORKLOAD = 9, 14
# the sandbox inventory's Files workload (shared-docs) adds the Files driver's 4 cluster links and its own 15
FILE_CLUSTER_LINKS, FILE_WORKLOAD_LINKS = 4, 15
# its dynamically provisioned workload (scratch) adds storage_class and provisioner_role to a blob workload's links,
# and the cluster provisioner_identity and provisioner_federation
DYNAMIC_CLUSTER_LINKS, DYNAMIC_WORKLOAD_LINKS = 2, LINKS_PER_WORKLOAD + 2


def fix_patch(fix):
    match = PATCH.search(fix or "")
    assert match, "the fix names no kubectl patch: %s" % fix
    return json.loads(match.group(1))


def test_a_healthy_chain_is_all_ok_within_a_read_budget_that_ignores_the_subscriptions_size(chain):
    first = chain.doctor()
    assert first.rc == 0, first
    links = (CLUSTER_LINKS + FILE_CLUSTER_LINKS + DYNAMIC_CLUSTER_LINKS + 2 * LINKS_PER_WORKLOAD + FILE_WORKLOAD_LINKS
             + DYNAMIC_WORKLOAD_LINKS)
    assert [i["status"] for i in first.links] == ["ok"] * links, first
    assert_read_only(first)
    c = first.counters
    # cluster 1; per blob workload container, identity, credentials, role assignments, role definition (account
    # cached); the Files workload share, identity, credentials, role assignments, role definition.
    # Kubernetes: version, CSIDriver, DaemonSet of each driver; per workload ServiceAccount, claim, volume, pods,
    # events; the Files workload also its validation Jobs (its data is judged from them, not probed). The dynamic
    # workload: ARM as a blob workload's (its role definition cached) plus the controller's role assignments at the
    # account and the provisioner role; Kubernetes as a blob workload's plus the controller's ServiceAccount and
    # Deployment and the StorageClass.
    assert (c["reads"], c["kubernetes"]["reads"], c["kubernetes"]["token_requests"]) == (17 + 6, 21 + 8, 3 + 1), c
    assert c["storage_data"]["by_operation"] == {"ListBlobs": 3}, c
    assert first.result["reads"] == {"azure": 23, "kubernetes": 29, "token_requests": 4, "entra": 4,
                                     "data_plane": 3}, first.result["reads"]
    report = json.loads(open(first.result["report_files"]["json"]).read())
    assert report["status"] == "ok" and len(report["links"]) == len(first.links)
    markdown = open(first.result["report_files"]["markdown"]).read()
    assert "Result: **OK**" in markdown and "| reports | probe_data | ok |" in markdown
    for text in (first.stdout, markdown, json.dumps(report)):
        assert not JWT.search(text), "a token leaked into the output"

    # Ten times the identities and assignments of other principals in the subscription: the same reads.
    rg = "rg-unrelated"
    sdk.create_resource_group(chain.sandbox.conn, rg)
    for i in range(20):
        other = sdk.create_identity(chain.sandbox.conn, rg, "id-other-%02d" % i)
        chain.auth.role_assignments.create("/subscriptions/%s/resourceGroups/%s" % (chain.sub, rg),
                                           "00000000-0000-4000-8000-%012d" % i, {
            "role_definition_id": "/subscriptions/%s/providers/Microsoft.Authorization/roleDefinitions/"
                                  "ba92f5b4-2d11-453d-a403-e96b0029c9fe" % chain.sub,
            "principal_id": other.principal_id, "principal_type": "ServicePrincipal"})
    again = chain.doctor()
    assert again.rc == 0 and again.counters["reads"] == 23, again.counters


def test_one_claim_named_on_the_command_line_is_diagnosed_from_what_it_mounts(chain):
    found = chain.doctor("-e", "doctor_namespace=archive", "-e", "doctor_pvc=archive-blob")
    assert found.rc == 0, found
    links = [i for i in found.links if i["workload"]]
    assert {i["workload"] for i in links} == {"archive-blob"} and len(links) == LINKS_PER_WORKLOAD
    assert all(i["status"] == "ok" for i in found.links), found
    # account, container, identity (by client ID: one listing of the subscription's identities), service account
    assert found.find("archive-blob", "identity")["summary"].startswith("identity id-archive ")
    assert found.find("archive-blob", "service_account")["summary"] == "ServiceAccount archive/archive-reader exists"
    # the volume is read-only: the read role is enough
    assert found.find("archive-blob", "role_assignment")["evidence"]["needed"] == [
        "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"]
    assert found.counters["writes"] == 0


def test_one_workload_with_the_write_probe(chain):
    found = chain.doctor("-e", "doctor_workload=reports", "-e", "doctor_probe_write=true")
    assert found.rc == 0, found
    assert {i["workload"] for i in found.links} == {None, "reports"}
    assert "write and delete .keyless-doctor/probe-" in found.find("reports", "probe_data")["summary"]
    c = found.counters
    assert c["storage_data"]["by_operation"] == {"ListBlobs": 1, "PutBlob": 1, "DeleteBlob": 1}, c
    assert (c["writes"], c["list_keys"], c["kubernetes"]["writes"]) == (0, 0, 0), c
    # check mode changes nothing, not even in the data plane
    checked = chain.doctor("-e", "doctor_workload=reports", "-e", "doctor_probe_write=true", "--check")
    assert checked.rc == 0, checked
    assert checked.find("reports", "probe_data")["evidence"]["write_probe"] == "skipped in check mode"
    assert checked.counters["storage_data"]["by_operation"] == {"ListBlobs": 1, "PutBlob": 0, "DeleteBlob": 0}


def test_a_kubeconfig_the_api_server_refuses_is_one_failing_link_and_the_named_run_rewrites_it(chain):
    stale = chain.tmp_path / "stale-kubeconfig"
    text = (chain.workdir / "kubeconfig").read_text()
    token = re.search(r"token: \"?([^\"\s]+)", text).group(1)
    stale.write_text(text.replace(token, token[:-4] + "AAAA"))
    stale.chmod(0o600)
    diagnosis = chain.doctor("-e", "keyless_kubeconfig_path=%s" % stale)
    assert_exactly(diagnosis, None, "kubernetes_api", "HTTP 401", "site.yml --tags cluster")
    blocked = [(i["workload"], i["link"]) for i in diagnosis.links if i["status"] == "unknown"]
    assert (None, "csi_driver") in blocked and ("reports", "persistent_volume") in blocked, diagnosis
    assert ("reports", "probe_token") in blocked and ("reports", "federated_credential") not in blocked
    chain.site("cluster", "-e", "keyless_kubeconfig_path=%s" % stale)
    assert_green(chain.doctor("-e", "keyless_kubeconfig_path=%s" % stale))


def annotate(c, client_id):
    c.core.patch_namespaced_service_account("reports-writer", "reports", {"metadata": {"annotations": {
        "azure.workload.identity/client-id": client_id}}})


def install_old_driver(c):
    helm = {"kubeconfig": str(c.workdir / "kubeconfig"), "binary_path": c.sandbox.conn["helm_binary"],
            "release_name": "blob-csi-driver", "release_namespace": "kube-system", "chart_ref": "blob-csi-driver",
            "chart_repo_url": "https://raw.githubusercontent.com/kubernetes-sigs/blob-csi-driver/master/charts",
            "chart_version": "1.27.0",
            "release_values": {"node": {"enableBlobfuseProxy": True}, "controller": {"replicas": 2}}}
    run = run_playbook(c.tmp_path, [{"name": "an older release, as another tool installed it",
                                     "kubernetes.core.helm": helm}], dict(c.sandbox.env(), TMPDIR=str(c.tmp_path)))
    assert run.rc == 0, run


def released_claim(c):
    pvc = c.core.read_namespaced_persistent_volume_claim("reports-blob", "reports")
    c.free_claim("reports", "reports-blob")
    c.core.delete_namespaced_persistent_volume_claim("reports-blob", "reports")
    c.core.create_namespaced_persistent_volume_claim("reports", {
        "metadata": {"name": "reports-blob", "labels": pvc.metadata.labels},
        "spec": {"accessModes": pvc.spec.access_modes, "storageClassName": "", "volumeName": pvc.spec.volume_name,
                 "resources": {"requests": pvc.spec.resources.requests}}})


def patch_csidriver(c, spec):
    c.storage_k8s.patch_csi_driver("blob.csi.azure.com", {"spec": spec})


SITE, CSIDRIVER_PATCH, PV_PATCH = "site", "csidriver", "pv"
# (id, break(chain), workload, link, phrases, how the fix is applied)
BREAKAGES = [
    ("service_account_annotation_of_another_identity",
     lambda c: annotate(c, c.identity("id-archive").client_id), "reports", "service_account_client_id",
     ["not the client ID"], SITE),
    ("csidriver_without_token_requests", lambda c: patch_csidriver(c, {"tokenRequests": None}), None, "csi_driver",
     ["has no audience api://AzureADTokenExchange"], CSIDRIVER_PATCH),
    ("requires_republish_off", lambda c: patch_csidriver(c, {"requiresRepublish": False}), None, "csi_driver",
     ["requiresRepublish is False"], CSIDRIVER_PATCH),
    ("driver_below_the_floor", install_old_driver, None, "driver_version", ["driver 1.27.0 is below 1.27.1"], SITE),
    ("volume_in_key_mode", lambda c: c.recreate_volume("reports", "reports-blob", "pv-reports-reports", {
        "mountWithWorkloadIdentityToken": None, "secretName": "azure-storage-key", "secretNamespace": "reports"}),
     "reports", "persistent_volume", ["(key mode)", "volumeAttributes.secretName is set"], SITE),
    ("volume_client_id_of_another_identity", lambda c: c.recreate_volume(
        "archive", "archive-blob", "pv-archive-archive", {"clientID": c.identity("id-reports").client_id}),
     "archive", "persistent_volume", ["clientID is"], SITE),
    ("claim_unbound", released_claim, "reports", "persistent_volume_claim",
     ["is Pending", "is Released"], PV_PATCH),
]


@pytest.mark.parametrize("name,breakage,workload,link,phrases,fix_kind", BREAKAGES, ids=[b[0] for b in BREAKAGES])
def test_breakage_is_diagnosed_as_exactly_that_link_and_its_fix_heals_it(chain, name, breakage, workload, link,
                                                                         phrases, fix_kind):
    breakage(chain)
    found = assert_exactly(chain.doctor(), workload, link, *phrases)
    if fix_kind == SITE:
        chain.apply_site_fix(found["fix"])
    elif fix_kind == CSIDRIVER_PATCH:
        chain.storage_k8s.patch_csi_driver("blob.csi.azure.com", fix_patch(found["fix"]))
    else:
        chain.core.patch_persistent_volume(found["evidence"]["expected_volume"], fix_patch(found["fix"]))
    assert_green(chain.doctor())
