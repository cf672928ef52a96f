import pytest

from ansible_collections.keyless.aks_storage.plugins.module_utils import rbac, retries

SUB = "00000000-0000-0000-0000-000000000001"
OWNER = [{"actions": ["*"], "notActions": []}]
CONTRIBUTOR = [{"actions": ["*"], "notActions": ["Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write"]}]
BLOB_CONTRIBUTOR = [{"actions": ["Microsoft.Storage/storageAccounts/blobServices/containers/read"],
                     "dataActions": ["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*"],
                     "notDataActions": []}]
READER = [{"actions": ["*/read"]}]


@pytest.mark.parametrize("perms,expected", [(OWNER, True), (CONTRIBUTOR, True), (BLOB_CONTRIBUTOR, False),
                                            (READER, False), ([{"actions": ["Microsoft.Storage/storageAccounts/*"]}],
                                                              True)])
def test_permits_list_keys(perms, expected):
    assert rbac.permits(perms, action=rbac.LIST_KEYS_ACTION) is expected


def test_permits_data_actions_and_not_data_actions():
    write = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write"
    assert rbac.permits(BLOB_CONTRIBUTOR, data_action=write)
    assert not rbac.permits(READER, data_action=write)
    denied = [dict(BLOB_CONTRIBUTOR[0], notDataActions=[write])]
    assert not rbac.permits(denied, data_action=write)
    assert rbac.permits(denied, data_action=write.replace("/write", "/read"))


@pytest.mark.parametrize("scope,valid", [
    ("/subscriptions/%s" % SUB, True),
    ("/subscriptions/%s/resourceGroups/rg-1" % SUB, True),
    ("/subscriptions/%s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/sa" % SUB, True),
    ("/subscriptions/%s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/sa/blobServices/default/"
     "containers/c" % SUB, True),
    ("/providers/Microsoft.Management/managementGroups/mg", True),
    ("/", True),
    ("subscriptions/%s" % SUB, False),
    ("/subscriptions/not-a-guid", False),
    ("/subscriptions/%s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts" % SUB, False),
    ("", False),
])
def test_valid_scope(scope, valid):
    assert rbac.valid_scope(scope) is valid


def test_covers_storage():
    assert rbac.covers_storage("/subscriptions/%s" % SUB)
    assert rbac.covers_storage("/subscriptions/%s/resourceGroups/rg" % SUB)
    assert rbac.covers_storage(rbac.storage_scope(SUB, "rg", "sa", "c"))
    assert rbac.covers_storage("/providers/Microsoft.Management/managementGroups/mg")
    assert not rbac.covers_storage("/subscriptions/%s/resourceGroups/rg/providers/Microsoft.ContainerService/"
                                   "managedClusters/aks" % SUB)


def test_role_guid_and_deterministic_names():
    rid = "/subscriptions/%s/providers/Microsoft.Authorization/roleDefinitions/BA92F5B4-2D11-453D-A403-E96B0029C9FE" % SUB
    assert rbac.role_guid(rid) == "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
    assert rbac.role_guid("BA92F5B4-2D11-453D-A403-E96B0029C9FE") == "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
    scope = rbac.storage_scope(SUB, "rg", "sa")
    name = rbac.assignment_name(scope, "ba92f5b4-2d11-453d-a403-e96b0029c9fe", "AAAAAAAA-0000-0000-0000-000000000000")
    assert rbac.is_guid(name)
    assert name == rbac.assignment_name(scope.upper() + "/", "BA92F5B4-2D11-453D-A403-E96B0029C9FE",
                                        "aaaaaaaa-0000-0000-0000-000000000000")
    assert name != rbac.assignment_name(scope, "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
                                        "aaaaaaaa-0000-0000-0000-000000000000")


class _Err(Exception):
    def __init__(self, code):
        super().__init__(code)
        self.error = type("E", (), {"code": code})()


def test_retry_on_codes_retries_then_succeeds_and_is_bounded():
    calls, sleeps = [], []
    clock = iter(range(0, 1000)).__next__

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise _Err("PrincipalNotFound")
        return "ok"

    assert retries.retry_on_codes(flaky, {"PrincipalNotFound"}, timeout=100, sleep=sleeps.append, clock=clock) == "ok"
    assert len(calls) == 3 and len(sleeps) == 2 and sleeps[1] > sleeps[0] * 1.2

    def always():
        raise _Err("PrincipalNotFound")

    with pytest.raises(_Err):
        retries.retry_on_codes(always, {"PrincipalNotFound"}, timeout=5, sleep=lambda s: None, clock=clock)


def test_retry_on_codes_does_not_retry_other_errors():
    calls = []

    def fails():
        calls.append(1)
        raise _Err("AuthorizationFailed")

    with pytest.raises(_Err):
        retries.retry_on_codes(fails, {"PrincipalNotFound"}, timeout=100, sleep=lambda s: None)
    assert calls == [1]


def test_builtin_data_roles_match_the_sandbox_catalogue():
    """The roles known without a lookup carry the same names and control-plane actions as the role catalogue."""
    from sandbox.arm.providers.authorization.builtin_roles import ROLES
    catalogue = {r["id"]: r for r in ROLES}
    for guid, (name, actions) in rbac.BUILTIN_DATA_ROLES.items():
        role = catalogue[guid]
        assert role["roleName"] == name
        assert sorted(role["permissions"][0]["actions"]) == sorted(actions)
        assert not rbac.permits([{"actions": actions}], action=rbac.LIST_KEYS_ACTION)
    assert rbac.builtin_data_role("storage blob data reader")[0] == "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
    assert rbac.builtin_data_role("Storage Account Contributor") is None
