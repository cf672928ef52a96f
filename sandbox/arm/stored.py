"""Generic CRUD for resources kept in the store: tracked (location + tags) and proxy (child) types.

Providers subclass StoredResourceType and override the small hooks (name rule, properties on
create/update, write validation) instead of re-implementing PUT/GET/PATCH/DELETE/list.
"""

import copy

from ..server import Response
from .errors import ArmError, invalid_location_change, invalid_request_content, location_required, resource_not_found
from .registry import ResourceType

MAX_TAGS = 50


def normalize_location(value) -> str:
    """ARM stores locations as lowercase names without spaces ("East US" -> "eastus")."""
    return "".join(str(value).split()).lower()


def known_location(value, type_name) -> str:
    """The normalized location of a PUT, refused as ARM refuses one the subscription does not have."""
    from . import locations
    return locations.require(normalize_location(value), type_name)


def validate_tags(tags) -> dict:
    if tags is None:
        return {}
    if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
        raise invalid_request_content("Tags must be an object of string values.")
    if len(tags) > MAX_TAGS:
        raise ArmError(400, "InvalidTag", f"The number of tags exceeds the maximum of {MAX_TAGS}.")
    for name, value in tags.items():
        if len(name) > 512 or len(value) > 256:
            raise ArmError(400, "InvalidTagNameCharacters" if len(name) > 512 else "InvalidTag",
                           f"The tag '{name[:40]}' is too long (name max 512, value max 256 characters).")
    return dict(tags)


class StoredResourceType(ResourceType):
    tracked = True          # tracked resources have location + tags; proxy (child) resources do not
    name_pattern = None     # compiled regex the name must fully match (checked on create)
    name_rule = ""          # human wording of the rule, used in InvalidResourceName

    # ------------------------------------------------------------------ hooks
    def validate_name(self, call):
        if self.name_pattern is not None and not self.name_pattern.fullmatch(call.name or ""):
            raise ArmError(400, "InvalidResourceName", f"Resource name '{call.name}' is invalid. {self.name_rule}")

    def new_properties(self, call, requested: dict) -> dict:
        return copy.deepcopy(requested)

    def updated_properties(self, call, existing: dict, requested: dict) -> dict:
        return copy.deepcopy(requested)

    def patched_properties(self, call, existing: dict, patch: dict) -> dict:
        return {**existing, **copy.deepcopy(patch)}

    def validate_write(self, call, record: dict, existing):
        """Last check before a PUT/PATCH is stored (limits, uniqueness, concurrency)."""

    def new_hidden(self, call, record: dict):
        """Provider-private data kept beside a newly created resource (never served by ARM), or None."""

    def render(self, call, record: dict) -> dict:
        return copy.deepcopy(record)

    def not_found(self, call):
        return resource_not_found(self.type_name, call.name, call.resource_group)

    # ------------------------------------------------------------------ verbs
    def get(self, call):
        if call.existing is None:
            raise self.not_found(call)
        return Response.json(200, self.render(call, call.existing))

    def put(self, call):
        body = call.body()
        existing = call.existing
        if existing is None:
            self.validate_name(call)
        record = {"id": existing["id"] if existing else call.id, "name": existing["name"] if existing else call.name,
                  "type": self.type_name}
        if self.tracked:
            if not body.get("location"):
                raise location_required()
            location = known_location(body["location"], self.type_name)
            if existing and existing.get("location") != location:
                raise invalid_location_change(call.name, call.resource_group, existing.get("location"), location)
            record["location"] = location
            record["tags"] = validate_tags(body.get("tags"))
        requested = body.get("properties") or {}
        if not isinstance(requested, dict):
            raise invalid_request_content("The 'properties' member must be an object.")
        record["properties"] = (self.updated_properties(call, existing.get("properties", {}), requested)
                                if existing else self.new_properties(call, requested))
        self.validate_write(call, record, existing)
        call.store.put(record, hidden=None if existing else self.new_hidden(call, record))
        return Response.json(200 if existing else 201, self.render(call, record))

    def patch(self, call):
        if call.existing is None:
            raise self.not_found(call)
        body = call.body()
        record = copy.deepcopy(call.existing)
        if self.tracked and "tags" in body:
            record["tags"] = validate_tags(body.get("tags"))
        if isinstance(body.get("properties"), dict):
            record["properties"] = self.patched_properties(call, record.get("properties", {}), body["properties"])
        self.validate_write(call, record, call.existing)
        call.store.put(record)
        return Response.json(200, self.render(call, record))

    def delete(self, call):
        existed = call.store.delete_tree(call.id)
        return Response.empty(200 if existed else 204)

    def list(self, call):
        items = call.store.under(call.container_id, self.type_name)
        return call.list_response([self.render(call, item) for item in items])
