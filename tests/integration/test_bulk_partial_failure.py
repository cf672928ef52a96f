"""Every bulk module, fault injected on item 3 of 5: items 1-2 reported written, 3 failed with its label, 4-5 not
attempted, ``changed`` true, only items 1-2 in Azure, and a re-run converges the rest (a third run changes nothing).

The fault is a non-retryable 400 on item 3's write only (the sandbox matches the request path), answered once.
"""

import pytest

from ansible_collections.keyless.aks_storage.plugins.module_utils import rbac

from .playbook import run_playbook
from . import sdk

RG = "rg-partial"
ISSUER = "https://westeurope.oic.prod-aks.azure.com/00000000-0000-0000-0000-000000000000/partial/"
INDEXES = range(1, 6)


def task(module, options):
    return {"name": "out", "keyless.aks_storage.%s" % module: options, "register": "out"}


class Case:
    """One bulk module: its task, the labels of its items, the path of item 3's write and how to read Azure."""

    def __init__(self, module, options, labels, fault_path, live, per_item=None, setup=None):
        self.module, self.options, self.labels, self.fault_path = module, options, labels, fault_path
        self.live = live  # conn -> list of the item indexes (1-5) that exist in Azure
        self.per_item = per_item  # result -> [changed of each item], when the module returns one entry per item
        self.setup = setup


def groups_live(conn):
    names = {g.name for g in sdk.resource_client(conn).resource_groups.list()}
    return [i for i in INDEXES if "rg-part-%d" % i in names]


def identities_live(conn):
    names = {i.name for i in sdk.msi_client(conn).user_assigned_identities.list_by_resource_group(RG)}
    return [i for i in INDEXES if "id-part-%d" % i in names]


def accounts_live(conn):
    names = {a.name for a in sdk.storage_client(conn).storage_accounts.list_by_resource_group(RG)}
    return [i for i in INDEXES if "stpartial%d" % i in names]


def credentials_live(identity_names):
    def live(conn):
        fics = sdk.msi_client(conn).federated_identity_credentials
        names = {c.name for identity in identity_names for c in fics.list(RG, identity)}
        return [i for i in INDEXES if "cred-%d" % i in names]
    return live


def assignments_live(principal):
    def live(conn):
        auth = sdk.authorization_client(conn)
        scope = rbac.storage_scope(conn["subscription_id"], RG, "stpartialrbac")
        found = [a.scope.lower() for a in auth.role_assignments.list_for_scope(
            scope, filter="principalId eq '%s'" % principal())]
        return [i for i in INDEXES if any(s.endswith("/containers/cont%d" % i) for s in found)]
    return live


def fic_item(i):
    return dict(name="cred-%d" % i, issuer=ISSUER, namespace="ns%d" % i, service_account="sa")


def setup_identities(names):
    def setup(conn):
        for name in names:
            sdk.create_identity(conn, RG, name)
    return setup


PRINCIPAL = {}


def setup_rbac(conn):
    sdk.create_keyless_account(conn, RG, "stpartialrbac", containers=["cont%d" % i for i in INDEXES])
    PRINCIPAL["id"] = sdk.create_identity(conn, RG, "id-part-rbac").principal_id


CASES = {
    "resource_group": Case(
        "resource_group", {"location": "westeurope", "resource_groups": [{"name": "rg-part-%d" % i} for i in INDEXES]},
        ["resource_groups[%d] (rg-part-%d)" % (i - 1, i) for i in INDEXES], "resourcegroups/rg-part-3$", groups_live,
        per_item=lambda out: [r["changed"] for r in out["resource_groups"]]),
    "managed_identity": Case(
        "managed_identity", {"resource_group": RG, "identities": [{"name": "id-part-%d" % i} for i in INDEXES]},
        ["identities[%d] (%s/id-part-%d)" % (i - 1, RG, i) for i in INDEXES], "userassignedidentities/id-part-3$",
        identities_live, per_item=lambda out: [r["changed"] for r in out["identities"]]),
    "keyless_storage_account": Case(
        "keyless_storage_account", {"resource_group": RG, "location": "westeurope",
                                    "accounts": [{"name": "stpartial%d" % i} for i in INDEXES]},
        ["accounts[%d] (%s/stpartial%d)" % (i - 1, RG, i) for i in INDEXES], "storageaccounts/stpartial3$",
        accounts_live, per_item=lambda out: [r["changed"] for r in out["accounts"]]),
    "federated_credential (one identity)": Case(
        "federated_credential", {"resource_group": RG, "identity_name": "id-part-fic",
                                 "credentials": [fic_item(i) for i in INDEXES]},
        ["credentials[%d] (cred-%d)" % (i - 1, i) for i in INDEXES], "federatedidentitycredentials/cred-3$",
        credentials_live(["id-part-fic"]), setup=setup_identities(["id-part-fic"])),
    "federated_credential (identities)": Case(
        "federated_credential", {"resource_group": RG, "identities": [
            {"identity_name": "id-part-%d" % i, "credentials": [fic_item(i)]} for i in INDEXES]},
        ["identities[%d] (%s/id-part-%d)" % (i - 1, RG, i) for i in INDEXES], "federatedidentitycredentials/cred-3$",
        credentials_live(["id-part-%d" % i for i in INDEXES]),
        per_item=lambda out: [r["changed"] for r in out["identities"]],
        setup=setup_identities(["id-part-%d" % i for i in INDEXES])),
    "role_assignment": Case(
        "role_assignment", None,
        ["assignments[%d] (%s/stpartialrbac/cont%d)" % (i - 1, RG, i) for i in INDEXES],
        "containers/cont3/providers/microsoft.authorization/roleassignments/",
        assignments_live(lambda: PRINCIPAL["id"]), setup=setup_rbac),
}


def options_of(case):
    if case.module != "role_assignment":
        return case.options
    return {"assignments": [dict(storage_account="stpartialrbac", resource_group=RG, container="cont%d" % i,
                                 role="Storage Blob Data Contributor", principal_id=PRINCIPAL["id"])
                            for i in INDEXES]}


@pytest.mark.parametrize("name", list(CASES))
def test_fault_on_item_3_of_5_reports_the_partial_result_and_a_rerun_converges(sandbox, tmp_path, name):
    case = CASES[name]
    sdk.create_resource_group(sandbox.conn, RG)
    if case.setup:
        case.setup(sandbox.conn)
    sandbox.add_fault(method="PUT", path=case.fault_path, status=400, code="BadRequest", message="injected", count=1)

    env = dict(sandbox.env(), ANSIBLE_DISPLAY_TRACEBACK="error")
    run = run_playbook(tmp_path, [task(case.module, options_of(case))], env)
    assert run.rc != 0, run
    out = run.result("out")
    assert out["msg"].startswith(case.labels[2] + ": Failed to "), out["msg"]
    assert "BadRequest: injected" in out["msg"] and out["error_code"] == "BadRequest" and out["status_code"] == 400
    assert "Traceback" in out["exception"] and "HttpResponseError" in out["exception"]
    assert out["changed"] is True
    assert (out["written"], out["unchanged"]) == (case.labels[:2], [])
    assert out["failed"] is True and out["failed_item"] == case.labels[2]
    assert out["not_attempted"] == case.labels[3:]
    assert case.live(sandbox.conn) == [1, 2]
    if case.per_item:
        assert case.per_item(out) == [True, True]  # the entries of the items done

    before = sandbox.counters()
    run = run_playbook(tmp_path, [task(case.module, options_of(case))], sandbox.env())
    assert run.rc == 0, run
    out = run.result("out")
    if case.per_item:
        assert case.per_item(out) == [False, False, True, True, True]
    else:
        assert len(out["created"]) == 3
    assert case.live(sandbox.conn) == [1, 2, 3, 4, 5]
    assert sandbox.counters_delta(before)["writes"] >= 3

    before = sandbox.counters()
    run = run_playbook(tmp_path, [task(case.module, options_of(case))], sandbox.env())
    assert run.rc == 0 and run.result("out")["changed"] is False, run
    assert sandbox.counters_delta(before)["writes"] == 0
