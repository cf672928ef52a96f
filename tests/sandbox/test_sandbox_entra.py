"""Entra ID stand-in driven by real azure-identity credentials."""

import uuid

import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import ManagedIdentityCredential
from sandbox_test_helpers import get_json

from sandbox import jose, sdk
from sandbox.sdk import client_kwargs

SA_SUBJECT = "system:serviceaccount:apps:blob-reader"


def claims_of(token):
    return jose.decode_unverified(token).claims


def workload_credential(conn, tmp_path, token, client_id=None):
    token_file = tmp_path / "sa-token"
    token_file.write_text(token)
    return sdk.workload_credential(conn, str(token_file), client_id=client_id)


def test_client_secret_token(sandbox, conn, credential):
    token = credential.get_token(conn["arm_scope"])
    claims = claims_of(token.token)
    assert claims["aud"].rstrip("/") == conn["arm_audience"].rstrip("/")
    assert claims["tid"] == conn["tenant_id"] and claims["appid"] == conn["client_id"]
    assert claims["oid"] == conn["app_object_id"]
    counters = sandbox.counters()
    assert counters["token_requests"] == 1
    assert counters["token_requests_by_grant"] == {"client_secret": 1}
    kinds = [r["kind"] for r in sandbox.requests() if r["kind"] != "control"]
    assert kinds == ["discovery", "token"]  # MSAL: openid-configuration, then the token endpoint


def test_wrong_secret_is_aadsts7000215(conn):
    with pytest.raises(ClientAuthenticationError, match="AADSTS7000215"):
        sdk.credential(conn, secret="not-the-secret").get_token(conn["arm_scope"])


def test_unknown_client_is_aadsts700016(conn):
    from azure.identity import ClientSecretCredential
    cred = ClientSecretCredential(conn["tenant_id"], str(uuid.uuid4()), "x", authority=conn["authority_host"],
                                  disable_instance_discovery=True, connection_verify=conn["ca_file"])
    with pytest.raises(ClientAuthenticationError, match="AADSTS700016"):
        cred.get_token(conn["arm_scope"])


def test_unknown_resource_is_aadsts500011(conn, credential):
    with pytest.raises(ClientAuthenticationError, match="AADSTS500011"):
        credential.get_token("https://vault.example.invalid/.default")


@pytest.mark.parametrize("tail", [".default", "/.default"])  # aud = everything before the last "/.default"
def test_arm_url_scope_is_issued_for_the_arm_url(conn, credential, tail):
    claims = claims_of(credential.get_token(conn["arm_url"] + tail).token)
    assert claims["aud"] == (conn["arm_url"] + tail)[:-len("/.default")]
    assert claims["aud"].rstrip("/") == conn["arm_url"].rstrip("/")


def test_near_misses_of_the_arm_url_are_still_aadsts500011(conn, credential):
    host, port = conn["arm_url"].rstrip("/").rsplit(":", 1)
    for resource in (f"{host}:{int(port) + 1}/", conn["arm_url"] + "subscriptions/", "https://127.0.0.1/"):
        with pytest.raises(ClientAuthenticationError, match="AADSTS500011"):
            credential.get_token(resource + ".default")


def test_unknown_tenant_discovery_is_aadsts90002(conn):
    status, body = get_json(conn, f"{conn['authority_host']}/{uuid.uuid4()}/v2.0/.well-known/openid-configuration")
    assert status == 400 and body["error_codes"] == [90002]


def test_discovery_document(conn):
    status, body = get_json(conn, f"{conn['authority_host']}/{conn['tenant_id']}/v2.0/.well-known/openid-configuration")
    assert status == 200
    assert body["token_endpoint"] == f"{conn['authority_host']}/{conn['tenant_id']}/oauth2/v2.0/token"
    status, keys = get_json(conn, body["jwks_uri"])
    assert status == 200 and keys["keys"][0]["kty"] == "RSA"


# ---------------------------------------------------------------- workload identity federation
def test_workload_identity_for_app(sandbox, conn, tmp_path, msi_client):
    issuer = sandbox.issuer_url("aks1")
    sandbox.add_app_federated_credential(issuer, SA_SUBJECT)
    cred = workload_credential(conn, tmp_path, sandbox.mint_sa_token(SA_SUBJECT, issuer=issuer))
    token = cred.get_token(conn["arm_scope"])
    assert claims_of(token.token)["appid"] == conn["client_id"]
    assert sandbox.counters()["token_requests_by_grant"] == {"client_assertion": 1}
    # The federated token is accepted by ARM.
    from azure.mgmt.msi import ManagedServiceIdentityClient
    client = ManagedServiceIdentityClient(cred, conn["subscription_id"], **client_kwargs(conn))
    assert list(client.user_assigned_identities.list_by_subscription()) == []


def test_workload_identity_subject_mismatch_is_aadsts700213(sandbox, conn, tmp_path):
    issuer = sandbox.issuer_url("aks1")
    sandbox.add_app_federated_credential(issuer, SA_SUBJECT)
    cred = workload_credential(conn, tmp_path,
                               sandbox.mint_sa_token("system:serviceaccount:apps:other", issuer=issuer))
    with pytest.raises(ClientAuthenticationError, match="AADSTS700213"):
        cred.get_token(conn["arm_scope"])


def test_workload_identity_issuer_trailing_slash_is_aadsts700213(sandbox, conn, tmp_path):
    issuer = sandbox.issuer_url("aks1")  # ends with "/", like AKS issuer URLs
    sandbox.add_app_federated_credential(issuer.rstrip("/"), SA_SUBJECT)
    cred = workload_credential(conn, tmp_path, sandbox.mint_sa_token(SA_SUBJECT, issuer=issuer))
    with pytest.raises(ClientAuthenticationError, match="AADSTS700213") as info:
        cred.get_token(conn["arm_scope"])
    assert "trailing slash" in str(info.value)


def test_workload_identity_expired_assertion_is_aadsts700024(sandbox, conn, tmp_path):
    issuer = sandbox.issuer_url("aks1")
    sandbox.add_app_federated_credential(issuer, SA_SUBJECT)
    cred = workload_credential(conn, tmp_path, sandbox.mint_sa_token(SA_SUBJECT, issuer=issuer, ttl=-900))
    with pytest.raises(ClientAuthenticationError, match="AADSTS700024"):
        cred.get_token(conn["arm_scope"])


def test_workload_identity_foreign_issuer_rejected(sandbox, conn, tmp_path):
    from cryptography.hazmat.primitives.asymmetric import rsa
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    sandbox.add_app_federated_credential("https://issuer.example.invalid/", SA_SUBJECT)
    forged = jose.encode_rs256({"iss": "https://issuer.example.invalid/", "sub": SA_SUBJECT,
                                "aud": ["api://AzureADTokenExchange"], "exp": 4102444800}, key, "k1")
    with pytest.raises(ClientAuthenticationError, match="AADSTS700211"):
        workload_credential(conn, tmp_path, forged).get_token(conn["arm_scope"])


def test_workload_identity_for_user_assigned_identity(sandbox, conn, tmp_path, rm_client, msi_client):
    rm_client.resource_groups.create_or_update("rg-wi", {"location": "eastus"})
    identity = msi_client.user_assigned_identities.create_or_update("rg-wi", "id-wi", {"location": "eastus"})
    issuer = sandbox.issuer_url("cluster-a")
    msi_client.federated_identity_credentials.create_or_update(
        "rg-wi", "id-wi", "fic-a", {"issuer": issuer, "subject": SA_SUBJECT, "audiences": ["api://AzureADTokenExchange"]})
    cred = workload_credential(conn, tmp_path, sandbox.mint_sa_token(SA_SUBJECT, issuer=issuer),
                               client_id=identity.client_id)
    claims = claims_of(cred.get_token(conn["arm_scope"]).token)
    assert claims["appid"] == identity.client_id and claims["oid"] == identity.principal_id
    assert claims["xms_mirid"] == identity.id


def test_oidc_issuer_discovery_and_jwks_verify_minted_token(sandbox, conn):
    import jwt  # PyJWT (an msal dependency): an independent check of the RS256 signature
    issuer = sandbox.issuer_url("aks1")
    status, discovery = get_json(conn, issuer + ".well-known/openid-configuration")
    assert status == 200 and discovery["issuer"] == issuer
    status, jwks = get_json(conn, discovery["jwks_uri"])
    token = sandbox.mint_sa_token(SA_SUBJECT, issuer=issuer)
    key = jwt.PyJWK(jwks["keys"][0]).key
    claims = jwt.decode(token, key, algorithms=["RS256"], audience="api://AzureADTokenExchange", issuer=issuer)
    assert claims["sub"] == SA_SUBJECT
    assert claims["kubernetes.io"]["serviceaccount"]["name"] == "blob-reader"


def test_exchange_assertion_is_reusable_in_process(tmp_path):
    """The function a later Kubernetes 'kubelet' reuses, without any HTTP."""
    from sandbox.app import App
    from sandbox.entra import EntraError
    app = App(workdir=str(tmp_path))
    app.bind("127.0.0.1", 1)
    issuer = app.oidc.issuer_url("aks1")
    app.store.app_federated_credentials.append(
        {"name": "c", "issuer": issuer, "subject": SA_SUBJECT, "audiences": ["api://AzureADTokenExchange"]})
    principal = app.entra.exchange_assertion(app.client_id, app.oidc.mint(issuer, SA_SUBJECT))
    assert principal["object_id"] == app.app_object_id
    with pytest.raises(EntraError) as info:
        app.entra.exchange_assertion(app.client_id, app.oidc.mint(issuer, "system:serviceaccount:x:y"))
    assert info.value.code == 700213


# ---------------------------------------------------------------- managed identity (App Service protocol)
@pytest.fixture
def msi_env(conn, monkeypatch):
    monkeypatch.setenv("IDENTITY_ENDPOINT", conn["msi_endpoint"])
    monkeypatch.setenv("IDENTITY_HEADER", conn["msi_identity_header"])
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", conn["ca_file"])
    for name in ("IDENTITY_SERVER_THUMBPRINT", "MSI_ENDPOINT", "MSI_SECRET", "IMDS_ENDPOINT",
                 "AZURE_FEDERATED_TOKEN_FILE", "AZURE_POD_IDENTITY_AUTHORITY_HOST"):
        monkeypatch.delenv(name, raising=False)


def test_managed_identity_app_service_protocol(sandbox, conn, msi_env, rm_client, msi_client):
    cred = ManagedIdentityCredential(connection_verify=conn["ca_file"])
    claims = claims_of(cred.get_token(conn["arm_scope"]).token)
    assert claims["appid"] == conn["client_id"]
    from azure.mgmt.resource.resources import ResourceManagementClient
    rm = ResourceManagementClient(cred, conn["subscription_id"], **client_kwargs(conn))
    rm.resource_groups.create_or_update("rg-mi", {"location": "eastus"})
    identity = msi_client.user_assigned_identities.create_or_update("rg-mi", "id-mi", {"location": "eastus"})
    user_cred = ManagedIdentityCredential(client_id=identity.client_id, connection_verify=conn["ca_file"])
    assert claims_of(user_cred.get_token(conn["arm_scope"]).token)["oid"] == identity.principal_id
    assert sandbox.counters()["token_requests_by_grant"]["managed_identity"] == 2
    assert all(r["path"] == "/msi/token" for r in sandbox.requests() if r["kind"] == "token"
               and "msi" in r["path"])


def test_managed_identity_wrong_header_fails(conn, msi_env, monkeypatch):
    monkeypatch.setenv("IDENTITY_HEADER", "wrong")
    cred = ManagedIdentityCredential(connection_verify=conn["ca_file"])
    with pytest.raises(ClientAuthenticationError):
        cred.get_token(conn["arm_scope"])
