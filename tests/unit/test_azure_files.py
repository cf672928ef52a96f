"""keyless_storage_account's Azure Files logic without requests: file share options, the share plan, SMB OAuth."""

import pytest

from ansible_collections.keyless.aks_storage.plugins.module_utils import azure_files as af
from ansible_collections.keyless.aks_storage.plugins.module_utils.errors import ModuleError
from ansible_collections.keyless.aks_storage.plugins.modules import keyless_storage_account as ksa

AUTH = af.FILES_AUTH


def account(**options):
    params = {key: spec.get("default") for key, spec in ksa.argument_spec().items()}
    params.update(resource_group="rg", name="stfiles", location="westeurope")
    params.update(options)
    return {key: params[key] for key in ksa.ACCOUNT_OPTIONS}


def existing(kind="StorageV2", **props):
    return {"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/stfiles",
            "name": "stfiles", "location": "westeurope", "sku": {"name": "Standard_LRS"}, "kind": kind, "tags": {},
            "properties": dict(ksa.ENFORCED, minimumTlsVersion="TLS1_2", **props)}


def test_shares_take_defaults_and_names():
    assert af.desired_shares(["reports", {"name": "media", "quota": "2048", "access_tier": "Cool"},
                              {"name": "old", "state": "absent", "quota": None}], "StorageV2") == [
        dict(name="reports", quota=100, access_tier=None, state="present"),
        dict(name="media", quota=2048, access_tier="Cool", state="present"),
        dict(name="old", quota=100, access_tier=None, state="absent")]


@pytest.mark.parametrize("shares,kind,message", [
    (["Bad_Name"], "StorageV2", "file_shares[0].name 'Bad_Name' is not a valid file share name"),
    (["a--b"], "StorageV2", "file_shares[0].name 'a--b' is not a valid file share name"),
    (["ok1", {"name": "x"}], "StorageV2", "file_shares[1].name 'x' is not a valid file share name"),
    ([{"name": "big", "quota": 102401}], "StorageV2", "file_shares[0].quota 102401 is out of range: use 1 to 102400"),
    ([{"name": "zero", "quota": 0}], "StorageV2", "file_shares[0].quota 0 is out of range"),
    ([{"name": "small", "quota": 99}], "FileStorage", "use 100 to 102400 (premium FileStorage shares"),
    ([{"name": "tier", "access_tier": "Premium"}], "StorageV2", "file_shares[0].access_tier 'Premium' is not an "
                                                                "access tier of a StorageV2 account"),
    ([{"name": "tier", "access_tier": "Hot"}], "FileStorage", "use Premium"),
    ([{"name": "nfs", "protocol": "NFS"}], "FileStorage", "file_shares[0].protocol NFS: NFS shares are not managed "
                                                          "here: an NFS mount carries no credentials"),
    ([{"name": "dup"}, "dup"], "StorageV2", "file_shares[1].name: file share dup is listed more than once"),
    ([{"name": "keys", "size": 1}], "StorageV2", "file_shares[0]: unknown keys ['size']"),
    ([{"quota": 1}], "StorageV2", "file_shares[0] must be a file share name or a dict with a name"),
    ([{"name": "st", "state": "gone"}], "StorageV2", "file_shares[0].name 'st' is not a valid"),
    ([{"name": "sta", "state": "gone"}], "StorageV2", "file_shares[0].state must be present or absent"),
    (["reports"], "BlockBlobStorage", "file_shares: a BlockBlobStorage account has no file service"),
])
def test_share_problems_name_the_field(shares, kind, message):
    with pytest.raises(ModuleError) as failure:
        af.desired_shares(shares, kind)
    assert message in str(failure.value)


def test_kind_problems():
    assert [p for p in af.kind_problems(account(kind="FileStorage", sku="Premium_LRS")) if p] == []
    problems = [p for p in af.kind_problems(account(kind="FileStorage", containers=["c1a"], blob_soft_delete_days=7,
                                                    large_file_shares=True)) if p]
    assert problems[0].startswith("sku Standard_LRS: a FileStorage account is premium")
    assert "containers: a FileStorage account has no blob service" in problems
    assert any(p.startswith("blob_soft_delete_days") for p in problems)
    assert any(p.startswith("large_file_shares applies to StorageV2") for p in problems)
    assert "smb_oauth: a BlockBlobStorage account has no file service" in af.kind_problems(
        account(kind="BlockBlobStorage", smb_oauth=True))


def share(name, quota=100, tier="TransactionOptimized", protocol="SMB"):
    return dict(name=name, quota=quota, access_tier=tier, protocol=protocol)


def test_share_plan_create_update_noop_delete():
    desired = af.desired_shares(["same", {"name": "grow", "quota": 200}, {"name": "tier", "access_tier": "Hot"},
                                 "new", {"name": "gone", "state": "absent"}, {"name": "never", "state": "absent"}],
                                "StorageV2")
    current = {s["name"]: s for s in (share("same"), share("grow"), share("tier"), share("gone"))}
    plans = af.plan_shares("stfiles", desired, current, "StorageV2", False)
    writes = [("same", None), ("grow", "update"), ("tier", "update"), ("new", "create"), ("gone", "delete"),
              ("never", None)]
    assert [(p["name"], p["write"]) for p in plans] == writes
    assert plans[0]["after"] == share("same")  # an unset tier keeps the share's
    assert plans[2]["after"]["access_tier"] == "Hot"
    assert plans[3]["after"] == share("new", tier=None)


def test_share_plan_refusals():
    with pytest.raises(ModuleError, match=r"file_shares\[0\].quota 6000 is over 5120 GiB.*large_file_shares: true"):
        af.plan_shares("stfiles", af.desired_shares([{"name": "big", "quota": 6000}], "StorageV2"), {}, "StorageV2",
                       False)
    assert af.plan_shares("stfiles", af.desired_shares([{"name": "big", "quota": 6000}], "StorageV2"), {},
                          "StorageV2", True)[0]["write"] == "create"
    with pytest.raises(ModuleError, match=r"file_shares\[0\].protocol: file share old of stfiles exists with "
                                          r"protocol NFS, which cannot change"):
        af.plan_shares("stfiles", af.desired_shares(["old"], "FileStorage"), {"old": share("old", protocol="NFS")},
                       "FileStorage", False)


def test_smb_oauth_default_and_account_plan():
    assert af.wanted_smb_oauth(None, []) is None and af.wanted_smb_oauth(False, [{"state": "present"}]) is False
    assert ksa.smb_oauth_wanted(account(file_shares=["reports"])) is True
    assert ksa.smb_oauth_wanted(account(file_shares=[{"name": "old", "state": "absent"}])) is None

    plan = ksa.plan_account(account(file_shares=["reports"]), None)
    assert plan["body"]["properties"][AUTH] == {"directoryServiceOptions": "None",
                                                "smbOAuthSettings": {"isSmbOAuthEnabled": True}}
    assert ksa.plan_account(account(), None)["body"]["properties"].get(AUTH) is None  # not managed

    plan = ksa.plan_account(account(file_shares=["reports"]), existing())
    assert plan["changes"] == ["properties.%s.smbOAuthSettings.isSmbOAuthEnabled" % AUTH]
    assert plan["body"] == {"properties": {AUTH: {"directoryServiceOptions": "None",
                                                  "smbOAuthSettings": {"isSmbOAuthEnabled": True}}}}
    assert plan["view"]["properties"][AUTH]["smbOAuthSettings"]["isSmbOAuthEnabled"] is True
    enabled = {AUTH: {"directoryServiceOptions": "None", "smbOAuthSettings": {"isSmbOAuthEnabled": True}}}
    assert ksa.plan_account(account(file_shares=["reports"]), existing(**enabled))["write"] is None
    # turned off on request, the identity source left as it is
    plan = ksa.plan_account(account(smb_oauth=False), existing(**enabled))
    assert plan["body"]["properties"][AUTH] == {"directoryServiceOptions": "None",
                                                "smbOAuthSettings": {"isSmbOAuthEnabled": False}}


def test_another_identity_source_is_refused_and_left_alone_when_off():
    ad = {AUTH: {"directoryServiceOptions": "AD", "activeDirectoryProperties": {"domainName": "corp.example"}}}
    with pytest.raises(ModuleError, match="smb_oauth: storage account stfiles has another identity source for Azure "
                                          "Files .azureFilesIdentityBasedAuthentication.directoryServiceOptions AD"):
        ksa.plan_account(account(file_shares=["reports"]), existing(**ad))
    assert ksa.plan_account(account(smb_oauth=False), existing(**ad))["write"] is None


def test_large_file_shares():
    plan = ksa.plan_account(account(large_file_shares=True), existing())
    assert plan["body"] == {"properties": {"largeFileSharesState": "Enabled"}}
    with pytest.raises(ModuleError, match="has large file shares enabled, which cannot be turned off"):
        ksa.plan_account(account(large_file_shares=False), existing(largeFileSharesState="Enabled"))
    assert ksa.plan_account(account(), existing(largeFileSharesState="Enabled"))["write"] is None


def test_auth_model_is_the_sdk_model():
    from azure.mgmt.storage import models
    body = af.auth_body(af.auth_setting(True), None)
    model = af.auth_model(models, body)
    assert isinstance(model, models.AzureFilesIdentityBasedAuthentication)
    assert model.smb_o_auth_settings.is_smb_o_auth_enabled is True and model.directory_service_options == "None"
