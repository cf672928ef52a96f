"""The doctor's judgments of keyless dynamic provisioning (plugins/module_utils/doctor.py): the StorageClass, the
identity of the blob driver's controller, its role at the account and the claim it provisions. Pure, no I/O."""

import pytest

from ansible_collections.keyless.aks_storage.plugins.module_utils import doctor, provisioner, rbac
from ansible_collections.keyless.aks_storage.plugins.module_utils.doctor import FAIL, OK, UNKNOWN, WARN

SUB = "00000000-0000-0000-0000-000000000001"
CLIENT = "12345678-1234-1234-1234-123456789012"
CONTROLLER_CLIENT = "99999999-1234-1234-1234-123456789012"
PRINCIPAL = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
KUBELET = "bbbbbbbb-bbbb-cccc-dddd-eeeeeeeeeeee"
ACCOUNT_SCOPE = rbac.storage_scope(SUB, "rg-data", "stdata")
CONTAINER_SCOPE = rbac.storage_scope(SUB, "rg-data", "stdata", "reports")
SA_SHOWN, CONTROLLER = "kube-system/csi-blob-controller-sa", "kube-system/csi-blob-controller"
CONTAINERS = provisioner.CONTAINERS


def assert_link(result, name, status):
    assert set(result) == {"link", "workload", "status", "summary", "evidence", "fix"}
    assert result["link"] == name
    assert result["status"] == status, result["summary"]
    assert (result["fix"] is None) if status == OK else bool(result["fix"]), result


# ---- StorageClass ----------------------------------------------------------------------------------------------------
GOOD_PARAMS = {"storageAccount": "stdata", "resourceGroup": "rg-data", "containerName": "reports", "clientID": CLIENT,
               "mountWithWorkloadIdentityToken": "true", "protocol": "fuse"}
EXPECTED = {"storage_account": "stdata", "resource_group": "rg-data", "container": "reports", "client_id": CLIENT,
            "subscription_id": SUB, "reclaim_policy": "Retain"}


def storage_class(params=None, reclaim="Retain", provisioner_name="blob.csi.azure.com"):
    body = {"metadata": {"name": "blob-keyless"}, "provisioner": provisioner_name,
            "parameters": GOOD_PARAMS if params is None else params, "volumeBindingMode": "Immediate"}
    if reclaim:
        body["reclaimPolicy"] = reclaim
    return body


def judge_class(sc, **expected):
    return doctor.judge_storage_class(sc, "blob-keyless", dict(EXPECTED, **expected), workload="wl")


def without(*keys):
    return {k: v for k, v in GOOD_PARAMS.items() if k not in keys}


def test_storage_class_token_only_on_the_workloads_storage_is_ok():
    result = judge_class(storage_class())
    assert_link(result, "storage_class", OK)
    assert result["workload"] == "wl"
    assert result["summary"] == ("token-only class blob-keyless on stdata/reports as client %s, reclaimPolicy "
                                 "Retain" % CLIENT)
    assert result["evidence"]["reclaimPolicy"] == "Retain"


def test_storage_class_missing():
    result = judge_class(None)
    assert_link(result, "storage_class", FAIL)
    assert result["summary"] == "StorageClass blob-keyless does not exist"
    assert "site.yml --tags workloads" in result["fix"]


def test_storage_class_parameter_keys_and_token_value_are_case_insensitive_as_the_driver_reads_them():
    params = {k.lower(): v for k, v in GOOD_PARAMS.items()}
    params["mountwithworkloadidentitytoken"] = "TRUE"
    assert judge_class(storage_class(params))["status"] == OK


@pytest.mark.parametrize("change,phrase", [
    ({"mountWithWorkloadIdentityToken": None}, "CreateVolume lists the account key and stores it in a Secret"),
    ({"mountWithWorkloadIdentityToken": "false"}, "not \"true\""),
    ({"mountWithWorkloadIdentityToken": None, "storeAccountKey": "false"}, "mounts use the key (key mode)"),
    ({"useDataPlaneAPI": "true"}, "useDataPlaneAPI is \"true\": CreateVolume lists the account keys"),
    ({"useDataPlaneAPI": "True"}, "useDataPlaneAPI"),
    ({"secretName": "azure-storage-key"}, "secretName is set"),
    ({"secretNamespace": "reports"}, "secretNamespace is set"),
    ({"allowSharedKeyAccess": "true"}, "allowSharedKeyAccess is 'true'"),
    ({"allowSharedKeyAccess": "1"}, "allowSharedKeyAccess is '1'"),  # strconv.ParseBool
    ({"protocol": "nfs"}, "protocol is nfs"),
    ({"storageAccount": None}, "no storageAccount"),
    ({"storageAccount": "stother"}, "storageAccount is 'stother', not 'stdata'"),
    ({"resourceGroup": "rg-other"}, "resourceGroup is 'rg-other', not 'rg-data'"),
    ({"resourceGroup": None}, "resourceGroup is None"),
    ({"containerName": "archive"}, "containerName is 'archive', not 'reports'"),
    ({"containerName": None, "containerNamePrefix": "pvc"}, "no containerName"),
    ({"clientID": "another"}, "clientID is 'another'"),
    ({"subscriptionID": "00000000-0000-0000-0000-000000000002"}, "subscriptionID is"),
])
def test_storage_class_that_stores_or_uses_a_key_or_points_elsewhere_fails(change, phrase):
    params = {k: v for k, v in dict(GOOD_PARAMS, **change).items() if v is not None}
    result = judge_class(storage_class(params))
    assert_link(result, "storage_class", FAIL)
    assert phrase in result["summary"], result["summary"]
    assert "immutable" in result["fix"] and "site.yml --tags workloads" in result["fix"]


def test_storage_class_the_same_subscription_in_another_case_is_ok():
    assert judge_class(storage_class(dict(GOOD_PARAMS, subscriptionID=SUB.upper())))["status"] == OK


def test_storage_class_of_another_provisioner_fails():
    result = judge_class(storage_class(provisioner_name="file.csi.azure.com"))
    assert_link(result, "storage_class", FAIL)
    assert "provisioner is file.csi.azure.com, not blob.csi.azure.com" in result["summary"]


def test_storage_class_unknown_client_id_is_not_compared():
    assert judge_class(storage_class(dict(GOOD_PARAMS, clientID="x")), client_id=None)["status"] == OK


def test_storage_class_reports_every_problem():
    params = dict(without("mountWithWorkloadIdentityToken"), useDataPlaneAPI="true", secretName="s")
    assert judge_class(storage_class(params))["summary"].count("; ") == 2


def test_storage_class_delete_chosen_is_ok_and_says_what_it_deletes():
    result = judge_class(storage_class(reclaim="Delete"), reclaim_policy="Delete")
    assert_link(result, "storage_class", OK)
    assert "deleting a claim of this class deletes container reports and its data" in result["summary"]


def test_storage_class_delete_not_chosen_by_a_claim_found_on_the_command_line_is_a_warning():
    result = judge_class(storage_class(reclaim="Delete"), reclaim_policy=None)
    assert_link(result, "storage_class", WARN)
    assert result["summary"].startswith("reclaimPolicy Delete: deleting a claim of this class deletes container "
                                        "reports and its data")
    assert "Retain" in result["fix"]


def test_storage_class_without_reclaim_policy_is_the_api_servers_default_delete():
    result = judge_class(storage_class(reclaim=None))
    assert_link(result, "storage_class", FAIL)
    assert "reclaimPolicy is Delete, not Retain (storage_class.reclaim_policy)" in result["summary"]
    assert result["evidence"]["reclaimPolicy"] == "Delete"


def test_storage_class_retain_chosen_but_the_class_deletes_fails():
    result = judge_class(storage_class(reclaim="Delete"))
    assert_link(result, "storage_class", FAIL)
    assert "reclaimPolicy is Delete, not Retain" in result["summary"]


# ---- the controller's identity ---------------------------------------------------------------------------------------
def service_account(client_id=None):
    annotations = {provisioner.CLIENT_ID_ANNOTATION: client_id} if client_id else {}
    return {"metadata": {"name": "csi-blob-controller-sa", "namespace": "kube-system", "annotations": annotations}}


CLUSTER = {"identityProfile": {"kubeletidentity": {
    "objectId": KUBELET, "clientId": "cccccccc-bbbb-cccc-dddd-eeeeeeeeeeee",
    "resourceId": "/subscriptions/%s/resourceGroups/MC_rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/"
                  "aks-agentpool" % SUB}}}
IDENTITY = {"id": "/subscriptions/%s/resourceGroups/rg-ids/providers/Microsoft.ManagedIdentity/userAssignedIdentities/"
                  "id-blob-controller" % SUB, "name": "id-blob-controller",
            "properties": {"clientId": CONTROLLER_CLIENT, "principalId": PRINCIPAL}}


def deployment(labelled=True):
    labels = {"app": "csi-blob-controller"}
    if labelled:
        labels[provisioner.USE_LABEL] = "true"
    return {"metadata": {"name": "csi-blob-controller", "namespace": "kube-system"},
            "spec": {"template": {"metadata": {"labels": labels},
                                  "spec": {"serviceAccountName": "csi-blob-controller-sa"}}}}


NAMES = (SA_SHOWN, CONTROLLER)


def judge_identity(sa, dep, cluster=None, identity=None):
    return doctor.judge_provisioner_identity(sa, dep, CLUSTER if cluster is None else cluster, NAMES, identity)


def test_controller_identity_prefers_the_workload_identity_the_chart_gives_its_pods():
    assert provisioner.controller_identity(service_account(CONTROLLER_CLIENT), CLUSTER, deployment()) == (
        "workload_identity", CONTROLLER_CLIENT)
    kubelet = ("kubelet_identity", CLUSTER["identityProfile"]["kubeletidentity"])
    assert provisioner.controller_identity(service_account(), CLUSTER, deployment()) == kubelet
    # the webhook injects a token only into labelled pods
    assert provisioner.controller_identity(service_account(CONTROLLER_CLIENT), CLUSTER, deployment(False)) == kubelet
    assert provisioner.controller_identity(service_account(), {}, deployment()) is None
    assert provisioner.controller_identity(None, {"identityProfile": {"kubeletidentity": {}}}, None) is None


def test_provisioner_identity_kubelet():
    result = judge_identity(service_account(), deployment(False))
    assert_link(result, "provisioner_identity", OK)
    assert result["evidence"]["principal_id"] == KUBELET and result["evidence"]["identity"] == "kubelet_identity"
    assert "kubelet identity (object %s)" % KUBELET in result["summary"]


def test_provisioner_identity_annotated_but_pods_not_labelled_is_a_warning_naming_the_identity_used():
    result = judge_identity(service_account(CONTROLLER_CLIENT), deployment(False))
    assert_link(result, "provisioner_identity", WARN)
    assert result["evidence"]["principal_id"] == KUBELET
    assert "names client %s, but the pods of %s are not labelled" % (CONTROLLER_CLIENT, CONTROLLER) in \
        result["summary"]
    assert "workloadIdentity.clientID" in result["fix"]


def test_provisioner_identity_workload_identity_found_by_client_id():
    result = judge_identity(service_account(CONTROLLER_CLIENT), deployment(), identity=IDENTITY)
    assert_link(result, "provisioner_identity", OK)
    assert result["evidence"] == {"service_account": SA_SHOWN, "deployment": CONTROLLER,
                                  "identity": "workload_identity", "client_id": CONTROLLER_CLIENT,
                                  "principal_id": PRINCIPAL, "identity_name": "id-blob-controller",
                                  "identity_resource_group": "rg-ids"}


def test_provisioner_identity_client_id_of_no_identity_in_the_subscription_is_unknown():
    result = judge_identity(service_account(CONTROLLER_CLIENT), deployment())
    assert_link(result, "provisioner_identity", UNKNOWN)
    assert "no user-assigned identity of the subscription" in result["summary"]
    assert "workloadIdentity.clientID" in result["fix"]


def test_provisioner_identity_neither_readable_is_unknown():
    result = judge_identity(service_account(), deployment(), cluster={})
    assert_link(result, "provisioner_identity", UNKNOWN)
    assert "identityProfile.kubeletidentity" in result["summary"]


@pytest.mark.parametrize("sa,dep,missing", [(None, deployment(), "ServiceAccount " + SA_SHOWN),
                                            (service_account(), None, "Deployment " + CONTROLLER)])
def test_provisioner_identity_without_the_controller_fails(sa, dep, missing):
    result = judge_identity(sa, dep)
    assert_link(result, "provisioner_identity", FAIL)
    assert result["summary"].startswith(missing + " does not exist: the blob driver's controller is not installed")
    assert result["fix"] == "run site.yml --tags driver"


# ---- the controller's role -------------------------------------------------------------------------------------------
def role(guid, name, actions, not_actions=()):
    return {"id": "/subscriptions/%s/providers/Microsoft.Authorization/roleDefinitions/%s" % (SUB, guid),
            "name": guid, "properties": {"roleName": name, "permissions": [
                {"actions": list(actions), "notActions": list(not_actions), "dataActions": [],
                 "notDataActions": []}]}}


PROVISIONER = role("11111111-0000-4000-8000-000000000001", provisioner.ROLE_NAME, provisioner.ROLE_ACTIONS)
CREATE_ONLY = role("11111111-0000-4000-8000-000000000002", "Container creator",
                   ["Microsoft.Storage/storageAccounts/read", CONTAINERS + "/write"])
ACCOUNT_CONTRIBUTOR = role("17d1049b-9a84-46fb-8f53-869881c3d3ab", "Storage Account Contributor",
                           ["Microsoft.Storage/storageAccounts/*"])
STORAGE_BUT_DELETE = role("11111111-0000-4000-8000-000000000003", "Everything but deletes",
                          [CONTAINERS + "/*"], [CONTAINERS + "/delete"])
READER = role("acdd72a7-3385-48ef-bd42-f606fba81ae7", "Reader", ["*/read"])


def assignment(definition, scope):
    return {"id": scope + "/providers/Microsoft.Authorization/roleAssignments/0000", "name": "0000",
            "properties": {"roleDefinitionId": definition["id"], "principalId": PRINCIPAL, "scope": scope,
                           "principalType": "ServicePrincipal"}}


def judge_role(assignments, reclaim="Retain", defs=None):
    defs = {r["id"].lower(): r for r in (PROVISIONER, CREATE_ONLY, ACCOUNT_CONTRIBUTOR, STORAGE_BUT_DELETE,
                                         READER)} if defs is None else defs
    return doctor.judge_provisioner_role(assignments, defs, ACCOUNT_SCOPE, PRINCIPAL, reclaim, "wl")


@pytest.mark.parametrize("scope", [ACCOUNT_SCOPE, "/subscriptions/%s/resourceGroups/rg-data" % SUB,
                                   "/subscriptions/" + SUB])
@pytest.mark.parametrize("reclaim", ["Retain", "Delete"])
def test_provisioner_role_at_the_account_or_above_is_ok(scope, reclaim):
    result = judge_role([assignment(PROVISIONER, scope)], reclaim)
    assert_link(result, "provisioner_role", OK)
    assert result["summary"].startswith("%s at %s allow containers/write" % (provisioner.ROLE_NAME, scope))
    assert result["evidence"]["needed"] == [provisioner.CREATE_ACTION] + (
        [provisioner.DELETE_ACTION] if reclaim == "Delete" else [])


def test_provisioner_role_missing_fails_with_the_collections_role_and_scope():
    result = judge_role([])
    assert_link(result, "provisioner_role", FAIL)
    assert result["summary"].startswith("no role assignment at the account or above allows containers/write: ARM "
                                        "refuses the controller's call with AuthorizationFailed")
    assert result["fix"].startswith("assign '%s' at %s to %s; site.yml does it for storage_class workloads"
                                    % (provisioner.ROLE_NAME, ACCOUNT_SCOPE, PRINCIPAL))
    assert "site.yml --tags rbac" in result["fix"] and "--scope %s" % ACCOUNT_SCOPE in result["fix"]


def test_provisioner_role_below_the_account_does_not_cover_it():
    result = judge_role([assignment(PROVISIONER, CONTAINER_SCOPE)])
    assert_link(result, "provisioner_role", FAIL)
    assert "%s at %s do not cover the account" % (provisioner.ROLE_NAME, CONTAINER_SCOPE) in result["summary"]
    assert result["evidence"]["not_covering"] and not result["evidence"]["covering"]


def test_provisioner_role_at_the_classs_container_covers_the_call_arm_authorizes_on_it():
    defs = {PROVISIONER["id"].lower(): PROVISIONER}
    at_container = doctor.judge_provisioner_role([assignment(PROVISIONER, CONTAINER_SCOPE)], defs, ACCOUNT_SCOPE,
                                                 PRINCIPAL, "Delete", container="reports")
    assert at_container["status"] == OK and at_container["evidence"]["scope"] == CONTAINER_SCOPE
    sibling = doctor.judge_provisioner_role([assignment(PROVISIONER, CONTAINER_SCOPE)], defs, ACCOUNT_SCOPE,
                                            PRINCIPAL, "Retain", container="archive")
    assert_link(sibling, "provisioner_role", FAIL)
    assert sibling["summary"].startswith("no role assignment at the account or above (nor at container archive) "
                                         "allows containers/write")
    assert "do not cover container archive" in sibling["summary"]
    assert "--scope %s" % ACCOUNT_SCOPE in sibling["fix"]


def test_provisioner_role_create_only_is_enough_for_retain_not_for_delete():
    assert judge_role([assignment(CREATE_ONLY, ACCOUNT_SCOPE)], "Retain")["status"] == OK
    result = judge_role([assignment(CREATE_ONLY, ACCOUNT_SCOPE)], "Delete")
    assert_link(result, "provisioner_role", FAIL)
    assert "Container creator at %s do not allow containers/delete" % ACCOUNT_SCOPE in result["summary"]
    assert result["evidence"]["missing"] == [provisioner.DELETE_ACTION]


def test_provisioner_role_not_actions_remove_the_delete():
    assert judge_role([assignment(STORAGE_BUT_DELETE, ACCOUNT_SCOPE)], "Delete")["evidence"]["missing"] == [
        provisioner.DELETE_ACTION]


def test_provisioner_role_actions_are_the_union_over_roles():
    delete_only = role("11111111-0000-4000-8000-000000000004", "Deleter", [CONTAINERS + "/delete"])
    defs = {r["id"].lower(): r for r in (CREATE_ONLY, delete_only)}
    result = judge_role([assignment(CREATE_ONLY, ACCOUNT_SCOPE), assignment(delete_only, ACCOUNT_SCOPE)], "Delete",
                        defs)
    assert result["status"] == OK


def test_provisioner_role_that_lists_keys_is_a_warning():
    result = judge_role([assignment(ACCOUNT_CONTRIBUTOR, ACCOUNT_SCOPE)], "Delete")
    assert_link(result, "provisioner_role", WARN)
    assert "Storage Account Contributor at %s can also list the account keys" % ACCOUNT_SCOPE in result["summary"]
    assert result["evidence"]["lists_keys"] == ["Storage Account Contributor at %s" % ACCOUNT_SCOPE]
    assert provisioner.ROLE_NAME in result["fix"]


def test_provisioner_role_reader_and_unreadable_definitions_do_not_allow():
    result = judge_role([assignment(READER, ACCOUNT_SCOPE), assignment(PROVISIONER, ACCOUNT_SCOPE)], defs={
        READER["id"].lower(): READER, PROVISIONER["id"].lower(): None})
    assert_link(result, "provisioner_role", FAIL)
    assert "Reader at %s; 11111111-0000-4000-8000-000000000001 at %s do not allow" % (
        ACCOUNT_SCOPE, ACCOUNT_SCOPE) in result["summary"]


def test_the_collections_role_cannot_list_keys():
    assert not rbac.permits(PROVISIONER["properties"]["permissions"], action=rbac.LIST_KEYS_ACTION)


# ---- the claim -------------------------------------------------------------------------------------------------------
def claim(phase, volume=None, class_name="blob-keyless"):
    return {"metadata": {"name": "reports-blob", "namespace": "reports"},
            "spec": {"storageClassName": class_name, "volumeName": volume}, "status": {"phase": phase}}


def event(reason, message="", kind="Warning"):
    return {"type": kind, "reason": reason, "message": message, "count": 1}


AUTHZ = ("failed to provision volume with StorageClass \"blob-keyless\": rpc error: code = Internal desc = failed to "
         "create container(reports) on account(stdata): (AuthorizationFailed) The client '%s' with object id '%s' "
         "does not have authorization to perform action '%s'" % (KUBELET, KUBELET, provisioner.CREATE_ACTION))
WAITING = "Waiting for a volume to be created either by the external provisioner 'blob.csi.azure.com'"


def judge_claim(pvc, events=()):
    return doctor.judge_dynamic_claim(pvc, "reports/reports-blob", "blob-keyless", list(events), CONTROLLER, "wl")


def test_dynamic_claim_bound_names_the_provisioned_volume():
    result = judge_claim(claim("Bound", "pvc-0a1b2c3d"))
    assert_link(result, "persistent_volume_claim", OK)
    assert result["summary"] == ("claim reports/reports-blob is Bound to pvc-0a1b2c3d, provisioned from StorageClass "
                                 "blob-keyless")


def test_dynamic_claim_pending_quotes_the_latest_provisioning_failure():
    events = [event("ProvisioningFailed", "an older failure"), event("Provisioning", "External provisioner is "
              "provisioning volume", "Normal"), event("ProvisioningFailed", AUTHZ)]
    result = judge_claim(claim("Pending"), events)
    assert_link(result, "persistent_volume_claim", FAIL)
    assert result["summary"] == "claim reports/reports-blob is Pending: provisioning failed: " + AUTHZ
    assert result["evidence"]["provisioning_failed"] == AUTHZ
    assert "rollout restart deployment csi-blob-controller" in result["fix"]


def test_dynamic_claim_other_provisioning_failure_points_at_the_message():
    failure = "rpc error: code = InvalidArgument desc = invalid parameter \"foo\" in storage class"
    result = judge_claim(claim("Pending"), [event("ProvisioningFailed", failure)])
    assert_link(result, "persistent_volume_claim", FAIL)
    assert "invalid parameter" in result["summary"]
    assert "kubectl -n reports describe pvc reports-blob" in result["fix"]


@pytest.mark.parametrize("events", [[event("ExternalProvisioning", WAITING, "Normal")], []])
def test_dynamic_claim_no_provisioner_took_it_means_the_controller_is_not_running(events):
    result = judge_claim(claim("Pending"), events)
    assert_link(result, "persistent_volume_claim", FAIL)
    assert "the driver's controller is not running" in result["summary"]
    assert "kubectl -n kube-system get deployment csi-blob-controller" in result["fix"]
    assert "site.yml --tags driver" in result["fix"]


def test_dynamic_claim_being_provisioned_is_unknown():
    result = judge_claim(claim("Pending"), [event("ExternalProvisioning", WAITING, "Normal"),
                                            event("Provisioning", "External provisioner is provisioning", "Normal")])
    assert_link(result, "persistent_volume_claim", UNKNOWN)


def test_dynamic_claim_missing_or_of_another_class_fails():
    missing = judge_claim(None)
    assert_link(missing, "persistent_volume_claim", FAIL)
    assert missing["summary"] == "PersistentVolumeClaim reports/reports-blob does not exist"
    other = judge_claim(claim("Bound", "pv-static", class_name=""))
    assert_link(other, "persistent_volume_claim", FAIL)
    assert "uses StorageClass '', not blob-keyless" in other["summary"] and "immutable" in other["fix"]


def test_dynamic_claim_lost_fails():
    result = judge_claim(claim("Lost", "pvc-0a1b2c3d"))
    assert_link(result, "persistent_volume_claim", FAIL)
    assert "is Lost" in result["summary"]


def test_dynamic_claim_keeps_the_latest_events_as_evidence():
    events = [event("ProvisioningFailed", "failure %d" % i) for i in range(8)]
    result = judge_claim(claim("Pending"), events)
    assert [e["message"] for e in result["evidence"]["events"]] == ["failure %d" % i for i in range(3, 8)]
    assert result["summary"].endswith("failure 7")
