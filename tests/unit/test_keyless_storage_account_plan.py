"""keyless_storage_account: the bulk form's option resolution and the per-account plan (no requests)."""

import pytest

from ansible_collections.keyless.aks_storage.plugins.module_utils import bulk
from ansible_collections.keyless.aks_storage.plugins.module_utils.errors import ModuleError as Failed
from ansible_collections.keyless.aks_storage.plugins.modules import keyless_storage_account as ksa


def as_item(label, fn, *args):
    """Run ``fn(*args)`` as the bulk driver does for an item labelled ``label`` (None: the single form)."""
    return bulk.plan_all([bulk.Item({}, label)], lambda _item: fn(*args))[0]


def validate(p, label=None, warnings=None):
    return as_item(label, ksa.validate, p, (warnings if warnings is not None else []).append)


def top_level(**options):
    """Module params as Ansible hands them over: every option present, the single form's defaults applied."""
    params = {key: spec.get("default") for key, spec in ksa.argument_spec().items()}
    params.update(options)
    return params


def account(**options):
    params = top_level(resource_group="rg", name="stkeyless", location="westeurope")
    params.update(options)
    return {key: params[key] for key in ksa.ACCOUNT_OPTIONS}


def test_items_have_no_defaults_so_top_level_values_apply():
    spec = ksa.argument_spec()
    items = spec["accounts"]["options"]
    assert set(items) == set(ksa.ACCOUNT_OPTIONS)
    assert [k for k, v in items.items() if "default" in v] == []
    assert items["name"].get("required") is True and not spec["name"].get("required")
    assert {k: spec[k]["default"] for k in ksa.SINGLE_FORM_DEFAULTS} == ksa.SINGLE_FORM_DEFAULTS
    # the same option types and choices at both levels
    for key in ksa.ACCOUNT_OPTIONS:
        assert items[key].get("choices") == spec[key].get("choices")
        assert items[key]["type"] == spec[key]["type"]


def test_item_value_then_top_level_value_then_single_form_default():
    top = top_level(resource_group="rg-top", location="westeurope", tags={"env": "dev"}, blob_soft_delete_days=7,
                    accounts=[{"name": "stone"},
                              {"name": "sttwo", "resource_group": "rg-two", "sku": "Standard_ZRS", "tags": {"a": "b"},
                               "append_tags": False, "containers": [], "blob_soft_delete_days": 0}])
    targets = ksa.targets_of(top)
    assert [t.label for t in targets] == ["accounts[0] (rg-top/stone)", "accounts[1] (rg-two/sttwo)"]
    one, two = targets[0].options, targets[1].options
    assert one == dict(resource_group="rg-top", name="stone", location="westeurope", sku="Standard_LRS",
                       kind="StorageV2", access_tier=None, minimum_tls_version="TLS1_2", public_network_access=None,
                       network_acls=None, tags={"env": "dev"}, append_tags=True, containers=[],
                       blob_soft_delete_days=7, file_shares=[], smb_oauth=None, large_file_shares=None,
                       state="present")
    # values an item sets win, even falsy ones (false, [], 0)
    assert (two["resource_group"], two["sku"], two["tags"]) == ("rg-two", "Standard_ZRS", {"a": "b"})
    assert (two["append_tags"], two["containers"], two["blob_soft_delete_days"]) == (False, [], 0)


def test_single_form_has_one_unlabelled_target():
    targets = ksa.targets_of(top_level(resource_group="rg", name="stkeyless"))
    assert len(targets) == 1 and targets[0].label is None
    assert targets[0]["name"] == "stkeyless" and targets[0]["sku"] == "Standard_LRS"


@pytest.mark.parametrize("options,message", [
    ({"name": "St-Bad"}, "accounts[1] (rg/x): name 'St-Bad' is not a valid storage account name"),
    ({"resource_group": None}, "accounts[1] (rg/x): resource_group is required for storage account stkeyless"),
    ({"blob_soft_delete_days": -1}, "accounts[1] (rg/x): blob_soft_delete_days must be between 0 (off) and 365"),
    ({"containers": ["okay", "okay"]}, "accounts[1] (rg/x): containers[1]: container okay is listed more than once"),
])
def test_validate_names_the_bulk_item(options, message):
    with pytest.raises(Failed) as failure:
        validate(account(**options), "accounts[1] (rg/x)")
    assert str(failure.value).startswith(message)


def test_validate_messages_of_the_single_form_are_unprefixed():
    with pytest.raises(Failed, match="^name 'St-Bad' is not a valid"):
        validate(account(name="St-Bad"))
    containers = validate(account(containers=["a1b", {"name": "c2d", "state": "absent"}]))
    assert containers == [dict(name="a1b", metadata=None, state="present"),
                          dict(name="c2d", metadata=None, state="absent")]


def existing(**props):
    return {"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/stkeyless",
            "name": "stkeyless", "location": "westeurope", "sku": {"name": "Standard_LRS"}, "kind": "StorageV2",
            "tags": {"env": "dev"}, "properties": dict(ksa.ENFORCED, minimumTlsVersion="TLS1_2", **props)}


def test_plan_create_update_noop_delete():
    plan = ksa.plan_account(account(tags={"env": "dev"}), None)
    assert plan["write"] == "create" and plan["changes"] == ["created"]
    assert plan["body"]["properties"]["allowSharedKeyAccess"] is False and plan["body"]["location"] == "westeurope"

    assert ksa.plan_account(account(), existing()) == dict(write=None, body=None, view=ksa.account_view(existing()),
                                                           changes=[])

    plan = ksa.plan_account(account(tags={"team": "ml"}), existing(allowSharedKeyAccess=True))
    assert plan["write"] == "update"
    assert plan["changes"] == ["properties.allowSharedKeyAccess", "tags"]
    assert plan["body"] == {"properties": {"allowSharedKeyAccess": False}, "tags": {"env": "dev", "team": "ml"}}
    assert plan["view"]["properties"]["allowSharedKeyAccess"] is False

    assert ksa.plan_account(account(state="absent"), existing())["write"] == "delete"
    nothing = dict(write=None, body=None, view=None, changes=[])
    assert ksa.plan_account(account(state="absent"), None) == nothing


@pytest.mark.parametrize("options,current,message", [
    ({"location": None}, None, "location is required to create storage account stkeyless"),
    ({"location": "East US"}, existing(), "storage account stkeyless is in westeurope and cannot move to eastus"),
    ({"kind": "BlockBlobStorage"}, existing(), "its kind cannot change to BlockBlobStorage"),
])
def test_plan_refuses_what_cannot_converge(options, current, message):
    with pytest.raises(Failed, match="^accounts\\[0\\] \\(rg/stkeyless\\): .*" + message.replace("(", "\\(")):
        as_item("accounts[0] (rg/stkeyless)", ksa.plan_account, account(**options), current)
