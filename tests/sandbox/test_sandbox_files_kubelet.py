"""The Job "kubelet" with Azure Files volumes (file.csi.azure.com): a token-only SMB mount completes only if the
whole chain holds (driver >= v1.35.0 from the stand-in chart, token audience, workload identity, SMB OAuth, the
Files data role at the account, shared key off, the share), and fails with the driver's / Azure's message
otherwise. State built with the real SDKs and the real kubernetes client."""

import uuid

import pytest
from azure.mgmt.containerservice.models import ManagedClusterStorageProfileFileCSIDriver
from keyless_chain_helpers import ACCOUNT, CLUSTER, NAMESPACE, RG, SERVICE_ACCOUNT, KeylessChain

from sandbox.helm_standin import charts

FILE_DRIVER = "file.csi.azure.com"
ROLES = {"Storage File Data SMB MI Admin": "a235d3ee-5935-4cfb-8cc5-a3303ad5995e",
         "Storage File Data SMB Share Contributor": "0c867c2a-1d8c-454a-a3db-ab2ea1bdc8bb",
         "Storage Account Contributor": "17d1049b-9a84-46fb-8f53-869881c3d3ab"}
# The workload role's kind of guard for a Files volume: the probe must see the cifs mount, not a local directory.
CIFS_CHECK = ("grep -q ' /mnt/share .* - cifs' /proc/self/mountinfo || { echo \"not an SMB mount: the CSIDriver has "
              "no tokenRequests\" >&2; exit 1; }; ")
NOT_SMB = "not an SMB mount: the CSIDriver has no tokenRequests"
HOST = f"{ACCOUNT}.file.core.windows.net"
NO_TICKET = (f"setCredentialCache failed for {HOST} with error: exit status 1, output: Error getting Kerberos "
             f"service ticket, check /var/log/syslog for more information.\n[-] Error calling AzAuthenticatorLib: -1")


def driver_objects(version: str) -> dict:
    """What the stand-in chart renders for `version`: {kind: object} of the CSIDriver and the node DaemonSet."""
    chart = charts.resolve("azurefile-csi-driver", charts.FILES_UPSTREAM_REPO, version)
    try:
        manifest = charts.render(chart, "azurefile-csi-driver", "kube-system", {})
    except charts.ChartError as exc:
        pytest.skip(f"no real helm binary: {exc}")
    finally:
        chart.cleanup()
    return {o["kind"]: o for o in charts.manifest_objects(manifest) if o["kind"] in ("CSIDriver", "DaemonSet")}


class FilesChain(KeylessChain):
    def __init__(self, sandbox, tmp_path, *, managed_file_driver=False, smb_oauth=True, shares=("reports",)):
        super().__init__(sandbox, tmp_path, containers=())
        cluster = self.aks.managed_clusters.get(RG, CLUSTER)   # AKS turns its own Files driver on by default
        cluster.storage_profile.file_csi_driver = ManagedClusterStorageProfileFileCSIDriver(
            enabled=managed_file_driver)
        self.aks.managed_clusters.begin_create_or_update(RG, CLUSTER, cluster).result()
        self.set_smb_oauth(smb_oauth)
        for share in shares:
            self.storage.file_shares.create(RG, ACCOUNT, share, {"properties": {"shareQuota": 100}})

    def share_scope(self, share="reports"):
        return f"{self.account.id}/fileServices/default/shares/{share}"

    def set_smb_oauth(self, enabled: bool):
        self.storage.storage_accounts.update(RG, ACCOUNT, {"properties": {"azureFilesIdentityBasedAuthentication": {
            "directoryServiceOptions": "None", "smbOAuthSettings": {"isSmbOAuthEnabled": enabled}}}})

    def grant_file(self, role="Storage File Data SMB MI Admin", scope=None):
        self.auth.role_assignments.create(scope or self.account.id, str(uuid.uuid4()), {"properties": {
            "roleDefinitionId": f"/subscriptions/{self.conn['subscription_id']}/providers/Microsoft.Authorization/"
                                f"roleDefinitions/{ROLES[role]}",
            "principalId": self.identity.principal_id, "principalType": "ServicePrincipal"}})
        return self

    def install_file_driver(self, version="1.35.7", token_requests=True):
        objects = driver_objects(version)
        if not token_requests:
            objects["CSIDriver"]["spec"].pop("tokenRequests", None)
        self.storage_k8s.create_csi_driver(objects["CSIDriver"])
        self.apps.create_namespaced_daemon_set("kube-system", objects["DaemonSet"])
        return self

    def file_workload(self, job, *, share="reports", read_only=False, flag="true", client_id=None, label=True,
                      protocol=None, mount_options=(), script=None, inline=False, claim=None):
        """ServiceAccount, token-only PV + PVC (or an inline CSI volume) and a probe Job mounting /mnt/share."""
        if not self.core.list_namespace(field_selector=f"metadata.name={NAMESPACE}").items:
            self.core.create_namespace({"metadata": {"name": NAMESPACE}})
            self.core.create_namespaced_service_account(NAMESPACE, {"metadata": {"name": SERVICE_ACCOUNT}})
        attributes = {"storageaccount": ACCOUNT, "shareName": share, "resourcegroup": RG,
                      "clientID": self.identity.client_id if client_id is None else client_id}
        if flag is not None:
            attributes["mountWithWorkloadIdentityToken"] = flag
        if protocol:
            attributes["protocol"] = protocol
        csi = {"driver": FILE_DRIVER, "readOnly": read_only}
        if inline:
            volume = {"name": "share", "csi": {**csi, "volumeAttributes": {
                **attributes, "mountOptions": ",".join(mount_options)}}}
        else:
            if not claim:
                self._claim(job, csi, attributes, read_only, mount_options, share)
            volume = {"name": "share", "persistentVolumeClaim": {"claimName": claim or f"{job}-share",
                                                                 "readOnly": read_only}}
        script = script or ("ls -la /mnt/share > /dev/null && echo keyless read ok" if read_only else CIFS_CHECK +
                            f"f=/mnt/share/keyless-probe-{job}.txt && echo keyless-probe > $f && grep -q "
                            f"keyless-probe $f && echo keyless write+read ok")
        self.batch.create_namespaced_job(NAMESPACE, {"metadata": {"name": job}, "spec": {
            "backoffLimit": 0, "template": {
                "metadata": {"labels": {"azure.workload.identity/use": "true"} if label else {}},
                "spec": {"serviceAccountName": SERVICE_ACCOUNT, "restartPolicy": "Never", "volumes": [volume],
                         "containers": [{"name": "probe", "image": "mcr.microsoft.com/azurelinux/busybox:1.36",
                                         "command": ["sh", "-c", script], "volumeMounts": [
                                             {"name": "share", "mountPath": "/mnt/share", "readOnly": read_only}]}]}}}})
        return job

    def _claim(self, job, csi, attributes, read_only, mount_options, share):
        modes = ["ReadOnlyMany"] if read_only else ["ReadWriteMany"]
        self.core.create_persistent_volume({"metadata": {"name": f"pv-{job}"}, "spec": {
            "capacity": {"storage": "100Gi"}, "accessModes": modes, "persistentVolumeReclaimPolicy": "Retain",
            "storageClassName": "", "mountOptions": list(mount_options),
            "csi": {**csi, "volumeHandle": f"{RG}#{ACCOUNT}#{share}#{job}", "volumeAttributes": attributes}}})
        self.core.create_namespaced_persistent_volume_claim(NAMESPACE, {"metadata": {"name": f"{job}-share"}, "spec": {
            "accessModes": modes, "resources": {"requests": {"storage": "100Gi"}}, "storageClassName": "",
            "volumeName": f"pv-{job}"}})


@pytest.fixture
def chain(sandbox, tmp_path):
    return FilesChain(sandbox, tmp_path)


def decisions(sandbox):
    return sandbox.call("GET", "/kubelet/decisions")["decisions"]


def share_files(sandbox):
    return sandbox.call("GET", "/kubelet/files")["shares"]


def failure(chain, job):
    status = chain.job(job).status
    assert status.failed == 1 and not status.succeeded, status
    assert chain.pod(job).status.phase == "Failed"
    mounts = [message for reason, message in chain.events(job) if reason == "FailedMount"]
    assert len(mounts) == 1 and mounts[0] in chain.log(job), (mounts, chain.log(job))
    return mounts[0]


def test_token_only_smb_mount_completes_and_writes_the_probe_file(sandbox, chain):
    chain.trust().grant_file().install_file_driver()
    chain.file_workload("probe-rw")
    assert chain.job("probe-rw").status.succeeded == 1 and chain.log("probe-rw") == "keyless write+read ok\n"
    share_id = chain.share_scope()
    written = share_files(sandbox)
    assert list(written) == [share_id] and list(written[share_id]) == ["keyless-probe-probe-rw.txt"]
    assert written[share_id]["keyless-probe-probe-rw.txt"]["content"] == "keyless-probe\n"
    assert written[share_id]["keyless-probe-probe-rw.txt"]["written_by"] == chain.identity.client_id
    # Read-only and inline (ephemeral) volumes mount the same way; only a writable one leaves a file.
    chain.file_workload("probe-ro", read_only=True)
    chain.file_workload("inline", inline=True, mount_options=("dir_mode=0755", "vers=3.1.1"))
    assert chain.log("probe-ro") == "keyless read ok\n" and chain.log("inline") == "keyless write+read ok\n"
    assert sorted(share_files(sandbox)[share_id]) == ["keyless-probe-inline.txt", "keyless-probe-probe-rw.txt"]
    assert [(d["job"], d["outcome"], d["step"], d["blobs"]) for d in decisions(sandbox)] == [
        ("probe-rw", "succeeded", "mounted", [f"{share_id}/keyless-probe-probe-rw.txt"]),
        ("probe-ro", "succeeded", "mounted", []),
        ("inline", "succeeded", "mounted", [f"{share_id}/keyless-probe-inline.txt"])]
    counters = sandbox.counters()
    assert counters["kubelet"] == {"jobs_complete": 3, "jobs_failed": 0, "jobs_pending": 0, "key_fetches": 0}
    assert counters["list_keys"] == 0
    assert sandbox.call("GET", "/kubelet/blobs")["containers"] == {}


def test_the_probe_sees_a_cifs_mountinfo_line(sandbox, chain):
    """The guard matches the cifs line only: a probe grepping for fuse (the blob guard) fails on a Files mount."""
    chain.trust().grant_file().install_file_driver()
    source = f" /mnt/share rw,relatime - cifs //{HOST}/reports rw,vers=3.1.1,sec=krb5,cruid=0"
    chain.file_workload("exact", script=f"grep -q '{source}' /proc/self/mountinfo || {{ echo 'no' >&2; exit 3; }}; "
                                        "echo matched")
    assert chain.job("exact").status.succeeded == 1 and chain.log("exact") == "matched\n"
    chain.file_workload("fuse", script="grep -q ' /mnt/share .* - fuse' /proc/self/mountinfo || "
                                       "{ echo 'not fuse' >&2; exit 4; }; echo bad")
    assert chain.job("fuse").status.failed == 1 and chain.log("fuse") == "not fuse\n"
    assert chain.pod("fuse").status.container_statuses[0].state.terminated.exit_code == 4


BROKEN = {
    # name: (chain kwargs, set up, workload kwargs, the FailedMount message's cause)
    "no driver": ({}, lambda c: c.trust().grant_file(), {},
                  "driver name file.csi.azure.com not found in the list of registered CSI drivers"),
    "AKS-managed driver": ({"managed_file_driver": True}, lambda c: c.trust().grant_file(), {},
                           "is the AKS-managed Azure Files driver (label kubernetes.azure.com/managedby=aks)"),
    "driver 1.34.8": ({}, lambda c: c.trust().grant_file().install_file_driver("1.34.8"), {},
                      "AuthorizationFailed: The client '{oid}' with object id '{oid}' does not have authorization "
                      "to perform action 'Microsoft.Storage/storageAccounts/listKeys/action' over scope '{account}'"),
    "driver 1.34.8 with a key-listing role": (
        {}, lambda c: c.trust().grant_file("Storage Account Contributor").install_file_driver("1.34.8"), {},
        "KeyBasedAuthenticationNotPermitted: Key based authentication is not permitted on this storage account."),
    "flag True, not true": ({}, lambda c: c.trust().grant_file().install_file_driver(), {"flag": "True"},
                            "listKeys/action"),
    "NFS": ({}, lambda c: c.trust().grant_file().install_file_driver(), {"protocol": "nfs"},
            'sandbox policy: volume "pv-probe" uses protocol nfs: the driver mounts NFS with sec=sys'),
    "empty clientID": ({}, lambda c: c.trust().grant_file().install_file_driver(), {"client_id": ""},
                       "desc = clientID is empty for workload identity auth"),
    "pod without the workload identity label": ({}, lambda c: c.trust().grant_file().install_file_driver(),
                                                {"label": False}, "not opted in to workload identity"),
    "no federated credential": ({}, lambda c: c.grant_file().install_file_driver(), {},
                                f"setCredentialCache failed for {HOST} with error: exit status 1, output: Error "
                                f"fetching Workload Identity token: AADSTS700213: No matching federated identity "
                                f"record found"),
    "subject in another namespace": ({}, lambda c: c.trust(namespace="other").grant_file().install_file_driver(), {},
                                     "assertion subject 'system:serviceaccount:app:writer'"),
    "SMB OAuth off": ({"smb_oauth": False}, lambda c: c.trust().grant_file().install_file_driver(), {},
                      NO_TICKET + f"\n (sandbox: the node's syslog would say why: storage account {ACCOUNT} does "
                                  f"not have SMB OAuth enabled"),
    "role at the share only": ({}, lambda c: c.trust().grant_file(scope=c.share_scope()).install_file_driver(), {},
                               NO_TICKET + "\n (sandbox: the node's syslog would say why: sandbox approximation of "
                                           "Azure Files' 403 AuthorizationPermissionMismatch"),
    "SMB Share Contributor": ({}, lambda c: c.trust().grant_file("Storage File Data SMB Share Contributor")
                              .install_file_driver(), {},
                              "allowing Microsoft.Storage/storageAccounts/fileServices/runAsBuiltInFileAdministrator/"
                              "action, Microsoft.Storage/storageAccounts/fileServices/fileshares/files/read"),
    "shared key access on": ({}, lambda c: (c.trust().grant_file().install_file_driver(), c.set_shared_key(True)),
                             {}, f"storage account {ACCOUNT} allows shared key access"),
    "missing share": ({}, lambda c: c.trust().grant_file().install_file_driver(), {"share": "gone"},
                      f"mount //{HOST}/gone on /var/lib/kubelet/pods/"),
    "SMB 2.1": ({}, lambda c: c.trust().grant_file().install_file_driver(), {"mount_options": ("vers=2.1",)},
                "Output: mount error(13): Permission denied (sandbox: vers=2.1 has no SMB 3.x encryption"),
    "NTLM": ({}, lambda c: c.trust().grant_file().install_file_driver(), {"mount_options": ("sec=ntlmssp",)},
             "sandbox policy: mount option 'sec=ntlmssp' would not be a token-only mount"),
    "a user name": ({}, lambda c: c.trust().grant_file().install_file_driver(),
                    {"mount_options": ("uid=0,username=stkeylesskubelet",)},
                    "sandbox policy: mount option 'username=stkeylesskubelet'"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_each_broken_link_fails_with_its_own_message(sandbox, tmp_path, case):
    kwargs, setup, workload, expected = BROKEN[case]
    chain = FilesChain(sandbox, tmp_path, **kwargs)
    setup(chain)
    chain.file_workload("probe", **workload)
    message = failure(chain, "probe")
    expected = expected.format(oid=chain.identity.principal_id, account=chain.account.id)
    assert message.startswith('MountVolume.') and 'for volume "pv-probe"' in message, message
    assert expected in message, message
    assert sandbox.counters()["kubelet"]["jobs_failed"] == 1 and share_files(sandbox) == {}
    legacy = case.startswith(("driver 1.34.8", "flag True"))
    assert sandbox.counters()["kubelet"]["key_fetches"] == (1 if legacy else 0)


def test_missing_share_and_missing_account_messages(sandbox, chain):
    chain.trust().grant_file().install_file_driver()
    chain.file_workload("gone", share="gone")
    message = failure(chain, "gone")
    assert message.endswith(
        f"failed with mount failed: exit status 32\nMounting command: mount\nMounting arguments: -t cifs -o "
        f"file_mode=0777,dir_mode=0777,actimeo=30,mfsymlinks,nosharesock,<masked> //{HOST}/gone /var/lib/kubelet/pods/"
        f"{chain.pod('gone').metadata.uid}/volumes/kubernetes.io~csi/pv-gone/mount\nOutput: mount error(2): No such "
        f"file or directory\nRefer to the mount.cifs(8) manual page (e.g. man mount.cifs) and kernel log messages "
        f"(dmesg)\n\nPlease refer to http://aka.ms/filemounterror for possible causes and solutions for mount "
        f"errors."), message
    assert f"desc = volume({RG}#{ACCOUNT}#gone#gone) mount //{HOST}/gone on " in message
    sandbox.call("DELETE", "/resources", query={"id": chain.account.id})
    chain.file_workload("noaccount")
    assert NO_TICKET + (f"\n (sandbox: the node's syslog would say why: sandbox: storage account {ACCOUNT} does not "
                        f"exist (looked in resource group {RG} and the whole sandbox): lookup {HOST}: no such "
                        f"host)") in failure(chain, "noaccount")


def test_a_csidriver_without_token_requests_gives_a_node_local_directory(sandbox, chain):
    """No token: the driver skips NodeStageVolume (ns:331-333) and the pod sees an empty local directory; a probe
    without the cifs guard passes on it, the guard fails it."""
    chain.trust().grant_file().install_file_driver(token_requests=False)
    chain.file_workload("plain", script="f=/mnt/share/x.txt && echo x > $f && echo keyless write+read ok")
    assert chain.job("plain").status.succeeded == 1 and share_files(sandbox) == {}
    decision = decisions(sandbox)[-1]
    assert (decision["step"], decision["blobs"]) == ("node-local", [])
    assert 'logged "Skip NodeStageVolume ... service account token is empty"' in decision["message"]
    chain.file_workload("checked")
    assert chain.job("checked").status.failed == 1 and chain.log("checked") == NOT_SMB + "\n"
    assert (decisions(sandbox)[-1]["step"], decisions(sandbox)[-1]["message"]) == ("probe", NOT_SMB)
    assert sandbox.counters()["kubelet"]["key_fetches"] == 0


LONG_PROBE = ("f=/mnt/share/long.txt && echo first > $f && echo first write ok && sleep 7200 && echo second > $f "
              "&& echo second write ok")


@pytest.mark.parametrize("version, republish", [("1.35.2", False), ("1.35.7", True)])
def test_a_running_mount_outlives_its_token_only_with_republish(sandbox, chain, version, republish):
    """The chart's token request has no expirationSeconds (1 h default); without requiresRepublish (chart before
    1.35.3) azfilesrefresh's later exchange uses the stale token file and fails."""
    chain.trust().grant_file().install_file_driver(version)
    chain.file_workload("long", script=LONG_PROBE)
    assert chain.job("long").status.active == 1 and chain.log("long") == "first write ok\n"
    decided = chain.advance(7200)["decisions"]
    assert [(d["job"], d["clock"]) for d in decided] == [("long", 7200)]
    if republish:
        assert chain.job("long").status.succeeded == 1 and chain.log("long") == "first write ok\nsecond write ok\n"
        return
    assert chain.job("long").status.failed == 1
    log = chain.log("long")
    assert log.startswith("first write ok\nsh: can't create /mnt/share/long.txt: Input/output error\n"), log
    assert "sandbox: azfilesrefresh on node" in log and "AADSTS700024" in log
    assert (f"written 7200 s ago and expired after 3600 s: CSIDriver {FILE_DRIVER} does not have requiresRepublish: "
            f"true") in log
    assert decided[0]["step"] == "token-refresh"
