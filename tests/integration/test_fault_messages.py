"""Messages after faults say what happened: a token service outage is not a bad secret, and a long Retry-After is
capped and reported."""

from .playbook import run_playbook
from . import sdk

RG = "rg-faults"


def identity_task():
    return {"name": "out", "register": "out",
            "keyless.aks_storage.managed_identity": {"resource_group": RG, "name": "id-faults"}}


def test_a_token_endpoint_outage_is_not_reported_as_a_bad_secret(sandbox, tmp_path):
    sandbox.add_fault(path="oauth2/v2.0/token", status=503, code="temporarily_unavailable", message="down", count=50)
    run = run_playbook(tmp_path, [identity_task()], sandbox.env())
    out = run.result("out")
    assert run.rc != 0 and out["status_code"] == 503, out
    assert "the Microsoft Entra token endpoint answered HTTP 503 after the bounded retries" in out["msg"]
    assert "the credential was not refused" in out["hint"] and "secret" not in out["hint"]
    assert sandbox.counters()["faults_injected"] > 1  # azure-identity retried before giving up


def test_a_refused_secret_still_says_check_the_secret(sandbox, tmp_path):
    run = run_playbook(tmp_path, [identity_task()], dict(sandbox.env(), AZURE_SECRET="wrong"))
    out = run.result("out")
    assert run.rc != 0 and "AADSTS7000215" in out["msg"] and "check auth_source, tenant, client_id and secret" in \
        out["hint"], out


def test_a_long_retry_after_is_capped_and_reported(sandbox, tmp_path):
    sdk.create_resource_group(sandbox.conn, RG)
    sandbox.add_fault(method="GET", path="userassignedidentities/id-faults$", status=429, code="TooManyRequests",
                      message="slow down", retry_after="150", count=1)
    run = run_playbook(tmp_path, [identity_task()], dict(sandbox.env(), KEYLESS_AZURE_RETRY_AFTER_MAX="1"))
    assert run.rc == 0, run
    out = run.result("out")
    assert out["changed"] is True and sandbox.counters()["faults_injected"] == 1
    assert any("Azure asked to wait 150s (Retry-After) before retrying GET" in w and "waited 1s" in w
               for w in out.get("warnings", [])), out.get("warnings")
