"""The aks inventory plugin's pure parts: host names across subscriptions (the sandbox has one), tag and resource
group filters, host variables from a REST body, and its authentication options against the modules'."""

import pytest
import yaml
from ansible.errors import AnsibleParserError
from ansible.utils.plugin_docs import merge_fragment

from ansible_collections.keyless.aks_storage.plugins.doc_fragments.azure_auth import ModuleDocFragment
from ansible_collections.keyless.aks_storage.plugins.inventory import aks
from ansible_collections.keyless.aks_storage.plugins.lookup import sign_in as sign_in_lookup
from ansible_collections.keyless.aks_storage.plugins.module_utils.azure_auth import AUTH_ARGUMENT_SPEC

SUB_A = "aaaaaaaa-0000-0000-0000-000000000001"
SUB_B = "bbbbbbbb-0000-0000-0000-000000000002"


def cluster(name, group, sub=SUB_A, tags=None):
    rid = "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.ContainerService/managedClusters/%s" % (
        sub, group, name)
    return aks.cluster_vars({"id": rid, "name": name, "location": "westeurope", "tags": tags})


# ---- host names ---------------------------------------------------------------------------------------------------
def names(clusters, hostnames="name"):
    mapping, renamed = aks.host_names(clusters, hostnames)
    return sorted(mapping.values()), sorted(host for _c, host in renamed)


def test_unique_names_stay_plain():
    assert names([cluster("aks-1", "rg-a"), cluster("aks-2", "rg-a", SUB_B)]) == (["aks-1", "aks-2"], [])


def test_the_same_name_in_two_groups_gets_the_group():
    assert names([cluster("aks", "rg-a"), cluster("aks", "rg-b")]) == (["aks_rg-a", "aks_rg-b"],
                                                                       ["aks_rg-a", "aks_rg-b"])


def test_the_same_group_and_name_in_two_subscriptions_gets_the_subscription():
    clusters = [cluster("aks", "rg-a"), cluster("aks", "rg-a", SUB_B), cluster("aks", "rg-b")]
    all_names, renamed = names(clusters)
    # only the two that still clash after the group is added go on to the subscription
    assert all_names == ["aks_rg-a_" + SUB_A, "aks_rg-a_" + SUB_B, "aks_rg-b"]
    assert renamed == all_names


def test_names_clash_case_insensitively_as_in_azure():
    all_names, _renamed = names([cluster("AKS", "rg-a"), cluster("aks", "RG-B", SUB_B)])
    assert all_names == ["AKS_rg-a", "aks_RG-B"]


def test_a_qualified_name_never_lands_on_another_clusters_name():
    # a cluster literally named like the qualified name of another
    all_names, _renamed = names([cluster("aks", "rg-a"), cluster("aks", "rg-b"), cluster("aks_rg-a", "rg-c")])
    assert len(set(n.lower() for n in all_names)) == 3
    assert "aks_rg-b" in all_names


def test_name_resource_group_and_id():
    clusters = [cluster("aks", "rg-a"), cluster("aks", "rg-a", SUB_B), cluster("other", "rg-a")]
    all_names, renamed = names(clusters, "name_resource_group")
    assert all_names == ["aks_rg-a_" + SUB_A, "aks_rg-a_" + SUB_B, "other_rg-a"]
    assert renamed == ["aks_rg-a_" + SUB_A, "aks_rg-a_" + SUB_B]
    all_names, renamed = names(clusters, "id")
    assert all_names == sorted(c["keyless_cluster_id"] for c in clusters) and renamed == []


def test_the_warning_names_every_renamed_cluster():
    clusters = [cluster("aks", "rg-a"), cluster("aks", "rg-b", SUB_B)]
    _mapping, renamed = aks.host_names(clusters, "name")
    text = aks.renamed_warning(renamed, "name")
    assert "aks in resource group rg-a of subscription %s is host aks_rg-a" % SUB_A in text
    assert "aks in resource group rg-b of subscription %s is host aks_rg-b" % SUB_B in text
    assert "hostnames: name_resource_group" in text


# ---- filters ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value,tags,expected", [
    ({"env": "dev"}, {"env": "dev"}, True),
    ({"env": "dev"}, {"ENV": "dev"}, True),          # names case-insensitive
    ({"env": "dev"}, {"env": "Dev"}, False),         # values exact
    ({"env": ["dev", "test"]}, {"env": "test"}, True),
    ({"env": "dev", "team": "x"}, {"env": "dev"}, False),  # every tag of a dict
    ([{"env": "dev"}, {"team": "x"}], {"team": "x"}, True),  # any dict of a list
    ({"team": None}, {"team": ""}, True),            # null: set, whatever the value
    ({"team": None}, {}, False),
    ({"keyless": True}, {"keyless": "true"}, True),  # YAML's true is the text "true"
    ({"size": 3}, {"size": "3"}, True),
])
def test_tag_filters(value, tags, expected):
    assert aks.tags_match(tags, aks.tag_filters(value, "include_tags")) is expected


@pytest.mark.parametrize("value,message", [
    ("env=dev", "option include_tags: must be a dict of tag: value"),
    ([{}], "option include_tags[0]: must be a non-empty dict"),
    ({"env": [{"a": 1}]}, "option include_tags.env: values must be strings"),
    ({"": "x"}, "option include_tags: tag names must be non-empty strings"),
])
def test_tag_filter_errors_name_the_option(value, message):
    with pytest.raises(AnsibleParserError, match=None) as caught:
        aks.tag_filters(value, "include_tags")
    assert message in str(caught.value)


def test_empty_tag_filters_keep_everything():
    assert aks.tag_filters(None, "include_tags") == [] and aks.tag_filters({}, "include_tags") == []


def test_resource_groups_names_or_patterns():
    assert aks.resource_group_list(["rg-a", "RG-A", "rg-b"]) == (["rg-a", "rg-b"], [])
    assert aks.resource_group_list(["rg-a", "RG-AKS-*"]) == ([], ["rg-a", "rg-aks-*"])
    with pytest.raises(AnsibleParserError, match=r"resource_groups\[1\]"):
        aks.resource_group_list(["rg-a", 3])


def test_subscriptions_default_and_errors():
    assert aks.subscription_list([], SUB_A) == [SUB_A]
    assert aks.subscription_list([SUB_A, SUB_A.upper(), SUB_B], "ignored") == [SUB_A, SUB_B]
    with pytest.raises(AnsibleParserError, match=r"option subscriptions\[1\]: 'x' is not a subscription ID"):
        aks.subscription_list([SUB_A, "x"], None)
    with pytest.raises(AnsibleParserError, match=r"option subscription_id: 'x' is not"):
        aks.subscription_list([], "x")


def test_scopes_are_cache_keys():
    assert aks.scopes([SUB_A], []) == [("/subscriptions/%s" % SUB_A, SUB_A, None)]
    assert aks.scopes([SUB_A], ["RG-A"]) == [("/subscriptions/%s/resourcegroups/rg-a" % SUB_A, SUB_A, "RG-A")]


# ---- host variables -----------------------------------------------------------------------------------------------
def test_cluster_vars_from_a_rest_body():
    body = {"id": "/subscriptions/%s/resourcegroups/rg-x/providers/Microsoft.ContainerService/managedClusters/c1"
                  % SUB_A,
            "name": "c1", "location": "westeurope", "tags": {"a": "b"},
            "properties": {"kubernetesVersion": "1.33", "currentKubernetesVersion": "1.33.2",
                           "oidcIssuerProfile": {"enabled": True, "issuerURL": "https://issuer/x/"},
                           "securityProfile": {"workloadIdentity": {"enabled": True}},
                           "aadProfile": {"managed": True, "enableAzureRBAC": False},
                           "disableLocalAccounts": True, "storageProfile": {"blobCSIDriver": {"enabled": True}}}}
    found = aks.cluster_vars(body)
    assert found["keyless_cluster_resource_group"] == "rg-x"  # ARM IDs' segment names are case-insensitive
    assert found["keyless_cluster_subscription_id"] == SUB_A
    assert found["keyless_cluster_kubernetes_version"] == "1.33.2"
    assert found["keyless_oidc_issuer_url"] == "https://issuer/x/"
    assert (found["keyless_cluster_auth"], found["keyless_cluster_azure_rbac"],
            found["keyless_cluster_local_accounts_disabled"], found["keyless_cluster_blob_driver_enabled"]) == (
        "entra", False, True, True)
    # an issuer URL left behind while the issuer is off is not the cluster's issuer
    body["properties"]["oidcIssuerProfile"]["enabled"] = False
    assert aks.cluster_vars(body)["keyless_oidc_issuer_url"] is None
    bare = aks.cluster_vars({"id": body["id"], "name": "c1"})
    assert (bare["keyless_cluster_auth"], bare["keyless_cluster_tags"], bare["keyless_cluster_kubernetes_version"]) \
        == ("local", {}, None)


# ---- options as the modules have them -----------------------------------------------------------------------------
def plugin_options(documentation):
    """A plugin's options with the azure_auth.plugin fragment merged in as Ansible merges it (the plugin's own keys
    of an option win)."""
    document = yaml.safe_load(documentation)
    assert "keyless.aks_storage.azure_auth.plugin" in document["extends_documentation_fragment"]
    options = document.get("options") or {}
    merge_fragment(options, yaml.safe_load(ModuleDocFragment.PLUGIN)["options"])
    return options


@pytest.mark.parametrize("documentation", [aks.DOCUMENTATION, sign_in_lookup.DOCUMENTATION], ids=["aks", "sign_in"])
def test_authentication_options_match_the_modules(documentation):
    options = plugin_options(documentation)
    for name, spec in AUTH_ARGUMENT_SPEC.items():
        option = options[name]
        assert option.get("default") == spec.get("default"), name
        assert option.get("choices") == spec.get("choices"), name
        # the modules take the first variable set; Ansible's configuration the last one listed
        assert [e["name"] for e in option["env"]] == list(reversed(spec["fallback"][1])), name
        assert option["type"] == ("str" if spec["type"] == "path" else spec["type"]), name


def plugin_with_options():
    """The plugin with its own options registered in Ansible's configuration (what the plugin loader does)."""
    from ansible import constants
    plugin = aks.InventoryModule()
    plugin._load_name = aks.InventoryModule.NAME
    constants.config.initialize_plugin_configuration_definitions(
        "inventory", plugin._load_name, plugin_options(aks.DOCUMENTATION))
    return plugin


def test_the_first_environment_variable_wins_as_for_the_modules(monkeypatch):
    plugin = plugin_with_options()
    monkeypatch.setenv("AZURE_TENANT", "first")
    monkeypatch.setenv("AZURE_TENANT_ID", "second")
    monkeypatch.setenv("AZURE_SECRET", "s1")
    monkeypatch.setenv("AZURE_CLIENT_SECRET", "s2")
    plugin.set_options(direct={"plugin": "keyless.aks_storage.aks"})
    assert (plugin.get_option("tenant"), plugin.get_option("secret")) == ("first", "s1")
    monkeypatch.delenv("AZURE_TENANT")
    plugin.set_options(direct={"plugin": "keyless.aks_storage.aks"})
    assert plugin.get_option("tenant") == "second"
    plugin.set_options(direct={"plugin": "keyless.aks_storage.aks", "tenant": "file"})
    assert plugin.get_option("tenant") == "file"  # the configuration file wins over the environment


def test_verify_file_wants_an_aks_yml(tmp_path):
    plugin = aks.InventoryModule()
    for name, wanted in (("aks.yml", True), ("fleet.aks.yaml", True), ("hosts.yml", False), ("aks.yml.bak", False)):
        path = tmp_path / name
        path.write_text("plugin: keyless.aks_storage.aks\n")
        assert plugin.verify_file(str(path)) is wanted, name


def test_the_examples_use_only_documented_options():
    documented = set(plugin_options(aks.DOCUMENTATION))
    # from the ansible.builtin.constructed and inventory_cache fragments
    documented |= {"strict", "compose", "groups", "keyed_groups", "use_extra_vars", "leading_separator", "cache",
                   "cache_plugin", "cache_timeout", "cache_connection", "cache_prefix"}
    examples = [doc for doc in yaml.safe_load_all(aks.EXAMPLES) if doc]
    assert len(examples) == 4
    for example in examples:
        assert example["plugin"] == "keyless.aks_storage.aks"
        assert set(example) <= documented, set(example) - documented
        aks.tag_filters(example.get("include_tags"), "include_tags")
        aks.tag_filters(example.get("exclude_tags"), "exclude_tags")
