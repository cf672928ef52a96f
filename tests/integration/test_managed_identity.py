"""keyless.aks_storage.managed_identity through real ansible-playbook runs against the sandbox."""

import pytest

from .playbook import run_playbook
from . import sdk

IDENTITY_TYPE = "Microsoft.ManagedIdentity/userAssignedIdentities"
RG = "rg-identity"


def identity_task(name="id-app", register="out", **options):
    args = {"resource_group": RG, "name": name}
    args.update(options)
    return {"name": register, "keyless.aks_storage.managed_identity": args, "register": register}


@pytest.fixture
def rg(sandbox):
    sdk.create_resource_group(sandbox.conn, RG, "westeurope")
    return RG


def test_create_rerun_drift_check_mode_and_absent(sandbox, rg, tmp_path):
    env = sandbox.env()

    # create
    run = run_playbook(tmp_path, [identity_task(location="West Europe", tags={"app": "reports"})], env, diff=True)
    assert run.rc == 0, run
    created = run.result("out")
    assert created["changed"] is True
    assert created["location"] == "westeurope"
    assert created["diff"]["before"] == {}
    assert created["diff"]["after"]["tags"] == {"app": "reports"}
    for key in ("client_id", "principal_id", "tenant_id"):
        assert len(created[key]) == 36, key
    assert created["id"].lower().endswith("/resourcegroups/%s/providers/microsoft.managedidentity/"
                                          "userassignedidentities/id-app" % rg)
    assert created["tenant_id"] == sandbox.conn["tenant_id"]
    live = sdk.msi_client(sandbox.conn).user_assigned_identities.get(rg, "id-app")
    assert (live.client_id, live.tags) == (created["client_id"], {"app": "reports"})

    # re-run: no change, zero writes, one read of the identity
    before = sandbox.counters()
    run = run_playbook(tmp_path, [identity_task(location="westeurope", tags={"app": "reports"})], env)
    assert run.rc == 0, run
    assert run.result("out")["changed"] is False
    assert run.result("out")["client_id"] == created["client_id"]
    delta = sandbox.counters_delta(before)
    assert delta["writes"] == 0
    assert delta["by_type"][IDENTITY_TYPE]["reads"] == 1
    assert delta["list_keys"] == 0

    # drift behind the module's back: a tag value changed and an extra tag added
    sandbox.merge_resource(created["id"], {"tags": {"app": "tampered", "owner": "someone"}})
    before = sandbox.counters()
    run = run_playbook(tmp_path, [identity_task(tags={"app": "reports"})], env, diff=True)
    assert run.rc == 0, run
    repaired = run.result("out")
    assert repaired["changed"] is True
    assert repaired["diff"]["before"]["tags"] == {"app": "tampered", "owner": "someone"}
    assert repaired["diff"]["after"]["tags"] == {"app": "reports", "owner": "someone"}
    assert sandbox.counters_delta(before)["writes"] == 1
    assert sdk.msi_client(sandbox.conn).user_assigned_identities.get(rg, "id-app").tags == {
        "app": "reports", "owner": "someone"}

    # append_tags=false purges the extra tag
    run = run_playbook(tmp_path, [identity_task(tags={"app": "reports"}, append_tags=False)], env)
    assert run.result("out")["changed"] is True, run
    assert run.result("out")["tags"] == {"app": "reports"}

    # check mode: reports the change, writes nothing
    before = sandbox.counters()
    run = run_playbook(tmp_path, [identity_task(tags={"app": "other"}), identity_task(name="id-new", register="new")],
                       env, check=True, diff=True)
    assert run.rc == 0, run
    assert run.result("out")["changed"] is True
    assert run.result("out")["diff"]["after"]["tags"] == {"app": "other"}
    assert run.result("new")["changed"] is True
    assert run.result("new")["client_id"] is None
    assert sandbox.counters_delta(before)["writes"] == 0
    assert sdk.msi_client(sandbox.conn).user_assigned_identities.get(rg, "id-app").tags == {"app": "reports"}

    # absent, then absent again is a no-op
    run = run_playbook(tmp_path, [identity_task(state="absent")], env, diff=True)
    assert run.result("out")["changed"] is True, run
    assert run.result("out")["diff"]["after"] == {}
    before = sandbox.counters()
    run = run_playbook(tmp_path, [identity_task(state="absent")], env)
    assert run.result("out")["changed"] is False, run
    assert sandbox.counters_delta(before)["writes"] == 0
    assert [i.name for i in sdk.msi_client(sandbox.conn).user_assigned_identities.list_by_resource_group(rg)] == []


def test_location_defaults_to_the_resource_group(sandbox, tmp_path):
    sdk.create_resource_group(sandbox.conn, "rg-north", "northeurope")
    run = run_playbook(tmp_path, [{"name": "out", "register": "out", "keyless.aks_storage.managed_identity": {
        "resource_group": "rg-north", "name": "id-north"}}], sandbox.env())
    assert run.rc == 0, run
    assert run.result("out")["location"] == "northeurope"


def test_throttling_429_with_retry_after_is_survived(sandbox, rg, tmp_path):
    sandbox.add_fault(method="PUT", path="userassignedidentities/id-throttled", status=429, code="TooManyRequests",
                      message="Too many requests", count=2, retry_after="1")
    run = run_playbook(tmp_path, [identity_task(name="id-throttled", location="westeurope")], sandbox.env())
    assert run.rc == 0, run
    assert run.result("out")["changed"] is True
    assert sandbox.counters()["faults_injected"] == 2
    assert sdk.msi_client(sandbox.conn).user_assigned_identities.get(rg, "id-throttled").location == "westeurope"


def test_persistent_server_error_fails_with_code_and_hint(sandbox, rg, tmp_path):
    sandbox.add_fault(method="PUT", path="userassignedidentities/id-broken", status=500, code="InternalServerError",
                      message="Something broke", count=20, retry_after="0.1")
    run = run_playbook(tmp_path, [identity_task(name="id-broken", location="westeurope")], sandbox.env())
    assert run.rc != 0
    result = run.result("out")
    assert result["failed"] is True
    assert "InternalServerError" in result["msg"] and "hint:" in result["msg"]
    assert result["status_code"] == 500


def test_wrong_secret_fails_clearly_without_leaking_it(sandbox, rg, tmp_path):
    env = dict(sandbox.env(), AZURE_SECRET="not-the-secret-1234")
    before = sandbox.counters()
    run = run_playbook(tmp_path, [identity_task(location="westeurope")], env)
    assert run.rc != 0
    result = run.result("out")
    assert "AADSTS7000215" in result["msg"]
    assert "auth_source" in result["hint"]
    assert "not-the-secret-1234" not in run.stdout + run.stderr
    delta = sandbox.counters_delta(before)
    assert delta["reads"] == delta["writes"] == 0
    assert delta["unauthorized"] == 0  # nothing reached ARM without a token


def test_missing_resource_group_fails_with_hint(sandbox, tmp_path):
    run = run_playbook(tmp_path, [{"name": "out", "register": "out", "keyless.aks_storage.managed_identity": {
        "resource_group": "rg-missing", "name": "id-x", "location": "westeurope"}}], sandbox.env())
    assert run.rc != 0
    assert "ResourceGroupNotFound" in run.result("out")["msg"]
    assert "keyless.aks_storage.resource_group" in run.result("out")["msg"]


def test_bad_name_is_rejected_before_any_request(sandbox, rg, tmp_path):
    before = sandbox.counters()
    run = run_playbook(tmp_path, [identity_task(name="x", location="westeurope")], sandbox.env())
    assert run.rc != 0
    assert "not a valid identity name" in run.result("out")["msg"]
    delta = sandbox.counters_delta(before)
    assert delta["reads"] == delta["writes"] == delta["token_requests"] == 0


def test_moving_an_identity_is_refused(sandbox, rg, tmp_path):
    assert run_playbook(tmp_path, [identity_task(location="westeurope")], sandbox.env()).rc == 0
    before = sandbox.counters()
    run = run_playbook(tmp_path, [identity_task(location="eastus")], sandbox.env())
    assert run.rc != 0
    assert "cannot move to eastus" in run.result("out")["msg"]
    assert sandbox.counters_delta(before)["writes"] == 0


def test_arm_root_url_as_cloud_environment(sandbox, rg, tmp_path):
    env = dict(sandbox.env(), AZURE_CLOUD_ENVIRONMENT=sandbox.conn["arm_url"])
    run = run_playbook(tmp_path, [identity_task(location="westeurope")], env)
    assert run.rc == 0, run
    assert run.result("out")["changed"] is True


def test_module_defaults_group(sandbox, rg, tmp_path):
    """The action group lets a play set the auth options once for every Azure module."""
    env = {k: v for k, v in sandbox.env().items() if not k.startswith("AZURE_SECRET")}
    play = {"module_defaults": {"group/keyless.aks_storage.azure": {"secret": sandbox.conn["client_secret"]}}}
    run = run_playbook(tmp_path, [identity_task(location="westeurope")], env, play=play)
    assert run.rc == 0, run


def test_workload_identity_auth_needs_no_secret(sandbox, rg, tmp_path):
    issuer = sandbox.conn["oidc_issuer_base"].rstrip("/") + "/automation/"
    subject = "system:serviceaccount:awx:runner"
    sandbox.add_app_federated_credential(issuer=issuer, subject=subject, audiences=["api://AzureADTokenExchange"])
    token_file = tmp_path / "sa-token"
    token_file.write_text(sandbox.mint_sa_token(issuer=issuer, subject=subject))
    env = {k: v for k, v in sandbox.env().items() if k != "AZURE_SECRET"}
    env.update(ANSIBLE_AZURE_AUTH_SOURCE="workload_identity", AZURE_FEDERATED_TOKEN_FILE=str(token_file))
    run = run_playbook(tmp_path, [identity_task(location="westeurope")], env)
    assert run.rc == 0, run
    assert run.result("out")["changed"] is True

    # a token for another service account is refused by Entra with the real error code
    token_file.write_text(sandbox.mint_sa_token(issuer=issuer, subject="system:serviceaccount:awx:other"))
    run = run_playbook(tmp_path, [identity_task(location="westeurope")], env)
    assert run.rc != 0
    assert "AADSTS700213" in run.result("out")["msg"]


def test_managed_identity_auth_source_msi(sandbox, rg, tmp_path):
    """auth_source=msi through the App Service style endpoint (IDENTITY_ENDPOINT), served by the sandbox."""
    env = {k: v for k, v in sandbox.env().items() if k not in ("AZURE_SECRET", "AZURE_CLIENT_ID")}
    env.update(ANSIBLE_AZURE_AUTH_SOURCE="msi", IDENTITY_ENDPOINT=sandbox.conn["msi_endpoint"],
               IDENTITY_HEADER=sandbox.conn["msi_identity_header"])
    before = sandbox.counters()
    run = run_playbook(tmp_path, [identity_task(location="westeurope")], env)
    assert run.rc == 0, run
    assert run.result("out")["changed"] is True
    assert sandbox.counters_delta(before)["token_requests"] >= 1


def bulk_task(identities, register="out", **options):
    args = {"resource_group": RG, "identities": identities}
    args.update(options)
    return {"name": register, "keyless.aks_storage.managed_identity": args, "register": register}


def test_bulk_converges_many_identities_in_one_process(sandbox, rg, tmp_path):
    env = sandbox.env()
    names = ["id-w%02d" % i for i in range(6)]
    before = sandbox.counters()
    run = run_playbook(tmp_path, [bulk_task([{"name": n} for n in names], tags={"env": "dev"})], env, diff=True)
    assert run.rc == 0, run
    out = run.result("out")
    assert out["changed"] is True
    assert [i["name"] for i in out["identities"]] == names
    assert all(i["changed"] and len(i["client_id"]) == 36 and i["resource_group"] == RG for i in out["identities"])
    assert set(out["diff"]["after"]) == {"%s/%s" % (RG, n) for n in names}
    delta = sandbox.counters_delta(before)
    # one process: one token; 6 reads + one read of the group's region (shared by all six); 6 writes
    assert delta["token_requests"] == 1
    # 6 identities + their resource group's location + one listing of the subscription's locations (creates only)
    assert (delta["reads"], delta["writes"]) == (8, 6)

    before = sandbox.counters()
    run = run_playbook(tmp_path, [bulk_task([{"name": n} for n in names], tags={"env": "dev"})], env)
    assert run.rc == 0 and run.result("out")["changed"] is False, run
    delta = sandbox.counters_delta(before)
    assert (delta["reads"], delta["writes"], delta["token_requests"]) == (6, 0, 1)

    # one item removed, one with its own tags, in check mode: reported, not written
    items = [{"name": names[0], "state": "absent"}, {"name": names[1], "tags": {"env": "prod"}}]
    before = sandbox.counters()
    run = run_playbook(tmp_path, [bulk_task(items)], env, check=True)
    assert run.rc == 0, run
    assert [i["changed"] for i in run.result("out")["identities"]] == [True, True]
    assert sandbox.counters_delta(before)["writes"] == 0
    run = run_playbook(tmp_path, [bulk_task(items)], env)
    assert run.rc == 0, run
    msi = sdk.msi_client(sandbox.conn).user_assigned_identities
    assert sorted(i.name for i in msi.list_by_resource_group(RG)) == names[1:]
    assert msi.get(RG, names[1]).tags == {"env": "prod"}


def test_bulk_refuses_before_any_write(sandbox, rg, tmp_path):
    sdk.create_identity(sandbox.conn, RG, "id-here", location="westeurope")
    before = sandbox.counters()
    # the third item asks an existing identity to move region: refused, and the first two are not created either
    run = run_playbook(tmp_path, [bulk_task([{"name": "id-new1"}, {"name": "id-new2"},
                                             {"name": "id-here", "location": "northeurope"}])], sandbox.env())
    assert run.rc != 0
    assert "identity id-here is in westeurope and cannot move to northeurope" in run.failure_messages
    assert sandbox.counters_delta(before)["writes"] == 0

    run = run_playbook(tmp_path, [bulk_task([{"name": "id-ok"}, {"name": "x"}])], sandbox.env())
    assert run.rc != 0 and "identities[1] (rg-identity/x): name 'x' is not a valid identity name" in run.failure_messages
    run = run_playbook(tmp_path, [bulk_task([{"name": "id-a"}, {"name": "ID-A"}])], sandbox.env())
    assert run.rc != 0 and "listed twice" in run.failure_messages
    assert sandbox.counters_delta(before)["writes"] == 0


def test_info_lists_each_group_once_and_reports_missing_identities(sandbox, rg, tmp_path):
    msi = sdk.msi_client(sandbox.conn)
    made = [msi.user_assigned_identities.create_or_update(RG, name, {"location": "westeurope", "tags": {"n": name}})
            for name in ("id-info-a", "id-info-b")]
    wanted = [{"name": "ID-INFO-B"}, {"name": "id-info-gone"}, {"name": "id-info-a"},
              {"resource_group": "rg-info-missing", "name": "id-info-a"}]
    before = sandbox.counters()
    task = {"name": "out", "register": "out",
            "keyless.aks_storage.managed_identity_info": {"resource_group": RG, "identities": wanted}}
    run = run_playbook(tmp_path, [task], sandbox.env(), check=True)
    assert run.rc == 0, run
    out = run.result("out")
    assert out["changed"] is False
    found = out["identities"]
    assert [(i["name"], i["exists"]) for i in found] == [("id-info-b", True), ("id-info-gone", False),
                                                         ("id-info-a", True), ("id-info-a", False)]
    assert (found[0]["client_id"], found[0]["principal_id"]) == (made[1].client_id, made[1].principal_id)
    assert found[2]["tags"] == {"n": "id-info-a"} and found[2]["resource_group"] == RG
    assert found[1]["client_id"] is None and found[3]["resource_group"] == "rg-info-missing"
    delta = sandbox.counters_delta(before)
    assert delta["writes"] == 0
    assert delta["by_type"][IDENTITY_TYPE]["reads"] == 2  # one listing per resource group, not one read per identity

    task["keyless.aks_storage.managed_identity_info"] = {"resource_group": RG}
    run = run_playbook(tmp_path, [task], sandbox.env())
    assert sorted(i["name"] for i in run.result("out")["identities"]) == ["id-info-a", "id-info-b"]

    task["keyless.aks_storage.managed_identity_info"] = {"identities": [{"name": "id-info-a"}]}
    run = run_playbook(tmp_path, [task], sandbox.env())
    assert run.rc != 0 and run.result("out")["msg"] == (
        "identities[0] (id-info-a): resource_group is required (set it on the item or at the top level)")
