# -*- coding: utf-8 -*-
# Copyright: keyless.aks_storage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Input rules, once: Azure and Kubernetes names, tags, network rules, federated credential fields, quantities.

Each ``*_problem`` function returns ``None`` for a valid value, or one sentence naming ``field`` and the accepted
form. The modules raise the first problem before any request; the preflight of the playbooks (filter
``keyless.aks_storage.preflight``) collects every problem of every host. Sources of the rules are cited where they
are defined.
"""

from __future__ import annotations

import ipaddress
import re

# Microsoft Learn, "Resource naming restrictions" (Microsoft.Resources, Microsoft.Storage,
# Microsoft.ManagedIdentity) and "AKS troubleshooting: naming restrictions" (cluster name, DNS prefix).
RESOURCE_GROUP = re.compile(r"^[-\w.()]{0,89}[-\w()]$")
STORAGE_ACCOUNT = re.compile(r"^[a-z0-9]{3,24}$")
CONTAINER = re.compile(r"^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$")
IDENTITY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,127}$")
CLUSTER = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?$")
DNS_PREFIX = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,52}[A-Za-z0-9])?$")
# Kubernetes: DNS-1123 label (namespaces, service names) and subdomain (most object names), k8s.io/apimachinery
# pkg/util/validation.
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
SUBNET_ID = re.compile(r"^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[-\w.()]+/providers/Microsoft\.Network/"
                       r"virtualNetworks/[^/]+/subnets/[^/]+$", re.IGNORECASE)
# Microsoft Learn, "Use tags to organize your Azure resources": at most 50 tags; names up to 512 characters (128 on
# storage accounts), values up to 256; names must not contain < > % & \ ? /
MAX_TAGS = 50
TAG_NAME_FORBIDDEN = set('<>%&\\?/')
SEMVER = re.compile(r"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")

NAME_RULES = {
    "resource group": (RESOURCE_GROUP, "1-90 letters, digits, underscores, hyphens, periods or parentheses, not "
                                       "ending in a period"),
    "storage account": (STORAGE_ACCOUNT, "3-24 lowercase letters and digits"),
    "container": (CONTAINER, "3-63 lowercase letters, digits and single hyphens, starting and ending with a letter "
                             "or digit"),
    # the same form for Azure Files shares (azure-mgmt-storage 25.3.0 FileShares docstring: 3-63 characters, lowercase
    # letters, digits and dashes, each dash between letters or digits)
    "file share": (CONTAINER, "3-63 lowercase letters, digits and single hyphens, starting and ending with a letter "
                              "or digit"),
    "identity": (IDENTITY, "3-128 letters, digits, hyphens or underscores, starting with a letter or digit"),
    "cluster": (CLUSTER, "1-63 letters, digits, underscores or hyphens, starting and ending with a letter or digit"),
    "DNS prefix": (DNS_PREFIX, "1-54 letters, digits or hyphens, starting and ending with a letter or digit"),
    "DNS-1123 label": (DNS_LABEL, "at most 63 lowercase letters, digits or '-', starting and ending with a letter or "
                                  "digit"),
    "DNS-1123 subdomain": (DNS_SUBDOMAIN, "at most 253 lowercase letters, digits, '-' or '.', each part starting "
                                          "and ending with a letter or digit"),
}


def name_problem(kind, value, field):
    """``field`` must be a valid ``kind`` name (see NAME_RULES)."""
    pattern, form = NAME_RULES[kind]
    if not isinstance(value, str) or not pattern.match(value):
        return "%s %s is not a valid %s name: use %s" % (field, _shown(value), kind, form)
    return None


def guid_problem(value, field):
    if not isinstance(value, str) or not GUID.match(value):
        return "%s %s must be a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)" % (field, _shown(value))
    return None


def exact_problem(value, field, why):
    """``field`` is compared byte for byte by Azure (``why``): surrounding whitespace would never match."""
    if isinstance(value, str) and value != value.strip():
        return "%s %s has leading or trailing whitespace; %s, so remove it" % (field, _shown(value), why)
    return None


def tag_problems(tags, field="tags", name_limit=512):
    """Every problem of a tags dict: string values, name and value lengths, forbidden characters, the count."""
    if tags is None:
        return []
    if not isinstance(tags, dict):
        return ["%s must be a dict of tag names to string values" % field]
    problems = []
    if len(tags) > MAX_TAGS:
        problems.append("%s has %d tags; Azure allows at most %d per resource" % (field, len(tags), MAX_TAGS))
    for name, value in tags.items():
        where = "%s.%s" % (field, name)
        if not isinstance(value, str):
            quote = " (quote it in YAML)" if isinstance(value, (bool, int, float)) else ""
            problems.append("%s must be a string, not %s %s%s" % (where, type_name(value), _shown(value), quote))
        elif len(value) > 256:
            problems.append("%s is %d characters long; tag values are at most 256" % (where, len(value)))
        if not str(name) or len(str(name)) > name_limit or TAG_NAME_FORBIDDEN & set(str(name)):
            problems.append("%s: tag names are 1-%d characters without any of < > %% & \\ ? /" % (where, name_limit))
    return problems


def ip_rule_problem(value, field):
    """A storage account IP rule: a public IPv4 address or CIDR range of /30 or wider (Microsoft Learn, "Configure
    Azure Storage firewalls": IPv6 is not supported, /31 and /32 ranges must be given as single addresses, private
    ranges of RFC 1918 are not allowed)."""
    try:
        network = ipaddress.ip_network(value, strict=True) if "/" in str(value) else ipaddress.ip_address(value)
    except ValueError:
        return "%s %s is not an IPv4 address or CIDR range (for example 203.0.113.7 or 203.0.113.0/24)" % (
            field, _shown(value))
    if network.version != 4:
        return "%s %s: storage firewall rules take IPv4 only" % (field, _shown(value))
    if isinstance(network, ipaddress.IPv4Network) and network.prefixlen > 30:
        return "%s %s: /31 and /32 ranges are not accepted; give the single addresses instead" % (field, _shown(value))
    if any(_overlaps(network, private) for private in RFC1918):
        return "%s %s is a private range; storage firewall IP rules take public addresses only (use " \
               "virtual_network_rules or a private endpoint for private traffic)" % (field, _shown(value))
    return None


RFC1918 = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]


def _overlaps(address_or_network, private):
    if isinstance(address_or_network, ipaddress.IPv4Network):
        return address_or_network.overlaps(private)
    return address_or_network in private


def subnet_problem(value, field):
    if not isinstance(value, str) or not SUBNET_ID.match(value):
        return "%s %s must be a subnet resource ID (/subscriptions/<id>/resourceGroups/<rg>/providers/" \
               "Microsoft.Network/virtualNetworks/<vnet>/subnets/<subnet>)" % (field, _shown(value))
    return None


def range_problem(value, field, low, high=None):
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < low or (high is not None and value > high):
        accepted = "%d to %d" % (low, high) if high is not None else "%d or more" % low
        return "%s %s is out of range: use %s" % (field, _shown(value), accepted)
    return None


def semver_problem(value, field):
    if not isinstance(value, str) or not SEMVER.match(value):
        return "%s %s is not a semantic version like 1.27.9" % (field, _shown(value))
    return None


def semver_key(value):
    """A comparable key of a version SEMVER accepts (pre-releases sort before the release)."""
    match = SEMVER.match(value)
    major, minor, patch = (int(match.group(i)) for i in (1, 2, 3))
    return (major, minor, patch, 0 if match.group(4) else 1)


def first(*problems):
    """The first problem of several checks (None when there is none)."""
    return next((p for p in problems if p), None)


def type_name(value):
    """The YAML-level type of a value (Ansible may hand over subclasses, such as tagged ints)."""
    for kind, name in ((bool, "bool"), (int, "int"), (float, "float"), (dict, "dict"), (list, "list"), (str, "str")):
        if isinstance(value, kind):
            return name
    return "null" if value is None else type(value).__name__


def _shown(value):
    return "'%s'" % value if isinstance(value, str) else repr(value)
