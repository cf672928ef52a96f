"""Shared bits of the Microsoft.ContainerService provider: type names, version parsing, AKS errors.

Error wording and where it comes from (see the provider section of sandbox/README.md):
- OIDCIssuerFeatureCannotBeDisabled "OIDC issuer feature cannot be disabled." (400): the AKS answer
  quoted verbatim in several public Terraform troubleshooting notes.
- K8sVersionNotSupported (400): code and wording from the AKS troubleshooting article on upgrade
  errors and public Terraform logs ("Managed cluster X is on version V which is not supported in
  this region. Please use [az aks get-versions] ...").
- PropertyChangeNotAllowed "Changing property 'P' is not allowed." (400, target P): Azure/AKS issue 2781.
- OperationNotAllowed (409): modelled on the AKS answer for a node pool ("Operation is not allowed
  because there's an in progress update node pool operation (operation ID: ...) ...").
- FailedIdentityOperation (400): ARM's wrapper for identity failures of a resource, seen for
  managedClusters in public Terraform logs; the inner NotFound wording is ARM's.
- Approximations (code "BadRequest"; the real server-side codes were not found): workload identity
  without the OIDC issuer (message from azure-cli's own check) and workload identity on a Kubernetes
  version below `min_workload_identity_version` (AKS documents 1.22 as the minimum).
"""

import json
import re
import time

from ...errors import ArmError, resource_not_found

NAMESPACE = "Microsoft.ContainerService"
CLUSTERS = f"{NAMESPACE}/managedClusters"
AGENT_POOLS = f"{CLUSTERS}/agentPools"
# azure-mgmt-containerservice 41.8 sends 2026-08-01; the shapes follow the 2025-07-01 spec examples; 2024-02-01 is
# what the requirements.txt floor azure-mgmt-containerservice 30.0.0 sends for managed_clusters and agent_pools
# (its DEFAULT_API_VERSION; v2024_02_01/_configuration.py).
API_VERSIONS = ("2026-08-01", "2025-07-01", "2024-02-01")
CLUSTER_TYPE_AS_SERVED = f"{NAMESPACE}/ManagedClusters"   # how the AKS RP spells it in its answers
IDENTITIES = "Microsoft.ManagedIdentity/userAssignedIdentities"
RESOURCE_GROUPS = "Microsoft.Resources/resourceGroups"

BUSY_STATES = ("Creating", "Updating", "Deleting", "Upgrading", "Scaling")
VERSION_RE = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")
# 1-63 characters: letters, digits, underscores and hyphens, starting and ending with a letter or digit.
CLUSTER_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?")
SUPPORTED_VERSIONS_HELP = ("Please use [az aks get-versions] command to get the supported version list in this "
                           "region. For more information, please check https://aka.ms/supported-version-list")


def parse_version(value):
    """(major, minor, patch or None) of "1.33" / "1.33.2", or None when it is not a version."""
    match = VERSION_RE.fullmatch(str(value or "").strip())
    if not match:
        return None
    major, minor, patch = match.groups()
    return int(major), int(minor), None if patch is None else int(patch)


def full_version(requested: str, default: str) -> str:
    """The patch version a cluster runs for a requested "X.Y" or "X.Y.Z" (AKS picks the latest patch of
    a minor; the sandbox takes the default's patch when the minor matches, else .0)."""
    parsed = parse_version(requested)
    if parsed[2] is not None:
        return f"{parsed[0]}.{parsed[1]}.{parsed[2]}"
    default_parsed = parse_version(default)
    if default_parsed and default_parsed[:2] == parsed[:2] and default_parsed[2] is not None:
        return default
    return f"{parsed[0]}.{parsed[1]}.0"


def version_below(version: str, minimum: str) -> bool:
    have, want = parse_version(version), parse_version(minimum)
    if not have or not want:
        return False
    return (have[0], have[1], have[2] or 0) < (want[0], want[1], want[2] or 0)


def iso_now(ts=None) -> str:
    ts = time.time() if ts is None else ts
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


# ---------------------------------------------------------------------- errors
def oidc_cannot_be_disabled() -> ArmError:
    return ArmError(400, "OIDCIssuerFeatureCannotBeDisabled", "OIDC issuer feature cannot be disabled.")


def version_not_supported(cluster_name: str, version: str) -> ArmError:
    return ArmError(400, "K8sVersionNotSupported",
                    f"Managed cluster {cluster_name} is on version {version} which is not supported in this "
                    f"region. {SUPPORTED_VERSIONS_HELP}")


def workload_identity_needs_oidc() -> ArmError:
    return ArmError(400, "BadRequest", "Enabling workload identity requires enabling OIDC issuer. Set "
                                       "oidcIssuerProfile.enabled to true.",
                    target="securityProfile.workloadIdentity")


def workload_identity_version(version: str, minimum: str) -> ArmError:
    return ArmError(400, "BadRequest",
                    f"Workload identity is not supported in Kubernetes version {version}. AKS supports Microsoft "
                    f"Entra Workload ID on Kubernetes version {minimum} and higher.",
                    target="securityProfile.workloadIdentity")


def property_change_not_allowed(prop: str) -> ArmError:
    return ArmError(400, "PropertyChangeNotAllowed", f"Changing property '{prop}' is not allowed.", target=prop)


def operation_in_progress(op: dict, verb: str, cluster_name: str) -> ArmError:
    return ArmError(409, "OperationNotAllowed",
                    f"Operation is not allowed because there's an in progress {verb} managed cluster operation "
                    f"(operation ID: {op['id']}) on the managed cluster {cluster_name} started on UTC "
                    f"{iso_now(op['started'])}. Please wait for it to finish before starting a new operation.")


def identity_failed(resource_id: str, status: str, inner_code: str, inner_message: str) -> ArmError:
    inner = json.dumps({"error": {"code": inner_code, "message": inner_message}}, separators=(",", ":"))
    return ArmError(400, "FailedIdentityOperation",
                    f"Identity operation for resource '{resource_id}' failed with error 'Failed to perform "
                    f"resource identity operation. Status: '{status}'. Response: '{inner}'.'.")


def identity_not_found(cluster_id: str, identity_id: str) -> ArmError:
    return identity_failed(cluster_id, "NotFound", "NotFound",
                           f"Resource '{identity_id}' does not exist or one of its queried reference-property "
                           f"objects are not present.")


def bad_identity(cluster_id: str, message: str) -> ArmError:
    return identity_failed(cluster_id, "BadRequest", "BadRequest", message)


def cluster_not_found(call, name=None) -> ArmError:
    return resource_not_found(CLUSTERS, name or call.path.names[0], call.resource_group)


def in_progress_operation(store, resource_id: str):
    """The running LRO on `resource_id` (create/update/delete), or None."""
    wanted = resource_id.lower()
    for op in store.operations.values():
        if op["status"] == "InProgress" and (op.get("resource_id") or "").lower() == wanted:
            return op
    return None
