"""Emulated Kubernetes API server, driven by the real `kubernetes` Python client (typed and dynamic)
and by raw HTTPS for exact status codes and Status shapes."""

import json

import pytest
from kubernetes.client.rest import ApiException
from kubernetes.dynamic.exceptions import (
    ConflictError,
    NotFoundError,
    UnprocessibleEntityError,
)

MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
APPLY = "application/apply-patch+yaml"


def cm(name, namespace="default", **extra):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace,
                                                                  **extra.pop("metadata", {})}, **extra}


# ---------------------------------------------------------------------- discovery and auth
def test_discovery_documents(kube):
    status, _headers, version = kube.raw("GET", "/version")
    assert status == 200 and version["gitVersion"] == "v1.33.2" and (version["major"], version["minor"]) == ("1", "33")
    assert version["platform"] == "linux/amd64"
    _status, _headers, api = kube.raw("GET", "/api")
    assert api["kind"] == "APIVersions" and api["versions"] == ["v1"]
    _status, _headers, core = kube.raw("GET", "/api/v1")
    by_name = {r["name"]: r for r in core["resources"]}
    assert by_name["persistentvolumeclaims"]["shortNames"] == ["pvc"]
    assert by_name["persistentvolumes"]["namespaced"] is False and by_name["pods"]["namespaced"] is True
    assert by_name["pods/log"]["verbs"] == ["get"] and "pods/status" in by_name
    assert "shortNames" not in by_name["secrets"] and by_name["configmaps"]["singularName"] == "configmap"
    _status, _headers, groups = kube.raw("GET", "/apis")
    names = {g["name"]: g for g in groups["groups"]}
    assert {"apps", "batch", "storage.k8s.io"} <= set(names)
    assert names["batch"]["preferredVersion"] == {"groupVersion": "batch/v1", "version": "v1"}
    _status, _headers, storage = kube.raw("GET", "/apis/storage.k8s.io/v1")
    assert {r["name"] for r in storage["resources"]} >= {"csidrivers", "storageclasses"}
    status, headers, aggregated = kube.raw(
        "GET", "/apis", accept="application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json")
    assert aggregated["kind"] == "APIGroupDiscoveryList" and "as=APIGroupDiscoveryList" in headers["Content-Type"]
    assert kube.raw("GET", "/openapi/v2")[0] == 404 and kube.raw("GET", "/openapi/v3")[0] == 404
    assert kube.raw("GET", "/apis/nope.example.com/v1")[0] == 404


def test_bearer_token_is_required(kube, sandbox):
    for token in ("", "wrong"):
        status, _headers, body = kube.raw("GET", "/api/v1/namespaces", token=token)
        assert status == 401
        assert body == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                        "message": "Unauthorized", "reason": "Unauthorized", "code": 401}
    assert sandbox.counters()["kubernetes"]["unauthorized"] == 2
    other = sandbox.add_kube_cluster("another-cluster")
    assert kube.raw("GET", "/api/v1/namespaces", token=other["token"])[0] == 401  # tokens are per cluster
    assert other["server"] != kube.server and kube.raw("GET", "/api/v1/namespaces")[0] == 200


def test_cluster_is_idempotent_and_version_follows(sandbox, tmp_path):
    first = sandbox.add_kube_cluster("/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/"
                                     "managedClusters/AKS-One", kubernetes_version="1.32.5")
    again = sandbox.add_kube_cluster("/subscriptions/s/resourcegroups/RG/providers/microsoft.containerservice/"
                                     "managedclusters/aks-one", kubernetes_version="1.33.1")
    assert first["server"] == again["server"] and first["token"] == again["token"]
    assert first["server"].rsplit("/", 1)[1].startswith("aks-one-")
    assert "certificate-authority-data:" in first["kubeconfig"] and f'token: "{first["token"]}"' in first["kubeconfig"]
    assert [c["kubernetes_version"] for c in sandbox.kube_clusters()] == ["1.33.1"]
    assert sandbox.remove_kube_cluster(first["id"]) is True and sandbox.kube_clusters() == []


# ---------------------------------------------------------------------- CRUD, errors, metadata
def test_create_get_list_and_error_shapes(kube):
    configmaps = kube.resource("v1", "ConfigMap")
    created = configmaps.create(body=cm("one", data={"k": "v"}), namespace="default")
    meta = created.metadata
    assert meta.uid and meta.resourceVersion.isdigit() and meta.creationTimestamp.endswith("Z")
    assert created.kind == "ConfigMap" and created.apiVersion == "v1"
    listed = kube.raw("GET", "/api/v1/namespaces/default/configmaps")[2]
    assert listed["kind"] == "ConfigMapList" and listed["metadata"]["resourceVersion"].isdigit()
    assert "kind" not in listed["items"][0]  # like the real server: items carry no kind/apiVersion

    status, _headers, body = kube.raw("POST", "/api/v1/namespaces/default/configmaps", cm("one"))
    assert (status, body["reason"], body["message"]) == (409, "AlreadyExists", 'configmaps "one" already exists')
    assert body["details"] == {"name": "one", "kind": "configmaps"} and body["status"] == "Failure"
    status, _headers, body = kube.raw("GET", "/apis/batch/v1/namespaces/default/jobs/nope")
    assert (status, body["reason"], body["message"]) == (404, "NotFound", 'jobs.batch "nope" not found')
    assert body["details"] == {"name": "nope", "kind": "jobs", "group": "batch"}
    status, _headers, body = kube.raw("POST", "/api/v1/namespaces/default/configmaps", cm("Bad_Name"))
    assert status == 422 and body["reason"] == "Invalid"
    assert body["message"].startswith('ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": '
                                      'a lowercase RFC 1123 subdomain')
    assert body["details"]["causes"][0]["field"] == "metadata.name"
    status, _headers, body = kube.raw("POST", "/api/v1/namespaces/missing/configmaps", cm("x", namespace="missing"))
    assert (status, body["message"], body["details"]) == (404, 'namespaces "missing" not found',
                                                          {"name": "missing", "kind": "namespaces"})
    status, _headers, body = kube.raw("POST", "/api/v1/namespaces", {"metadata": {"name": "a.b"}})
    assert status == 422 and "RFC 1123 label" in body["message"]  # namespaces are labels, not subdomains

    generated = configmaps.create(body={"metadata": {"generateName": "gen-"}}, namespace="default")
    assert generated.metadata.name.startswith("gen-") and len(generated.metadata.name) == 9


def test_put_conflicts_on_a_stale_resource_version_and_keeps_it_on_no_op(kube):
    configmaps = kube.resource("v1", "ConfigMap")
    created = configmaps.create(body=cm("rv", data={"k": "v"}), namespace="default").to_dict()
    same = configmaps.replace(body=created, namespace="default")
    assert same.metadata.resourceVersion == created["metadata"]["resourceVersion"]
    changed = dict(created, data={"k": "w"})
    updated = configmaps.replace(body=changed, namespace="default")
    assert int(updated.metadata.resourceVersion) > int(created["metadata"]["resourceVersion"])
    with pytest.raises(ConflictError) as info:
        configmaps.replace(body=dict(created, data={"k": "x"}), namespace="default")  # stale version
    body = json.loads(info.value.body)
    assert body["reason"] == "Conflict" and "the object has been modified" in body["message"]
    without_rv = dict(changed, data={"k": "y"})
    without_rv["metadata"] = {k: v for k, v in changed["metadata"].items() if k != "resourceVersion"}
    assert configmaps.replace(body=without_rv, namespace="default").data["k"] == "y"  # unconditional update


def test_patch_types(kube):
    deployments = kube.resource("apps/v1", "Deployment")
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": {"a": "1"}},
                  "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                           "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [
                               {"name": "web", "image": "nginx:1.27", "env": [{"name": "A", "value": "1"}],
                                "ports": [{"containerPort": 80}], "volumeMounts": [{"name": "d", "mountPath": "/d"}]}],
                               "volumes": [{"name": "d", "emptyDir": {}}]}}}}
    created = deployments.create(body=deployment, namespace="default")
    assert created.metadata.generation == 1 and created.status.readyReplicas == 1

    patched = deployments.patch(name="web", namespace="default", content_type=STRATEGIC, body={"spec": {"template": {
        "spec": {"containers": [{"name": "web", "env": [{"name": "B", "value": "2"}], "ports": [{"containerPort": 81}]}],
                 "volumes": [{"name": "e", "emptyDir": {}}]}}}})
    container = patched.spec.template.spec.containers[0]
    assert [e.name for e in container.env] == ["A", "B"] and [p.containerPort for p in container.ports] == [80, 81]
    assert [v.name for v in patched.spec.template.spec.volumes] == ["d", "e"] and container.image == "nginx:1.27"
    assert patched.metadata.generation == 2

    merged = deployments.patch(name="web", namespace="default", content_type=MERGE,
                               body={"metadata": {"labels": {"a": None, "b": "2"}}, "spec": {"template": {"spec": {
                                   "containers": [{"name": "web", "image": "nginx:1.28"}]}}}})
    assert merged.metadata.labels.to_dict() == {"b": "2"}
    replaced = merged.spec.template.spec.containers[0].to_dict()  # a merge patch replaces whole lists
    assert replaced["image"] == "nginx:1.28" and "env" not in replaced and "ports" not in replaced

    status, _headers, body = kube.raw("PATCH", "/apis/apps/v1/namespaces/default/deployments/web", [
        {"op": "add", "path": "/metadata/annotations", "value": {"x": "y"}},
        {"op": "replace", "path": "/spec/replicas", "value": 3},
        {"op": "test", "path": "/spec/replicas", "value": 3}], JSON_PATCH)
    assert status == 200 and body["metadata"]["annotations"] == {"x": "y"} and body["status"]["replicas"] == 3
    status, _headers, body = kube.raw("PATCH", "/apis/apps/v1/namespaces/default/deployments/web",
                                      [{"op": "test", "path": "/spec/replicas", "value": 9}], JSON_PATCH)
    assert status == 422 and body["kind"] == "Status"
    status, _headers, body = kube.raw("PATCH", "/apis/apps/v1/namespaces/default/deployments/web", {}, "text/plain")
    assert status == 415 and body["reason"] == "UnsupportedMediaType"
    status, _headers, _body = kube.raw("PATCH", "/apis/apps/v1/namespaces/default/deployments/missing", {}, MERGE)
    assert status == 404


def test_no_op_patch_keeps_resource_version(kube):
    configmaps = kube.resource("v1", "ConfigMap")
    created = configmaps.create(body=cm("noop", data={"k": "v"}, metadata={"labels": {"a": "b"}}), namespace="default")
    for content_type, body in ((STRATEGIC, {"data": {"k": "v"}}), (MERGE, {"metadata": {"labels": {"a": "b"}}}),
                               (JSON_PATCH, [{"op": "replace", "path": "/data/k", "value": "v"}])):
        same = configmaps.patch(name="noop", namespace="default", content_type=content_type, body=body)
        assert same.metadata.resourceVersion == created.metadata.resourceVersion


def test_server_side_apply(kube):
    configmaps = kube.resource("v1", "ConfigMap")
    config = cm("ssa", data={"a": "1", "b": "2"})
    status, _headers, body = kube.raw("PATCH", "/api/v1/namespaces/default/configmaps/ssa", config, APPLY)
    # ValidatePatchOptions (k8s.io/apiserver): 422 on meta.k8s.io PatchOptions, before the object is read
    assert status == 422 and body["reason"] == "Invalid"
    assert body["message"] == ('PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required '
                               'for apply patch')
    assert body["details"]["causes"] == [{"reason": "FieldValueRequired", "field": "fieldManager",
                                          "message": "Required value: is required for apply patch"}]
    status, _headers, body = kube.raw("PATCH", "/api/v1/namespaces/default/configmaps/ssa?force=false",
                                      {"data": {"a": "1"}}, MERGE)
    assert status == 422 and body["message"].endswith("force: Forbidden: may not be specified for non-apply patch")
    created = configmaps.server_side_apply(body=config, name="ssa", namespace="default", field_manager="alpha")
    entry = created.metadata.managedFields[0]
    assert (entry.manager, entry.operation) == ("alpha", "Apply")
    assert entry.fieldsV1.to_dict() == {"f:data": {"f:a": {}, "f:b": {}}}
    again = configmaps.server_side_apply(body=config, name="ssa", namespace="default", field_manager="alpha")
    assert again.metadata.resourceVersion == created.metadata.resourceVersion
    shrunk = configmaps.server_side_apply(body=cm("ssa", data={"a": "1"}), name="ssa", namespace="default",
                                          field_manager="alpha")
    assert shrunk.data.to_dict() == {"a": "1"}  # fields a manager stops applying are removed

    yaml_body = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\n  namespace: default\ndata:\n  a: '2'\n"
    status, _headers, body = kube.raw("PATCH", "/api/v1/namespaces/default/configmaps/ssa?fieldManager=beta", yaml_body, APPLY)
    assert status == 409 and body["reason"] == "Conflict"
    assert body["message"] == 'Apply failed with 1 conflict: conflict with "alpha" using v1: .data.a'
    status, _headers, body = kube.raw("PATCH", "/api/v1/namespaces/default/configmaps/ssa?fieldManager=beta&force=true",
                                      yaml_body, APPLY)
    assert status == 200 and body["data"] == {"a": "2"}
    assert {e["manager"] for e in body["metadata"]["managedFields"]} == {"beta"}  # alpha lost its only field


def test_dry_run_never_persists(kube, sandbox):
    configmaps = kube.resource("v1", "ConfigMap")
    would_be = configmaps.create(body=cm("dry", data={"k": "v"}), namespace="default", dry_run="All")
    assert would_be.metadata.uid and would_be.metadata.creationTimestamp
    with pytest.raises(NotFoundError):
        configmaps.get(name="dry", namespace="default")
    real = configmaps.create(body=cm("dry", data={"k": "v"}), namespace="default")
    patched = configmaps.patch(name="dry", namespace="default", body={"data": {"k": "w"}}, content_type=MERGE,
                               dry_run="All")
    assert patched.data.k == "w" and patched.metadata.resourceVersion == real.metadata.resourceVersion
    status, _headers, body = kube.raw("PATCH", "/api/v1/namespaces/default/configmaps/dry?dryRun=All&fieldManager=m"
                                      "&force=true", cm("dry", data={"k": "z"}), APPLY)
    assert status == 200 and body["data"] == {"k": "z"}
    assert kube.raw("DELETE", "/api/v1/namespaces/default/configmaps/dry?dryRun=All")[0] == 200
    stored = configmaps.get(name="dry", namespace="default")
    assert stored.data.k == "v" and stored.metadata.resourceVersion == real.metadata.resourceVersion
    assert kube.raw("POST", "/api/v1/namespaces/default/configmaps?dryRun=Yes", cm("x"))[0] == 400


def test_delete_shapes(kube):
    configmaps = kube.resource("v1", "ConfigMap")
    created = configmaps.create(body=cm("gone"), namespace="default")
    status, _headers, body = kube.raw("DELETE", "/api/v1/namespaces/default/configmaps/gone",
                                      {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Foreground"})
    assert status == 200 and body["status"] == "Success"
    assert body["details"] == {"name": "gone", "kind": "configmaps", "uid": created.metadata.uid}
    status, _headers, body = kube.raw("DELETE", "/api/v1/namespaces/default/configmaps/gone")
    assert (status, body["reason"]) == (404, "NotFound")
    status, _headers, body = kube.raw("DELETE", "/api/v1/namespaces/default")
    assert status == 403 and body["reason"] == "Forbidden"
    # Finalizers hold the object until they are removed.
    configmaps.create(body=cm("held", metadata={"finalizers": ["example.com/hold"]}), namespace="default")
    status, _headers, body = kube.raw("DELETE", "/api/v1/namespaces/default/configmaps/held")
    assert status == 200 and body["metadata"]["deletionTimestamp"]
    assert configmaps.get(name="held", namespace="default").metadata.deletionTimestamp
    configmaps.patch(name="held", namespace="default", body={"metadata": {"finalizers": None}}, content_type=MERGE)
    with pytest.raises(NotFoundError):
        configmaps.get(name="held", namespace="default")


# ---------------------------------------------------------------------- selectors, namespaces
def test_label_and_field_selectors(kube):
    configmaps = kube.resource("v1", "ConfigMap")
    kube.core.create_namespace({"metadata": {"name": "other"}})
    for name, namespace, labels in (("a", "default", {"app": "x", "tier": "web"}), ("b", "default", {"app": "y"}),
                                    ("c", "other", {"app": "x", "tier": "db"}), ("d", "other", {})):
        configmaps.create(body=cm(name, namespace, metadata={"labels": labels}), namespace=namespace)

    def names(**kwargs):
        return sorted(i.metadata.name for i in configmaps.get(**kwargs).items if i.metadata.name != "kube-root-ca.crt")

    assert names(label_selector="app=x") == ["a", "c"]
    assert names(label_selector="app==x,tier=db") == ["c"]
    assert names(label_selector="app!=x") == ["b", "d"]
    assert names(label_selector="tier in (web, db)") == ["a", "c"]
    assert names(label_selector="tier notin (web)") == ["b", "c", "d"]
    assert names(label_selector="tier") == ["a", "c"] and names(label_selector="!tier") == ["b", "d"]
    assert names(namespace="default", label_selector="app") == ["a", "b"]
    assert names(field_selector="metadata.name=c") == ["c"]
    assert names(field_selector="metadata.namespace!=other,metadata.name!=a") == ["b"]
    status, _headers, body = kube.raw("GET", "/api/v1/configmaps?fieldSelector=data.k%3Dv")
    assert status == 400 and body["message"] == "field label not supported: data.k"
    assert kube.raw("GET", "/api/v1/configmaps?labelSelector=a%20in%20b")[0] == 400
    all_pods = kube.raw("GET", "/api/v1/pods")[2]
    assert all_pods["kind"] == "PodList" and all_pods["items"] == []


def test_namespace_deletion_cascades(kube):
    kube.core.create_namespace({"metadata": {"name": "doomed"}})
    assert kube.core.read_namespace("doomed").status.phase == "Active"
    assert kube.core.read_namespaced_service_account("default", "doomed").metadata.name == "default"
    kube.core.create_namespaced_config_map("doomed", cm("x", "doomed"))
    deleted = kube.core.delete_namespace("doomed")
    assert deleted.status.phase == "Terminating" if hasattr(deleted, "status") else True
    with pytest.raises(ApiException) as info:
        kube.core.read_namespace("doomed")
    assert info.value.status == 404
    assert [c for c in kube.core.list_config_map_for_all_namespaces().items if c.metadata.namespace == "doomed"] == []
    kube.core.create_namespace({"metadata": {"name": "doomed"}})  # the name is free again, and empty
    assert [c.metadata.name for c in kube.core.list_namespaced_config_map("doomed").items] == ["kube-root-ca.crt"]


# ---------------------------------------------------------------------- volumes
def _pv(name, storage="10Gi", modes=("ReadWriteMany",), storage_class="", labels=None):
    return {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name, "labels": labels or {}},
            "spec": {"capacity": {"storage": storage}, "accessModes": list(modes), "storageClassName": storage_class,
                     "csi": {"driver": "blob.csi.azure.com", "volumeHandle": f"rg#acct#{name}",
                             "volumeAttributes": {"containerName": name, "mountWithWorkloadIdentityToken": "true"}}}}


def _pvc(name, volume=None, storage="10Gi", modes=("ReadWriteMany",), storage_class=""):
    spec = {"accessModes": list(modes), "resources": {"requests": {"storage": storage}},
            "storageClassName": storage_class}
    if volume:
        spec["volumeName"] = volume
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name}, "spec": spec}


def test_pv_pvc_binding(kube):
    pvs, pvcs = kube.resource("v1", "PersistentVolume"), kube.resource("v1", "PersistentVolumeClaim")
    assert pvs.create(body=_pv("pv-a")).status.phase == "Available"
    claim = pvcs.create(body=_pvc("claim-a", "pv-a"), namespace="default")
    claim = pvcs.get(name="claim-a", namespace="default")
    assert claim.status.phase == "Bound" and claim.status.capacity.storage == "10Gi"
    assert claim.status.accessModes == ["ReadWriteMany"]
    volume = pvs.get(name="pv-a")
    assert volume.status.phase == "Bound" and volume.spec.claimRef.name == "claim-a"
    assert volume.spec.claimRef.uid == claim.metadata.uid

    # Mismatches stay Pending with the PV controller's reason as an event.
    pvs.create(body=_pv("pv-small", storage="1Gi"))
    pvs.create(body=_pv("pv-classy", storage_class="blob-fuse"))
    pvcs.create(body=_pvc("too-big", "pv-small"), namespace="default")
    pvcs.create(body=_pvc("wrong-class", "pv-classy"), namespace="default")
    pvcs.create(body=_pvc("no-volume", "pv-missing"), namespace="default")
    for name in ("too-big", "wrong-class", "no-volume"):
        assert pvcs.get(name=name, namespace="default").status.phase == "Pending"
    messages = {e.involved_object.name: e.message for e in kube.core.list_namespaced_event("default").items
                if e.reason == "FailedBinding"}
    assert messages["too-big"] == 'Cannot bind to requested volume "pv-small": requested PV is too small'
    assert messages["wrong-class"] == 'Cannot bind to requested volume "pv-classy": storageClassName does not match'
    assert messages["no-volume"] == 'volume "pv-missing" not found'
    pvs.create(body=_pv("pv-missing"))
    assert pvcs.get(name="no-volume", namespace="default").status.phase == "Bound"  # binds once the PV exists

    # Without volumeName a claim takes the smallest matching available volume.
    pvs.create(body=_pv("pv-big", storage="100Gi", storage_class="blob-fuse"))
    pvcs.create(body=_pvc("any", storage="5Gi", storage_class="blob-fuse"), namespace="default")
    assert pvcs.get(name="any", namespace="default").spec.volumeName == "pv-classy"

    pvcs.delete(name="claim-a", namespace="default")
    assert pvs.get(name="pv-a").status.phase == "Released"  # Retain: data kept, not bindable again
    pvs.delete(name="pv-classy")   # bound: pv-protection keeps it until its claim is gone
    assert pvs.get(name="pv-classy").metadata.deletionTimestamp
    assert pvcs.get(name="any", namespace="default").status.phase == "Bound"
    pvs.patch(name="pv-classy", body={"metadata": {"finalizers": None}}, content_type=MERGE)  # forced
    assert pvcs.get(name="any", namespace="default").status.phase == "Lost"
    with pytest.raises(UnprocessibleEntityError) as info:
        pvs.patch(name="pv-big", body={"spec": {"csi": {"volumeHandle": "other"}}}, content_type=MERGE)
    assert "spec.persistentvolumesource is immutable" in json.loads(info.value.body)["message"]


# ---------------------------------------------------------------------- jobs, pods, watch
def test_job_without_a_decision_stays_active(kube):
    jobs = kube.resource("batch/v1", "Job")
    # The claim does not exist: the Job kubelet (sandbox/kubelet) leaves the pod Pending and the Job active.
    body = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "mount-check"},
            "spec": {"template": {"metadata": {"labels": {"azure.workload.identity/use": "true"}},
                                  "spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox"}],
                                           "volumes": [{"name": "blob",
                                                        "persistentVolumeClaim": {"claimName": "none"}}]}}}}
    job = jobs.create(body=body, namespace="default")
    job = jobs.get(name="mount-check", namespace="default")
    assert job.status.active == 1 and not job.status.succeeded
    assert job.spec.template.metadata.labels["batch.kubernetes.io/job-name"] == "mount-check"
    pods = kube.core.list_namespaced_pod("default", label_selector="job-name=mount-check").items
    assert len(pods) == 1 and pods[0].status.phase == "Pending"
    assert pods[0].metadata.labels["azure.workload.identity/use"] == "true"
    status, _headers, body = kube.raw("GET", f"/api/v1/namespaces/default/pods/{pods[0].metadata.name}/log")
    assert status == 400 and "is waiting to start: ContainerCreating" in body["message"]
    # /status is writable on its own and main-resource writes cannot touch status.
    status, _headers, updated = kube.raw("PATCH", "/apis/batch/v1/namespaces/default/jobs/mount-check/status",
                                         {"status": {"active": 0, "failed": 1}}, MERGE)
    assert status == 200 and updated["status"]["failed"] == 1
    status, _headers, updated = kube.raw("PATCH", "/apis/batch/v1/namespaces/default/jobs/mount-check",
                                         {"status": {"failed": 5}}, MERGE)
    assert updated["status"]["failed"] == 1
    with pytest.raises(UnprocessibleEntityError):
        jobs.patch(name="mount-check", namespace="default", content_type=MERGE,
                   body={"spec": {"template": {"spec": {"containers": [{"name": "main", "image": "alpine"}]}}}})
    jobs.delete(name="mount-check", namespace="default", propagation_policy="Background")
    # The pod was never scheduled (its claim does not exist): it goes at once, without a grace period.
    assert kube.core.list_namespaced_pod("default").items == []


def test_job_with_a_missing_service_account_gets_no_pod(kube):
    body = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "no-sa"},
            "spec": {"template": {"spec": {"restartPolicy": "Never", "serviceAccountName": "missing",
                                           "containers": [{"name": "main", "image": "busybox"}]}}}}
    kube.resource("batch/v1", "Job").create(body=body, namespace="default")
    assert kube.core.list_namespaced_pod("default").items == []
    events = [e for e in kube.core.list_namespaced_event("default").items if e.reason == "FailedCreate"]
    assert 'serviceaccount "missing" not found' in events[0].message and events[0].type == "Warning"


def test_bounded_watch(kube):
    configmaps = kube.resource("v1", "ConfigMap")
    configmaps.create(body=cm("w1"), namespace="default")
    status, _headers, text = kube.raw("GET", "/api/v1/namespaces/default/configmaps?watch=true")
    events = [json.loads(line) for line in text.splitlines()] if isinstance(text, str) else [text]
    assert {(e["type"], e["object"]["metadata"]["name"]) for e in events} >= {("ADDED", "w1")}
    version = max(int(e["object"]["metadata"]["resourceVersion"]) for e in events)
    status, _headers, text = kube.raw("GET", f"/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={version}"
                                      f"&timeoutSeconds=1")
    assert status == 200 and not text  # nothing new: an empty, finished stream after the timeout
    configmaps.patch(name="w1", namespace="default", body={"data": {"a": "b"}}, content_type=MERGE)
    _status, _headers, event = kube.raw("GET", f"/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={version}")
    assert event["type"] == "MODIFIED" and event["object"]["data"] == {"a": "b"}
    configmaps.delete(name="w1", namespace="default")
    # A long poll reports current state: an object changed and then deleted shows up as DELETED only.
    _status, _headers, event = kube.raw("GET", f"/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={version}")
    assert event["type"] == "DELETED" and event["object"]["metadata"]["name"] == "w1"


# ---------------------------------------------------------------------- counters, log, persistence
def test_counters_and_request_log(kube, sandbox):
    before = sandbox.counters()
    kube.core.list_namespace()
    kube.core.create_namespaced_config_map("default", cm("counted"))
    after = sandbox.counters()
    delta = after["kubernetes"]
    assert delta["by_kind"]["Namespace"]["reads"] >= 1 and delta["by_kind"]["ConfigMap"]["writes"] == 1
    assert {k: after[k] for k in ("reads", "writes", "by_type")} == {k: before[k] for k in ("reads", "writes", "by_type")}
    entries = [r for r in sandbox.requests() if r["kind"] == "kubernetes"]
    assert any(r["method"] == "POST" and r["status"] == 201 and r["resource_type"] == "configmaps" for r in entries)
    sandbox.add_fault(method="GET", path=r"/k8s/.*/configmaps$", status=503, count=1)
    status, _headers, body = kube.raw("GET", "/api/v1/namespaces/default/configmaps")
    assert status == 503 and body["kind"] == "Status" and body["reason"] == "ServiceUnavailable"
