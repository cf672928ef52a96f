"""The sandbox's minimal Blob data plane with the real azure-storage-blob and azure-identity, and the same calls
cross-checked against Azurite (HTTPS, --oauth basic)."""

import base64
import json
import socket
import subprocess
import time
import urllib.request
import uuid

import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError
from azure.identity import ManagedIdentityCredential
from azure.storage.blob import BlobServiceClient

from sandbox import tls, tools

RG, ACCOUNT, CONTAINER, LOCATION = "rg-blobdp", "stblobdp1", "data", "westeurope"
ROLES = {"Storage Blob Data Contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
         "Storage Blob Data Reader": "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
         "Reader": "acdd72a7-3385-48ef-bd42-f606fba81ae7"}


@pytest.fixture
def world(sandbox, conn, rm_client, storage_client, msi_client, monkeypatch):
    """Account (shared key off) + container `data` + a user-assigned identity whose storage tokens come from the
    sandbox's managed identity endpoint (App Service protocol)."""
    rm_client.resource_groups.create_or_update(RG, {"location": LOCATION})
    account = storage_client.storage_accounts.begin_create(RG, ACCOUNT, {
        "location": LOCATION, "kind": "StorageV2", "sku": {"name": "Standard_LRS"},
        "properties": {"allowSharedKeyAccess": False}}).result()
    storage_client.blob_containers.create(RG, ACCOUNT, CONTAINER, {})
    identity = msi_client.user_assigned_identities.create_or_update(RG, "id-blob", {"location": LOCATION})
    monkeypatch.setenv("IDENTITY_ENDPOINT", conn["msi_endpoint"])
    monkeypatch.setenv("IDENTITY_HEADER", conn["msi_identity_header"])
    for name in ("IDENTITY_SERVER_THUMBPRINT", "MSI_ENDPOINT", "MSI_SECRET", "IMDS_ENDPOINT",
                 "AZURE_FEDERATED_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    cred = ManagedIdentityCredential(client_id=identity.client_id, connection_verify=conn["ca_file"])
    return {"account": account, "identity": identity, "cred": cred}


def _grant(auth_client, conn, world, role, scope):
    auth_client.role_assignments.create(scope, str(uuid.uuid4()), {"properties": {
        "roleDefinitionId": f"/subscriptions/{conn['subscription_id']}/providers/Microsoft.Authorization/"
                            f"roleDefinitions/{ROLES[role]}",
        "principalId": world["identity"].principal_id, "principalType": "ServicePrincipal"}})


def _container(conn, world, credential=None, container=CONTAINER):
    service = BlobServiceClient(world["account"].primary_endpoints.blob, credential=credential or world["cred"],
                                connection_verify=conn["ca_file"])
    return service.get_container_client(container)


def exercise(container_client, name="hello.txt", data=b"keyless blob\n") -> dict:
    """The data-plane calls run against the sandbox and against Azurite alike."""
    container_client.upload_blob(name, data, overwrite=True)
    props = container_client.get_container_properties()
    listed = [b.name for b in container_client.list_blobs(name_starts_with=name)]
    body = container_client.download_blob(name).readall()
    size = container_client.get_blob_client(name).get_blob_properties().size
    return {"etag": bool(props.etag), "listed": listed, "body": body, "size": size}


def test_primary_endpoint_is_path_style_on_the_sandbox(conn, world):
    assert world["account"].primary_endpoints.blob == conn["arm_url"] + f"_storage/{ACCOUNT}/blob/"
    client = _container(conn, world)
    assert client.url == conn["arm_url"] + f"_storage/{ACCOUNT}/blob/{CONTAINER}"


def test_contributor_puts_gets_lists_and_deletes(sandbox, conn, auth_client, world):
    _grant(auth_client, conn, world, "Storage Blob Data Contributor", world["account"].id)  # account scope
    client = _container(conn, world)
    before = sandbox.counters()
    assert exercise(client, "dir/a.txt") == {"etag": True, "listed": ["dir/a.txt"], "body": b"keyless blob\n",
                                             "size": 13}
    client.upload_blob("dir/b.bin", bytes(range(256)))
    assert client.download_blob("dir/b.bin").readall() == bytes(range(256))
    assert client.download_blob("dir/b.bin", offset=10, length=5).readall() == bytes(range(10, 15))
    pages = client.list_blobs(results_per_page=1).by_page()
    assert [[b.name for b in page] for page in pages] == [["dir/a.txt"], ["dir/b.bin"]]  # NextMarker paging
    client.delete_blob("dir/a.txt")
    assert [b.name for b in client.list_blobs()] == ["dir/b.bin"]
    with pytest.raises(ResourceNotFoundError) as missing:
        client.get_blob_client("dir/a.txt").get_blob_properties()
    assert missing.value.status_code == 404
    with pytest.raises(ResourceNotFoundError) as missing:
        client.download_blob("dir/a.txt").readall()
    assert missing.value.error_code == "BlobNotFound"
    after = sandbox.counters()
    assert after["storage_data"]["writes"] - before["storage_data"]["writes"] == 3  # two Put Blob, one Delete Blob
    assert after["storage_data"]["by_operation"]["PutBlob"] == 2
    assert after["reads"] == before["reads"] and after["writes"] == before["writes"]  # not ARM traffic
    logged = {r["kind"] for r in sandbox.requests() if r["path"].startswith("/_storage/")}
    assert logged == {"storage_data"}


def test_reader_reads_but_cannot_write(sandbox, conn, auth_client, world):
    _grant(auth_client, conn, world, "Storage Blob Data Contributor", world["account"].id)
    _container(conn, world).upload_blob("seed.txt", b"seed")
    reader_scope = f"{world['account'].id}/blobServices/default/containers/{CONTAINER}"
    other = _other_identity(conn, world, auth_client, "Storage Blob Data Reader", reader_scope)
    client = _container(conn, world, credential=other)
    assert client.get_container_properties().name == CONTAINER
    assert [b.name for b in client.list_blobs()] == ["seed.txt"]
    assert client.download_blob("seed.txt").readall() == b"seed"
    with pytest.raises(HttpResponseError) as denied:
        client.upload_blob("new.txt", b"x")
    assert denied.value.status_code == 403 and denied.value.error_code == "AuthorizationPermissionMismatch"
    assert "This request is not authorized to perform this operation using this permission." in denied.value.message
    with pytest.raises(HttpResponseError) as denied:
        client.delete_blob("seed.txt")
    assert denied.value.status_code == 403
    assert sandbox.counters()["storage_data"]["forbidden"] == 2


def _other_identity(conn, world, auth_client, role, scope):
    from azure.mgmt.msi import ManagedServiceIdentityClient
    from sandbox import sdk
    msi = ManagedServiceIdentityClient(sdk.credential(conn), conn["subscription_id"], **sdk.client_kwargs(conn))
    identity = msi.user_assigned_identities.create_or_update(RG, "id-reader", {"location": LOCATION})
    auth_client.role_assignments.create(scope, str(uuid.uuid4()), {"properties": {
        "roleDefinitionId": f"/subscriptions/{conn['subscription_id']}/providers/Microsoft.Authorization/"
                            f"roleDefinitions/{ROLES[role]}",
        "principalId": identity.principal_id, "principalType": "ServicePrincipal"}})
    return ManagedIdentityCredential(client_id=identity.client_id, connection_verify=conn["ca_file"])


def test_no_role_or_control_plane_role_is_403(conn, auth_client, world):
    client = _container(conn, world)
    with pytest.raises(HttpResponseError) as denied:
        client.get_container_properties()
    assert denied.value.status_code == 403 and denied.value.error_code == "AuthorizationPermissionMismatch"
    _grant(auth_client, conn, world, "Reader", f"/subscriptions/{conn['subscription_id']}")  # actions only
    with pytest.raises(HttpResponseError) as denied:
        list(client.list_blobs())
    assert denied.value.status_code == 403


def test_subscription_scope_role_counts_and_missing_container_is_404(conn, auth_client, world):
    _grant(auth_client, conn, world, "Storage Blob Data Reader", f"/subscriptions/{conn['subscription_id']}")
    with pytest.raises(ResourceNotFoundError) as missing:
        _container(conn, world, container="nothere").get_container_properties()
    assert missing.value.error_code == "ContainerNotFound"
    with pytest.raises(ResourceNotFoundError) as missing:
        _container(conn, world).download_blob("absent.txt").readall()
    assert missing.value.error_code == "BlobNotFound"


def test_shared_key_is_refused_when_the_account_disallows_it(conn, storage_client, world):
    from azure.storage.blob import ContainerClient
    key = "a2V5bGVzcy1zYW5kYm94LW5vdC1hLXJlYWwta2V5LTAwMDAwMDAwMDAwMDAwMDA="
    client = ContainerClient(world["account"].primary_endpoints.blob, CONTAINER,
                             credential={"account_name": ACCOUNT, "account_key": key},
                             connection_verify=conn["ca_file"])
    with pytest.raises(HttpResponseError) as refused:
        client.get_container_properties()
    assert refused.value.status_code == 403 and refused.value.error_code == "KeyBasedAuthenticationNotPermitted"


def test_missing_and_invalid_tokens_are_401_with_the_storage_challenge(sandbox, conn, world):
    url = world["account"].primary_endpoints.blob + CONTAINER + "?restype=container"
    for header, code in ((None, "NoAuthenticationInformation"), ("Bearer not-a-token", "InvalidAuthenticationInfo")):
        status, headers, body = _raw(conn, url, header)
        assert (status, headers["x-ms-error-code"]) == (401, code)
        assert headers["WWW-Authenticate"] == (f"Bearer authorization_uri={conn['authority_host']}/"
                                               f"{conn['tenant_id']}/oauth2/authorize "
                                               f"resource_id=https://storage.azure.com")
        assert body.startswith(f'<?xml version="1.0" encoding="utf-8"?><Error><Code>{code}</Code>'.encode())
        assert headers["x-ms-request-id"].encode() in body
    arm_token = _static(world["cred"].get_token(conn["arm_scope"]).token)  # wrong audience
    with pytest.raises(ClientAuthenticationError) as wrong:
        _container(conn, world, credential=arm_token).get_container_properties()
    assert wrong.value.status_code == 401 and wrong.value.error_code == "InvalidAuthenticationInfo"
    assert sandbox.counters()["storage_data"]["unauthorized"] >= 3


def test_challenge_makes_the_sdk_fetch_a_storage_token(conn, auth_client, world):
    """azure-storage-blob answers a 401 challenge by asking for resource_id + "/.default" and retrying once."""
    _grant(auth_client, conn, world, "Storage Blob Data Reader", world["account"].id)
    service = BlobServiceClient(world["account"].primary_endpoints.blob, credential=world["cred"],
                                connection_verify=conn["ca_file"], audience=conn["arm_audience"])
    assert service.get_container_client(CONTAINER).get_container_properties().name == CONTAINER


def test_probe_blobs_and_data_plane_share_one_store(sandbox, conn, auth_client, world):
    _grant(auth_client, conn, world, "Storage Blob Data Contributor", world["account"].id)
    _container(conn, world).upload_blob("from-sdk.txt", b"sdk\n")
    blobs = sandbox.call("GET", "/kubelet/blobs")["containers"]
    scope = f"{world['account'].id}/blobServices/default/containers/{CONTAINER}"
    assert blobs[scope]["from-sdk.txt"]["content"] == "sdk\n"
    assert blobs[scope]["from-sdk.txt"]["written_by"] == world["identity"].client_id


def test_unemulated_blob_operation_is_501(conn, world):
    status, headers, _body = _raw(conn, world["account"].primary_endpoints.blob + "?comp=list", None, method="GET")
    assert (status, headers["x-ms-error-code"]) == (501, "APINotImplemented")


# ---------------------------------------------------------------------- Azurite cross-check
def test_same_calls_are_accepted_by_azurite(conn, auth_client, world, tmp_path):
    try:
        launcher = tools.azurite()
    except tools.ToolsUnavailable as exc:
        pytest.skip(f"azurite unavailable: {exc}")
    _grant(auth_client, conn, world, "Storage Blob Data Contributor", world["account"].id)
    expected = {"etag": True, "listed": ["hello.txt"], "body": b"keyless blob\n", "size": 13}
    assert exercise(_container(conn, world)) == expected
    files = tls.ensure_certificates(str(tmp_path / "azurite-tls"))
    with _azurite(launcher, files, tmp_path) as url:
        # --oauth basic: a well-formed JWT, aud storage, iss with an Entra STS prefix, iat/nbf/exp; no signature
        # check (Azurite src/blob/authentication/BlobTokenAuthenticator.ts, VALID_ISSUE_PREFIXES).
        cred = _static(_unsigned_jwt(conn["tenant_id"]))
        service = BlobServiceClient(url, credential=cred, connection_verify=files.ca_file)
        service.create_container(CONTAINER)  # not emulated by the sandbox: created there through ARM
        assert exercise(service.get_container_client(CONTAINER)) == expected
        with pytest.raises(ResourceNotFoundError) as missing:
            service.get_container_client(CONTAINER).download_blob("absent.txt").readall()
        assert missing.value.error_code == "BlobNotFound"
        status, headers, _body = _raw({"ca_file": files.ca_file}, f"{url}/{CONTAINER}?restype=container", None)
        # Azurite answers an anonymous request on a private container 403 AuthorizationFailure without a challenge;
        # the sandbox answers 401 NoAuthenticationInformation with Storage's bearer challenge (see the 401 test).
        assert (status, headers["x-ms-error-code"]) == (403, "AuthorizationFailure")


class _azurite:
    def __init__(self, launcher, files, tmp_path):
        self.launcher, self.files, self.tmp = launcher, files, tmp_path

    def __enter__(self):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        cmd = [self.launcher, "--blobHost", "127.0.0.1", "--blobPort", str(port), "--silent",
               "--inMemoryPersistence", "--oauth", "basic",
               "--cert", self.files.cert_file, "--key", self.files.key_file, "--skipApiVersionCheck",
               "--disableTelemetry"]
        self.log = open(self.tmp / "azurite.log", "wb")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, cwd=self.tmp)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError((self.tmp / "azurite.log").read_text()[-2000:])
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return f"https://127.0.0.1:{port}/devstoreaccount1"
            except OSError:
                time.sleep(0.2)
        self.__exit__(None, None, None)
        raise AssertionError("azurite did not listen within 60 s")

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.log.close()


class _static:
    def __init__(self, token):
        self.token = token

    def get_token(self, *scopes, **kwargs):
        return AccessToken(self.token, int(time.time()) + 3000)


def _unsigned_jwt(tenant_id) -> str:
    def b64(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()
    now = int(time.time())
    claims = {"aud": "https://storage.azure.com", "iss": f"https://sts.windows.net/{tenant_id}/", "iat": now - 60,
              "nbf": now - 60, "exp": now + 3000, "oid": str(uuid.uuid4()), "tid": tenant_id, "ver": "1.0"}
    return f"{b64({'alg': 'RS256', 'typ': 'JWT'})}.{b64(claims)}.{b64('not-signed')}"


def _raw(conn, url, authorization, method="GET"):
    import ssl
    request = urllib.request.Request(url, method=method, headers={"x-ms-version": "2025-11-05",
                                                                  **({"Authorization": authorization}
                                                                     if authorization else {})})
    context = ssl.create_default_context(cafile=conn["ca_file"])
    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context),
                                         urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_the_doctors_data_plane_calls_are_accepted_by_the_sandbox_and_by_azurite(conn, auth_client, world, tmp_path):
    """keyless.aks_storage's doctor probe (plugins/module_utils/blob_probe.py): list one blob, write and delete a
    probe blob; both services accept the same requests and the probe leaves no blob behind."""
    from ansible_collections.keyless.aks_storage.plugins.module_utils.blob_probe import PROBE_PREFIX, blob_probe
    try:
        launcher = tools.azurite()
    except tools.ToolsUnavailable as exc:
        pytest.skip(f"azurite unavailable: {exc}")
    _grant(auth_client, conn, world, "Storage Blob Data Contributor", world["account"].id)
    requests = []

    def probe(container_client):
        done = blob_probe(container_client, write=True, count=requests.append)
        assert [b.name for b in container_client.list_blobs(name_starts_with=PROBE_PREFIX)] == []
        return [step.split(PROBE_PREFIX)[0] for step in done]

    expected = ["list blobs (0 shown)", "write and delete "]
    assert probe(_container(conn, world)) == expected and sum(requests) == 3
    files = tls.ensure_certificates(str(tmp_path / "azurite-tls"))
    with _azurite(launcher, files, tmp_path) as url:
        service = BlobServiceClient(url, credential=_static(_unsigned_jwt(conn["tenant_id"])),
                                    connection_verify=files.ca_file)
        service.create_container(CONTAINER)
        assert probe(service.get_container_client(CONTAINER)) == expected and sum(requests) == 6
