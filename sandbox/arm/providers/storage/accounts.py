"""Microsoft.Storage/storageAccounts (+ listKeys) and the subscription-level checkNameAvailability.

PUT of a new account is a Location-style LRO (202, 202..., final 200 with the body), like Azure; the
account is stored at once as "Creating" so its name is reserved while the operation runs. PUT of an
existing account in the same group updates it synchronously (200), PATCH deep-merges.
Names are global: the same name in another resource group is StorageAccountInAnotherResourceGroup,
a name held outside this subscription (config `storage_names_taken_elsewhere`) StorageAccountAlreadyTaken.
"""

import base64
import copy
import secrets
from typing import ClassVar

from ....server import Response
from ...errors import ArmError, invalid_location_change, invalid_request_content, location_required
from ...registry import Action, ResourceType
from ...stored import StoredResourceType, known_location, validate_tags
from . import account_body, files_identity
from .common import (ACCOUNT_NAME, ACCOUNTS, API_VERSIONS, FILE_KINDS, NAMESPACE, account_name_invalid,
                     invalid_name_message, iso_now, taken_message)
from .blob_services import default_blob_service
from .file_services import default_file_service


def name_conflict(call, name):
    """The ArmError for a name already used elsewhere, or None."""
    for body in call.store.of_type(ACCOUNTS):
        if body["name"].lower() == name.lower() and body["id"].lower() != call.id.lower():
            return ArmError(409, "StorageAccountInAnotherResourceGroup",
                            f"The account {name} is already in another resource group in this subscription.",
                            target=name)
    taken = [n.lower() for n in call.store.config.get("storage_names_taken_elsewhere") or []]
    if name.lower() in taken:
        return ArmError(409, "StorageAccountAlreadyTaken", taken_message(name), target=name)
    return None


def new_account_record(base_url, account_id, name, kind, location, tags, sku, requested) -> dict:
    """The record PUT of a new account stores (provisioningState Creating until its operation completes)."""
    return {"id": account_id, "name": name, "type": ACCOUNTS, "kind": kind, "location": location, "tags": tags,
            "sku": account_body.sku_of(sku),
            "properties": account_body.new_properties(name, kind, location, requested, base_url)}


def store_new_account(store, record, keys) -> None:
    """Store a new account with its keys and the services that exist with it (blob; file for the file kinds)."""
    store.put(record, hidden={"keys": keys})
    store.put(default_blob_service(record["id"]))
    if record["kind"] in FILE_KINDS:
        store.put(default_file_service(record["id"]))


class StorageAccounts(StoredResourceType):
    type_name = ACCOUNTS
    api_versions = API_VERSIONS
    actions: ClassVar[dict] = {"listkeys": Action("list_keys")}
    # Names other tenants hold (storage account names are global): StorageAccountAlreadyTaken.
    config_defaults: ClassVar[dict] = {"storage_names_taken_elsewhere": []}

    def validate_name(self, call):
        if not ACCOUNT_NAME.fullmatch(call.name or ""):
            raise account_name_invalid(call.name)

    # ------------------------------------------------------------------ PUT
    def put(self, call):
        body = call.body()
        if call.existing is None:
            self.validate_name(call)
            conflict = name_conflict(call, call.name)
            if conflict:
                raise conflict
        if not body.get("location"):
            raise location_required()
        location = known_location(body["location"], self.type_name)
        existing = call.existing
        if existing is not None:
            if existing.get("location") != location:
                raise invalid_location_change(call.name, call.resource_group, existing.get("location"), location)
            return self._update(call, body)
        if not body.get("kind"):
            raise invalid_request_content("The 'kind' property is required.")
        kind = account_body.canonical(body["kind"], account_body.KINDS, "kind")
        requested = files_identity.checked_request(call, body.get("properties") or {})
        record = new_account_record(call.app.base_url, call.id, call.name, kind, location,
                                    validate_tags(body.get("tags")), body.get("sku"), requested)
        files_identity.check_result(call, record["properties"], requested)
        store = call.store
        store_new_account(store, record, {"key1": _new_key(), "key2": _new_key()})
        account_id = record["id"]

        def complete():
            current = store.get(account_id)
            if current is None:  # deleted while the operation ran
                return 200, self.render(call, record)
            current["properties"]["provisioningState"] = "Succeeded"
            store.dirty = True
            return 200, self.render(call, current)

        def on_fail(_error):
            store.delete_tree(account_id)

        return call.begin_lro(style="location", complete=complete, on_fail=on_fail, namespace=NAMESPACE,
                              location=location)

    def _update(self, call, body):
        record = copy.deepcopy(call.existing)
        if "kind" in body and body["kind"] is not None:
            record["kind"] = account_body.changed_kind(record["kind"], body["kind"])
        if body.get("sku") is not None:
            record["sku"] = account_body.sku_of(body["sku"])
        if "tags" in body:
            record["tags"] = validate_tags(body.get("tags"))
        if body.get("properties") is not None:
            requested = files_identity.checked_request(call, body["properties"])
            record["properties"] = account_body.updated_properties(record["properties"], requested)
            files_identity.check_result(call, record["properties"], requested)
        call.store.put(record)
        return Response.json(200, self.render(call, record))

    def render(self, call, record):
        """Endpoints follow the kind and the sandbox's current address (a state file outlives the port)."""
        body = super().render(call, record)
        files_identity.rendered(call.api_version, body.setdefault("properties", {}))
        if body.get("kind") in account_body.ENDPOINTS_BY_KIND:  # a raw control-API body may lack it
            body.setdefault("properties", {})["primaryEndpoints"] = account_body.endpoints(
                call.app.base_url, body.get("name") or call.name, body["kind"])
        return body

    # ------------------------------------------------------------------ PATCH (synchronous)
    def patch(self, call):
        if call.existing is None:
            raise self.not_found(call)
        return self._update(call, call.body())

    # ------------------------------------------------------------------ POST listKeys
    def list_keys(self, call):
        if call.existing is None:
            raise self.not_found(call)
        hidden = call.store.hidden.setdefault(call.existing["id"].lower(), {})
        keys = hidden.setdefault("keys", {"key1": _new_key(), "key2": _new_key()})
        created = call.existing["properties"].get("keyCreationTime") or {}
        return Response.json(200, {"keys": [
            {"keyName": name, "value": keys[name], "permissions": "FULL",
             "creationTime": created.get(name) or iso_now()} for name in ("key1", "key2")]})


class CheckNameAvailability(ResourceType):
    """POST /subscriptions/{s}/providers/Microsoft.Storage/checkNameAvailability (a read: not a write)."""
    type_name = f"{NAMESPACE}/checkNameAvailability"
    api_versions = API_VERSIONS
    post_is_write = False

    def post(self, call):
        body = call.body()
        name, kind = body.get("name"), body.get("type")
        if not isinstance(name, str):
            raise invalid_request_content("The 'name' property is required.")
        if not isinstance(kind, str) or kind.lower() != ACCOUNTS.lower():
            raise invalid_request_content(f"The 'type' property must be '{ACCOUNTS}'.")
        if not ACCOUNT_NAME.fullmatch(name):
            return Response.json(200, {"nameAvailable": False, "reason": "AccountNameInvalid",
                                       "message": invalid_name_message(name)})
        used = any(b["name"].lower() == name.lower() for b in call.store.of_type(ACCOUNTS))
        taken = name.lower() in [n.lower() for n in call.store.config.get("storage_names_taken_elsewhere") or []]
        if used or taken:
            return Response.json(200, {"nameAvailable": False, "reason": "AlreadyExists",
                                       "message": taken_message(name)})
        return Response.json(200, {"nameAvailable": True})


def _new_key() -> str:
    return base64.b64encode(secrets.token_bytes(64)).decode()
