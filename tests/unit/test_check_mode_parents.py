"""A parent an earlier task would create: assumed in check mode (a warning, once), an error outside it (no
requests; the modules' plans with stand-ins for the module and the SDK)."""

from types import SimpleNamespace

import pytest
from azure.core.exceptions import ResourceNotFoundError

from ansible_collections.keyless.aks_storage.plugins.module_utils import bulk, tagged_resource
from ansible_collections.keyless.aks_storage.plugins.module_utils.azure_module import AzureModule
from ansible_collections.keyless.aks_storage.plugins.module_utils.errors import AzureError, ModuleError
from ansible_collections.keyless.aks_storage.plugins.modules import federated_credential as fc
from ansible_collections.keyless.aks_storage.plugins.modules import role_assignment as ra

ISSUER = "https://westeurope.oic.prod-aks.azure.com/t/c/"
ASSUMED = "was not found: this check-mode result assumes an earlier task creates it"


def module(check_mode, clients=None):
    """An AzureModule without AnsibleModule's argument parsing: check mode, warnings collected, given clients."""
    m = AzureModule.__new__(AzureModule)
    m.check_mode, m.warnings, m.writes, m._assumed_parents = check_mode, [], 0, set()
    m._clients = dict(clients or {})
    m.warn = m.warnings.append
    return m


def not_found(code):
    exc = ResourceNotFoundError("not found")
    exc.error = SimpleNamespace(code=code, message="%s: it could not be found." % code)
    return exc


def raises(exc):
    def fn(*_args, **_kwargs):
        raise exc
    return fn


def test_parent_missing_raises_outside_check_mode_and_warns_once_per_parent_in_it():
    with pytest.raises(ModuleError, match="create it first"):
        module(False).parent_missing("resource group rg-x", ModuleError("create it first"))
    m = module(True)
    for parent in ("resource group rg-x", "Resource group RG-X", "managed identity id-x in resource group rg-x"):
        assert m.parent_missing(parent, ModuleError("create it first")) is None
    assert m.warnings == ["resource group rg-x %s (check mode created nothing)" % ASSUMED,
                          "managed identity id-x in resource group rg-x %s (check mode created nothing)" % ASSUMED]


def test_get_in_group_warns_of_a_missing_group_in_check_mode_only():
    for check_mode in (False, True):
        m = module(check_mode)
        assert m.get_in_group("rg-x", "read identity id-x", raises(not_found("ResourceGroupNotFound"))) is None
        assert m.get_in_group("rg-y", "read identity id-y", raises(not_found("ResourceNotFound"))) is None
        assert m.get_in_group(None, "read identity id-z", raises(not_found("ResourceGroupNotFound"))) is None
        assert [w.split(" was not found")[0] for w in m.warnings] == (["resource group rg-x"] if check_mode else [])
    with pytest.raises(AzureError, match="SubscriptionNotFound"):
        module(True).get_in_group("rg-x", "read identity id-x", raises(not_found("SubscriptionNotFound")))


def test_call_under_is_the_error_outside_check_mode_and_none_in_it():
    with pytest.raises(AzureError, match="ResourceGroupNotFound"):
        module(False).call_under("scope /s", "list role assignments at /s", raises(not_found("ResourceGroupNotFound")))
    m = module(True)
    assert m.call_under("scope /s", "list role assignments at /s", raises(not_found("ResourceGroupNotFound"))) is None
    assert [w.split(" was not found")[0] for w in m.warnings] == ["scope /s"]


def fic_target(label=None):
    desired = fc.desired_from(dict(name="aks-a", issuer=ISSUER, subject=None, namespace="a", service_account="b",
                                   audiences=["api://AzureADTokenExchange"], credentials=None, exclusive=False,
                                   state="present"))
    options = dict(resource_group="rg-x", identity_name="id-x", desired=desired, exclusive=False)
    return bulk.Item(options, label, fc.identity_key(options))


def test_federated_credentials_of_an_identity_not_created_yet():
    fics = SimpleNamespace(list=raises(not_found("ParentResourceNotFound")))
    with pytest.raises(ModuleError, match="managed identity id-x was not found in resource group rg-x; create it "
                                          "first with keyless.aks_storage.managed_identity"):
        fc.plan_identity(module(False), fics, fic_target())
    m = module(True)
    planned = fc.plan_identity(m, fics, fic_target("identities[0] (rg-x/id-x)"))
    assert planned["existing"] == [] and [c["name"] for c in planned["creates"]] == ["aks-a"]
    assert fc.outcome(planned, planned["final"])["changed"] is True
    assert [w.split(" was not found")[0] for w in m.warnings] == ["managed identity id-x in resource group rg-x"]


def assignment(state="present", **principal):
    options = dict(scope="/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-x",
                   storage_account=None, resource_group=None, container=None, role="Storage Blob Data Reader",
                   principal_id=None, identity=None, principal_type="ServicePrincipal", name=None, state=state)
    options.update(principal)
    return bulk.Item(ra.normalize(options, lambda: "00000000-0000-0000-0000-000000000001"))


def test_role_assignment_principal_of_an_identity_not_created_yet():
    msi = SimpleNamespace(user_assigned_identities=SimpleNamespace(get=raises(not_found("ResourceNotFound"))))
    ref = {"resource_group": "rg-x", "name": "id-x"}
    with pytest.raises(ModuleError, match="managed identity id-x was not found in resource group rg-x"):
        ra.principal_of(module(False, {"msi": msi}), {}, assignment(identity=ref))
    assert ra.principal_of(module(False, {"msi": msi}), {}, assignment("absent", identity=ref)) is None
    m = module(True, {"msi": msi})
    item = assignment(identity=ref)
    item.options.update(principal_id=ra.principal_of(m, {}, item), role_guid="g", role_definition_id="/d/g")
    planned = ra.plan(item, [], {})
    assert (planned["action"], planned["name"], planned["after"][0]["principal_id"]) == ("create", None, None)
    assert [w.split(" was not found")[0] for w in m.warnings] == ["managed identity id-x in resource group rg-x"]


@pytest.mark.parametrize("principal,message", [
    ({}, "principal_id or identity is required"),
    ({"principal_id": "11111111-2222-3333-4444-555555555555", "identity": {"resource_group": "rg", "name": "id-x"}},
     "either principal_id or identity"),
    ({"identity": {"resource_group": "rg", "name": "-bad"}}, "identity.name '-bad' is not a valid identity name"),
    ({"identity": {"resource_group": "rg", "name": "id-x"}, "principal_type": "User"}, "is a ServicePrincipal"),
])
def test_role_assignment_needs_one_valid_principal(principal, message):
    with pytest.raises(ra.InvalidAssignment, match=message):
        assignment(**principal)


class Groups(tagged_resource.Operations):
    kind = "thing"


class Identities(tagged_resource.Operations):
    kind = "identity"

    def default_location(self, item):
        return None  # the location of a resource group not created yet (check mode)


def test_a_new_resource_without_location_needs_one_unless_it_is_not_known_yet():
    item = dict(name="x", location=None, tags=None, state="present")
    with pytest.raises(ModuleError, match="location is required to create thing x"):
        tagged_resource.decide(Groups(), item, None)
    planned = tagged_resource.decide(Identities(), item, None)
    assert (planned["action"], planned["location"], planned["after"]["location"]) == ("create", None, None)
