"""Federated identity credential rules on user-assigned identities (limit, uniqueness, audiences,
concurrent-write rejection), with the real azure-mgmt-msi client."""

import threading
import time

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError

AUDIENCES = ["api://AzureADTokenExchange"]


@pytest.fixture
def identity(rm_client, msi_client):
    rm_client.resource_groups.create_or_update("rg-fic", {"location": "eastus"})
    return msi_client.user_assigned_identities.create_or_update("rg-fic", "id-fic", {"location": "eastus"})


def put(msi_client, name, issuer, subject, audiences=None, identity_name="id-fic"):
    audiences = AUDIENCES if audiences is None else audiences
    return msi_client.federated_identity_credentials.create_or_update(
        "rg-fic", identity_name, name, {"issuer": issuer, "subject": subject, "audiences": audiences})


def test_twenty_credentials_per_identity(sandbox, identity, msi_client):
    sandbox.configure(fic_write_seconds=0)
    issuer = sandbox.issuer_url("aks1")
    for index in range(20):
        put(msi_client, f"fic-{index}", issuer, f"system:serviceaccount:ns:sa{index}")
    with pytest.raises(HttpResponseError) as info:
        put(msi_client, "fic-20", issuer, "system:serviceaccount:ns:sa20")
    assert info.value.status_code == 400 and "at most 20" in info.value.error.message
    put(msi_client, "fic-3", issuer, "system:serviceaccount:ns:other")  # updating one of the 20 is fine
    msi_client.federated_identity_credentials.delete("rg-fic", "id-fic", "fic-0")
    put(msi_client, "fic-20", issuer, "system:serviceaccount:ns:sa20")
    assert len(list(msi_client.federated_identity_credentials.list("rg-fic", "id-fic"))) == 20


def test_issuer_subject_unique_and_field_rules(sandbox, identity, rm_client, msi_client):
    sandbox.configure(fic_write_seconds=0)
    issuer = sandbox.issuer_url("aks1")
    put(msi_client, "fic-a", issuer, "system:serviceaccount:apps:writer")
    with pytest.raises(HttpResponseError) as info:
        put(msi_client, "fic-b", issuer, "system:serviceaccount:apps:writer")
    assert info.value.status_code == 400
    assert info.value.error.message == "Issuer and subject combination already exists for this Managed Identity."
    assert info.value.response.json()["error"]["target"] == "fic-a"  # the conflicting credential
    put(msi_client, "fic-a", issuer, "system:serviceaccount:apps:writer")  # itself is no conflict
    put(msi_client, "fic-b", sandbox.issuer_url("aks2"), "system:serviceaccount:apps:writer")  # other issuer: fine
    msi_client.user_assigned_identities.create_or_update("rg-fic", "id-two", {"location": "eastus"})
    put(msi_client, "fic-a", issuer, "system:serviceaccount:apps:writer", identity_name="id-two")  # other identity

    cases = [
        ({"audiences": AUDIENCES + ["api://other"]}, "Federated identity credentials must have exactly one audience."),
        ({"audiences": []}, "Federated Identity Credential from HTTP body has empty properties"),
        ({"subject": ""}, "Federated Identity Credential from HTTP body has empty properties"),
        ({"issuer": "http://insecure.example/"}, "Issuer 'http://insecure.example/' is not a valid https URL."),
        ({"subject": "s" * 601}, "The subject of a Federated Identity Credential can have at most 600 characters."),
    ]
    for change, message in cases:
        body = {"issuer": issuer, "subject": "system:serviceaccount:apps:x", "audiences": AUDIENCES, **change}
        with pytest.raises(HttpResponseError) as info:
            msi_client.federated_identity_credentials.create_or_update("rg-fic", "id-fic", "fic-x", body)
        assert info.value.status_code == 400 and info.value.error.message == message, change
    with pytest.raises(HttpResponseError) as info:
        put(msi_client, "x", issuer, "s")
    assert info.value.error.message == "Federated Identity Credential name 'x' is invalid."


def test_concurrent_writes_on_one_identity_are_rejected(sandbox, identity, msi_client):
    # a window wide enough that both writes overlap even on a loaded machine
    sandbox.configure(fic_write_seconds=3.0)
    issuer = sandbox.issuer_url("aks1")
    barrier = threading.Barrier(2, timeout=10)
    outcomes = {}

    def write(index):
        barrier.wait()
        try:
            outcomes[index] = put(msi_client, f"fic-{index}", issuer, f"system:serviceaccount:ns:sa{index}").name
        except ResourceExistsError as exc:
            outcomes[index] = exc

    threads = [threading.Thread(target=write, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    time.sleep(0.2)
    # inside the write window reads are served at once (the store lock is not held): the read returns while a write
    # is still in progress, an ordering check rather than a timing one
    msi_client.user_assigned_identities.get("rg-fic", "id-fic")
    assert any(t.is_alive() for t in threads)
    for thread in threads:
        thread.join(timeout=15)
    assert not any(t.is_alive() for t in threads)
    errors = [o for o in outcomes.values() if isinstance(o, ResourceExistsError)]
    assert len(errors) == 1 and len(outcomes) == 2
    error = errors[0]
    assert error.status_code == 409
    assert error.error.code == "ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity"
    assert error.error.message == (f"Too many Federated Identity Credentials are written concurrently for the managed "
                                   f"identity '{identity.id}'. Concurrent Federated Identity Credentials writes under "
                                   f"the same managed identity are not supported.")
    # Other identities are not blocked, and a sequential write succeeds afterwards.
    msi_client.user_assigned_identities.create_or_update("rg-fic", "id-two", {"location": "eastus"})
    put(msi_client, "fic-other", issuer, "system:serviceaccount:ns:x", identity_name="id-two")
    put(msi_client, "fic-later", issuer, "system:serviceaccount:ns:later")
    assert len(list(msi_client.federated_identity_credentials.list("rg-fic", "id-fic"))) == 2
