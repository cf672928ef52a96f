"""The hub's in-process interface (what the AKS provider and the later job "kubelet" use), and
persistence of cluster state across a restart."""

import json

import kubernetes
import pytest

from sandbox import client
from sandbox.app import App
from sandbox.k8s import KubeEndpoint, kinds, kubeconfig
from sandbox.k8s.operations import WriteOptions, create

AKS_ID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks1"
JOB = kinds.BY_KEY["batch/jobs"]
POD = kinds.BY_KEY["/pods"]


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    app = App(workdir=str(tmp_path_factory.mktemp("inprocess")))
    app.bind("127.0.0.1", 12345)
    with open(app.kube.ca_file, "w", encoding="utf-8") as handle:
        handle.write("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    return app


@pytest.fixture
def hub(app):
    app.store.reset()
    return app.kube


def _job(name, account="default"):
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"template": {"spec": {"restartPolicy": "Never", "serviceAccountName": account,
                                           "containers": [{"name": "main", "image": "busybox"}]}}}}


def test_hub_interface(hub):
    endpoint = hub.add_cluster(AKS_ID, oidc_issuer_url="https://issuer.example/aks1/")
    assert isinstance(endpoint, KubeEndpoint)
    assert endpoint.server.startswith("https://127.0.0.1:12345/k8s/aks1-") and endpoint.ca_file == hub.ca_file
    assert hub.add_cluster(AKS_ID.upper().replace("SUBSCRIPTIONS", "subscriptions")) == endpoint
    assert hub.endpoint(AKS_ID.lower()) == endpoint
    cluster = hub.cluster(AKS_ID)
    assert cluster.oidc_issuer_url == "https://issuer.example/aks1/" and cluster.kubernetes_version == "1.33.2"
    text = kubeconfig(endpoint, "aks1")
    assert f"server: \"{endpoint.server}\"" in text and "certificate-authority-data: LS0t" in text
    hub.remove_cluster(AKS_ID)
    assert hub.endpoint(AKS_ID) is None and hub.cluster(AKS_ID) is None


def test_job_hooks_decide(hub):
    decisions = {"ok": {"outcome": "succeeded", "logs": "mounted\n",
                        "events": [("Started", "Started container main", "Normal")]},
                 "bad": {"outcome": "failed", "message": "AADSTS700213", "logs": "AADSTS700213: no match\n"},
                 "stuck": {"outcome": "pending",
                           "events": [("FailedMount", "MountVolume.SetUp failed for volume \"pv\"", "Warning")]}}
    seen = []

    def kubelet(cluster, job):
        seen.append(job["metadata"]["name"])
        return decisions.get(job["metadata"]["name"])

    saved = list(hub.job_hooks)
    hub.job_hooks[:] = [kubelet]  # this hook alone: the sandbox's Job kubelet (sandbox/kubelet) would decide first
    try:
        hub.add_cluster(AKS_ID)
        cluster = hub.cluster(AKS_ID)
        with hub.store.lock:
            for name in ("ok", "bad", "stuck", "undecided"):
                create(cluster, JOB, "default", _job(name), WriteOptions(manager="test"))
            jobs = {name: cluster.get(JOB, "default", name) for name in ("ok", "bad", "stuck", "undecided")}
            pods = {p["metadata"]["labels"]["job-name"]: p for p in cluster.items(POD, "default")}
            logs = {name: cluster.pod_logs.get(("default", p["metadata"]["name"]), {}) for name, p in pods.items()}
            reasons = sorted(e["reason"] for e in cluster.items(kinds.BY_KEY["/events"], "default"))
    finally:
        hub.job_hooks[:] = saved
    assert seen == ["ok", "bad", "stuck", "undecided"]
    assert [c["type"] for c in jobs["ok"]["status"]["conditions"]] == ["SuccessCriteriaMet", "Complete"]
    assert jobs["ok"]["status"]["succeeded"] == 1 and pods["ok"]["status"]["phase"] == "Succeeded"
    assert logs["ok"] == {"main": "mounted\n"}
    assert jobs["bad"]["status"]["failed"] == 1 and pods["bad"]["status"]["phase"] == "Failed"
    assert [c["type"] for c in jobs["bad"]["status"]["conditions"]] == ["FailureTarget", "Failed"]
    state = pods["bad"]["status"]["containerStatuses"][0]["state"]["terminated"]
    assert state["exitCode"] == 1 and state["message"] == "AADSTS700213"
    for name in ("stuck", "undecided"):
        assert jobs[name]["status"]["active"] == 1 and pods[name]["status"]["phase"] == "Pending"
    assert "FailedMount" in reasons and "Completed" in reasons and "BackoffLimitExceeded" in reasons


def test_state_survives_a_restart(tmp_path):
    state_file = str(tmp_path / "state.json")
    with client.start(str(tmp_path / "one"), state_file=state_file) as sbx:
        info = sbx.add_kube_cluster(AKS_ID, kubeconfig_path=str(tmp_path / "kubeconfig"))
        api = kubernetes.config.new_client_from_config(config_file=str(tmp_path / "kubeconfig"))
        kubernetes.client.CoreV1Api(api).create_namespaced_config_map(
            "default", {"metadata": {"name": "kept"}, "data": {"k": "v"}})
    with open(state_file, encoding="utf-8") as handle:
        assert json.load(handle)["sections"]["kubernetes"]["clusters"][0]["token"] == info["token"]
    with client.start(str(tmp_path / "one"), state_file=state_file) as sbx:
        again = sbx.add_kube_cluster(AKS_ID, kubeconfig_path=str(tmp_path / "kubeconfig2"))
        assert again["token"] == info["token"] and again["slug"] == info["slug"]
        api = kubernetes.config.new_client_from_config(config_file=str(tmp_path / "kubeconfig2"))
        core = kubernetes.client.CoreV1Api(api)
        assert core.read_namespaced_config_map("kept", "default").data == {"k": "v"}
        created = core.create_namespaced_config_map("default", {"metadata": {"name": "new"}})
        kept = core.read_namespaced_config_map("kept", "default")
        assert int(created.metadata.resource_version) > int(kept.metadata.resource_version)
