"""What the emulated API server does where a lenient one would not: quantities stored in canonical form, deletions
that wait (storage-object-in-use protection, graceful pod termination, counted in requests), and server-side
apply without a write when nothing changes. Each test fails against the lenient behaviour it names."""

import pytest

from sandbox.app import App
from sandbox.k8s import kinds, managed_fields, operations
from sandbox.k8s.operations import WriteOptions
from sandbox.k8s.quantity import canonical

MERGE = "application/merge-patch+json"
APPLY = "application/apply-patch+yaml"
NS = "/api/v1/namespaces/default"


def _pv(name, storage="10Gi"):
    return {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name},
            "spec": {"capacity": {"storage": storage}, "accessModes": ["ReadWriteMany"], "storageClassName": "",
                     "csi": {"driver": "blob.csi.azure.com", "volumeHandle": f"rg_acct_{name}",
                             "volumeAttributes": {"containerName": name}}}}


def _pvc(name, volume, storage="10Gi"):
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
            "spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": storage}},
                     "storageClassName": "", "volumeName": volume}}


def _pod(name, claim=None, grace=None):
    spec = {"restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox",
                                                      "resources": {"requests": {"cpu": "0.5", "memory": "1024Mi"}}}]}
    if claim:
        spec["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": claim}}]
    if grace is not None:
        spec["terminationGracePeriodSeconds"] = grace
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


def _get(kube, path):
    status, _headers, body = kube.raw("GET", path)
    return body if status == 200 else None


# ---------------------------------------------------------------------- 2. canonical quantities
@pytest.mark.parametrize("given, stored", [
    ("1024Mi", "1Gi"), ("0.5", "500m"), ("1000", "1k"), ("1500", "1500"), ("1e3", "1e3"), ("0.5Gi", "512Mi"),
    ("1536Mi", "1536Mi"), ("0.5Ki", "512"), ("2000m", "2"), ("10Gi", "10Gi"), ("0Gi", "0"), ("1.0000000001", "1000000001n"),
])
def test_quantity_canonical_form(given, stored):
    # k8s.io/apimachinery resource.Quantity CanonicalizeBytes (Kubernetes v1.34)
    assert canonical(given) == stored


def test_quantities_are_stored_and_returned_in_canonical_form(kube):
    status, _headers, volume = kube.raw("POST", "/api/v1/persistentvolumes", _pv("pv-q", storage="1024Mi"))
    assert status == 201 and volume["spec"]["capacity"]["storage"] == "1Gi"
    assert _get(kube, "/api/v1/persistentvolumes/pv-q")["spec"]["capacity"]["storage"] == "1Gi"
    status, _headers, claim = kube.raw("POST", f"{NS}/persistentvolumeclaims", _pvc("pvc-q", "pv-q", "0.5Gi"))
    assert status == 201 and claim["spec"]["resources"]["requests"]["storage"] == "512Mi"
    status, _headers, pod = kube.raw("POST", f"{NS}/pods", _pod("q"))
    assert pod["spec"]["containers"][0]["resources"]["requests"] == {"cpu": "500m", "memory": "1Gi"}
    # Re-sending the same value in another spelling changes nothing: no new resourceVersion.
    volume = _get(kube, "/api/v1/persistentvolumes/pv-q")   # bound to its claim since
    status, _headers, again = kube.raw("PATCH", "/api/v1/persistentvolumes/pv-q",
                                       {"spec": {"capacity": {"storage": "1048576Ki"}}}, MERGE)
    assert status == 200 and again["metadata"]["resourceVersion"] == volume["metadata"]["resourceVersion"]


def test_the_workload_preflight_accepts_exactly_the_canonical_sizes():
    """The workload role refuses a volume.size Kubernetes would write back differently (it would be re-applied on
    every run): its rule and the API server's canonical form must agree."""
    from plugins.filter.preflight import quantity_problem
    for size in ("10Gi", "1Gi", "1024Mi", "1536Mi", "5G", "1000M", "2048Ki", "1k", "100"):
        accepted = quantity_problem(size, "volume.size") is None
        assert accepted == (canonical(size) == size), size


# ---------------------------------------------------------------------- 3. deletions that wait
def test_claims_and_volumes_carry_protection_finalizers(kube):
    _status, _headers, volume = kube.raw("POST", "/api/v1/persistentvolumes", _pv("pv-f"))
    _status, _headers, claim = kube.raw("POST", f"{NS}/persistentvolumeclaims", _pvc("pvc-f", "pv-f"))
    assert volume["metadata"]["finalizers"] == ["kubernetes.io/pv-protection"]
    assert claim["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]


def test_a_claim_a_pod_uses_stays_terminating_until_the_pod_is_gone(kube):
    kube.raw("POST", "/api/v1/persistentvolumes", _pv("pv-u"))
    kube.raw("POST", f"{NS}/persistentvolumeclaims", _pvc("pvc-u", "pv-u"))
    kube.raw("POST", f"{NS}/pods", _pod("user", claim="pvc-u"))
    status, _headers, body = kube.raw("DELETE", f"{NS}/persistentvolumeclaims/pvc-u")
    assert status == 200 and body["metadata"]["deletionTimestamp"]
    assert body["metadata"]["deletionGracePeriodSeconds"] == 0
    claim = _get(kube, f"{NS}/persistentvolumeclaims/pvc-u")
    assert claim["metadata"]["deletionTimestamp"] and claim["status"]["phase"] == "Bound"
    kube.raw("DELETE", "/api/v1/persistentvolumes/pv-u")
    assert _get(kube, "/api/v1/persistentvolumes/pv-u")["status"]["phase"] == "Bound"   # still held
    # A pod that has finished still holds the claim: the controller only looks at scheduled pods' volumes.
    kube.raw("PATCH", f"{NS}/pods/user/status", {"status": {"phase": "Succeeded"}}, MERGE)
    assert _get(kube, f"{NS}/persistentvolumeclaims/pvc-u") is not None
    assert kube.raw("DELETE", f"{NS}/pods/user")[0] == 200    # finished: deleted at once
    assert _get(kube, f"{NS}/pods/user") is None
    assert _get(kube, f"{NS}/persistentvolumeclaims/pvc-u") is None
    assert _get(kube, "/api/v1/persistentvolumes/pv-u") is None   # Released, then its finalizer went


def test_an_unused_claim_and_an_unbound_volume_go_at_once(kube):
    kube.raw("POST", "/api/v1/persistentvolumes", _pv("pv-free"))
    assert kube.raw("DELETE", "/api/v1/persistentvolumes/pv-free")[0] == 200
    assert _get(kube, "/api/v1/persistentvolumes/pv-free") is None
    kube.raw("POST", "/api/v1/persistentvolumes", _pv("pv-b"))
    kube.raw("POST", f"{NS}/persistentvolumeclaims", _pvc("pvc-b", "pv-b"))
    kube.raw("DELETE", f"{NS}/persistentvolumeclaims/pvc-b")
    assert _get(kube, f"{NS}/persistentvolumeclaims/pvc-b") is None
    assert _get(kube, "/api/v1/persistentvolumes/pv-b")["status"]["phase"] == "Released"


def test_a_running_pod_terminates_for_a_counted_number_of_requests(kube, sandbox):
    sandbox.configure(pod_termination_requests=3)
    try:
        kube.raw("POST", f"{NS}/pods", _pod("slow", grace=45))
        status, _headers, body = kube.raw("DELETE", f"{NS}/pods/slow")
        assert status == 200 and body["metadata"]["deletionGracePeriodSeconds"] == 45
        seen = [_get(kube, f"{NS}/pods/slow") for _request in range(3)]
        assert [bool(p and p["metadata"]["deletionTimestamp"]) for p in seen] == [True, True, False]
        kube.raw("POST", f"{NS}/pods", _pod("now"))
        assert kube.raw("DELETE", f"{NS}/pods/now?gracePeriodSeconds=0")[0] == 200
        assert _get(kube, f"{NS}/pods/now") is None
    finally:
        sandbox.configure(pod_termination_requests=2)


def test_garbage_collection_terminates_a_running_dependent_pod_gracefully(kube):
    _status, _headers, owner = kube.raw("POST", f"{NS}/configmaps", {"metadata": {"name": "owner"}})
    pod = _pod("dependent")
    pod["metadata"]["ownerReferences"] = [{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner",
                                           "uid": owner["metadata"]["uid"]}]
    kube.raw("POST", f"{NS}/pods", pod)
    kube.raw("DELETE", f"{NS}/configmaps/owner?propagationPolicy=Background")
    terminating = _get(kube, f"{NS}/pods/dependent")
    assert terminating["metadata"]["deletionGracePeriodSeconds"] == 30
    assert _get(kube, f"{NS}/pods/dependent") is None


# ---------------------------------------------------------------------- 4. server-side apply
@pytest.fixture
def cluster(tmp_path):
    app = App(workdir=str(tmp_path))
    app.bind("127.0.0.1", 12345)
    with open(app.kube.ca_file, "w", encoding="utf-8") as handle:
        handle.write("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    app.kube.add_cluster("strict-writes")
    return app.kube.cluster("strict-writes")


def test_a_repeated_apply_writes_nothing_even_when_the_clock_moved(cluster, monkeypatch):
    configmaps = kinds.BY_KEY["/configmaps"]
    body = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: same\ndata:\n  a: '1'\n"
    options = WriteOptions(manager="alpha", explicit_manager=True)
    monkeypatch.setattr(managed_fields, "timestamp", lambda: "2026-01-01T00:00:00Z")
    _status, first = operations.patch(cluster, configmaps, "default", "same", APPLY, body, options)
    monkeypatch.setattr(managed_fields, "timestamp", lambda: "2026-01-01T01:00:00Z")
    _status, again = operations.patch(cluster, configmaps, "default", "same", APPLY, body, options)
    assert again["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
    assert again["metadata"]["managedFields"][0]["time"] == "2026-01-01T00:00:00Z"
    changed = body.replace(b"'1'", b"'2'")
    _status, third = operations.patch(cluster, configmaps, "default", "same", APPLY, changed, options)
    assert third["metadata"]["resourceVersion"] != first["metadata"]["resourceVersion"]
    assert third["metadata"]["managedFields"][0]["time"] == "2026-01-01T01:00:00Z"


def test_apply_without_a_field_manager_is_invalid_before_anything_is_read(kube):
    status, _headers, body = kube.raw("PATCH", f"{NS}/configmaps/never-created",
                                      b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: never-created\n", APPLY)
    assert status == 422 and body["details"] == {
        "name": "", "kind": "PatchOptions", "group": "meta.k8s.io",
        "causes": [{"reason": "FieldValueRequired", "message": "Required value: is required for apply patch",
                    "field": "fieldManager"}]}
