"""Parsing ARM request paths into scope / provider namespace / type-name pairs.

Forms understood:
  /subscriptions                                         subscriptions (list)
  /subscriptions/{s}                                     Microsoft.Resources/subscriptions
  /subscriptions/{s}/resourcegroups[/{rg}]               Microsoft.Resources/resourceGroups
  /subscriptions/{s}/resourcegroups/{rg}/resources       Microsoft.Resources/resourceGroups/resources (list)
  /subscriptions/{s}/providers[/{ns}]                    Microsoft.Resources/providers (resource providers)
  {scope}/providers/{ns}/{type}/{name}[/{type}/{name}...][/{type}]
where {scope} is empty (tenant level), the subscription, a resource group or (extension resources such as role
assignments) any resource id. The *last* "providers" segment separates scope and resource.
"""

import urllib.parse
from dataclasses import dataclass, field

from .errors import ArmError

RESOURCES_NS = "Microsoft.Resources"


@dataclass
class ArmPath:
    subscription: str | None
    scope: str                      # canonical scope id ("" for subscriptions themselves)
    resource_group: str | None      # resource group name in the scope, as given
    namespace: str
    types: list = field(default_factory=list)
    names: list = field(default_factory=list)
    builtin: bool = False           # subscriptions / resourceGroups (no "providers" segment)

    @property
    def is_collection(self) -> bool:
        return len(self.types) == len(self.names) + 1

    def type_key(self, depth=None) -> str:
        types = self.types if depth is None else self.types[:depth]
        return "/".join([self.namespace] + types)  # as given; the registry compares case-insensitively


def _split(path):
    return [urllib.parse.unquote(s) for s in path.split("/") if s]


def parse(path: str) -> ArmPath:
    segs = _split(path)
    if len(segs) >= 3 and segs[0].lower() == "providers":  # tenant scope: /providers/{ns}/{type}...
        return ArmPath(None, "", None, segs[1], segs[2::2], segs[3::2])
    if not segs or segs[0].lower() != "subscriptions":
        raise ArmError(404, "NotFound", f"The path '{path}' is not an ARM path.")
    if len(segs) == 1:
        return ArmPath(None, "", None, RESOURCES_NS, ["subscriptions"], [], builtin=True)
    sub, rest = segs[1], segs[2:]
    sub_scope = f"/subscriptions/{sub}"
    prov = None
    for index in range(len(rest) - 1, -1, -1):
        if rest[index].lower() == "providers" and len(rest) > index + 2:
            prov = index
            break
    if prov is None:
        if not rest:
            return ArmPath(sub, "", None, RESOURCES_NS, ["subscriptions"], [sub], builtin=True)
        if rest[0].lower() == "locations" and len(rest) == 1:  # GET /subscriptions/{s}/locations
            return ArmPath(sub, sub_scope, None, RESOURCES_NS, ["subscriptions", "locations"], [sub], builtin=True)
        if rest[0].lower() == "providers" and len(rest) <= 2:  # GET /subscriptions/{s}/providers[/{ns}]
            return ArmPath(sub, sub_scope, None, RESOURCES_NS, ["providers"], rest[1:2], builtin=True)
        if rest[0].lower() == "resourcegroups" and len(rest) <= 2:
            return ArmPath(sub, sub_scope, rest[1] if len(rest) == 2 else None, RESOURCES_NS,
                           ["resourceGroups"], rest[1:2], builtin=True)
        if rest[0].lower() == "resourcegroups" and len(rest) == 3 and rest[2].lower() == "resources":
            # GET .../resourceGroups/{rg}/resources: the resources stored in the group (a collection)
            return ArmPath(sub, sub_scope, rest[1], RESOURCES_NS, ["resourceGroups", "resources"], rest[1:2],
                           builtin=True)
        raise ArmError(404, "NotFound", f"No HTTP resource was found that matches the request URI '{path}'.")
    scope_segs, namespace, tail = rest[:prov], rest[prov + 1], rest[prov + 2:]
    resource_group = None
    if scope_segs:
        if scope_segs[0].lower() != "resourcegroups" or len(scope_segs) < 2:
            raise ArmError(400, "InvalidScope", f"The scope of path '{path}' is not valid.")
        resource_group = scope_segs[1]
    return ArmPath(sub, sub_scope + canonical_tail(scope_segs), resource_group, namespace,
                   tail[0::2], tail[1::2])


def canonical_tail(segs) -> str:
    """Re-case the structural segments of a scope ("resourceGroups", "providers"); names keep their case."""
    out = list(segs)
    if out and out[0].lower() == "resourcegroups":
        out[0] = "resourceGroups"
    for index in range(2, len(out), 2):
        if out[index].lower() == "providers":
            out[index] = "providers"
    return "".join("/" + s for s in out)


def build_id(path: ArmPath, canonical_type: str, depth=None) -> str:
    """Canonical id of the resource (or of its ancestor at `depth` type levels)."""
    names = path.names if depth is None else path.names[:depth]
    namespace, *types = canonical_type.split("/")
    if path.builtin:
        if types[:1] == ["subscriptions"] and len(names) == 1:
            return f"/subscriptions/{names[0]}"
        if types == ["providers"]:
            return f"{path.scope}/providers/{names[0]}"
        return f"{path.scope}/resourceGroups/{names[0]}"
    types = types[:len(names)]
    return path.scope + "/providers/" + namespace + "".join(f"/{t}/{n}" for t, n in zip(types, names))


def resource_group_id(subscription: str, name: str) -> str:
    return f"/subscriptions/{subscription}/resourceGroups/{name}"
