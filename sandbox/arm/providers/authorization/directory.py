"""The sandbox's view of the Entra directory, as role assignments and issued tokens see it.

Known principals: the sandbox app (its service principal object id), the principalId of every
user-assigned identity, and the security groups made through the control API
(`POST /_sandbox/directory/groups {"principal_id", "group_id"}`, `add_member()` below). A new identity's
principal replicates slowly in Azure: with config `principal_propagation_seconds` > 0 it stays unknown to
role assignments for that long after the identity was created (the identity provider records the creation
time in its private data). With `principal_propagation_writes` = N > 0 it is unknown, instead, to the first N
role assignment writes that name it: the same outcome whatever the machine's speed, for tests that must not
depend on wall-clock windows.

Groups: a group is known (principalType `Group`) once it has been given a member; its members are principal
object ids the directory knows (the app or an identity's principal; groups do not nest). Entra puts the
groups of a principal into the `groups` claim of the tokens it issues for the AKS server application
(sandbox/entra.py), which is how the emulated AKS API servers learn them (Guard reads the claim).
"""

import re
import time

IDENTITY_TYPE = "Microsoft.ManagedIdentity/userAssignedIdentities"
GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def lookup(call, principal_id: str, write=False):
    """{"type": ..., "visible": bool} for a principal the directory holds, else None. ``write``: the lookup of a
    role assignment write, counted against `principal_propagation_writes`."""
    wanted = principal_id.lower()
    if wanted == call.app.app_object_id.lower():
        return {"type": "ServicePrincipal", "visible": True}
    if wanted in call.store.directory_groups:
        return {"type": "Group", "visible": True}
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


def known_member(app, principal_id: str) -> bool:
    """A principal that can be a group member: the sandbox app or a user-assigned identity's principal."""
    wanted = principal_id.lower()
    if wanted == app.app_object_id.lower():
        return True
    return any(str(body.get("properties", {}).get("principalId", "")).lower() == wanted
               for body in app.store.of_type(IDENTITY_TYPE))


def add_member(app, principal_id, group_id) -> dict:
    """Make `principal_id` a member of group `group_id` (created when new); ValueError on bad input.
    The caller holds the store lock."""
    if not isinstance(group_id, str) or not GUID.fullmatch(group_id):
        raise ValueError("'group_id' must be a GUID (a group's object id)")
    if not isinstance(principal_id, str) or not GUID.fullmatch(principal_id):
        raise ValueError("'principal_id' must be a GUID (a principal's object id)")
    store = app.store
    if principal_id.lower() in store.directory_groups:
        raise ValueError("groups do not nest in the sandbox directory: 'principal_id' is a group")
    if not known_member(app, principal_id):
        raise ValueError(f"principal {principal_id} is not in the sandbox directory (the app's object id or a "
                         f"user-assigned identity's principalId)")
    group = store.directory_groups.setdefault(group_id.lower(), {"id": group_id, "members": []})
    if principal_id.lower() not in (m.lower() for m in group["members"]):
        group["members"].append(principal_id)
    store.dirty = True
    return {"group_id": group["id"], "members": list(group["members"])}


def remove_member(app, principal_id, group_id) -> bool:
    store = app.store
    group = store.directory_groups.get(str(group_id or "").lower())
    if group is None:
        return False
    before = len(group["members"])
    group["members"] = [m for m in group["members"] if m.lower() != str(principal_id or "").lower()]
    store.dirty = True
    return len(group["members"]) != before
