"""Role blob_csi_driver with the helm stand-in wrapping Helm 3 (the sandbox default) and then Helm 4.

kubernetes.core 6.2 (tests/constraints.txt) predates Helm 4: after every install or upgrade its helm module reads the
release back with `helm list --all` (plugins/modules/helm.py get_release_status(all_status=True)), a flag Helm 4
removed. The stand-in speaks the CLI of the helm it wraps (sandbox/helm_standin/real.py), so the same role run
shows what a real Helm 4 would do. Cases of the driver role itself: test_driver_and_workload_roles.py (Chain).
"""

import kubernetes

from .playbook import run_playbook
from .test_driver_and_workload_roles import Chain, env_for

RELEASE = [{"name": "release", "ansible.builtin.debug": {"var": "blob_csi_driver_release"}}]


def test_role_installs_with_helm_3_and_kubernetes_core_6_2_breaks_on_helm_4_upgrades(sandbox, tmp_path):
    chain = Chain(sandbox, tmp_path)
    env = env_for(sandbox, tmp_path)
    helm3, helm4 = sandbox.conn["helm_binaries"]["3"], sandbox.conn["helm_binaries"]["4"]

    run = run_playbook(tmp_path, chain.driver_tasks(blob_csi_driver_helm_binary=helm3) + RELEASE, env)
    assert run.rc == 0 and run.stats["changed"] >= 1, run
    release = run.result("release")["blob_csi_driver_release"]
    assert release["command"].startswith(helm3 + " ") and release["status"]["status"] == "deployed", release

    # Helm 4, values changed: the upgrade is applied, then `helm list --all` fails the task.
    run = run_playbook(tmp_path, chain.driver_tasks(blob_csi_driver_helm_binary=helm4,
                                                    blob_csi_driver_values={"controller": {"replicas": 1}}), env)
    assert run.rc != 0
    assert "Error: unknown flag: --all" in run.failure_messages, run
    apps = kubernetes.client.AppsV1Api(kubernetes.config.new_client_from_config(config_file=str(chain.kubeconfig)))
    assert apps.read_namespaced_deployment("csi-blob-controller", "kube-system").spec.replicas == 1
