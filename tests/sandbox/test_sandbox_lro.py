"""The generic LRO helper in both ARM styles, driven by azure-core's ARMPolling against an
in-process sandbox with two test-only resource types."""

import copy
import json
import threading

import pytest
from azure.core.exceptions import HttpResponseError
from azure.core.pipeline.policies import RequestIdPolicy, RetryPolicy
from azure.core.pipeline.transport import RequestsTransport
from azure.core.polling import LROPoller
from azure.core.rest import HttpRequest
from azure.mgmt.core import ARMPipelineClient
from azure.mgmt.core.policies import ARMChallengeAuthenticationPolicy
from azure.mgmt.core.polling.arm_polling import ARMPolling

from sandbox.app import App
from sandbox.arm.stored import StoredResourceType
from sandbox.sdk import credential as make_credential
from sandbox.server import SandboxHTTPServer
from sandbox.tls import ensure_certificates, server_context

NS = "Microsoft.SandboxTest"


class Widgets(StoredResourceType):
    """Azure-AsyncOperation style PUT (like managed clusters)."""
    type_name = f"{NS}/widgets"
    api_versions = ("2024-01-01",)

    def put(self, call):
        record = {"id": call.id, "name": call.name, "type": self.type_name, "location": "eastus",
                  "properties": {"provisioningState": "Creating"}}
        call.store.put(record)

        def complete():
            record["properties"]["provisioningState"] = "Succeeded"
            return 200, record

        def on_fail(_error):
            record["properties"]["provisioningState"] = "Failed"

        return call.begin_lro(style="azure-async", complete=complete, on_fail=on_fail, namespace=NS,
                              location="eastus", running_body=copy.deepcopy(record))


class Gizmos(StoredResourceType):
    """Location style PUT: 202, 202, then 200 with the body (like storage accounts)."""
    type_name = f"{NS}/gizmos"
    api_versions = ("2024-01-01",)

    def put(self, call):
        record = {"id": call.id, "name": call.name, "type": self.type_name, "location": "eastus",
                  "properties": {"provisioningState": "Succeeded"}}

        def complete():
            call.store.put(record)
            return 200, record

        return call.begin_lro(style="location", complete=complete, namespace=NS, location="eastus")


@pytest.fixture(scope="module")
def local_app(tmp_path_factory):
    workdir = str(tmp_path_factory.mktemp("lro"))
    app = App(workdir=workdir, lro_retry_after="0.05")
    app.registry.register(Widgets())
    app.registry.register(Gizmos())
    tls = ensure_certificates(workdir)
    server = SandboxHTTPServer(("127.0.0.1", 0), app, server_context(tls))
    app.bind("127.0.0.1", server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    yield app, app.connection_info(tls)
    server.shutdown()
    server.server_close()


@pytest.fixture
def arm(local_app):
    app, conn = local_app
    app.store.reset()
    credential = make_credential(conn)
    client = ARMPipelineClient(base_url=conn["arm_url"], policies=[
        RequestIdPolicy(), RetryPolicy(retry_total=0), ARMChallengeAuthenticationPolicy(credential, conn["arm_scope"])],
        transport=RequestsTransport(connection_verify=conn["ca_file"]))
    client.put_rg = lambda: client.send_request(HttpRequest(
        "PUT", f"{conn['arm_url']}subscriptions/{conn['subscription_id']}/resourcegroups/rg?api-version=2025-04-01",
        json={"location": "eastus"}))
    client.put_rg().raise_for_status()
    client.rg_id = f"/subscriptions/{conn['subscription_id']}/resourceGroups/rg"
    client.base = f"{conn['arm_url']}{client.rg_id.lstrip('/')}/providers/{NS}"
    return app, client


def begin_put(client, url):
    initial = client._pipeline.run(HttpRequest("PUT", url, json={"location": "eastus"}))
    return initial, LROPoller(client, initial, lambda r: json.loads(r.http_response.text()),
                              ARMPolling(timeout=30))


def test_azure_async_operation_style(arm):
    app, client = arm
    app.store.config["lro_polls"] = 2
    initial, poller = begin_put(client, f"{client.base}/widgets/w1?api-version=2024-01-01")
    assert initial.http_response.status_code == 201
    assert initial.http_response.headers["Azure-AsyncOperation"].startswith(client._base_url)
    assert json.loads(initial.http_response.text())["properties"]["provisioningState"] == "Creating"
    result = poller.result(timeout=10)
    assert result["properties"]["provisioningState"] == "Succeeded"
    assert app.store.totals["lro_polls"] == 3


def test_azure_async_operation_failure(arm):
    app, client = arm
    from sandbox import faults
    faults.add_rule(app.store, {"method": "PUT", "path": "widgets/w2", "lro_fail": True,
                                "code": "QuotaExceeded", "message": "no more widgets"})
    _response, poller = begin_put(client, f"{client.base}/widgets/w2?api-version=2024-01-01")
    with pytest.raises(HttpResponseError) as info:
        poller.result(timeout=10)
    assert "QuotaExceeded" in str(info.value)
    widget = app.store.get(f"{client.rg_id}/providers/{NS}/widgets/w2")
    assert widget["properties"]["provisioningState"] == "Failed"


def test_location_style_put(arm):
    app, client = arm
    app.store.config["lro_polls"] = 1
    initial, poller = begin_put(client, f"{client.base}/gizmos/g1?api-version=2024-01-01")
    assert initial.http_response.status_code == 202 and initial.http_response.headers["Retry-After"] == "1"
    assert poller.result(timeout=10)["name"] == "g1"
    polls = [e["status"] for e in app.store.requests() if e["kind"] == "poll"]
    assert polls == [202, 200]
