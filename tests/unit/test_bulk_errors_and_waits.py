"""The shared mechanics: the bulk driver, the error model and the bounded wait (no requests)."""

import pytest
from azure.core.exceptions import HttpResponseError

from ansible_collections.keyless.aks_storage.plugins.module_utils import bulk
from ansible_collections.keyless.aks_storage.plugins.module_utils.errors import AzureError, ModuleError
from ansible_collections.keyless.aks_storage.plugins.module_utils.retries import wait_until


class Module:
    """What apply_all uses of a module: the count of writes made."""

    def __init__(self):
        self.writes = 0


def test_items_labels_keys_and_defaults():
    params = dict(resource_group="rg-top", name=None, tags={"a": "b"}, state="present",
                  identities=[{"name": "one"}, {"name": "two", "resource_group": "rg-2", "tags": {}, "state": ""},
                              {"name": None}])
    items = bulk.items_from_params(params, "identities", ("resource_group", "name", "tags", "state"))
    assert [i.label for i in items] == ["identities[0] (rg-top/one)", "identities[1] (rg-2/two)",
                                        "identities[2] (rg-top)"]
    assert [i.key for i in items] == ["rg-top/one", "rg-2/two", "rg-top"]
    # an item's own value wins, even a falsy one; an empty string is unset
    assert (items[1]["tags"], items[1]["state"], items[0]["tags"]) == ({}, "present", {"a": "b"})
    single = bulk.items_from_params(dict(params, identities=None, name="solo"), "identities", ("resource_group", "name"))
    assert [(i.label, i.key, i.index, i.name) for i in single] == [(None, "rg-top/solo", None, "rg-top/solo")]
    assert bulk.label("accounts", 3) == "accounts[3]"


def test_duplicates_name_the_earlier_item():
    items = bulk.items_from_params(dict(xs=[{"name": "a"}, {"name": "B"}, {"name": "b"}]), "xs", ("name",))
    assert [(i.index, e.index) for i, e in bulk.duplicates(items, lambda i: i["name"].lower())] == [(2, 1)]


def test_plan_all_labels_the_refused_item_and_passes_parallel_lists():
    items = bulk.items_from_params(dict(xs=[{"name": "a"}, {"name": "b"}]), "xs", ("name",))
    assert bulk.plan_all(items, lambda item, extra: (item["name"], extra), [1, 2]) == [("a", 1), ("b", 2)]

    def refuse_b(item):
        if item["name"] == "b":
            raise ModuleError("no b")
        return item["name"]
    with pytest.raises(ModuleError, match=r"^xs\[1\] \(b\): no b$"):
        bulk.plan_all(items, refuse_b)


def test_apply_all_partial_result_names_written_unchanged_failed_and_not_attempted():
    names = ["a", "b", "c", "d", "e"]
    items = bulk.items_from_params(dict(xs=[{"name": n} for n in names]), "xs", ("name",))
    module = Module()

    def apply(item, planned):
        if item["name"] == "d":
            module.writes += 1  # the failing item had written something before it failed
            raise ModuleError("Failed to write d", error_code="BadRequest")
        module.writes += planned
        return dict(name=item["name"], changed=bool(planned), diff={})
    with pytest.raises(ModuleError) as failure:
        bulk.apply_all(module, items, [1, 0, 1, 1, 1], apply, "xs", entry=lambda r: r["name"])
    result = failure.value.result()
    assert result["msg"] == "xs[3] (d): Failed to write d" and result["error_code"] == "BadRequest"
    assert (result["written"], result["unchanged"]) == (["xs[0] (a)", "xs[2] (c)"], ["xs[1] (b)"])
    assert (result["failed_item"], result["not_attempted"]) == ("xs[3] (d)", ["xs[4] (e)"])
    assert result["changed"] is True and result["xs"] == ["a", "b", "c"]
    assert isinstance(result["exception"], ModuleError)


def test_a_failure_before_anything_was_written_is_not_changed():
    items = bulk.items_from_params(dict(xs=[{"name": "a"}, {"name": "b"}]), "xs", ("name",))
    module = Module()

    def apply(item, _planned):
        raise ModuleError("read failed")
    with pytest.raises(ModuleError) as failure:
        bulk.apply_all(module, items, [None, None], apply)
    result = failure.value.result()
    assert result["changed"] is False and result["written"] == [] and result["not_attempted"] == ["xs[1] (b)"]
    assert "xs" not in result


def test_bulk_result_keys_the_diff_by_item():
    items = bulk.items_from_params(dict(resource_group="rg", xs=[{"name": "a"}, {"name": "b"}]), "xs",
                                   ("resource_group", "name"))
    results = [dict(name="a", changed=False, diff=dict(before={"t": 1}, after={"t": 1})),
               dict(name="b", changed=True, diff=dict(before={}, after={"t": 2}))]
    assert bulk.bulk_result(items, results, "xs") == {
        "changed": True, "diff": {"before": {"rg/a": {"t": 1}, "rg/b": {}}, "after": {"rg/a": {"t": 1}, "rg/b": {"t": 2}}},
        "xs": [dict(name="a", changed=False), dict(name="b", changed=True)]}


def http_error(status, code, message):
    class Error:
        pass
    exc = HttpResponseError(message="Operation returned an invalid status")
    exc.status_code, exc.error = status, Error()
    exc.error.code, exc.error.message = code, message
    return exc


def test_azure_error_carries_code_status_action_hint_and_cause():
    cause = http_error(404, "ResourceGroupNotFound", "Resource group 'rg' could not be found.")
    error = AzureError.from_exception("create identity x", cause)
    result = error.labelled("identities[0] (rg/x)").result()
    assert result["msg"].startswith("identities[0] (rg/x): Failed to create identity x: ResourceGroupNotFound: ")
    assert (result["error_code"], result["status_code"], result["action"]) == (
        "ResourceGroupNotFound", 404, "create identity x")
    assert "keyless.aks_storage.resource_group" in result["hint"] and result["exception"] is cause
    # labelling twice does not repeat the label; an unknown failure still has the three fields
    assert error.labelled("identities[0] (rg/x)").msg.count("identities[0]") == 1
    plain = AzureError.from_exception("do", RuntimeError("boom")).result()
    assert (plain["msg"], plain["error_code"], plain["status_code"], plain["hint"]) == (
        "Failed to do: boom", None, None, None)
    assert "error_code" not in ModuleError("plain").result()


class Clock:
    """A clock that moves only when slept on."""

    def __init__(self, moves=True):
        self.now, self.moves, self.sleeps = 0.0, moves, []

    def time(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        if self.moves:
            self.now += seconds


def test_wait_until_polls_until_done():
    clock, values = Clock(), iter(["Updating", "Updating", "Succeeded"])
    got = wait_until(lambda: next(values), lambda v: v == "Succeeded", 60, 10, lambda v: "late",
                     sleep=clock.sleep, clock=clock.time)
    assert got == "Succeeded" and clock.sleeps == [10, 10]


def test_wait_until_gives_up_at_the_timeout_with_the_last_value():
    clock, reads = Clock(), []

    def read():
        reads.append(1)
        return "Updating"
    with pytest.raises(ModuleError, match="^still Updating$"):
        wait_until(read, lambda v: False, 30, 10, lambda v: "still %s" % v, sleep=clock.sleep, clock=clock.time)
    assert len(reads) == 4 and clock.now == 30  # the first read, then one per interval that fits in the timeout


def test_wait_until_is_bounded_by_count_when_the_clock_does_not_move():
    clock = Clock(moves=False)
    with pytest.raises(ModuleError):
        wait_until(lambda: 0, lambda v: False, 50, 10, lambda v: "late", sleep=clock.sleep, clock=clock.time)
    assert len(clock.sleeps) == 5


def test_own_failures_do_not_stop_independent_items():
    items = bulk.items_from_params(dict(xs=[{"name": n} for n in "abcd"]), "xs", ("name",))
    module = Module()

    def apply(item, _planned):
        if item["name"] in ("b", "c"):
            raise ModuleError("principal of %s unknown" % item["name"], error_code="PrincipalNotFound")
        module.writes += 1
        return dict(name=item["name"], changed=True)
    with pytest.raises(ModuleError) as failure:
        bulk.apply_all(module, items, [None] * 4, apply, "xs", own_failure=lambda e: e.error_code == "PrincipalNotFound")
    result = failure.value.result()
    assert result["msg"] == ("2 of 4 items failed, the others were converged: xs[1] (b): principal of b unknown | "
                             "xs[2] (c): principal of c unknown")
    assert (result["written"], result["failed_items"], result["failed_item"]) == (
        ["xs[0] (a)", "xs[3] (d)"], ["xs[1] (b)", "xs[2] (c)"], "xs[1] (b)")
    assert result["changed"] is True and result["not_attempted"] == [] and result["xs"] == [
        dict(name="a", changed=True), dict(name="d", changed=True)]


def test_a_stopping_failure_after_an_own_failure_lists_both():
    items = bulk.items_from_params(dict(xs=[{"name": n} for n in "abc"]), "xs", ("name",))

    def apply(item, _planned):
        raise ModuleError(item["name"], error_code="PrincipalNotFound" if item["name"] == "a" else "BadRequest")
    with pytest.raises(ModuleError) as failure:
        bulk.apply_all(Module(), items, [None] * 3, apply, own_failure=lambda e: e.error_code == "PrincipalNotFound")
    result = failure.value.result()
    assert (result["failed_items"], result["failed_item"], result["not_attempted"]) == (
        ["xs[0] (a)", "xs[1] (b)"], "xs[1] (b)", ["xs[2] (c)"])
    assert result["written"] == [] and result["unchanged"] == [] and result["changed"] is False
