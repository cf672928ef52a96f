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
