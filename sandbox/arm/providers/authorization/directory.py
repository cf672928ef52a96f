"""The sandbox's view of the Entra directory, as role assignments see it.

Known principals: the sandbox app (its service principal object id) and the principalId of every
user-assigned identity. A new identity's principal replicates slowly in Azure: with config
`principal_propagation_seconds` > 0 it stays unknown to role assignments for that long after the
identity was created (the identity provider records the creation time in its private data).
"""

import time

IDENTITY_TYPE = "Microsoft.ManagedIdentity/userAssignedIdentities"


def lookup(call, principal_id: str):
    """{"type": ..., "visible": bool} for a principal the directory holds, else None."""
    wanted = principal_id.lower()
    if wanted == call.app.app_object_id.lower():
        return {"type": "ServicePrincipal", "visible": True}
    delay = float(call.store.config.get("principal_propagation_seconds") or 0)
    for body in call.store.of_type(IDENTITY_TYPE):
        if str(body.get("properties", {}).get("principalId", "")).lower() == wanted:
            created = call.store.hidden.get(body["id"].lower(), {}).get("created")
            visible = created is None or time.time() - created >= delay
            return {"type": "ServicePrincipal", "visible": visible}
    return None
