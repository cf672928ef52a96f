"""One sign-in per play (lookup keyless.aks_storage.sign_in, option sign_in of every Azure module): site.yml on a
converged chain asks Entra for one ARM token and reads the cloud metadata once, the token shows up nowhere, and a
module given a sign-in it may not use signs in itself."""

import re
import time
from pathlib import Path

from .playbook import run_playbook
from .test_site_and_teardown import playbook

AZURE_MODULES = {p.stem for p in (Path(__file__).resolve().parents[2] / "plugins" / "modules").glob("*.py")}
SIGN_IN_TASK = {"name": "sign in", "no_log": True, "run_once": True,
                "ansible.builtin.set_fact": {"keyless_sign_in": "{{ lookup('keyless.aks_storage.sign_in') }}"}}
SHARED = {"module_defaults": {"group/keyless.aks_storage.azure": {"sign_in": "{{ keyless_sign_in | default(omit) }}"}}}


def arm_tokens(sandbox, before):
    """The ARM tokens Entra issued after ``before`` (a list of issued tokens)."""
    seen = {t["access_token"] for t in before}
    return [t for t in sandbox.issued_tokens() if t["access_token"] not in seen
            and t["audience"].rstrip("/") == sandbox.conn["arm_audience"].rstrip("/")]


def files_containing(root, secret):
    return [str(p) for p in root.rglob("*") if p.is_file() and secret in p.read_bytes().decode("utf-8", "replace")]


def test_a_noop_site_run_signs_in_once_and_the_token_is_nowhere(sandbox, converged_tmp):
    tree, facts, tmp = converged_tmp / "tree", converged_tmp / "facts", converged_tmp / "ansible-tmp"
    extra_env = dict(ANSIBLE_CALLBACKS_ENABLED="ansible.builtin.tree", ANSIBLE_CALLBACK_TREE_DIR=str(tree),
                     ANSIBLE_CACHE_PLUGIN="ansible.builtin.jsonfile", ANSIBLE_CACHE_PLUGIN_CONNECTION=str(facts),
                     ANSIBLE_LOG_PATH=str(converged_tmp / "ansible.log"), ANSIBLE_REMOTE_TMP=str(tmp),
                     ANSIBLE_LOCAL_TEMP=str(tmp), ANSIBLE_PIPELINING="0")  # Ansible's default: payload files on disk
    issued, before = sandbox.issued_tokens(), sandbox.counters()
    run = playbook(sandbox, converged_tmp, "site.yml", "-vvv", env=extra_env)
    assert run.returncode == 0, run.stdout[-4000:]
    assert re.search(r"changed=0\s", run.stdout), run.stdout[-3000:]
    delta = sandbox.counters_delta(before)
    tokens = arm_tokens(sandbox, issued)
    # one PUT of an AnsiballZ payload per module process (-vvv); those of this collection's Azure modules
    modules = [m for m in re.findall(r"^<[^>]+> PUT .* TO \S*/AnsiballZ_(\w+)\.py$", run.stdout, re.MULTILINE)
               if m in AZURE_MODULES]
    # one ARM token for the play (the Converge play; Preflight has no Azure task) where each module took its own
    assert len(tokens) == 1, [t["grant"] for t in tokens]
    assert len(modules) >= 8, modules  # ... shared by that many Azure module processes
    assert delta["metadata_requests"] == 1
    assert delta["writes"] == 0
    token = tokens[0]["access_token"]
    assert token not in run.stdout + run.stderr
    assert "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in run.stdout  # -vvv shows the module args, the token masked
    assert list(tree.iterdir()), "the tree callback wrote no result"  # results were written, without the token
    assert (converged_tmp / "ansible.log").stat().st_size > 0
    assert files_containing(converged_tmp, token) == []
    assert "keyless_sign_in" not in "".join(p.read_text() for p in facts.rglob("*") if p.is_file())


def forged_sign_in(sandbox, expires_in):
    """A sign-in record made for the sandbox env's options, carrying a token Entra never issued."""
    conn = sandbox.conn
    key = "|".join(["auto", conn["tenant_id"].lower(), conn["client_id"].lower(), conn["metadata_url"].lower()])
    return {"access_token": "forged.not-a-token.x", "expires_on": int(time.time()) + expires_in, "made_for": key,
            "subscription_id": conn["subscription_id"],
            "cloud": {"name": "KeylessSandbox", "resource_manager": conn["arm_url"], "login_endpoint":
                      conn["authority_host"], "audience": conn["arm_audience"], "well_known": False}}


def identity_read(sign_in):
    return [{"name": "out", "register": "out", "ignore_errors": True,
             "keyless.aks_storage.managed_identity_info": {"resource_group": "rg-sign-in", "sign_in": sign_in}}]


def test_a_module_uses_a_sign_in_made_for_it_and_signs_in_itself_when_it_expires_too_soon(sandbox, tmp_path):
    # a token that outlives the longest wait is used as given: ARM refuses the forged one
    used = run_playbook(tmp_path, identity_read(forged_sign_in(sandbox, 7200)), sandbox.env())
    assert used.result("out")["failed"], used
    assert used.result("out")["status_code"] == 401, used.result("out")
    assert "forged.not-a-token" not in used.stdout + used.stderr
    # one that expires within 35 minutes (a 30-minute LRO plus the 5-minute refresh) is left alone
    issued = sandbox.issued_tokens()
    fallback = run_playbook(tmp_path, identity_read(forged_sign_in(sandbox, 2000)), sandbox.env())
    assert not fallback.result("out").get("failed"), fallback.result("out")
    assert len(arm_tokens(sandbox, issued)) == 1
    # ... and so is one made for another identity
    other = dict(forged_sign_in(sandbox, 7200), made_for="cli|||azurecloud")
    assert not run_playbook(tmp_path, identity_read(other), sandbox.env()).result("out").get("failed")


def test_a_failed_sign_in_names_the_entra_error_without_the_secret(sandbox, tmp_path):
    env = dict(sandbox.env(), AZURE_SECRET="not-the-secret-5678")
    run = run_playbook(tmp_path, [dict(SIGN_IN_TASK, no_log=False)], env)
    assert run.rc != 0
    assert "AADSTS7000215" in run.stdout and "keyless.aks_storage.sign_in" in run.stdout, run.stdout[-2000:]
    assert "not-the-secret-5678" not in run.stdout + run.stderr
    # on_failure=warn (doctor.yml): a warning, and the modules sign in themselves (and fail as they would)
    warn = dict(SIGN_IN_TASK, **{"ansible.builtin.set_fact": {"keyless_sign_in": "{{ lookup("
                                 "'keyless.aks_storage.sign_in', on_failure='warn') }}"}})
    run = run_playbook(tmp_path, [warn] + identity_read("{{ keyless_sign_in }}"), env, play=SHARED)
    assert "every module signs in itself" in run.stdout + run.stderr
    assert "AADSTS7000215" in run.result("out")["msg"]
    assert "not-the-secret-5678" not in run.stdout + run.stderr
