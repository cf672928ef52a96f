"""Microsoft.ManagedIdentity: user-assigned identities and their federated identity credentials.

Shapes follow the 2024-11-30 examples in Azure/azure-rest-api-specs (specification/msi). Credential
rules and messages are from Entra's "Important considerations and restrictions for federated identity
credentials" (MicrosoftDocs/entra-docs, workload-id): at most 20 per identity; issuer+subject unique
per identity; exactly one audience; issuer/subject/audience at most 600 characters; name 3-120
characters. Concurrent credential writes on one identity are rejected with 409: each PUT/DELETE of a
credential "takes" config `fic_write_seconds`, during which other credential writes on the same
identity get ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity. The write is
applied at once under the store lock; only the answer is held back, outside the lock. Config
`fic_write_conflicts` = N > 0 rejects the first N credential writes on each identity the same way, by count,
for tests that must see the rejection whatever the machine's speed.
Codes of the 400s other than the documented messages are approximations ("BadRequest").
"""

import re
import time
import urllib.parse
import uuid
from typing import ClassVar

from ..errors import ArmError
from ..stored import StoredResourceType

IDENTITY_TYPE = "Microsoft.ManagedIdentity/userAssignedIdentities"
FIC_TYPE = IDENTITY_TYPE + "/federatedIdentityCredentials"
# azure-mgmt-msi 7.1 and the spec examples; 2023-01-31: the requirements.txt floor azure-mgmt-msi 7.0.0 (its
# DEFAULT_API_VERSION for user_assigned_identities and federated_identity_credentials; v2023_01_31/_configuration.py).
API_VERSIONS = ("2024-11-30", "2023-01-31")
MAX_CREDENTIALS = 20
MAX_FIELD = 600


def identity_properties(tenant_id, principal_id, client_id, isolation_scope=None) -> dict:
    """The properties of a new user-assigned identity (its principal and client ids never change)."""
    return {"tenantId": tenant_id, "principalId": principal_id, "clientId": client_id,
            "isolationScope": isolation_scope or "None"}


class UserAssignedIdentities(StoredResourceType):
    type_name = IDENTITY_TYPE
    api_versions = API_VERSIONS
    name_pattern = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_-]{2,127}")
    name_rule = ("The name must be between 3 and 128 characters long, start with a letter or number, and "
                 "contain only letters, numbers, hyphens and underscores.")

    def new_properties(self, call, requested):
        return identity_properties(call.app.tenant_id, str(uuid.uuid4()), str(uuid.uuid4()),
                                   requested.get("isolationScope"))

    def updated_properties(self, call, existing, requested):
        # tenantId/principalId/clientId are assigned once and never change.
        return {**existing, "isolationScope": requested.get("isolationScope") or existing.get("isolationScope", "None")}

    def patched_properties(self, call, existing, patch):
        return self.updated_properties(call, existing, patch)

    def new_hidden(self, call, record):
        # When the principal came to be: role assignments see it only after principal_propagation_seconds.
        return {"created": time.time()}


def _bad_request(message, target=None):
    return ArmError(400, "BadRequest", message, target=target)


class FederatedIdentityCredentials(StoredResourceType):
    type_name = FIC_TYPE
    api_versions = API_VERSIONS
    tracked = False
    name_pattern = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_-]{2,119}")
    config_defaults: ClassVar[dict] = {"fic_write_seconds": 0.2, "fic_write_conflicts": 0}

    def validate_name(self, call):
        if not self.name_pattern.fullmatch(call.name or ""):
            raise ArmError(400, "InvalidResourceName", f"Federated Identity Credential name '{call.name}' is invalid.")

    def new_properties(self, call, requested):
        issuer, subject, audiences = requested.get("issuer"), requested.get("subject"), requested.get("audiences")
        if not issuer or not subject or not audiences or not isinstance(audiences, list):
            raise _bad_request("Federated Identity Credential from HTTP body has empty properties")
        if not all(isinstance(v, str) for v in [issuer, subject, *audiences]):
            raise _bad_request("Federated Identity Credential properties must be strings.")
        if len(audiences) != 1:
            raise _bad_request("Federated identity credentials must have exactly one audience.")
        for field, value in (("issuer", issuer), ("subject", subject), ("audience", audiences[0])):
            if len(value) > MAX_FIELD:
                raise _bad_request(f"The {field} of a Federated Identity Credential can have at most {MAX_FIELD} "
                                   f"characters.")
        parsed = urllib.parse.urlsplit(issuer)
        if parsed.scheme != "https" or not parsed.netloc:
            raise _bad_request(f"Issuer '{issuer}' is not a valid https URL.")
        return {"issuer": issuer, "subject": subject, "audiences": list(audiences)}

    def updated_properties(self, call, existing, requested):
        return self.new_properties(call, requested)

    # ------------------------------------------------------------------ identity-wide rules
    @staticmethod
    def _identity_id(call):
        return call.id[:call.id.lower().rindex("/federatedidentitycredentials/")]

    def _check_concurrent(self, call):
        identity_id = self._identity_id(call)
        hidden = call.store.hidden.setdefault(identity_id.lower(), {})
        busy_until = hidden.get("fic_busy_until", 0)
        forced = int(call.store.config.get("fic_write_conflicts") or 0)
        if forced:   # by count: the same rejections on any machine, however the writers' timing falls
            hidden["conflicts_seen"] = seen = hidden.get("conflicts_seen", 0) + 1
        if time.time() < busy_until or (forced and seen <= forced):
            raise ArmError(409, "ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity",
                           f"Too many Federated Identity Credentials are written concurrently for the managed identity "
                           f"'{identity_id}'. Concurrent Federated Identity Credentials writes under the same managed "
                           f"identity are not supported.")

    def _start_write(self, call):
        seconds = float(call.store.config.get("fic_write_seconds") or 0)
        if seconds > 0:
            hidden = call.store.hidden.setdefault(self._identity_id(call).lower(), {})
            hidden["fic_busy_until"] = time.time() + seconds
            call.hold(seconds)

    def validate_write(self, call, record, existing):
        self._check_concurrent(call)
        siblings = [b for b in call.store.under(self._identity_id(call), FIC_TYPE)
                    if b["id"].lower() != call.id.lower()]
        if existing is None and len(siblings) >= MAX_CREDENTIALS:
            raise _bad_request(f"Too many Federated Identity Credentials: a managed identity can have at most "
                               f"{MAX_CREDENTIALS} federated identity credentials.")
        props = record["properties"]
        for other in siblings:
            if (other["properties"]["issuer"], other["properties"]["subject"]) == (props["issuer"], props["subject"]):
                raise _bad_request("Issuer and subject combination already exists for this Managed Identity.",
                                   target=other["name"])

    # ------------------------------------------------------------------ verbs
    def put(self, call):
        response = super().put(call)
        self._start_write(call)
        return response

    def delete(self, call):
        if call.existing is None:
            return super().delete(call)
        self._check_concurrent(call)
        response = super().delete(call)
        self._start_write(call)
        return response


def register(registry):
    registry.register(UserAssignedIdentities())
    registry.register(FederatedIdentityCredentials())
