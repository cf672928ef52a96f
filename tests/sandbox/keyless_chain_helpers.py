"""The keyless chain built with the real SDKs (storage account + container, identity, federated credential,
role assignment, AKS cluster) and workloads created with the real kubernetes client, for the kubelet tests."""

import base64
import json
import os
import subprocess
import sys
import uuid

import kubernetes
from kubernetes import client as k8s

from sandbox import sdk

LOCATION = "westeurope"
RG = "rg-kubelet"
ACCOUNT = "stkeylesskubelet"
CLUSTER = "aks-kubelet"
IDENTITY = "id-app"
NAMESPACE, SERVICE_ACCOUNT = "app", "writer"
ROLES = {"Storage Blob Data Contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
         "Storage Blob Data Reader": "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
         "Storage Account Key Operator Service Role": "81a9662b-bebf-436f-a333-f67b29880f12"}
DRIVER = "blob.csi.azure.com"
TOKEN_AUDIENCE = "api://AzureADTokenExchange"

# The workload role's mount check (roles/workload/templates/manifests.yml.j2), which the sandbox kubelet evaluates.
MOUNT_CHECK = ("grep -q ' /mnt/blob .* - fuse' /proc/self/mountinfo || { echo \"not a blob mount: the CSIDriver has "
               "no tokenRequests\" >&2; exit 1; }; ")
NOT_A_BLOB_MOUNT = "not a blob mount: the CSIDriver has no tokenRequests"

PLAYBOOKS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "files")


def run_playbook_json(name, env, **extra_vars) -> dict:
    """ansible-playbook FILES/name with the JSON callback -> {task name: localhost result}."""
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), os.path.join(PLAYBOOKS, name)]
    for key, value in extra_vars.items():
        cmd += ["-e", f"{key}={value}"]
    env = {**env, "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json", "ANSIBLE_RETRY_FILES_ENABLED": "False"}
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240, check=False)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    return {task["task"]["name"]: task["hosts"]["localhost"]
            for play in json.loads(result.stdout)["plays"] for task in play["tasks"]}


class KeylessChain:
    def __init__(self, sandbox, tmp_path, *, managed_blob_driver=False, nodes=2, containers=("reports",)):
        from azure.mgmt.authorization import AuthorizationManagementClient
        from azure.mgmt.containerservice import ContainerServiceClient
        from azure.mgmt.msi import ManagedServiceIdentityClient
        from azure.mgmt.resource.resources import ResourceManagementClient
        from azure.mgmt.storage import StorageManagementClient

        self.sandbox, self.conn = sandbox, sandbox.conn
        sandbox.configure(fic_write_seconds=0)
        cred, sub, kw = sdk.credential(self.conn), self.conn["subscription_id"], sdk.client_kwargs(self.conn)
        self.storage = StorageManagementClient(cred, sub, **kw)
        self.msi = ManagedServiceIdentityClient(cred, sub, **kw)
        self.auth = AuthorizationManagementClient(cred, sub, **kw)
        self.aks = ContainerServiceClient(cred, sub, **kw)
        ResourceManagementClient(cred, sub, **kw).resource_groups.create_or_update(RG, {"location": LOCATION})
        self.account = self.storage.storage_accounts.begin_create(RG, ACCOUNT, {
            "location": LOCATION, "kind": "StorageV2", "sku": {"name": "Standard_LRS"},
            "properties": {"allowSharedKeyAccess": False, "allowBlobPublicAccess": False}}).result()
        for container in containers:
            self.storage.blob_containers.create(RG, ACCOUNT, container, {})
        self.identity = self.msi.user_assigned_identities.create_or_update(RG, IDENTITY, {"location": LOCATION})
        cluster = self.aks.managed_clusters.begin_create_or_update(RG, CLUSTER, {
            "location": LOCATION, "identity": {"type": "SystemAssigned"},
            "properties": {"dnsPrefix": CLUSTER, "agentPoolProfiles": [
                {"name": "system", "count": nodes, "vmSize": "Standard_D2s_v5", "mode": "System", "osType": "Linux"}],
                "oidcIssuerProfile": {"enabled": True},
                "securityProfile": {"workloadIdentity": {"enabled": True}},
                "storageProfile": {"blobCSIDriver": {"enabled": managed_blob_driver}}}}).result()
        self.cluster_id, self.issuer = cluster.id, cluster.oidc_issuer_profile.issuer_url
        value = self.aks.managed_clusters.list_cluster_user_credentials(RG, CLUSTER).kubeconfigs[0].value
        self.kubeconfig = tmp_path / "aks.kubeconfig"
        self.kubeconfig.write_bytes(value if isinstance(value, bytes) else base64.b64decode(value))
        api = kubernetes.config.new_client_from_config(config_file=str(self.kubeconfig))
        self.core, self.batch = k8s.CoreV1Api(api), k8s.BatchV1Api(api)
        self.storage_k8s, self.apps = k8s.StorageV1Api(api), k8s.AppsV1Api(api)

    # ------------------------------------------------------------------ Azure side
    def container_scope(self, container="reports"):
        return f"{self.account.id}/blobServices/default/containers/{container}"

    def trust(self, namespace=NAMESPACE, service_account=SERVICE_ACCOUNT, issuer=None, name="fic-app"):
        self.msi.federated_identity_credentials.create_or_update(RG, IDENTITY, name, {
            "issuer": issuer or self.issuer, "subject": f"system:serviceaccount:{namespace}:{service_account}",
            "audiences": [TOKEN_AUDIENCE]})
        return self

    def grant(self, role="Storage Blob Data Contributor", scope=None):
        scope = scope or self.container_scope()
        self.auth.role_assignments.create(scope, str(uuid.uuid4()), {"properties": {
            "roleDefinitionId": f"/subscriptions/{self.conn['subscription_id']}/providers/Microsoft.Authorization/"
                                f"roleDefinitions/{ROLES[role]}",
            "principalId": self.identity.principal_id, "principalType": "ServicePrincipal"}})
        return self

    def advance(self, seconds: int) -> dict:
        """Move the sandbox kubelet's clock: {"now", "decisions"} (the Jobs it decided)."""
        return self.sandbox.call("POST", "/kubelet/advance", {"seconds": seconds})

    def set_shared_key(self, allowed: bool):
        self.sandbox.merge_resource(self.account.id, {"properties": {"allowSharedKeyAccess": allowed}})

    # ------------------------------------------------------------------ Kubernetes side
    def install_driver(self, token_requests=True, requires_republish=True):
        """What the chart puts in the cluster that the kubelet looks at: the CSIDriver and the node DaemonSet."""
        spec = {"attachRequired": False, "podInfoOnMount": True, "volumeLifecycleModes": ["Persistent", "Ephemeral"]}
        if token_requests:
            spec.update(requiresRepublish=requires_republish,
                        tokenRequests=[{"audience": TOKEN_AUDIENCE, "expirationSeconds": 3600}])
        self.storage_k8s.create_csi_driver({"metadata": {"name": DRIVER}, "spec": spec})
        labels = {"app": "csi-blob-node"}
        self.apps.create_namespaced_daemon_set("kube-system", {
            "metadata": {"name": "csi-blob-node", "labels": labels},
            "spec": {"selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": {
                "containers": [{"name": "blob", "image": "mcr.microsoft.com/oss/v2/kubernetes-csi/blob-csi:v1.27.9"}]}}}})
        return self

    def workload(self, job, *, container="reports", read_only=False, token_only=True, client_id=None,
                 label=True, namespace=NAMESPACE, service_account=SERVICE_ACCOUNT, pvc=True, pv=True, script=None,
                 claim=None):
        """Namespace, ServiceAccount, token-only PV + PVC (the workload role's shapes) and a probe Job; `script`
        replaces the probe (`sh -c`), `claim` mounts an existing claim instead of creating PV + PVC."""
        if self.core.list_namespace(field_selector=f"metadata.name={namespace}").items == []:
            self.core.create_namespace({"metadata": {"name": namespace}})
        if not self.core.list_namespaced_service_account(namespace,
                                                         field_selector=f"metadata.name={service_account}").items:
            self.core.create_namespaced_service_account(namespace, {"metadata": {"name": service_account}})
        attributes = {"storageaccount": ACCOUNT, "containerName": container, "resourcegroup": RG,
                      "clientID": client_id or self.identity.client_id, "protocol": "fuse"}
        if token_only:
            attributes["mountWithWorkloadIdentityToken"] = "true"
        modes = ["ReadOnlyMany"] if read_only else ["ReadWriteMany"]
        pv, pvc = pv and not claim, pvc and not claim
        if pv:
            self.core.create_persistent_volume({"metadata": {"name": f"pv-{job}"}, "spec": {
                "capacity": {"storage": "10Gi"}, "accessModes": modes, "persistentVolumeReclaimPolicy": "Retain",
                "storageClassName": "", "csi": {"driver": DRIVER, "volumeHandle": f"{RG}_{ACCOUNT}_{container}_{job}",
                                                "readOnly": read_only, "volumeAttributes": attributes}}})
        if pvc:
            self.core.create_namespaced_persistent_volume_claim(namespace, {"metadata": {"name": f"{job}-blob"}, "spec": {
                "accessModes": modes, "resources": {"requests": {"storage": "10Gi"}}, "storageClassName": "",
                "volumeName": f"pv-{job}"}})
        labels = {"azure.workload.identity/use": "true"} if label else {}
        script = script or ("ls -la /mnt/blob > /dev/null && echo keyless read ok" if read_only else
                            f"f=/mnt/blob/keyless-probe-{job}.txt && echo keyless-probe > $f && grep -q keyless-probe "
                            f"$f && echo keyless write+read ok")
        self.batch.create_namespaced_job(namespace, {"metadata": {"name": job}, "spec": {
            "backoffLimit": 0, "template": {"metadata": {"labels": labels}, "spec": {
                "serviceAccountName": service_account, "restartPolicy": "Never",
                "containers": [{"name": "probe", "image": "mcr.microsoft.com/azurelinux/busybox:1.36",
                                "command": ["sh", "-c", script],
                                "volumeMounts": [{"name": "blob", "mountPath": "/mnt/blob", "readOnly": read_only}]}],
                "volumes": [{"name": "blob", "persistentVolumeClaim": {"claimName": claim or f"{job}-blob",
                                                                       "readOnly": read_only}}]}}}})
        return job

    def job(self, name, namespace=NAMESPACE):
        return self.batch.read_namespaced_job(name, namespace)

    def pod(self, job, namespace=NAMESPACE):
        pods = self.core.list_namespaced_pod(namespace, label_selector=f"job-name={job}").items
        assert len(pods) == 1, pods
        return pods[0]

    def events(self, job, namespace=NAMESPACE):
        """(reason, message) of the events about the Job and its pod."""
        return [(e.reason, e.message) for e in self.core.list_namespaced_event(namespace).items
                if e.involved_object.name.startswith(job)]

    def log(self, job, namespace=NAMESPACE):
        return self.core.read_namespaced_pod_log(self.pod(job, namespace).metadata.name, namespace)
