"""keyless.aks_storage.keyless_storage_account with Azure Files (file shares, SMB OAuth) through real ansible-playbook
runs against the sandbox; state is checked independently with the real azure-mgmt-storage SDK."""

import pytest

from .playbook import run_playbook
from . import sdk

ACCOUNT_TYPE = "Microsoft.Storage/storageAccounts"
SHARE_TYPE = "Microsoft.Storage/storageAccounts/fileServices/shares"
RG = "rg-files"
NAME = "stkeylessfiles"
SMB_OAUTH_CHANGE = "properties.azureFilesIdentityBasedAuthentication.smbOAuthSettings.isSmbOAuthEnabled"
SHARES = ["reports", {"name": "media", "quota": 1024, "access_tier": "Cool"}]


def sa_task(register="out", **options):
    args = {"resource_group": RG, "name": NAME, "location": "westeurope"}
    args.update(options)
    return {"name": register, "keyless.aks_storage.keyless_storage_account": args, "register": register}


@pytest.fixture
def rg(sandbox):
    sdk.create_resource_group(sandbox.conn, RG)
    return RG


def storage(sandbox):
    return sdk.storage_client(sandbox.conn)


def live_shares(sandbox, name=NAME):
    return {s.name: s for s in storage(sandbox).file_shares.list(RG, name)}


def live_smb_oauth(sandbox, name=NAME):
    auth = storage(sandbox).storage_accounts.get_properties(RG, name).azure_files_identity_based_authentication
    return auth.directory_service_options, bool(auth.smb_o_auth_settings and
                                                auth.smb_o_auth_settings.is_smb_o_auth_enabled)


def set_smb_oauth(sandbox, enabled, name=NAME):
    from azure.mgmt.storage import models
    storage(sandbox).storage_accounts.update(RG, name, models.StorageAccountUpdateParameters(
        azure_files_identity_based_authentication=models.AzureFilesIdentityBasedAuthentication(
            directory_service_options="None",
            smb_o_auth_settings=models.SmbOAuthSettings(is_smb_o_auth_enabled=enabled))))


def test_shares_create_noop_drift_update_and_check_mode(sandbox, rg, tmp_path):
    env = sandbox.env()
    run = run_playbook(tmp_path, [sa_task(file_shares=SHARES)], env, diff=True)
    assert run.rc == 0, run
    out = run.result("out")
    assert out["changes"] == ["created", "file share reports", "file share media"]
    assert out["account"]["smb_oauth"] is True and out["account"]["allow_shared_key_access"] is False
    assert out["file_shares"] == [dict(name="reports", quota=100, access_tier="TransactionOptimized", protocol="SMB"),
                                  dict(name="media", quota=1024, access_tier="Cool", protocol="SMB")]
    assert out["diff"]["after"]["file_shares"] == out["file_shares"] and out["diff"]["before"]["file_shares"] == []
    shares = live_shares(sandbox)
    assert (shares["reports"].share_quota, shares["reports"].enabled_protocols) == (100, "SMB")
    assert (shares["media"].share_quota, shares["media"].access_tier) == (1024, "Cool")
    assert live_smb_oauth(sandbox) == ("None", True)
    assert sandbox.counters()["list_keys"] == 0

    # no-op: the account and one listing of its shares; nothing written
    before = sandbox.counters()
    run = run_playbook(tmp_path, [sa_task(file_shares=SHARES)], env)
    assert run.rc == 0 and run.result("out")["changed"] is False, run
    delta = sandbox.counters_delta(before)
    assert delta["writes"] == 0 and delta["list_keys"] == 0 and delta["reads"] == 2
    assert delta["by_type"][SHARE_TYPE]["reads"] == 1

    # drift behind our back (SMB OAuth off, a quota shrunk, a tier changed) is repaired
    from azure.mgmt.storage import models
    set_smb_oauth(sandbox, False)
    storage(sandbox).file_shares.update(RG, NAME, "reports", models.FileShare(share_quota=50))
    storage(sandbox).file_shares.update(RG, NAME, "media", models.FileShare(access_tier="Hot"))
    before = sandbox.counters()
    run = run_playbook(tmp_path, [sa_task(file_shares=SHARES)], env, diff=True)
    assert run.rc == 0, run
    out = run.result("out")
    assert out["changes"] == [SMB_OAUTH_CHANGE, "file share reports", "file share media"]
    smb = out["diff"]["before"]["account"]["properties"]["azureFilesIdentityBasedAuthentication"]
    assert smb["smbOAuthSettings"]["isSmbOAuthEnabled"] is False
    assert sandbox.counters_delta(before)["writes"] == 3
    assert live_smb_oauth(sandbox) == ("None", True)
    shares = live_shares(sandbox)
    assert shares["reports"].share_quota == 100 and shares["media"].access_tier == "Cool"

    # an update of quota and tier; a share not listed is left alone
    storage(sandbox).file_shares.create(RG, NAME, "theirs", models.FileShare(share_quota=10))
    run = run_playbook(tmp_path, [sa_task(file_shares=[{"name": "reports", "quota": 300, "access_tier": "Hot"}])],
                       env)
    assert run.rc == 0 and run.result("out")["changes"] == ["file share reports"], run
    shares = live_shares(sandbox)
    assert (shares["reports"].share_quota, shares["reports"].access_tier) == (300, "Hot")
    assert set(shares) == {"reports", "media", "theirs"}

    # check mode: a change, a new share and SMB OAuth off are reported, nothing is written
    set_smb_oauth(sandbox, False)
    before = sandbox.counters()
    run = run_playbook(tmp_path, [sa_task(file_shares=[{"name": "reports", "quota": 400}, "newshare"])], env,
                       check=True, diff=True)
    assert run.rc == 0, run
    out = run.result("out")
    assert out["changes"] == [SMB_OAUTH_CHANGE, "file share reports", "file share newshare"]
    assert out["diff"]["after"]["file_shares"][0]["quota"] == 400
    assert sandbox.counters_delta(before)["writes"] == 0
    assert "newshare" not in live_shares(sandbox) and live_smb_oauth(sandbox) == ("None", False)

    # a share removed on request; the others stay
    run = run_playbook(tmp_path, [sa_task(file_shares=[{"name": "media", "state": "absent"}], smb_oauth=True)], env)
    assert run.rc == 0, run
    assert set(live_shares(sandbox)) == {"reports", "theirs"} and live_smb_oauth(sandbox) == ("None", True)


def test_new_account_in_check_mode_makes_no_write(sandbox, rg, tmp_path):
    before = sandbox.counters()
    run = run_playbook(tmp_path, [sa_task(file_shares=SHARES)], sandbox.env(), check=True, diff=True)
    assert run.rc == 0, run
    out = run.result("out")
    assert out["changes"] == ["created", "file share reports", "file share media"]
    assert out["account"]["smb_oauth"] is True and [s["name"] for s in out["file_shares"]] == ["reports", "media"]
    delta = sandbox.counters_delta(before)
    assert delta["writes"] == 0 and delta["by_type"].get(SHARE_TYPE, {}).get("reads", 0) == 0


def test_another_identity_source_is_refused_before_any_write(sandbox, rg, tmp_path):
    from azure.mgmt.storage import models
    ad = models.AzureFilesIdentityBasedAuthentication(
        directory_service_options="AD", active_directory_properties=models.ActiveDirectoryProperties(
            domain_name="corp.example.com", domain_guid="aebfc118-9fa9-4732-a21f-d98e41a77ae1",
            net_bios_domain_name="CORP", forest_name="corp.example.com",
            domain_sid="S-1-5-21-1-2-3", azure_storage_sid="S-1-5-21-1-2-3-4"))
    storage(sandbox).storage_accounts.begin_create(RG, NAME, models.StorageAccountCreateParameters(
        location="westeurope", sku=models.Sku(name="Standard_LRS"), kind="StorageV2", allow_shared_key_access=False,
        azure_files_identity_based_authentication=ad)).result()
    before = sandbox.counters()
    run = run_playbook(tmp_path, [sa_task(file_shares=["reports"])], sandbox.env())
    assert run.rc != 0
    message = run.result("out")["msg"]
    assert ("smb_oauth: storage account %s has another identity source for Azure Files "
            "(azureFilesIdentityBasedAuthentication.directoryServiceOptions AD)" % NAME) in message, run
    assert "files-managed-identities" in message
    assert sandbox.counters_delta(before)["writes"] == 0
    assert live_smb_oauth(sandbox)[0] == "AD" and live_shares(sandbox) == {}


BAD_SHARES = [
    ({"file_shares": ["Bad_Name"]}, "file_shares[0].name 'Bad_Name' is not a valid file share name"),
    ({"file_shares": ["ok-one", {"name": "zero", "quota": 0}]}, "file_shares[1].quota 0 is out of range: use 1 to "
                                                                "102400"),
    ({"file_shares": [{"name": "big", "quota": 200000}]}, "file_shares[0].quota 200000 is out of range"),
    ({"file_shares": [{"name": "prem", "access_tier": "Premium"}]}, "file_shares[0].access_tier 'Premium' is not an "
                                                                    "access tier of a StorageV2 account"),
    ({"kind": "FileStorage", "sku": "Premium_LRS", "file_shares": [{"name": "cool", "access_tier": "Cool"}]},
     "file_shares[0].access_tier 'Cool' is not an access tier of a FileStorage account: use Premium"),
    ({"kind": "FileStorage", "sku": "Premium_LRS", "file_shares": [{"name": "tiny", "quota": 50}]},
     "(premium FileStorage shares are provisioned at 100 GiB or more)"),
    ({"kind": "FileStorage", "sku": "Premium_LRS", "file_shares": [{"name": "nfs", "protocol": "NFS"}]},
     "file_shares[0].protocol NFS: NFS shares are not managed here: an NFS mount carries no credentials"),
    ({"file_shares": ["dup", "dup"]}, "file_shares[1].name: file share dup is listed more than once"),
    ({"file_shares": [{"name": "typo", "quotas": 1}]}, "file_shares[0]: unknown keys ['quotas']"),
    ({"kind": "BlockBlobStorage", "file_shares": ["reports"]}, "a BlockBlobStorage account has no file service"),
    ({"kind": "FileStorage", "file_shares": ["reports"]}, "sku Standard_LRS: a FileStorage account is premium"),
]


@pytest.mark.parametrize("options,message", BAD_SHARES, ids=[m[:40] for _o, m in BAD_SHARES])
def test_bad_shares_are_rejected_before_any_request(sandbox, rg, tmp_path, options, message):
    before = sandbox.counters()
    run = run_playbook(tmp_path, [sa_task(**options)], sandbox.env())
    assert run.rc != 0
    assert message in run.result("out")["msg"], run
    delta = sandbox.counters_delta(before)
    assert delta["writes"] == 0 and delta["reads"] == 0


def test_quota_over_the_standard_limit_needs_large_file_shares(sandbox, rg, tmp_path):
    big = [{"name": "big", "quota": 10240}]
    before = sandbox.counters()
    run = run_playbook(tmp_path, [sa_task(file_shares=big)], sandbox.env())
    assert run.rc != 0
    assert ("file_shares[0].quota 10240 is over 5120 GiB, the limit of a standard share without large file shares"
            in run.result("out")["msg"]), run
    assert sandbox.counters_delta(before)["writes"] == 0
    run = run_playbook(tmp_path, [sa_task(file_shares=big, large_file_shares=True)], sandbox.env())
    assert run.rc == 0, run
    assert run.result("out")["account"]["large_file_shares"] is True
    assert live_shares(sandbox)["big"].share_quota == 10240


def test_premium_file_storage_account(sandbox, rg, tmp_path):
    task = sa_task(kind="FileStorage", sku="Premium_LRS", file_shares=[{"name": "fast", "quota": 100}])
    run = run_playbook(tmp_path, [task], sandbox.env())
    assert run.rc == 0, run
    assert live_shares(sandbox)["fast"].access_tier == "Premium" and live_smb_oauth(sandbox) == ("None", True)
    before = sandbox.counters()
    assert run_playbook(tmp_path, [task], sandbox.env()).result("out")["changed"] is False
    assert sandbox.counters_delta(before)["writes"] == 0


def test_bulk_form_converges_shares_per_account(sandbox, rg, tmp_path):
    items = [{"name": "stfilesone", "file_shares": ["reports"]}, {"name": "stfilestwo", "containers": ["blobs"]}]
    task = {"name": "out", "register": "out", "keyless.aks_storage.keyless_storage_account": {
        "resource_group": RG, "location": "westeurope", "accounts": items}}
    run = run_playbook(tmp_path, [task], sandbox.env())
    assert run.rc == 0, run
    one, two = run.result("out")["accounts"]
    assert one["file_shares"][0]["name"] == "reports" and one["account"]["smb_oauth"] is True
    assert "file_shares" not in two and two["account"]["smb_oauth"] is False  # not managed without shares
    assert set(live_shares(sandbox, "stfilesone")) == {"reports"}
    before = sandbox.counters()
    run = run_playbook(tmp_path, [task], sandbox.env())
    assert run.rc == 0 and run.result("out")["changed"] is False, run
    assert sandbox.counters_delta(before)["writes"] == 0
