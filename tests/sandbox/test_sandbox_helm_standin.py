"""The helm stand-in (kubernetes.core.helm's binary_path in sandbox runs) and the stand-in blob-csi-driver chart,
rendered by a real `helm template`."""

import json
import os
import subprocess

import pytest
import yaml
from k8s_test_helpers import OBJECTS_1_27_9, ansible_env
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
    """The chart directory as is (a local chart_ref): upstream 1.27.9's objects and wiring (shape details:
    test_sandbox_chart_shape.py)."""
    objects = render(real_helm(), tmp_path, {"node": {"enableBlobfuseProxy": False}, "controller": {"replicas": 1},
                                             "workloadIdentity": {"clientID": "cid-1"}})
    assert set(objects) == OBJECTS_1_27_9
    driver = objects[("CSIDriver", "blob.csi.azure.com")]["spec"]
    assert driver["tokenRequests"] == [{"audience": "api://AzureADTokenExchange", "expirationSeconds": 3600}]
    assert driver["requiresRepublish"] is True
    controller = objects[("Deployment", "csi-blob-controller")]
    assert controller["spec"]["replicas"] == 1 and controller["metadata"]["namespace"] == "kube-system"
    for name in ("csi-blob-controller-sa", "csi-blob-node-sa"):  # the webhook's inputs, not container env
        assert objects[("ServiceAccount", name)]["metadata"]["annotations"] == {
            "azure.workload.identity/client-id": "cid-1"}
    assert controller["spec"]["template"]["metadata"]["labels"]["azure.workload.identity/use"] == "true"
    assert all("AZURE_CLIENT_ID" not in json.dumps(c) for c in controller["spec"]["template"]["spec"]["containers"])
    node = objects[("DaemonSet", "csi-blob-node")]["spec"]["template"]
    # upstream (from v1.23.2) keeps the init container and tells it not to install the proxy
    [init] = node["spec"]["initContainers"]
    assert {e["name"]: e.get("value") for e in init["env"]}["INSTALL_BLOBFUSE_PROXY"] == "false"
    blob = next(c for c in node["spec"]["containers"] if c["name"] == "blob")
    assert "--enable-blobfuse-proxy=false" in blob["args"]

    defaults = render(real_helm(), tmp_path, {})
    assert defaults[("Deployment", "csi-blob-controller")]["spec"]["replicas"] == 2
    node = defaults[("DaemonSet", "csi-blob-node")]["spec"]["template"]
    assert node["spec"]["initContainers"][0]["name"] == "install-blobfuse-proxy"
    assert "azure.workload.identity/use" not in node["metadata"]["labels"]
    assert "annotations" not in defaults[("ServiceAccount", "csi-blob-node-sa")]["metadata"]


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
    # the chart's RBAC went in (created once, replaced on the values change) and out with the release
    for plural in ("clusterroles", "clusterrolebindings"):
        created = [r for r in sandbox.requests(since=mark) if r["method"] == "POST"
                   and r["path"].endswith(f"/rbac.authorization.k8s.io/v1/{plural}")]
        assert [r["status"] for r in created] == [201] * 4, plural
    left = {o.metadata.name for kind in ("ClusterRole", "ClusterRoleBinding")
            for o in kube.resource("rbac.authorization.k8s.io/v1", kind).get().items}
    assert not left & {"blob-external-provisioner-role", "csi-blob-node-secret-role", "blob-csi-provisioner-binding",
                       "csi-blob-node-secret-binding"}


# --------------------------------------------------------------------------- Helm 3 and Helm 4 (issue 15)
MAJORS = ("3", "4")
TOOL_KEYS = {"3": "helm3", "4": "helm"}  # sandbox.helm_standin.real.TOOL_KEYS
ROLE_DEFAULTS = {"node": {"enableBlobfuseProxy": True}, "controller": {"replicas": 2}}  # blob_csi_driver defaults


def real_helms():
    try:
        return tools.kube_tools()
    except tools.ToolsUnavailable as exc:
        pytest.skip(f"no real helm binaries: {exc}")


def run_at(binary, *args, home, env=None):
    """A helm (real or stand-in) with a private, empty HELM_*_HOME."""
    os.makedirs(home, exist_ok=True)
    base = {"PATH": os.environ["PATH"], "HOME": str(home), "HELM_CACHE_HOME": str(home),
            "HELM_CONFIG_HOME": str(home), "HELM_DATA_HOME": str(home)}
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=60, check=False,
                          env={**base, **(env or {})})


def test_kube_tools_ship_helm_4_and_helm_3():
    paths = real_helms()
    assert {key: tools.version(paths[key]) for key in tools.HELM_VERSIONS} == tools.HELM_VERSIONS
    assert tools.HELM_VERSIONS["helm"].startswith("v4.") and tools.HELM_VERSIONS["helm3"].startswith("v3.")


def kubernetes_core_helm_version(binary):
    """What kubernetes.core's own parser (module_utils/helm.py get_helm_version) reads from BINARY."""
    import types
    from ansible_collections.kubernetes.core.plugins.module_utils.helm import AnsibleHelmModule

    def run_command(command):
        result = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=60, check=False)
        return result.returncode, result.stdout, result.stderr
    return AnsibleHelmModule.get_helm_version(types.SimpleNamespace(get_helm_binary=lambda: binary,
                                                                    run_command=run_command))


@pytest.mark.parametrize("major", MAJORS)
def test_standin_reports_the_version_of_the_helm_it_wraps(sandbox, tmp_path, major):
    real = real_helms()[TOOL_KEYS[major]]
    standin = sandbox.conn["helm_binaries"][major]
    for args in (["version"], ["version", "--short"], ["version", "--template={{.Version}}"],
                 ["version", "--template", "{{.GitCommit}} {{.GoVersion}}"], ["plugin", "list"]):
        theirs, ours = run_at(real, *args, home=tmp_path / "real"), run_at(standin, *args, home=tmp_path / "ours")
        assert theirs.returncode == 0, theirs.stderr
        assert (ours.returncode, ours.stdout) == (0, theirs.stdout), (args, ours.stderr)
    assert kubernetes_core_helm_version(standin) == tools.HELM_VERSIONS[TOOL_KEYS[major]][1:].split("+")[0]
    # helm_binary (bin/helm) wraps Helm 3 unless KEYLESS_HELM_STANDIN_REAL says otherwise
    default = run_at(sandbox.conn["helm_binary"], "version", "--short", home=tmp_path / "ours",
                     env={"KEYLESS_HELM_STANDIN_REAL": major})
    assert default.stdout == tools.HELM_VERSIONS[TOOL_KEYS[major]] + "\n"
    assert run_at(sandbox.conn["helm_binary"], "version", "--short", home=tmp_path / "ours").stdout == \
        tools.HELM_VERSIONS["helm3"] + "\n"


@pytest.mark.parametrize("major", MAJORS)
def test_standin_speaks_the_cli_of_the_helm_it_wraps(sandbox, kube, tmp_path, major):
    """What kubernetes.core 6.2 runs and the two majors answer differently: `list --all` (gone in Helm 4), the
    default statuses of `list`, the --atomic/--force deprecation warnings."""
    real = real_helms()[TOOL_KEYS[major]]
    standin = sandbox.conn["helm_binaries"][major]
    env = {"KUBECONFIG": kube.kubeconfig, "HELM_NAMESPACE": "kube-system"}
    help_text = run_at(real, "list", "--help", home=tmp_path / "real").stdout
    for args in (["list", "--all", "--output=yaml"], ["list", "-a"]):
        ours = run_at(standin, *args, home=tmp_path / "ours", env=env)
        if major == "4":  # refused before any cluster is contacted: the real binary's exact answer
            theirs = run_at(real, *args, home=tmp_path / "real")
            assert (ours.returncode, ours.stdout, ours.stderr) == (1, "", theirs.stderr) == (
                theirs.returncode, theirs.stdout, theirs.stderr)
        else:
            assert "'--all' will alter this behavior" in help_text
            assert (ours.returncode, ours.stdout) == (0, "[]\n" if "--output=yaml" in args else
                                                      "NAME\tNAMESPACE\tREVISION\tUPDATED\tSTATUS\tCHART\tAPP VERSION\n")
    # a flag given at all is warned about, even =false (which keeps the stand-in from waiting here)
    warnings = [line for line in run_at(real, "upgrade", "--atomic=false", "--force", home=tmp_path / "real")
                .stderr.splitlines() if line.startswith("Flag ")]
    assert len(warnings) == (2 if major == "4" else 0)
    install = run_at(standin, "upgrade", "-i", "--atomic=false", "--force", f"--repo={UPSTREAM}", "blob-csi-driver",
                     "blob-csi-driver", home=tmp_path / "ours", env=env)
    assert install.returncode == 0, install.stderr
    assert [line for line in install.stderr.splitlines() if line.startswith("Flag ")] == warnings
    assert run_at(standin, "uninstall", "--keep-history", "blob-csi-driver", home=tmp_path / "ours",
                  env=env).returncode == 0
    listed = json.loads(run_at(standin, "list", "-o", "json", home=tmp_path / "ours", env=env).stdout)
    if major == "4":
        assert "By default, it lists all releases in any status." in help_text
        assert [(r["name"], r["status"]) for r in listed] == [("blob-csi-driver", "uninstalled")]
    else:
        assert "By default, it lists only releases that are deployed or failed." in help_text
        assert listed == []


@pytest.mark.parametrize("version, values", [
    ("1.27.9", ROLE_DEFAULTS),
    ("1.27.9", {**ROLE_DEFAULTS, "workloadIdentity": {"clientID": "cid-1", "tenantID": "tid-1"},
                "node": {"enableBlobfuseProxy": False, "nodeSelector": {"pool": "blob"}}}),
    ("v1.23.2", {}),
], ids=["role defaults", "identity and node values", "old chart"])
def test_the_standin_chart_renders_the_same_with_helm_3_and_helm_4(sandbox, tmp_path, version, values):
    """The stand-in's template path (what upgrade -i applies) through each wrapper, --kube-version as installs pass."""
    real_helms()
    versions = {major: run_at(sandbox.conn["helm_binaries"][major], "version", "--short", home=tmp_path / major).stdout
                for major in MAJORS}
    assert versions == {"3": tools.HELM_VERSIONS["helm3"] + "\n", "4": tools.HELM_VERSIONS["helm"] + "\n"}
    values_file = tmp_path / "values.yaml"
    values_file.write_text(yaml.safe_dump(values))
    rendered = {}
    for major in MAJORS:
        result = run_at(sandbox.conn["helm_binaries"][major], "template", "blob-csi-driver", "blob-csi-driver",
                        f"--repo={UPSTREAM}", f"--version={version}", "--namespace", "kube-system",
                        "-f", str(values_file), "--kube-version", "1.33.2", home=tmp_path / major)
        assert result.returncode == 0, result.stderr
        rendered[major] = [d for d in yaml.safe_load_all(result.stdout) if d]
    assert {(d["kind"], d["metadata"]["name"]) for d in rendered["3"]} >= {
        ("CSIDriver", "blob.csi.azure.com"), ("DaemonSet", "csi-blob-node"), ("Deployment", "csi-blob-controller")}
    assert rendered["3"] == rendered["4"]
