"""role_definition: normalize, the keyless guard and the comparison, without requests."""

import pytest

from ansible_collections.keyless.aks_storage.plugins.module_utils import rbac
from ansible_collections.keyless.aks_storage.plugins.modules import role_definition as rd
from ansible_collections.keyless.aks_storage.plugins.modules.role_definition import InvalidDefinition

SUB = "00000000-0000-0000-0000-000000000001"
GROUP = "/subscriptions/%s/resourceGroups/rg" % SUB
LIST_KEYS = "Microsoft.Storage/storageAccounts/listKeys/action"


def options(**extra):
    base = dict(name="Keyless Role", description=None, actions=["Microsoft.Storage/storageAccounts/read"],
                not_actions=[], data_actions=[], not_data_actions=[], assignable_scopes=None, scope=None, id=None,
                state="present")
    base.update(extra)
    return base


def test_defaults_are_the_subscription_and_a_name_derived_guid():
    item = rd.normalize(options(), SUB)
    assert item["scope"] == "/subscriptions/%s" % SUB and item["assignable_scopes"] == [item["scope"]]
    assert item["id"] == rbac.role_definition_guid("keyless role") == rbac.role_definition_guid("KEYLESS ROLE")
    assert rd.normalize(options(id="AAAAAAAA-0000-0000-0000-000000000000"), SUB)["id"].startswith("aaaaaaaa")


def test_every_problem_is_listed_with_its_field():
    with pytest.raises(InvalidDefinition) as info:
        rd.normalize(options(id="x", actions=["a b"], assignable_scopes=["/", GROUP + "/"]), SUB)
    msg = str(info.value)
    assert "id 'x' must be a GUID" in msg and "actions[0] 'a b'" in msg and "assignable_scopes[0] '/'" in msg
    assert "assignable_scopes[1]" not in msg  # a trailing slash is fine


@pytest.mark.parametrize("actions, not_actions, scopes, refused", [
    ([LIST_KEYS], [], [GROUP], True),
    (["microsoft.storage/*"], [], [GROUP], True),
    (["*"], [], [GROUP + "/providers/Microsoft.Storage/storageAccounts/st"], True),
    (["Microsoft.Storage/*"], ["Microsoft.Storage/storageAccounts/listkeys/action"], [GROUP], False),
    (["*/read"], [], [GROUP], False),
    ([LIST_KEYS], [], [GROUP + "/providers/Microsoft.ContainerService/managedClusters/aks"], False),
])
def test_keyless_guard(actions, not_actions, scopes, refused):
    item = rd.normalize(options(actions=actions, not_actions=not_actions, assignable_scopes=scopes), SUB)
    problem = rd.key_access_problem(item, allowed=False)
    assert bool(problem) is refused
    assert rd.key_access_problem(item, allowed=True) is None
    if refused:
        assert "through '%s'" % actions[0] in problem and scopes[0] in problem


def view(actions, scopes, description="d", role_name="Keyless Role", blocks=1):
    block = {"actions": actions, "not_actions": [], "data_actions": [], "not_data_actions": []}
    return dict(role_name=role_name, description=description, permissions=[block] * blocks,
                assignable_scopes=scopes)


def test_differs_compares_actions_and_scopes_as_sets():
    have = view(["A/read", "B/write"], [GROUP])
    assert not rd.differs(have, view(["b/WRITE", "a/read"], [GROUP.upper() + "/"]))
    assert rd.differs(have, view(["A/read"], [GROUP]))
    assert rd.differs(have, view(["A/read", "B/write"], [GROUP, "/subscriptions/%s" % SUB]))
    assert rd.differs(have, view(["A/read", "B/write"], [GROUP], description="D"))
    assert rd.differs(have, view(["A/read", "B/write"], [GROUP], role_name="keyless role"))
    assert rd.differs(view(["A/read", "B/write"], [GROUP], blocks=2), view(["A/read", "B/write"], [GROUP]))
