"""The shared input rules (module_utils/rules.py): what each accepts and refuses, and how it says so."""

import pytest

from ansible_collections.keyless.aks_storage.plugins.module_utils import rules


@pytest.mark.parametrize("kind,good,bad", [
    ("resource group", ["rg", "rg-keyless_dev.(1)", "a" * 90], ["", "rg.", "a" * 91, "rg with space"]),
    ("storage account", ["abc", "stkeyless01"], ["ab", "StKeyless", "st-keyless", "a" * 25]),
    ("container", ["abc", "a-b-c", "a" * 63], ["ab", "a--b", "-ab", "ab-", "Abc", "a" * 64]),
    ("identity", ["id-x", "ID_y", "a" * 128], ["x", "-id", "a" * 129, "id x"]),
    ("cluster", ["a", "aks_dev-1", "a" * 63], ["", "-aks", "aks-", "aks.dev", "a" * 64]),
    ("DNS prefix", ["a", "aks-dev", "a" * 54], ["aks_dev", "-a", "a" * 55]),
    ("DNS-1123 label", ["a", "ns-1", "2024", "a" * 63], ["NS", "ns_1", "a" * 64, "-a", ""]),
    ("DNS-1123 subdomain", ["a.b-c", "a" * 253], ["A", "a..b", "a" * 254, "sa!"]),
])
def test_names(kind, good, bad):
    assert [v for v in good if rules.name_problem(kind, v, "f")] == []
    assert [v for v in bad if not rules.name_problem(kind, v, "f")] == []
    assert rules.name_problem(kind, 12, "f").startswith("f 12 is not a valid %s name: use " % kind)


def test_tags():
    assert rules.tag_problems(None) == [] and rules.tag_problems({"env": "dev", "x" * 512: "v" * 256}) == []
    problems = rules.tag_problems({"a": 1, "b": {"c": "d"}, "c/d": "x", "e": "v" * 257, "f" * 129: "v"},
                                  name_limit=128)
    assert problems == ["tags.a must be a string, not int 1 (quote it in YAML)",
                        "tags.b must be a string, not dict {'c': 'd'}",
                        "tags.c/d: tag names are 1-128 characters without any of < > % & \\ ? /",
                        "tags.e is 257 characters long; tag values are at most 256",
                        "tags.%s: tag names are 1-128 characters without any of < > %% & \\ ? /" % ("f" * 129)]
    assert rules.tag_problems({str(i): "v" for i in range(51)})[0] == "tags has 51 tags; Azure allows at most 50 per " \
                                                                      "resource"
    assert rules.tag_problems(["a"]) == ["tags must be a dict of tag names to string values"]


@pytest.mark.parametrize("value,problem", [
    ("203.0.113.7", None), ("203.0.113.0/24", None), ("198.51.100.0/30", None),
    ("garbage", "is not an IPv4 address"), ("203.0.113.7/24", "is not an IPv4 address"),
    ("2001:db8::1", "IPv4 only"), ("203.0.113.0/31", "/31 and /32"), ("172.16.5.0/24", "private range"),
    ("192.168.1.1", "private range"), ("10.0.0.0/7", "private range"),
])
def test_ip_rules(value, problem):
    found = rules.ip_rule_problem(value, "ip")
    assert (found is None) if problem is None else (problem in found), found


def test_exact_guid_range_semver_subnet():
    assert rules.exact_problem("x ", "issuer", "why").startswith("issuer 'x ' has leading or trailing whitespace; why")
    assert rules.exact_problem("x", "issuer", "why") is None and rules.exact_problem(None, "f", "w") is None
    assert rules.guid_problem("11111111-2222-3333-4444-555555555555", "id") is None
    assert "must be a GUID" in rules.guid_problem("1111", "id")
    assert rules.range_problem(0, "n", 1, 1000) == "n 0 is out of range: use 1 to 1000"
    assert rules.range_problem(True, "n", 0) == "n True is out of range: use 0 or more"
    assert rules.range_problem(None, "n", 1) is None and rules.range_problem(5, "n", 1) is None
    assert rules.semver_problem("1.27.9", "v") is None and rules.semver_problem("v1.27.0-rc.1", "v") is None
    assert rules.semver_problem("latest", "v") == "v 'latest' is not a semantic version like 1.27.9"
    assert rules.semver_key("1.27.0-rc.1") < rules.semver_key("1.27.0") < rules.semver_key("v1.27.10")
    assert rules.subnet_problem("/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/"
                                "Microsoft.Network/virtualNetworks/v/subnets/s", "s") is None
    assert "subnet resource ID" in rules.subnet_problem("/subscriptions/x/subnets/s", "s")
    assert rules.first(None, "a", "b") == "a" and rules.first(None) is None
