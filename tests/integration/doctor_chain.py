"""A chain converged once per worker by playbooks/site.yml (sandbox inventory), restored before each doctor test,
then broken behind the collection's back and diagnosed by playbooks/doctor.yml."""

import json
import re
import subprocess
import sys
from pathlib import Path

import kubernetes

from . import sdk
from .playbook import ansible_env

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
HOST = "sandbox-aks-1"
STORAGE_RG, CLUSTER_RG, ACCOUNT = "rg-keyless-sandbox", "rg-aks-sandbox", "stkeylesssandbox01"
FIC = {"reports": "sandbox-aks-1-reports-reports-writer", "archive": "sandbox-aks-1-archive-archive-reader"}
ROLES = {"Storage Blob Data Contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
         "Storage Blob Data Reader": "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"}
# The sandbox inventory's Azure Files workload (share "docs" on the same account; its role at the account)
FILE_WORKLOAD, FILE_NAMESPACE, FILE_IDENTITY, FILE_SHARE = "shared-docs", "docs", "id-docs", "docs"
FILE_FIC = "sandbox-aks-1-docs-docs-writer"
FILE_ROLES = {"Storage File Data SMB MI Admin": "a235d3ee-5935-4cfb-8cc5-a3303ad5995e",
              "Storage File Data SMB Share Contributor": "0c867c2a-1d8c-454a-a3db-ab2ea1bdc8bb"}
DOCTOR_TASK = "Doctor (read-only)"
SITE_TAGS = re.compile(r"site\.yml --tags ([\w,]+)")


def playbook(sandbox, workdir, name, *extra, json_output=False):
    env = dict(sandbox.env(), KEYLESS_HELM_BINARY=sandbox.conn["helm_binary"], TMPDIR=str(workdir),
               ANSIBLE_STDOUT_CALLBACK="ansible.posix.json" if json_output else "default")
    cmd = [str(BIN / "ansible-playbook"), "-i", str(REPO / "inventories" / "sandbox"), str(REPO / "playbooks" / name),
           "-e", "keyless_kubeconfig_path=%s/kubeconfig" % workdir] + list(extra)
    return subprocess.run(cmd, env=ansible_env(env), capture_output=True, text=True, timeout=900, check=False)


def inventory_workloads():
    """keyless_workloads of the sandbox inventory (a fresh copy to change and pass with -e)."""
    import yaml
    return yaml.safe_load((REPO / "inventories/sandbox/group_vars/aks_clusters.yml").read_text())["keyless_workloads"]


def converge(sandbox_session, workdir):
    """The demo chain converged by site.yml, as a sandbox snapshot (the conftest's `doctor_converged`)."""
    sandbox_session.reset()
    site = playbook(sandbox_session, workdir, "site.yml")
    assert site.returncode == 0, site.stdout[-4000:]
    return {"snapshot": sandbox_session.state(), "workdir": workdir}


class Diagnosis:
    def __init__(self, proc, counters):
        self.rc, self.stdout, self.counters = proc.returncode, proc.stdout, counters
        data = json.loads(proc.stdout)
        tasks = {t["task"]["name"]: t["hosts"][HOST] for play in data["plays"] for t in play["tasks"]}
        self.result = tasks[DOCTOR_TASK]
        assert not self.result.get("failed"), self.result
        self.links = self.result["links"]

    def status(self, status):
        return [(item["workload"], item["link"]) for item in self.links if item["status"] == status]

    def find(self, workload, name):
        return next(i for i in self.links if i["workload"] == workload and i["link"] == name)

    def __repr__(self):
        return "\n".join(self.result["table"]) + "\n" + self.stdout[-3000:]


class Chain:
    def __init__(self, sandbox, workdir, tmp_path):
        self.sandbox, self.workdir, self.tmp_path = sandbox, workdir, tmp_path
        self.sub = sandbox.conn["subscription_id"]
        self.msi = sdk.msi_client(sandbox.conn)
        self.storage = sdk.storage_client(sandbox.conn)
        self.auth = sdk.authorization_client(sandbox.conn)
        api = kubernetes.config.new_client_from_config(config_file=str(workdir / "kubeconfig"))
        self.core, self.storage_k8s = kubernetes.client.CoreV1Api(api), kubernetes.client.StorageV1Api(api)
        self.batch = kubernetes.client.BatchV1Api(api)

    # ---- running
    def doctor(self, *extra):
        before = self.sandbox.counters()
        proc = playbook(self.sandbox, self.workdir, "doctor.yml", "-e", "doctor_report_dir=%s" % self.tmp_path,
                        *extra, json_output=True)
        return Diagnosis(proc, self.sandbox.counters_delta(before))

    def site(self, tags, *extra):
        run = playbook(self.sandbox, self.workdir, "site.yml", "--tags", tags, *extra)
        assert run.returncode == 0, run.stdout[-4000:]

    def apply_site_fix(self, fix):
        """Run site.yml with the tags the doctor's fix names."""
        match = SITE_TAGS.search(fix or "")
        assert match, "the fix names no site.yml run: %s" % fix
        self.site(match.group(1))

    # ---- Azure side
    def identity(self, name):
        return self.msi.user_assigned_identities.get(STORAGE_RG, name)

    def issuer(self):
        cluster = sdk.containerservice_client(self.sandbox.conn).managed_clusters.get(CLUSTER_RG, HOST)
        return cluster.oidc_issuer_profile.issuer_url

    def set_credential(self, workload="reports", **changes):
        identity = "id-" + workload
        current = self.msi.federated_identity_credentials.get(STORAGE_RG, identity, FIC[workload])
        body = {"issuer": current.issuer, "subject": current.subject, "audiences": current.audiences}
        body.update(changes)
        self.msi.federated_identity_credentials.create_or_update(STORAGE_RG, identity, FIC[workload], body)

    def delete_credential(self, workload="reports"):
        self.msi.federated_identity_credentials.delete(STORAGE_RG, "id-" + workload, FIC[workload])

    def container_scope(self, container):
        return ("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Storage/storageAccounts/%s/blobServices/"
                "default/containers/%s" % (self.sub, STORAGE_RG, ACCOUNT, container))

    def remove_roles(self, workload="reports"):
        principal = self.identity("id-" + workload).principal_id
        scope = "/subscriptions/%s" % self.sub
        for item in self.auth.role_assignments.list_for_scope(scope, filter="principalId eq '%s'" % principal):
            self.auth.role_assignments.delete_by_id(item.id)

    def grant(self, role, container, workload="reports"):
        import uuid
        principal = self.identity("id-" + workload).principal_id
        self.auth.role_assignments.create(self.container_scope(container), str(uuid.uuid4()), {
            "role_definition_id": "/subscriptions/%s/providers/Microsoft.Authorization/roleDefinitions/%s" % (
                self.sub, ROLES[role]), "principal_id": principal, "principal_type": "ServicePrincipal"})

    def account_id(self):
        return "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Storage/storageAccounts/%s" % (
            self.sub, STORAGE_RG, ACCOUNT)

    def cluster_id(self):
        return "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.ContainerService/managedClusters/%s" % (
            self.sub, CLUSTER_RG, HOST)

    # ---- cluster side
    def free_claim(self, namespace, claim):
        """Delete the validation Jobs (and so their pods) that hold ``claim``, so it can be deleted at once."""
        for job in self.batch.list_namespaced_job(namespace).items:
            self.batch.delete_namespaced_job(job.metadata.name, namespace, propagation_policy="Foreground")
        for pod in self.core.list_namespaced_pod(namespace).items:
            self.core.delete_namespaced_pod(pod.metadata.name, namespace, grace_period_seconds=0)
        for _attempt in range(20):  # graceful deletion completes after a counted number of requests
            if not self.core.list_namespaced_pod(namespace).items:
                break
        assert not self.core.list_namespaced_pod(namespace).items

    def recreate_volume(self, namespace, claim, pv_name, attributes_change):
        """Replace the claim and its volume by ones whose volume attributes differ (as an older tool made them)."""
        pv = self.core.read_persistent_volume(pv_name)
        pvc = self.core.read_namespaced_persistent_volume_claim(claim, namespace)
        self.free_claim(namespace, claim)
        self.core.delete_namespaced_persistent_volume_claim(claim, namespace)
        self.core.delete_persistent_volume(pv_name)
        attrs = dict(pv.spec.csi.volume_attributes)
        attrs.update(attributes_change)
        attrs = {k: v for k, v in attrs.items() if v is not None}
        self.core.create_persistent_volume({"metadata": {"name": pv_name, "labels": pv.metadata.labels}, "spec": {
            "capacity": pv.spec.capacity, "accessModes": pv.spec.access_modes, "storageClassName": "",
            "persistentVolumeReclaimPolicy": "Retain", "mountOptions": pv.spec.mount_options,
            "csi": {"driver": pv.spec.csi.driver, "volumeHandle": pv.spec.csi.volume_handle,
                    "readOnly": pv.spec.csi.read_only, "volumeAttributes": attrs}}})
        self.core.create_namespaced_persistent_volume_claim(namespace, {
            "metadata": {"name": claim, "labels": pvc.metadata.labels},
            "spec": {"accessModes": pvc.spec.access_modes, "storageClassName": "", "volumeName": pv_name,
                     "resources": {"requests": pvc.spec.resources.requests}}})

    # ---- Azure Files (additions for the Files workload)
    def share_scope(self, share=FILE_SHARE):
        return self.account_id() + "/fileServices/default/shares/" + share

    def set_file_credential(self, **changes):
        current = self.msi.federated_identity_credentials.get(STORAGE_RG, FILE_IDENTITY, FILE_FIC)
        body = {"issuer": current.issuer, "subject": current.subject, "audiences": current.audiences}
        body.update(changes)
        self.msi.federated_identity_credentials.create_or_update(STORAGE_RG, FILE_IDENTITY, FILE_FIC, body)

    def remove_file_roles(self):
        principal = self.identity(FILE_IDENTITY).principal_id
        for item in self.auth.role_assignments.list_for_scope("/subscriptions/%s" % self.sub,
                                                              filter="principalId eq '%s'" % principal):
            self.auth.role_assignments.delete_by_id(item.id)

    def grant_file_role(self, role, scope):
        import uuid
        self.auth.role_assignments.create(scope, str(uuid.uuid4()), {
            "role_definition_id": "/subscriptions/%s/providers/Microsoft.Authorization/roleDefinitions/%s" % (
                self.sub, FILE_ROLES[role]), "principal_id": self.identity(FILE_IDENTITY).principal_id,
            "principal_type": "ServicePrincipal"})
