"""The stand-in azurefile-csi-driver chart (sandbox/charts/azurefile-csi-driver) as the helm stand-in offers it for
the upstream repository: per-version CSIDriver and images (kubernetes-sigs/azurefile-csi-driver charts/<v>, see
sandbox/charts/README.md), rendered by a real `helm template`, and installed with the stand-in CLI."""

import os
import subprocess

import pytest
import yaml

from sandbox.helm_standin import charts

REPO = charts.FILES_UPSTREAM_REPO
AUDIENCE = [{"audience": "api://AzureADTokenExchange"}]
OBJECTS_1_35_7 = {
    ("CSIDriver", "file.csi.azure.com"), ("DaemonSet", "csi-azurefile-node"),
    ("Deployment", "csi-azurefile-controller"),
    ("ServiceAccount", "csi-azurefile-controller-sa"), ("ServiceAccount", "csi-azurefile-node-sa"),
    *(("ClusterRole", f"azurefile-external-{r}-role") for r in ("provisioner", "attacher", "snapshotter", "resizer")),
    ("ClusterRole", "csi-azurefile-controller-secret-role"), ("ClusterRole", "csi-azurefile-node-secret-role"),
    ("ClusterRoleBinding", "azurefile-csi-provisioner-binding"),
    ("ClusterRoleBinding", "azurefile-csi-attacher-binding"),
    ("ClusterRoleBinding", "azurefile-csi-snapshotter-binding"), ("ClusterRoleBinding", "azurefile-csi-resizer-role"),
    ("ClusterRoleBinding", "csi-azurefile-controller-secret-binding"),
    ("ClusterRoleBinding", "csi-azurefile-node-secret-binding"),
}


def rendered(version, values=None) -> dict:
    chart = charts.resolve("azurefile-csi-driver", REPO + "/", version)
    try:
        manifest = charts.render(chart, "azurefile-csi-driver", "kube-system", values or {})
    except charts.ChartError as exc:
        if "cannot render" in str(exc):
            pytest.skip(f"no real helm binary: {exc}")
        raise
    finally:
        chart.cleanup()
    return {(d["kind"], d["metadata"]["name"]): d for d in charts.manifest_objects(manifest)}


def containers(objects, kind, name) -> dict:
    return {c["name"]: c for c in objects[(kind, name)]["spec"]["template"]["spec"]["containers"]}


def test_newest_version_renders_the_keyless_driver():
    objects = rendered("1.35.7", {"controller": {"replicas": 1}, "workloadIdentity": {"clientID": "cid-1"}})
    assert set(objects) == OBJECTS_1_35_7
    driver = objects[("CSIDriver", "file.csi.azure.com")]
    assert driver["spec"] == {"attachRequired": False, "podInfoOnMount": True, "requiresRepublish": True,
                              "volumeLifecycleModes": ["Persistent", "Ephemeral"],
                              "fsGroupPolicy": "ReadWriteOnceWithFSType", "tokenRequests": AUDIENCE}
    assert driver["metadata"]["annotations"] == {"csiDriver": "v1.35.7", "snapshot": "v8.5.0"}
    node = objects[("DaemonSet", "csi-azurefile-node")]
    assert node["metadata"]["labels"]["app"] == "csi-azurefile-node"
    pod = node["spec"]["template"]
    assert pod["metadata"]["labels"]["app"] == "csi-azurefile-node"
    assert pod["spec"]["serviceAccountName"] == "csi-azurefile-node-sa" and pod["spec"]["hostNetwork"] is True
    node_containers = containers(objects, "DaemonSet", "csi-azurefile-node")
    assert list(node_containers) == ["liveness-probe", "node-driver-registrar", "azfilesrefresh", "azurefile"]
    image = "mcr.microsoft.com/oss/v2/kubernetes-csi/azurefile-csi:v1.35.7"
    assert node_containers["azurefile"]["image"] == node_containers["azfilesrefresh"]["image"] == image
    assert "--drivername=file.csi.azure.com" in node_containers["azurefile"]["args"]
    init = {e["name"]: e["value"] for e in pod["spec"]["initContainers"][0]["env"]}
    assert init["ENABLE_MI_AUTH"] == "true" and init["INSTALL_AZUREFILE_PROXY"] == "true"
    controller = objects[("Deployment", "csi-azurefile-controller")]
    assert controller["spec"]["replicas"] == 1
    assert controller["spec"]["template"]["spec"]["serviceAccountName"] == "csi-azurefile-controller-sa"
    assert list(containers(objects, "Deployment", "csi-azurefile-controller")) == [
        "csi-provisioner", "csi-snapshotter", "csi-resizer", "liveness-probe", "azurefile"]
    for name in ("csi-azurefile-controller-sa", "csi-azurefile-node-sa"):
        assert objects[("ServiceAccount", name)]["metadata"]["annotations"] == {
            "azure.workload.identity/client-id": "cid-1"}
    assert rendered("1.35.7")[("Deployment", "csi-azurefile-controller")]["spec"]["replicas"] == 2


@pytest.mark.parametrize("version, token_requests, republish", [
    ("1.35.7", AUDIENCE, True), ("1.35.3", AUDIENCE, True), ("1.35.2", AUDIENCE, None), ("1.35.0", AUDIENCE, None),
    ("1.34.8", AUDIENCE, None), ("v1.29.4", AUDIENCE, None), ("v1.29.2", None, None)])
def test_csidriver_follows_the_chart_version(version, token_requests, republish):
    """tokenRequests (never expirationSeconds) from v1.29.4, requiresRepublish only from 1.35.3."""
    spec = rendered(version.lstrip("v"))[("CSIDriver", "file.csi.azure.com")]["spec"]
    assert spec.get("tokenRequests") == token_requests
    assert spec.get("requiresRepublish") is republish


def test_requires_republish_follows_the_feature_value():
    spec = rendered("1.35.7", {"feature": {"requiresRepublish": False}})[("CSIDriver", "file.csi.azure.com")]["spec"]
    assert spec["requiresRepublish"] is False


@pytest.mark.parametrize("version, image, refresh", [
    ("1.35.6", "mcr.microsoft.com/oss/v2/kubernetes-csi/azurefile-csi:v1.35.6", True),
    ("1.34.8", "mcr.microsoft.com/oss/v2/kubernetes-csi/azurefile-csi:v1.34.8", True),
    ("1.33.10", "mcr.microsoft.com/oss/v2/kubernetes-csi/azurefile-csi:v1.33.10", False),
    ("1.33.3", "mcr.microsoft.com/oss/kubernetes-csi/azurefile-csi:v1.33.3", False)])
def test_images_and_the_refresh_sidecar_per_version(version, image, refresh):
    objects = rendered(version)
    node = containers(objects, "DaemonSet", "csi-azurefile-node")
    assert node["azurefile"]["image"] == image
    assert containers(objects, "Deployment", "csi-azurefile-controller")["azurefile"]["image"] == image
    assert ("azfilesrefresh" in node) is refresh   # node.enableManagedIdentityAuth exists from 1.34.0
    assert charts.standin_default_values("azurefile-csi-driver", version)["image"]["azurefile"]["tag"] == f"v{version}"


def test_offered_versions_are_the_upstream_index():
    versions = charts.FILES_STANDIN_VERSIONS
    assert versions[-1] == "1.35.7" and "1.35.5" not in versions   # master's index.yaml has no 1.35.5
    newest_line = ["1.35.0", "1.35.1", "1.35.2", "1.35.3", "1.35.4", "1.35.6", "1.35.7"]
    assert [v for v in versions if v.startswith("1.35.")] == newest_line
    assert len([v for v in versions if v.startswith("1.34.")]) == 9 and "1.33.10" in versions
    unprefixed = [v for v in versions if not v.startswith("v")]   # upstream spelled them "v1.30.9" and before
    assert unprefixed[0] == "1.31.0" and versions[versions.index("1.31.0") - 1] == "v1.30.9"


def run_helm(sandbox, *args, env=None):
    return subprocess.run([sandbox.conn["helm_binary"], *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})}, check=False)


def test_standin_refuses_unknown_versions_and_an_aks_managed_csidriver(sandbox, kube):
    missing = run_helm(sandbox, "--version=1.35.5", f"--repo={REPO}", "show", "chart", "azurefile-csi-driver")
    assert missing.returncode == 1 and missing.stderr == (
        f'Error: chart "azurefile-csi-driver" version "1.35.5" not found in {REPO} repository\n')
    shown = yaml.safe_load(run_helm(sandbox, f"--repo={REPO}", "--version", "1.34.8", "show", "chart",
                                    "azurefile-csi-driver").stdout)
    assert (shown["name"], shown["version"], shown["appVersion"]) == ("azurefile-csi-driver", "1.34.8", "1.34.8")
    env = {"KUBECONFIG": kube.kubeconfig, "HELM_NAMESPACE": "kube-system"}
    # What AKS's addon manager leaves when fileCSIDriver is on: a CSIDriver without Helm's ownership metadata.
    kube.resource("storage.k8s.io/v1", "CSIDriver").create(body={"metadata": {
        "name": "file.csi.azure.com", "labels": {"kubernetes.azure.com/managedby": "aks",
                                                 "addonmanager.kubernetes.io/mode": "Reconcile"}},
        "spec": {"attachRequired": False}})
    taken = run_helm(sandbox, f"--repo={REPO}", "--version=1.35.7", "upgrade", "-i", "azurefile-csi-driver",
                     "azurefile-csi-driver", env=env)
    assert taken.returncode == 1
    assert ('Error: INSTALLATION FAILED: rendered manifests contain a resource that already exists. Unable to continue '
            'with install: CSIDriver "file.csi.azure.com" in namespace "" exists and cannot be imported into the '
            'current release: invalid ownership metadata; label validation error: missing key '
            '"app.kubernetes.io/managed-by": must be set to "Helm"; annotation validation error: missing key '
            '"meta.helm.sh/release-name": must be set to "azurefile-csi-driver"') in taken.stderr
    assert kube.resource("storage.k8s.io/v1", "CSIDriver").get(name="file.csi.azure.com").spec.tokenRequests is None


def test_standin_installs_and_waits_for_the_node_plugin(sandbox, kube):
    env = {"KUBECONFIG": kube.kubeconfig, "HELM_NAMESPACE": "kube-system"}
    done = run_helm(sandbox, f"--repo={REPO}", "--version=1.35.7", "upgrade", "-i", "--wait", "--timeout", "30s",
                    "--set", "controller.replicas=1", "azurefile-csi-driver", "azurefile-csi-driver", env=env)
    assert done.returncode == 0, done.stderr
    driver = kube.resource("storage.k8s.io/v1", "CSIDriver").get(name="file.csi.azure.com")
    assert driver.metadata.annotations["meta.helm.sh/release-name"] == "azurefile-csi-driver"
    assert [r.to_dict() for r in driver.spec.tokenRequests] == AUDIENCE and driver.spec.requiresRepublish is True
    status = kube.resource("apps/v1", "DaemonSet").get(name="csi-azurefile-node", namespace="kube-system").status
    assert status.desiredNumberScheduled == status.numberReady >= 1
    listed = yaml.safe_load(run_helm(sandbox, "list", "-o", "yaml", env=env).stdout)
    assert [(r["name"], r["status"], r["chart"]) for r in listed] == [
        ("azurefile-csi-driver", "deployed", "azurefile-csi-driver-1.35.7")]
