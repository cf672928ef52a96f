"""keyless.aks_storage.keyless_storage_account through real ansible-playbook runs against the sandbox."""

import pytest

from .playbook import run_playbook
from . import sdk

pytestmark = pytest.mark.long_running  # minutes of playbooks: scheduled first

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
    assert account["primary_blob_endpoint"] == sandbox.conn["arm_url"] + "_storage/%s/blob/" % NAME  # sandbox itself
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


# ---- bulk form: many accounts in one task ----------------------------------------------------------------------
ONE, TWO = "stbulkone", "stbulktwo"
BULK_ITEMS = [
    {"name": ONE, "containers": ["reports", {"name": "archive", "metadata": {"owner": "finance"}}]},
    {"name": TWO, "sku": "Standard_ZRS", "tags": {"team": "ml"}, "containers": ["features", "models"]},
]
# Top-level values are the defaults of the items that do not set them.
BULK_DEFAULTS = dict(resource_group=RG, location="westeurope", blob_soft_delete_days=7, tags={"env": "test"})


def bulk_task(accounts, register="out", **options):
    args = dict(BULK_DEFAULTS, accounts=accounts)
    args.update(options)
    return {"name": register, "keyless.aks_storage.keyless_storage_account": args, "register": register}


def writes_to(sandbox, since, name):
    """The write requests (PUT/PATCH/DELETE/POST) the sandbox logged since index ``since`` for account ``name``."""
    marker = "/storageaccounts/%s" % name
    return [r for r in sandbox.requests(since) if r["method"] != "GET"
            and (r["path"].lower() + "/").find(marker + "/") >= 0]


def log_index(sandbox):
    return len(sandbox.requests())


def single_form_noop_reads(sandbox, tmp_path, env):
    """Reads of one no-op single-form run for an account with containers and soft delete (the per-account cost)."""
    options = dict(BULK_DEFAULTS, containers=["reports", "archive"])
    task = sa_task(name="stbulkref", **options)
    assert run_playbook(tmp_path, [task], env).rc == 0
    before = sandbox.counters()
    run = run_playbook(tmp_path, [task], env)
    assert run.result("out")["changed"] is False, run
    delta = sandbox.counters_delta(before)
    assert delta["writes"] == 0
    return delta["reads"]


def test_bulk_create_noop_drift_and_check_mode(sandbox, rg, tmp_path):
    env = sandbox.env()
    per_account_reads = single_form_noop_reads(sandbox, tmp_path, env)
    assert per_account_reads == 3  # account, blob service, container listing

    # (1) two accounts, two containers each, one task: one token, never listKeys
    before = sandbox.counters()
    run = run_playbook(tmp_path, [bulk_task(BULK_ITEMS)], env, diff=True)
    assert run.rc == 0, run
    delta = sandbox.counters_delta(before)
    assert delta["token_requests"] == 1
    assert delta["list_keys"] == 0
    out = run.result("out")
    assert out["changed"] is True
    assert [a["account"]["name"] for a in out["accounts"]] == [ONE, TWO]
    for entry in out["accounts"]:
        assert set(entry) == {"account", "containers", "changes", "changed"}
        assert entry["changed"] is True and "created" in entry["changes"]
        assert entry["account"]["allow_shared_key_access"] is False
        assert len(entry["containers"]) == 2
    assert "account" not in out and "changes" not in out
    assert sorted(out["diff"]["after"]) == ["%s/%s" % (RG, ONE), "%s/%s" % (RG, TWO)]
    assert out["diff"]["before"]["%s/%s" % (RG, ONE)]["account"] is None
    storage = sdk.storage_client(sandbox.conn)
    one, two = live_account(sandbox, ONE), live_account(sandbox, TWO)
    assert one["properties"]["allowSharedKeyAccess"] is False and two["properties"]["allowSharedKeyAccess"] is False
    # top-level defaults apply where an item sets nothing; an item's own value replaces them
    assert one["sku"]["name"] == "Standard_LRS" and two["sku"]["name"] == "Standard_ZRS"
    assert one["tags"] == {"env": "test"} and two["tags"] == {"team": "ml"}
    for name in (ONE, TWO):
        assert storage.blob_services.get_service_properties(RG, name).delete_retention_policy.days == 7
    assert {c.name for c in storage.blob_containers.list(RG, ONE)} == {"reports", "archive"}
    assert {c.name for c in storage.blob_containers.list(RG, TWO)} == {"features", "models"}

    # (2) re-run: nothing written, reads = 2 x the single form's no-op reads
    before = sandbox.counters()
    run = run_playbook(tmp_path, [bulk_task(BULK_ITEMS)], env)
    assert run.rc == 0, run
    out = run.result("out")
    assert out["changed"] is False, run
    assert [a["changed"] for a in out["accounts"]] == [False, False]
    assert [a["changes"] for a in out["accounts"]] == [[], []]
    delta = sandbox.counters_delta(before)
    assert delta["writes"] == 0 and delta["list_keys"] == 0
    assert delta["reads"] == 2 * per_account_reads
    assert delta["by_type"][ACCOUNT_TYPE]["reads"] == 2
    assert delta["token_requests"] == 1

    # (5) drift on one account is repaired; the other is not written to
    sandbox.merge_resource(one["id"], {"properties": {"allowSharedKeyAccess": True}})
    since = log_index(sandbox)
    before = sandbox.counters()
    run = run_playbook(tmp_path, [bulk_task(BULK_ITEMS)], env, diff=True)
    assert run.rc == 0, run
    delta = sandbox.counters_delta(before)
    assert delta["writes"] == 1 and delta["reads"] == 2 * per_account_reads and delta["list_keys"] == 0
    out = run.result("out")
    assert out["changed"] is True
    assert out["accounts"][0]["changes"] == ["properties.allowSharedKeyAccess"]
    assert out["accounts"][1]["changed"] is False and out["accounts"][1]["changes"] == []
    key_one = "%s/%s" % (RG, ONE)
    assert out["diff"]["before"][key_one]["account"]["properties"]["allowSharedKeyAccess"] is True
    assert out["diff"]["after"][key_one]["account"]["properties"]["allowSharedKeyAccess"] is False
    assert live_account(sandbox, ONE)["properties"]["allowSharedKeyAccess"] is False
    assert len(writes_to(sandbox, since, ONE)) == 1
    assert writes_to(sandbox, since, TWO) == []

    # (4) check mode: changes on both accounts and a new third one are reported, nothing is written
    items = [dict(BULK_ITEMS[0], minimum_tls_version="TLS1_3"),
             dict(BULK_ITEMS[1], containers=["features", "models", "new"]),
             {"name": "stbulkthree", "containers": ["reports"]}]
    before = sandbox.counters()
    run = run_playbook(tmp_path, [bulk_task(items)], env, check=True, diff=True)
    assert run.rc == 0, run
    out = run.result("out")
    assert out["changed"] is True
    assert [a["changed"] for a in out["accounts"]] == [True, True, True]
    assert out["accounts"][0]["changes"] == ["properties.minimumTlsVersion"]
    assert out["accounts"][1]["changes"] == ["container new"]
    assert out["accounts"][2]["account"]["id"] is None
    delta = sandbox.counters_delta(before)
    assert delta["writes"] == 0 and delta["list_keys"] == 0
    assert "new" not in {c.name for c in storage.blob_containers.list(RG, TWO)}
    assert live_account(sandbox, ONE)["properties"]["minimumTlsVersion"] == "TLS1_2"

    # state absent per item; the other account is left as it is
    before = sandbox.counters()
    run = run_playbook(tmp_path, [bulk_task([{"name": ONE, "state": "absent"}, BULK_ITEMS[1]])], env)
    assert run.rc == 0, run
    out = run.result("out")
    assert out["accounts"][0] == {"account": {}, "containers": [], "changes": ["deleted"], "changed": True}
    assert out["accounts"][1]["changed"] is False
    assert sandbox.counters_delta(before)["writes"] == 1
    assert sandbox.counters()["list_keys"] == 0


def test_bulk_check_mode_on_new_accounts_makes_no_write(sandbox, rg, tmp_path):
    before = sandbox.counters()
    run = run_playbook(tmp_path, [bulk_task(BULK_ITEMS)], sandbox.env(), check=True, diff=True)
    assert run.rc == 0, run
    out = run.result("out")
    assert out["changed"] is True
    assert [a["changes"] for a in out["accounts"]] == [["created", "blob_soft_delete", "container reports",
                                                        "container archive"],
                                                       ["created", "blob_soft_delete", "container features",
                                                        "container models"]]
    delta = sandbox.counters_delta(before)
    assert delta["writes"] == 0 and delta["list_keys"] == 0
    assert delta["by_type"][ACCOUNT_TYPE]["reads"] == 2


BAD_SECOND_ITEMS = [
    ({"name": "St-Bulk"}, "accounts[1] (%s/St-Bulk): name 'St-Bulk' is not a valid storage account name" % RG),
    ({"name": ONE}, "accounts[1] (%s/%s): storage account %s is listed more than once (also accounts[0]"
     % (RG, ONE, ONE)),
    ({"name": TWO, "containers": ["Bad_Name"]}, "accounts[1] (%s/%s): containers[0]: container name 'Bad_Name'"
     % (RG, TWO)),
    ({"name": TWO, "blob_soft_delete_days": 400}, "accounts[1] (%s/%s): blob_soft_delete_days must be between"
     % (RG, TWO)),
    ({"name": TWO, "resource_group": "rg-elsewhere", "location": "eastus"},
     "accounts[1] (rg-elsewhere/%s): storage account %s is in westeurope and cannot move to eastus" % (TWO, TWO)),
]


@pytest.mark.parametrize("second,message", BAD_SECOND_ITEMS,
                         ids=["bad-name", "duplicate-name", "bad-container", "soft-delete-days", "location"])
def test_bulk_bad_second_account_fails_naming_it_before_any_write(sandbox, rg, tmp_path, second, message):
    sdk.create_resource_group(sandbox.conn, "rg-elsewhere")
    sdk.create_keyless_account(sandbox.conn, "rg-elsewhere", TWO)  # in westeurope
    before = sandbox.counters()
    run = run_playbook(tmp_path, [bulk_task([BULK_ITEMS[0], second])], sandbox.env())
    assert run.rc != 0
    assert message in run.result("out")["msg"], run
    delta = sandbox.counters_delta(before)
    assert delta["writes"] == 0 and delta["list_keys"] == 0
    with pytest.raises(Exception):  # the valid first account was not created either
        live_account(sandbox, ONE)


def test_bulk_and_single_form_are_exclusive_and_resource_group_is_needed(sandbox, rg, tmp_path):
    run = run_playbook(tmp_path, [bulk_task(BULK_ITEMS, name=NAME)], sandbox.env())
    assert run.rc != 0 and "mutually exclusive" in run.result("out")["msg"], run
    task = bulk_task(BULK_ITEMS)
    del task["keyless.aks_storage.keyless_storage_account"]["resource_group"]
    before = sandbox.counters()
    run = run_playbook(tmp_path, [task], sandbox.env())
    assert run.rc != 0
    assert "accounts[0] (%s): resource_group is required for storage account %s" % (ONE, ONE) in \
        run.result("out")["msg"], run
    assert sandbox.counters_delta(before)["reads"] == 0


def test_bulk_write_failure_names_the_account_and_returns_those_done(sandbox, rg, tmp_path):
    sandbox.add_fault(method="PUT", path="storageaccounts/%s$" % TWO, lro_fail=True, code="InternalError",
                      message="provisioning failed", count=1)
    run = run_playbook(tmp_path, [bulk_task(BULK_ITEMS)], sandbox.env())
    assert run.rc != 0
    out = run.result("out")
    assert "accounts[1] (%s/%s): " % (RG, TWO) in out["msg"] and "create storage account %s" % TWO in out["msg"]
    assert out["changed"] is True
    assert [a["account"]["name"] for a in out["accounts"]] == [ONE]


def test_a_name_taken_elsewhere_fails_alone_and_the_other_accounts_converge(sandbox, rg, tmp_path):
    sandbox.configure(storage_names_taken_elsewhere=[ONE])
    run = run_playbook(tmp_path, [bulk_task(BULK_ITEMS)], sandbox.env())
    assert run.rc != 0
    out = run.result("out")
    assert out["msg"].startswith("1 of 2 items failed, the others were converged: accounts[0] (%s/%s): " % (RG, ONE))
    assert "StorageAccountAlreadyTaken" in out["msg"] and "choose another name" in out["msg"]
    assert out["failed_items"] == ["accounts[0] (%s/%s)" % (RG, ONE)] and out["changed"] is True
    assert out["written"] == ["accounts[1] (%s/%s)" % (RG, TWO)]
    assert [a["account"]["name"] for a in out["accounts"]] == [TWO]
    storage = sdk.storage_client(sandbox.conn)
    assert [a.name for a in storage.storage_accounts.list_by_resource_group(RG)] == [TWO]
