"""keyless.aks_storage.role_definition through real ansible-playbook runs against the sandbox."""

import uuid

import pytest

from ansible_collections.keyless.aks_storage.plugins.module_utils import rbac

from .playbook import run_playbook
from . import sdk

RD_TYPE = "Microsoft.Authorization/roleDefinitions"
RG = "rg-roledef"
ACCOUNT = "stkeylessroledef"
ROLE = "Keyless Test Provisioner"
CONTAINERS = "Microsoft.Storage/storageAccounts/blobServices/containers"
ACTIONS = ["Microsoft.Storage/storageAccounts/read", CONTAINERS + "/read", CONTAINERS + "/write"]


def rd_task(register="out", **options):
    return {"name": register, "keyless.aks_storage.role_definition": options, "register": register}


def group_scope(sandbox):
    return "/subscriptions/%s/resourceGroups/%s" % (sandbox.conn["subscription_id"], RG)


def live(sandbox, guid):
    return sdk.authorization_client(sandbox.conn).role_definitions.get(
        "/subscriptions/%s" % sandbox.conn["subscription_id"], guid)


def custom_roles(sandbox):
    """The custom roles assignable at the test's resource group (a listing returns those at and above)."""
    return list(sdk.authorization_client(sandbox.conn).role_definitions.list(group_scope(sandbox),
                                                                             filter="type eq 'CustomRole'"))


def writes(sandbox, before):
    return sandbox.counters_delta(before)["writes"]


@pytest.fixture
def group(sandbox):
    sdk.create_resource_group(sandbox.conn, RG)
    return group_scope(sandbox)


def test_lifecycle_create_noop_update_check_diff(sandbox, group, tmp_path):
    env, guid = sandbox.env(), rbac.role_definition_guid(ROLE)
    task = rd_task(name=ROLE, description="containers only", actions=ACTIONS, assignable_scopes=[group])
    # check mode: the create is planned with its deterministic id, nothing is written
    before = sandbox.counters()
    run = run_playbook(tmp_path, [task], env, check=True, diff=True)
    assert run.rc == 0, run
    out = run.result("out")
    assert out["changed"] is True and out["created"] == [guid]
    assert out["definitions"][0]["id"].endswith("/roleDefinitions/" + guid)
    assert out["diff"]["before"] == {"definitions": []}
    assert writes(sandbox, before) == 0 and custom_roles(sandbox) == []

    run = run_playbook(tmp_path, [task], env, diff=True)
    out = run.result("out")
    assert out["changed"] is True and out["created"] == [guid], run
    made = live(sandbox, guid)
    assert (made.role_name, made.role_type, made.assignable_scopes) == (ROLE, "CustomRole", [group])
    assert made.permissions[0].actions == ACTIONS
    assert out["definitions"][0]["permissions"] == [{"actions": ACTIONS, "not_actions": [], "data_actions": [],
                                                     "not_data_actions": []}]

    # no-op: the same actions in another order and case, the scope with a trailing slash: one read, zero writes
    before = sandbox.counters()
    same = rd_task(name=ROLE, description="containers only", actions=[a.upper() for a in reversed(ACTIONS)],
                   assignable_scopes=[group.lower() + "/"])
    run = run_playbook(tmp_path, [same], env)
    assert run.result("out")["changed"] is False, run
    delta = sandbox.counters_delta(before)
    assert delta["writes"] == 0 and delta["reads"] == 1 and delta["by_type"][RD_TYPE]["reads"] == 1
    assert delta["list_keys"] == 0

    # update: an action added, shown in the diff; check mode first writes nothing
    changed = rd_task(name=ROLE, description="containers only", actions=ACTIONS + [CONTAINERS + "/delete"],
                      assignable_scopes=[group])
    before = sandbox.counters()
    run = run_playbook(tmp_path, [changed], env, check=True, diff=True)
    out = run.result("out")
    assert out["changed"] is True and out["updated"] == [guid], run
    assert CONTAINERS + "/delete" not in out["diff"]["before"]["definitions"][0]["permissions"][0]["actions"]
    assert CONTAINERS + "/delete" in out["diff"]["after"]["definitions"][0]["permissions"][0]["actions"]
    assert writes(sandbox, before) == 0
    run = run_playbook(tmp_path, [changed], env)
    assert run.result("out")["updated"] == [guid], run
    assert CONTAINERS + "/delete" in live(sandbox, guid).permissions[0].actions
    assert live(sandbox, guid).description == "containers only"


def assign_task(sandbox, principal, state="present"):
    return {"name": "assign", "register": "assign", "keyless.aks_storage.role_assignment": {
        "storage_account": ACCOUNT, "resource_group": RG, "role": ROLE, "principal_id": principal, "state": state}}


def test_absent_refused_while_assigned_then_deleted(sandbox, group, tmp_path):
    env, guid = sandbox.env(), rbac.role_definition_guid(ROLE)
    sdk.create_keyless_account(sandbox.conn, RG, ACCOUNT)
    principal = sdk.create_identity(sandbox.conn, RG, "id-roledef").principal_id
    present = rd_task(name=ROLE, actions=ACTIONS, assignable_scopes=[group])
    run = run_playbook(tmp_path, [present, assign_task(sandbox, principal)], env)
    assert run.rc == 0 and len(run.result("assign")["created"]) == 1, run
    assignment_id = run.result("assign")["assignments"][0]["id"]

    before = sandbox.counters()
    absent = rd_task(name=ROLE, state="absent")
    for check in (True, False):
        run = run_playbook(tmp_path, [absent], env, check=check)
        assert run.rc != 0
        msg = run.result("out")["msg"]
        assert "is still assigned: %s" % assignment_id in msg and "state=absent" in msg, msg
    assert writes(sandbox, before) == 0 and live(sandbox, guid).name == guid

    run = run_playbook(tmp_path, [assign_task(sandbox, principal, "absent"), absent], env)
    assert run.rc == 0, run
    assert run.result("out")["deleted"] == [guid]
    assert custom_roles(sandbox) == []
    before = sandbox.counters()
    run = run_playbook(tmp_path, [absent], env)
    assert run.result("out")["changed"] is False, run
    assert writes(sandbox, before) == 0


def test_check_mode_play_assigns_a_role_not_created_yet(sandbox, group, tmp_path):
    """role_definition then role_assignment by the role's name, in check mode in a fresh subscription: the
    assignment is planned with a warning; outside check mode the missing role stays an error."""
    sdk.create_keyless_account(sandbox.conn, RG, ACCOUNT)
    principal = sdk.create_identity(sandbox.conn, RG, "id-roledef").principal_id
    tasks = [rd_task(name=ROLE, actions=ACTIONS, assignable_scopes=[group]), assign_task(sandbox, principal)]
    before = sandbox.counters()
    run = run_playbook(tmp_path, tasks, sandbox.env(), check=True)
    assert run.rc == 0, run
    assign = run.result("assign")
    assert assign["changed"] is True and assign["created"] == [None]
    planned = assign["assignments"][0]
    assert (planned["role_name"], planned["role_definition_id"], planned["name"]) == (ROLE, None, None)
    assert any("custom role '%s' was not found" % ROLE in w for w in assign.get("warnings", [])), assign
    assert writes(sandbox, before) == 0
    run = run_playbook(tmp_path, [assign_task(sandbox, principal)], sandbox.env())
    assert run.rc != 0 and "role '%s' was not found" % ROLE in run.result("assign")["msg"]


@pytest.mark.parametrize("actions, through", [
    (["Microsoft.Storage/storageAccounts/listKeys/action"], "'Microsoft.Storage/storageAccounts/listKeys/action'"),
    (["Microsoft.Storage/*"], "'Microsoft.Storage/*'"),
    (["*"], "'*'"),
])
def test_keyless_guard_refuses_key_listing(sandbox, group, tmp_path, actions, through):
    before = sandbox.counters()
    run = run_playbook(tmp_path, [rd_task(name=ROLE, actions=actions, assignable_scopes=[group])], sandbox.env())
    assert run.rc != 0
    msg = run.result("out")["msg"]
    assert "actions allow Microsoft.Storage/storageAccounts/listkeys/action (through %s)" % through in msg, msg
    assert "allow_key_access=true" in msg and group in msg
    assert sandbox.counters_delta(before)["writes"] == 0


def test_keyless_guard_not_actions_and_override(sandbox, group, tmp_path):
    env = sandbox.env()
    subtracted = rd_task(name=ROLE, actions=["Microsoft.Storage/*"],
                         not_actions=["Microsoft.Storage/storageAccounts/listkeys/action"], assignable_scopes=[group])
    run = run_playbook(tmp_path, [subtracted], env)
    assert run.rc == 0 and run.result("out")["changed"] is True, run
    override = rd_task(name="Keyless Key Reader", actions=["Microsoft.Storage/storageAccounts/listKeys/action"],
                       assignable_scopes=[group], allow_key_access=True)
    run = run_playbook(tmp_path, [override], env)
    assert run.rc == 0 and run.result("out")["created"] == [rbac.role_definition_guid("Keyless Key Reader")], run


def test_same_named_role_made_by_another_tool_is_adopted(sandbox, group, tmp_path):
    other = str(uuid.uuid4())
    sub = "/subscriptions/%s" % sandbox.conn["subscription_id"]
    sdk.authorization_client(sandbox.conn).role_definitions.create_or_update(sub, other, {"properties": {
        "roleName": ROLE, "description": "made by az", "assignableScopes": [group],
        "permissions": [{"actions": ACTIONS[:1]}]}})
    env = sandbox.env()
    task = rd_task(name=ROLE, description="made by az", actions=ACTIONS, assignable_scopes=[group])
    run = run_playbook(tmp_path, [task], env)
    assert run.rc == 0, run
    assert run.result("out")["updated"] == [other] and run.result("out")["created"] == []
    assert [d.name for d in custom_roles(sandbox)] == [other]
    assert live(sandbox, other).permissions[0].actions == ACTIONS
    before = sandbox.counters()
    run = run_playbook(tmp_path, [task], env)
    assert run.result("out")["changed"] is False, run
    assert writes(sandbox, before) == 0
    # an explicit id that is not the existing role's is refused, naming the existing one
    run = run_playbook(tmp_path, [rd_task(name=ROLE, actions=ACTIONS, assignable_scopes=[group],
                                          id=str(uuid.uuid4()))], env)
    assert run.rc != 0 and "already exists with id %s" % other in run.result("out")["msg"]


def test_bulk_form(sandbox, group, tmp_path):
    items = [{"name": "Keyless Bulk %d" % i, "actions": ACTIONS[:1 + i % 3], "assignable_scopes": [group]}
             for i in range(4)]
    before = sandbox.counters()
    run = run_playbook(tmp_path, [rd_task(definitions=items)], sandbox.env())
    assert run.rc == 0, run
    assert len(run.result("out")["created"]) == 4
    assert sandbox.counters_delta(before)["by_type"][RD_TYPE]["writes"] == 4
    items[3]["state"] = "absent"
    before = sandbox.counters()
    run = run_playbook(tmp_path, [rd_task(definitions=items)], sandbox.env())
    out = run.result("out")
    assert out["deleted"] == [rbac.role_definition_guid("Keyless Bulk 3")] and out["created"] == [], run
    assert len(out["definitions"]) == 3 and writes(sandbox, before) == 1


GUID = "00000000-0000-0000-0000-00000000abcd"
BAD_INPUTS = [
    ({"name": ROLE, "actions": ACTIONS, "id": "my-role"}, "id 'my-role' must be a GUID"),
    ({"name": "", "actions": ACTIONS}, "name '' must be 1-512 characters"),
    ({"name": " padded", "actions": ACTIONS}, "name ' padded' has leading or trailing whitespace"),
    ({"definitions": [{"actions": ACTIONS}]}, "definitions[0]: name is required"),
    ({"name": ROLE}, "actions or data_actions is required"),
    ({"name": ROLE, "actions": ["Microsoft.Storage/*/containers/*"]}, "actions[0] 'Microsoft.Storage/*/containers/*' "
                                                                      "is not an action string"),
    ({"name": ROLE, "actions": ACTIONS, "data_actions": ["not an action"]}, "data_actions[0] 'not an action'"),
    ({"name": ROLE, "actions": ACTIONS, "assignable_scopes": ["/"]}, "assignable_scopes[0] '/' is not a valid"),
    ({"name": ROLE, "actions": ACTIONS, "assignable_scopes": ["/subscriptions/%s" % GUID]},
     "assignable_scopes[0] '/subscriptions/%s' is not in subscription" % GUID),
    ({"name": ROLE, "actions": ACTIONS, "scope": "rg-roledef"}, "scope 'rg-roledef' is not a valid ARM scope"),
    ({"name": "Storage Blob Data Reader", "actions": ACTIONS}, "is the name of a built-in role"),
    ({"name": ROLE, "actions": ACTIONS, "id": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"},
     "is a built-in role (Owner)"),
    ({"definitions": [{"name": ROLE, "actions": ACTIONS}, {"name": ROLE.upper(), "actions": ACTIONS}]},
     "definitions[1] (%s): the same role as definitions[0] (%s)" % (ROLE.upper(), ROLE)),
]


@pytest.mark.parametrize("options,message", BAD_INPUTS, ids=[m for _o, m in BAD_INPUTS])
def test_bad_input_names_the_field_before_any_write(sandbox, group, tmp_path, options, message):
    before = sandbox.counters()
    run = run_playbook(tmp_path, [rd_task(**options)], sandbox.env())
    assert run.rc != 0
    assert message in run.result("out")["msg"]
    assert sandbox.counters_delta(before)["writes"] == 0
