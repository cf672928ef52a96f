"""keyless.aks_storage.federated_credential through real ansible-playbook runs against the sandbox."""

import pytest

from .playbook import run_playbook
from . import sdk

FIC_TYPE = "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials"
RG = "rg-fic"
IDENTITY = "id-fic"
ISSUER = "https://westeurope.oic.prod-aks.azure.com/tenant-guid/cluster-guid/"


def fic_task(register="out", **options):
    args = {"resource_group": RG, "identity_name": IDENTITY}
    args.update(options)
    return {"name": register, "keyless.aks_storage.federated_credential": args, "register": register}


def listed(sandbox):
    return {c.name: c for c in sdk.msi_client(sandbox.conn).federated_identity_credentials.list(RG, IDENTITY)}


@pytest.fixture
def identity(sandbox):
    sdk.create_resource_group(sandbox.conn, RG)
    return sdk.msi_client(sandbox.conn).user_assigned_identities.create_or_update(RG, IDENTITY,
                                                                                  {"location": "westeurope"})


def test_single_credential_lifecycle(sandbox, identity, tmp_path):
    env = sandbox.env()
    task = fic_task(name="aks-reports", issuer=ISSUER, namespace="reports", service_account="writer")
    run = run_playbook(tmp_path, [task], env, diff=True)
    assert run.rc == 0, run
    out = run.result("out")
    assert out["changed"] is True and out["created"] == ["aks-reports"]
    assert out["credentials"][0]["subject"] == "system:serviceaccount:reports:writer"
    assert out["diff"]["before"] == {"credentials": []}
    live = listed(sandbox)["aks-reports"]
    assert (live.issuer, live.subject, live.audiences) == (ISSUER, "system:serviceaccount:reports:writer",
                                                           ["api://AzureADTokenExchange"])

    # no-op: one read (the list), zero writes
    before = sandbox.counters()
    run = run_playbook(tmp_path, [task], env)
    assert run.result("out")["changed"] is False, run
    delta = sandbox.counters_delta(before)
    assert delta["writes"] == 0 and delta["reads"] == 1 and delta["by_type"][FIC_TYPE]["reads"] == 1

    # drift: the subject was edited behind the module's back
    sandbox.merge_resource(live.id, {"properties": {"subject": "system:serviceaccount:reports:intruder"}})
    run = run_playbook(tmp_path, [task], env, diff=True)
    assert run.result("out")["updated"] == ["aks-reports"], run
    assert run.result("out")["diff"]["before"]["credentials"][0]["subject"].endswith(":intruder")
    assert listed(sandbox)["aks-reports"].subject == "system:serviceaccount:reports:writer"

    # check mode: a changed subject is reported, nothing written
    before = sandbox.counters()
    run = run_playbook(tmp_path, [fic_task(name="aks-reports", issuer=ISSUER, subject="system:serviceaccount:x:y")],
                       env, check=True, diff=True)
    assert run.result("out")["changed"] is True, run
    assert sandbox.counters_delta(before)["writes"] == 0
    assert listed(sandbox)["aks-reports"].subject == "system:serviceaccount:reports:writer"

    # absent
    run = run_playbook(tmp_path, [fic_task(name="aks-reports", state="absent")], env)
    assert run.result("out")["deleted"] == ["aks-reports"], run
    assert listed(sandbox) == {}
    before = sandbox.counters()
    run = run_playbook(tmp_path, [fic_task(name="aks-reports", state="absent")], env)
    assert run.result("out")["changed"] is False, run
    assert sandbox.counters_delta(before)["writes"] == 0


def test_audiences_compare_as_a_set(sandbox, identity, tmp_path):
    task = fic_task(name="ci-main", issuer="https://token.actions.example/", subject="repo:org/app:ref:refs/heads/main",
                    audiences=["api://AzureADTokenExchange"])
    assert run_playbook(tmp_path, [task], sandbox.env()).rc == 0
    task["keyless.aks_storage.federated_credential"]["audiences"] = ["api://AzureADTokenExchange",
                                                                     "api://AzureADTokenExchange"]
    run = run_playbook(tmp_path, [task], sandbox.env())
    assert run.result("out")["changed"] is False, run


def test_bulk_twenty_credentials_in_one_task_then_exclusive(sandbox, identity, tmp_path):
    creds = [{"name": "ns%02d" % i, "issuer": ISSUER, "namespace": "ns%02d" % i, "service_account": "app"}
             for i in range(20)]
    before = sandbox.counters()
    run = run_playbook(tmp_path, [fic_task(credentials=creds)], sandbox.env())
    assert run.rc == 0, run
    assert len(run.result("out")["created"]) == 20
    delta = sandbox.counters_delta(before)
    assert delta["by_type"][FIC_TYPE]["writes"] == 20 and delta["by_type"][FIC_TYPE]["reads"] == 1
    assert len(listed(sandbox)) == 20

    before = sandbox.counters()
    run = run_playbook(tmp_path, [fic_task(credentials=creds)], sandbox.env())
    assert run.result("out")["changed"] is False, run
    assert sandbox.counters_delta(before)["writes"] == 0

    # a 21st is refused before any write
    before = sandbox.counters()
    run = run_playbook(tmp_path, [fic_task(name="one-too-many", issuer=ISSUER, namespace="x", service_account="y")],
                       sandbox.env())
    assert run.rc != 0
    assert "at most 20" in run.result("out")["msg"]
    assert sandbox.counters_delta(before)["writes"] == 0

    # exclusive keeps only what is listed
    run = run_playbook(tmp_path, [fic_task(credentials=creds[:3], exclusive=True)], sandbox.env())
    assert sorted(run.result("out")["deleted"]) == ["ns%02d" % i for i in range(3, 20)], run
    assert sorted(listed(sandbox)) == ["ns00", "ns01", "ns02"]


def test_concurrent_write_rejections_are_retried(sandbox, identity, tmp_path):
    sandbox.add_fault(method="PUT", path="federatedidentitycredentials/", status=409,
                      code="ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity",
                      message="Too many Federated Identity Credentials are written concurrently for the managed "
                              "identity", count=2)
    run = run_playbook(tmp_path, [fic_task(name="retried", issuer=ISSUER, namespace="a", service_account="b")],
                       sandbox.env())
    assert run.rc == 0, run
    assert sandbox.counters()["faults_injected"] == 2
    assert "retried" in listed(sandbox)


def test_trailing_slash_warning(sandbox, identity, tmp_path):
    run = run_playbook(tmp_path, [fic_task(name="noslash", issuer=ISSUER.rstrip("/"), namespace="a",
                                           service_account="b")], sandbox.env())
    assert run.rc == 0, run
    assert any("trailing slash" in w for w in run.result("out").get("warnings", []))


BAD_INPUTS = [
    ({"name": "x", "issuer": ISSUER, "namespace": "a", "service_account": "b"}, "name 'x' is invalid"),
    ({"name": "bad name", "issuer": ISSUER, "namespace": "a", "service_account": "b"}, "name 'bad name' is invalid"),
    ({"name": "http-issuer", "issuer": "http://issuer.example/", "namespace": "a", "service_account": "b"},
     "must be an https URL"),
    ({"name": "no-issuer", "namespace": "a", "service_account": "b"}, "must be an https URL"),
    ({"name": "no-subject", "issuer": ISSUER}, "subject, or namespace and service_account, is required"),
    ({"name": "both", "issuer": ISSUER, "subject": "s", "namespace": "a", "service_account": "b"},
     "either subject or namespace"),
    ({"name": "bad-ns", "issuer": ISSUER, "namespace": "Not_Valid", "service_account": "b"},
     "not system:serviceaccount"),
    ({"name": "bad-subject", "issuer": ISSUER, "subject": "system:serviceaccount:onlyns"},
     "not system:serviceaccount"),
    ({"name": "no-audience", "issuer": ISSUER, "namespace": "a", "service_account": "b", "audiences": []},
     "audiences must be a non-empty list"),
    ({"name": "two-audiences", "issuer": ISSUER, "namespace": "a", "service_account": "b",
      "audiences": ["api://AzureADTokenExchange", "api://other"]}, "exactly one audience"),
    ({"credentials": [{"name": "dup", "issuer": ISSUER, "subject": "s1"},
                      {"name": "dup", "issuer": ISSUER, "subject": "s2"}]}, "listed more than once: dup"),
    ({"credentials": [{"name": "one", "issuer": ISSUER, "subject": "same"},
                      {"name": "two", "issuer": ISSUER, "subject": "same"}]},
     "credentials 'one' and 'two' would both trust"),
    ({"name": "mixed", "credentials": []}, "not both"),
]


@pytest.mark.parametrize("options,message", BAD_INPUTS, ids=[m for _o, m in BAD_INPUTS])
def test_bad_input_is_rejected_before_any_write(sandbox, identity, tmp_path, options, message):
    before = sandbox.counters()
    run = run_playbook(tmp_path, [fic_task(**options)], sandbox.env())
    assert run.rc != 0
    assert message in run.result("out")["msg"]
    assert sandbox.counters_delta(before)["writes"] == 0


def test_issuer_subject_taken_by_an_existing_credential_is_named(sandbox, identity, tmp_path):
    sdk.msi_client(sandbox.conn).federated_identity_credentials.create_or_update(
        RG, IDENTITY, "made-elsewhere", {"properties": {"issuer": ISSUER, "subject": "system:serviceaccount:a:b",
                                                        "audiences": ["api://AzureADTokenExchange"]}})
    before = sandbox.counters()
    run = run_playbook(tmp_path, [fic_task(name="mine", issuer=ISSUER, namespace="a", service_account="b")],
                       sandbox.env())
    assert run.rc != 0
    assert "'made-elsewhere' and 'mine'" in run.result("out")["msg"]
    assert sandbox.counters_delta(before)["writes"] == 0


def test_missing_identity_is_explained(sandbox, tmp_path):
    sdk.create_resource_group(sandbox.conn, RG)
    run = run_playbook(tmp_path, [fic_task(name="x-1", issuer=ISSUER, namespace="a", service_account="b")],
                       sandbox.env())
    assert run.rc != 0
    assert "keyless.aks_storage.managed_identity" in run.result("out")["msg"]


def test_parallel_runs_on_one_identity_converge_despite_concurrent_write_rejections(sandbox, identity, tmp_path):
    """Two playbooks (say, two clusters' pipelines) writing to one identity at once: Azure rejects the overlapping
    writes with 409 and the module's bounded retry makes both converge."""
    from concurrent.futures import ThreadPoolExecutor

    sandbox.configure(fic_write_seconds=1.0)
    batches = [[{"name": "%s-%d" % (who, i), "issuer": ISSUER, "namespace": who, "service_account": "sa%d" % i}
                for i in range(4)] for who in ("east", "west")]
    dirs = [tmp_path / "east", tmp_path / "west"]
    for d in dirs:
        d.mkdir()
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = list(pool.map(lambda args: run_playbook(args[0], [fic_task(credentials=args[1])], sandbox.env()),
                             zip(dirs, batches)))
    for run in runs:
        assert run.rc == 0, run
    assert len(listed(sandbox)) == 8
    rejected = [r for r in sandbox.requests() if r["method"] == "PUT" and r["status"] == 409]
    assert rejected, "the writes should have overlapped at least once"
