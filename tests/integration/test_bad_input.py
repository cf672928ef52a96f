"""Bad input to the modules is refused before any request, with the field named and the accepted form.

All cases run as tasks of one playbook (``ignore_errors``), so the sandbox's counters prove that none of them made an
ARM read or write. Each case: (class, module, options, what the message must say).
"""

import pytest

from .playbook import run_playbook

ISSUER = "https://westeurope.oic.prod-aks.azure.com/00000000-0000-0000-0000-000000000000/bad-input/"
RG = "rg-bad-input"
SUBNET = ("/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Network/"
          "virtualNetworks/vnet/subnets/default")


def fic(**credential):
    base = dict(resource_group=RG, identity_name="id-bad-input", name="cred-bad", issuer=ISSUER,
                namespace="ns", service_account="sa")
    base.update(credential)
    return base


def account(**options):
    return dict(dict(resource_group=RG, name="stbadinput", location="westeurope"), **options)


def acls(**rules):
    return {"default_action": "Deny", **rules}


def cluster(**options):
    return dict(dict(resource_group=RG, name="aks-bad", create=True, location="westeurope"), **options)


CASES = [
    # tags: values are strings, names have limits
    ("tags", "resource_group", dict(name=RG, location="westeurope", tags={"env": {"a": 1}}),
     "tags.env must be a string, not dict"),
    ("tags", "resource_group", dict(name=RG, location="westeurope", tags={"cost": 5}),
     "tags.cost must be a string, not int 5 (quote it in YAML)"),
    ("tags", "managed_identity", dict(resource_group=RG, name="id-x", tags={"a/b": "c"}),
     "tags.a/b: tag names are 1-512 characters without any of"),
    ("tags", "keyless_storage_account", account(tags={"n" * 129: "v"}),
     "tag names are 1-128 characters"),
    ("tags", "managed_identity", dict(identities=[{"resource_group": RG, "name": "id-ok"},
                                                  {"resource_group": RG, "name": "id-y", "tags": {"on": True}}]),
     "identities[1] (rg-bad-input/id-y): tags.on must be a string, not bool True"),
    # names
    ("names", "managed_identity", dict(resource_group="rg with spaces!", name="id-x"),
     "resource_group 'rg with spaces!' is not a valid resource group name"),
    ("names", "federated_credential", fic(identity_name="x"), "identity_name 'x' is not a valid identity name"),
    ("names", "aks_oidc_cluster", dict(resource_group=RG, name=""), "name '' is not a valid cluster name: use 1-63"),
    ("names", "aks_oidc_cluster", dict(resource_group=RG, name="aks.dev"), "name 'aks.dev' is not a valid cluster"),
    ("names", "aks_oidc_cluster", cluster(dns_prefix="bad_prefix"), "dns_prefix 'bad_prefix' is not a valid DNS prefix"),
    ("names", "aks_oidc_cluster", cluster(vm_size=""), "vm_size '' is not a VM size name"),
    ("names", "aks_oidc_cluster", cluster(kubernetes_version="1.33 "), "kubernetes_version '1.33 ' is not a version"),
    # network rules
    ("network rules", "keyless_storage_account", account(network_acls=acls(ip_rules=["garbage"])),
     "network_acls.ip_rules[0] 'garbage' is not an IPv4 address or CIDR range"),
    ("network rules", "keyless_storage_account", account(network_acls=acls(ip_rules=["10.1.0.0/16"])),
     "'10.1.0.0/16' is a private range"),
    ("network rules", "keyless_storage_account", account(network_acls=acls(ip_rules=["2001:db8::/32"])),
     "storage firewall rules take IPv4 only"),
    ("network rules", "keyless_storage_account", account(network_acls=acls(ip_rules=["198.51.100.9/32"])),
     "/31 and /32 ranges are not accepted"),
    ("network rules", "keyless_storage_account", account(network_acls=acls(virtual_network_rules=["vnet-1"])),
     "network_acls.virtual_network_rules[0] 'vnet-1' must be a subnet resource ID"),
    ("network rules", "keyless_storage_account", account(network_acls=acls(bypass="Everything")),
     "network_acls.bypass 'Everything': use None or a comma-separated list of Logging, Metrics, AzureServices"),
    # federated credentials: exact strings
    ("exact strings", "federated_credential", fic(issuer=ISSUER + " "),
     "issuer '%s ' has leading or trailing whitespace; Entra ID compares it byte for byte" % ISSUER),
    ("exact strings", "federated_credential", fic(issuer="https://user@westeurope.oic.prod-aks.azure.com/x/"),
     "carries user information (user@host)"),
    ("exact strings", "federated_credential", fic(namespace=None, service_account=None,
                                                  subject="System:ServiceAccount:ns:sa"),
     "subject 'System:ServiceAccount:ns:sa' must start with system:serviceaccount: in lowercase"),
    ("exact strings", "federated_credential", fic(namespace=None, service_account=None,
                                                  subject=" system:serviceaccount:ns:sa"),
     "subject ' system:serviceaccount:ns:sa' has leading or trailing whitespace"),
    ("exact strings", "federated_credential", fic(audiences=["api://AzureADTokenExchange "]),
     "audience 'api://AzureADTokenExchange ' has leading or trailing whitespace"),
    # numbers with bounds
    ("numbers", "aks_oidc_cluster", dict(resource_group=RG, name="aks-bad", wait_timeout=-5),
     "wait_timeout -5 is out of range: use 1 or more"),
    ("numbers", "aks_oidc_cluster", cluster(node_count=0), "node_count 0 is out of range: use 1 to 1000"),
    ("numbers", "federated_credential", fic(write_retry_timeout=-1), "write_retry_timeout -1 is out of range"),
    ("numbers", "role_assignment", dict(scope="/subscriptions/00000000-0000-0000-0000-000000000001",
                                        role="Storage Blob Data Reader",
                                        principal_id="11111111-2222-3333-4444-555555555555",
                                        principal_propagation_timeout=-1),
     "principal_propagation_timeout -1 is out of range: use 0 or more"),
]


def test_every_case_is_refused_before_any_request(sandbox, tmp_path):
    tasks = [{"name": "case-%d" % i, "keyless.aks_storage.%s" % module: options, "ignore_errors": True}
             for i, (_cls, module, options, _message) in enumerate(CASES)]
    before = sandbox.counters()
    run = run_playbook(tmp_path, tasks, sandbox.env())
    unexpected = []
    for i, (cls, module, _options, message) in enumerate(CASES):
        result = run.result("case-%d" % i)
        if not result.get("failed") or message not in str(result.get("msg")):
            unexpected.append("%s/%s: %s" % (cls, module, result.get("msg")))
    assert unexpected == [], "\n".join(unexpected)
    delta = sandbox.counters_delta(before)
    assert (delta["reads"], delta["writes"]) == (0, 0), delta


@pytest.mark.parametrize("options", [
    account(network_acls=acls(ip_rules=["203.0.113.0/24", "198.51.100.7"], virtual_network_rules=[SUBNET],
                              bypass="Logging, Metrics")),
    account(tags={"env": "dev", "n" * 128: "v"}),
], ids=["public rules and a subnet", "a 128-character tag name"])
def test_valid_edge_cases_pass_the_rules(sandbox, tmp_path, options):
    """What the rules accept still converges (check mode: reads only)."""
    from . import sdk
    sdk.create_resource_group(sandbox.conn, RG)
    run = run_playbook(tmp_path, [{"name": "out", "register": "out",
                                   "keyless.aks_storage.keyless_storage_account": options}], sandbox.env(), check=True)
    assert run.rc == 0, run
    assert run.result("out")["changed"] is True


LOCATION_CASES = [
    ("resource_group", dict(name="rg-new-place", location="westeuropa")),
    ("managed_identity", dict(resource_group=RG, name="id-new-place", location="West Europa")),
    ("keyless_storage_account", account(name="stnewplace", location="westeurop")),
    ("aks_oidc_cluster", cluster(name="aks-new-place", location="mars")),
]


@pytest.mark.parametrize("module,options", LOCATION_CASES, ids=[m for m, _o in LOCATION_CASES])
def test_an_unknown_region_is_refused_before_anything_is_created(sandbox, tmp_path, module, options):
    from . import sdk
    sdk.create_resource_group(sandbox.conn, RG)
    before = sandbox.counters()
    run = run_playbook(tmp_path, [{"name": "out", "register": "out", "keyless.aks_storage.%s" % module: options}],
                       sandbox.env())
    out = run.result("out")
    normalized = options["location"].replace(" ", "").lower()
    assert run.rc != 0 and "location '%s' is not a location of subscription" % normalized in out["msg"], out
    if options["location"] != "mars":
        assert "(did you mean westeurope" in out["msg"]
    assert sandbox.counters_delta(before)["writes"] == 0 and out["changed"] is False


def test_a_known_region_in_any_spelling_is_accepted(sandbox, tmp_path):
    run = run_playbook(tmp_path, [{"name": "out", "register": "out", "keyless.aks_storage.resource_group": {
        "name": "rg-spelled", "location": "North Europe"}}], sandbox.env())
    assert run.rc == 0 and run.result("out")["location"] == "northeurope", run
