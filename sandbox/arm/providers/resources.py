"""Microsoft.Resources: subscriptions (read-only, the one sandbox subscription), resource groups, the
list of resources in a resource group, and the subscription's resource providers.

api-versions: what azure-mgmt-resource 26 (2025-04-01) and azure-mgmt-resource-subscriptions 1.0
(2022-12-01) send, and what the requirements.txt floor azure-mgmt-resource 23.0.0 sends: 2022-09-01 from its
ResourceManagementClient (resources/v2022_09_01/_configuration.py) and 2021-01-01 from its own SubscriptionClient
(subscriptions/v2021_01_01/_configuration.py): azure-mgmt-resource < 26 still ships azure.mgmt.resource.subscriptions,
the same package directory as azure-mgmt-resource-subscriptions, so which of the two is imported depends on the
install order.
"""

import copy
import re

from ...server import Response
from .. import locations
from ..errors import ArmError, location_required, resource_group_not_found
from ..registry import ResourceType
from ..stored import known_location, validate_tags

# 1-90 chars: letters/digits (Unicode), underscores, hyphens, periods, parentheses; not ending in a period.
RG_NAME = re.compile(r"^[-\w._()]{1,90}$")
RESOURCES_API_VERSIONS = ("2025-04-01", "2022-09-01")
SUBSCRIPTIONS_API_VERSIONS = ("2022-12-01", "2021-01-01")


class Subscriptions(ResourceType):
    type_name = "Microsoft.Resources/subscriptions"
    api_versions = SUBSCRIPTIONS_API_VERSIONS

    def _body(self, call):
        app = call.app
        return {"id": f"/subscriptions/{app.subscription_id}", "subscriptionId": app.subscription_id,
                "tenantId": app.tenant_id, "displayName": "Keyless Sandbox", "state": "Enabled",
                "authorizationSource": "RoleBased",
                "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01", "quotaId": "Sandbox",
                                         "spendingLimit": "Off"}}

    def get(self, call):
        return Response.json(200, self._body(call))

    def list(self, call):
        return call.list_response([self._body(call)])


class Locations(ResourceType):
    """GET /subscriptions/{s}/locations: the regions of the subscription (see sandbox/arm/locations.py)."""
    type_name = "Microsoft.Resources/subscriptions/locations"
    api_versions = SUBSCRIPTIONS_API_VERSIONS

    def list(self, call):
        return call.list_response([locations.body(call.app.subscription_id, r) for r in locations.REGIONS])


def group_record(group_id, name, location, tags, managed_by=None) -> dict:
    """The record PUT of a resource group stores (`managedBy` only when given, as ARM shows it)."""
    record = {"id": group_id, "name": name, "type": ResourceGroups.type_name, "location": location, "tags": tags,
              "properties": {"provisioningState": "Succeeded"}}
    if managed_by:
        record["managedBy"] = managed_by
    return record


class ResourceGroups(ResourceType):
    type_name = "Microsoft.Resources/resourceGroups"
    api_versions = RESOURCES_API_VERSIONS

    def _missing(self, call):
        return resource_group_not_found(call.name)

    def get(self, call):
        if call.existing is None:
            raise self._missing(call)
        return Response.json(200, call.existing)

    def put(self, call):
        body = call.body()
        existing = call.existing
        if not body.get("location"):
            raise location_required()
        location = known_location(body["location"], self.type_name)
        if existing is None:
            if not RG_NAME.fullmatch(call.name) or call.name.endswith("."):
                raise ArmError(400, "InvalidResourceGroupName",
                               f"Resource group name '{call.name}' is invalid. It can contain up to 90 characters: "
                               f"letters, digits, underscores, hyphens, periods and parentheses, and cannot end "
                               f"with a period.")
        else:
            if existing["properties"].get("provisioningState") == "Deleting":
                raise ArmError(409, "ResourceGroupBeingDeleted",
                               f"The resource group '{existing['name']}' is in deprovisioning state and cannot "
                               f"perform this operation.")
            if existing["location"] != location:
                raise ArmError(409, "InvalidResourceGroupLocation",
                               f"Invalid resource group location '{location}'. The Resource group already exists "
                               f"in location '{existing['location']}'.")
        record = group_record(existing["id"] if existing else call.id, existing["name"] if existing else call.name,
                              location, validate_tags(body.get("tags")), body.get("managedBy"))
        call.store.put(record)
        return Response.json(200 if existing else 201, record)

    def patch(self, call):
        if call.existing is None:
            raise self._missing(call)
        body = call.body()
        record = copy.deepcopy(call.existing)
        if "tags" in body:
            record["tags"] = validate_tags(body.get("tags"))
        if "managedBy" in body:
            record["managedBy"] = body["managedBy"]
        call.store.put(record)
        return Response.json(200, record)

    def delete(self, call):
        rg = call.existing
        if rg is None:
            raise self._missing(call)
        rg["properties"]["provisioningState"] = "Deleting"
        call.store.dirty = True
        store, rg_id = call.store, rg["id"]

        def complete():
            store.delete_tree(rg_id)  # the group and every resource inside it
            return 200, None

        def on_fail(_error):
            current = store.get(rg_id)
            if current:
                current["properties"]["provisioningState"] = "Succeeded"

        return call.begin_lro(style="location", complete=complete, on_fail=on_fail,
                              namespace="Microsoft.Resources", location=rg["location"])

    def list(self, call):
        return call.list_response(call.store.under(call.container_id, self.type_name))


class ResourceGroupResources(ResourceType):
    """GET /subscriptions/{s}/resourceGroups/{rg}/resources: the top-level tracked resources in the group.

    Extension resources (role assignments) and nested ones (containers, credentials) are not listed,
    as in ARM. `$top` limits the page size; further pages follow through nextLink.
    """
    type_name = "Microsoft.Resources/resourceGroups/resources"
    api_versions = RESOURCES_API_VERSIONS
    LISTED = ("id", "name", "type", "kind", "sku", "location", "managedBy", "tags", "identity")

    def list(self, call):
        prefix = call.container_id.lower() + "/providers/"
        items = []
        for body in call.store.under(call.container_id):
            tail = body["id"].lower()[len(prefix):] if body["id"].lower().startswith(prefix) else ""
            if "location" in body and tail.count("/") == 2:  # {namespace}/{type}/{name}
                items.append({key: body[key] for key in self.LISTED if key in body})
        try:
            top = int(call.request.query.get("$top") or 0)
        except ValueError:
            raise ArmError(400, "InvalidParameter", "The value of the $top parameter must be an integer.")
        return call.list_response(items, page_size=top)


class Providers(ResourceType):
    """GET /subscriptions/{s}/providers[/{namespace}] (Providers_List / Providers_Get, shapes of the 2025-04-01
    examples GetProviders.json / GetProvider.json): the emulated namespaces only, every one Registered.
    Resource types and api-versions come from the registry, i.e. from what the framework serves; every type is
    offered in every region of sandbox/arm/locations.py (display names, as ARM lists them). `$expand` is ignored.
    An unknown namespace is 404 InvalidResourceNamespace (as quoted in terraform-provider-azurerm issue 21785)."""
    type_name = "Microsoft.Resources/providers"
    api_versions = RESOURCES_API_VERSIONS
    REGISTRATION_FREE = ("microsoft.resources",)  # GetProviders.json: Microsoft.Resources is RegistrationFree

    def _body(self, call, namespace):
        registry = call.app.registry
        canonical = registry.namespaces[namespace.lower()]
        regions = [display for _name, display, _geography in locations.REGIONS]
        return {"id": f"/subscriptions/{call.app.subscription_id}/providers/{canonical}", "namespace": canonical,
                "registrationState": "Registered",
                "registrationPolicy": ("RegistrationFree" if canonical.lower() in self.REGISTRATION_FREE
                                       else "RegistrationRequired"),
                "resourceTypes": [{"resourceType": type_path, "locations": list(regions),
                                   "apiVersions": sorted(handler.api_versions, reverse=True)}
                                  for type_path, handler in registry.provider_types(canonical)]}

    def get(self, call):
        if call.name.lower() not in call.app.registry.namespaces:
            raise ArmError(404, "InvalidResourceNamespace", f"The resource namespace '{call.name}' is invalid.")
        return Response.json(200, self._body(call, call.name))

    def list(self, call):
        return call.list_response([self._body(call, ns) for ns in call.app.registry.namespaces])


def register(registry):
    registry.register(Subscriptions())
    registry.register(Locations())
    registry.register(ResourceGroups())
    registry.register(ResourceGroupResources())
    registry.register(Providers())
