"""Role blob_csi_driver's node DaemonSet wait can fail, and says why (the sandbox decides DaemonSet readiness from
the emulated nodes and ServiceAccounts instead of reporting every DaemonSet ready on every node).

Lenient behavior caught: the wait passing on a DaemonSet with 0 desired pods (0 of 0 ready), and a DaemonSet
reported ready (desired = node count) although no node matches it or its pods cannot be created.
"""

import kubernetes
import pytest

from . import sdk
from .playbook import run_playbook
from .test_driver_and_workload_roles import CLUSTER, RG, Chain, env_for

NO_NODE = "DaemonSet kube-system/csi-blob-node has 0 desired pods: no node matches it."


def taint_the_only_pool(chain, taint):
    """The cluster's only agent pool gets a taint (ARM agentPools PUT: the emulated nodes follow)."""
    sdk.containerservice_client(chain.conn).agent_pools.begin_create_or_update(RG, CLUSTER, "system", {"properties": {
        "count": 1, "vmSize": "Standard_D2s_v5", "mode": "System", "osType": "Linux",
        "nodeTaints": [taint]}}).result()


def daemonset_status(chain):
    apps = kubernetes.client.AppsV1Api(kubernetes.config.new_client_from_config(config_file=str(chain.kubeconfig)))
    return apps.read_namespaced_daemon_set("csi-blob-node", "kube-system").status


@pytest.mark.parametrize("case", ["values nodeSelector matches no node", "taint the values do not tolerate"])
def test_node_daemonset_that_no_node_matches_fails_the_role_at_once(sandbox, tmp_path, case):
    chain = Chain(sandbox, tmp_path)
    if case == "values nodeSelector matches no node":
        values = {"node": {"nodeSelector": {"storage.example.com/blob": "yes"}}}
    else:
        taint_the_only_pool(chain, "dedicated=batch:NoSchedule")
        values = {"node": {"tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"}]}}
    # Many checks allowed: desired 0 (observed by the controller) must fail on the first one, not wait them out.
    run = run_playbook(tmp_path, chain.driver_tasks(blob_csi_driver_values=values, blob_csi_driver_ready_retries=50,
                                                    blob_csi_driver_ready_delay=0), env_for(sandbox, tmp_path))
    assert run.rc != 0, run
    assert NO_NODE in run.failure_messages, run
    assert "None of the cluster's 1 node(s) matches" in run.failure_messages
    assert "node.tolerations in blob_csi_driver_values" in run.failure_messages
    wait = next(r for name, r in run.results.items() if "until its pods are ready" in name)
    assert wait.get("attempts", 1) == 1, wait
    status = daemonset_status(chain)
    assert (status.desired_number_scheduled, status.number_ready) == (0, 0)


def test_tainted_pool_still_runs_the_node_daemonset_with_the_chart_tolerations(sandbox, tmp_path):
    """The chart's default node.tolerations (operator Exists) tolerate any taint, as upstream's do."""
    chain = Chain(sandbox, tmp_path)
    taint_the_only_pool(chain, "CriticalAddonsOnly=true:NoSchedule")
    run = run_playbook(tmp_path, chain.driver_tasks(), env_for(sandbox, tmp_path))
    assert run.rc == 0, run
    status = daemonset_status(chain)
    assert (status.desired_number_scheduled, status.number_ready) == (1, 1)


def test_node_pods_that_cannot_start_fail_the_role_after_the_bounded_checks(sandbox, tmp_path):
    """serviceAccount.create false without the ServiceAccount: the DaemonSet wants 1 pod and gets none."""
    chain = Chain(sandbox, tmp_path)
    run = run_playbook(tmp_path, chain.driver_tasks(blob_csi_driver_values={"serviceAccount": {"create": False}},
                                                    blob_csi_driver_ready_retries=2, blob_csi_driver_ready_delay=0),
                       env_for(sandbox, tmp_path))
    assert run.rc != 0, run
    assert "DaemonSet kube-system/csi-blob-node has 0 of 1 desired pods ready after" in run.failure_messages, run
    assert ('Last warning: Error creating: pods "csi-blob-node-" is forbidden: error looking up service account '
            'kube-system/csi-blob-node-sa: serviceaccount "csi-blob-node-sa" not found') in run.failure_messages
    wait = next(r for name, r in run.results.items() if "until its pods are ready" in name)
    assert wait.get("attempts", 1) >= 2, wait  # it did retry, bounded by the count


def test_a_controller_no_node_tolerates_fails_the_role_after_the_bounded_checks(sandbox, tmp_path):
    """The only pool's taint is tolerated by the node DaemonSet (it tolerates every taint) but not by the controller
    Deployment (upstream's controller tolerations): the node side is ready, the controller never is."""
    chain = Chain(sandbox, tmp_path)
    taint_the_only_pool(chain, "dedicated=batch:NoSchedule")
    run = run_playbook(tmp_path, chain.driver_tasks(blob_csi_driver_ready_retries=2, blob_csi_driver_ready_delay=0),
                       env_for(sandbox, tmp_path))
    assert run.rc != 0, run
    assert ("Deployment kube-system/csi-blob-controller is not available (0 of 2 replicas ready) after 2 check(s)"
            in run.failure_messages), run
    assert (daemonset_status(chain).desired_number_scheduled, daemonset_status(chain).number_ready) == (1, 1)
