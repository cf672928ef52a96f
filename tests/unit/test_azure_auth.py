import pytest
from azure.identity import (ClientSecretCredential, DefaultAzureCredential, EnvironmentCredential,
                            ManagedIdentityCredential, WorkloadIdentityCredential)

from ansible_collections.keyless.aks_storage.plugins.module_utils import azure_auth, azure_cloud

TENANT = "00000000-0000-0000-0000-0000000000aa"
CLIENT = "00000000-0000-0000-0000-0000000000bb"
CUSTOM = azure_cloud.Cloud("Stack", "https://arm.example/", "https://login.example/", "https://aud.example/")


def params(**kw):
    base = dict(auth_source="auto", tenant=None, client_id=None, secret=None, federated_token_file=None)
    base.update(kw)
    return base


def test_auto_with_secret_uses_client_secret_credential():
    cred = azure_auth.build_credential(params(tenant=TENANT, client_id=CLIENT, secret="s"), CUSTOM)
    assert isinstance(cred, ClientSecretCredential)


def test_auto_with_token_file_uses_workload_identity(tmp_path):
    token = tmp_path / "token"
    token.write_text("x")
    cred = azure_auth.build_credential(params(tenant=TENANT, client_id=CLIENT, federated_token_file=str(token)),
                                       CUSTOM)
    assert isinstance(cred, WorkloadIdentityCredential)


def test_auto_without_explicit_credentials_uses_default_chain():
    cred = azure_auth.build_credential(params(), azure_cloud.known_cloud("AzureCloud"))
    assert isinstance(cred, DefaultAzureCredential)


def test_env_without_secret_falls_back_to_environment_credential():
    assert isinstance(azure_auth.build_credential(params(auth_source="env"), CUSTOM), EnvironmentCredential)


def test_env_with_secret_needs_tenant_and_client_id():
    with pytest.raises(azure_auth.AuthConfigError, match="tenant and client_id"):
        azure_auth.build_credential(params(auth_source="env", secret="s"), CUSTOM)


def test_workload_identity_names_what_is_missing():
    with pytest.raises(azure_auth.AuthConfigError, match="federated_token_file"):
        azure_auth.build_credential(params(auth_source="workload_identity", tenant=TENANT, client_id=CLIENT), CUSTOM)


def test_msi_user_assigned():
    assert isinstance(azure_auth.build_credential(params(auth_source="msi", client_id=CLIENT), CUSTOM),
                      ManagedIdentityCredential)


def test_auth_options_have_azure_env_fallbacks_and_secret_is_no_log():
    spec = azure_auth.AUTH_ARGUMENT_SPEC
    assert spec["secret"]["no_log"] is True
    assert spec["secret"]["fallback"][1] == ["AZURE_SECRET", "AZURE_CLIENT_SECRET"]
    assert spec["tenant"]["fallback"][1] == ["AZURE_TENANT", "AZURE_TENANT_ID"]
    assert spec["auth_source"]["fallback"][1] == ["ANSIBLE_AZURE_AUTH_SOURCE"]
