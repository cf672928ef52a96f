"""The keyless.aks_storage.aks inventory plugin against the sandbox, through real ansible-inventory and
ansible-playbook processes: hosts and host variables, filters, constructed groups, unique names, the cache (no Azure
request on a cached run), unreadable subscriptions and groups, the secret kept out of every output, and plays (the
tiny one, and site.yml) over the hosts it lists.

The sandbox emulates one subscription: a second *readable* subscription cannot be made, so several subscriptions
are exercised with one that does not exist (SubscriptionNotFound) or is refused (fault 403), and name collisions
across subscriptions in tests/unit/test_inventory_aks.py.
"""

import json
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import yaml

from .playbook import ansible_env
from . import sdk

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CLUSTERS = "Microsoft.ContainerService/managedClusters"
LISTING = "/providers/microsoft.containerservice/managedclusters"
TIMEOUT = 300


# ---- helpers ------------------------------------------------------------------------------------------------------
def make_cluster(conn, resource_group, name, tags=None, location="westeurope", version="1.33.2", oidc=False,
                 entra=False):
    """A cluster straight through the SDK (test setup), optionally with tags and AKS-managed Entra ID."""
    props = {"dnsPrefix": name, "kubernetesVersion": version,
             "agentPoolProfiles": [{"name": "system", "count": 1, "vmSize": "Standard_D2s_v5", "mode": "System",
                                    "osType": "Linux", "type": "VirtualMachineScaleSets"}],
             "oidcIssuerProfile": {"enabled": oidc}, "securityProfile": {"workloadIdentity": {"enabled": oidc}}}
    if entra:
        props.update(aadProfile={"managed": True, "enableAzureRBAC": True}, disableLocalAccounts=True)
    body = {"location": location, "tags": tags or {}, "identity": {"type": "SystemAssigned"}, "properties": props}
    client = sdk.containerservice_client(conn)
    return client.managed_clusters.begin_create_or_update(resource_group, name, body).result().as_dict()


@pytest.fixture
def fleet(sandbox):
    """Two resource groups, four clusters, two of them named alike."""
    conn = sandbox.conn
    for group in ("rg-aks-a", "rg-aks-b"):
        sdk.create_resource_group(conn, group)
    made = {
        "dev_a": make_cluster(conn, "rg-aks-a", "aks-dev", tags={"environment": "dev", "team": "payments"},
                              oidc=True),
        "prod": make_cluster(conn, "rg-aks-a", "aks-prod", tags={"Environment": "prod", "keyless": "true"},
                             location="northeurope", version="1.32.4", entra=True),
        "dev_b": make_cluster(conn, "rg-aks-b", "aks-dev", tags={"environment": "dev", "team": "search"}),
        "legacy": make_cluster(conn, "rg-aks-b", "aks-legacy", version="1.31.1"),
    }
    return made


def unwrap(value):
    """ansible-inventory's JSON marks text from the plugin as {"__ansible_unsafe": ...} (never templated)."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


class Inventory:
    def __init__(self, proc, output):
        self.rc, self.stdout, self.stderr = proc.returncode, proc.stdout, proc.stderr
        try:
            self.data = unwrap(json.loads(output.read_text()))
        except (OSError, ValueError):
            self.data = {}

    @property
    def hostvars(self):
        return self.data.get("_meta", {}).get("hostvars", {})

    def group(self, name):
        return sorted(self.data.get(name, {}).get("hosts", []))

    @property
    def groups(self):
        return {name for name in self.data if name not in ("_meta", "all", "ungrouped")}

    def __repr__(self):
        return "Inventory(rc=%s)\nSTDOUT:\n%s\nSTDERR:\n%s" % (self.rc, self.stdout[-3000:], self.stderr[-4000:])


def write_config(tmp_path, options, name="fleet.aks.yml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(dict({"plugin": "keyless.aks_storage.aks"}, **options), sort_keys=False))
    return path


def inventory(sandbox, source, *args, env=None, unset=()):
    """``ansible-inventory -i source --list`` against the sandbox; an unparsed source fails it."""
    environment = dict(sandbox.env(), ANSIBLE_INVENTORY_UNPARSED_FAILED="True")
    environment.update(env or {})
    environment = ansible_env(environment)
    for name in unset:
        environment.pop(name, None)
    output = Path(tempfile.mkdtemp(prefix="inventory-")) / "inventory.json"
    proc = subprocess.run([str(BIN / "ansible-inventory"), "-i", str(source), "--list", "--output", str(output)]
                          + list(args), env=environment, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    try:
        return Inventory(proc, output)
    finally:
        shutil.rmtree(output.parent, ignore_errors=True)


def listings(sandbox, since):
    """The managedClusters listings sandbox served after request ``since`` (paths, lowercased)."""
    return [r["path"].lower() for r in sandbox.requests(since) if r["method"] == "GET" and
            r["path"].lower().endswith(LISTING)]


def azure_requests(sandbox, since):
    """Every request the sandbox served after ``since`` but its control API's (Entra, metadata, ARM, ...)."""
    return [r for r in sandbox.requests(since) if not r["path"].startswith("/_sandbox")]


def request_count(sandbox):
    """The index the sandbox's next logged request gets (for requests(since=...))."""
    return sandbox.call("GET", "/requests", query={"since": 2 ** 62})["next"]


def one_line(text):
    return " ".join(text.split())


# ---- hosts and host variables -------------------------------------------------------------------------------------
def test_clusters_become_hosts_with_the_chain_variables(sandbox, fleet, tmp_path):
    config = write_config(tmp_path, {})
    before = sandbox.counters()
    inv = inventory(sandbox, config)
    assert inv.rc == 0, inv
    delta = sandbox.counters_delta(before)
    assert delta["by_type"][CLUSTERS]["reads"] == 1 and delta["writes"] == 0, delta  # one listing, no write

    # the two aks-dev clusters are two hosts, named by resource group, and a warning says so
    assert inv.group("aks_clusters") == ["aks-dev_rg-aks-a", "aks-dev_rg-aks-b", "aks-legacy", "aks-prod"]
    warning = one_line(inv.stderr)
    assert "clusters share a host name (hostnames=name)" in warning
    assert "aks-dev in resource group rg-aks-a of subscription %s is host aks-dev_rg-aks-a" % (
        sandbox.conn["subscription_id"]) in warning
    assert "Set hostnames: name_resource_group" in warning

    dev = inv.hostvars["aks-dev_rg-aks-a"]
    assert dev["keyless_cluster_name"] == "aks-dev"  # what site.yml manages, whatever the host name
    assert dev["keyless_cluster_resource_group"] == "rg-aks-a"
    assert dev["keyless_cluster_id"] == fleet["dev_a"]["id"]
    assert dev["keyless_cluster_subscription_id"] == sandbox.conn["subscription_id"]
    assert dev["keyless_cluster_location"] == "westeurope"
    assert dev["keyless_cluster_kubernetes_version"] == fleet["dev_a"]["properties"]["currentKubernetesVersion"]
    assert dev["keyless_oidc_issuer_url"] == fleet["dev_a"]["properties"]["oidcIssuerProfile"]["issuerURL"]
    assert dev["keyless_oidc_issuer_url"].endswith("/")
    assert dev["keyless_cluster_oidc_issuer_enabled"] is True
    assert dev["keyless_cluster_workload_identity_enabled"] is True
    assert dev["keyless_cluster_blob_driver_enabled"] is False
    assert (dev["keyless_cluster_auth"], dev["keyless_cluster_azure_rbac"],
            dev["keyless_cluster_local_accounts_disabled"]) == ("local", False, False)
    assert dev["keyless_cluster_tags"] == {"environment": "dev", "team": "payments"}
    assert dev["keyless_cluster_provisioning_state"] == "Succeeded"
    assert dev["keyless_cluster_power_state"] == "Running"
    assert dev["keyless_cluster_fqdn"] == fleet["dev_a"]["properties"]["fqdn"]
    assert dev["keyless_cluster_node_resource_group"] == fleet["dev_a"]["properties"]["nodeResourceGroup"]
    # clusters are not machines: the modules run on the control node, as with the static inventories
    assert dev["ansible_connection"] == "local"
    assert dev["ansible_python_interpreter"] == "{{ ansible_playbook_python }}"
    # the chain's own variables stay in group_vars
    assert not {"keyless_location", "keyless_subscription_id", "keyless_tags", "keyless_cluster"} & set(dev)

    prod = inv.hostvars["aks-prod"]
    assert (prod["keyless_cluster_auth"], prod["keyless_cluster_azure_rbac"],
            prod["keyless_cluster_local_accounts_disabled"]) == ("entra", True, True)
    assert prod["keyless_oidc_issuer_url"] is None and prod["keyless_cluster_oidc_issuer_enabled"] is False
    assert prod["keyless_cluster_location"] == "northeurope"
    assert prod["keyless_cluster_kubernetes_version"].startswith("1.32.")
    assert inv.hostvars["aks-legacy"]["keyless_cluster_tags"] == {}


def test_hostnames_options_are_unique(sandbox, fleet, tmp_path):
    inv = inventory(sandbox, write_config(tmp_path, {"hostnames": "name_resource_group"}))
    assert inv.rc == 0, inv
    assert inv.group("aks_clusters") == ["aks-dev_rg-aks-a", "aks-dev_rg-aks-b", "aks-legacy_rg-aks-b",
                                         "aks-prod_rg-aks-a"]
    assert "share a host name" not in inv.stderr  # nothing had to be renamed

    inv = inventory(sandbox, write_config(tmp_path, {"hostnames": "id"}))
    assert inv.rc == 0, inv
    assert inv.group("aks_clusters") == sorted(c["id"] for c in fleet.values())


def test_every_page_of_the_listing_is_read(sandbox, fleet, tmp_path):
    sandbox.configure(page_size=1)
    since = request_count(sandbox)
    inv = inventory(sandbox, write_config(tmp_path, {}))
    assert inv.rc == 0, inv
    assert len(inv.group("aks_clusters")) == 4
    assert len(listings(sandbox, since)) == 4  # one request per page (nextLink)


# ---- filters ------------------------------------------------------------------------------------------------------
def test_resource_groups_by_name_list_only_those_groups(sandbox, fleet, tmp_path):
    since = request_count(sandbox)
    inv = inventory(sandbox, write_config(tmp_path, {"resource_groups": ["RG-AKS-B"]}))
    assert inv.rc == 0, inv
    assert inv.group("aks_clusters") == ["aks-dev", "aks-legacy"]  # no collision left: plain names
    sub = sandbox.conn["subscription_id"].lower()
    assert listings(sandbox, since) == ["/subscriptions/%s/resourcegroups/rg-aks-b%s" % (sub, LISTING)]


def test_resource_group_patterns_and_tag_filters(sandbox, fleet, tmp_path):
    since = request_count(sandbox)
    inv = inventory(sandbox, write_config(tmp_path, {
        "resource_groups": ["rg-aks-*"],
        # tag names case-insensitively (Environment on aks-prod), values exactly, any of a list
        "include_tags": {"ENVIRONMENT": ["dev", "prod"]},
        "exclude_tags": [{"team": "payments"}, {"keyless": "nope"}]}))
    assert inv.rc == 0, inv
    assert inv.group("aks_clusters") == ["aks-dev", "aks-prod"]  # aks-dev of rg-aks-b; aks-legacy has no tag
    assert inv.hostvars["aks-dev"]["keyless_cluster_resource_group"] == "rg-aks-b"
    sub = sandbox.conn["subscription_id"].lower()
    assert listings(sandbox, since) == ["/subscriptions/%s%s" % (sub, LISTING)]  # a pattern: the subscription once

    # a list of dicts is "any of"; a null value is "the tag is set, whatever its value"; YAML's true is "true"
    inv = inventory(sandbox, write_config(tmp_path, {"include_tags": [{"keyless": True}, {"team": None}]}))
    assert inv.rc == 0, inv
    assert inv.group("aks_clusters") == ["aks-dev_rg-aks-a", "aks-dev_rg-aks-b", "aks-prod"]
    # every tag of one dict must match
    inv = inventory(sandbox, write_config(tmp_path, {"include_tags": {"environment": "dev", "team": "search"}}))
    assert inv.group("aks_clusters") == ["aks-dev"], inv
    inv = inventory(sandbox, write_config(tmp_path, {"resource_groups": ["rg-none-*"]}))
    assert inv.rc == 0 and inv.group("aks_clusters") == [], inv


# ---- constructed --------------------------------------------------------------------------------------------------
def test_keyed_groups_groups_and_compose(sandbox, fleet, tmp_path):
    inv = inventory(sandbox, write_config(tmp_path, {
        "hostnames": "name_resource_group",
        "keyed_groups": [
            {"prefix": "location", "key": "keyless_cluster_location"},
            {"prefix": "k8s", "key": "keyless_cluster_kubernetes_version.split('.')[:2] | join('_')"},
            {"prefix": "rg", "key": "keyless_cluster_resource_group"},
            {"prefix": "tag", "key": "keyless_cluster_tags"}],
        "groups": {"needs_oidc": "not keyless_cluster_oidc_issuer_enabled",
                   "entra": "keyless_cluster_auth == 'entra'",
                   "composed_in_north": "keyless_location == 'northeurope'"},
        "compose": {"keyless_location": "keyless_cluster_location",
                    "keyless_environment": "{'AZURE_SUBSCRIPTION_ID': keyless_cluster_subscription_id}",
                    "keyless_kubeconfig_path": "'/tmp/kube-' ~ inventory_hostname ~ '.yaml'"}}))
    assert inv.rc == 0, inv
    assert inv.group("location_northeurope") == ["aks-prod_rg-aks-a"]
    assert inv.group("location_westeurope") == ["aks-dev_rg-aks-a", "aks-dev_rg-aks-b", "aks-legacy_rg-aks-b"]
    assert inv.group("k8s_1_32") == ["aks-prod_rg-aks-a"] and inv.group("k8s_1_31") == ["aks-legacy_rg-aks-b"]
    assert inv.group("rg_rg_aks_b") == ["aks-dev_rg-aks-b", "aks-legacy_rg-aks-b"]
    assert inv.group("tag_team_payments") == ["aks-dev_rg-aks-a"]
    assert inv.group("tag_environment_dev") == ["aks-dev_rg-aks-a", "aks-dev_rg-aks-b"]
    assert inv.group("needs_oidc") == ["aks-dev_rg-aks-b", "aks-legacy_rg-aks-b", "aks-prod_rg-aks-a"]
    assert inv.group("entra") == ["aks-prod_rg-aks-a"]
    assert inv.group("composed_in_north") == ["aks-prod_rg-aks-a"]  # groups see the composed variables
    assert inv.hostvars["aks-prod_rg-aks-a"]["keyless_location"] == "northeurope"
    assert inv.hostvars["aks-dev_rg-aks-b"]["keyless_kubeconfig_path"] == "/tmp/kube-aks-dev_rg-aks-b.yaml"
    assert inv.hostvars["aks-dev_rg-aks-b"]["keyless_environment"] == {
        "AZURE_SUBSCRIPTION_ID": sandbox.conn["subscription_id"]}
    assert set(inv.group("aks_clusters")) == set(inv.hostvars)


def test_strict_makes_a_bad_expression_fatal(sandbox, fleet, tmp_path):
    options = {"compose": {"broken": "keyless_no_such_variable.attribute"}}
    lenient = inventory(sandbox, write_config(tmp_path, options))
    assert lenient.rc == 0 and "broken" not in lenient.hostvars["aks-legacy"], lenient
    strict = inventory(sandbox, write_config(tmp_path, dict(options, strict=True)))
    assert strict.rc != 0
    assert "Could not set broken for host" in one_line(strict.stderr), strict


# ---- cache --------------------------------------------------------------------------------------------------------
def test_a_cached_run_makes_no_azure_request(sandbox, fleet, tmp_path):
    cache_dir = tmp_path / "cache"
    options = {"cache": True, "cache_plugin": "ansible.builtin.jsonfile", "cache_connection": str(cache_dir),
               "cache_timeout": 600}
    config = write_config(tmp_path, options)
    before = sandbox.counters()
    first = inventory(sandbox, config)
    assert first.rc == 0, first
    assert sandbox.counters_delta(before)["reads"] == 1

    before, since = sandbox.counters(), request_count(sandbox)
    second = inventory(sandbox, config)
    assert second.rc == 0, second
    delta = sandbox.counters_delta(before)
    assert (delta["reads"], delta["writes"], delta["token_requests"], delta["metadata_requests"],
            delta["unauthorized"]) == (0, 0, 0, 0, 0), delta
    assert azure_requests(sandbox, since) == []  # not one request of any kind
    assert second.data == first.data

    # filters, host names and groups apply to the cached listing: still no request
    config = write_config(tmp_path, dict(options, include_tags={"environment": "dev"}, hostnames="id",
                                         keyed_groups=[{"prefix": "rg", "key": "keyless_cluster_resource_group"}]))
    since = request_count(sandbox)
    third = inventory(sandbox, config)
    assert third.rc == 0, third
    assert azure_requests(sandbox, since) == []
    assert third.group("aks_clusters") == sorted([fleet["dev_a"]["id"], fleet["dev_b"]["id"]])
    assert third.group("rg_rg_aks_a") == [fleet["dev_a"]["id"]]

    # a new cluster shows only once the cache is flushed
    make_cluster(sandbox.conn, "rg-aks-b", "aks-new", tags={"environment": "dev"})
    assert len(inventory(sandbox, config).group("aks_clusters")) == 2
    before = sandbox.counters()
    flushed = inventory(sandbox, config, "--flush-cache")
    assert flushed.rc == 0, flushed
    assert sandbox.counters_delta(before)["reads"] == 1
    assert len(flushed.group("aks_clusters")) == 3

    # a scope added to the file is listed alone; the others still come from the cache
    config = write_config(tmp_path, dict(options, subscriptions=[sandbox.conn["subscription_id"]],
                                         resource_groups=["rg-aks-a"]))
    since = request_count(sandbox)
    assert inventory(sandbox, config).group("aks_clusters") == ["aks-dev", "aks-prod"]
    assert len(listings(sandbox, since)) == 1
    since = request_count(sandbox)
    assert inventory(sandbox, config).group("aks_clusters") == ["aks-dev", "aks-prod"]
    assert azure_requests(sandbox, since) == []

    cached = "".join(p.read_text() for p in cache_dir.iterdir())
    assert fleet["dev_a"]["id"] in cached
    assert sandbox.conn["client_secret"] not in cached


def test_an_expired_cache_lists_again(sandbox, fleet, tmp_path):
    config = write_config(tmp_path, {"cache": True, "cache_plugin": "ansible.builtin.jsonfile",
                                     "cache_connection": str(tmp_path / "cache"), "cache_timeout": 1})
    assert inventory(sandbox, config).rc == 0
    time.sleep(1.5)
    before = sandbox.counters()
    assert inventory(sandbox, config).rc == 0
    assert sandbox.counters_delta(before)["reads"] == 1


# ---- scopes that cannot be listed ---------------------------------------------------------------------------------
def test_a_subscription_that_does_not_exist_fails_or_warns(sandbox, fleet, tmp_path):
    missing = str(uuid.uuid4())
    subscriptions = [sandbox.conn["subscription_id"], missing]
    strict = inventory(sandbox, write_config(tmp_path, {"subscriptions": subscriptions}))
    assert strict.rc != 0
    text = one_line(strict.stderr)
    assert "option subscriptions: Failed to list the AKS clusters of subscription %s: SubscriptionNotFound" % (
        missing) in text, strict
    assert "set strict_permissions: false to warn and list the others" in text
    assert strict.hostvars == {}

    lenient = inventory(sandbox, write_config(tmp_path, {"subscriptions": subscriptions, "strict_permissions": False}))
    assert lenient.rc == 0, lenient
    assert len(lenient.group("aks_clusters")) == 4
    text = one_line(lenient.stderr)
    assert "subscription %s: SubscriptionNotFound" % missing in text and "skipped" in text


def test_a_refused_or_missing_resource_group(sandbox, fleet, tmp_path):
    sandbox.add_fault(method="GET", path="resourcegroups/rg-aks-a" + LISTING + "$", status=403,
                      code="AuthorizationFailed", count=10,
                      message="The client does not have authorization to perform action "
                              "'Microsoft.ContainerService/managedClusters/read'.")
    options = {"resource_groups": ["rg-aks-a", "rg-aks-b", "rg-aks-gone"]}
    strict = inventory(sandbox, write_config(tmp_path, options))
    assert strict.rc != 0
    text = one_line(strict.stderr)
    assert ("option resource_groups: Failed to list the AKS clusters of resource group rg-aks-a in subscription %s: "
            "AuthorizationFailed" % sandbox.conn["subscription_id"]) in text, strict

    lenient = inventory(sandbox, write_config(tmp_path, dict(options, strict_permissions=False)))
    assert lenient.rc == 0, lenient
    assert lenient.group("aks_clusters") == ["aks-dev", "aks-legacy"]
    text = one_line(lenient.stderr)
    assert "resource group rg-aks-a" in text and "AuthorizationFailed" in text
    assert "resource group rg-aks-gone" in text and "ResourceGroupNotFound" in text


def test_other_failures_always_fail(sandbox, fleet, tmp_path):
    sandbox.add_fault(method="GET", path=LISTING + "$", status=400, code="InvalidQuery", message="injected")
    inv = inventory(sandbox, write_config(tmp_path, {"strict_permissions": False}))
    assert inv.rc != 0
    assert "Failed to list the AKS clusters of subscription" in one_line(inv.stderr) and "InvalidQuery" in inv.stderr


@pytest.mark.parametrize("options,message", [
    ({"subscriptions": ["not-a-guid"]}, "option subscriptions[0]: 'not-a-guid' is not a subscription ID"),
    ({"hostnames": "fqdn"}, "hostnames"),
    ({"include_tags": "environment=dev"}, "option include_tags: must be a dict of tag: value"),
    ({"exclude_tags": [{"team": {"a": 1}}]}, "option exclude_tags[0].team: values must be strings"),
    ({"resource_groups": [""]}, "option resource_groups[0]: must be a resource group name or pattern"),
    ({"cloud_environment": "http://127.0.0.1:1/"},
     "option cloud_environment: cloud_environment 'http://127.0.0.1:1/' must be an https URL"),
    # found once the cloud is known (its authority), so after the metadata read: still no token, no ARM request
    ({"auth_source": "workload_identity"}, "auth_source=workload_identity needs federated_token_file"),
])
def test_option_errors_name_the_option_and_send_nothing(sandbox, tmp_path, options, message):
    since = request_count(sandbox)
    inv = inventory(sandbox, write_config(tmp_path, options), unset=["AZURE_FEDERATED_TOKEN_FILE"])
    assert inv.rc != 0
    assert message in one_line(inv.stderr), inv
    sent = [r["path"] for r in azure_requests(sandbox, since)]
    assert sent == (["/metadata/endpoints"] if "auth_source" in options else [])


def test_options_may_be_templates(sandbox, fleet, tmp_path):
    """As in the examples: the subscription and groups from lookups (the configuration file is trusted)."""
    config = write_config(tmp_path, {"subscriptions": ["{{ lookup('ansible.builtin.env', 'FLEET_SUBSCRIPTION') }}"],
                                     "resource_groups": ["{{ 'rg-aks-' ~ 'b' }}"]})
    inv = inventory(sandbox, config, env={"FLEET_SUBSCRIPTION": sandbox.conn["subscription_id"]},
                    unset=["AZURE_SUBSCRIPTION_ID"])
    assert inv.rc == 0, inv
    assert inv.group("aks_clusters") == ["aks-dev", "aks-legacy"]


def test_without_any_subscription_the_message_says_what_to_set(sandbox, tmp_path):
    inv = inventory(sandbox, write_config(tmp_path, {"auth_source": "env"}), unset=["AZURE_SUBSCRIPTION_ID"])
    assert inv.rc != 0
    assert ("option subscriptions: no subscription to list: set subscriptions, or subscription_id (or "
            "AZURE_SUBSCRIPTION_ID)") in one_line(inv.stderr), inv


def test_the_file_name_must_end_with_aks_yml(sandbox, fleet, tmp_path):
    inv = inventory(sandbox, write_config(tmp_path, {}, name="fleet.yml"))
    assert inv.rc != 0  # no plugin accepts it (yaml refuses a plugin configuration)
    assert inv.hostvars == {}
    assert inventory(sandbox, write_config(tmp_path, {}, name="aks.yaml")).rc == 0


# ---- the secret ---------------------------------------------------------------------------------------------------
def test_the_secret_is_never_displayed(sandbox, fleet, tmp_path):
    secret = sandbox.conn["client_secret"]
    # in the configuration file (not the environment), with -vvv, on success and on failure
    env = {"AZURE_SECRET": "", "AZURE_CLIENT_SECRET": ""}
    config = write_config(tmp_path, {"secret": secret, "auth_source": "env"})
    ok = inventory(sandbox, config, "-vvv", env=env)
    assert ok.rc == 0, ok
    assert len(ok.group("aks_clusters")) == 4
    assert secret not in ok.stdout + ok.stderr + json.dumps(ok.data)

    sandbox.add_fault(method="GET", path=LISTING + "$", status=403, code="AuthorizationFailed", message="no")
    failed = inventory(sandbox, config, "-vvv", env=env)
    assert failed.rc != 0 and "AuthorizationFailed" in failed.stderr, failed
    assert secret not in failed.stdout + failed.stderr

    # from the environment, with the token refused
    sandbox.add_fault(path="oauth2/v2.0/token", status=401, code="invalid_client", message="AADSTS7000215: bad")
    refused = inventory(sandbox, write_config(tmp_path, {}), "-vvv")
    assert refused.rc != 0, refused
    assert secret not in refused.stdout + refused.stderr


# ---- plays over the plugin's hosts --------------------------------------------------------------------------------
def test_a_play_runs_on_the_plugin_hosts(sandbox, fleet, tmp_path):
    config = write_config(tmp_path, {"resource_groups": ["rg-aks-a"]})
    play = tmp_path / "play.yml"
    play.write_text(yaml.safe_dump([{"name": "clusters", "hosts": "aks_clusters", "gather_facts": False, "tasks": [
        # a module: runs locally in ansible_playbook_python (the plugin's ansible_python_interpreter)
        {"name": "ping", "ansible.builtin.ping": {}},
        {"name": "id", "ansible.builtin.debug": {"msg": "{{ keyless_cluster_name }} {{ keyless_cluster_id }}"}},
    ]}]))
    env = dict(sandbox.env(), ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
    environment = ansible_env(env)
    environment.pop("ANSIBLE_PYTHON_INTERPRETER")  # the inventory's own interpreter setting is what runs
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(config), str(play)], env=environment,
                          capture_output=True, text=True, timeout=TIMEOUT, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    tasks = {t["task"]["name"]: t["hosts"] for t in json.loads(proc.stdout)["plays"][0]["tasks"]}
    assert sorted(tasks["ping"]) == ["aks-dev", "aks-prod"]
    assert all(r["ping"] == "pong" for r in tasks["ping"].values())
    assert tasks["id"]["aks-prod"]["msg"] == "aks-prod %s" % fleet["prod"]["id"]
    assert tasks["id"]["aks-dev"]["msg"] == "aks-dev %s" % fleet["dev_a"]["id"]


def test_the_dev_example_merges_with_the_dev_group_vars(sandbox, tmp_path):
    """inventories/dev-aks: the plugin form of inventories/dev gives its host the same chain variables."""
    sdk.create_resource_group(sandbox.conn, "rg-aks-dev")
    make_cluster(sandbox.conn, "rg-aks-dev", "aks-keyless-dev-weu", oidc=True)
    plugin = inventory(sandbox, REPO / "inventories" / "dev-aks")
    assert plugin.rc == 0, plugin
    static = inventory(sandbox, REPO / "inventories" / "dev")
    assert plugin.group("aks_clusters") == static.group("aks_clusters") == ["aks-keyless-dev-weu"]
    discovered, listed = plugin.hostvars["aks-keyless-dev-weu"], static.hostvars["aks-keyless-dev-weu"]
    assert {k: v for k, v in discovered.items() if k in listed} == listed
    assert plugin.group("location_westeurope") == ["aks-keyless-dev-weu"]
    assert plugin.group("needs_oidc") == []


@pytest.mark.slow
def test_site_yml_converges_the_clusters_the_plugin_lists(sandbox, tmp_path):
    """inventories/sandbox-aks: site.yml over a cluster that exists without OIDC, found by the plugin."""
    sdk.create_resource_group(sandbox.conn, "rg-aks-sandbox")
    make_cluster(sandbox.conn, "rg-aks-sandbox", "sandbox-aks-1")
    env = dict(sandbox.env(), KEYLESS_HELM_BINARY=sandbox.conn["helm_binary"], TMPDIR=str(tmp_path),
               ANSIBLE_STDOUT_CALLBACK="default", ANSIBLE_INVENTORY_UNPARSED_FAILED="True")
    environment = ansible_env(env)
    environment.pop("ANSIBLE_PYTHON_INTERPRETER")
    site = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(REPO / "inventories" / "sandbox-aks"),
                           str(REPO / "playbooks" / "site.yml"),
                           "-e", "keyless_kubeconfig_path=%s/kubeconfig" % tmp_path],
                          env=environment, capture_output=True, text=True, timeout=900, check=False)
    assert site.returncode == 0, site.stdout[-4000:] + site.stderr[-2000:]
    decisions = sandbox.call("GET", "/kubelet/decisions")["decisions"]
    # the two static blob workloads, the Azure Files one and the dynamically provisioned one of the inventory
    assert sorted(d["outcome"] for d in decisions) == ["succeeded"] * 4
    cluster = sdk.containerservice_client(sandbox.conn).managed_clusters.get("rg-aks-sandbox", "sandbox-aks-1")
    assert cluster.as_dict()["properties"]["oidcIssuerProfile"]["enabled"] is True
