"""apps/v1 defaults, the scale subresource, NetworkPolicy, emulated nodes and decided workload readiness, through
the real `kubernetes` client against the emulated API server.

Each test names the lenient behavior it guards against (what the emulation did before nodes and decisions)."""

import json

import kubernetes
import pytest
from k8s_test_helpers import EmulatedCluster
from kubernetes.client.rest import ApiException

MERGE = "application/merge-patch+json"
SYSTEM_TAINT = "CriticalAddonsOnly=true:NoSchedule"


def container(name="main"):
    return {"name": name, "image": "busybox:1.36"}


def workload(kind, name, replicas=None, **pod_spec):
    spec = {"selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [container()], **pod_spec}}}
    if replicas is not None:
        spec["replicas"] = replicas
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name}, "spec": spec}


def pooled_cluster(sandbox, tmp_path, pools, cluster_id="pooled"):
    """A standalone cluster with these node pools (control API), then the usual client helpers."""
    sandbox.call("POST", "/k8s/clusters", {"id": cluster_id, "node_pools": pools})
    return EmulatedCluster(sandbox, tmp_path, cluster_id)


def set_pools(sandbox, cluster_id, pools):
    sandbox.call("POST", "/k8s/clusters", {"id": cluster_id, "node_pools": pools})


def create(kube, body, namespace="default"):
    return kube.resource(body["apiVersion"], body["kind"]).create(body=body, namespace=namespace).to_dict()


def get(kube, kind, name, namespace="default", api_version="apps/v1"):
    return kube.resource(api_version, kind).get(name=name, namespace=namespace).to_dict()


def events(kube, name, namespace="default"):
    return [(e.reason, e.message) for e in kube.core.list_namespaced_event(
        namespace, field_selector=f"involvedObject.name={name}").items]


def conditions(obj):
    return {c["type"]: (c["status"], c["reason"], c["message"]) for c in obj["status"].get("conditions") or []}


# ---------------------------------------------------------------------- defaults (lenient: only replicas/history)
def test_apps_v1_defaults_as_the_api_server_sets_them(kube):
    deployment = create(kube, workload("Deployment", "web"))["spec"]
    assert (deployment["replicas"], deployment["revisionHistoryLimit"], deployment["progressDeadlineSeconds"]) == (
        1, 10, 600)
    assert deployment["strategy"] == {"type": "RollingUpdate",
                                      "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
    statefulset = create(kube, workload("StatefulSet", "db"))["spec"]
    assert statefulset["podManagementPolicy"] == "OrderedReady" and statefulset["replicas"] == 1
    assert statefulset["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    assert statefulset["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    assert statefulset["revisionHistoryLimit"] == 10
    daemonset = create(kube, workload("DaemonSet", "agent"))["spec"]
    assert daemonset["updateStrategy"] == {"type": "RollingUpdate",
                                           "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}
    assert daemonset["revisionHistoryLimit"] == 10 and "replicas" not in daemonset
    replicaset = create(kube, workload("ReplicaSet", "rs"))["spec"]
    assert replicaset["replicas"] == 1 and "revisionHistoryLimit" not in replicaset  # not a ReplicaSet field
    # What is given is kept; an explicit RollingUpdate without rollingUpdate gets no partition (defaults.go).
    given = workload("Deployment", "recreate")
    given["spec"]["strategy"] = {"type": "Recreate"}
    assert create(kube, given)["spec"]["strategy"] == {"type": "Recreate"}
    explicit = workload("StatefulSet", "explicit")
    explicit["spec"]["updateStrategy"] = {"type": "RollingUpdate"}
    explicit["spec"]["podManagementPolicy"] = "Parallel"
    spec = create(kube, explicit)["spec"]
    assert spec["updateStrategy"] == {"type": "RollingUpdate"} and spec["podManagementPolicy"] == "Parallel"


def test_available_deployment_reports_available_and_progressing(kube):
    created = create(kube, workload("Deployment", "web", replicas=2))
    status = get(kube, "Deployment", "web")["status"]
    assert (status["replicas"], status["readyReplicas"], status["availableReplicas"], status["updatedReplicas"]) == (
        2, 2, 2, 2)
    found = conditions(get(kube, "Deployment", "web"))
    assert found["Available"] == ("True", "MinimumReplicasAvailable", "Deployment has minimum availability.")
    state, reason, message = found["Progressing"]
    assert (state, reason) == ("True", "NewReplicaSetAvailable")
    assert message.startswith('ReplicaSet "web-') and message.endswith('" has successfully progressed.')
    assert created["metadata"]["generation"] == 1


# ---------------------------------------------------------------------- scale (lenient: 404)
def test_scale_subresource_of_deployments_statefulsets_and_replicasets(kube):
    apps = kubernetes.client.AppsV1Api(kube.api_client)
    create(kube, workload("Deployment", "web", replicas=2))
    scale = apps.read_namespaced_deployment_scale("web", "default")
    assert (scale.kind, scale.api_version, scale.spec.replicas, scale.status.replicas, scale.status.selector) == (
        "Scale", "autoscaling/v1", 2, 2, "app=web")
    scaled = apps.patch_namespaced_deployment_scale("web", "default", {"spec": {"replicas": 5}})
    assert scaled.spec.replicas == 5 and scaled.status.replicas == 5
    deployment = apps.read_namespaced_deployment("web", "default")
    assert deployment.spec.replicas == 5 and deployment.metadata.generation == 2
    assert deployment.status.ready_replicas == 5
    assert any(m.subresource == "scale" for m in deployment.metadata.managed_fields)

    create(kube, workload("StatefulSet", "db"))
    body = apps.read_namespaced_stateful_set_scale("db", "default")
    body.spec.replicas = 3
    assert apps.replace_namespaced_stateful_set_scale("db", "default", body).spec.replicas == 3
    assert apps.read_namespaced_stateful_set("db", "default").metadata.generation == 2
    body.spec.replicas = 4  # its resourceVersion is stale now
    with pytest.raises(ApiException) as stale:
        apps.replace_namespaced_stateful_set_scale("db", "default", body)
    assert stale.value.status == 409

    selector = workload("ReplicaSet", "rs")
    selector["spec"]["selector"] = {"matchLabels": {"app": "rs"}, "matchExpressions": [
        {"key": "tier", "operator": "In", "values": ["web", "api"]}, {"key": "canary", "operator": "DoesNotExist"}]}
    selector["spec"]["template"]["metadata"]["labels"]["tier"] = "web"
    create(kube, selector)
    assert apps.read_namespaced_replica_set_scale("rs", "default").status.selector == \
        "app=rs,!canary,tier in (api,web)"
    apps.patch_namespaced_replica_set_scale("rs", "default", {"spec": {"replicas": 0}})
    replicaset = apps.read_namespaced_replica_set("rs", "default")
    assert replicaset.spec.replicas == 0 and replicaset.metadata.generation == 2


def test_scale_errors_and_discovery(kube):
    create(kube, workload("Deployment", "web"))
    path = "/apis/apps/v1/namespaces/default/deployments/web/scale"
    status, _h, body = kube.raw("PATCH", path, {"spec": {"replicas": -1}}, MERGE)
    assert status == 422 and body["message"] == ('Scale.autoscaling "web" is invalid: spec.replicas: Invalid value: '
                                                 '-1: must be greater than or equal to 0')
    status, _h, body = kube.raw("PATCH", path, {"spec": {"replicas": "3"}}, MERGE)
    assert status == 400 and "cannot unmarshal string into Go struct field ScaleSpec.spec.replicas" in body["message"]
    assert kube.raw("GET", "/apis/apps/v1/namespaces/default/deployments/nope/scale")[0] == 404
    assert kube.raw("GET", "/apis/apps/v1/namespaces/default/daemonsets/x/scale")[0] == 404  # no such subresource
    assert kube.raw("DELETE", path)[0] == 405
    resources = {r["name"]: r for r in kube.raw("GET", "/apis/apps/v1")[2]["resources"]}
    for plural in ("deployments", "statefulsets", "replicasets"):
        entry = resources[f"{plural}/scale"]
        assert (entry["group"], entry["version"], entry["kind"], entry["verbs"]) == (
            "autoscaling", "v1", "Scale", ["get", "patch", "update"])
    assert "daemonsets/scale" not in resources
    aggregated = kube.raw("GET", "/apis", accept="application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList")
    apps_group = next(g for g in aggregated[2]["items"] if g["metadata"]["name"] == "apps")
    deployments = next(r for r in apps_group["versions"][0]["resources"] if r["resource"] == "deployments")
    assert {"subresource": "scale", "responseKind": {"group": "autoscaling", "version": "v1", "kind": "Scale"},
            "verbs": ["get", "patch", "update"]} in deployments["subresources"]


# ---------------------------------------------------------------------- NetworkPolicy (lenient: 404)
def test_network_policy_defaults_and_validation(kube):
    networking = kubernetes.client.NetworkingV1Api(kube.api_client)
    deny = networking.create_namespaced_network_policy("default", {"metadata": {"name": "deny-all"},
                                                                   "spec": {"podSelector": {}}})
    assert deny.spec.policy_types == ["Ingress"] and deny.metadata.generation == 1
    body = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "egress"},
            "spec": {"egress": [{"ports": [{"port": 443}]}]}}
    status, _h, created = kube.raw("POST", "/apis/networking.k8s.io/v1/namespaces/default/networkpolicies", body)
    assert status == 201 and created["spec"]["podSelector"] == {}  # a Go struct without omitempty
    assert created["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert created["spec"]["egress"][0]["ports"] == [{"port": 443, "protocol": "TCP"}]
    bad = dict(body, metadata={"name": "bad"}, spec={"podSelector": {}, "policyTypes": ["Ingress", "Sideways"]})
    status, _h, error = kube.raw("POST", "/apis/networking.k8s.io/v1/namespaces/default/networkpolicies", bad)
    assert status == 422 and error["message"] == ('NetworkPolicy.networking.k8s.io "bad" is invalid: '
                                                  'spec.policyTypes[1]: Unsupported value: "Sideways": supported '
                                                  'values: "Ingress", "Egress"')
    wrong = dict(body, metadata={"name": "wrong"}, spec={"podSelector": "app=web"})
    status, _h, error = kube.raw("POST", "/apis/networking.k8s.io/v1/namespaces/default/networkpolicies", wrong)
    assert status == 400 and error["message"].endswith(
        "json: cannot unmarshal string into Go struct field NetworkPolicySpec.spec.podSelector of type "
        "v1.LabelSelector")
    resources = kube.raw("GET", "/apis/networking.k8s.io/v1")[2]["resources"]
    assert [(r["name"], r["namespaced"], r.get("shortNames")) for r in resources] == [
        ("networkpolicies", True, ["netpol"])]


# ---------------------------------------------------------------------- nodes
def test_standalone_cluster_has_one_default_node(kube):
    [node] = kube.core.list_node().items
    assert node.metadata.name.startswith("aks-nodepool1-") and node.metadata.name.endswith("-vmss000000")
    labels = node.metadata.labels
    assert (labels["kubernetes.io/os"], labels["kubernetes.io/arch"], labels["agentpool"],
            labels["kubernetes.azure.com/agentpool"], labels["kubernetes.azure.com/mode"],
            labels["kubernetes.io/hostname"]) == ("linux", "amd64", "nodepool1", "nodepool1", "system",
                                                  node.metadata.name)
    assert node.spec.taints is None and node.status.node_info.kubelet_version == "v1.33.2"
    assert {c.type: c.status for c in node.status.conditions}["Ready"] == "True"
    status, _h, body = kube.raw("POST", "/api/v1/nodes", {"metadata": {"name": "extra"}})
    assert status == 405 and body["reason"] == "MethodNotAllowed"
    verbs = next(r for r in kube.raw("GET", "/api/v1")[2]["resources"] if r["name"] == "nodes")["verbs"]
    assert verbs == ["get", "list", "watch"]


def test_node_pools_make_nodes_and_pool_changes_update_them(sandbox, tmp_path):
    pools = [{"name": "system", "count": 2, "mode": "System", "vmSize": "Standard_D4s_v5",
              "nodeTaints": [SYSTEM_TAINT]},
             {"name": "user", "count": 1, "nodeLabels": {"disk": "ssd"}, "nodeTaints": ["dedicated=gpu:NoExecute"]}]
    kube = pooled_cluster(sandbox, tmp_path, pools)
    nodes = {n.metadata.name: n for n in kube.core.list_node().items}
    system = sorted(n for n in nodes if n.startswith("aks-system-"))
    assert [n[-10:] for n in system] == ["vmss000000", "vmss000001"] and len(nodes) == 3
    first = nodes[system[0]]
    assert first.metadata.labels["node.kubernetes.io/instance-type"] == "Standard_D4s_v5"
    assert [(t.key, t.value, t.effect) for t in first.spec.taints] == [("CriticalAddonsOnly", "true", "NoSchedule")]
    user = next(n for name, n in nodes.items() if name.startswith("aks-user-"))
    assert user.metadata.labels["disk"] == "ssd" and user.metadata.labels["kubernetes.azure.com/mode"] == "user"
    assert [(t.key, t.value, t.effect) for t in user.spec.taints] == [("dedicated", "gpu", "NoExecute")]
    version = first.metadata.resource_version

    set_pools(sandbox, "pooled", [dict(pools[0], count=1)])  # system scaled down, user pool deleted
    after = {n.metadata.name: n for n in kube.core.list_node().items}
    assert list(after) == [system[0]] and after[system[0]].metadata.resource_version == version  # unchanged node
    set_pools(sandbox, "pooled", [dict(pools[0], count=1, nodeTaints=[], nodeLabels={"team": "a"})])
    [node] = kube.core.list_node().items
    assert node.spec.taints is None and node.metadata.labels["team"] == "a"
    with pytest.raises(Exception) as bad:
        set_pools(sandbox, "pooled", [{"name": "Bad_Name", "count": 1}])
    assert "name" in str(bad.value)


# ---------------------------------------------------------------------- DaemonSet desired (lenient: node count)
def test_daemonset_desired_counts_matching_nodes_that_it_tolerates(sandbox, tmp_path):
    kube = pooled_cluster(sandbox, tmp_path, [
        {"name": "system", "count": 2, "mode": "System", "nodeTaints": [SYSTEM_TAINT]},
        {"name": "user", "count": 1, "nodeLabels": {"disk": "ssd"}},
        {"name": "win", "count": 1, "osType": "Windows"}])
    linux = {"kubernetes.io/os": "linux"}
    cases = {
        "plain": ({"nodeSelector": linux}, 1),                                   # the system nodes are tainted
        "critical": ({"nodeSelector": linux, "tolerations": [
            {"key": "CriticalAddonsOnly", "operator": "Exists"}]}, 3),
        "all": ({"nodeSelector": linux, "tolerations": [{"operator": "Exists"}]}, 3),
        "equal-wrong-value": ({"tolerations": [{"key": "CriticalAddonsOnly", "operator": "Equal",
                                                "value": "false"}]}, 2),      # user + windows
        "nothing": ({"nodeSelector": {"pool": "none"}, "tolerations": [{"operator": "Exists"}]}, 0),
        "affinity-in": ({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]}]}}}},
            1),
        "affinity-notin": ({"tolerations": [{"operator": "Exists"}], "affinity": {"nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": "kubernetes.io/os", "operator": "NotIn", "values": ["windows"]},
                {"key": "disk", "operator": "DoesNotExist"}]}]}}}}, 2),
    }
    for name, (pod_spec, _desired) in cases.items():
        create(kube, workload("DaemonSet", name, **pod_spec), "kube-system")
    for name, (_pod_spec, desired) in cases.items():
        status = get(kube, "DaemonSet", name, "kube-system")["status"]
        assert (status["desiredNumberScheduled"], status["numberReady"], status["currentNumberScheduled"]) == (
            desired, desired, desired), name
    set_pools(sandbox, "pooled", [{"name": "system", "count": 2, "mode": "System"}])  # taint removed
    assert get(kube, "DaemonSet", "plain", "kube-system")["status"]["desiredNumberScheduled"] == 2


# ---------------------------------------------------------------------- ServiceAccount (lenient: ready at once)
def test_workloads_wait_for_their_service_account_and_react_to_its_creation(kube):
    for kind in ("Deployment", "StatefulSet", "ReplicaSet", "DaemonSet"):
        create(kube, workload(kind, kind.lower(), replicas=None if kind == "DaemonSet" else 2,
                              serviceAccountName="runner"))
    deployment = get(kube, "Deployment", "deployment")
    status = deployment["status"]
    assert "readyReplicas" not in status and "availableReplicas" not in status and status["unavailableReplicas"] == 2
    found = conditions(deployment)
    assert found["Available"] == ("False", "MinimumReplicasAvailable", "Deployment does not have minimum availability.")
    assert found["ReplicaFailure"][:2] == ("True", "FailedCreate")
    [(reason, message)] = [e for e in events(kube, "deployment") if e[0] == "FailedCreate"]
    assert message.startswith('Error creating: pods "deployment-') and message.endswith(
        '-" is forbidden: error looking up service account default/runner: serviceaccount "runner" not found')
    assert get(kube, "ReplicaSet", "replicaset")["status"]["replicas"] == 0
    assert ("FailedCreate", 'Error creating: pods "replicaset-" is forbidden: error looking up service account '
                            'default/runner: serviceaccount "runner" not found') in events(kube, "replicaset")
    assert ("FailedCreate", 'create Pod statefulset-0 in StatefulSet statefulset failed error: pods "statefulset-0" '
                            'is forbidden: error looking up service account default/runner: serviceaccount "runner" '
                            'not found') in events(kube, "statefulset")
    daemon = get(kube, "DaemonSet", "daemonset")["status"]
    assert (daemon["desiredNumberScheduled"], daemon["numberReady"], daemon["numberUnavailable"]) == (1, 0, 1)

    kube.core.create_namespaced_service_account("default", {"metadata": {"name": "runner"}})
    deployment = get(kube, "Deployment", "deployment")
    assert deployment["status"]["availableReplicas"] == 2 and "unavailableReplicas" not in deployment["status"]
    found = conditions(deployment)
    assert found["Available"][0] == "True" and found["Progressing"][1] == "NewReplicaSetAvailable"
    assert "ReplicaFailure" not in found
    assert get(kube, "StatefulSet", "statefulset")["status"]["readyReplicas"] == 2
    assert get(kube, "ReplicaSet", "replicaset")["status"]["readyReplicas"] == 2
    assert get(kube, "DaemonSet", "daemonset")["status"]["numberReady"] == 1


def test_job_failed_create_names_the_pod_by_its_generate_name(kube):
    body = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "no-sa"},
            "spec": {"template": {"spec": {"restartPolicy": "Never", "serviceAccountName": "missing",
                                           "containers": [container()]}}}}
    create(kube, body)
    assert ("FailedCreate", 'Error creating: pods "no-sa-" is forbidden: error looking up service account '
                            'default/missing: serviceaccount "missing" not found') in events(kube, "no-sa")


# ---------------------------------------------------------------------- scheduling (lenient: ready anywhere)
def test_workloads_without_a_matching_node_stay_pending(sandbox, tmp_path):
    kube = pooled_cluster(sandbox, tmp_path, [{"name": "system", "count": 2, "mode": "System",
                                               "nodeTaints": [SYSTEM_TAINT]}])
    create(kube, workload("Deployment", "selector", replicas=2, nodeSelector={"disk": "ssd"},
                          tolerations=[{"operator": "Exists"}]))
    status = get(kube, "Deployment", "selector")["status"]
    assert (status["replicas"], status.get("readyReplicas"), status["unavailableReplicas"]) == (2, None, 2)
    assert conditions(get(kube, "Deployment", "selector"))["Progressing"][1] == "ReplicaSetUpdated"
    assert ("FailedScheduling", "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector. "
                                "preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.") \
        in events(kube, "selector")
    create(kube, workload("StatefulSet", "tainted", replicas=3))
    status = get(kube, "StatefulSet", "tainted")["status"]
    assert (status["replicas"], status["availableReplicas"], status.get("readyReplicas")) == (1, 0, None)
    assert ("FailedScheduling", "0/2 nodes are available: 2 node(s) had untolerated taint(s). preemption: 0/2 nodes "
                                "are available: 2 Preemption is not helpful for scheduling.") in events(kube, "tainted")
    set_pools(sandbox, "pooled", [{"name": "system", "count": 2, "mode": "System"},
                                  {"name": "fast", "count": 1, "nodeLabels": {"disk": "ssd"}}])
    assert get(kube, "StatefulSet", "tainted")["status"]["readyReplicas"] == 3
    assert get(kube, "Deployment", "selector")["status"]["readyReplicas"] == 2


def test_node_pools_survive_a_state_round_trip(tmp_path):
    from sandbox.app import App
    from sandbox.k8s import kinds
    from sandbox.k8s.cluster import KubeCluster
    app = App(workdir=str(tmp_path / "app"))
    app.bind("127.0.0.1", 12345)
    app.kube.add_cluster("persisted", node_pools=[{"name": "a", "count": 2, "nodeLabels": {"team": "x"}}])
    data = json.loads(json.dumps(app.kube.dump()))  # what --state-file holds
    [saved] = data["clusters"]
    restored = KubeCluster.restore(saved, app.store, hub=app.kube)
    assert restored.node_pools == [{"name": "a", "count": 2, "nodeLabels": {"team": "x"}}]
    nodes = restored.items(kinds.BY_KEY["/nodes"])
    assert len(nodes) == 2 and all(n["metadata"]["labels"]["team"] == "x" for n in nodes)
    app.kube.restore(data)
    assert [len(c.items(kinds.BY_KEY["/nodes"])) for c in app.kube.list_clusters()] == [2]


# ---------------------------------------------------------------------- AKS: nodes follow the ARM agent pools
def test_aks_nodes_follow_the_agent_pools(conn, credential, rm_client, tmp_path):
    import base64
    from azure.mgmt.containerservice import ContainerServiceClient
    from sandbox import sdk
    aks = ContainerServiceClient(credential, conn["subscription_id"], **sdk.client_kwargs(conn))
    rm_client.resource_groups.create_or_update("rg-nodes", {"location": "westeurope"})
    body = {"location": "westeurope", "identity": {"type": "SystemAssigned"}, "properties": {
        "dnsPrefix": "nodes", "agentPoolProfiles": [{"name": "system", "count": 2, "vmSize": "Standard_D2s_v5",
                                                     "mode": "System", "osType": "Linux",
                                                     "nodeLabels": {"team": "storage"}}]}}
    cluster = aks.managed_clusters.begin_create_or_update("rg-nodes", "aks-nodes", body).result()
    value = aks.managed_clusters.list_cluster_user_credentials("rg-nodes", "aks-nodes").kubeconfigs[0].value
    path = tmp_path / "aks.kubeconfig"
    path.write_bytes(value if isinstance(value, bytes) else base64.b64decode(value))
    api = kubernetes.config.new_client_from_config(config_file=str(path))
    core, apps = kubernetes.client.CoreV1Api(api), kubernetes.client.AppsV1Api(api)

    nodes = sorted(core.list_node().items, key=lambda n: n.metadata.name)
    assert [n.metadata.name[-10:] for n in nodes] == ["vmss000000", "vmss000001"]
    prefix = nodes[0].metadata.name[:-10]
    assert prefix.startswith("aks-system-") and len(prefix.split("-")[2]) == 8 and prefix.count("-") == 3
    labels = nodes[0].metadata.labels
    assert (labels["team"], labels["kubernetes.azure.com/mode"], labels["topology.kubernetes.io/region"],
            labels["kubernetes.azure.com/cluster"], labels["node.kubernetes.io/instance-type"]) == (
        "storage", "system", "westeurope", cluster.node_resource_group, "Standard_D2s_v5")
    assert nodes[0].status.node_info.kubelet_version == "v" + cluster.current_kubernetes_version
    assert nodes[0].spec.provider_id.startswith("azure:///subscriptions/" + conn["subscription_id"])

    daemon = workload("DaemonSet", "agent", nodeSelector={"kubernetes.io/os": "linux"})
    apps.create_namespaced_daemon_set("kube-system", daemon)
    aks.agent_pools.begin_create_or_update("rg-nodes", "aks-nodes", "gpu", {"properties": {
        "count": 1, "vmSize": "Standard_D4s_v5", "mode": "User", "nodeTaints": ["sku=gpu:NoSchedule"]}}).result()
    aks.agent_pools.begin_create_or_update("rg-nodes", "aks-nodes", "system", {"properties": {
        "count": 1, "vmSize": "Standard_D2s_v5", "mode": "System"}}).result()
    names = sorted(n.metadata.name for n in core.list_node().items)
    assert len(names) == 2 and names[0].startswith("aks-gpu-") and names[1] == nodes[0].metadata.name
    gpu = core.read_node(names[0])
    assert [(t.key, t.value, t.effect) for t in gpu.spec.taints] == [("sku", "gpu", "NoSchedule")]
    assert apps.read_namespaced_daemon_set("agent", "kube-system").status.desired_number_scheduled == 1


def test_workload_fields_of_the_wrong_type_are_a_decoding_400(kube):
    body = workload("Deployment", "typed")
    body["spec"]["replicas"] = "3"
    status, _h, error = kube.raw("POST", "/apis/apps/v1/namespaces/default/deployments", body)
    assert status == 400 and error["message"] == ('Deployment in version "v1" cannot be handled as a Deployment: json: '
                                                  'cannot unmarshal string into Go struct field DeploymentSpec.spec.'
                                                  'replicas of type int32')
    body = workload("DaemonSet", "typed")
    body["spec"]["template"]["spec"]["nodeSelector"] = ["linux"]
    status, _h, error = kube.raw("POST", "/apis/apps/v1/namespaces/default/daemonsets", body)
    assert status == 400 and error["message"].endswith(
        "cannot unmarshal array into Go struct field PodSpec.spec.template.spec.nodeSelector of type map[string]string")
