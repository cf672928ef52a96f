"""Microsoft.Storage/storageAccounts/blobServices: the one "default" blob service of an account.

It exists as soon as the account does (created with it), so containers always have their parent.
PUT sets service properties (merged into the current ones, like the portal/CLI read-modify-write);
there is no PATCH or DELETE. Fresh REST-created accounts have blob and container soft delete off.
"""

from ...errors import ArmError, method_not_allowed
from ...stored import StoredResourceType
from .account_body import deep_merge
from .common import API_VERSIONS, BLOB_SERVICES, account_id_of, parent_missing


def default_blob_service(account_id: str) -> dict:
    return {"id": f"{account_id}/blobServices/default", "name": "default", "type": BLOB_SERVICES,
            "properties": {"cors": {"corsRules": []},
                           "deleteRetentionPolicy": {"allowPermanentDelete": False, "enabled": False},
                           "containerDeleteRetentionPolicy": {"enabled": False}}}


def _check_policy(props, key):
    policy = props.get(key)
    if policy is None:
        return
    if not isinstance(policy, dict) or not isinstance(policy.get("enabled", False), bool):
        raise ArmError(400, "InvalidRequestContent", f"The '{key}' property must be an object with 'enabled'.")
    days = policy.get("days")
    if policy.get("enabled") and days is not None and not (isinstance(days, int) and 1 <= days <= 365):
        raise ArmError(400, "InvalidRequestContent", f"'{key}.days' must be between 1 and 365.")


class AccountService(StoredResourceType):
    """An account's one `default` service (blob or file): shown with the account's SKU, set by PUT only, never
    deleted on its own."""

    def render(self, call, record):
        body = super().render(call, record)
        account = call.store.get(account_id_of(record["id"]))
        if account and account.get("sku"):
            body["sku"] = dict(account["sku"])
        return body

    def patch(self, call):
        raise method_not_allowed("PATCH", self.type_name)

    def delete(self, call):
        raise method_not_allowed("DELETE", self.type_name)


class BlobServices(AccountService):
    type_name = BLOB_SERVICES
    api_versions = API_VERSIONS
    tracked = False

    def validate_name(self, call):
        if call.name != "default":
            raise ArmError(400, "InvalidResourceName",
                           f"Resource name '{call.name}' is invalid. The blob service name must be 'default'.")

    def parent_not_found(self, call, parent_type, parent_name):
        return parent_missing(call, parent_type, parent_name)

    def new_properties(self, call, requested):
        return self.updated_properties(call, default_blob_service(call.id)["properties"], requested)

    def updated_properties(self, call, existing, requested):
        merged = deep_merge(existing, requested)
        for key in ("deleteRetentionPolicy", "containerDeleteRetentionPolicy"):
            _check_policy(merged, key)
        if "isVersioningEnabled" in merged and not isinstance(merged["isVersioningEnabled"], bool):
            raise ArmError(400, "InvalidRequestContent", "'isVersioningEnabled' must be a boolean.")
        return merged
