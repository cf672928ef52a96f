"""keyless.aks_storage.resource_group through real ansible-playbook runs against the sandbox."""

from .playbook import run_playbook
from . import sdk

GROUP_TYPE = "Microsoft.Resources/resourceGroups"


def rg_task(name="rg-app", register="out", **options):
    args = {"name": name}
    args.update(options)
    return {"name": register, "keyless.aks_storage.resource_group": args, "register": register}


def test_lifecycle_with_counters(sandbox, tmp_path):
    env = sandbox.env()
    run = run_playbook(tmp_path, [rg_task(location="West Europe", tags={"env": "dev"})], env, diff=True)
    assert run.rc == 0, run
    out = run.result("out")
    assert out["changed"] is True and out["location"] == "westeurope"
    assert out["diff"] == {"before": {}, "after": {"name": "rg-app", "location": "westeurope", "tags": {"env": "dev"}}}

    before = sandbox.counters()
    run = run_playbook(tmp_path, [rg_task(location="westeurope", tags={"env": "dev"})], env)
    assert run.result("out")["changed"] is False, run
    delta = sandbox.counters_delta(before)
    assert delta["writes"] == 0 and delta["by_type"][GROUP_TYPE]["reads"] == 1

    sandbox.merge_resource(out["id"], {"tags": {"env": "prod"}})
    run = run_playbook(tmp_path, [rg_task(tags={"env": "dev"})], env, diff=True)
    assert run.result("out")["changed"] is True, run
    assert run.result("out")["diff"]["before"]["tags"] == {"env": "prod"}
    assert sdk.resource_client(sandbox.conn).resource_groups.get("rg-app").tags == {"env": "dev"}

    before = sandbox.counters()
    tasks = [rg_task(tags={"env": "x"}), rg_task(name="rg-other", register="other", location="eastus")]
    run = run_playbook(tmp_path, tasks, env, check=True)
    assert run.result("out")["changed"] is True and run.result("other")["changed"] is True, run
    assert run.result("other")["id"] is None
    assert sandbox.counters_delta(before)["writes"] == 0

    run = run_playbook(tmp_path, [rg_task(state="absent")], env)
    assert run.result("out")["changed"] is True, run
    assert not sdk.resource_client(sandbox.conn).resource_groups.check_existence("rg-app")
    before = sandbox.counters()
    run = run_playbook(tmp_path, [rg_task(state="absent")], env)
    assert run.result("out")["changed"] is False, run
    assert sandbox.counters_delta(before)["writes"] == 0


def test_non_empty_group_is_kept_unless_forced(sandbox, tmp_path):
    sdk.create_resource_group(sandbox.conn, "rg-full")
    sdk.msi_client(sandbox.conn).user_assigned_identities.create_or_update("rg-full", "id-inside",
                                                                           {"location": "westeurope"})
    before = sandbox.counters()
    run = run_playbook(tmp_path, [rg_task(name="rg-full", state="absent")], sandbox.env())
    assert run.rc != 0
    assert "force_delete_nonempty" in run.result("out")["msg"] and "id-inside" in run.result("out")["msg"]
    assert sandbox.counters_delta(before)["writes"] == 0

    run = run_playbook(tmp_path, [rg_task(name="rg-full", state="absent", force_delete_nonempty=True)], sandbox.env())
    assert run.result("out")["changed"] is True, run
    assert not sdk.resource_client(sandbox.conn).resource_groups.check_existence("rg-full")


def test_create_needs_location_and_bad_name_is_rejected(sandbox, tmp_path):
    before = sandbox.counters()
    run = run_playbook(tmp_path, [rg_task(name="rg-nowhere")], sandbox.env())
    assert "location is required" in run.result("out")["msg"], run
    run = run_playbook(tmp_path, [rg_task(name="bad name!", location="westeurope")], sandbox.env())
    assert "not a valid resource group name" in run.result("out")["msg"], run
    assert sandbox.counters_delta(before)["writes"] == 0


def test_bulk_groups_in_one_task(sandbox, tmp_path):
    task = {"name": "out", "register": "out", "keyless.aks_storage.resource_group": {
        "location": "westeurope", "tags": {"env": "dev"},
        "resource_groups": [{"name": "rg-bulk-a"}, {"name": "rg-bulk-b", "tags": {"env": "prod"}}]}}
    before = sandbox.counters()
    run = run_playbook(tmp_path, [task], sandbox.env())
    assert run.rc == 0, run
    assert [(g["name"], g["tags"], g["changed"]) for g in run.result("out")["resource_groups"]] == [
        ("rg-bulk-a", {"env": "dev"}, True), ("rg-bulk-b", {"env": "prod"}, True)]
    delta = sandbox.counters_delta(before)
    # 2 groups read + one listing of the subscription's locations (only when something is created)
    assert (delta["token_requests"], delta["reads"], delta["writes"]) == (1, 3, 2)
    before = sandbox.counters()
    run = run_playbook(tmp_path, [task], sandbox.env())
    assert run.rc == 0 and run.result("out")["changed"] is False, run
    assert sandbox.counters_delta(before)["writes"] == 0

    # deleting a non-empty group is refused while planning: the empty one listed first is not deleted either
    sdk.create_identity(sandbox.conn, "rg-bulk-b", "id-inside")
    run = run_playbook(tmp_path, [{"name": "out", "keyless.aks_storage.resource_group": {
        "state": "absent", "resource_groups": [{"name": "rg-bulk-a"}, {"name": "rg-bulk-b"}]}}], sandbox.env())
    assert run.rc != 0 and "rg-bulk-b still holds resources" in run.failure_messages
    groups = {g.name for g in sdk.resource_client(sandbox.conn).resource_groups.list()}
    assert {"rg-bulk-a", "rg-bulk-b"} <= groups
