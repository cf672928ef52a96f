"""--check on a fresh environment: a parent that an earlier task of the play would create is not an error in check
mode (the task reports what it would write, with a warning naming the parent), and outside check mode it still is.
Real ansible-playbook runs against the sandbox."""

import pytest

from ansible_collections.keyless.aks_storage.plugins.module_utils import rbac

from .playbook import run_playbook
from . import sdk

RG = "rg-fresh"
ACCOUNT = "stkeylessfresh01"
IDENTITY = "id-fresh"
ISSUER = "https://westeurope.oic.prod-aks.azure.com/tenant-guid/cluster-guid/"
ASSUMED = "was not found: this check-mode result assumes an earlier task creates it"
IDENTITY_PARENT = "managed identity %s in resource group %s" % (IDENTITY, RG)
GROUP_PARENT = "resource group %s" % RG
IDENTITY_ERROR = ("managed identity %s was not found in resource group %s; create it first with "
                  "keyless.aks_storage.managed_identity" % (IDENTITY, RG))


def task(title, module, **options):
    return {"name": title, "keyless.aks_storage.%s" % module: options, "register": title.replace(" ", "_")}


def container_reports(role, **principal):
    return dict(storage_account=ACCOUNT, resource_group=RG, container="reports", role=role, **principal)


def chain(app_principal):
    """resource group -> storage account -> identity -> its federated credentials -> its data roles, each task
    needing what the ones before it create (both forms of the modules that have two)."""
    return [
        task("group", "resource_group", name=RG, location="westeurope"),
        task("account", "keyless_storage_account", resource_group=RG, name=ACCOUNT, location="westeurope",
             containers=["reports"]),
        task("identity", "managed_identity", resource_group=RG, name=IDENTITY),  # location: the group's
        task("federation", "federated_credential", resource_group=RG, identity_name=IDENTITY, name="aks-reports",
             issuer=ISSUER, namespace="reports", service_account="writer"),
        task("federation in bulk", "federated_credential", resource_group=RG, identities=[
            {"identity_name": IDENTITY, "credentials": [{"name": "aks-archive", "issuer": ISSUER,
                                                         "namespace": "archive", "service_account": "reader"}]}]),
        task("data role", "role_assignment",
             **container_reports("Storage Blob Data Contributor", identity={"resource_group": RG, "name": IDENTITY})),
        task("data roles in bulk", "role_assignment", assignments=[
            container_reports("Storage Blob Data Reader", identity={"resource_group": RG, "name": IDENTITY}),
            # a principal that exists, on a scope (account and group) not created yet
            container_reports("Storage Blob Data Reader", principal_id=app_principal)]),
    ]


def assumed(result):
    """The check-mode warnings of a result that name a missing parent."""
    return [w for w in result.get("warnings", []) if ASSUMED in w]


def test_fresh_environment_check_then_converge_then_check(sandbox, tmp_path):
    env, app_principal = sandbox.env(), sandbox.conn["app_object_id"]
    tasks = chain(app_principal)
    names = [t["name"] for t in tasks]
    scope = rbac.storage_scope(sandbox.conn["subscription_id"], RG, ACCOUNT, "reports")

    before = sandbox.counters()
    dry = run_playbook(tmp_path, tasks, env, check=True, diff=True)
    assert dry.rc == 0, dry
    out = dry.results
    assert [n for n in names if out[n].get("failed") or out[n].get("changed") is not True] == [], dry
    assert sandbox.counters_delta(before)["writes"] == 0
    assert sandbox.state()["resources"] == []

    assert assumed(out["group"]) == []
    for name in ("account", "identity"):
        assert [GROUP_PARENT in w for w in assumed(out[name])] == [True], (name, out[name].get("warnings"))
    assert out["account"]["changes"] == ["created", "container reports"]
    assert out["identity"]["location"] is None and out["identity"]["principal_id"] is None

    for name in ("federation", "federation in bulk", "data role"):
        assert [IDENTITY_PARENT in w for w in assumed(out[name])] == [True], (name, out[name].get("warnings"))
    assert out["federation"]["created"] == ["aks-reports"]
    assert out["federation"]["diff"]["before"] == {"credentials": []}
    assert [c["subject"] for c in out["federation"]["credentials"]] == ["system:serviceaccount:reports:writer"]
    assert out["federation in bulk"]["identities"][0]["created"] == ["aks-archive"]

    role = out["data role"]
    assert len(role["created"]) == 1 and role["diff"]["before"] == {"assignments": []}
    assert [(a["scope"], a["role_name"], a["principal_id"]) for a in role["assignments"]] == [
        (scope, "Storage Blob Data Contributor", None)]
    roles = out["data roles in bulk"]
    assert len(roles["created"]) == 2
    assert sorted(w.split(" was not found")[0] for w in assumed(roles)) == sorted(
        [IDENTITY_PARENT, "scope %s" % scope])

    run = run_playbook(tmp_path, tasks, env)
    assert run.rc == 0, run
    assert [n for n in names if run.results[n].get("changed") is not True] == [], run
    assert [n for n in names if assumed(run.results[n])] == []
    principal = sdk.msi_client(sandbox.conn).user_assigned_identities.get(RG, IDENTITY).principal_id
    assert run.result("data role")["assignments"][0]["principal_id"] == principal
    assert len(list(sdk.msi_client(sandbox.conn).federated_identity_credentials.list(RG, IDENTITY))) == 2

    before = sandbox.counters()
    again = run_playbook(tmp_path, tasks, env, check=True, diff=True)
    assert again.rc == 0, again
    assert [n for n in names if again.results[n].get("changed") is not False] == [], again
    assert [n for n in names if assumed(again.results[n])] == []
    assert sandbox.counters_delta(before)["writes"] == 0


# Each task alone on a fresh subscription (only the resource group exists where a case says so): in check mode
# changed with a warning naming the parent; without check mode the error it always was, and no write.
IDENTITY_REF = {"resource_group": RG, "name": IDENTITY}
CREDENTIAL = {"name": "aks-x", "issuer": ISSUER, "namespace": "a", "service_account": "b"}
FIC_SINGLE = task("out", "federated_credential", resource_group=RG, identity_name=IDENTITY, **CREDENTIAL)
FIC_BULK = task("out", "federated_credential", identities=[
    {"resource_group": RG, "identity_name": IDENTITY, "credentials": [CREDENTIAL]}])
RA_IDENTITY = task("out", "role_assignment", scope="/subscriptions/{sub}/resourceGroups/" + RG,
                   role="Storage Blob Data Reader", identity=IDENTITY_REF)
RA_SCOPE = task("out", "role_assignment", **container_reports("Storage Blob Data Reader", principal_id="{app}"))
MI = task("out", "managed_identity", resource_group=RG, name=IDENTITY)
SA = task("out", "keyless_storage_account", resource_group=RG, name=ACCOUNT, location="westeurope",
          containers=["reports"])
# case -> (resource group exists, task, parent the check-mode warning names, the error outside check mode)
CASES = {
    "federated_credential single": (True, FIC_SINGLE, IDENTITY_PARENT, IDENTITY_ERROR),
    "federated_credential bulk": (True, FIC_BULK, IDENTITY_PARENT,
                                  "identities[0] (%s/%s): %s" % (RG, IDENTITY, IDENTITY_ERROR)),
    "role_assignment identity": (True, RA_IDENTITY, IDENTITY_PARENT, IDENTITY_ERROR),
    "role_assignment scope": (False, RA_SCOPE, "scope " + rbac.storage_scope("{sub}", RG, ACCOUNT, "reports"),
                              "ResourceGroupNotFound"),
    "managed_identity group": (False, MI, GROUP_PARENT, "ResourceGroupNotFound"),
    "keyless_storage_account group": (False, SA, GROUP_PARENT, "ResourceGroupNotFound"),
}


def filled(value, conn):
    """``value`` with {sub} and {app} replaced by the sandbox's subscription and app principal."""
    if isinstance(value, dict):
        return {k: filled(v, conn) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [filled(v, conn) for v in value]
    if isinstance(value, str):
        return value.replace("{sub}", conn["subscription_id"]).replace("{app}", conn["app_object_id"])
    return value


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_a_missing_parent_is_assumed_in_check_mode_only(sandbox, tmp_path, case):
    group_exists, options, parent, error = filled(CASES[case], sandbox.conn)
    if group_exists:
        sdk.create_resource_group(sandbox.conn, RG)
    before = sandbox.counters()
    dry = run_playbook(tmp_path, [options], sandbox.env(), check=True)
    assert dry.rc == 0, dry
    out = dry.result("out")
    assert out["changed"] is True
    assert [w.split(" was not found")[0] for w in assumed(out)] == [parent], out.get("warnings")
    assert sandbox.counters_delta(before)["writes"] == 0

    run = run_playbook(tmp_path, [options], sandbox.env())
    assert run.rc != 0, run
    assert error in run.result("out")["msg"]
    assert assumed(run.result("out")) == []
    assert [r["type"] for r in sandbox.state()["resources"]] == (
        ["Microsoft.Resources/resourceGroups"] if group_exists else [])
