"""The play's shared sign-in: when a module may use it, and what its credential serves (pure logic; the playbook
runs against the sandbox are in tests/integration/test_sign_in.py)."""

import os

import pytest

from ansible_collections.keyless.aks_storage.plugins.lookup import sign_in as lookup
from ansible_collections.keyless.aks_storage.plugins.module_utils import azure_module
from ansible_collections.keyless.aks_storage.plugins.module_utils.azure_cloud import known_cloud
from ansible_collections.keyless.aks_storage.plugins.module_utils.sign_in import (
    SharedTokenCredential, cloud_of, cloud_record, sign_in_key, usable_sign_in)

NOW = 1_800_000_000
PARAMS = dict(auth_source="cli", tenant="T-1", client_id=None, cloud_environment="AzureCloud")
SCOPE = "https://management.core.windows.net/.default"
WARNINGS = []


def shared(**changes):
    record = dict(access_token="tok", expires_on=NOW + 3600, made_for=sign_in_key(PARAMS), subscription_id="sub",
                  cloud=cloud_record(known_cloud("AzureCloud")))
    record.update(changes)
    return record


def test_a_sign_in_made_for_the_same_options_and_long_enough_is_used():
    params = dict(PARAMS, sign_in=shared())
    assert usable_sign_in(params, azure_module.SIGN_IN_MIN_VALIDITY, now=NOW) == params["sign_in"]
    # the key ignores case and spacing of what the user typed, and takes the options' defaults
    assert sign_in_key(dict(tenant=" t-1 ")) == sign_in_key(dict(auth_source="auto", tenant="T-1",
                                                                 cloud_environment="azurecloud"))


@pytest.mark.parametrize("params", [
    dict(PARAMS, sign_in=shared(expires_on=NOW + 1800)),             # outlived by the longest wait (LRO 30 min)
    dict(PARAMS, sign_in=shared(expires_on=NOW + 2099)),             # ... plus azure-core's 5-minute early refresh
    dict(PARAMS, client_id="other", sign_in=shared()),               # made for another identity
    dict(PARAMS, tenant="T-2", sign_in=shared()),                    # ... another tenant
    dict(PARAMS, auth_source="env", sign_in=shared()),               # ... another credential
    dict(PARAMS, cloud_environment="AzureChinaCloud", sign_in=shared()),  # ... another cloud
    dict(PARAMS, sign_in=shared(access_token=None)),                 # a failed sign-in (on_failure=warn: {})
    dict(PARAMS, sign_in={}),
    dict(PARAMS, sign_in=None),
    dict(PARAMS, sign_in=shared(cloud={"name": "AzureCloud"})),      # incomplete endpoints
], ids=["expires-in-lro", "expires-in-lro-and-refresh", "client", "tenant", "source", "cloud", "no-token", "empty",
        "none", "cloud-incomplete"])
def test_a_module_signs_in_itself_otherwise(params):
    assert usable_sign_in(params, azure_module.SIGN_IN_MIN_VALIDITY, now=NOW) is None
    assert azure_module.SIGN_IN_MIN_VALIDITY == azure_module.LRO_TIMEOUT + 300


def test_the_cloud_round_trips():
    cloud = cloud_of(shared(cloud=dict(name="Sandbox", resource_manager="https://arm.example/",
                                       login_endpoint="https://login.example/", audience="https://aud.example/",
                                       well_known=False)))
    assert (cloud.resource_manager, cloud.scope, cloud.well_known) == (
        "https://arm.example/", "https://aud.example/.default", False)
    assert cloud_record(cloud)["login_endpoint"] == "https://login.example/"


class OwnCredential:
    def __init__(self):
        self.calls = []
        self.closed = False

    def get_token(self, *scopes, **kwargs):
        self.calls.append((scopes, kwargs))
        return "own token for %s" % (scopes,)

    def close(self):
        self.closed = True


def credential(expires_on):
    made = []

    def own():
        made.append(OwnCredential())
        return made[0]
    return SharedTokenCredential("shared-token", expires_on, SCOPE, own), made


def test_the_arm_scope_gets_the_shared_token_without_building_the_own_credential():
    cred, made = credential(4_000_000_000)
    assert [cred.get_token(SCOPE).token for _i in range(3)] == ["shared-token"] * 3
    assert not made
    cred.close()  # nothing built, nothing to close


@pytest.mark.parametrize("scopes, kwargs", [
    (("https://storage.azure.com/.default",), {}),           # Azure Storage
    (("6dae42f8-4368-4678-94ff-3960e28e3630/.default",), {}),  # the AKS API server
    ((SCOPE,), {"claims": '{"access_token": {}}'}),          # a CAE claims challenge
    ((SCOPE,), {"tenant_id": "other"}),
])
def test_anything_else_goes_to_the_own_credential(scopes, kwargs):
    cred, made = credential(4_000_000_000)
    assert cred.get_token(*scopes, **kwargs) == "own token for %s" % (scopes,)
    assert made[0].calls == [(scopes, kwargs)]
    cred.close()
    assert made[0].closed


def test_a_token_about_to_expire_is_not_served():
    import time
    cred, made = credential(int(time.time()) + 299)
    assert cred.get_token(SCOPE) == "own token for %s" % ((SCOPE,),)
    assert len(made) == 1


def test_the_lookup_signs_in_under_the_plays_environment_and_restores_the_controllers(monkeypatch):
    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", "controller")
    monkeypatch.delenv("HTTPS_PROXY", raising=False)
    with lookup.environment({"AZURE_SUBSCRIPTION_ID": "play", "HTTPS_PROXY": "http://proxy.example:3128"}):
        assert (os.environ["AZURE_SUBSCRIPTION_ID"], os.environ["HTTPS_PROXY"]) == ("play", "http://proxy.example:3128")
    assert os.environ["AZURE_SUBSCRIPTION_ID"] == "controller" and "HTTPS_PROXY" not in os.environ


def test_a_sign_in_that_cannot_start_says_why_before_any_request():
    with pytest.raises(lookup.SignInError, match="must be an https URL"):
        lookup.sign_in(dict(cloud_environment="http://arm.example/"), WARNINGS.append)
    with pytest.raises(lookup.SignInError, match="auth_source=workload_identity needs"):
        lookup.sign_in(dict(auth_source="workload_identity", cloud_environment="AzureCloud"), WARNINGS.append)
