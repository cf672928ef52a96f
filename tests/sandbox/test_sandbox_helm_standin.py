"""The helm stand-in (kubernetes.core.helm's binary_path in sandbox runs) and the stand-in blob-csi-driver chart,
rendered by a real `helm template`."""

import json
import os
import subprocess

import pytest
import yaml
from k8s_test_helpers import ansible_env
from keyless_chain_helpers import run_playbook_json

from sandbox import tools
from sandbox.helm_standin import charts

CHART = os.path.join(charts.CHARTS_DIR, "blob-csi-driver")
UPSTREAM = charts.UPSTREAM_REPO


def real_helm():
    try:
        return tools.kube_tools()["helm"]
    except tools.ToolsUnavailable as exc:
        pytest.skip(f"no real helm binary: {exc}")


def render(helm, tmp_path, values, *extra):
    home = tmp_path / "helm-home"
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "HELM_CACHE_HOME": str(home),
           "HELM_CONFIG_HOME": str(home), "HELM_DATA_HOME": str(home)}
    values_file = tmp_path / "values.yaml"
    values_file.write_text(yaml.safe_dump(values))
    result = subprocess.run([helm, "template", "blob-csi-driver", CHART, "--namespace", "kube-system",
                             "-f", str(values_file), *extra], capture_output=True, text=True, env=env, timeout=60,
                            check=False)
    assert result.returncode == 0, result.stderr
    return {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(result.stdout) if d}


def test_real_helm_template_renders_the_role_values(tmp_path):
    objects = render(real_helm(), tmp_path, {"node": {"enableBlobfuseProxy": False}, "controller": {"replicas": 1},
                                             "workloadIdentity": {"clientID": "cid-1"}})
    assert set(objects) == {("CSIDriver", "blob.csi.azure.com"), ("DaemonSet", "csi-blob-node"),
                            ("Deployment", "csi-blob-controller"), ("ServiceAccount", "csi-blob-controller-sa"),
                            ("ServiceAccount", "csi-blob-node-sa")}
    driver = objects[("CSIDriver", "blob.csi.azure.com")]["spec"]
    assert driver["tokenRequests"] == [{"audience": "api://AzureADTokenExchange", "expirationSeconds": 3600}]
    controller = objects[("Deployment", "csi-blob-controller")]
    assert controller["spec"]["replicas"] == 1 and controller["metadata"]["namespace"] == "kube-system"
    env = {e["name"]: e.get("value") for c in controller["spec"]["template"]["spec"]["containers"]
           for e in c.get("env") or []}
    assert env["AZURE_CLIENT_ID"] == "cid-1" and "AZURE_TENANT_ID" not in env
    node = objects[("DaemonSet", "csi-blob-node")]["spec"]["template"]
    assert "initContainers" not in node["spec"]
    assert node["metadata"]["annotations"]["blob.csi.azure.com/blobfuse-proxy"] == "disabled"
    assert "--enable-blobfuse-proxy=false" in node["spec"]["containers"][1]["args"]

    defaults = render(real_helm(), tmp_path, {})
    assert defaults[("Deployment", "csi-blob-controller")]["spec"]["replicas"] == 2
    node = defaults[("DaemonSet", "csi-blob-node")]["spec"]["template"]["spec"]
    assert node["initContainers"][0]["name"] == "install-blobfuse-proxy"
    assert all("AZURE_CLIENT_ID" not in json.dumps(c) for c in node["containers"])


@pytest.mark.parametrize("version, token_requests", [("v1.23.2", False), ("v1.23.3", True), ("1.27.0", True)])
def test_token_requests_follow_the_chart_version(tmp_path, version, token_requests):
    chart = charts.resolve("blob-csi-driver", UPSTREAM + "/", version.lstrip("v"))
    try:
        manifest = charts.render(chart, "r", "kube-system", {})
    finally:
        chart.cleanup()
    assert chart.version == version
    driver = next(d for d in yaml.safe_load_all(manifest) if d and d["kind"] == "CSIDriver")
    assert ("tokenRequests" in driver["spec"]) is token_requests


def run_helm(sandbox, *args, env=None):
    return subprocess.run([sandbox.conn["helm_binary"], *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})}, check=False)


def test_standin_cli_shapes_and_errors(sandbox, kube, tmp_path):
    version = run_helm(sandbox, "version")
    assert version.returncode == 0 and version.stdout.startswith('version.BuildInfo{Version:"v3.')
    missing = run_helm(sandbox, "--version=1.27.99", f"--repo={UPSTREAM}", "show", "chart", "blob-csi-driver")
    assert missing.returncode == 1 and missing.stderr == (
        f'Error: chart "blob-csi-driver" version "1.27.99" not found in {UPSTREAM} repository\n')
    shown = yaml.safe_load(run_helm(sandbox, f"--repo={UPSTREAM}", "--version", "v1.24.9", "show", "chart",
                                    "blob-csi-driver").stdout)
    assert (shown["name"], shown["version"], shown["appVersion"]) == ("blob-csi-driver", "v1.24.9", "v1.24.9")
    other = run_helm(sandbox, "--repo=https://charts.example.invalid/", "show", "chart", "x")
    assert other.returncode == 1 and "not a valid chart repository or cannot be reached" in other.stderr
    env = {"KUBECONFIG": kube.kubeconfig, "HELM_NAMESPACE": "kube-system"}
    assert run_helm(sandbox, "list", "--output=yaml", "--filter", "x", env=env).stdout == "[]\n"
    absent = run_helm(sandbox, "uninstall", "nothing", env=env)
    assert absent.returncode == 1 and "Release not loaded: nothing: release: not found" in absent.stderr
    # A CSIDriver that Helm does not own (e.g. the AKS-managed one) is refused, like Helm does.
    kube.resource("storage.k8s.io/v1", "CSIDriver").create(body={"metadata": {"name": "blob.csi.azure.com"},
                                                                 "spec": {"attachRequired": False}})
    taken = run_helm(sandbox, f"--repo={UPSTREAM}", "upgrade", "-i", "blob-csi-driver", "blob-csi-driver", env=env)
    assert taken.returncode == 1
    assert ('Unable to continue with install: CSIDriver "blob.csi.azure.com" in namespace "" exists and cannot be '
            'imported into the current release: invalid ownership metadata; label validation error: missing key '
            '"app.kubernetes.io/managed-by": must be set to "Helm"') in taken.stderr
    failed = yaml.safe_load(run_helm(sandbox, "list", "-o", "yaml", "--all", env=env).stdout)
    assert [(r["name"], r["status"]) for r in failed] == [("blob-csi-driver", "failed")]


def test_kubernetes_core_helm_lifecycle_with_the_standin(sandbox, kube, tmp_path):
    mark = sandbox.requests()[-1]["index"] + 1
    results = run_playbook_json("helm_release.yml", ansible_env(kube, tmp_path), helm=sandbox.conn["helm_binary"],
                                kubeconfig=kube.kubeconfig)
    changed = [results[name]["changed"] for name in ("Install", "Same chart version and values again",
                                                     "Values changed", "Uninstall")]
    assert changed == [True, False, True, True]
    status = results["Install"]["status"]
    assert (status["chart"], status["status"], status["app_version"]) == ("blob-csi-driver-1.27.9", "deployed", "1.27.9")
    assert status["values"] == {"controller": {"replicas": 1}, "node": {"enableBlobfuseProxy": False},
                                "workloadIdentity": {"clientID": "11111111-2222-3333-4444-555555555555"}}
    assert results["Values changed"]["status"]["revision"] == "2"
    assert "--wait --timeout 30s" in results["Values changed"]["command"]
    [driver] = results["CSIDriver"]["resources"]
    assert driver["spec"]["tokenRequests"] == [{"audience": "api://AzureADTokenExchange", "expirationSeconds": 3600}]
    assert driver["metadata"]["annotations"]["meta.helm.sh/release-name"] == "blob-csi-driver"
    [daemonset] = results["Node DaemonSet ready (bounded wait)"]["resources"]
    ds = daemonset["status"]
    assert ds["desiredNumberScheduled"] == ds["numberReady"] == ds["numberAvailable"] == 1
    # The values change reached the Deployment (replaced in place); uninstall removed objects and history.
    puts = [r for r in sandbox.requests(since=mark) if r["method"] == "PUT" and r["path"].endswith(
        "/deployments/csi-blob-controller")]
    assert [r["status"] for r in puts] == [200]
    assert kube.core.list_namespaced_secret("kube-system", label_selector="owner=helm").items == []
    assert kube.resource("storage.k8s.io/v1", "CSIDriver").get().items == []
    assert kube.resource("apps/v1", "DaemonSet").get(namespace="kube-system").items == []
