"""The keyless audit's rules (plugins/module_utils/audit.py): REST-shaped listings in, findings out, no I/O."""

import pytest

from ansible_collections.keyless.aks_storage.plugins.module_utils import audit, rbac

SUB = "00000000-0000-0000-0000-000000000001"
SUB_SCOPE = "/subscriptions/" + SUB
PRINCIPAL = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
CLUSTER = {"id": SUB_SCOPE + "/resourceGroups/rg-aks/providers/Microsoft.ContainerService/managedClusters/aks1",
           "name": "aks1"}
TOKEN_ONLY = {"mountWithWorkloadIdentityToken": "true", "clientID": "c", "storageAccount": "st1",
              "containerName": "data", "resourceGroup": "rg"}


def account(name, shared_key, rg="rg-app"):
    props = {} if shared_key == "unset" else {"allowSharedKeyAccess": shared_key}
    return {"id": "%s/resourceGroups/%s/providers/Microsoft.Storage/storageAccounts/%s" % (SUB_SCOPE, rg, name),
            "name": name, "properties": props}


def role(guid, name, actions, not_actions=()):
    return {"id": "%s/providers/Microsoft.Authorization/roleDefinitions/%s" % (SUB_SCOPE, guid),
            "name": guid, "properties": {"roleName": name, "type": "BuiltInRole", "permissions": [
                {"actions": list(actions), "notActions": list(not_actions), "dataActions": [],
                 "notDataActions": []}]}}


def assignment(name, scope, guid):
    return {"id": "%s/providers/Microsoft.Authorization/roleAssignments/%s" % (scope, name), "name": name,
            "properties": {"scope": scope, "principalId": PRINCIPAL, "principalType": "ServicePrincipal",
                           "roleDefinitionId": "%s/providers/Microsoft.Authorization/roleDefinitions/%s" % (
                               SUB_SCOPE, guid)}}


def types(findings):
    return sorted((f["type"], f["severity"], f["resource_id"].rsplit("/", 1)[-1]) for f in findings)


def test_accounts_unset_and_true_allow_keys_false_does_not_and_managed_groups_are_apart():
    accounts = [account("stoff", False), account("ston", True), account("stunset", "unset"),
                account("fuse1", True, rg="MC_rg_aks1_westeurope")]
    groups = [{"name": "rg-app"}, {"name": "mc_rg_aks1_westeurope", "managedBy": CLUSTER["id"]}]
    found = audit.account_findings(accounts, groups)
    assert types(found) == [("shared_key_enabled", "high", "ston"), ("shared_key_enabled", "high", "stunset"),
                            ("shared_key_enabled_managed", "medium", "fuse1")]
    unset = next(f for f in found if f["subject"]["name"] == "stunset")
    assert unset["summary"] == "allowSharedKeyAccess is unset (allowed)"
    assert "--allow-shared-key-access false" in unset["fix"] and unset["why"] == audit.WHY["shared_key_enabled"]
    managed = next(f for f in found if f["type"] == "shared_key_enabled_managed")
    assert managed["evidence"]["managedBy"] == CLUSTER["id"]


@pytest.mark.parametrize("actions,not_actions,expected", [
    (["*"], [], ["*"]),
    (["Microsoft.Storage/*"], [], ["Microsoft.Storage/*"]),
    (["microsoft.storage/storageaccounts/listKeys/action"], [], ["microsoft.storage/storageaccounts/listKeys/action"]),
    (["Microsoft.Storage/storageAccounts/*/action"], [], ["Microsoft.Storage/storageAccounts/*/action"]),
    (["*"], ["Microsoft.Storage/storageAccounts/listkeys/action"], []),
    (["*/read"], [], []),
    (["Microsoft.Storage/storageAccounts/read"], [], []),
])
def test_list_keys_patterns_with_wildcards_and_not_actions(actions, not_actions, expected):
    assert audit.list_keys_patterns(role("g", "r", actions, not_actions)) == expected


def test_role_assignments_that_reach_accounts_with_list_keys_and_their_severity():
    accounts = [account("ston", True, rg="rg-open"), account("stoff", False, rg="rg-closed")]
    owner, reader = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "acdd72a7-3385-48ef-bd42-f606fba81ae7"
    definitions = [role(owner, "Owner", ["*"]), role(reader, "Reader", ["*/read"])]
    assignments = [
        assignment("a-sub", SUB_SCOPE, owner),                                      # reaches both: high
        assignment("a-closed", SUB_SCOPE + "/resourceGroups/rg-closed", owner),     # only a closed account: low
        assignment("a-empty", SUB_SCOPE + "/resourceGroups/rg-none", owner),        # no account in scope: nothing
        assignment("a-reader", SUB_SCOPE, reader),                                  # no listKeys: nothing
        assignment("a-mg", "/providers/Microsoft.Management/managementGroups/root", owner),  # above: high
        assignment("a-unknown", SUB_SCOPE, "11111111-1111-1111-1111-111111111111"),  # not in the listing
    ]
    found, unresolved = audit.role_findings(assignments, definitions, accounts)
    assert types(found) == [("list_keys_role_assignment", "high", "a-mg"),
                            ("list_keys_role_assignment", "high", "a-sub"),
                            ("list_keys_role_assignment", "low", "a-closed")]
    assert unresolved == [assignments[-1]["id"]]
    sub = next(f for f in found if f["resource_id"].endswith("a-sub"))
    assert sub["evidence"]["accounts_in_scope"] == 2 and sub["evidence"]["accounts_allowing_shared_key"] == ["ston"]
    assert sub["subject"] == {"kind": "subscription", "name": SUB}
    assert "az role assignment delete --ids %s" % assignments[0]["id"] in sub["fix"]


def test_clusters_without_issuer_or_workload_identity_or_with_the_managed_blob_driver():
    good = dict(CLUSTER, properties={"oidcIssuerProfile": {"enabled": True},
                                     "securityProfile": {"workloadIdentity": {"enabled": True}},
                                     "storageProfile": {"blobCSIDriver": {"enabled": False}}})
    assert audit.cluster_findings(good) == []
    bad = dict(CLUSTER, properties={"storageProfile": {"blobCSIDriver": {"enabled": True}}})
    assert types(audit.cluster_findings(bad)) == [
        ("cluster_oidc_issuer_off", "high", "aks1"), ("cluster_workload_identity_off", "high", "aks1"),
        ("managed_blob_driver", "medium", "aks1")]


def secret(ns, name, data, kind="Opaque"):
    return audit.secret_shape({"metadata": {"namespace": ns, "name": name}, "type": kind, "data": data})


def test_secret_shape_keeps_key_names_only():
    shape = secret("app", "s", {"azurestorageaccountkey": "c2VjcmV0", "azurestorageaccountname": "c3Q="})
    assert shape == {"namespace": "app", "name": "s", "type": "Opaque",
                     "keys": ["azurestorageaccountkey", "azurestorageaccountname"]}
    assert "c2VjcmV0" not in repr(shape)


def pv(name, csi=None, claim=None, **spec):
    body = {"metadata": {"name": name}, "spec": dict(spec)}
    if csi is not None:
        body["spec"]["csi"] = csi
    if claim:
        body["spec"]["claimRef"] = {"namespace": claim[0], "name": claim[1]}
    return body


def pvc(ns, name, volume):
    return {"metadata": {"namespace": ns, "name": name}, "spec": {"volumeName": volume}}


def pod(ns, name, volumes=(), env=(), env_from=()):
    return {"metadata": {"namespace": ns, "name": name, "ownerReferences": [{"kind": "ReplicaSet", "name": "rs"}]},
            "spec": {"serviceAccountName": "sa", "volumes": list(volumes),
                     "containers": [{"name": "app", "env": list(env), "envFrom": list(env_from)}]},
            "status": {"phase": "Running"}}


def kube_objects():
    blob, file_ = "blob.csi.azure.com", "file.csi.azure.com"
    return {
        "secrets": [secret("app", "azure-storage-account-st1-secret",
                           {"azurestorageaccountname": "x", "azurestorageaccountkey": "y"}),
                    secret("app", "sas", {"azurestorageaccountsastoken": "z"}),
                    secret("app", "tls", {"tls.crt": "a", "tls.key": "b"}, "kubernetes.io/tls")],
        "persistent_volumes": [
            pv("pv-token", {"driver": blob, "volumeAttributes": TOKEN_ONLY}, ("app", "c-token")),
            pv("pv-key", {"driver": blob, "volumeAttributes": {"containerName": "data"},
                          "nodeStageSecretRef": {"name": "azure-storage-account-st1-secret", "namespace": "app"}},
               ("app", "c-key")),
            pv("pv-file-key", {"driver": file_, "volumeAttributes": {"shareName": "s"}}, ("app", "c-file")),
            pv("pv-nfs", {"driver": blob, "volumeAttributes": {"protocol": "nfs", "containerName": "n"}}),
            pv("pv-msi", {"driver": blob, "volumeAttributes": {"AzureStorageAuthType": "MSI", "containerName": "m"}},
               ("app", "c-msi")),
            pv("pv-intree", azureFile={"secretName": "azure-storage-account-st1-secret", "shareName": "legacy"}),
            pv("pv-other", {"driver": "disk.csi.azure.com", "volumeAttributes": {}}),
        ],
        "persistent_volume_claims": [pvc("app", "c-token", "pv-token"), pvc("app", "c-key", "pv-key"),
                                     pvc("app", "c-msi", "pv-msi"),
                                     pvc("app", "c-file", "pv-file-key")],
        "storage_classes": [
            {"metadata": {"name": "sc-token"}, "provisioner": blob, "parameters": TOKEN_ONLY},
            {"metadata": {"name": "sc-default"}, "provisioner": blob},
            {"metadata": {"name": "sc-secret"}, "provisioner": file_, "parameters": dict(
                TOKEN_ONLY, **{"csi.storage.k8s.io/node-stage-secret-name": "s"})},
            {"metadata": {"name": "sc-intree"}, "provisioner": "kubernetes.io/azure-file"},
            {"metadata": {"name": "sc-disk"}, "provisioner": "disk.csi.azure.com"},
        ],
        "pods": [
            pod("app", "p-token", [{"name": "d", "persistentVolumeClaim": {"claimName": "c-token"}}]),
            pod("app", "p-msi", [{"name": "d", "persistentVolumeClaim": {"claimName": "c-msi"}}]),  # no key
            pod("app", "p-key", [{"name": "d", "persistentVolumeClaim": {"claimName": "c-key"}}]),
            pod("app", "p-env", env=[{"name": "KEY", "valueFrom": {"secretKeyRef": {"name": "sas", "key": "k"}}}]),
            pod("app", "p-envfrom", env_from=[{"secretRef": {"name": "azure-storage-account-st1-secret"}}]),
            pod("app", "p-tls", [{"name": "t", "secret": {"secretName": "tls"}}]),
            pod("other", "p-other-ns", env_from=[{"secretRef": {"name": "sas"}}]),  # same name, other namespace
            pod("app", "p-inline", [
                {"name": "f", "azureFile": {"secretName": "sas", "shareName": "x"}},
                {"name": "c", "csi": {"driver": blob, "volumeAttributes": {"containerName": "c"}}}]),
        ],
    }


def test_kubernetes_findings_exactly():
    found = audit.kubernetes_findings(CLUSTER, kube_objects())
    assert types(found) == [
        ("account_key_secret", "critical", "azure-storage-account-st1-secret"),
        ("account_key_secret", "critical", "sas"),
        ("in_tree_azure_file", "high", "p-inline"),
        ("in_tree_azure_file", "high", "pv-intree"),
        ("key_consuming_pod", "high", "p-env"),
        ("key_consuming_pod", "high", "p-envfrom"),
        ("key_consuming_pod", "high", "p-inline"),
        ("key_consuming_pod", "high", "p-key"),
        ("key_persistent_volume", "high", "pv-file-key"),
        ("key_persistent_volume", "high", "pv-key"),
        ("key_persistent_volume", "low", "pv-nfs"),
        ("key_persistent_volume", "medium", "pv-msi"),
        ("key_storage_class", "high", "sc-default"),
        ("key_storage_class", "high", "sc-intree"),
        ("key_storage_class", "high", "sc-secret"),
    ]
    by_id = {f["resource_id"]: f for f in found}
    secret_id = CLUSTER["id"] + "/kubernetes/api/v1/namespaces/app/secrets/sas"
    assert by_id[secret_id]["evidence"]["keys"] == ["azurestorageaccountsastoken"]
    key_pod = by_id[CLUSTER["id"] + "/kubernetes/api/v1/namespaces/app/pods/p-key"]
    assert key_pod["evidence"]["owner"] == "ReplicaSet/rs"
    assert key_pod["evidence"]["reasons"] == [
        "claim c-key: volume pv-key (mountWithWorkloadIdentityToken is None, not \"true\" (key mode))"]
    inline = {f["type"]: f for f in found if f["resource_id"].endswith("/pods/p-inline")}
    assert inline["in_tree_azure_file"]["evidence"]["volumes"] == ["volume f: share x with the key of Secret sas"]
    assert inline["key_consuming_pod"]["evidence"]["reasons"] == [
        "inline blob.csi.azure.com volume c: mountWithWorkloadIdentityToken is None, not \"true\" (key mode)"]
    assert all(f["subject"] == {"kind": "cluster", "name": "aks1"} for f in found)


def test_a_token_only_estate_has_no_finding():
    objects = kube_objects()
    objects = {"secrets": [objects["secrets"][2]], "persistent_volumes": objects["persistent_volumes"][:1],
               "persistent_volume_claims": objects["persistent_volume_claims"][:1],
               "storage_classes": objects["storage_classes"][:1], "pods": objects["pods"][:1]}
    assert audit.kubernetes_findings(CLUSTER, objects) == []


def test_sort_and_worst():
    found = [audit.finding("key_storage_class", "low", "b", ("cluster", "c"), "s", "f"),
             audit.finding("account_key_secret", "critical", "a", ("cluster", "c"), "s", "f")]
    assert [f["severity"] for f in audit.sort_findings(found)] == ["critical", "low"]
    assert audit.worst(found) == "critical" and audit.worst([]) == "clean"


def test_rbac_wildcard_semantics_shared_with_the_sandbox():
    assert rbac.permits([{"actions": ["Microsoft.ManagedIdentity/userAssignedIdentities/*/read"]}],
                        action="Microsoft.ManagedIdentity/userAssignedIdentities/read")
    assert rbac.permits([{"actions": ["*"]}], action=rbac.LIST_KEYS_ACTION)
    assert not rbac.permits([{"actions": ["Microsoft.Storage/storageAccounts/read"]}], action=rbac.LIST_KEYS_ACTION)
