"""Control API, counters, request log, fault injection, LRO tunables and drift."""

import time

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.msi import ManagedServiceIdentityClient

from sandbox import sdk
from sandbox.client import SandboxError
from sandbox.sdk import client_kwargs

IDENTITY = "Microsoft.ManagedIdentity/userAssignedIdentities"
RG = "Microsoft.Resources/resourceGroups"


@pytest.fixture
def rg(rm_client):
    return rm_client.resource_groups.create_or_update("rg-c", {"location": "eastus"})


def test_counters_count_reads_and_writes_per_type(sandbox, rg, msi_client):
    before = sandbox.counters()
    assert before["by_type"][RG] == {"reads": 0, "writes": 1}
    msi_client.user_assigned_identities.create_or_update("rg-c", "id-c", {"location": "eastus"})
    msi_client.user_assigned_identities.get("rg-c", "id-c")
    with pytest.raises(ResourceNotFoundError):
        msi_client.user_assigned_identities.get("rg-c", "id-missing")
    counters = sandbox.counters()
    assert counters["by_type"][IDENTITY] == {"reads": 2, "writes": 1}
    assert (counters["reads"], counters["writes"]) == (2, 2)
    # Control calls count nothing.
    sandbox.state(), sandbox.requests(), sandbox.configure(lro_polls=1), sandbox.counters()
    assert sandbox.counters() == counters
    list(msi_client.user_assigned_identities.list_by_resource_group("rg-c"))
    delta = sandbox.counters_delta(counters)
    assert delta["reads"] == 1 and delta["writes"] == 0 and delta["by_type"][IDENTITY] == {"reads": 1, "writes": 0}
    assert counters["list_keys"] == 0 and counters["faults_injected"] == 0


def test_request_log(sandbox, rg, msi_client):
    mark = sandbox.requests()[-1]["index"] + 1
    msi_client.user_assigned_identities.create_or_update("rg-c", "id-log", {"location": "eastus"})
    entries = sandbox.requests(since=mark)
    entry = next(e for e in entries if e["method"] == "PUT")
    assert entry["resource_type"] == IDENTITY and entry["kind"] == "write" and entry["status"] == 201
    assert "api-version=" in entry["query"] and "azsdk-python" in entry["user_agent"]
    assert entry["fault"] is False and entry["duration_ms"] >= 0


def test_list_keys_is_counted_even_without_a_provider(sandbox, conn, credential):
    from sandbox_test_helpers import raw_arm as raw
    token = credential.get_token(conn["arm_scope"]).token
    path = (f"subscriptions/{conn['subscription_id']}/resourceGroups/rg/providers/Microsoft.Storage/"
            f"storageAccounts/acct/listKeys?api-version=2024-01-01")
    raw(conn, "POST", path, token)
    assert sandbox.counters()["list_keys"] == 1


def test_throttling_is_survived_by_sdk_retries(sandbox, rg, msi_client):
    sandbox.add_fault(method="PUT", path="userassignedidentities", status=429, code="TooManyRequests",
                      count=2, retry_after="1")
    started = time.monotonic()
    identity = msi_client.user_assigned_identities.create_or_update("rg-c", "id-throttled", {"location": "eastus"})
    assert identity.name == "id-throttled" and time.monotonic() - started >= 2
    counters = sandbox.counters()
    assert counters["faults_injected"] == 2
    assert counters["by_type"][IDENTITY]["writes"] == 1  # the fault answers are not writes
    statuses = [(r["status"], r["fault"]) for r in sandbox.requests() if r["method"] == "PUT" and "Identity" in r["path"]]
    assert statuses == [(429, True), (429, True), (201, False)]


def test_server_error_beyond_retries_surfaces(sandbox, conn, credential, rg):
    client = ManagedServiceIdentityClient(credential, conn["subscription_id"],
                                          **client_kwargs(conn, retry_total=2))
    sandbox.add_fault(method="GET", path=r"userassignedidentities/id-x$", status=500, code="InternalServerError",
                      message="boom", count=10, retry_after="0.05")
    with pytest.raises(HttpResponseError) as info:
        client.user_assigned_identities.get("rg-c", "id-x")
    assert info.value.status_code == 500 and info.value.error.code == "InternalServerError"
    assert sandbox.counters()["faults_injected"] == 3  # first try + retry_total
    sandbox.clear_faults()
    with pytest.raises(ResourceNotFoundError):
        client.user_assigned_identities.get("rg-c", "id-x")


def test_token_endpoint_fault(sandbox, conn):
    from azure.core.exceptions import ClientAuthenticationError
    sandbox.add_fault(path=r"/oauth2/v2\.0/token$", status=400, code="AADSTS90033", message="try later")
    with pytest.raises(ClientAuthenticationError, match="AADSTS90033"):
        sdk.credential(conn).get_token(conn["arm_scope"])
    assert sdk.credential(conn).get_token(conn["arm_scope"]).token  # count=1: gone now


def test_delay_only_fault(sandbox, rm_client):
    sandbox.add_fault(method="PUT", path="resourcegroups/rg-slow", delay=0.3)
    started = time.monotonic()
    rm_client.resource_groups.create_or_update("rg-slow", {"location": "eastus"})
    assert time.monotonic() - started >= 0.3
    assert sandbox.counters()["by_type"][RG]["writes"] == 1


def test_fault_spec_is_validated(sandbox):
    with pytest.raises(SandboxError) as info:
        sandbox.add_fault(path="(", status=500)
    assert info.value.status == 400
    with pytest.raises(SandboxError):
        sandbox.add_fault(path="x", status=500, colour="red")


def test_sub_second_retry_after_makes_lros_fast(sandbox, rm_client, rg):
    sandbox.configure(lro_retry_after="0.1", lro_polls=3)
    rm_client.resource_groups.begin_delete("rg-c").result()   # fast: counted in polls, never timed
    assert sandbox.counters()["lro_polls"] == 4
    initial = next(r for r in sandbox.requests() if r["method"] == "DELETE")
    assert initial["status"] == 202


def test_lro_failure(sandbox, rm_client, rg):
    sandbox.add_fault(method="DELETE", path="resourcegroups/rg-c$", lro_fail=True, status=409,
                      code="ResourceGroupDeletionBlocked", message="locked")
    with pytest.raises(HttpResponseError) as info:
        rm_client.resource_groups.begin_delete("rg-c").result()
    assert info.value.error.code == "ResourceGroupDeletionBlocked"
    assert rm_client.resource_groups.get("rg-c").properties.provisioning_state == "Succeeded"
    assert sandbox.counters()["faults_injected"] == 1


def test_unpolled_lro_completes_on_its_own(sandbox, rm_client, rg):
    sandbox.configure(lro_max_seconds=0.2)
    rm_client.resource_groups.begin_delete("rg-c", polling=False)
    assert rm_client.resource_groups.get("rg-c").properties.provisioning_state == "Deleting"
    time.sleep(0.3)
    assert rm_client.resource_groups.check_existence("rg-c") is False


def test_config_rejects_unknown_keys(sandbox):
    with pytest.raises(SandboxError) as info:
        sandbox.configure(lro_retry_afterr="1")
    assert info.value.status == 400
    assert sandbox.configure(lro_polls=2)["lro_polls"] == 2


def test_merge_resource_simulates_drift_without_counting(sandbox, rg, msi_client):
    identity = msi_client.user_assigned_identities.create_or_update("rg-c", "id-d", {"location": "eastus",
                                                                                     "tags": {"a": "1"}})
    writes = sandbox.counters()["writes"]
    sandbox.merge_resource(identity.id.lower(), {"tags": {"a": None, "b": "drift"}})
    assert msi_client.user_assigned_identities.get("rg-c", "id-d").tags == {"b": "drift"}
    assert sandbox.counters()["writes"] == writes
    with pytest.raises(SandboxError) as info:
        sandbox.merge_resource(identity.id + "-nope", {"tags": {}})
    assert info.value.status == 404


def test_reset_clears_state_but_keeps_tokens_valid(sandbox, rm_client, rg):
    sandbox.add_fault(path="never", status=500)
    sandbox.reset()
    assert sandbox.state()["resources"] == [] and sandbox.call("GET", "/faults")["faults"] == []
    assert sandbox.counters()["writes"] == 0
    assert list(rm_client.resource_groups.list()) == []  # the cached token still works
