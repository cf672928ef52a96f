"""Microsoft.ManagedIdentity: user-assigned identities and their federated identity credentials.

Shapes follow the 2024-11-30 examples in Azure/azure-rest-api-specs (specification/msi).
Later rules (20 credentials per identity, issuer+subject uniqueness, rejecting concurrent writes on
one identity) belong in FederatedIdentityCredentials.validate_write().
"""

import re
import urllib.parse
import uuid

from ..errors import ArmError, invalid_request_content
from ..stored import StoredResourceType

IDENTITY_TYPE = "Microsoft.ManagedIdentity/userAssignedIdentities"
FIC_TYPE = IDENTITY_TYPE + "/federatedIdentityCredentials"


class UserAssignedIdentities(StoredResourceType):
    type_name = IDENTITY_TYPE
    name_pattern = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_-]{2,127}")
    name_rule = ("The name must be between 3 and 128 characters long, start with a letter or number, and "
                 "contain only letters, numbers, hyphens and underscores.")

    def new_properties(self, call, requested):
        return {"tenantId": call.app.tenant_id, "principalId": str(uuid.uuid4()),
                "clientId": str(uuid.uuid4()), "isolationScope": requested.get("isolationScope") or "None"}

    def updated_properties(self, call, existing, requested):
        # tenantId/principalId/clientId are assigned once and never change.
        return {**existing, "isolationScope": requested.get("isolationScope") or existing.get("isolationScope", "None")}

    def patched_properties(self, call, existing, patch):
        return self.updated_properties(call, existing, patch)


class FederatedIdentityCredentials(StoredResourceType):
    type_name = FIC_TYPE
    tracked = False
    name_pattern = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_-]{2,119}")
    name_rule = ("The name must be between 3 and 120 characters long, start with a letter or number, and "
                 "contain only letters, numbers, hyphens and underscores.")

    def new_properties(self, call, requested):
        issuer, subject, audiences = requested.get("issuer"), requested.get("subject"), requested.get("audiences")
        if not isinstance(issuer, str) or not issuer:
            raise invalid_request_content("The 'properties.issuer' field is required.")
        parsed = urllib.parse.urlsplit(issuer)
        if parsed.scheme != "https" or not parsed.netloc:
            raise ArmError(400, "BadRequest", f"Issuer '{issuer}' is not a valid https URL.")
        if not isinstance(subject, str) or not subject:
            raise invalid_request_content("The 'properties.subject' field is required.")
        if (not isinstance(audiences, list) or not audiences
                or not all(isinstance(a, str) and a for a in audiences)):
            raise invalid_request_content("The 'properties.audiences' field must be a non-empty list of strings.")
        return {"issuer": issuer, "subject": subject, "audiences": list(audiences)}

    def updated_properties(self, call, existing, requested):
        return self.new_properties(call, requested)


def register(registry):
    registry.register(UserAssignedIdentities())
    registry.register(FederatedIdentityCredentials())
