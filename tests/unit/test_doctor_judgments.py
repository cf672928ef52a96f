"""The doctor's pure judgments (plugins/module_utils/doctor.py): one link result per function, no I/O."""

import base64
import json

import pytest

from ansible_collections.keyless.aks_storage.plugins.module_utils import azure_auth, doctor, rbac
from ansible_collections.keyless.aks_storage.plugins.module_utils.doctor import FAIL, OK, UNKNOWN, WARN

AUD = doctor.TOKEN_AUDIENCE
ISSUER = "https://eastus.oic.prod-aks.azure.com/11111111-2222-3333-4444-555555555555/66666666-7777-8888-9999-000000000000/"
NS, SA = "reports", "reporter"
SUBJECT = doctor.subject_of(NS, SA)
IDENTITY = ("rg-identities", "id-reports")

SUB = "00000000-0000-0000-0000-000000000001"
PRINCIPAL = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
CLIENT = "12345678-1234-1234-1234-123456789012"
SUB_SCOPE = "/subscriptions/" + SUB
RG_SCOPE = SUB_SCOPE + "/resourceGroups/rg-data"
ACCOUNT_SCOPE = rbac.storage_scope(SUB, "rg-data", "stdata")
CONTAINER = rbac.storage_scope(SUB, "rg-data", "stdata", "reports")
SIBLING = rbac.storage_scope(SUB, "rg-data", "stdata", "archive")
PREFIX_ONLY = rbac.storage_scope(SUB, "rg-data", "stdata", "report")  # "report" is a string prefix of "reports"
MG_SCOPE = "/providers/Microsoft.Management/managementGroups/platform"

BLOBS = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs"
CONTAINERS = "Microsoft.Storage/storageAccounts/blobServices/containers"
DELEGATION = "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action"
READ, WRITE = BLOBS + "/read", BLOBS + "/write"


# ---- fixtures shaped like ARM ----------------------------------------------------------------------------------------
def role_id(guid):
    return SUB_SCOPE + "/providers/Microsoft.Authorization/roleDefinitions/" + guid


def role(guid, name, actions, data_actions, not_data_actions=(), role_type="BuiltInRole"):
    """A role definition REST body (GET .../roleDefinitions/{guid})."""
    return {"id": role_id(guid), "name": guid, "type": "Microsoft.Authorization/roleDefinitions",
            "properties": {"roleName": name, "type": role_type, "description": name, "assignableScopes": ["/"],
                           "permissions": [{"actions": list(actions), "notActions": [],
                                            "dataActions": list(data_actions),
                                            "notDataActions": list(not_data_actions)}]}}


SBDC = role("ba92f5b4-2d11-453d-a403-e96b0029c9fe", "Storage Blob Data Contributor",
            [CONTAINERS + "/delete", CONTAINERS + "/read", CONTAINERS + "/write", DELEGATION],
            [BLOBS + "/delete", BLOBS + "/read", BLOBS + "/write", BLOBS + "/move/action", BLOBS + "/add/action"])
SBDR = role("2a2b9908-6ea1-4ae2-8e65-a410df84e7d1", "Storage Blob Data Reader", [CONTAINERS + "/read", DELEGATION],
            [BLOBS + "/read"])
SBDO = role("b7e6dc6d-f1e8-4753-8033-0f276bb0955b", "Storage Blob Data Owner", [CONTAINERS + "/*", DELEGATION],
            [BLOBS + "/*"])
CUSTOM = role("0f0f0f0f-1111-2222-3333-444444444444", "Storage everything but blob writes", [],
              ["Microsoft.Storage/*"], [BLOBS + "/write"], role_type="CustomRole")
WRITE_ONLY = role("0e0e0e0e-1111-2222-3333-444444444444", "Blob writer", [], [BLOBS + "/write"],
                  role_type="CustomRole")
READER = role("acdd72a7-3385-48ef-bd42-f606fba81ae7", "Reader", ["*/read"], [])
ROLES = (SBDC, SBDR, SBDO, CUSTOM, WRITE_ONLY, READER)


def assignment(definition, scope, condition=None, role_definition_id=None):
    """A role assignment REST body (GET {scope}/providers/Microsoft.Authorization/roleAssignments)."""
    props = {"roleDefinitionId": role_definition_id or definition["id"], "principalId": PRINCIPAL,
             "principalType": "ServicePrincipal", "scope": scope}
    if condition:
        props.update(condition=condition, conditionVersion="2.0")
    return {"id": scope + "/providers/Microsoft.Authorization/roleAssignments/0000", "name": "0000",
            "type": "Microsoft.Authorization/roleAssignments", "properties": props}


def definitions(*roles):
    return {r["id"].lower(): r for r in roles or ROLES}


def judge_roles(assignments, access="readwrite", defs=None):
    return doctor.judge_role_assignments(assignments, definitions() if defs is None else defs, CONTAINER, access,
                                         PRINCIPAL, "wl")


def cred(name, issuer=ISSUER, subject=SUBJECT, audiences=(AUD,)):
    return {"name": name, "issuer": issuer, "subject": subject,
            "audiences": list(audiences) if audiences is not None else None}


UNRELATED = dict(issuer="https://oidc.prod-aks.azure.com/other/", subject="system:serviceaccount:x:y",
                 audiences=["api://other"])


def judge_creds(creds):
    return doctor.judge_federated_credentials(creds, ISSUER, SUBJECT, IDENTITY, "wl")


def jwt(claims):
    def part(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")
    return "%s.%s.%s" % (part({"alg": "RS256", "kid": "k1", "typ": "JWT"}), part(claims), "c2lnbmF0dXJl")


def assert_link(result, name, status):
    assert set(result) == {"link", "workload", "status", "summary", "evidence", "fix"}
    assert result["link"] == name
    assert result["status"] == status, result["summary"]
    if status == OK:
        assert result["fix"] is None
    elif status == FAIL:
        assert result["fix"]


# ---- issuer ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("found,expected", [
    (ISSUER, None),
    (ISSUER.rstrip("/"), "only the trailing slash differs"),
    (ISSUER + "/", "only the trailing slash differs"),
    (ISSUER.replace("eastus", "EastUS"), "only the letter case differs"),
    ("https://westeurope.oic.prod-aks.azure.com/t/c/", "another issuer (an older or another cluster's)"),
    (None, "another issuer (an older or another cluster's)"),
])
def test_issuer_difference(found, expected):
    assert doctor.issuer_difference(ISSUER, found) == expected


def test_issuer_difference_slash_and_case_is_not_another_cluster():
    assert "another" not in doctor.issuer_difference(ISSUER, ISSUER.rstrip("/").replace("eastus", "EastUS"))


# ---- federated credentials -------------------------------------------------------------------------------------------
def test_credential_mismatches_exact_match_is_empty():
    assert doctor.credential_mismatches(cred("c"), ISSUER, SUBJECT) == []
    assert len(doctor.credential_mismatches(cred("c", **UNRELATED), ISSUER, SUBJECT)) == 3


def test_federated_credential_exact_match_is_ok_among_others():
    result = judge_creds([cred("old", **UNRELATED), cred("near", subject=doctor.subject_of("x", SA)),
                          cred("good")])
    assert_link(result, "federated_credential", OK)
    assert result["workload"] == "wl"
    assert result["evidence"]["credential"] == "good"
    assert result["evidence"]["count"] == 3
    assert "good" in result["summary"] and SUBJECT in result["summary"]


@pytest.mark.parametrize("change,phrase", [
    ({"issuer": ISSUER.rstrip("/")}, "issuer %s is not %s (only the trailing slash differs)"
     % (ISSUER.rstrip("/"), ISSUER)),
    ({"issuer": ISSUER.upper()}, "only the letter case differs"),
    ({"issuer": "https://oidc.example/older/"}, "another issuer"),
    ({"subject": doctor.subject_of("other-ns", SA)}, "subject system:serviceaccount:other-ns:reporter is not "
     + SUBJECT),
    ({"subject": doctor.subject_of(NS, "default")}, "subject system:serviceaccount:reports:default is not "
     + SUBJECT),
    ({"audiences": ["api://other"]}, "audiences ['api://other'] are not [%s]" % AUD),
    ({"audiences": [AUD, "api://other"]}, "are not [%s]" % AUD),
    ({"audiences": None}, "audiences None are not [%s]" % AUD),
], ids=["issuer-slash", "issuer-case", "issuer-other", "subject-namespace", "subject-service-account",
        "audience-other", "audience-extra", "audience-none"])
def test_federated_credential_single_mismatch_names_closest(change, phrase):
    # the unrelated credential comes first: the closest must be chosen by fewest mismatches, not by order
    result = judge_creds([cred("unrelated", **UNRELATED), cred("near", **change)])
    assert_link(result, "federated_credential", FAIL)
    assert result["evidence"]["closest"] == "near"
    assert len(result["evidence"]["mismatches"]) == 1
    assert phrase in result["evidence"]["mismatches"][0]
    assert "the closest, near: " in result["summary"] and phrase in result["summary"]
    assert "unrelated" not in result["summary"]
    fix = result["fix"]
    assert "federated-credential update" in fix and "--name near " in fix
    assert "--resource-group rg-identities --identity-name id-reports" in fix
    assert "--issuer %s --subject %s --audiences %s" % (ISSUER, SUBJECT, AUD) in fix


def test_federated_credential_two_mismatches_still_closest():
    result = judge_creds([cred("two", issuer=ISSUER.rstrip("/"), audiences=["api://x"])])
    assert result["status"] == FAIL
    assert result["evidence"]["closest"] == "two" and len(result["evidence"]["mismatches"]) == 2


@pytest.mark.parametrize("creds", [[], [cred("unrelated", **UNRELATED)]], ids=["none", "only-unrelated"])
def test_federated_credential_none_matching_creates_one(creds):
    result = judge_creds(creds)
    assert_link(result, "federated_credential", FAIL)
    assert result["summary"].startswith("no federated credential on identity id-reports trusts " + SUBJECT)
    assert "closest" not in result["evidence"]
    assert result["evidence"]["count"] == len(creds)
    assert "maximum" not in result["summary"]
    fix = result["fix"]
    assert fix.startswith("re-run site.yml --tags federation")
    assert ("az identity federated-credential create --resource-group rg-identities --identity-name id-reports "
            "--name <name> --issuer %s --subject %s --audiences %s" % (ISSUER, SUBJECT, AUD)) in fix


def test_federated_credential_at_the_limit_deletes_first():
    creds = [cred("c%02d" % i, **UNRELATED) for i in range(doctor.FIC_LIMIT)]
    result = judge_creds(creds)
    assert_link(result, "federated_credential", FAIL)
    assert "maximum of 20 credentials" in result["summary"]
    assert result["evidence"]["count"] == 20 and result["evidence"]["limit"] == 20
    assert result["fix"].startswith("delete an unused credential first (az identity federated-credential delete)")
    assert "federated-credential create" in result["fix"]
    assert "--issuer %s --subject %s" % (ISSUER, SUBJECT) in result["fix"]


def test_federated_credential_below_the_limit_does_not_delete():
    result = judge_creds([cred("c%02d" % i, **UNRELATED) for i in range(doctor.FIC_LIMIT - 1)])
    assert "maximum" not in result["summary"] and not result["fix"].startswith("delete")


def test_federated_credential_at_the_limit_with_a_match_is_ok():
    creds = [cred("c%02d" % i, **UNRELATED) for i in range(doctor.FIC_LIMIT - 1)] + [cred("good")]
    assert judge_creds(creds)["status"] == OK


def test_federated_credential_at_the_limit_update_needs_no_delete():
    creds = [cred("c%02d" % i, **UNRELATED) for i in range(doctor.FIC_LIMIT - 1)]
    creds.append(cred("near", issuer=ISSUER.rstrip("/")))
    result = judge_creds(creds)
    assert "federated-credential update" in result["fix"]
    assert not result["fix"].startswith("delete")


# ---- role assignments ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("assigned,target,expected", [
    (CONTAINER, CONTAINER, True),
    (CONTAINER + "/", CONTAINER, True),
    (ACCOUNT_SCOPE, CONTAINER, True),
    (RG_SCOPE, CONTAINER, True),
    (SUB_SCOPE, CONTAINER, True),
    ("/", CONTAINER, True),
    (RG_SCOPE.replace("resourceGroups/rg-data", "resourcegroups/RG-DATA"), CONTAINER, True),
    (SIBLING, CONTAINER, False),
    (PREFIX_ONLY, CONTAINER, False),
    (CONTAINER, PREFIX_ONLY, False),
    (SUB_SCOPE + "/resourceGroups/rg-data2", CONTAINER, False),
    ("/subscriptions/00000000-0000-0000-0000-000000000002", CONTAINER, False),
    (CONTAINER, ACCOUNT_SCOPE, False),  # a container assignment does not reach up to the account
])
def test_scope_covers(assigned, target, expected):
    assert rbac.scope_covers(assigned, target) is expected


@pytest.mark.parametrize("scope", [CONTAINER, ACCOUNT_SCOPE, RG_SCOPE, SUB_SCOPE, "/", ACCOUNT_SCOPE.upper()],
                         ids=["container", "account", "resource-group", "subscription", "root", "upper-case"])
def test_role_assignment_inherited_scope_covers(scope):
    result = judge_roles([assignment(SBDC, scope)])
    assert_link(result, "role_assignment", OK)
    assert result["evidence"]["covering"] == ["Storage Blob Data Contributor at " + scope]
    assert result["evidence"]["missing"] == [] and result["evidence"]["not_covering"] == []
    assert result["evidence"]["needed"] == [READ, WRITE]
    assert result["summary"] == "Storage Blob Data Contributor at %s allow read, write" % scope


@pytest.mark.parametrize("definition,access,missing", [
    (SBDC, "read", []), (SBDC, "readwrite", []),
    (SBDR, "read", []), (SBDR, "readwrite", [WRITE]),
    (SBDO, "read", []), (SBDO, "readwrite", []),
    (CUSTOM, "read", []), (CUSTOM, "readwrite", [WRITE]),
    (WRITE_ONLY, "read", [READ]), (WRITE_ONLY, "readwrite", [READ]),
    (READER, "read", [READ]), (READER, "readwrite", [READ, WRITE]),
])
def test_role_assignment_data_actions_of_each_role(definition, access, missing):
    result = judge_roles([assignment(definition, ACCOUNT_SCOPE)], access)
    assert result["status"] == (FAIL if missing else OK), result["summary"]
    assert result["evidence"]["missing"] == missing
    name = definition["properties"]["roleName"]
    if missing:
        shown = ", ".join(a.rsplit("/", 1)[-1] for a in missing)
        assert result["summary"].startswith("%s at %s do not allow %s" % (name, ACCOUNT_SCOPE, shown))
        assert "403 AuthorizationPermissionMismatch" in result["summary"]


def test_role_assignment_reader_for_readwrite_fails_with_contributor_fix():
    result = judge_roles([assignment(SBDR, CONTAINER)], "readwrite")
    assert_link(result, "role_assignment", FAIL)
    assert result["evidence"]["missing"] == [WRITE]
    assert "do not allow write " in result["summary"] and "allow read" not in result["summary"]
    assert ("az role assignment create --assignee-object-id %s --assignee-principal-type ServicePrincipal "
            "--role \"Storage Blob Data Contributor\" --scope %s" % (PRINCIPAL, CONTAINER)) in result["fix"]


def test_role_assignment_fix_for_read_names_the_reader_role():
    result = judge_roles([], "read")
    assert_link(result, "role_assignment", FAIL)
    assert result["summary"].startswith("no role assignment at the container or above read ")
    assert "--role \"Storage Blob Data Reader\" --scope %s" % CONTAINER in result["fix"]
    assert result["fix"].startswith("re-run site.yml --tags rbac")


@pytest.mark.parametrize("scope", [SIBLING, PREFIX_ONLY], ids=["sibling-container", "prefix-only-container"])
def test_role_assignment_elsewhere_does_not_cover(scope):
    result = judge_roles([assignment(SBDC, scope)])
    assert_link(result, "role_assignment", FAIL)
    assert result["evidence"]["covering"] == []
    assert result["evidence"]["not_covering"] == ["Storage Blob Data Contributor at " + scope]
    assert result["evidence"]["missing"] == [READ, WRITE]
    assert result["summary"].startswith("no role assignment at the container or above read, write")
    assert "Storage Blob Data Contributor at %s do not cover this container" % scope in result["summary"]
    assert result["fix"].endswith("--scope " + CONTAINER)


def test_role_assignment_covering_and_elsewhere_are_reported_apart():
    result = judge_roles([assignment(SBDR, CONTAINER), assignment(SBDC, SIBLING)])
    assert result["status"] == FAIL
    assert result["evidence"]["covering"] == ["Storage Blob Data Reader at " + CONTAINER]
    assert result["evidence"]["not_covering"] == ["Storage Blob Data Contributor at " + SIBLING]
    assert result["evidence"]["missing"] == [WRITE]


def test_role_assignment_actions_are_the_union_over_roles():
    result = judge_roles([assignment(SBDR, ACCOUNT_SCOPE), assignment(WRITE_ONLY, CONTAINER)])
    assert result["status"] == OK, result["summary"]


def test_role_assignment_not_data_actions_only_remove_within_their_block():
    two_blocks = role("0d0d0d0d-1111-2222-3333-444444444444", "Two blocks", [], [BLOBS + "/*"], [WRITE])
    two_blocks["properties"]["permissions"].append({"actions": [], "notActions": [], "dataActions": [WRITE],
                                                    "notDataActions": []})
    result = judge_roles([assignment(two_blocks, CONTAINER)], defs=definitions(two_blocks))
    assert result["status"] == OK


def test_role_assignment_condition_warns():
    result = judge_roles([assignment(SBDC, CONTAINER, condition="@Resource[...:path] StringStartsWith 'x/'")])
    assert_link(result, "role_assignment", WARN)
    assert "conditions on Storage Blob Data Contributor are not evaluated here" in result["summary"]
    assert result["fix"] is None


def test_role_assignment_condition_on_an_insufficient_role_still_fails():
    result = judge_roles([assignment(SBDR, CONTAINER, condition="x")])
    assert result["status"] == FAIL


def test_role_assignment_role_definition_id_is_matched_case_insensitively():
    upper = SBDC["id"].replace("Microsoft.Authorization", "MICROSOFT.AUTHORIZATION").upper()
    result = judge_roles([assignment(SBDC, CONTAINER, role_definition_id=upper)])
    assert result["status"] == OK
    assert result["evidence"]["covering"] == ["Storage Blob Data Contributor at " + CONTAINER]


def test_role_assignment_unreadable_definition_fails_with_its_guid():
    result = judge_roles([assignment(SBDC, CONTAINER)], defs={SBDC["id"].lower(): None})
    assert result["status"] == FAIL
    assert result["evidence"]["covering"] == ["ba92f5b4-2d11-453d-a403-e96b0029c9fe at " + CONTAINER]


def test_role_assignment_accepts_flattened_assignments():
    flat = assignment(SBDC, ACCOUNT_SCOPE)["properties"]
    assert judge_roles([flat])["status"] == OK


def test_role_assignment_management_group_scope_covers():
    assert judge_roles([assignment(SBDC, MG_SCOPE)])["status"] == OK


# ---- CSI driver ------------------------------------------------------------------------------------------------------
GOOD_CSI = {"attachRequired": False, "podInfoOnMount": True, "requiresRepublish": True,
            "tokenRequests": [{"audience": AUD, "expirationSeconds": 3600}],
            "volumeLifecycleModes": ["Persistent", "Ephemeral"]}


def test_csi_driver_missing():
    result = doctor.judge_csi_driver(None)
    assert_link(result, "csi_driver", FAIL)
    assert "CSIDriver blob.csi.azure.com does not exist" in result["summary"]
    assert "--tags driver" in result["fix"]


@pytest.mark.parametrize("change", [{"tokenRequests": None}, {"tokenRequests": []},
                                    {"tokenRequests": [{"audience": "sts.example"}]}],
                         ids=["none", "empty", "other-audience"])
def test_csi_driver_without_token_request_for_the_audience(change):
    result = doctor.judge_csi_driver(dict(GOOD_CSI, **change))
    assert_link(result, "csi_driver", FAIL)
    assert "has no audience " + AUD in result["summary"]
    assert "requiresRepublish" not in result["summary"]


@pytest.mark.parametrize("value", [False, None, "true"])
def test_csi_driver_without_republish(value):
    result = doctor.judge_csi_driver(dict(GOOD_CSI, requiresRepublish=value))
    assert_link(result, "csi_driver", FAIL)
    assert result["summary"].startswith("requiresRepublish is %s" % value)
    assert result["evidence"]["requiresRepublish"] == value


def test_csi_driver_both_problems_and_missing_republish_key():
    result = doctor.judge_csi_driver({})
    assert result["status"] == FAIL
    assert AUD in result["summary"] and "requiresRepublish is None" in result["summary"]


def test_csi_driver_good():
    result = doctor.judge_csi_driver(GOOD_CSI)
    assert_link(result, "csi_driver", OK)
    assert result["evidence"] == {"tokenRequests": GOOD_CSI["tokenRequests"], "requiresRepublish": True}


def test_csi_driver_audience_among_several_requests():
    spec = dict(GOOD_CSI, tokenRequests=[{"audience": "other"}, {"audience": AUD}])
    assert doctor.judge_csi_driver(spec)["status"] == OK


# ---- driver version --------------------------------------------------------------------------------------------------
MCR = "mcr.microsoft.com/oss/kubernetes-csi/blob-csi"
DIGEST = "@sha256:" + "0123456789abcdef" * 4


@pytest.mark.parametrize("image,version", [
    (MCR + ":v1.27.9", (1, 27, 9)),
    (MCR + ":1.27.1", (1, 27, 1)),
    (MCR + ":v1.27.10", (1, 27, 10)),
    (MCR + ":v1.26.4" + DIGEST, (1, 26, 4)),
    (MCR + ":v1.27.1-windows-hp", (1, 27, 1)),
    ("myregistry.example:5000/blob-csi:v1.28.0", (1, 28, 0)),
    (MCR + DIGEST, None),
    (MCR, None),
    ("myregistry.example:5000/blob-csi", None),
    (MCR + ":latest", None),
    (MCR + ":v1.27", None),
    (None, None),
    ("", None),
])
def test_image_version(image, version):
    assert doctor.image_version(image) == version


@pytest.mark.parametrize("images,floor,status,version", [
    ([MCR + ":v1.27.9"], "1.27.1", OK, "1.27.9"),
    ([MCR + ":1.27.1"], "1.27.1", OK, "1.27.1"),
    ([MCR + ":v1.27.10"], "1.27.9", OK, "1.27.10"),  # numeric, not string, comparison
    ([MCR + ":v1.26.4"], "1.27.1", FAIL, "1.26.4"),
    ([MCR + ":v1.27.0" + DIGEST], "1.27.1", FAIL, "1.27.0"),
    ([MCR + ":v1.27.9", MCR + ":v1.26.4"], "1.27.1", FAIL, "1.26.4"),  # the lowest counts
    ([MCR + DIGEST, MCR + ":v1.27.9"], "1.27.1", OK, "1.27.9"),  # an untagged image is ignored
    ([MCR + DIGEST], "1.27.1", UNKNOWN, None),
    ([MCR], "1.27.1", UNKNOWN, None),
    ([None], "1.27.1", UNKNOWN, None),
    ([], "1.27.1", UNKNOWN, None),
])
def test_judge_driver_version(images, floor, status, version):
    result = doctor.judge_driver_version(images, floor)
    assert result["link"] == "driver_version" and result["status"] == status, result["summary"]
    assert result["evidence"].get("version") == version
    assert result["evidence"]["minimum"] == floor
    if status == FAIL:
        assert result["summary"].startswith("driver %s is below %s" % (version, floor))
        assert "blob_csi_driver_chart_version to %s" % floor in result["fix"]
    if status == UNKNOWN:
        assert "helm list" in result["fix"]


# ---- node DaemonSet --------------------------------------------------------------------------------------------------
DS = "kube-system/csi-blob-node"


@pytest.mark.parametrize("status,result_status,summary", [
    (None, FAIL, "DaemonSet kube-system/csi-blob-node does not exist"),
    ({}, FAIL, "DaemonSet kube-system/csi-blob-node has 0 of 0 node pods ready"),
    ({"desiredNumberScheduled": 0, "numberReady": 0}, FAIL, "has 0 of 0 node pods ready"),
    ({"desiredNumberScheduled": 3, "numberReady": 2, "updatedNumberScheduled": 3}, FAIL, "has 2 of 3 node pods"),
    ({"desiredNumberScheduled": 3}, FAIL, "has 0 of 3 node pods ready"),
    ({"desiredNumberScheduled": 3, "numberReady": 3, "updatedNumberScheduled": 3}, OK, "3 of 3 node pods ready"),
])
def test_judge_daemonset(status, result_status, summary):
    result = doctor.judge_daemonset(DS, status)
    assert_link(result, "driver_nodes", result_status)
    assert summary in result["summary"]
    if status is not None and result_status == FAIL:
        assert "describe daemonset csi-blob-node " in result["fix"]


# ---- PersistentVolume ------------------------------------------------------------------------------------------------
EXPECTED_PV = {"name": "pv-reports", "storage_account": "stdata", "resource_group": "rg-data",
               "container": "reports", "client_id": CLIENT}
GOOD_ATTRS = {"storageaccount": "stdata", "containerName": "reports", "resourcegroup": "rg-data", "clientID": CLIENT,
              "mountWithWorkloadIdentityToken": "true", "protocol": "fuse"}


def pv(attrs=None, driver=doctor.DRIVER, **csi):
    body = {"driver": driver, "volumeHandle": "rg-data#stdata#reports#pv-reports",
            "volumeAttributes": dict(GOOD_ATTRS) if attrs is None else attrs}
    body.update(csi)
    return {"metadata": {"name": "pv-reports"}, "spec": {"csi": body, "accessModes": ["ReadWriteMany"]}}


def without(key):
    return {k: v for k, v in GOOD_ATTRS.items() if k != key}


def test_volume_good():
    result = doctor.judge_volume(pv(), EXPECTED_PV, "wl")
    assert_link(result, "persistent_volume", OK)
    assert result["summary"] == "token-only volume on stdata/reports as client " + CLIENT
    assert result["workload"] == "wl"


def test_volume_missing():
    result = doctor.judge_volume(None, EXPECTED_PV)
    assert_link(result, "persistent_volume", FAIL)
    assert result["summary"] == "PersistentVolume pv-reports does not exist"


@pytest.mark.parametrize("volume,phrase", [
    (pv(without("mountWithWorkloadIdentityToken")), "mountWithWorkloadIdentityToken is None, not \"true\" (key mode)"),
    (pv(dict(GOOD_ATTRS, mountWithWorkloadIdentityToken="false")), "mountWithWorkloadIdentityToken is 'false'"),
    (pv(dict(GOOD_ATTRS, secretName="azure-storage-account-stdata-secret")),
     "volumeAttributes.secretName is set (a key or SAS in a Secret)"),
    (pv(dict(GOOD_ATTRS, azurestorageaccountkey="a2V5")), "volumeAttributes.azurestorageaccountkey is set"),
    (pv(dict(GOOD_ATTRS, azurestorageaccountsastoken="?sv=x")), "volumeAttributes.azurestorageaccountsastoken is set"),
    (pv(nodeStageSecretRef={"name": "azure-secret", "namespace": "reports"}),
     "nodeStageSecretRef is set (a key in a Secret)"),
    (pv(dict(GOOD_ATTRS, clientID="99999999-9999-9999-9999-999999999999")),
     "clientID is '99999999-9999-9999-9999-999999999999', not '%s'" % CLIENT),
    (pv(without("clientID")), "clientID is None, not '%s'" % CLIENT),
    (pv(dict(GOOD_ATTRS, storageaccount="stother")), "storageaccount is 'stother', not 'stdata'"),
    (pv(dict(GOOD_ATTRS, containerName="archive")), "containerName is 'archive', not 'reports'"),
    (pv(dict(GOOD_ATTRS, resourcegroup="rg-other")), "resourcegroup is 'rg-other', not 'rg-data'"),
    (pv(driver="file.csi.azure.com"), "driver is file.csi.azure.com, not blob.csi.azure.com"),
    (pv(driver=None), "driver is None, not blob.csi.azure.com"),
], ids=["no-token-flag", "token-flag-false", "secret-name", "account-key", "sas", "node-stage-secret",
        "other-client", "no-client", "other-account", "other-container", "other-resource-group", "file-driver",
        "no-driver"])
def test_volume_problems(volume, phrase):
    result = doctor.judge_volume(volume, EXPECTED_PV, "wl")
    assert_link(result, "persistent_volume", FAIL)
    assert phrase in result["summary"]
    assert "immutable" in result["fix"]


def test_volume_key_mode_reports_every_problem():
    attrs = dict(without("mountWithWorkloadIdentityToken"), secretName="s")
    result = doctor.judge_volume(pv(attrs, nodeStageSecretRef={"name": "s"}), EXPECTED_PV)
    assert result["summary"].count("; ") == 2


def test_volume_unknown_client_id_is_not_compared():
    result = doctor.judge_volume(pv(dict(GOOD_ATTRS, clientID="whatever")), dict(EXPECTED_PV, client_id=None))
    assert result["status"] == OK


def test_volume_dynamically_provisioned_from_the_collections_storage_class():
    attrs = {"storageAccount": "stdata", "resourceGroup": "rg-data", "containerName": "reports", "clientID": CLIENT,
             "mountWithWorkloadIdentityToken": "true", "protocol": "fuse", "secretnamespace": "reports",
             "csi.storage.k8s.io/pvc/name": "reports-blob", "csi.storage.k8s.io/pvc/namespace": "reports"}
    assert doctor.judge_volume(pv(attrs), EXPECTED_PV)["status"] == OK


def test_volume_token_flag_is_a_go_bool():
    assert doctor.judge_volume(pv(dict(GOOD_ATTRS, mountWithWorkloadIdentityToken="True")),
                               EXPECTED_PV)["status"] == OK


# ---- PersistentVolumeClaim -------------------------------------------------------------------------------------------
def pvc(phase, volume):
    return {"metadata": {"name": "reports-blob"}, "spec": {"volumeName": volume}, "status": {"phase": phase}}


@pytest.mark.parametrize("claim,pv_name,status,summary", [
    (None, "pv-reports", FAIL, "PersistentVolumeClaim reports/reports-blob does not exist"),
    (pvc("Pending", None), "pv-reports", FAIL, "claim reports/reports-blob is Pending (volumeName None, expected "
     "pv-reports)"),
    (pvc("Lost", "pv-reports"), "pv-reports", FAIL, "is Lost"),
    (pvc("Bound", "pv-other"), "pv-reports", FAIL, "is Bound (volumeName pv-other, expected pv-reports)"),
    (pvc("Bound", "pv-reports"), "pv-reports", OK, "claim reports/reports-blob is Bound to pv-reports"),
    (pvc("Bound", "pvc-1234"), None, OK, "is Bound to pvc-1234"),  # dynamically provisioned: any volume
    (pvc("Pending", None), None, FAIL, "is Pending"),
])
def test_judge_claim(claim, pv_name, status, summary):
    result = doctor.judge_claim(claim, "reports/reports-blob", pv_name, workload="wl")
    assert_link(result, "persistent_volume_claim", status)
    assert result["workload"] == "wl"
    assert summary in result["summary"]
    if claim is not None and status == FAIL:
        assert result["fix"].startswith("kubectl -n reports describe pvc reports-blob ")
        assert "Released" not in result["summary"]


def test_judge_claim_pending_on_a_released_volume_gets_the_claim_ref_fix():
    volume = {"metadata": {"name": "pv-reports"}, "status": {"phase": "Released"},
              "spec": {"claimRef": {"namespace": "reports", "name": "reports-blob", "uid": "old-uid"}}}
    result = doctor.judge_claim(pvc("Pending", None), "reports/reports-blob", "pv-reports", volume, "wl")
    assert_link(result, "persistent_volume_claim", FAIL)
    assert "volume pv-reports is Released" in result["summary"]
    assert result["evidence"]["volume_phase"] == "Released"
    assert result["evidence"]["volume_claimRef"]["uid"] == "old-uid"
    assert result["fix"].startswith("kubectl patch pv pv-reports --type json")
    assert '"path": "/spec/claimRef"' in result["fix"]


def test_judge_claim_bound_ignores_the_volume_phase():
    volume = {"status": {"phase": "Bound"}, "spec": {}}
    result = doctor.judge_claim(pvc("Bound", "pv-reports"), "reports/reports-blob", "pv-reports", volume)
    assert result["status"] == OK and result["evidence"]["volume_phase"] == "Bound"


# ---- pods ------------------------------------------------------------------------------------------------------------
def pod(name, phase="Running", service_account=SA):
    return {"name": name, "service_account": service_account, "phase": phase}


def event(reason, message, name="reporter-0"):
    return {"pod": name, "type": "Warning", "reason": reason, "message": message, "count": 1}


def test_pods_other_service_account_fails():
    result = doctor.judge_pods([pod("a"), pod("b", service_account="default")], SA, [], "wl")
    assert_link(result, "pods", FAIL)
    assert result["summary"].startswith("pods b mount the claim as another service account than reporter")
    assert result["fix"] == "set spec.serviceAccountName: reporter in those pods' controller"


@pytest.mark.parametrize("reason", ["FailedMount", "FailedAttachVolume"])
def test_pods_pending_with_failed_mount_warns_quoting_the_latest(reason):
    events = [event(reason, "MountVolume.MountDevice failed: old"), event("Scheduled", "assigned"),
              event(reason, "MountVolume.MountDevice failed: AADSTS700213 no matching federated identity")]
    result = doctor.judge_pods([pod("reporter-0", "Pending")], SA, events)
    assert_link(result, "pods", WARN)
    assert result["summary"] == "a pod cannot mount: MountVolume.MountDevice failed: AADSTS700213 no matching " \
                                "federated identity"
    assert result["evidence"]["events"] == events


@pytest.mark.parametrize("pods,events", [
    ([pod("reporter-0", "Running")], [event("FailedMount", "earlier")]),  # mounted in the end
    ([pod("reporter-0", "Pending")], [event("Scheduled", "assigned")]),
    ([pod("reporter-0", "Pending")], []),
])
def test_pods_without_a_current_mount_failure_are_ok(pods, events):
    result = doctor.judge_pods(pods, SA, events)
    assert_link(result, "pods", OK)
    assert result["summary"] == "1 pod(s) mount the claim as reporter"


def test_pods_none():
    result = doctor.judge_pods([], SA, [])
    assert_link(result, "pods", OK)
    assert result["summary"] == "no pod mounts the claim now"
    assert result["evidence"] == {"pods": [], "events": []}


# ---- token -----------------------------------------------------------------------------------------------------------
GOOD_CLAIMS = {"iss": ISSUER, "sub": SUBJECT, "aud": [AUD], "exp": 2000000000, "iat": 1999996400,
               "kubernetes.io": {"namespace": NS, "serviceaccount": {"name": SA}}}


def test_token_claims_decode_base64url_without_padding():
    paddings = set()
    for nonce in ("???>>>", "a???>>>", "aa???>>>", "aaa???>>>"):  # '?' and '>' encode to '_' and '-' in base64url
        claims = dict(GOOD_CLAIMS, nonce=nonce)
        payload = jwt(claims).split(".")[1]
        assert "=" not in payload and ("-" in payload or "_" in payload)
        paddings.add(-len(payload) % 4)
        assert azure_auth.token_claims(jwt(claims)) == claims
    assert len(paddings) >= 3  # payloads that needed 0, 1 and 2 padding characters


@pytest.mark.parametrize("token", ["not-a-jwt", "a.%%%.c", "a.bm90IGpzb24.c", ""])
def test_token_claims_of_garbage_are_empty(token):
    assert azure_auth.token_claims(token) == {}


@pytest.mark.parametrize("aud", [[AUD], AUD, ["other", AUD]], ids=["list", "string", "list-with-others"])
def test_judge_token_good(aud):
    result = doctor.judge_token(azure_auth.token_claims(jwt(dict(GOOD_CLAIMS, aud=aud))), ISSUER, SUBJECT, "wl")
    assert_link(result, "probe_token", OK)
    assert result["summary"] == "the service account token says iss %s, sub %s" % (ISSUER, SUBJECT)
    assert result["evidence"]["aud"] == (aud if isinstance(aud, list) else [aud])


@pytest.mark.parametrize("change,phrase", [
    ({"iss": ISSUER.rstrip("/")}, "iss %s is not the cluster's issuer %s (only the trailing slash differs)"
     % (ISSUER.rstrip("/"), ISSUER)),
    ({"iss": "https://kubernetes.default.svc.cluster.local"}, "another issuer"),
    ({"sub": doctor.subject_of(NS, "default")}, "sub system:serviceaccount:reports:default is not " + SUBJECT),
    ({"aud": "api://other"}, "aud ['api://other'] lacks " + AUD),
    ({"aud": ["https://kubernetes.default.svc"]}, "lacks " + AUD),
    ({"aud": None}, "aud [None] lacks " + AUD),
])
def test_judge_token_mismatch(change, phrase):
    result = doctor.judge_token(azure_auth.token_claims(jwt(dict(GOOD_CLAIMS, **change))), ISSUER, SUBJECT)
    assert_link(result, "probe_token", FAIL)
    assert phrase in result["summary"]
    assert result["summary"].count("; ") == 0


def test_judge_token_of_empty_claims_names_every_claim():
    result = doctor.judge_token({}, ISSUER, SUBJECT)
    assert result["status"] == FAIL
    assert result["summary"].count("; ") == 2


# ---- AADSTS ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text,code", [
    ("AADSTS700213: No matching federated identity record found for presented assertion subject", "AADSTS700213"),
    ("(invalid_client) AADSTS70021: No matching federated identity record found", "AADSTS70021"),
    ("ClientAuthenticationError: ... AADSTS700024: Client assertion is not within its valid time range.",
     "AADSTS700024"),
    ("something else", None),
    ("", None),
    (None, None),
])
def test_aadsts_code(text, code):
    assert doctor.aadsts_code(text) == code


@pytest.mark.parametrize("code,phrase", [
    ("AADSTS700213", "no credential has this subject"),
    ("AADSTS70021", "no credential matches issuer, subject and audience together"),
    ("AADSTS700211", "the token's issuer has no federated credential"),
    ("AADSTS700212", "audience"),
    ("AADSTS700024", "expired"),
    ("AADSTS700016", "client ID"),
    ("AADSTS50013", "signature"),
    ("AADSTS90002", "reference-error-codes"),
    (None, "reference-error-codes"),
])
def test_aadsts_fix(code, phrase):
    assert phrase in doctor.aadsts_fix(code)


# ---- summary helpers -------------------------------------------------------------------------------------------------
def links_with(*statuses):
    return [doctor.link("l%d" % i, s, "summary %d" % i) for i, s in enumerate(statuses)]


@pytest.mark.parametrize("statuses,expected", [
    ((), OK), ((OK, OK), OK), ((OK, UNKNOWN), UNKNOWN), ((UNKNOWN, WARN), WARN), ((WARN, FAIL, OK), FAIL),
    ((FAIL, UNKNOWN), FAIL),
])
def test_worst(statuses, expected):
    assert doctor.worst(links_with(*statuses)) == expected


def test_counts_has_every_status():
    assert doctor.counts(links_with(OK, FAIL, OK, WARN)) == {OK: 2, WARN: 1, FAIL: 1, UNKNOWN: 0}
    assert doctor.counts([]) == {OK: 0, WARN: 0, FAIL: 0, UNKNOWN: 0}


@pytest.mark.parametrize("statuses,fail_on,expected", [
    ((OK, FAIL), "fail", True), ((OK, WARN), "fail", False), ((OK, UNKNOWN), "fail", False),
    ((OK, FAIL), "warn", True), ((OK, WARN), "warn", True), ((OK, UNKNOWN), "warn", True),
    ((OK, OK), "warn", False), ((), "fail", False),
    ((FAIL, WARN), "never", False), ((OK,), "never", False),
])
def test_failing(statuses, fail_on, expected):
    links = links_with(*statuses)
    unhealthy = doctor.failing(links, fail_on)
    assert bool(unhealthy) is expected
    assert all(item in links and item["status"] != OK for item in unhealthy)


def test_blocked_names_the_links_it_waits_for():
    result = doctor.blocked("probe_data", {"role_assignment": FAIL, "container": UNKNOWN}, "wl")
    assert result["status"] == UNKNOWN and result["workload"] == "wl"
    assert result["summary"] == "not checked: container is unknown, role_assignment is fail"
    assert result["evidence"] == {"blocked_by": ["container", "role_assignment"]}


def test_line():
    item = doctor.link("pods", WARN, "a pod cannot mount", fix="kubectl describe pod", workload="wl")
    assert doctor.line(item) == "wl/pods: a pod cannot mount (fix: kubectl describe pod)"
    assert doctor.line(doctor.link("csi_driver", OK, "fine")) == "csi_driver: fine"


def test_table_aligns_columns_under_a_header():
    links = [doctor.link("csi_driver", OK, "CSIDriver fine"),
             doctor.link("persistent_volume_claim", FAIL, "claim Pending", workload="reports-long-name")]
    rows = doctor.table(links)
    assert len(rows) == 3
    assert rows[0].split() == ["workload", "link", "status", "summary"]
    assert rows[1].startswith("(cluster)  ") and "  OK  " in rows[1]
    assert rows[2].startswith("reports-long-name  persistent_volume_claim  FAIL    claim Pending")
    for column in ("link", "status", "summary"):
        start = rows[0].index(column)
        assert all(row[start - 2:start] == "  " and row[start] != " " for row in rows), column
    assert rows[1].endswith("CSIDriver fine")


def report_of(links):
    return {"cluster": "rg-aks/aks-prod", "status": doctor.worst(links), "counts": doctor.counts(links),
            "links": links}


def test_markdown():
    links = [doctor.link("csi_driver", OK, "CSIDriver requests a token", {"hidden": "ok-evidence"}),
             doctor.link("role_assignment", FAIL, "Reader at a|b do not allow write", {"missing": ["write"]},
                         "az role assignment create --role \"Storage Blob Data Contributor\"", "reports"),
             doctor.link("probe_data", UNKNOWN, "not checked: role_assignment is fail", {"blocked_by": ["x"]},
                         None, "reports")]
    text = doctor.markdown(report_of(links))
    lines = text.splitlines()
    assert text.endswith("\n")
    assert lines[0] == "# keyless.aks_storage doctor: rg-aks/aks-prod"
    assert "Result: **FAIL** (1 ok, 1 fail, 1 unknown)" in lines
    header = lines.index("| workload | link | status | summary |")
    assert lines[header + 1] == "|---|---|---|---|"
    assert lines[header + 2] == "| (cluster) | csi_driver | ok | CSIDriver requests a token |"
    assert lines[header + 3] == "| reports | role_assignment | fail | Reader at a\\|b do not allow write |"
    assert lines[header + 4] == "| reports | probe_data | unknown | not checked: role_assignment is fail |"
    assert "## reports / role_assignment: fail" in lines
    assert "Fix: `az role assignment create --role \"Storage Blob Data Contributor\"`" in lines
    assert "## reports / probe_data: unknown" in lines
    assert text.count("Fix: ") == 1  # the unknown link has no fix, the ok link no section
    assert "## (cluster)" not in text and "csi_driver: ok" not in text and "ok-evidence" not in text
    assert '"missing": [\n    "write"\n  ]' in text
    assert text.count("```json") == 2


def test_markdown_table_survives_a_multi_line_summary():
    links = [doctor.link("pods", WARN, "a pod cannot mount: exit status 1\noutput: blobfuse2 failed", {}, "fix", "wl")]
    lines = doctor.markdown(report_of(links)).splitlines()
    header = lines.index("| workload | link | status | summary |")
    assert lines[header + 2].startswith("| wl | pods | warn |") and lines[header + 2].endswith(" |")


# ---- Azure Files (shapes as ARM and the v1.35.7 chart render them) --------------------------------------------------
FILE = doctor.FILE
FILES = "Microsoft.Storage/storageAccounts/fileServices/fileshares/files"
FILE_SERVICE = "Microsoft.Storage/storageAccounts/fileServices"
SHARE_SCOPE = ACCOUNT_SCOPE + "/fileServices/default/shares/docs"
SMB_MI_ADMIN = role("a235d3ee-5935-4cfb-8cc5-a3303ad5995e", "Storage File Data SMB MI Admin", [], [
    FILE_SERVICE + "/readFileBackupSemantics/action", FILE_SERVICE + "/writeFileBackupSemantics/action",
    FILE_SERVICE + "/takeOwnership/action", FILE_SERVICE + "/runAsBuiltInFileAdministrator/action",
    FILES + "/read", FILES + "/write", FILES + "/delete", FILES + "/modifypermissions/action"])
SMB_ADMIN = role("bbf004e3-0e4b-4f86-ae4f-1f8fb47b357b", "Storage File Data SMB Admin", [], [
    FILE_SERVICE + "/readFileBackupSemantics/action", FILE_SERVICE + "/writeFileBackupSemantics/action",
    FILE_SERVICE + "/takeOwnership/action", FILES + "/read", FILES + "/write", FILES + "/delete",
    FILES + "/modifypermissions/action"])
SMB_SHARE_CONTRIBUTOR = role("0c867c2a-1d8c-454a-a3db-ab2ea1bdc8bb", "Storage File Data SMB Share Contributor", [],
                             [FILES + "/read", FILES + "/write", FILES + "/delete"])
FILE_ROLES = definitions(SMB_MI_ADMIN, SMB_ADMIN, SMB_SHARE_CONTRIBUTOR)


def judge_file_roles(assignments, access="readwrite"):
    return doctor.judge_role_assignments(assignments, FILE_ROLES, ACCOUNT_SCOPE, access, PRINCIPAL, "wl", kind=FILE)


@pytest.mark.parametrize("scope", [ACCOUNT_SCOPE, RG_SCOPE, SUB_SCOPE, MG_SCOPE])
@pytest.mark.parametrize("access", ["read", "readwrite"])
def test_file_role_smb_mi_admin_at_the_account_or_above_is_ok(scope, access):
    result = judge_file_roles([assignment(SMB_MI_ADMIN, scope)], access)
    assert_link(result, "role_assignment", OK)
    shown = "runAsBuiltInFileAdministrator, read" + (", write" if access == "readwrite" else "")
    assert result["summary"].endswith("allow " + shown)
    assert FILE_SERVICE + "/runAsBuiltInFileAdministrator/action" in result["evidence"]["needed"]


def test_file_role_at_the_share_is_not_enough_and_the_fix_says_so():
    result = judge_file_roles([assignment(SMB_MI_ADMIN, SHARE_SCOPE)])
    assert_link(result, "role_assignment", FAIL)
    assert result["summary"].startswith("no role assignment at the account or above")
    assert "Storage File Data SMB MI Admin at %s do not cover this account" % SHARE_SCOPE in result["summary"]
    assert 'az role assignment create' in result["fix"] and \
        '--role "Storage File Data SMB MI Admin" --scope %s;' % ACCOUNT_SCOPE in result["fix"]
    assert "share-scoped roles and SMB Share Contributor or Elevated Contributor are not sufficient" in result["fix"]


@pytest.mark.parametrize("definition,missing", [
    (SMB_SHARE_CONTRIBUTOR, ["runAsBuiltInFileAdministrator"]),
    (SMB_ADMIN, ["runAsBuiltInFileAdministrator"]),  # admin, but not as the built-in file administrator
    (SBDC, ["runAsBuiltInFileAdministrator", "read", "write"]),  # a blob role grants nothing on files
])
def test_file_role_other_roles_at_the_account_lack_data_actions(definition, missing):
    result = doctor.judge_role_assignments([assignment(definition, ACCOUNT_SCOPE)], definitions(
        SMB_SHARE_CONTRIBUTOR, SMB_ADMIN, SBDC), ACCOUNT_SCOPE, "readwrite", PRINCIPAL, kind=FILE)
    assert_link(result, "role_assignment", FAIL)
    assert [doctor.short_action(a) for a in result["evidence"]["missing"]] == missing
    assert "do not allow %s (the node gets no Kerberos ticket" % ", ".join(missing) in result["summary"]


def test_short_action():
    assert doctor.short_action(BLOBS + "/read") == "read"
    assert doctor.short_action(FILE_SERVICE + "/runAsBuiltInFileAdministrator/action") == \
        "runAsBuiltInFileAdministrator"


def account_props(enabled=True, source="None"):
    """storage account properties as ARM returns them (azureFilesIdentityBasedAuthentication, api 2025-01-01+)."""
    if enabled is None and source is None:
        return {"allowSharedKeyAccess": False}
    return {"allowSharedKeyAccess": False, "azureFilesIdentityBasedAuthentication": {
        "directoryServiceOptions": source, "smbOAuthSettings": {"isSmbOAuthEnabled": enabled}}}


@pytest.mark.parametrize("props,status,phrase", [
    (account_props(), OK, "SMB OAuth is on and no other identity source is set"),
    (account_props(False), FAIL, "SMB OAuth is off on account stdata"),
    (account_props(None, None), FAIL, "SMB OAuth is unset (off) on account stdata"),
    (account_props(True, "AADKERB"), FAIL, "another identity source (directoryServiceOptions AADKERB)"),
    (account_props(True, "AD"), FAIL, "directoryServiceOptions AD"),
], ids=["on", "off", "unset", "entra-kerberos", "ad-ds"])
def test_smb_oauth(props, status, phrase):
    result = doctor.judge_smb_oauth(props, "rg-data", "stdata")
    assert_link(result, "smb_oauth", status)
    assert phrase in result["summary"]
    if status == FAIL:
        assert "site.yml --tags storage" in result["fix"]
    if props.get("azureFilesIdentityBasedAuthentication", {}).get("directoryServiceOptions") == "None":
        if status == FAIL:
            assert "az storage account update -g rg-data -n stdata --enable-smb-oauth true" in result["fix"]


def share_body(protocols=None):
    props = {"shareQuota": 100, "accessTier": "TransactionOptimized"}
    if protocols:
        props["enabledProtocols"] = protocols
    return {"id": ACCOUNT_SCOPE + "/fileServices/default/shares/docs", "name": "docs",
            "type": "Microsoft.Storage/storageAccounts/fileServices/shares", "properties": props}


@pytest.mark.parametrize("share,status,phrase", [
    (share_body(), OK, "file share docs exists (SMB)"),
    (share_body("SMB"), OK, "file share docs exists (SMB)"),
    (share_body("NFS"), FAIL, "file share docs is NFS: NFS mounts carry no identity"),
    (None, FAIL, "file share docs does not exist in stdata"),
])
def test_share(share, status, phrase):
    result = doctor.judge_share(share, "docs", "stdata")
    assert_link(result, "share", status)
    assert phrase in result["summary"]
    if share is None:
        assert "site.yml --tags storage" in result["fix"]


# charts/v1.35.7/azurefile-csi-driver/templates/csi-azurefile-driver.yaml: no expirationSeconds
FILE_CSI = {"attachRequired": False, "podInfoOnMount": True, "requiresRepublish": True,
            "tokenRequests": [{"audience": AUD}], "volumeLifecycleModes": ["Persistent", "Ephemeral"],
            "fsGroupPolicy": "ReadWriteOnceWithFSType"}
AKS_LABELS = {"addonmanager.kubernetes.io/mode": "Reconcile", "kubernetes.azure.com/managedby": "aks"}


def test_file_csi_driver_of_the_chart_is_ok_without_expiration_seconds():
    result = doctor.judge_csi_driver(FILE_CSI, FILE, {"app.kubernetes.io/managed-by": "Helm"})
    assert_link(result, "file_csi_driver", OK)


def test_file_csi_driver_missing_names_the_files_role():
    result = doctor.judge_csi_driver(None, FILE)
    assert_link(result, "file_csi_driver", FAIL)
    assert result["summary"].startswith("CSIDriver file.csi.azure.com does not exist: the open-source Azure Files")
    assert "keyless.aks_storage.azurefile_csi_driver" in result["fix"]


def test_file_csi_driver_without_republish_gets_a_patch_without_expiration():
    result = doctor.judge_csi_driver(dict(FILE_CSI, requiresRepublish=None), FILE)
    assert_link(result, "file_csi_driver", FAIL)
    assert "requiresRepublish is None" in result["summary"]
    assert ("kubectl patch csidriver file.csi.azure.com --type merge -p '{\"spec\":{\"requiresRepublish\":true,"
            "\"tokenRequests\":[{\"audience\":\"api://AzureADTokenExchange\"}]}}'") in result["fix"]
    assert "the chart (>= 1.35.3) renders both" in result["fix"]


@pytest.mark.parametrize("kind", [doctor.BLOB, FILE], ids=["blob", "file"])
def test_csi_driver_of_aks_fails_even_with_the_right_spec(kind):
    result = doctor.judge_csi_driver(FILE_CSI, kind, AKS_LABELS)
    assert_link(result, kind.csi_link, FAIL)
    assert result["summary"].startswith("it carries the label kubernetes.azure.com/managedby: aks")
    assert kind.managed_flag in result["fix"]


@pytest.mark.parametrize("image,status", [
    ("mcr.microsoft.com/oss/v2/kubernetes-csi/azurefile-csi:v1.35.7", OK),
    ("mcr.microsoft.com/oss/v2/kubernetes-csi/azurefile-csi:v1.35.0", OK),
    ("mcr.microsoft.com/oss/v2/kubernetes-csi/azurefile-csi:v1.34.8", FAIL),
])
def test_file_driver_version(image, status):
    result = doctor.judge_driver_version([image], "1.35.0", FILE)
    assert_link(result, "file_driver_version", status)
    if status == FAIL:
        assert result["summary"] == ("driver 1.34.8 is below 1.35.0, the lowest this collection supports for "
                                     "token-only SMB mounts (mountWithWorkloadIdentityToken) "
                                     "(azurefile_csi_driver_minimum_version)")
        # the first chart that also renders requiresRepublish
        assert "set azurefile_csi_driver_chart_version to 1.35.3 or newer" in result["fix"]


def test_file_driver_nodes_link():
    result = doctor.judge_daemonset("kube-system/csi-azurefile-node", {"desiredNumberScheduled": 2, "numberReady": 1},
                                    FILE)
    assert_link(result, "file_driver_nodes", FAIL)
    assert "describe daemonset csi-azurefile-node " in result["fix"]


@pytest.mark.parametrize("kind,enabled,status,phrase", [
    (FILE, True, FAIL, "the AKS-managed Azure Files driver is on"),
    (FILE, None, FAIL, "is unset (AKS defaults it to on)"),
    (FILE, False, OK, "the AKS-managed Azure Files driver is off"),
    (doctor.BLOB, None, OK, "the AKS-managed blob driver is off"),
    (doctor.BLOB, True, FAIL, "the AKS-managed blob driver is on: it owns blob.csi.azure.com"),
])
def test_managed_driver(kind, enabled, status, phrase):
    props = {"storageProfile": {} if enabled is None else {kind.managed_profile: {"enabled": enabled}}}
    result = doctor.judge_managed_driver(props, kind, "rg-aks", "aks-1")
    assert_link(result, kind.managed_link, status)
    assert phrase in result["summary"]
    if status == FAIL:
        assert result["fix"].startswith("az aks update -g rg-aks -n aks-1 " + kind.managed_flag)


# the workload role's token-only SMB volume (volumeHandle rg#account#share#pv)
EXPECTED_FILE_PV = {"name": "pv-docs-shared-docs", "storage_account": "stdata", "resource_group": "rg-data",
                    "share": "docs", "client_id": CLIENT}
FILE_ATTRS = {"resourcegroup": "rg-data", "storageaccount": "stdata", "shareName": "docs", "clientID": CLIENT,
              "mountWithWorkloadIdentityToken": "true"}
SMB_OPTIONS = ["dir_mode=0777", "file_mode=0777", "mfsymlinks", "cache=strict", "nosharesock", "actimeo=30"]


def file_pv(attrs=None, options=None, driver=doctor.FILE_DRIVER, **csi):
    body = {"driver": driver, "volumeHandle": "rg-data#stdata#docs#pv-docs-shared-docs",
            "volumeAttributes": dict(FILE_ATTRS) if attrs is None else attrs}
    body.update(csi)
    return {"metadata": {"name": "pv-docs-shared-docs"}, "spec": {
        "csi": body, "accessModes": ["ReadWriteMany"], "mountOptions": SMB_OPTIONS if options is None else options}}


def judge_file_pv(volume):
    return doctor.judge_volume(volume, EXPECTED_FILE_PV, "wl", kind=FILE)


def test_file_volume_good():
    result = judge_file_pv(file_pv(options=SMB_OPTIONS + ["vers=3.1.1"]))
    assert_link(result, "persistent_volume", OK)
    assert result["summary"] == "token-only SMB volume on stdata/docs as client " + CLIENT


@pytest.mark.parametrize("volume,phrase", [
    (file_pv({k: v for k, v in FILE_ATTRS.items() if k != "mountWithWorkloadIdentityToken"}),
     "mountWithWorkloadIdentityToken is None, not \"true\" (key mode)"),
    (file_pv(dict(FILE_ATTRS, mountWithWorkloadIdentityToken="True")), "mountWithWorkloadIdentityToken is 'True'"),
    (file_pv(dict(FILE_ATTRS, mountWithWorkloadIdentityToken="1")), "mountWithWorkloadIdentityToken is '1'"),
    (file_pv(dict(FILE_ATTRS, protocol="nfs")), "protocol is nfs: NFS mounts without any identity"),
    (file_pv(dict(FILE_ATTRS, secretName="azure-storage-account-stdata-secret")), "volumeAttributes.secretName"),
    (file_pv(nodeStageSecretRef={"name": "azure-secret", "namespace": "docs"}), "nodeStageSecretRef is set"),
    (file_pv(options=SMB_OPTIONS + ["vers=2.1"]), "mountOptions ['vers=2.1']"),
    (file_pv(options=SMB_OPTIONS + ["vers=1.0"]), "mountOptions ['vers=1.0']"),
    (file_pv(options=["sec=ntlmssp"] + SMB_OPTIONS), "mountOptions ['sec=ntlmssp']"),
    (file_pv(options=SMB_OPTIONS + ["username=stdata"]), "mountOptions ['username=stdata']"),
    (file_pv(dict(FILE_ATTRS, shareName="other")), "shareName is 'other', not 'docs'"),
    (file_pv(dict(FILE_ATTRS, clientID="99999999-9999-9999-9999-999999999999")), "clientID is '9999"),
    (file_pv(driver=doctor.DRIVER), "driver is blob.csi.azure.com, not file.csi.azure.com"),
], ids=["no-token-flag", "token-flag-True", "token-flag-1", "nfs", "secret-name", "node-stage-secret", "smb-2.1",
        "smb-1.0", "sec", "username", "other-share", "other-client", "blob-driver"])
def test_file_volume_problems(volume, phrase):
    result = judge_file_pv(volume)
    assert_link(result, "persistent_volume", FAIL)
    assert phrase in result["summary"]
    assert "immutable" in result["fix"]


def test_file_volume_attribute_keys_are_case_insensitive():
    attrs = {"resourceGroup": "rg-data", "storageAccount": "stdata", "sharename": "docs", "clientid": CLIENT,
             "mountwithworkloadidentitytoken": "true"}
    assert judge_file_pv(file_pv(attrs))["status"] == OK


def test_blob_volume_on_nfs_is_not_token_only():
    result = doctor.judge_volume(pv(dict(GOOD_ATTRS, protocol="nfs")), EXPECTED_PV)
    assert result["status"] == FAIL and "protocol is nfs" in result["summary"]


def job(name, created, state, reason=None, message=None, claim="docs-file"):
    """A batch/v1 Job as the Job controller leaves it (conditions Complete or Failed)."""
    conditions = []
    if state == "complete":
        conditions = [{"type": "SuccessCriteriaMet", "status": "True"}, {"type": "Complete", "status": "True"}]
    elif state == "failed":
        conditions = [{"type": "FailureTarget", "status": "True", "reason": reason, "message": message},
                      {"type": "Failed", "status": "True", "reason": reason, "message": message}]
    status = {"conditions": conditions}
    if state == "complete":
        status.update(succeeded=1, completionTime="2026-11-02T10:00:09Z")
    return {"metadata": {"name": name, "namespace": "docs", "creationTimestamp": created}, "status": status,
            "spec": {"template": {"spec": {"volumes": [{"name": "share", "persistentVolumeClaim": {
                "claimName": claim}}]}}}}


MOUNT_ERROR = ("MountVolume.SetUp failed for volume \"pv-docs-shared-docs\" : rpc error: code = Internal desc = "
               "setCredentialCache failed")


@pytest.mark.parametrize("jobs,events,status,phrase", [
    ([], [], UNKNOWN, "no validation Job mounts claim docs/docs-file"),
    ([job("keyless-validate-shared-docs-1", "2026-11-02T10:00:00Z", "complete")], [], OK,
     "validation Job keyless-validate-shared-docs-1 mounted the share and its probe passed (completed "
     "2026-11-02T10:00:09Z"),
    ([job("v-1", "2026-11-02T10:00:00Z", "running")], [], UNKNOWN, "validation Job v-1 has not finished"),
    ([job("v-1", "2026-11-02T10:00:00Z", "failed", "BackoffLimitExceeded", "Job has reached the specified backoff "
          "limit")], [{"pod": "v-1-abcde", "reason": "FailedMount", "message": MOUNT_ERROR}], FAIL,
     "validation Job v-1 failed: " + MOUNT_ERROR),
    ([job("v-1", "2026-11-02T10:00:00Z", "failed", "BackoffLimitExceeded", "Job has reached the specified backoff "
          "limit")], [{"pod": "other-abcde", "reason": "FailedMount", "message": MOUNT_ERROR}], FAIL,
     "failed: BackoffLimitExceeded: Job has reached the specified backoff limit (its pod's log says why)"),
    ([job("v-old", "2026-11-01T10:00:00Z", "failed", "BackoffLimitExceeded", "x"),
      job("v-new", "2026-11-02T10:00:00Z", "complete")], [], OK, "validation Job v-new mounted"),
], ids=["none", "complete", "running", "failed-mount", "failed-probe", "latest-counts"])
def test_validation_job(jobs, events, status, phrase):
    result = doctor.judge_validation_job(jobs, events, "docs/docs-file", "wl")
    assert_link(result, "probe_data", status)
    assert phrase in result["summary"]
    if status == FAIL:
        assert "site.yml --tags workloads" in result["fix"] and result["evidence"]["cause"]
