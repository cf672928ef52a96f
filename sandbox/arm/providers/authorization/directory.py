"""The sandbox's view of the Entra directory, as role assignments see it.

Known principals: the sandbox app (its service principal object id) and the principalId of every
user-assigned identity. A new identity's principal replicates slowly in Azure: with config
`principal_propagation_seconds` > 0 it stays unknown to role assignments for that long after the
identity was created (the identity provider records the creation time in its private data). With
`principal_propagation_writes` = N > 0 it is unknown, instead, to the first N role assignment writes that name it:
the same outcome whatever the machine's speed, for tests that must not depend on wall-clock windows.
"""

import time

IDENTITY_TYPE = "Microsoft.ManagedIdentity/userAssignedIdentities"


def lookup(call, principal_id: str, write=False):
    """{"type": ..., "visible": bool} for a principal the directory holds, else None. ``write``: the lookup of a
    role assignment write, counted against `principal_propagation_writes`."""
    wanted = principal_id.lower()
    if wanted == call.app.app_object_id.lower():
        return {"type": "ServicePrincipal", "visible": True}
    delay = float(call.store.config.get("principal_propagation_seconds") or 0)
    writes = int(call.store.config.get("principal_propagation_writes") or 0)
    for body in call.store.of_type(IDENTITY_TYPE):
        if str(body.get("properties", {}).get("principalId", "")).lower() == wanted:
            hidden = call.store.hidden.setdefault(body["id"].lower(), {})
            created = hidden.get("created")
            visible = created is None or time.time() - created >= delay
            if writes and write:
                hidden["refused_writes"] = seen = hidden.get("refused_writes", 0) + 1
                visible = visible and seen > writes
            return {"type": "ServicePrincipal", "visible": visible}
    return None
