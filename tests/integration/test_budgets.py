"""Request budgets of site.yml (issue: speed), counted by the sandbox on real ansible-playbook runs.

Counts only; times are reported by `make bench`. Uses the benchmark's own inventory generator and run helper so
the test and the table measure the same thing.
"""

import pytest

from scripts import bench

REPO_PLAYBOOK = bench.REPO / "playbooks" / "site.yml"
SIZES = (2, 6)


def managed_resources(managed):
    # each storage account's blob service is managed too (blob soft delete)
    return sum(managed.values()) + managed["storage_accounts"]


@pytest.fixture(scope="module")
def runs(sandbox_session, tmp_path_factory):
    """Converge then re-run site.yml for each size, each in a freshly reset sandbox."""
    out = {}
    for n in SIZES:
        sandbox_session.reset()
        workdir = tmp_path_factory.mktemp("budget-%d" % n)
        inventory, managed = bench.size_inventory(workdir, n)
        converge = bench.run_playbook(sandbox_session, workdir, "converge", inventory, REPO_PLAYBOOK, 900)
        assert converge["rc"] == 0, (workdir / "converge.log").read_text()[-5000:]
        noop = bench.run_playbook(sandbox_session, workdir, "noop", inventory, REPO_PLAYBOOK, 900)
        assert noop["rc"] == 0, (workdir / "noop.log").read_text()[-5000:]
        out[n] = dict(converge=converge, noop=noop, managed=managed)
    return out


@pytest.mark.parametrize("n", SIZES)
def test_noop_rerun_writes_nothing_and_reads_at_most_once_per_resource(runs, n):
    noop, managed = runs[n]["noop"], runs[n]["managed"]
    counters = noop["counters"]
    assert noop["changed"] == 0
    assert counters["writes"] == 0
    assert counters["list_keys"] == 0
    assert runs[n]["converge"]["counters"]["list_keys"] == 0
    assert counters["reads"] <= managed_resources(managed), noop["request_summary"]
    # the Kubernetes side too: objects the cluster holds as rendered are not sent again
    assert counters["kubernetes"]["writes"] == 0, counters["kubernetes"]


def test_one_task_per_resource_type_not_one_process_per_workload(runs):
    small, large = (runs[n]["noop"] for n in SIZES)
    # the same module processes (and so the same token requests) whatever the number of workloads
    assert large["azure_processes"] == small["azure_processes"]
    assert large["counters"]["token_requests"] == small["counters"]["token_requests"]
    assert large["tasks"] == small["tasks"]
    # Kubernetes reads: one list per kind (plus the driver's and the Jobs' reads), not one per object
    assert large["counters"]["kubernetes"]["reads"] == small["counters"]["kubernetes"]["reads"]


def test_converge_requests_grow_linearly_with_workloads(runs):
    small, large = (runs[n]["converge"]["counters"] for n in SIZES)
    extra = SIZES[1] - SIZES[0]
    # per extra workload: its container, identity, federated credential and role assignment, one write each
    assert large["writes"] - small["writes"] == 4 * extra
    assert large["token_requests"] == small["token_requests"]
