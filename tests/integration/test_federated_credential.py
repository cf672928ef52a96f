"""keyless.aks_storage.federated_credential through real ansible-playbook runs against the sandbox."""

import pytest

from .playbook import run_playbook
from . import sdk

pytestmark = pytest.mark.long_running  # minutes of playbooks: scheduled first

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

    # overlapping writes are rejected while one is in progress (1 s), and the first two on the identity in any case,
    # so the retry path runs however the two processes' timing falls on a loaded machine
    sandbox.configure(fic_write_seconds=1.0, fic_write_conflicts=2)
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
    assert len(rejected) >= 2, "the first two credential writes are rejected (fic_write_conflicts)"


# ---- bulk form: many identities in one task ---------------------------------------------------------------------
BULK_IDENTITIES = ("id-bulk-a", "id-bulk-b", "id-bulk-c")


@pytest.fixture
def bulk_identities(sandbox):
    sdk.create_resource_group(sandbox.conn, RG)
    client = sdk.msi_client(sandbox.conn).user_assigned_identities
    return [client.create_or_update(RG, name, {"location": "westeurope"}) for name in BULK_IDENTITIES]


def bulk_task(identities, register="out", **options):
    args = {"resource_group": RG, "identities": identities}
    args.update(options)
    return {"name": register, "keyless.aks_storage.federated_credential": args, "register": register}


def bulk_items(names=BULK_IDENTITIES, per_identity=2):
    """Each identity trusted by ``per_identity`` service accounts of its own namespace."""
    return [{"identity_name": name, "credentials": [
        {"name": "%s-sa%d" % (name, i), "issuer": ISSUER, "namespace": name, "service_account": "sa%d" % i}
        for i in range(per_identity)]} for name in names]


def listed_on(sandbox, identity, rg=RG):
    return {c.name: c for c in sdk.msi_client(sandbox.conn).federated_identity_credentials.list(rg, identity)}


def test_bulk_three_identities_in_one_task_one_token_then_idempotent(sandbox, bulk_identities, tmp_path):
    task = bulk_task(bulk_items())
    before = sandbox.counters()
    run = run_playbook(tmp_path, [task], sandbox.env(), diff=True)
    assert run.rc == 0, run
    delta = sandbox.counters_delta(before)
    # one module process: one token, one list per identity, one PUT per credential
    assert delta["token_requests"] == 1
    assert delta["reads"] == 3 and delta["by_type"][FIC_TYPE]["reads"] == 3
    assert delta["writes"] == 6 and delta["by_type"][FIC_TYPE]["writes"] == 6
    out = run.result("out")
    assert out["changed"] is True
    assert [(r["resource_group"], r["identity_name"]) for r in out["identities"]] == [(RG, n) for n in BULK_IDENTITIES]
    for result, name in zip(out["identities"], BULK_IDENTITIES):
        assert result["changed"] is True
        assert result["created"] == ["%s-sa0" % name, "%s-sa1" % name]
        assert result["updated"] == [] and result["deleted"] == []
        subjects = ["system:serviceaccount:%s:sa%d" % (name, i) for i in range(2)]
        assert [c["subject"] for c in result["credentials"]] == subjects
        assert all(c["id"] for c in result["credentials"])
        live = listed_on(sandbox, name)
        assert sorted(live) == ["%s-sa0" % name, "%s-sa1" % name]
    assert "credentials" not in out and "created" not in out
    labels = ["%s/%s" % (RG, n) for n in BULK_IDENTITIES]
    assert out["diff"]["before"] == {label: [] for label in labels}
    assert sorted(out["diff"]["after"]) == labels and all(len(v) == 2 for v in out["diff"]["after"].values())

    # re-run: nothing to do, still one token and one read per identity
    before = sandbox.counters()
    run = run_playbook(tmp_path, [task], sandbox.env())
    assert run.rc == 0, run
    out = run.result("out")
    assert out["changed"] is False and not any(r["changed"] for r in out["identities"])
    delta = sandbox.counters_delta(before)
    assert delta["writes"] == 0 and delta["reads"] == 3 and delta["token_requests"] == 1


def test_bulk_resource_group_and_exclusive_per_identity(sandbox, bulk_identities, tmp_path):
    sdk.create_resource_group(sandbox.conn, "rg-fic-other")
    sdk.msi_client(sandbox.conn).user_assigned_identities.create_or_update("rg-fic-other", "id-bulk-a",
                                                                           {"location": "westeurope"})
    fics = sdk.msi_client(sandbox.conn).federated_identity_credentials
    for rg in (RG, "rg-fic-other"):
        fics.create_or_update(rg, "id-bulk-a", "stale", {"properties": {
            "issuer": ISSUER, "subject": "system:serviceaccount:old:sa", "audiences": ["api://AzureADTokenExchange"]}})
    items = bulk_items(names=("id-bulk-a",), per_identity=1)
    # same identity name in another resource group: a different identity, exclusive there only
    items.append(dict(bulk_items(names=("id-bulk-a",), per_identity=1)[0], resource_group="rg-fic-other",
                      exclusive=True))
    run = run_playbook(tmp_path, [bulk_task(items)], sandbox.env())
    assert run.rc == 0, run
    first, second = run.result("out")["identities"]
    assert (first["resource_group"], first["deleted"], first["created"]) == (RG, [], ["id-bulk-a-sa0"])
    assert (second["resource_group"], second["deleted"], second["created"]) == ("rg-fic-other", ["stale"],
                                                                                ["id-bulk-a-sa0"])
    assert sorted(listed_on(sandbox, "id-bulk-a")) == ["id-bulk-a-sa0", "stale"]
    assert sorted(listed_on(sandbox, "id-bulk-a", "rg-fic-other")) == ["id-bulk-a-sa0"]

    # the top-level exclusive is the default of every item
    run = run_playbook(tmp_path, [bulk_task(items[:1], exclusive=True)], sandbox.env())
    assert run.result("out")["identities"][0]["deleted"] == ["stale"], run


def _clash_on_third(items):
    items[2]["credentials"][1].update(namespace=items[2]["credentials"][0]["namespace"],
                                      service_account=items[2]["credentials"][0]["service_account"])
    return items


def _missing_third(items):
    items[2]["identity_name"] = "id-bulk-missing"
    for cred in items[2]["credentials"]:
        cred["name"] = cred["name"].replace("id-bulk-c", "id-bulk-missing")
    return items


def _bad_name_on_third(items):
    items[2]["credentials"][0]["name"] = "no"
    return items


# (mutation of bulk_items(), expected message parts, reads before the failure)
BULK_FAILURES = {
    "issuer+subject clash on the 3rd": (_clash_on_third, ["identities[2] (rg-fic/id-bulk-c)", "would both trust"],
                                        3),
    "missing 3rd identity": (_missing_third, ["identities[2] (rg-fic/id-bulk-missing)",
                                              "managed identity id-bulk-missing was not found"], 3),
    "invalid name on the 3rd": (_bad_name_on_third, ["identities[2] (rg-fic/id-bulk-c)", "name 'no' is invalid"], 0),
}


@pytest.mark.parametrize("case", sorted(BULK_FAILURES))
def test_bulk_invalid_third_identity_fails_before_any_write(sandbox, bulk_identities, tmp_path, case):
    mutate, message_parts, reads = BULK_FAILURES[case]
    before = sandbox.counters()
    run = run_playbook(tmp_path, [bulk_task(mutate(bulk_items()))], sandbox.env())
    assert run.rc != 0
    msg = run.result("out")["msg"]
    for part in message_parts:
        assert part in msg, msg
    delta = sandbox.counters_delta(before)
    assert delta["writes"] == 0, delta  # identities 1 and 2 were valid, and still nothing was written
    assert delta["reads"] == reads  # input errors fail before any Azure call
    assert listed_on(sandbox, "id-bulk-a") == {} and listed_on(sandbox, "id-bulk-b") == {}


def test_bulk_check_mode_reports_without_writing(sandbox, bulk_identities, tmp_path):
    before = sandbox.counters()
    run = run_playbook(tmp_path, [bulk_task(bulk_items())], sandbox.env(), check=True, diff=True)
    assert run.rc == 0, run
    out = run.result("out")
    assert out["changed"] is True and all(r["changed"] for r in out["identities"])
    assert [len(r["created"]) for r in out["identities"]] == [2, 2, 2]
    assert all(c["id"] is None for r in out["identities"] for c in r["credentials"])
    assert all(len(v) == 2 for v in out["diff"]["after"].values())
    delta = sandbox.counters_delta(before)
    assert delta["writes"] == 0 and delta["reads"] == 3
    assert all(listed_on(sandbox, name) == {} for name in BULK_IDENTITIES)


def test_bulk_failed_write_reports_what_was_already_done(sandbox, bulk_identities, tmp_path):
    sandbox.add_fault(method="PUT", path="id-bulk-c/federatedidentitycredentials/", status=400, code="BadRequest",
                      message="injected", count=1)
    run = run_playbook(tmp_path, [bulk_task(bulk_items())], sandbox.env())
    assert run.rc != 0
    out = run.result("out")
    assert "identities[2] (rg-fic/id-bulk-c): Failed to write federated credential id-bulk-c-sa0" in out["msg"], out
    assert out["changed"] is True
    assert [r["identity_name"] for r in out["identities"]] == ["id-bulk-a", "id-bulk-b"]
    # a re-run converges the rest only
    run = run_playbook(tmp_path, [bulk_task(bulk_items())], sandbox.env())
    assert run.rc == 0, run
    assert [r["changed"] for r in run.result("out")["identities"]] == [False, False, True]


BULK_OPTION_ERRORS = [
    ({"identity_name": IDENTITY}, "mutually exclusive: identities|identity_name"),
    ({"credentials": []}, "mutually exclusive: identities|credentials"),
    ({"name": "single"}, "mutually exclusive: identities|name"),
    ({"resource_group": None}, "identities[0] (id-bulk-a): resource_group is required"),
]


@pytest.mark.parametrize("options,message", BULK_OPTION_ERRORS, ids=[m for _o, m in BULK_OPTION_ERRORS])
def test_bulk_option_errors(sandbox, bulk_identities, tmp_path, options, message):
    task = bulk_task(bulk_items(), **options)
    if options.get("resource_group", RG) is None:
        del task["keyless.aks_storage.federated_credential"]["resource_group"]
    before = sandbox.counters()
    run = run_playbook(tmp_path, [task], sandbox.env())
    assert run.rc != 0
    assert message in run.result("out")["msg"], run.result("out")["msg"]
    assert sandbox.counters_delta(before)["reads"] == 0


def test_single_form_needs_resource_group_and_an_identity(sandbox, tmp_path):
    run = run_playbook(tmp_path, [{"name": "out", "register": "out", "keyless.aks_storage.federated_credential": {
        "identity_name": IDENTITY, "name": "abc", "issuer": ISSUER, "subject": "s"}}], sandbox.env())
    assert "missing parameter(s) required by 'identity_name': resource_group" in run.result("out")["msg"]
    run = run_playbook(tmp_path, [{"name": "out", "register": "out", "keyless.aks_storage.federated_credential": {
        "resource_group": RG, "name": "abc", "issuer": ISSUER, "subject": "s"}}], sandbox.env())
    assert "one of the following is required: identity_name, identities" in run.result("out")["msg"]
