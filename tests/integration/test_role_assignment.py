"""keyless.aks_storage.role_assignment through real ansible-playbook runs against the sandbox."""

import uuid

import pytest

from ansible_collections.keyless.aks_storage.plugins.module_utils import rbac

from .playbook import run_playbook
from . import sdk

RA_TYPE = "Microsoft.Authorization/roleAssignments"
RG = "rg-rbac"
ACCOUNT = "stkeylessrbac"
BLOB_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
BLOB_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"


def ra_task(register="out", **options):
    return {"name": register, "keyless.aks_storage.role_assignment": options, "register": register}


def container_scope(sandbox, container="reports"):
    return rbac.storage_scope(sandbox.conn["subscription_id"], RG, ACCOUNT, container)


def assignments_at(sandbox, scope, principal):
    auth = sdk.authorization_client(sandbox.conn)
    return [a for a in auth.role_assignments.list_for_scope(scope, filter="principalId eq '%s'" % principal)
            if rbac.same_scope(a.scope, scope)]


@pytest.fixture
def principal(sandbox):
    sdk.create_resource_group(sandbox.conn, RG)
    sdk.create_keyless_account(sandbox.conn, RG, ACCOUNT, containers=["reports", "archive"])
    return sdk.create_identity(sandbox.conn, RG, "id-rbac").principal_id


def test_lifecycle_container_scope(sandbox, principal, tmp_path):
    env = sandbox.env()
    task = ra_task(storage_account=ACCOUNT, resource_group=RG, container="reports",
                   role="Storage Blob Data Contributor", principal_id=principal)
    run = run_playbook(tmp_path, [task], env, diff=True)
    assert run.rc == 0, run
    out = run.result("out")
    assert out["changed"] is True and len(out["created"]) == 1
    made = out["assignments"][0]
    scope = container_scope(sandbox)
    assert made["name"] == rbac.assignment_name(scope, BLOB_CONTRIBUTOR, principal)
    assert made["role_name"] == "Storage Blob Data Contributor"
    assert out["diff"]["before"] == {"assignments": []}
    live = assignments_at(sandbox, scope, principal)
    assert [rbac.role_guid(a.role_definition_id) for a in live] == [BLOB_CONTRIBUTOR]
    assert live[0].principal_type == "ServicePrincipal"

    # no-op: one filtered listing, zero writes (a built-in blob data role needs no role-definition lookup)
    before = sandbox.counters()
    run = run_playbook(tmp_path, [task], env)
    assert run.result("out")["changed"] is False, run
    delta = sandbox.counters_delta(before)
    assert delta["writes"] == 0
    assert delta["by_type"][RA_TYPE]["reads"] == 1
    assert delta["reads"] == 1
    assert delta["list_keys"] == 0

    # drift: the assignment was deleted behind the module's back
    auth = sdk.authorization_client(sandbox.conn)
    auth.role_assignments.delete(scope, made["name"])
    run = run_playbook(tmp_path, [task], env)
    assert len(run.result("out")["created"]) == 1, run
    assert len(assignments_at(sandbox, scope, principal)) == 1

    # check mode: revoking is reported, nothing written
    before = sandbox.counters()
    absent = ra_task(storage_account=ACCOUNT, resource_group=RG, container="reports",
                     role="Storage Blob Data Contributor", principal_id=principal, state="absent")
    run = run_playbook(tmp_path, [absent], env, check=True)
    assert run.result("out")["changed"] is True and len(run.result("out")["deleted"]) == 1, run
    assert sandbox.counters_delta(before)["writes"] == 0
    assert len(assignments_at(sandbox, scope, principal)) == 1

    run = run_playbook(tmp_path, [absent], env)
    assert len(run.result("out")["deleted"]) == 1, run
    assert assignments_at(sandbox, scope, principal) == []
    before = sandbox.counters()
    run = run_playbook(tmp_path, [absent], env)
    assert run.result("out")["changed"] is False, run
    assert sandbox.counters_delta(before)["writes"] == 0


def test_assignment_made_by_another_tool_counts_as_present(sandbox, principal, tmp_path):
    scope = container_scope(sandbox)
    sub = sandbox.conn["subscription_id"]
    role_id = "/subscriptions/%s/providers/Microsoft.Authorization/roleDefinitions/%s" % (sub, BLOB_READER)
    sdk.authorization_client(sandbox.conn).role_assignments.create(scope.upper(), str(uuid.uuid4()), {
        "properties": {"roleDefinitionId": role_id, "principalId": principal, "principalType": "ServicePrincipal"}})
    before = sandbox.counters()
    # role given by GUID this time, scope given as a full id in another case
    run = run_playbook(tmp_path, [ra_task(scope=scope.lower(), role=BLOB_READER, principal_id=principal.upper())],
                       sandbox.env())
    assert run.rc == 0, run
    assert run.result("out")["changed"] is False
    assert sandbox.counters_delta(before)["writes"] == 0


def test_role_assignment_exists_conflict_counts_as_present(sandbox, principal, tmp_path):
    sandbox.add_fault(method="PUT", path="roleassignments/", status=409, code="RoleAssignmentExists",
                      message="The role assignment already exists.", count=1)
    run = run_playbook(tmp_path, [ra_task(storage_account=ACCOUNT, resource_group=RG, role="Storage Blob Data Reader",
                                          principal_id=principal)], sandbox.env())
    assert run.rc == 0, run
    assert len(run.result("out")["created"]) == 0
    assert sandbox.counters()["faults_injected"] == 1


def test_principal_not_found_is_retried_until_replicated(sandbox, tmp_path):
    sdk.create_resource_group(sandbox.conn, RG)
    sdk.create_keyless_account(sandbox.conn, RG, ACCOUNT, containers=["reports"])
    # counted, not timed: the first 2 writes naming the new principal are refused, however slow the machine
    sandbox.configure(principal_propagation_writes=2)
    fresh = sdk.create_identity(sandbox.conn, RG, "id-fresh").principal_id
    run = run_playbook(tmp_path, [ra_task(storage_account=ACCOUNT, resource_group=RG, container="reports",
                                          role="Storage Blob Data Contributor", principal_id=fresh)], sandbox.env())
    assert run.rc == 0, run
    assert len(run.result("out")["created"]) == 1
    rejected = [r for r in sandbox.requests() if r["method"] == "PUT" and r["status"] == 400]
    assert len(rejected) == 2  # retried exactly past the replication delay


def test_principal_that_never_appears_fails_with_advice(sandbox, principal, tmp_path):
    ghost = str(uuid.uuid4())
    run = run_playbook(tmp_path, [ra_task(storage_account=ACCOUNT, resource_group=RG, role="Storage Blob Data Reader",
                                          principal_id=ghost, principal_propagation_timeout=3)], sandbox.env())
    assert run.rc != 0
    msg = run.result("out")["msg"]
    assert "PrincipalNotFound" in msg and "principal_propagation_timeout" in msg


def test_a_principal_that_never_appears_fails_alone_in_a_bulk_task(sandbox, principal, tmp_path):
    """Its failure is its own: the independent assignments after it are still made, and the task fails at the end
    naming it; a re-run with the principal fixed converges the rest."""
    ghost = str(uuid.uuid4())
    items = [{"storage_account": ACCOUNT, "resource_group": RG, "container": c, "role": "Storage Blob Data Reader",
              "principal_id": p} for c, p in (("reports", principal), ("archive", ghost), ("archive", principal))]
    run = run_playbook(tmp_path, [ra_task(assignments=items, principal_propagation_timeout=2)], sandbox.env())
    assert run.rc != 0
    out = run.result("out")
    assert out["msg"].startswith("1 of 3 items failed, the others were converged: assignments[1] (%s/%s/archive): "
                                 "Failed to assign" % (RG, ACCOUNT)), out["msg"]
    assert out["error_code"] == "PrincipalNotFound" and out["changed"] is True
    assert out["failed_items"] == ["assignments[1] (%s/%s/archive)" % (RG, ACCOUNT)]
    assert out["written"] == ["assignments[0] (%s/%s/reports)" % (RG, ACCOUNT),
                              "assignments[2] (%s/%s/archive)" % (RG, ACCOUNT)]
    assert len(assignments_at(sandbox, container_scope(sandbox, "archive"), principal)) == 1
    items[1]["principal_id"] = principal
    items[1]["role"] = "Storage Blob Data Contributor"
    run = run_playbook(tmp_path, [ra_task(assignments=items)], sandbox.env())
    assert run.rc == 0 and len(run.result("out")["created"]) == 1, run


@pytest.mark.parametrize("role,scope_kind", [
    ("Storage Account Contributor", "account"),
    ("Storage Account Key Operator Service Role", "account"),
    ("Contributor", "group"),
    ("Owner", "subscription"),
])
def test_keyless_guard_refuses_key_listing_roles(sandbox, principal, tmp_path, role, scope_kind):
    sub = sandbox.conn["subscription_id"]
    scope = {"account": rbac.storage_scope(sub, RG, ACCOUNT), "group": "/subscriptions/%s/resourceGroups/%s" % (sub, RG),
             "subscription": "/subscriptions/%s" % sub}[scope_kind]
    before = sandbox.counters()
    run = run_playbook(tmp_path, [ra_task(scope=scope, role=role, principal_id=principal)], sandbox.env())
    assert run.rc != 0
    assert "refusing roles that can list storage account keys" in run.result("out")["msg"]
    assert "Storage Blob Data Contributor" in run.result("out")["msg"]
    assert sandbox.counters_delta(before)["writes"] == 0


def test_keyless_guard_override(sandbox, principal, tmp_path):
    run = run_playbook(tmp_path, [ra_task(storage_account=ACCOUNT, resource_group=RG, role="Storage Account Contributor",
                                          principal_id=principal, allow_key_access_roles=True)], sandbox.env())
    assert run.rc == 0, run
    assert len(run.result("out")["created"]) == 1


def test_bulk_twenty_assignments_in_one_task(sandbox, principal, tmp_path):
    principals = [sdk.create_identity(sandbox.conn, RG, "id-bulk-%02d" % i).principal_id for i in range(20)]
    items = [{"storage_account": ACCOUNT, "resource_group": RG, "container": "reports" if i % 2 else "archive",
              "role": "Storage Blob Data Reader" if i % 2 else "Storage Blob Data Contributor", "principal_id": pid}
             for i, pid in enumerate(principals)]
    before = sandbox.counters()
    run = run_playbook(tmp_path, [ra_task(assignments=items)], sandbox.env())
    assert run.rc == 0, run
    assert len(run.result("out")["created"]) == 20
    delta = sandbox.counters_delta(before)
    assert delta["by_type"][RA_TYPE]["writes"] == 20
    assert delta["by_type"][RA_TYPE]["reads"] == 20  # one filtered listing per principal and scope
    before = sandbox.counters()
    run = run_playbook(tmp_path, [ra_task(assignments=items)], sandbox.env())
    assert run.result("out")["changed"] is False, run
    assert sandbox.counters_delta(before)["writes"] == 0


GOOD = "00000000-0000-0000-0000-00000000abcd"
BAD_INPUTS = [
    ({"scope": "not/a/scope", "role": "Storage Blob Data Reader", "principal_id": GOOD}, "is not a valid ARM scope"),
    ({"scope": "/subscriptions/xyz", "role": "Storage Blob Data Reader", "principal_id": GOOD},
     "is not a valid ARM scope"),
    ({"storage_account": ACCOUNT, "role": "Storage Blob Data Reader", "principal_id": GOOD},
     "storage_account needs resource_group"),
    ({"scope": "/subscriptions/%s" % GOOD, "container": "c", "role": "Storage Blob Data Reader", "principal_id": GOOD},
     "container needs storage_account"),
    ({"storage_account": ACCOUNT, "resource_group": RG, "role": "Storage Blob Data Reader", "principal_id": "bob"},
     "principal_id 'bob' must be"),
    ({"storage_account": ACCOUNT, "resource_group": RG, "role": "Storage Blob Data Reader", "principal_id": GOOD,
      "name": "my-assignment"}, "name 'my-assignment' must be a GUID"),
    ({"storage_account": ACCOUNT, "resource_group": RG, "role": "Storage Blob Data Writer", "principal_id": GOOD},
     "role 'Storage Blob Data Writer' was not found"),
    ({"assignments": [{"storage_account": ACCOUNT, "resource_group": RG, "role": "Storage Blob Data Reader",
                       "principal_id": GOOD}, {"scope": "bad", "role": "Reader", "principal_id": GOOD}]},
     "assignments[1] (bad): scope 'bad'"),
]


@pytest.mark.parametrize("options,message", BAD_INPUTS, ids=[m for _o, m in BAD_INPUTS])
def test_bad_input_is_rejected_before_any_write(sandbox, principal, tmp_path, options, message):
    before = sandbox.counters()
    run = run_playbook(tmp_path, [ra_task(**options)], sandbox.env())
    assert run.rc != 0
    assert message in run.result("out")["msg"]
    assert sandbox.counters_delta(before)["writes"] == 0
