"""The Molecule scenarios under extensions/molecule, run with the real `molecule test` (offline: no Galaxy step).

The sandbox scenarios start and stop their own sandbox; the `azure` scenario is skipped without a subscription and,
pointed at a sandbox as if it were a custom Azure cloud, runs its whole sequence including the teardown.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox import client

pytestmark = pytest.mark.long_running  # minutes of playbooks: scheduled first

REPO = Path(__file__).resolve().parents[2]
MOLECULE = Path(sys.executable).parent / "molecule"
TIMEOUT = 900
AZURE_VARIABLES = ("AZURE_SUBSCRIPTION_ID", "AZURE_TENANT", "AZURE_CLIENT_ID", "AZURE_SECRET", "AZURE_CLOUD_ENVIRONMENT",
                   "KEYLESS_AZURE_CLUSTER", "KEYLESS_AZURE_CLUSTER_RG", "REQUESTS_CA_BUNDLE")


def molecule(tmp_path, command, scenario, extra_env=None):
    env = {k: v for k, v in os.environ.items() if k not in AZURE_VARIABLES}
    env.update({"MOLECULE_EPHEMERAL_DIRECTORY": str(tmp_path / "molecule"), "TMPDIR": str(tmp_path),
                "PATH": "%s%s%s" % (MOLECULE.parent, os.pathsep, env.get("PATH", "")),
                "SANDBOX_LRO_RETRY_AFTER": "0.1", "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0",
                "NO_COLOR": "1", "ANSIBLE_COLLECTIONS_PATH": os.environ.get(
                    "ANSIBLE_COLLECTIONS_PATH", str(REPO / "build" / "collections"))})
    env.update(extra_env or {})
    proc = subprocess.run([str(MOLECULE), command, "-s", scenario], cwd=str(REPO), env=env, capture_output=True,
                          text=True, timeout=TIMEOUT, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def executed(output, scenario, step):
    """Molecule's DETAILS summary lists "<scenario> > <step>: Executed: Successful" ("➜" when coloured)."""
    pattern = re.compile(r"^%s (>|➜) %s: Executed: Successful" % (re.escape(scenario), re.escape(step)), re.MULTILINE)
    return bool(pattern.search(output))


@pytest.mark.parametrize("scenario", ["default", "oidc_cluster", "blob_csi_driver", "workload"])
def test_sandbox_scenario(tmp_path, scenario):
    rc, output = molecule(tmp_path, "test", scenario)
    assert rc == 0, output[-6000:]
    for step in ("create", "converge", "idempotence", "verify", "destroy"):
        assert executed(output, scenario, step), "%s did not run:\n%s" % (step, output[-4000:])
    # destroy stopped the scenario's sandbox and removed its files (secret included)
    assert not (tmp_path / "molecule" / "sandbox").exists()


def test_verify_fails_on_a_chain_that_is_not_keyless(tmp_path):
    """The default scenario's verify asserts real state: turn shared key access back on and it must fail."""
    try:
        rc, output = molecule(tmp_path, "converge", "default")
        assert rc == 0, output[-6000:]
        sbx = client.Sandbox.attach(str(tmp_path / "molecule" / "sandbox" / "connection.json"))
        account = next(r for r in sbx.state()["resources"] if r["type"] == "Microsoft.Storage/storageAccounts")
        sbx.merge_resource(account["id"], {"properties": {"allowSharedKeyAccess": True}})
        rc, output = molecule(tmp_path, "verify", "default")
        assert rc != 0
        assert "stkeylessmolecule01 is not keyless" in output
        assert sbx.counters()["list_keys"] == 0
    finally:
        molecule(tmp_path, "destroy", "default")


def test_azure_scenario_is_skipped_without_a_subscription(tmp_path):
    rc, output = molecule(tmp_path, "test", "azure")
    assert rc == 0, output[-6000:]
    assert "SKIPPED: the azure scenario needs AZURE_SUBSCRIPTION_ID" in output
    assert "skipping: no hosts matched" in output
    # no task of the site or teardown playbook ran (they matched no host)
    assert "TASK [Resource groups]" not in output and "TASK [Teardown was confirmed" not in output


def test_azure_scenario_runs_and_tears_down_against_a_custom_cloud(tmp_path, sandbox):
    """With a subscription and credentials (here the sandbox as a custom cloud), the azure scenario creates a
    cluster, converges, verifies, then its destroy step tears everything down, data and cluster included."""
    env = dict(sandbox.env(), KEYLESS_HELM_BINARY=sandbox.conn["helm_binary"])
    rc, output = molecule(tmp_path, "test", "azure", env)
    assert rc == 0, output[-8000:]
    for step in ("converge", "idempotence", "verify", "destroy"):
        assert executed(output, "azure", step), output[-4000:]
    assert "SKIPPED" not in output
    remaining = {r["type"] for r in sandbox.state()["resources"]}
    for gone in ("Microsoft.ContainerService/managedClusters", "Microsoft.Storage/storageAccounts",
                 "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials",
                 "Microsoft.Authorization/roleAssignments"):
        assert gone not in remaining, sorted(remaining)
    counters = sandbox.counters()
    assert counters["list_keys"] == 0
