"""pytest fixtures for tests that need the sandbox.

Load from a root conftest with `pytest_plugins = ["sandbox.pytest_plugin"]`.

  sandbox_session  session-scoped running sandbox (sandbox.client.Sandbox)
  sandbox          the same sandbox, reset (state, counters, log, faults, config) before the test
  sandbox_env      environment variables for an ansible-playbook run against it

LROs answer with Retry-After 0.1 by default here so tests stay fast; override with
SANDBOX_LRO_RETRY_AFTER, or per test with `sandbox.configure(lro_retry_after="1")`.
"""

import os

import pytest

from . import client


@pytest.fixture(scope="session")
def sandbox_session(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("sandbox")
    sbx = client.start(str(workdir), lro_retry_after=os.environ.get("SANDBOX_LRO_RETRY_AFTER", "0.1"))
    try:
        yield sbx
    finally:
        sbx.stop()


@pytest.fixture
def sandbox(sandbox_session):
    sandbox_session.reset()
    return sandbox_session


@pytest.fixture
def sandbox_env(sandbox):
    return sandbox.env()
