from ansible_collections.keyless.aks_storage.plugins.filter import chain, validation

WORKLOADS = [
    {"name": "reports", "namespace": "reports", "service_account": "writer", "storage_account": "st1",
     "resource_group": "rg-st", "container": "reports", "access": "readwrite", "identity": {"name": "id-a"}},
    {"name": "reports2", "namespace": "reports", "service_account": "writer", "storage_account": "st1",
     "resource_group": "rg-st", "container": "more", "access": "read", "identity": {"name": "id-a"}},
    {"name": "archive", "namespace": "archive", "service_account": "reader", "storage_account": "st2",
     "resource_group": "rg-st", "container": "archive", "access": "read",
     "identity": {"name": "id-b", "resource_group": "rg-other"}},
]


def test_workload_identities_are_distinct_and_default_the_group():
    assert chain.workload_identities(WORKLOADS, "rg-id") == [{"resource_group": "rg-id", "name": "id-a"},
                                                             {"resource_group": "rg-other", "name": "id-b"}]


def test_federated_credentials_one_per_service_account():
    creds = chain.federated_credentials(WORKLOADS, {"resource_group": "rg-id", "name": "id-a"}, "rg-id",
                                        "https://issuer/", "aks1")
    assert creds == [{"name": "aks1-reports-writer", "issuer": "https://issuer/", "namespace": "reports",
                      "service_account": "writer"}]


def test_data_roles_follow_access():
    got = chain.data_role_assignments(WORKLOADS, {"rg-id/id-a": "pa", "rg-other/id-b": "pb"}, "rg-id")
    assert [(a["container"], a["role"], a["principal_id"]) for a in got] == [
        ("reports", "Storage Blob Data Contributor", "pa"), ("more", "Storage Blob Data Reader", "pa"),
        ("archive", "Storage Blob Data Reader", "pb")]


def test_account_containers_union():
    assert chain.account_containers(WORKLOADS, "st1", ["logs"]) == ["logs", "reports", "more"]
    assert chain.account_containers(WORKLOADS, "st3") == []


def test_job_outcomes_and_object_keys():
    jobs = [{"metadata": {"namespace": "a", "name": "j1"}, "status": {"conditions": [
        {"type": "Complete", "status": "True"}]}},
        {"metadata": {"namespace": "b", "name": "j2"}, "status": {"conditions": [
            {"type": "Failed", "status": "True"}]}},
        {"metadata": {"namespace": "c", "name": "j3"}, "status": {"active": 1}}]
    assert validation.job_outcomes(jobs, ["a/j1", "b/j2", "c/j3", "d/j4"]) == {
        "a/j1": "complete", "b/j2": "failed", "c/j3": "running", "d/j4": "missing"}
    manifests = [{"kind": "Job", "metadata": {"namespace": "a", "name": "j1"}}, {"kind": "Namespace",
                                                                                 "metadata": {"name": "a"}}]
    assert validation.object_keys(manifests, "Job") == ["a/j1"]


def test_validation_job_name_is_bounded_and_stable():
    workload = dict(WORKLOADS[0], name="x" * 80)
    name = validation.validation_job_name(workload, "cid", "pvc")
    assert len(name) <= 63 and name == validation.validation_job_name(workload, "cid", "pvc")
    assert name != validation.validation_job_name(workload, "other", "pvc")


def test_identity_map():
    results = [{"item": {"resource_group": "rg", "name": "id-a"}, "principal_id": "p1"},
               {"item": {"resource_group": "rg2", "name": "id-b"}, "principal_id": None}]
    assert chain.identity_map(results, "principal_id") == {"rg/id-a": "p1", "rg2/id-b": None}


def test_identity_map_from_the_bulk_return_value():
    entries = [{"resource_group": "rg", "name": "id-a", "principal_id": "p1"},
               {"resource_group": "rg2", "name": "id-b", "principal_id": None}]
    assert chain.identity_map(entries, "principal_id") == {"rg/id-a": "p1", "rg2/id-b": None}


def test_resource_group_items_once_each_in_order():
    assert chain.resource_group_items(["rg-a", "rg-b", "RG-A", None, "rg-b"]) == [{"name": "rg-a"}, {"name": "rg-b"}]


def test_unconverged_compares_only_what_the_manifest_sets():
    from ansible_collections.keyless.aks_storage.plugins.filter import manifests
    sa = {"apiVersion": "v1", "kind": "ServiceAccount",
          "metadata": {"name": "sa", "namespace": "ns", "annotations": {"azure.workload.identity/client-id": "c1"}}}
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns"}}
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j", "namespace": "ns"},
           "spec": {"template": {"spec": {"containers": [{"name": "probe", "image": "busybox"}]}}}}
    annotations = {"azure.workload.identity/client-id": "c1", "other": "kept"}
    live_sa = {"apiVersion": "v1", "kind": "ServiceAccount",
               "metadata": dict(sa["metadata"], uid="u", resourceVersion="7", annotations=annotations)}
    container = {"name": "probe", "image": "busybox", "imagePullPolicy": "Always"}
    live_job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j", "namespace": "ns", "uid": "x"},
                "spec": {"template": {"spec": {"containers": [container]}}}, "status": {"failed": 1}}
    live = [live_sa, {"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": "ns", "uid": "n"}}, live_job]
    assert manifests.unconverged([ns, sa, job], live) == []
    # a changed annotation, a missing object, a failed Job to be recreated
    changed_sa = dict(sa, metadata=dict(sa["metadata"], annotations={"azure.workload.identity/client-id": "c2"}))
    assert manifests.unconverged([changed_sa], live) == [changed_sa]
    assert manifests.unconverged([ns, sa], []) == [ns, sa]
    assert manifests.unconverged([job], live, ["ns/j"]) == [job]
    # a list that differs in length is not contained
    two = dict(job, spec={"template": {"spec": {"containers": [{"name": "probe"}, {"name": "sidecar"}]}}})
    assert manifests.unconverged([two], live) == [two]


def _pod(name, claim, node="aks-nodepool1-0", phase="Running", job=None):
    meta = {"name": name, "namespace": "ns"}
    if job:
        meta["labels"] = {"keyless.aks-storage/validation": "true"}
        meta["ownerReferences"] = [{"kind": "Job", "name": job, "uid": "u"}]
    return {"metadata": meta, "status": {"phase": phase},
            "spec": {"nodeName": node, "volumes": [{"name": "v", "persistentVolumeClaim": {"claimName": claim}}]}}


def test_claim_holders_are_scheduled_pods_whatever_their_phase():
    """The pvc-protection controller keeps a deleted claim while any scheduled pod mounts it, finished or not;
    this role's own validation Jobs are not users: they are deleted with their pods first."""
    from ansible_collections.keyless.aks_storage.plugins.filter import manifests
    pods = [_pod("app", "data"), _pod("done", "data", phase="Succeeded"), _pod("unscheduled", "data", node=None),
            _pod("probe-x", "data", phase="Succeeded", job="probe"), _pod("other", "elsewhere")]
    assert manifests.claim_users(pods, ["ns/data"]) == {"ns/data": ["app", "done"]}
    assert manifests.claim_jobs(pods, ["ns/data"]) == ["ns/probe"]
    assert manifests.claim_jobs(pods, ["ns/elsewhere"]) == []
    assert manifests.without([{"kind": "Job", "metadata": {"namespace": "ns", "name": "probe"}}], [], ["ns/probe"]) == []


def test_driver_values_that_break_token_only_mounts():
    from ansible_collections.keyless.aks_storage.plugins.filter import preflight
    assert preflight.driver_values_problems({"node": {"enableBlobfuseProxy": True}}, [{"name": "a"}]) == []
    republish = preflight.driver_values_problems({"feature": {"requiresRepublish": "false"}})
    assert len(republish) == 1 and "feature.requiresRepublish is false" in republish[0]
    workloads = [{"name": "a", "namespace": "n"}, {"name": "b", "namespace": "n", "protocol": "fuse2"},
                 {"name": "c", "namespace": "n", "protocol": "fuse"}]
    v1 = preflight.driver_values_problems({"node": {"enableBlobfuseProxy": False}}, workloads)
    assert [p.split(":")[0] for p in v1] == ["keyless_workloads[0] (n/a)", "keyless_workloads[2] (n/c)"]
    assert preflight.driver_values_problems("x") == ["blob_csi_driver_values must be a dict of chart values"]
    assert preflight.chart_problem("1.27.0", "v").startswith("v 1.27.0 is older than 1.27.1")
    assert preflight.chart_problem("1.27.1", "v") is None
