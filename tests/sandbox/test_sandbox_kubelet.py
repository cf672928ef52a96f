"""The Job "kubelet": a Job mounting a blob volume completes only if the whole keyless chain holds in the
sandbox's ARM and Kubernetes state, and fails with the message Azure/AKS would give otherwise."""

import pytest
from k8s_test_helpers import ansible_env
from keyless_chain_helpers import (ACCOUNT, DRIVER, MOUNT_CHECK, NOT_A_BLOB_MOUNT, RG, TOKEN_AUDIENCE, KeylessChain,
                                   run_playbook_json)


def conditions(job):
    return {c.type: c.status for c in job.status.conditions or []}


def failure(chain, job):
    """The FailedMount message of a failed Job's pod (after checking the failed shape once)."""
    status = chain.job(job).status
    assert status.failed == 1 and not status.succeeded, status
    assert conditions(chain.job(job)).get("Failed") == "True"
    assert chain.pod(job).status.phase == "Failed"
    mounts = [message for reason, message in chain.events(job) if reason == "FailedMount"]
    assert ("BackoffLimitExceeded", "Job has reached the specified backoff limit") in chain.events(job)
    assert len(mounts) == 1 and mounts[0] in chain.log(job), (mounts, chain.log(job))
    return mounts[0]


@pytest.fixture
def chain(sandbox, tmp_path):
    return KeylessChain(sandbox, tmp_path)


def test_keyless_job_completes_writes_the_probe_and_logs(sandbox, chain):
    chain.trust().grant().install_driver()
    chain.workload("probe-rw")
    job = chain.job("probe-rw")
    assert job.status.succeeded == 1 and job.status.completion_time and not job.status.active
    assert conditions(job) == {"SuccessCriteriaMet": "True", "Complete": "True"}
    assert chain.pod("probe-rw").status.phase == "Succeeded"
    assert chain.log("probe-rw") == "keyless write+read ok\n"
    blobs = sandbox.call("GET", "/kubelet/blobs")["containers"]
    assert list(blobs[chain.container_scope()]) == ["keyless-probe-probe-rw.txt"]
    assert blobs[chain.container_scope()]["keyless-probe-probe-rw.txt"]["content"] == "keyless-probe\n"

    # Read-only: a Reader role is enough, nothing is written.
    chain.workload("probe-ro", read_only=True)
    assert chain.job("probe-ro").status.succeeded == 1 and chain.log("probe-ro") == "keyless read ok\n"
    assert list(sandbox.call("GET", "/kubelet/blobs")["containers"][chain.container_scope()]) == \
        ["keyless-probe-probe-rw.txt"]

    # A Job without a blob volume completes; an unbound claim keeps the pod Pending and the Job active.
    chain.batch.create_namespaced_job("app", {"metadata": {"name": "plain"}, "spec": {"template": {"spec": {
        "restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox",
                                                  "command": ["sh", "-c", "echo hello"]}]}}}})
    assert chain.job("plain").status.succeeded == 1 and chain.log("plain") == "hello\n"
    chain.workload("unbound", pv=False)
    assert chain.job("unbound").status.active == 1 and chain.pod("unbound").status.phase == "Pending"
    unschedulable = ("0/2 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/2 "
                     "nodes are available: 2 Preemption is not helpful for scheduling.")
    assert ("FailedScheduling", unschedulable) in chain.events("unbound")

    counters = sandbox.counters()
    assert counters["kubelet"] == {"jobs_complete": 3, "jobs_failed": 0, "jobs_pending": 1, "key_fetches": 0}
    assert counters["list_keys"] == 0
    decisions = sandbox.call("GET", "/kubelet/decisions")["decisions"]
    assert [(d["job"], d["outcome"], d["step"]) for d in decisions] == [
        ("probe-rw", "succeeded", "mounted"), ("probe-ro", "succeeded", "mounted"),
        ("plain", "succeeded", "no-blob-volume"), ("unbound", "pending", "scheduling")]
    # DaemonSets report the AKS agent pool's node count.
    status = chain.apps.read_namespaced_daemon_set("csi-blob-node", "kube-system").status
    assert status.desired_number_scheduled == status.number_ready == status.number_available == 2


def _no_credential(chain):
    chain.grant().install_driver()


BROKEN = {
    # name: (set up the chain, workload kwargs, expected fragment of the FailedMount message)
    "no federated credential": (_no_credential, {}, "AADSTS700213: No matching federated identity record found"),
    "subject in another namespace": (lambda c: c.trust(namespace="other").grant().install_driver(), {},
                                     ("AADSTS700213: No matching federated identity record found for presented "
                                      "assertion subject 'system:serviceaccount:app:writer'")),
    "issuer without the trailing slash": (lambda c: c.trust(issuer=c.issuer.rstrip("/")).grant().install_driver(),
                                          {}, "only by a trailing slash"),
    "unknown client id": (lambda c: c.trust().grant().install_driver(),
                          {"client_id": "00000000-0000-0000-0000-00000000abcd"}, "AADSTS700016"),
    "reader role on a read-write volume": (lambda c: c.trust().grant("Storage Blob Data Reader").install_driver(),
                                           {}, ("AuthorizationPermissionMismatch: This request is not authorized "
                                                "to perform this operation using this permission.")),
    "shared key access on": (lambda c: (c.trust().grant().install_driver(), c.set_shared_key(True)), {},
                             "allows shared key access"),
    "AKS-managed driver": (lambda c: c.trust().grant(), {}, "AKS-managed blob driver"),
    "no driver": (lambda c: c.trust().grant(), {},
                  "driver name blob.csi.azure.com not found in the list of registered CSI drivers"),
    "missing container": (lambda c: c.trust().grant(scope=c.account.id).install_driver(), {"container": "gone"},
                          "ContainerNotFound: The specified container does not exist."),
    "pod without the workload identity label": (lambda c: c.trust().grant().install_driver(), {"label": False},
                                                "not opted in to workload identity"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_each_broken_link_fails_with_the_azure_message(sandbox, tmp_path, case):
    setup, kwargs, expected = BROKEN[case]
    chain = KeylessChain(sandbox, tmp_path, managed_blob_driver=case == "AKS-managed driver")
    setup(chain)
    chain.workload("probe", **kwargs)
    message = failure(chain, "probe")
    assert message.startswith('MountVolume.'), message
    assert 'for volume "pv-probe"' in message and expected in message, message
    assert sandbox.counters()["kubelet"]["jobs_failed"] == 1
    assert sandbox.call("GET", "/kubelet/blobs")["containers"] == {}


def test_account_key_mode_fetches_the_key_and_fails_on_a_keyless_account(sandbox, chain):
    chain.trust().grant().install_driver()
    chain.workload("key-denied", token_only=False)
    assert "AuthorizationFailed" in failure(chain, "key-denied")  # a data role cannot list keys
    chain.grant("Storage Account Key Operator Service Role", scope=chain.account.id)
    chain.workload("key-mode", token_only=False)
    message = failure(chain, "key-mode")
    assert message == ('MountVolume.SetUp failed for volume "pv-key-mode" : rpc error: code = Internal desc = '
                       'KeyBasedAuthenticationNotPermitted: Key based authentication is not permitted on this '
                       'storage account.')
    counters = sandbox.counters()
    assert counters["kubelet"]["key_fetches"] == 2 and counters["list_keys"] == 0  # ARM's counter is ours only


def test_label_policy_can_be_switched_off_and_missing_account_is_reported(sandbox, chain):
    chain.trust().grant().install_driver()
    sandbox.configure(kubelet_require_workload_identity_label=False)
    chain.workload("nolabel", label=False)
    assert chain.job("nolabel").status.succeeded == 1
    sandbox.call("DELETE", "/resources", query={"id": chain.account.id})
    chain.workload("noaccount")
    assert f"storage account {ACCOUNT} does not exist (looked in resource group {RG}" in failure(chain, "noaccount")


def test_k8s_log_and_events_through_kubernetes_core(kube, tmp_path):
    """What the workload role reads when a validation Job fails: k8s_log by job-name, k8s_info on Events."""
    results = run_playbook_json("job_logs_events.yml", ansible_env(kube, tmp_path), kubeconfig=kube.kubeconfig)
    assert results["Log of the completed probe"]["log_lines"] == ["keyless read ok", ""]  # k8s_log splits on \n
    failed_log = "\n".join(results["Log of the failed probe"]["log_lines"])
    assert "driver name blob.csi.azure.com not found in the list of registered CSI drivers" in failed_log
    events = results["Events of the namespace"]["resources"]
    mount = [e for e in events if e["reason"] == "FailedMount"]
    assert len(mount) == 1 and mount[0]["involvedObject"]["kind"] == "Pod" and mount[0]["type"] == "Warning"
    assert mount[0]["message"].startswith('MountVolume.MountDevice failed for volume "pv-probes"')
    assert mount[0]["involvedObject"]["name"].startswith("mount-")
    assert [(e["involvedObject"]["name"], e["message"]) for e in events if e["reason"] == "BackoffLimitExceeded"] \
        == [("mount", "Job has reached the specified backoff limit")]


def test_a_claim_being_deleted_holds_on_and_keeps_new_pods_unschedulable(sandbox, chain):
    """The completed probe's pod still holds its claim (pvc-protection), and the scheduler refuses a new pod on a
    claim in deletion; the claim goes once the Job and its pods are deleted."""
    chain.trust().grant().install_driver()
    chain.workload("probe-rw")
    chain.core.delete_namespaced_persistent_volume_claim("probe-rw-blob", "app")
    assert chain.core.read_namespaced_persistent_volume_claim("probe-rw-blob", "app").metadata.deletion_timestamp
    chain.batch.create_namespaced_job("app", {"metadata": {"name": "late"}, "spec": {"template": {"spec": {
        "restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}],
        "volumes": [{"name": "blob", "persistentVolumeClaim": {"claimName": "probe-rw-blob"}}]}}}})
    assert chain.job("late").status.active == 1 and chain.pod("late").status.phase == "Pending"
    refused = ('0/2 nodes are available: persistentvolumeclaim "probe-rw-blob" is being deleted. preemption: 0/2 '
               'nodes are available: 2 Preemption is not helpful for scheduling.')
    assert ("FailedScheduling", refused) in chain.events("late")
    for job in ("probe-rw", "late"):
        chain.batch.delete_namespaced_job(job, "app", propagation_policy="Background", grace_period_seconds=0)
    claims = chain.core.list_namespaced_persistent_volume_claim("app").items
    assert [c.metadata.name for c in claims] == []


def last_decision(sandbox):
    return sandbox.call("GET", "/kubelet/decisions")["decisions"][-1]


def exit_code(chain, job):
    return chain.pod(job).status.container_statuses[0].state.terminated.exit_code


def test_a_driver_without_token_requests_gives_a_node_local_directory(sandbox, chain):
    """Driver 1.27.9 gets no token: NodeStageVolume returns at once and NodePublishVolume bind-mounts the empty
    staging directory. A write/read probe passes on that node-local directory and nothing reaches blob storage;
    the workload role's mountinfo check is what fails it."""
    chain.trust().grant().install_driver(token_requests=False)
    chain.workload("plain")
    assert chain.job("plain").status.succeeded == 1 and chain.log("plain") == "keyless write+read ok\n"
    assert sandbox.call("GET", "/kubelet/blobs")["containers"] == {}  # the write stayed on the node
    decision = last_decision(sandbox)
    assert (decision["outcome"], decision["step"], decision["blobs"]) == ("succeeded", "node-local", [])
    assert "NodePublishVolume bind-mounted the empty staging directory" in decision["message"]
    assert not [reason for reason, _message in chain.events("plain") if reason == "FailedMount"]  # the mount "worked"

    probe = (MOUNT_CHECK + "f=/mnt/blob/keyless-probe-checked.txt && echo keyless-probe > $f && "
             "echo keyless write+read ok")
    chain.workload("checked", script=probe)
    status = chain.job("checked").status
    assert status.failed == 1 and not status.succeeded and chain.pod("checked").status.phase == "Failed"
    assert chain.log("checked") == NOT_A_BLOB_MOUNT + "\n" and exit_code(chain, "checked") == 1
    assert ("BackoffLimitExceeded", "Job has reached the specified backoff limit") in chain.events("checked")
    assert (last_decision(sandbox)["step"], last_decision(sandbox)["message"]) == ("probe", NOT_A_BLOB_MOUNT)
    assert sandbox.call("GET", "/kubelet/blobs")["containers"] == {}

    # With the token request the same probe sees the blobfuse2 (fuse) mount and writes the blob.
    chain.storage_k8s.patch_csi_driver(DRIVER, {"spec": {"requiresRepublish": True, "tokenRequests": [
        {"audience": TOKEN_AUDIENCE, "expirationSeconds": 3600}]}})
    chain.workload("fixed", script=probe.replace("checked", "fixed"))
    assert chain.job("fixed").status.succeeded == 1 and chain.log("fixed") == "keyless write+read ok\n"
    assert list(sandbox.call("GET", "/kubelet/blobs")["containers"][chain.container_scope()]) == \
        ["keyless-probe-fixed.txt"]
    assert sandbox.counters()["kubelet"] == {"jobs_complete": 2, "jobs_failed": 1, "jobs_pending": 0,
                                             "key_fetches": 0}


LONG_PROBE = ("f=/mnt/blob/long.txt && echo first > $f && echo first write ok && sleep 7200 && echo second > $f "
              "&& echo second write ok")


@pytest.mark.parametrize("republish", [False, True], ids=["requiresRepublish false", "requiresRepublish true"])
def test_a_running_mount_outlives_its_token_only_with_republish(sandbox, chain, republish):
    """The token the kubelet passed at mount (expirationSeconds 3600) is the one in the node's token file unless
    the kubelet republishes; when blobfuse2's Entra token runs out, its refresh with that file fails with
    AADSTS700024 and the pod's next access gets EIO."""
    chain.trust().grant().install_driver(requires_republish=republish)
    chain.workload("long", script=LONG_PROBE)
    assert chain.job("long").status.active == 1 and chain.pod("long").status.phase == "Running"
    assert chain.log("long") == "first write ok\n" and last_decision(sandbox)["step"] == "running"
    assert chain.advance(3600) == {"now": 3600, "decisions": []}  # still sleeping
    decided = chain.advance(3600)["decisions"]
    assert [(d["job"], d["clock"]) for d in decided] == [("long", 7200)]
    if republish:
        assert chain.job("long").status.succeeded == 1
        assert chain.log("long") == "first write ok\nsecond write ok\n"
    else:
        assert chain.job("long").status.failed == 1 and exit_code(chain, "long") == 2
        log = chain.log("long")
        assert log.startswith("first write ok\nsh: can't create /mnt/blob/long.txt: Input/output error\n"), log
        assert "AADSTS700024: Client assertion is not within its valid time range." in log
        assert "written 7200 s ago and expired after 3600 s" in log and "requiresRepublish: true" in log
        assert decided[0]["step"] == "token-refresh" and "AADSTS700024" in decided[0]["message"]
    # A new pod on the same volume mounts with a fresh token of its own, with or without republish.
    chain.workload("again", claim="long-blob")
    assert chain.job("again").status.succeeded == 1


def test_a_new_mount_rewrites_the_shared_token_file_and_a_valid_entra_token_needs_none(sandbox, chain):
    """Without republish: the token file is per node, clientID and account, so another pod's mount refreshes it
    for the running one; and an access while blobfuse2's Entra token is still valid needs no file at all."""
    chain.trust().grant().install_driver(requires_republish=False)
    chain.workload("long", script=LONG_PROBE)
    chain.workload("short", script="f=/mnt/blob/s.txt && echo x > $f && sleep 3000 && echo y > $f && echo ok")
    assert chain.advance(3000)["decisions"][0]["job"] == "short"  # Entra token (3599 s) still valid
    assert chain.job("short").status.succeeded == 1 and chain.log("short") == "ok\n"
    chain.advance(4000)
    chain.workload("fresh", claim="long-blob")  # same node, identity and account: the file is rewritten at 7000
    assert chain.advance(200)["decisions"][0]["outcome"] == "succeeded"
    assert chain.job("long").status.succeeded == 1


def test_the_kubelet_clock_refuses_bad_input_and_forgets_deleted_pods(sandbox, chain):
    from sandbox.client import SandboxError
    for body in ({"seconds": -1}, {"seconds": "60"}, {"seconds": True}, {}):
        with pytest.raises(SandboxError) as err:
            chain.sandbox.call("POST", "/kubelet/advance", body)
        assert err.value.status == 400 and "seconds must be an integer" in err.value.body
    chain.trust().grant().install_driver(requires_republish=False)
    chain.workload("long", script=LONG_PROBE)
    chain.batch.delete_namespaced_job("long", "app", propagation_policy="Background")
    assert chain.advance(7200) == {"now": 7200, "decisions": []}
