"""The ServiceAccount `token` subresource (authentication.k8s.io/v1 TokenRequest) of the emulated API server,
driven by the real `kubernetes` client, the real `kubectl create token` and the real azure-identity
WorkloadIdentityCredential exchanging the issued token at the sandbox's Entra."""

import time

import jwt  # PyJWT (an msal dependency): checks the RS256 signature independently of sandbox/jose.py
import kubernetes
import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import WorkloadIdentityCredential
from k8s_test_helpers import EmulatedCluster
from sandbox_test_helpers import get_json

from sandbox import jose

EXCHANGE = "api://AzureADTokenExchange"
SUBJECT = "system:serviceaccount:apps:blob-reader"
TOKEN_PATH = "/api/v1/namespaces/apps/serviceaccounts/blob-reader/token"


def _request(**spec):
    return {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec}


def _service_account(cluster, namespace="apps", name="blob-reader"):
    core = cluster.core
    if namespace not in [n.metadata.name for n in core.list_namespace().items]:
        core.create_namespace({"metadata": {"name": namespace}})
    return core.create_namespaced_service_account(namespace, {"metadata": {"name": name}})


@pytest.fixture
def oidc_cluster(sandbox, tmp_path):
    """A standalone cluster whose OIDC issuer is hosted by the sandbox, with ServiceAccount apps/blob-reader."""
    issuer = sandbox.issuer_url("token-request")
    cluster = EmulatedCluster(sandbox, tmp_path, cluster_id="token-request", oidc_issuer_url=issuer)
    cluster.issuer = issuer
    cluster.account = _service_account(cluster)
    return cluster


def _jwks_key(conn, issuer):
    status, discovery = get_json(conn, issuer + ".well-known/openid-configuration")
    assert status == 200 and discovery["issuer"] == issuer
    status, jwks = get_json(conn, discovery["jwks_uri"])
    assert status == 200
    return jwt.PyJWK(jwks["keys"][0]).key


def _federated_identity(rm_client, msi_client, issuer, subject=SUBJECT):
    rm_client.resource_groups.create_or_update("rg-tr", {"location": "eastus"})
    identity = msi_client.user_assigned_identities.create_or_update("rg-tr", "id-tr", {"location": "eastus"})
    msi_client.federated_identity_credentials.create_or_update(
        "rg-tr", "id-tr", "fic-tr", {"issuer": issuer, "subject": subject, "audiences": [EXCHANGE]})
    return identity


def _exchange(conn, tmp_path, token, client_id):
    token_file = tmp_path / "sa-token"
    token_file.write_text(token)
    credential = WorkloadIdentityCredential(tenant_id=conn["tenant_id"], client_id=client_id,
                                            token_file_path=str(token_file), authority=conn["authority_host"],
                                            connection_verify=conn["ca_file"])
    return jose.decode_unverified(credential.get_token(conn["arm_scope"]).token).claims


# ---------------------------------------------------------------- issuing
def test_python_client_token_is_signed_by_the_issuer_jwks(sandbox, conn, oidc_cluster):
    body = kubernetes.client.AuthenticationV1TokenRequest(
        spec=kubernetes.client.V1TokenRequestSpec(audiences=[EXCHANGE], expiration_seconds=3600))
    before = time.time()
    out = oidc_cluster.core.create_namespaced_service_account_token("blob-reader", "apps", body)
    assert out.kind == "TokenRequest" and out.metadata.name == "blob-reader" and out.metadata.namespace == "apps"
    assert out.spec.audiences == [EXCHANGE] and out.spec.expiration_seconds == 3600
    claims = jwt.decode(out.status.token, _jwks_key(conn, oidc_cluster.issuer), algorithms=["RS256"],
                        audience=EXCHANGE, issuer=oidc_cluster.issuer)
    assert claims["sub"] == SUBJECT and claims["aud"] == [EXCHANGE]
    assert claims["exp"] - claims["iat"] == 3600 and claims["nbf"] == claims["iat"]
    assert before - 2 <= claims["iat"] <= time.time() + 2 and claims["jti"]
    assert claims["kubernetes.io"] == {"namespace": "apps", "serviceaccount": {
        "name": "blob-reader", "uid": oidc_cluster.account.metadata.uid}}
    assert abs(out.status.expiration_timestamp.timestamp() - claims["exp"]) <= 1


def test_defaults_one_hour_and_the_api_server_audiences(oidc_cluster):
    status, _headers, body = oidc_cluster.raw("POST", TOKEN_PATH, _request())
    assert status == 201, body
    claims = jose.decode_unverified(body["status"]["token"]).claims
    assert body["spec"]["expirationSeconds"] == 3600 and claims["exp"] - claims["iat"] == 3600
    assert body["spec"]["audiences"] == [oidc_cluster.issuer, oidc_cluster.server] == claims["aud"]
    assert body["spec"]["boundObjectRef"] is None and claims["iss"] == oidc_cluster.issuer


def test_expiration_over_a_day_is_shortened_with_a_warning(oidc_cluster):
    request = _request(audiences=[EXCHANGE], expirationSeconds=172800)
    status, headers, body = oidc_cluster.raw("POST", TOKEN_PATH, request)
    assert status == 201, body
    assert body["spec"]["expirationSeconds"] == 86400
    assert headers["Warning"] == '299 - "requested expiration of 172800 seconds shortened to 86400 seconds"'


def test_token_bound_to_a_pod_names_the_pod(oidc_cluster):
    pod = oidc_cluster.core.create_namespaced_pod("apps", {
        "metadata": {"name": "reader"},
        "spec": {"serviceAccountName": "blob-reader", "containers": [{"name": "c", "image": "busybox"}]}})
    ref = {"apiVersion": "v1", "kind": "Pod", "name": "reader", "uid": pod.metadata.uid}
    status, _headers, body = oidc_cluster.raw("POST", TOKEN_PATH, _request(audiences=[EXCHANGE], boundObjectRef=ref))
    assert status == 201, body
    private = jose.decode_unverified(body["status"]["token"]).claims["kubernetes.io"]
    assert private["pod"] == {"name": "reader", "uid": pod.metadata.uid}
    assert private["serviceaccount"]["name"] == "blob-reader"
    assert body["spec"]["boundObjectRef"] == ref


def test_kubectl_create_token_is_exchanged_for_a_user_assigned_identity(sandbox, conn, kube_tools, tmp_path,
                                                                        rm_client, msi_client):
    import os
    import subprocess
    issuer = sandbox.issuer_url("token-request-kubectl")
    cluster = EmulatedCluster(sandbox, tmp_path, cluster_id="token-request-kubectl", oidc_issuer_url=issuer)
    _service_account(cluster)
    identity = _federated_identity(rm_client, msi_client, issuer)
    before = sandbox.counters()["kubernetes"]
    result = subprocess.run([kube_tools["kubectl"], "--cache-dir", str(tmp_path / "kube-cache"), "-n", "apps",
                             "create", "token", "blob-reader", "--audience", EXCHANGE, "--duration", "20m"],
                            capture_output=True, text=True, timeout=60, check=False,
                            env=dict(os.environ, KUBECONFIG=cluster.kubeconfig, HOME=str(tmp_path)))
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    claims = jwt.decode(token, _jwks_key(conn, issuer), algorithms=["RS256"], audience=EXCHANGE, issuer=issuer)
    assert claims["sub"] == SUBJECT and claims["exp"] - claims["iat"] == 1200
    access = _exchange(conn, tmp_path, token, identity.client_id)
    assert access["appid"] == identity.client_id and access["oid"] == identity.principal_id
    assert access["xms_mirid"] == identity.id
    after = sandbox.counters()["kubernetes"]
    assert after["token_requests"] - before["token_requests"] == 1
    assert after["tokens_issued"] - before["tokens_issued"] == 1
    assert after["writes"] == before["writes"]  # a TokenRequest persists nothing


def test_kubectl_bound_token_and_refusals(kube, kubectl):
    """kubectl posts a protobuf TokenRequest: the duration and the bound object survive decoding."""
    _service_account(kube)
    pod = kube.core.create_namespaced_pod("apps", {
        "metadata": {"name": "reader"},
        "spec": {"serviceAccountName": "blob-reader", "containers": [{"name": "c", "image": "busybox"}]}})
    token = kubectl("-n", "apps", "create", "token", "blob-reader", "--audience", EXCHANGE, "--duration", "15m",
                    "--bound-object-kind", "Pod", "--bound-object-name", "reader",
                    "--bound-object-uid", pod.metadata.uid).stdout.strip()
    claims = jose.decode_unverified(token).claims
    assert claims["aud"] == [EXCHANGE] and claims["exp"] - claims["iat"] == 900
    assert claims["kubernetes.io"]["pod"] == {"name": "reader", "uid": pod.metadata.uid}
    short = kubectl("-n", "apps", "create", "token", "blob-reader", "--duration", "5m", check=False)
    assert short.returncode != 0
    assert ('error: failed to create token: TokenRequest.authentication.k8s.io "" is invalid: '
            'spec.expirationSeconds: Invalid value: 300: may not specify a duration less than 10 minutes'
            ) in short.stderr
    missing = kubectl("-n", "apps", "create", "token", "nobody", check=False)
    assert missing.returncode != 0 and 'serviceaccounts "nobody" not found' in missing.stderr
    gone = kubectl("-n", "apps", "create", "token", "blob-reader", "--bound-object-kind", "Pod",
                   "--bound-object-name", "gone", check=False)
    assert gone.returncode != 0 and 'pods "gone" not found' in gone.stderr


def test_python_client_token_is_exchanged_and_subject_must_match(sandbox, conn, tmp_path, oidc_cluster, rm_client,
                                                                 msi_client):
    identity = _federated_identity(rm_client, msi_client, oidc_cluster.issuer)
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"audiences": [EXCHANGE]}}
    token = oidc_cluster.core.create_namespaced_service_account_token("blob-reader", "apps", body).status.token
    assert _exchange(conn, tmp_path, token, identity.client_id)["oid"] == identity.principal_id
    _service_account(oidc_cluster, name="other")
    other = oidc_cluster.core.create_namespaced_service_account_token("other", "apps", body).status.token
    with pytest.raises(ClientAuthenticationError, match="AADSTS700213"):
        _exchange(conn, tmp_path, other, identity.client_id)


def test_cluster_without_oidc_issuer_uses_the_api_server_and_entra_refuses(sandbox, conn, kube, tmp_path,
                                                                           rm_client, msi_client):
    _service_account(kube)
    status, _headers, body = kube.raw("POST", TOKEN_PATH, _request(audiences=[EXCHANGE]))
    assert status == 201, body
    token = body["status"]["token"]
    claims = jose.decode_unverified(token).claims
    assert claims["iss"] == kube.server and claims["sub"] == SUBJECT
    status, _headers, default = kube.raw("POST", TOKEN_PATH, _request())
    assert default["spec"]["audiences"] == [kube.server]
    # Not signed with the key the sandbox's OIDC issuers publish.
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, _jwks_key(conn, sandbox.issuer_url("any")), algorithms=["RS256"], audience=EXCHANGE)
    identity = _federated_identity(rm_client, msi_client, kube.server)
    with pytest.raises(ClientAuthenticationError, match="AADSTS700211"):
        _exchange(conn, tmp_path, token, identity.client_id)


# ---------------------------------------------------------------- refusals
def test_missing_service_account_is_404(oidc_cluster):
    status, _headers, body = oidc_cluster.raw("POST", "/api/v1/namespaces/apps/serviceaccounts/nobody/token",
                                              _request())
    assert status == 404 and body["reason"] == "NotFound"
    assert body["message"] == 'serviceaccounts "nobody" not found'
    assert body["details"] == {"name": "nobody", "kind": "serviceaccounts"}
    with pytest.raises(kubernetes.client.ApiException) as info:
        oidc_cluster.core.create_namespaced_service_account_token("nobody", "apps", _request())
    assert info.value.status == 404


@pytest.mark.parametrize("seconds, message", [
    (599, "spec.expirationSeconds: Invalid value: 599: may not specify a duration less than 10 minutes"),
    ((1 << 32) + 1, "spec.expirationSeconds: Invalid value: 4294967297: may not specify a duration larger than "
                    "2^32 seconds"),
])
def test_expiration_out_of_range_is_422(oidc_cluster, seconds, message):
    status, _headers, body = oidc_cluster.raw("POST", TOKEN_PATH, _request(expirationSeconds=seconds))
    assert status == 422 and body["reason"] == "Invalid"
    assert body["message"] == f'TokenRequest.authentication.k8s.io "" is invalid: {message}'
    assert body["details"]["causes"][0]["field"] == "spec.expirationSeconds"
    assert body["details"]["group"] == "authentication.k8s.io" and body["details"]["kind"] == "TokenRequest"


def test_bound_object_refusals(oidc_cluster):
    def post(ref):
        return oidc_cluster.raw("POST", TOKEN_PATH, _request(boundObjectRef=ref))
    status, _h, body = post({"apiVersion": "v1", "kind": "Pod", "name": "gone"})
    assert (status, body["message"], body["details"]["kind"]) == (404, 'pods "gone" not found', "pods")
    oidc_cluster.core.create_namespaced_pod("apps", {"metadata": {"name": "other-sa"}, "spec": {
        "containers": [{"name": "c", "image": "busybox"}]}})  # runs as "default"
    status, _h, body = post({"apiVersion": "v1", "kind": "Pod", "name": "other-sa"})
    assert status == 400 and body["message"] == ('cannot bind token for serviceaccount "blob-reader" to pod '
                                                 'running with different serviceaccount name.')
    status, _h, body = post({"apiVersion": "v1", "kind": "ConfigMap", "name": "kube-root-ca.crt"})
    assert status == 400 and body["message"] == "cannot bind token to object of type /v1, Kind=ConfigMap"
    secret = oidc_cluster.core.create_namespaced_secret("apps", {"metadata": {"name": "s"}})
    status, _h, body = post({"apiVersion": "v1", "kind": "Secret", "name": "s", "uid": "not-" + secret.metadata.uid})
    assert status == 409 and body["reason"] == "Conflict" and "does not match the UID in record" in body["message"]


def test_wrong_body_kind_and_name_are_refused(oidc_cluster):
    status, _h, body = oidc_cluster.raw("POST", TOKEN_PATH, {"apiVersion": "v1", "kind": "Pod", "spec": {}})
    assert status == 400 and body["reason"] == "BadRequest"
    assert body["message"].startswith('Pod in version "v1" cannot be handled as a TokenRequest')
    status, _h, body = oidc_cluster.raw("POST", TOKEN_PATH, {**_request(), "metadata": {"name": "someone"}})
    assert status == 422 and body["message"] == ('TokenRequest.authentication.k8s.io "blob-reader" is invalid: '
                                                 'metadata.name: Invalid value: "someone": must match the service '
                                                 'account name if specified')
    status, _h, body = oidc_cluster.raw("POST", TOKEN_PATH, _request(expirationSeconds="3600"))
    assert status == 400 and "cannot be handled as a TokenRequest" in body["message"]
    status, _h, body = oidc_cluster.raw("GET", TOKEN_PATH)
    assert status == 405 and body["reason"] == "MethodNotAllowed"


def test_refusals_are_counted_as_token_requests_not_writes(sandbox, oidc_cluster):
    before = sandbox.counters()["kubernetes"]
    oidc_cluster.raw("POST", TOKEN_PATH, _request(expirationSeconds=60))
    oidc_cluster.raw("POST", "/api/v1/namespaces/apps/serviceaccounts/nobody/token", _request())
    oidc_cluster.raw("POST", TOKEN_PATH, _request())
    after = sandbox.counters()["kubernetes"]
    assert after["token_requests"] - before["token_requests"] == 3
    assert after["tokens_issued"] - before["tokens_issued"] == 1
    assert (after["writes"], after["reads"]) == (before["writes"], before["reads"])
    assert after["by_kind"] == before["by_kind"]


# ---------------------------------------------------------------- discovery
def test_discovery_lists_the_token_subresource(oidc_cluster):
    status, _h, body = oidc_cluster.raw("GET", "/api/v1")
    entry = next(r for r in body["resources"] if r["name"] == "serviceaccounts/token")
    assert entry == {"name": "serviceaccounts/token", "singularName": "", "namespaced": True,
                     "group": "authentication.k8s.io", "version": "v1", "kind": "TokenRequest", "verbs": ["create"]}
    accept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    status, _h, body = oidc_cluster.raw("GET", "/api", accept=accept)
    resources = body["items"][0]["versions"][0]["resources"]
    accounts = next(r for r in resources if r["resource"] == "serviceaccounts")
    assert accounts["subresources"] == [{"subresource": "token", "verbs": ["create"], "responseKind": {
        "group": "authentication.k8s.io", "version": "v1", "kind": "TokenRequest"}}]
