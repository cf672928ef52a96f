"""keyless.aks_storage.keyless_storage_account through real ansible-playbook runs against the sandbox."""

import pytest

from .playbook import run_playbook
from . import sdk

ACCOUNT_TYPE = "Microsoft.Storage/storageAccounts"
CONTAINER_TYPE = "Microsoft.Storage/storageAccounts/blobServices/containers"
RG = "rg-storage"
NAME = "stkeylessdemo"


def sa_task(register="out", **options):
    args = {"resource_group": RG, "name": NAME}
    args.update(options)
    return {"name": register, "keyless.aks_storage.keyless_storage_account": args, "register": register}


@pytest.fixture
def rg(sandbox):
    sdk.create_resource_group(sandbox.conn, RG)
    return RG


def live_account(sandbox, name=NAME):
    return sdk.storage_client(sandbox.conn).storage_accounts.get_properties(RG, name).as_dict()


def live_containers(sandbox):
    return {c.name: c.as_dict() for c in sdk.storage_client(sandbox.conn).blob_containers.list(RG, NAME)}


FULL = dict(location="westeurope", containers=["reports", {"name": "archive", "metadata": {"owner": "finance"}}],
            blob_soft_delete_days=7, tags={"env": "test"})


def test_create_noop_drift_check_mode_absent(sandbox, rg, tmp_path):
    env = sandbox.env()
    run = run_playbook(tmp_path, [sa_task(**FULL)], env, diff=True)
    assert run.rc == 0, run
    out = run.result("out")
    assert out["changed"] is True
    account = out["account"]
    assert account["allow_shared_key_access"] is False
    assert account["allow_blob_public_access"] is False
    assert account["https_only"] is True
    assert account["default_to_oauth_authentication"] is True
    assert account["allow_cross_tenant_replication"] is False
    assert account["minimum_tls_version"] == "TLS1_2"
    assert account["primary_blob_endpoint"].startswith("https://%s.blob." % NAME)
    assert sorted(c["name"] for c in out["containers"]) == ["archive", "reports"]
    props = live_account(sandbox)["properties"]
    assert props["allowSharedKeyAccess"] is False and props["defaultToOAuthAuthentication"] is True
    assert live_containers(sandbox)["archive"]["properties"]["metadata"] == {"owner": "finance"}
    assert sandbox.counters()["list_keys"] == 0

    # no-op: account, blob service and container listing read once each; nothing written
    before = sandbox.counters()
    run = run_playbook(tmp_path, [sa_task(**FULL)], env)
    assert run.result("out")["changed"] is False, run
    delta = sandbox.counters_delta(before)
    assert delta["writes"] == 0 and delta["list_keys"] == 0
    assert delta["reads"] == 3
    assert delta["by_type"][ACCOUNT_TYPE]["reads"] == 1

    # drift: shared key access turned back on, a container made public, its metadata edited
    sandbox.merge_resource(account["id"], {"properties": {"allowSharedKeyAccess": True}})
    sandbox.merge_resource(account["id"] + "/blobServices/default/containers/archive",
                           {"properties": {"publicAccess": "Blob", "metadata": {"owner": "mallory"}}})
    run = run_playbook(tmp_path, [sa_task(**FULL)], env, diff=True)
    assert run.rc == 0, run
    out = run.result("out")
    assert out["changed"] is True
    assert "properties.allowSharedKeyAccess" in out["changes"] and "container archive" in out["changes"]
    assert out["diff"]["before"]["account"]["properties"]["allowSharedKeyAccess"] is True
    assert out["diff"]["after"]["account"]["properties"]["allowSharedKeyAccess"] is False
    assert live_account(sandbox)["properties"]["allowSharedKeyAccess"] is False
    archive = live_containers(sandbox)["archive"]["properties"]
    assert archive["metadata"] == {"owner": "finance"} and archive.get("publicAccess") in (None, "None")

    # check mode: a change is reported but nothing is written
    before = sandbox.counters()
    run = run_playbook(tmp_path, [sa_task(**{**FULL, "minimum_tls_version": "TLS1_3", "containers": ["reports", "new"]})],
                       env, check=True, diff=True)
    assert run.result("out")["changed"] is True, run
    assert sandbox.counters_delta(before)["writes"] == 0
    assert "new" not in live_containers(sandbox)

    run = run_playbook(tmp_path, [sa_task(state="absent")], env)
    assert run.result("out")["changed"] is True, run
    run = run_playbook(tmp_path, [sa_task(state="absent")], env)
    assert run.result("out")["changed"] is False, run
    assert sandbox.counters()["list_keys"] == 0


def test_account_made_elsewhere_with_keys_on_is_corrected(sandbox, rg, tmp_path):
    # An account created without the keyless settings: Azure reports allowSharedKeyAccess as null (= allowed).
    sdk.storage_client(sandbox.conn).storage_accounts.begin_create(RG, NAME, {
        "location": "westeurope", "sku": {"name": "Standard_LRS"}, "kind": "StorageV2"}).result()
    run = run_playbook(tmp_path, [sa_task()], sandbox.env(), diff=True)
    assert run.rc == 0, run
    assert "properties.allowSharedKeyAccess" in run.result("out")["changes"]
    assert live_account(sandbox)["properties"]["allowSharedKeyAccess"] is False


def test_new_account_check_mode_makes_no_write(sandbox, rg, tmp_path):
    before = sandbox.counters()
    run = run_playbook(tmp_path, [sa_task(**FULL)], sandbox.env(), check=True, diff=True)
    assert run.rc == 0, run
    assert run.result("out")["changed"] is True
    assert run.result("out")["account"]["allow_shared_key_access"] is False
    assert sandbox.counters_delta(before)["writes"] == 0


def test_network_rules_and_soft_delete_off(sandbox, rg, tmp_path):
    acls = {"default_action": "Deny", "bypass": "Metrics, AzureServices", "ip_rules": ["203.0.113.0/24"]}
    task = sa_task(location="westeurope", network_acls=acls, public_network_access="Enabled", blob_soft_delete_days=0)
    run = run_playbook(tmp_path, [task], sandbox.env())
    assert run.rc == 0, run
    assert run.result("out")["account"]["network_acls"]["defaultAction"] == "Deny"
    before = sandbox.counters()
    run = run_playbook(tmp_path, [task], sandbox.env())
    assert run.result("out")["changed"] is False, run
    assert sandbox.counters_delta(before)["writes"] == 0


def test_transient_faults_are_survived(sandbox, rg, tmp_path):
    sandbox.add_fault(method="GET", path="storageaccounts/%s$" % NAME, status=429, code="TooManyRequests",
                      message="throttled", count=1, retry_after="1")
    sandbox.add_fault(method="PUT", path="storageaccounts/%s$" % NAME, status=500, code="InternalServerError",
                      message="oops", count=2)
    run = run_playbook(tmp_path, [sa_task(location="westeurope", containers=["reports"])], sandbox.env())
    assert run.rc == 0, run
    assert sandbox.counters()["faults_injected"] == 3
    assert "reports" in live_containers(sandbox)


def test_failed_long_running_operation_is_reported(sandbox, rg, tmp_path):
    sandbox.add_fault(method="PUT", path="storageaccounts/%s$" % NAME, lro_fail=True, code="InternalError",
                      message="provisioning failed", count=1)
    run = run_playbook(tmp_path, [sa_task(location="westeurope")], sandbox.env())
    assert run.rc != 0
    assert "create storage account %s" % NAME in run.result("out")["msg"]


def test_name_taken_elsewhere(sandbox, rg, tmp_path):
    sdk.create_resource_group(sandbox.conn, "rg-other")
    sdk.create_keyless_account(sandbox.conn, "rg-other", NAME)
    run = run_playbook(tmp_path, [sa_task(location="westeurope")], sandbox.env())
    assert run.rc != 0
    assert "StorageAccountInAnotherResourceGroup" in run.result("out")["msg"]
    # a name held by another customer somewhere in Azure
    sandbox.configure(storage_names_taken_elsewhere=["stkeylesstaken"])
    run = run_playbook(tmp_path, [sa_task(name="stkeylesstaken", location="westeurope")], sandbox.env())
    assert run.rc != 0
    assert "StorageAccountAlreadyTaken" in run.result("out")["msg"]


BAD_INPUTS = [
    ({"name": "StKeyless"}, "not a valid storage account name"),
    ({"name": "st"}, "not a valid storage account name"),
    ({"name": "st-keyless"}, "not a valid storage account name"),
    ({"containers": [{"name": "pub", "public_access": "Blob"}]}, "never serves anonymous reads"),
    ({"containers": ["Bad_Name"]}, "container name 'Bad_Name' is invalid"),
    ({"containers": ["a--b"]}, "container name 'a--b' is invalid"),
    ({"containers": ["dup", "dup"]}, "listed more than once"),
    ({"containers": [{"name": "meta", "metadata": {"n": 1}}]}, "must be a dict of strings"),
    ({"containers": [{"nom": "x"}]}, "must be a container name or a dict with a name"),
    ({"blob_soft_delete_days": 400}, "between 0 (off) and 365"),
]


@pytest.mark.parametrize("options,message", BAD_INPUTS, ids=[m for _o, m in BAD_INPUTS])
def test_bad_input_is_rejected_before_any_request(sandbox, rg, tmp_path, options, message):
    before = sandbox.counters()
    run = run_playbook(tmp_path, [sa_task(**dict({"location": "westeurope"}, **options))], sandbox.env())
    assert run.rc != 0
    assert message in run.result("out")["msg"]
    delta = sandbox.counters_delta(before)
    assert delta["writes"] == 0 and delta["reads"] == 0


def test_kind_and_location_cannot_change(sandbox, rg, tmp_path):
    assert run_playbook(tmp_path, [sa_task(location="westeurope")], sandbox.env()).rc == 0
    before = sandbox.counters()
    run = run_playbook(tmp_path, [sa_task(location="westeurope", kind="BlockBlobStorage")], sandbox.env())
    assert "its kind cannot change" in run.result("out")["msg"], run
    run = run_playbook(tmp_path, [sa_task(location="eastus")], sandbox.env())
    assert "cannot move to eastus" in run.result("out")["msg"], run
    assert sandbox.counters_delta(before)["writes"] == 0
