# -*- coding: utf-8 -*-
# Copyright: keyless.aks_storage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turn azure-core / azure-identity exceptions into one clear message with the ARM code and a hint."""

from __future__ import annotations

import re

# What to do next, keyed by ARM / Entra error code (or HTTP status as a string when no code applies).
HINTS = {
    "AuthorizationFailed": "the credential has no RBAC permission for this action at this scope; grant it a role "
                           "that allows it (for example Contributor on the resource group) or use another credential",
    "InvalidAuthenticationToken": "the token was not accepted; check tenant, cloud_environment and the credential",
    "InvalidAuthenticationTokenAudience": "the token is for another cloud; check cloud_environment",
    "ExpiredAuthenticationToken": "the token expired; re-run (check the control node's clock)",
    "InvalidAuthenticationTokenTenant": "the subscription belongs to another tenant; check tenant and subscription_id",
    "SubscriptionNotFound": "check subscription_id and that the credential can see that subscription",
    "ResourceGroupNotFound": "create the resource group first (keyless.aks_storage.resource_group) or check "
                             "resource_group and subscription_id",
    "InvalidResourceLocation": "a resource cannot move to another location; keep its current location or delete "
                               "and recreate it under another name",
    "InvalidResourceName": "check the name against the resource type's naming rules",
    "TooManyRequests": "Azure Resource Manager kept throttling after the bounded retries; re-run later or lower "
                       "forks/concurrency",
    "429": "Azure Resource Manager kept throttling after the bounded retries; re-run later or lower forks",
    "500": "Azure answered a server error after the bounded retries; re-run later, and check Azure status if it lasts",
    "503": "the service was unavailable after the bounded retries; re-run later",
    "StorageAccountAlreadyTaken": "storage account names are global across Azure; choose another name",
    "StorageAccountInAnotherResourceGroup": "this subscription already has the account in another resource group; "
                                            "use that resource_group or another name",
    "AccountPropertyCannotBeUpdated": "this account property cannot change; create a new account instead",
    "RoleAssignmentUpdateNotPermitted": "an assignment with this name exists with another scope, role or principal; "
                                        "omit name to use the deterministic one",
    "UnmatchedPrincipalType": "principal_type does not match the principal; a managed identity is ServicePrincipal",
    "ScopeLocked": "a management lock prevents this change; remove the lock or leave the resource as it is",
}

TOKEN_SERVICE_HINT = ("the Microsoft Entra token endpoint answered HTTP %s after the bounded retries: the service "
                      "was unavailable or throttling, the credential was not refused; re-run later, and check the "
                      "Entra ID service health if it lasts")
AUTH_HINT = ("authentication failed; check auth_source, tenant, client_id and secret (or the AZURE_* environment), "
             "and cloud_environment")


def error_code(exc):
    """The ARM / Entra error code of an Azure SDK exception (None when it has none)."""
    return getattr(getattr(exc, "error", None), "code", None)


def http_status(exc):
    """The HTTP status of an SDK exception: its own, its response's, or the one azure-identity writes into the
    message of a token request that failed ("Authentication failed: HTTP Error: 503")."""
    status = getattr(exc, "status_code", None) or getattr(getattr(exc, "response", None), "status_code", None)
    if status is None:
        match = re.search(r"HTTP Error: (\d{3})\b", str(getattr(exc, "message", None) or exc))
        status = int(match.group(1)) if match else None
    return status


def describe(exc):
    """Return ``(code, status, message)`` for an Azure SDK exception (or any other exception)."""
    status = http_status(exc)
    code = error_code(exc)
    message = getattr(getattr(exc, "error", None), "message", None)
    if not message:
        message = getattr(exc, "message", None) or str(exc) or exc.__class__.__name__
    return code, status, " ".join(str(message).split())


def hint_for(code, status, exc=None):
    if code and code in HINTS:
        return HINTS[code]
    authentication = exc is not None and exc.__class__.__name__ in ("ClientAuthenticationError",
                                                                    "CredentialUnavailableError")
    if authentication and status is not None and (status >= 500 or status == 429):
        return TOKEN_SERVICE_HINT % status  # the token service failed; the credential was not refused
    if status is not None and str(status) in HINTS:
        return HINTS[str(status)]
    if authentication:
        return AUTH_HINT
    if exc is not None and exc.__class__.__name__ in ("ServiceRequestError", "ServiceResponseError"):
        return "the endpoint could not be reached; check network access, proxies and the CA bundle"
    return None


def format_failure(action, exc, hint=None):
    """One-line failure message plus the structured fields for ``fail_json`` (``hint`` overrides the table)."""
    code, status, message = describe(exc)
    hint = hint or hint_for(code, status, exc)
    text = "Failed to %s: %s%s" % (action, "%s: " % code if code else "", message)
    if hint:
        text += " (hint: %s)" % hint
    return text, dict(error_code=code, status_code=status, hint=hint)
