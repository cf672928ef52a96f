"""The control-plane identity of a managed cluster and the kubelet identity AKS creates for it.

- `identity.type` SystemAssigned (default when absent): principalId/tenantId are set by the server and
  stay stable across updates; UserAssigned: every key of `userAssignedIdentities` must be an existing
  user-assigned identity in ARM state (else 400 FailedIdentityOperation, ARM's wrapper with an inner
  NotFound), and the answer carries its principalId/clientId.
- The kubelet identity is a real user-assigned identity `{cluster}-agentpool` in the node resource
  group `MC_{rg}_{cluster}_{location}`, both created with the cluster (the group with `managedBy` set
  to the cluster) and deleted with it, so role assignments and federated credentials can target it.
"""

import copy
import time
import uuid

from . import common

TYPES = {"systemassigned": "SystemAssigned", "userassigned": "UserAssigned", "none": "None"}


def control_plane_identity(call, requested, existing: dict | None) -> dict:
    """The identity block to store (and serve) for a PUT."""
    cluster_id = existing["id"] if existing else call.id
    if requested is None:
        return copy.deepcopy(existing["identity"]) if existing and existing.get("identity") else _system(call, None)
    if not isinstance(requested, dict):
        raise common.bad_identity(cluster_id, "The identity must be an object.")
    kind = TYPES.get(str(requested.get("type") or "SystemAssigned").replace(" ", "").lower())
    if kind is None:
        raise common.bad_identity(cluster_id, f"The identity type '{requested.get('type')}' is invalid. Allowed "
                                              f"types are SystemAssigned, UserAssigned and None.")
    assigned = requested.get("userAssignedIdentities")
    if kind != "UserAssigned":
        if assigned:
            raise common.bad_identity(cluster_id, "The request format was unexpected, a non-UserAssigned identity "
                                                  "type should not contain: userAssignedIdentities")
        if kind == "None":
            return {"type": "None"}
        return _system(call, (existing or {}).get("identity"))
    if not isinstance(assigned, dict) or not assigned:
        raise common.bad_identity(cluster_id, "The request format was unexpected: a UserAssigned identity type "
                                              "needs at least one entry in userAssignedIdentities")
    served = {}
    for resource_id in assigned:
        body = call.store.get(resource_id) if isinstance(resource_id, str) else None
        if body is None or body.get("type", "").lower() != common.IDENTITIES.lower():
            raise common.identity_not_found(cluster_id, resource_id)
        props = body["properties"]
        served[resource_id] = {"principalId": props["principalId"], "clientId": props["clientId"]}
    return {"type": "UserAssigned", "userAssignedIdentities": served}


def _system(call, previous) -> dict:
    if previous and previous.get("type") == "SystemAssigned" and previous.get("principalId"):
        return copy.deepcopy(previous)
    return {"type": "SystemAssigned", "principalId": str(uuid.uuid4()), "tenantId": call.app.tenant_id}


# ---------------------------------------------------------------------- node resource group + kubelet
def node_group_id(subscription: str, name: str) -> str:
    return f"/subscriptions/{subscription}/resourceGroups/{name}"


def create_kubelet_identity(call, cluster_id: str, cluster_name: str, node_rg: str, location: str) -> dict:
    """Create the node resource group and the kubelet identity in ARM state (if missing) and return
    the `identityProfile.kubeletidentity` block."""
    store, subscription = call.store, call.app.subscription_id
    group_id = node_group_id(subscription, node_rg)
    if store.get(group_id) is None:
        store.put({"id": group_id, "name": node_rg, "type": common.RESOURCE_GROUPS, "location": location,
                   "managedBy": cluster_id,
                   "tags": {"aks-managed-cluster-name": cluster_name,
                            "aks-managed-cluster-rg": call.resource_group},
                   "properties": {"provisioningState": "Succeeded"}})
    identity_id = f"{group_id}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{cluster_name}-agentpool"
    body = store.get(identity_id)
    if body is None:
        body = {"id": identity_id, "name": f"{cluster_name}-agentpool", "type": common.IDENTITIES,
                "location": location, "tags": {},
                "properties": {"tenantId": call.app.tenant_id, "principalId": str(uuid.uuid4()),
                               "clientId": str(uuid.uuid4()), "isolationScope": "None"}}
        store.put(body, hidden={"created": time.time()})
    props = body["properties"]
    return {"resourceId": body["id"], "clientId": props["clientId"], "objectId": props["principalId"]}


def delete_node_group(store, subscription: str, cluster: dict) -> None:
    """Delete the node resource group AKS created for `cluster` (only if it is that cluster's)."""
    name = (cluster.get("properties") or {}).get("nodeResourceGroup")
    if not name:
        return
    group_id = node_group_id(subscription, name)
    group = store.get(group_id)
    if group is not None and str(group.get("managedBy", "")).lower() == cluster["id"].lower():
        store.delete_tree(group_id)
