"""The workload role's validation Job proves a blobfuse2 mount, not just a writable directory: with a CSIDriver
that lost its tokenRequests, driver 1.27.9 publishes an empty node-local directory, where a write/read probe
would pass; the role's mountinfo check fails the Job instead (judged by the sandbox kubelet)."""

from .playbook import run_playbook
from .test_driver_and_workload_roles import Chain, env_for


def test_a_csidriver_without_token_requests_fails_validation_as_not_a_blob_mount(sandbox, tmp_path):
    import kubernetes
    chain = Chain(sandbox, tmp_path).healthy()
    env = env_for(sandbox, tmp_path)
    assert run_playbook(tmp_path, chain.driver_tasks(), env).rc == 0
    storage = kubernetes.client.StorageV1Api(kubernetes.config.new_client_from_config(config_file=str(chain.kubeconfig)))
    storage.patch_csi_driver("blob.csi.azure.com", {"spec": {"tokenRequests": None}})
    assert not storage.read_csi_driver("blob.csi.azure.com").spec.token_requests

    run = run_playbook(tmp_path, chain.workload_tasks(chain.workloads()[:1]), env)
    assert run.rc != 0
    assert "Keyless blob access could not be proven for 1 workload(s)" in run.failure_messages, run
    assert "(log: not a blob mount: the CSIDriver has no tokenRequests" in run.failure_messages, run
    assert "Hint: /mnt/blob was not a blobfuse2 (fuse) mount" in run.failure_messages, run
    assert sandbox.call("GET", "/kubelet/blobs")["containers"] == {}  # nothing reached blob storage
    steps = [(d["outcome"], d["step"]) for d in sandbox.call("GET", "/kubelet/decisions")["decisions"]]
    assert steps == [("failed", "probe")], steps
