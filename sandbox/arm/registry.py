"""Resource-type handlers and the registry the ARM framework dispatches to.

A provider module defines ResourceType subclasses (each with its `type_name` and the `api_versions` it
serves: the framework refuses others and GET .../providers lists them) and calls `registry.register(...)`
from its `register(registry)` function; `sandbox.arm.providers` discovers provider modules by itself, so a
new provider (storage, authorization, container service) needs no change to the framework.
"""

from dataclasses import dataclass, field
from typing import ClassVar

from .errors import ArmError, method_not_allowed, parent_not_found


@dataclass
class Action:
    """A POST action on a resource, e.g. listKeys. `mutating` decides whether it counts as a write."""
    handler: str            # name of the ResourceType method: handler(call) -> Response
    mutating: bool = False


class ResourceType:
    type_name = ""          # canonical, e.g. "Microsoft.ManagedIdentity/userAssignedIdentities"
    api_versions = ()       # the api-versions served, required (GET .../providers lists them); others: 400
    actions: ClassVar[dict] = {}      # lowercased action name -> Action
    config_defaults: ClassVar[dict] = {}  # tunables this provider adds to POST /_sandbox/config
    post_is_write = True    # False for read-only collection POSTs such as checkNameAvailability

    # Each verb gets an ArmCall (see framework.py) and returns a server.Response or raises ArmError.
    def get(self, call):
        raise method_not_allowed("GET", self.type_name)

    def head(self, call):
        from ..server import Response
        if call.existing is None:
            return Response.empty(404)
        return Response.empty(204)

    def put(self, call):
        raise method_not_allowed("PUT", self.type_name)

    def patch(self, call):
        raise method_not_allowed("PATCH", self.type_name)

    def delete(self, call):
        raise method_not_allowed("DELETE", self.type_name)

    def list(self, call):
        raise method_not_allowed("GET", self.type_name)

    def post(self, call):
        """POST to the collection itself (provider-level actions such as checkNameAvailability)."""
        raise method_not_allowed("POST", self.type_name)

    def on_deleted(self, app, body) -> None:
        """Called (store lock held) after a stored resource of this type left the store by any path: its
        own DELETE, the deletion of its parent or resource group, or the control API. For cleaning up
        what lives outside ARM state (e.g. an emulated Kubernetes cluster)."""

    def parent_not_found(self, call, parent_type, parent_name):
        """Error for a missing parent of a nested resource; resource providers word it differently."""
        return parent_not_found(parent_type, parent_name)


@dataclass
class Registry:
    types: dict = field(default_factory=dict)       # lower type -> handler
    namespaces: dict = field(default_factory=dict)  # lower namespace -> canonical namespace

    def register(self, handler: ResourceType) -> None:
        key = handler.type_name.lower()
        versions = handler.api_versions
        if not isinstance(versions, (tuple, list)) or not versions or not all(isinstance(v, str) for v in versions):
            raise ValueError(f"resource type {handler.type_name} declares no api_versions")
        if key in self.types:
            raise ValueError(f"resource type {handler.type_name} registered twice")
        self.types[key] = handler
        namespace = handler.type_name.split("/")[0]
        self.namespaces[namespace.lower()] = namespace

    def provider_types(self, namespace: str):
        """(resource type path, handler) of every type registered under `namespace` (case-insensitive)."""
        prefix = namespace.lower() + "/"
        return [(handler.type_name.split("/", 1)[1], handler) for key, handler in self.types.items()
                if key.startswith(prefix)]

    def lookup(self, type_key: str):
        return self.types.get(type_key.lower())

    def require(self, type_key: str, api_version: str):
        handler = self.lookup(type_key)
        if handler:
            return handler
        namespace, _sep, rest = type_key.partition("/")
        if namespace.lower() not in self.namespaces:
            raise ArmError(400, "InvalidResourceNamespace", f"The resource namespace '{namespace}' is invalid.")
        raise ArmError(400, "InvalidResourceType",
                       f"The resource type '{rest}' could not be found in the namespace "
                       f"'{self.namespaces[namespace.lower()]}' for api version '{api_version}'.")
