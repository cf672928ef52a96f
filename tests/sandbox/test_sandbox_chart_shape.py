"""The stand-in blob-csi-driver chart has the upstream chart's shape at the versions the helm stand-in offers:
values schema and defaults, object kinds and names, labels, containers and images, RBAC, workload identity wiring and
the per-version CSIDriver fields (upstream kubernetes-sigs/blob-csi-driver charts/<version>/blob-csi-driver, see
sandbox/charts/README.md). Rendered by a real `helm template` through sandbox.helm_standin.charts."""

import pytest
import yaml
from k8s_test_helpers import OBJECTS_1_27_9

from sandbox import tools
from sandbox.helm_standin import charts

UPSTREAM = charts.UPSTREAM_REPO
AUDIENCE = "api://AzureADTokenExchange"
WI_USE = "azure.workload.identity/use"
WI_CLIENT = "azure.workload.identity/client-id"
WI_TENANT = "azure.workload.identity/tenant-id"
# Everything upstream 1.27.9 renders with its default values (rbac.name "blob").
RBAC = {o for o in OBJECTS_1_27_9 if o[0].startswith("ClusterRole")}
# Upstream 1.27.9 values.yaml image defaults.
IMAGES_1_27_9 = {
    "blob": "mcr.microsoft.com/oss/v2/kubernetes-csi/blob-csi:v1.27.9",
    "csi-provisioner": "mcr.microsoft.com/oss/v2/kubernetes-csi/csi-provisioner:v6.3.0",
    "liveness-probe": "mcr.microsoft.com/oss/v2/kubernetes-csi/livenessprobe:v2.19.0",
    "node-driver-registrar": "mcr.microsoft.com/oss/v2/kubernetes-csi/csi-node-driver-registrar:v2.17.0",
    "csi-resizer": "mcr.microsoft.com/oss/v2/kubernetes-csi/csi-resizer:v2.2.0",
    "aznfswatchdog": "mcr.microsoft.com/oss/v2/kubernetes-csi/blob-csi:v1.27.9",
    "install-blobfuse-proxy": "mcr.microsoft.com/oss/v2/kubernetes-csi/blob-csi:v1.27.9",
}


@pytest.fixture(scope="module", autouse=True)
def real_helm():
    try:
        tools.kube_tools()
    except tools.ToolsUnavailable as exc:
        pytest.skip(f"no real helm binary: {exc}")


def render(version="1.27.9", *sets, namespace="kube-system"):
    """{(kind, name): object} of the stand-in chart at an offered version, with `--set` pairs."""
    chart = charts.resolve("blob-csi-driver", UPSTREAM, version)
    try:
        extra = [arg for pair in sets for arg in ("--set", pair)]
        manifest = charts.render(chart, "blob-csi-driver", namespace, {}, extra_args=extra)
    finally:
        chart.cleanup()
    return {(o["kind"], o["metadata"]["name"]): o for o in charts.manifest_objects(manifest)}


def pod_spec(objects, kind, name):
    return objects[(kind, name)]["spec"]["template"]["spec"]


def containers(spec, init=False):
    return {c["name"]: c for c in spec.get("initContainers" if init else "containers") or []}


def all_images(objects):
    images = {}
    for kind, name in (("Deployment", "csi-blob-controller"), ("DaemonSet", "csi-blob-node")):
        spec = pod_spec(objects, kind, name)
        for container in [*spec.get("initContainers", []), *spec["containers"]]:
            images[f"{name}/{container['name']}"] = container["image"]
    return images


def test_default_render_at_1_27_9_has_upstream_objects_labels_and_containers():
    objects = render()
    assert set(objects) == OBJECTS_1_27_9
    for (kind, name), obj in objects.items():
        labels = obj["metadata"]["labels"]
        keys = ("app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component",
                "app.kubernetes.io/part-of", "app.kubernetes.io/managed-by", "app.kubernetes.io/version",
                "helm.sh/chart")
        assert {k: labels.get(k) for k in keys} == {
            "app.kubernetes.io/name": "blob-csi-driver", "app.kubernetes.io/instance": "blob-csi-driver",
            "app.kubernetes.io/component": "csi-driver", "app.kubernetes.io/part-of": "blob-csi-driver",
            "app.kubernetes.io/managed-by": "Helm", "app.kubernetes.io/version": "1.27.9",
            "helm.sh/chart": "blob-csi-driver-1.27.9"}, (kind, name)
        assert WI_USE not in labels and "annotations" not in obj["metadata"], (kind, name)
        assert ("namespace" in obj["metadata"]) is (kind in ("Deployment", "DaemonSet", "ServiceAccount"))

    assert objects[("CSIDriver", "blob.csi.azure.com")]["spec"] == {
        "attachRequired": False, "podInfoOnMount": True, "fsGroupPolicy": "ReadWriteOnceWithFSType",
        "volumeLifecycleModes": ["Persistent", "Ephemeral"], "requiresRepublish": True,
        "tokenRequests": [{"audience": AUDIENCE, "expirationSeconds": 3600}]}

    controller = objects[("Deployment", "csi-blob-controller")]
    assert controller["spec"]["replicas"] == 2
    assert controller["spec"]["selector"]["matchLabels"] == {
        "app": "csi-blob-controller", "app.kubernetes.io/name": "blob-csi-driver",
        "app.kubernetes.io/instance": "blob-csi-driver"}
    spec = pod_spec(objects, "Deployment", "csi-blob-controller")
    assert list(containers(spec)) == ["csi-provisioner", "liveness-probe", "blob", "csi-resizer"]
    assert "initContainers" not in spec
    assert (spec["serviceAccountName"], spec["hostNetwork"], spec["priorityClassName"]) == (
        "csi-blob-controller-sa", True, "system-cluster-critical")
    assert spec["nodeSelector"] == {"kubernetes.io/os": "linux"} and "affinity" not in spec
    assert [t["key"] for t in spec["tolerations"]] == ["node-role.kubernetes.io/master",
                                                       "node-role.kubernetes.io/controlplane",
                                                       "node-role.kubernetes.io/control-plane", "CriticalAddonsOnly"]
    assert "--drivername=blob.csi.azure.com" in containers(spec)["blob"]["args"]

    node = objects[("DaemonSet", "csi-blob-node")]
    assert node["spec"]["selector"]["matchLabels"] == {
        "app": "csi-blob-node", "app.kubernetes.io/name": "blob-csi-driver",
        "app.kubernetes.io/instance": "blob-csi-driver"}
    assert node["spec"]["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}}
    spec = pod_spec(objects, "DaemonSet", "csi-blob-node")
    assert list(containers(spec)) == ["liveness-probe", "node-driver-registrar", "blob", "aznfswatchdog"]
    assert list(containers(spec, init=True)) == ["install-blobfuse-proxy"]
    assert (spec["serviceAccountName"], spec["hostNetwork"], spec["hostPID"], spec["dnsPolicy"]) == (
        "csi-blob-node-sa", True, True, "Default")
    assert spec["nodeSelector"] == {"kubernetes.io/os": "linux"}
    assert spec["tolerations"] == [{"operator": "Exists"}]
    assert spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"] \
        == [{"matchExpressions": [{"key": "type", "operator": "NotIn", "values": ["virtual-kubelet"]}]}]
    blob = containers(spec)["blob"]
    assert {"--enable-blobfuse-proxy=true", "--drivername=blob.csi.azure.com", "--enable-aznfs-mount=true",
            "--mount-permissions=511"} <= set(blob["args"])
    registrar = containers(spec)["node-driver-registrar"]
    assert {e["name"]: e.get("value") for e in registrar["env"]}["DRIVER_REG_SOCK_PATH"] == \
        "/var/lib/kubelet/plugins/blob.csi.azure.com/csi.sock"
    # every mount of a container has its volume (the emulated API server checks it like the real one)
    volumes = {v["name"] for v in spec["volumes"]}
    for container in [*spec["containers"], *spec["initContainers"]]:
        assert {m["name"] for m in container.get("volumeMounts", [])} <= volumes, container["name"]

    assert all_images(objects) == {
        f"{owner}/{name}": IMAGES_1_27_9[name]
        for owner, names in (("csi-blob-controller", ("csi-provisioner", "liveness-probe", "blob", "csi-resizer")),
                             ("csi-blob-node", ("install-blobfuse-proxy", "liveness-probe", "node-driver-registrar",
                                                "blob", "aznfswatchdog")))
        for name in names}
    pull = {c["name"]: c["imagePullPolicy"] for c in pod_spec(objects, "Deployment", "csi-blob-controller")[
        "containers"]}
    assert set(pull.values()) == {"IfNotPresent"}


def test_requires_republish_follows_the_feature_value():
    driver = render("1.27.9", "feature.requiresRepublish=false")[("CSIDriver", "blob.csi.azure.com")]["spec"]
    assert driver["requiresRepublish"] is False
    assert driver["tokenRequests"] == [{"audience": AUDIENCE, "expirationSeconds": 3600}]
    assert render("1.27.0")[("CSIDriver", "blob.csi.azure.com")]["spec"]["requiresRepublish"] is True


def test_base_repo_moves_every_image_and_a_full_repository_is_kept():
    images = all_images(render("1.27.9", "image.baseRepo=myregistry.example"))
    assert len(images) == 9
    assert all(image.startswith("myregistry.example/oss/v2/kubernetes-csi/") for image in images.values()), images
    images = all_images(render("1.27.9", "image.baseRepo=myregistry.example",
                               "image.blob.repository=example.io/blob", "image.blob.tag=t1"))
    assert images["csi-blob-node/blob"] == images["csi-blob-node/install-blobfuse-proxy"] == "example.io/blob:t1"
    assert images["csi-blob-controller/csi-resizer"] == "myregistry.example/oss/v2/kubernetes-csi/csi-resizer:v2.2.0"


def test_workload_identity_client_id_annotates_both_service_accounts_and_labels_both_pods():
    objects = render("1.27.9", "workloadIdentity.clientID=x", "workloadIdentity.tenantID=t")
    for name in ("csi-blob-controller-sa", "csi-blob-node-sa"):
        meta = objects[("ServiceAccount", name)]["metadata"]
        assert meta["annotations"] == {WI_CLIENT: "x", WI_TENANT: "t"}
        assert meta["labels"][WI_USE] == "true"
    for kind, name in (("Deployment", "csi-blob-controller"), ("DaemonSet", "csi-blob-node")):
        template = objects[(kind, name)]["spec"]["template"]
        assert template["metadata"]["labels"][WI_USE] == "true"
        # the webhook injects the identity: the chart sets no AZURE_* variables of its own
        assert not any(e["name"] in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID") for c in template["spec"]["containers"]
                       for e in c.get("env", []))
    only_client = render("1.27.9", "workloadIdentity.clientID=x")
    assert only_client[("ServiceAccount", "csi-blob-node-sa")]["metadata"]["annotations"] == {WI_CLIENT: "x"}


def test_rbac_objects_bind_the_driver_service_accounts():
    objects = render("1.27.9", namespace="blob-system")
    subjects = {name: obj["subjects"] for (kind, name), obj in objects.items() if kind == "ClusterRoleBinding"}
    controller = [{"kind": "ServiceAccount", "name": "csi-blob-controller-sa", "namespace": "blob-system"}]
    node = [{"kind": "ServiceAccount", "name": "csi-blob-node-sa", "namespace": "blob-system"}]
    assert subjects == {"blob-csi-provisioner-binding": controller, "blob-csi-resizer-role": controller,
                        "csi-blob-controller-secret-binding": controller, "csi-blob-node-secret-binding": node}
    refs = {name: objects[("ClusterRoleBinding", name)]["roleRef"]["name"] for name in subjects}
    assert refs == {"blob-csi-provisioner-binding": "blob-external-provisioner-role",
                    "blob-csi-resizer-role": "blob-external-resizer-role",
                    "csi-blob-controller-secret-binding": "csi-blob-controller-secret-role",
                    "csi-blob-node-secret-binding": "csi-blob-node-secret-role"}
    assert objects[("ClusterRole", "csi-blob-node-secret-role")]["rules"] == [
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]
    provisioner = objects[("ClusterRole", "blob-external-provisioner-role")]["rules"]
    assert {"apiGroups": [""], "resources": ["persistentvolumes"],
            "verbs": ["get", "list", "watch", "create", "patch", "delete"]} in provisioner
    assert set(render("1.27.9", "rbac.create=false")) == OBJECTS_1_27_9 - RBAC
    renamed = render("1.27.9", "rbac.name=x", "serviceAccount.create=false")
    assert {n for k, n in renamed if k.startswith("ClusterRole")} == {n.replace("blob", "x", 1) for _k, n in RBAC}
    assert not any(kind == "ServiceAccount" for kind, _name in renamed)


@pytest.mark.parametrize("version, spec", [
    ("v1.23.2", {"attachRequired": False, "podInfoOnMount": True, "fsGroupPolicy": "ReadWriteOnceWithFSType",
                 "volumeLifecycleModes": ["Persistent", "Ephemeral"]}),
    ("v1.23.3", {"attachRequired": False, "podInfoOnMount": True, "fsGroupPolicy": "ReadWriteOnceWithFSType",
                 "volumeLifecycleModes": ["Persistent", "Ephemeral"], "tokenRequests": [{"audience": AUDIENCE}]}),
    ("1.26.16", {"attachRequired": False, "podInfoOnMount": True, "fsGroupPolicy": "ReadWriteOnceWithFSType",
                 "volumeLifecycleModes": ["Persistent", "Ephemeral"], "tokenRequests": [{"audience": AUDIENCE}]}),
    ("1.27.0", {"attachRequired": False, "podInfoOnMount": True, "fsGroupPolicy": "ReadWriteOnceWithFSType",
                "volumeLifecycleModes": ["Persistent", "Ephemeral"], "requiresRepublish": True,
                "tokenRequests": [{"audience": AUDIENCE, "expirationSeconds": 3600}]}),
])
def test_csidriver_fields_follow_the_chart_version(version, spec):
    """Before 1.27.0 upstream's CSIDriver has no requiresRepublish (and no expirationSeconds), whatever the values."""
    assert render(version)[("CSIDriver", "blob.csi.azure.com")]["spec"] == spec
    fs_group = render(version, "feature.requiresRepublish=false", "feature.fsGroupPolicy=File")
    expected = dict(spec, fsGroupPolicy="File")
    if "requiresRepublish" in spec:
        expected["requiresRepublish"] = False
    assert fs_group[("CSIDriver", "blob.csi.azure.com")]["spec"] == expected


def test_every_offered_version_has_recorded_defaults():
    history = yaml.safe_load(open(charts.STANDIN_HISTORIES["blob-csi-driver"], encoding="utf-8"))
    assert history["newest"] == charts.STANDIN_VERSIONS[-1]
    assert list(history["versions"]) == list(reversed(charts.STANDIN_VERSIONS[:-1]))
    newest = charts.standin_default_values("blob-csi-driver", "1.27.9")
    for version in charts.STANDIN_VERSIONS:
        defaults = charts.standin_default_values("blob-csi-driver", version)
        # the same top-level schema at every version, the driver image tagged with the version
        assert set(defaults) == set(newest), version
        expected_tag = "v1.26.7-3" if version == "1.26.7" else "v" + version.lstrip("v")
        assert defaults["image"]["blob"]["tag"] == expected_tag, version
        assert defaults["driver"]["name"] == "blob.csi.azure.com" and defaults["controller"]["replicas"] == 2
        assert defaults["node"]["tolerations"] == [{"operator": "Exists"}], version
        assert ("requiresRepublish" in defaults["feature"]) is (version >= "1.27.0" and not version.startswith("v"))


@pytest.mark.parametrize("version, sidecars, extra", [
    # upstream charts/<version>/blob-csi-driver/values.yaml
    ("1.27.0", {"csi-provisioner": "/oss/v2/kubernetes-csi/csi-provisioner:v6.1.0",
                "liveness-probe": "/oss/v2/kubernetes-csi/livenessprobe:v2.16.0",
                "node-driver-registrar": "/oss/v2/kubernetes-csi/csi-node-driver-registrar:v2.14.0",
                "csi-resizer": "/oss/v2/kubernetes-csi/csi-resizer:v1.14.0"}, {}),
    ("1.26.3", {"csi-provisioner": "/oss/kubernetes-csi/csi-provisioner:v5.2.0",
                "liveness-probe": "/oss/kubernetes-csi/livenessprobe:v2.15.0",
                "node-driver-registrar": "/oss/kubernetes-csi/csi-node-driver-registrar:v2.13.0",
                "csi-resizer": "/oss/kubernetes-csi/csi-resizer:v1.13.2"},
     {"blob": "/oss/kubernetes-csi/blob-csi:v1.26.3"}),
    ("v1.22.1", {"csi-provisioner": "/oss/kubernetes-csi/csi-provisioner:v3.5.0",
                 "liveness-probe": "/oss/kubernetes-csi/livenessprobe:v2.10.0",
                 "node-driver-registrar": "/oss/kubernetes-csi/csi-node-driver-registrar:v2.8.0",
                 "csi-resizer": "/oss/kubernetes-csi/csi-resizer:v1.8.0"},
     {"blob": "/oss/kubernetes-csi/blob-csi:v1.22.1"}),
])
def test_images_follow_the_chart_version(version, sidecars, extra):
    objects = render(version)
    images = {key.split("/", 1)[1]: image for key, image in all_images(objects).items()}
    for name, reference in {**sidecars, **extra}.items():
        assert images[name] == "mcr.microsoft.com" + reference, (version, name)


def test_older_versions_keep_their_own_container_sets():
    # v1.22.1: no aznfswatchdog (node.enableAznfsMount came in v1.22.2), the proxy off by default and the init
    # container only with it (always there from v1.23.2, told INSTALL_BLOBFUSE_PROXY)
    old = pod_spec(render("v1.22.1"), "DaemonSet", "csi-blob-node")
    assert list(containers(old)) == ["liveness-probe", "node-driver-registrar", "blob"] and "initContainers" not in old
    proxied = pod_spec(render("v1.22.1", "node.enableBlobfuseProxy=true"), "DaemonSet", "csi-blob-node")
    assert "install-blobfuse-proxy" in containers(proxied, init=True)
    newer = pod_spec(render("1.27.9", "node.enableBlobfuseProxy=false"), "DaemonSet", "csi-blob-node")
    init = containers(newer, init=True)["install-blobfuse-proxy"]
    assert {e["name"]: e["value"] for e in init["env"]}["INSTALL_BLOBFUSE_PROXY"] == "false"
    assert "--enable-blobfuse-proxy=false" in containers(newer)["blob"]["args"]
    # a render of every offered version: the same objects, and mounts that all have their volumes
    for version in charts.STANDIN_VERSIONS:
        objects = render(version)
        assert set(objects) == OBJECTS_1_27_9, version
        for kind, name in (("Deployment", "csi-blob-controller"), ("DaemonSet", "csi-blob-node")):
            spec = pod_spec(objects, kind, name)
            volumes = {v["name"] for v in spec["volumes"]}
            assert all({m["name"] for m in c.get("volumeMounts", [])} <= volumes
                       for c in [*spec["containers"], *spec.get("initContainers", [])]), (version, name)


def test_node_scheduling_values_are_upstream_shaped():
    objects = render("1.27.9", "node.nodeSelector.pool=blob", "node.tolerations[0].key=CriticalAddonsOnly",
                     "node.tolerations[0].operator=Exists", "controller.nodeSelector.pool=ctl",
                     "controller.replicas=1")
    node = pod_spec(objects, "DaemonSet", "csi-blob-node")
    assert node["nodeSelector"] == {"kubernetes.io/os": "linux", "pool": "blob"}
    assert node["tolerations"] == [{"key": "CriticalAddonsOnly", "operator": "Exists"}]
    controller = objects[("Deployment", "csi-blob-controller")]
    assert controller["spec"]["replicas"] == 1
    assert controller["spec"]["template"]["spec"]["nodeSelector"] == {"kubernetes.io/os": "linux", "pool": "ctl"}
    anti = render("1.27.9", "node.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0]"
                            ".topologyKey=kubernetes.io/hostname")
    affinity = pod_spec(anti, "DaemonSet", "csi-blob-node")["affinity"]
    assert set(affinity) == {"nodeAffinity", "podAntiAffinity"}
