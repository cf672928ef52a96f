"""Fixtures for the sandbox's own tests: real azure-identity credentials and azure-mgmt clients
pointed at the sandbox (custom authority, custom ARM URL and audience, sandbox CA)."""

import os
import sys

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from sandbox import sdk
from sandbox.client import _no_proxy


def pytest_configure(config):
    # Reuse the plugin if the root conftest already loaded it (one sandbox per session).
    if not config.pluginmanager.has_plugin("sandbox.pytest_plugin"):
        config.pluginmanager.import_plugin("sandbox.pytest_plugin")
    # Loopback traffic never goes through an environment proxy.
    os.environ.update(_no_proxy({k: os.environ.get(k, "") for k in ("NO_PROXY", "no_proxy")}))


@pytest.fixture
def conn(sandbox):
    return sandbox.conn


@pytest.fixture
def credential(conn):
    # Function-scoped: some tests expire every issued token.
    return sdk.credential(conn)


@pytest.fixture
def rm_client(conn, credential):
    from azure.mgmt.resource.resources import ResourceManagementClient
    return ResourceManagementClient(credential, conn["subscription_id"], **sdk.client_kwargs(conn))


@pytest.fixture
def aks_client(conn, credential):
    from azure.mgmt.containerservice import ContainerServiceClient
    return ContainerServiceClient(credential, conn["subscription_id"], **sdk.client_kwargs(conn))


@pytest.fixture
def msi_client(conn, credential):
    from azure.mgmt.msi import ManagedServiceIdentityClient
    return ManagedServiceIdentityClient(credential, conn["subscription_id"], **sdk.client_kwargs(conn))


@pytest.fixture
def storage_client(conn, credential):
    from azure.mgmt.storage import StorageManagementClient
    return StorageManagementClient(credential, conn["subscription_id"], **sdk.client_kwargs(conn))


@pytest.fixture
def auth_client(conn, credential):
    from azure.mgmt.authorization import AuthorizationManagementClient
    return AuthorizationManagementClient(credential, conn["subscription_id"], **sdk.client_kwargs(conn))


@pytest.fixture
def kube(sandbox, tmp_path):
    """A fresh standalone emulated Kubernetes cluster (the sandbox fixture resets state first)."""
    from k8s_test_helpers import EmulatedCluster
    return EmulatedCluster(sandbox, tmp_path)


@pytest.fixture(scope="session")
def kube_tools():
    """Real kubectl and helm (sandbox.tools), or the test is skipped."""
    from sandbox import tools
    try:
        return tools.kube_tools()
    except tools.ToolsUnavailable as exc:
        pytest.skip(f"kubectl/helm unavailable: {exc}")


@pytest.fixture
def kubectl(kube_tools, kube, tmp_path):
    """Run the real kubectl against the ``kube`` cluster: ``kubectl("get", "ns", stdin=None, check=True)``."""
    import subprocess
    env = dict(os.environ, KUBECONFIG=kube.kubeconfig, HOME=str(tmp_path))

    def run(*args, stdin=None, check=True):
        result = subprocess.run([kube_tools["kubectl"], "--cache-dir", str(tmp_path / "kube-cache"), *args],
                                check=False, input=stdin, capture_output=True, text=True, env=env, timeout=60)
        if check:
            assert result.returncode == 0, result.stderr
        return result
    return run
