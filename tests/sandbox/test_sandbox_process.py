"""The sandbox as a process: metadata discovery, loopback-only binding, TLS, keep-alive,
state persistence across restarts, and the CLI."""

import http.client
import json
import os
import ssl
import subprocess
import sys

import pytest
from sandbox_test_helpers import REPO_ROOT

from sandbox import client
from sandbox.sdk import client_kwargs
from sandbox.sdk import credential as make_credential


def get(conn, path):
    context = ssl.create_default_context(cafile=conn["ca_file"])
    connection = http.client.HTTPSConnection("127.0.0.1", int(conn["arm_url"].rsplit(":", 1)[1].strip("/")),
                                             context=context, timeout=10)
    connection.request("GET", path)
    response = connection.getresponse()
    return response.status, json.loads(response.read())


@pytest.mark.parametrize("version, login_suffix", [("2022-09-01", ""), ("2019-05-01", "/"), ("2020-06-01", "/")])
def test_metadata_list_and_object_formats(sandbox, conn, version, login_suffix):
    before = sandbox.counters()["metadata_requests"]
    status, body = get(conn, "/metadata/endpoints?api-version=%s" % version)
    if version >= "2022-09-01":  # one object, the serving cloud (azure-cli #29283)
        assert status == 200 and isinstance(body, dict)
        cloud = body
    else:
        assert status == 200 and isinstance(body, list) and len(body) == 1
        cloud = body[0]
    assert cloud["resourceManager"] == conn["arm_url"]
    assert cloud["authentication"] == {"loginEndpoint": conn["authority_host"].rstrip("/") + login_suffix,
                                       "audiences": [conn["arm_audience"]], "tenant": "common",
                                       "identityProvider": "AAD"}
    # Keys azure-cli's _arm_to_cli_mapper reads without a fallback.
    for key in ("name", "sqlManagement", "batch", "graph", "graphAudience",
                "vmImageAliasDoc", "media", "suffixes"):
        assert key in cloud, key
    assert "storage" in cloud["suffixes"]
    assert sandbox.counters()["metadata_requests"] == before + 1


@pytest.mark.parametrize("path", ["/metadata/endpoints?api-version=2015-01-01", "/metadata/endpoints",
                                  "//metadata/endpoints?api-version=2015-01-01"])  # ARM root + "/metadata"
def test_metadata_legacy_format(conn, path):
    status, body = get(conn, path)
    assert status == 200 and isinstance(body, dict)
    assert set(body) >= {"galleryEndpoint", "graphEndpoint", "portalEndpoint", "authentication"}
    assert body["authentication"] == {"loginEndpoint": conn["authority_host"] + "/",
                                      "audiences": [conn["arm_audience"]]}


def test_keep_alive_and_tls_trust(conn):
    context = ssl.create_default_context(cafile=conn["ca_file"])
    port = int(conn["arm_url"].rsplit(":", 1)[1].strip("/"))
    connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
    for _index in range(3):  # three requests, one TCP/TLS connection
        connection.request("GET", "/_sandbox/health")
        assert json.loads(connection.getresponse().read())["ok"] is True
    assert connection.sock is not None
    untrusting = ssl.create_default_context()  # system CAs only: the sandbox CA is not among them
    with pytest.raises(ssl.SSLCertVerificationError):
        bare = http.client.HTTPSConnection("127.0.0.1", port, context=untrusting, timeout=10)
        bare.request("GET", "/_sandbox/health")


def _listening_addresses(port):
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table, encoding="ascii") as handle:
                rows = handle.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            local, state = row.split()[1], row.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:  # 0A = LISTEN
                found.append(address)
    return found


def test_binds_loopback_only(conn):
    assert conn["arm_url"].startswith("https://127.0.0.1:")
    port = int(conn["arm_url"].rsplit(":", 1)[1].strip("/"))
    if not os.path.exists("/proc/net/tcp"):
        pytest.skip("no /proc/net/tcp")
    assert _listening_addresses(port) == ["0100007F"]  # 127.0.0.1, little-endian hex


def test_cli_refuses_non_loopback_host(tmp_path):
    result = subprocess.run([sys.executable, "-m", "sandbox", "--host", "0.0.0.0", "--connection-file",
                             str(tmp_path / "c.json")], check=False, cwd=REPO_ROOT, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "loopback" in result.stderr
    assert not (tmp_path / "c.json").exists()


def test_state_persists_across_restarts(tmp_path):
    from azure.mgmt.resource.resources import ResourceManagementClient
    state_file = tmp_path / "state.json"
    with client.start(str(tmp_path / "run"), state_file=str(state_file)) as first:
        conn = first.conn
        rm = ResourceManagementClient(make_credential(conn), conn["subscription_id"], **client_kwargs(conn))
        rm.resource_groups.create_or_update("rg-kept", {"location": "eastus", "tags": {"k": "v"}})
        saved = json.loads(state_file.read_text())
        assert [r["name"] for r in saved["resources"]] == ["rg-kept"]
        assert "client_secret" not in state_file.read_text() and conn["client_secret"] not in state_file.read_text()
    assert not os.path.exists(first.connection_file)  # removed on clean shutdown
    with client.start(str(tmp_path / "run"), state_file=str(state_file)) as second:
        again = second.conn
        assert (again["tenant_id"], again["subscription_id"], again["client_id"]) == \
            (conn["tenant_id"], conn["subscription_id"], conn["client_id"])
        assert again["client_secret"] != conn["client_secret"]
        rm = ResourceManagementClient(make_credential(again), again["subscription_id"], **client_kwargs(again))
        assert rm.resource_groups.get("rg-kept").tags == {"k": "v"}


def test_client_cli_env(sandbox_session):
    result = subprocess.run([sys.executable, "-m", "sandbox.client", "--connection-file",
                             sandbox_session.connection_file, "env"], check=False, cwd=REPO_ROOT, capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 0
    assert f"export AZURE_CLOUD_ENVIRONMENT={sandbox_session.conn['metadata_url']}" in result.stdout.replace("'", "")
    assert set(sandbox_session.env()) >= {"AZURE_CLIENT_ID", "AZURE_SECRET", "AZURE_TENANT", "AZURE_SUBSCRIPTION_ID",
                                          "AZURE_CLOUD_ENVIRONMENT", "REQUESTS_CA_BUNDLE"}
