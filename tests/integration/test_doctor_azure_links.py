"""playbooks/doctor.yml on a chain site.yml converged, then broken on the Azure side behind the collection's back:
each breakage is reported as exactly its link failing, with the values compared and a fix that, applied, makes the
doctor green. Every run makes no Azure or Kubernetes write and lists no key."""

import pytest

from .doctor_chain import ACCOUNT, STORAGE_RG

pytestmark = pytest.mark.long_running  # minutes of playbooks: scheduled first

TOKEN_AUDIENCE = "api://AzureADTokenExchange"


def assert_read_only(diagnosis):
    c = diagnosis.counters
    assert (c["writes"], c["list_keys"], c["kubernetes"]["writes"], c["storage_data"]["writes"]) == (0, 0, 0, 0), c


def assert_exactly(diagnosis, workloads, link, *phrases):
    """Only ``link`` fails, for ``workloads`` (a name, or every workload on the broken shared resource)."""
    workloads = workloads if isinstance(workloads, tuple) else (workloads,)
    assert diagnosis.rc != 0, diagnosis  # the playbook's last assert fails the host
    assert diagnosis.status("fail") == [(w, link) for w in workloads], diagnosis
    found = diagnosis.find(workloads[0], link)
    for phrase in phrases:
        assert phrase in found["summary"] + " " + (found["fix"] or ""), found
    assert_read_only(diagnosis)
    return found


def assert_green(diagnosis):
    assert diagnosis.rc == 0 and diagnosis.status("fail") == [], diagnosis
    assert_read_only(diagnosis)


def other_cluster_issuer(chain):
    return chain.sandbox.issuer_url("aks-other-cluster")


# (id, break(chain), workload, link, phrases in summary or fix)
BREAKAGES = [
    ("issuer_trailing_slash", lambda c: c.set_credential(issuer=c.issuer().rstrip("/")), "reports",
     "federated_credential", ["only the trailing slash differs", "AADSTS700213"]),
    ("issuer_of_another_cluster", lambda c: c.set_credential(issuer=other_cluster_issuer(c)), "reports",
     "federated_credential", ["another issuer"]),
    ("subject_namespace", lambda c: c.set_credential(subject="system:serviceaccount:default:reports-writer"),
     "reports", "federated_credential", ["subject system:serviceaccount:default:reports-writer is not "
                                         "system:serviceaccount:reports:reports-writer"]),
    ("subject_service_account", lambda c: c.set_credential(subject="system:serviceaccount:reports:default"),
     "reports", "federated_credential", ["subject system:serviceaccount:reports:default is not"]),
    ("audience", lambda c: c.set_credential(audiences=["api://AzureADTokenExchangeUSGov"]), "reports",
     "federated_credential", ["audiences ['api://AzureADTokenExchangeUSGov'] are not [%s]" % TOKEN_AUDIENCE]),
    ("missing_credential", lambda c: c.delete_credential("archive"), "archive", "federated_credential",
     ["no federated credential on identity id-archive trusts system:serviceaccount:archive:archive-reader"]),
    ("reader_role_for_readwrite", lambda c: (c.remove_roles(), c.grant("Storage Blob Data Reader", "reports")),
     "reports", "role_assignment", ["Storage Blob Data Reader at", "do not allow write",
                                    'Storage Blob Data Contributor" --scope']),
    ("role_at_sibling_container", lambda c: (c.remove_roles(), c.grant("Storage Blob Data Contributor", "archive")),
     "reports", "role_assignment", ["no role assignment at the container or above", "containers/archive do not "
                                    "cover this container"]),
    ("no_role", lambda c: c.remove_roles("archive"), "archive", "role_assignment",
     ["no role assignment at the container or above", 'Storage Blob Data Reader" --scope']),
    ("shared_key_on", lambda c: c.sandbox.merge_resource(c.account_id(), {"properties": {
        "allowSharedKeyAccess": True}}), ("reports", "archive", "shared-docs", "scratch"), "shared_key",
     ["shared key access is on"]),
    ("container_missing", lambda c: c.storage.blob_containers.delete(STORAGE_RG, ACCOUNT, "archive"), "archive",
     "container", ["container archive does not exist"]),
    ("managed_driver_on", lambda c: c.sandbox.merge_resource(c.cluster_id(), {"properties": {"storageProfile": {
        "blobCSIDriver": {"enabled": True}}}}), None, "managed_blob_driver", ["--disable-blob-driver"]),
]


@pytest.mark.parametrize("name,breakage,workload,link,phrases", BREAKAGES, ids=[b[0] for b in BREAKAGES])
def test_breakage_is_diagnosed_as_exactly_that_link_and_its_fix_heals_it(chain, name, breakage, workload, link,
                                                                         phrases):
    breakage(chain)
    found = assert_exactly(chain.doctor(), workload, link, *phrases)
    assert found["evidence"], found
    chain.apply_site_fix(found["fix"])
    assert_green(chain.doctor())
