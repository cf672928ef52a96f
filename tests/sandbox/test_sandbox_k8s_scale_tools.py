"""Real `kubectl` (1.34) and `kubernetes.core.k8s_scale` against the emulated nodes and scale subresource.

The binaries come from sandbox.tools.kube_tools() (PyPI wheel, cached); without a package index these skip.
Lenient behavior they catch: no Node kind (kubectl get nodes: "the server doesn't have a resource type"), no
scale subresource (kubectl scale / k8s_scale: 404, "Cannot perform scale").
"""

import json
import os
import subprocess
import sys

import kubernetes
from k8s_test_helpers import ansible_env


PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")


def _deployment(name, replicas):
    return {"metadata": {"name": name}, "spec": {
        "replicas": replicas, "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": {"app": name}},
                     "spec": {"containers": [{"name": "main", "image": "nginx:1.27"}]}}}}


def test_kubectl_get_nodes_shows_a_table(kubectl):
    table = kubectl("get", "nodes").stdout.splitlines()
    assert table[0].split() == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"] and len(table) == 2
    name, status, roles, _age, version = table[1].split()
    assert name.startswith("aks-nodepool1-") and (status, roles, version) == ("Ready", "<none>", "v1.33.2")
    wide = kubectl("get", "nodes", "-o", "wide").stdout.splitlines()
    assert wide[0].split() == ["NAME", "STATUS", "ROLES", "AGE", "VERSION", "INTERNAL-IP", "EXTERNAL-IP",
                               "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"]
    assert "Ubuntu 22.04.5 LTS" in wide[1] and "<none>" in wide[1].split()
    labels = kubectl("get", "nodes", "--show-labels").stdout
    assert "kubernetes.azure.com/agentpool=nodepool1" in labels and "kubernetes.io/os=linux" in labels
    refused = kubectl("delete", "node", name, check=False)  # nodes follow the node pools: read-only here
    assert refused.returncode == 1 and "Error from server (MethodNotAllowed)" in refused.stderr
    assert "Roles:              <none>" in kubectl("describe", "node", name).stdout


def test_kubectl_scale_writes_through_the_scale_subresource(kubectl, kube, sandbox):
    apps = kubernetes.client.AppsV1Api(kube.api_client)
    apps.create_namespaced_deployment("default", _deployment("web", 1))
    mark = sandbox.requests()[-1]["index"] + 1
    assert kubectl("scale", "deployment/web", "--replicas=3").stdout.strip() == "deployment.apps/web scaled"
    deployment = apps.read_namespaced_deployment("web", "default")
    assert (deployment.spec.replicas, deployment.metadata.generation, deployment.status.ready_replicas) == (3, 2, 3)
    writes = [r for r in sandbox.requests(since=mark) if r["kind"] == "kubernetes" and r["method"] != "GET"]
    assert [r["path"].rsplit("/", 2)[-2:] for r in writes] == [["web", "scale"]]
    # With a precondition kubectl reads the Scale and answers a mismatch itself.
    mismatch = kubectl("scale", "deployment/web", "--current-replicas=1", "--replicas=5", check=False)
    assert mismatch.returncode == 1 and "Expected replicas to be 1, was 3" in mismatch.stderr
    assert kubectl("scale", "deployment/web", "--current-replicas=3", "--replicas=0").returncode == 0
    assert apps.read_namespaced_deployment("web", "default").spec.replicas == 0
    scale = json.loads(kubectl("get", "--raw", "/apis/apps/v1/namespaces/default/deployments/web/scale").stdout)
    assert scale["spec"] == {"replicas": 0} and scale["status"]["selector"] == "app=web"
    owned = [m for m in apps.read_namespaced_deployment("web", "default").metadata.managed_fields
             if m.subresource == "scale"]
    assert [(m.manager, m.operation, m.fields_v1) for m in owned] == [
        ("kubectl", "Update", {"f:spec": {"f:replicas": {}}})]


def test_kubectl_get_networkpolicies(kubectl, kube):
    kubernetes.client.NetworkingV1Api(kube.api_client).create_namespaced_network_policy("default", {
        "metadata": {"name": "web-only"}, "spec": {"podSelector": {"matchLabels": {"app": "web"}}}})
    table = kubectl("get", "netpol").stdout.splitlines()
    assert table[0].split() == ["NAME", "POD-SELECTOR", "AGE"] and table[1].split()[:2] == ["web-only", "app=web"]


SCALE_PLAY = """\
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Scale
      kubernetes.core.k8s_scale:
        api_version: apps/v1
        kind: Deployment
        name: api
        namespace: default
        replicas: 4
        wait_timeout: 30
      register: scaled
    - name: Again
      kubernetes.core.k8s_scale:
        api_version: apps/v1
        kind: Deployment
        name: api
        namespace: default
        replicas: 4
      register: again
    - name: Report
      ansible.builtin.copy:
        dest: "{{ report }}"
        content: "{{ {'scaled': scaled.changed, 'replicas': scaled.result.spec.replicas,
                      'ready': scaled.result.status.readyReplicas, 'again': again.changed} | to_json }}"
"""


def test_kubernetes_core_k8s_scale(kube, tmp_path):
    kubernetes.client.AppsV1Api(kube.api_client).create_namespaced_deployment("default", _deployment("api", 1))
    playbook, report = tmp_path / "scale.yml", tmp_path / "report.json"
    playbook.write_text(SCALE_PLAY)
    result = subprocess.run([PLAYBOOK, str(playbook), "-e", f"report={report}"], check=False,
                            env=ansible_env(kube, tmp_path), capture_output=True, text=True, timeout=180,
                            cwd=str(tmp_path))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert json.loads(report.read_text()) == {"scaled": True, "replicas": 4, "ready": 4, "again": False}
