# -*- coding: utf-8 -*-
# Copyright: keyless.aks_storage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The keyless audit's rules: from REST-shaped listings of a subscription and of its clusters, the findings of where
storage keys are still enabled, granted or stored. Pure functions: the module reads, these judge.

A finding: ``{type, severity, resource_id, subject: {kind, name}, summary, why, fix, evidence}``. Nothing here ever
holds a Secret's values: the module strips them before they reach these functions (``secret_shape``)."""

from __future__ import annotations

from ansible_collections.keyless.aks_storage.plugins.module_utils import doctor, rbac
from ansible_collections.keyless.aks_storage.plugins.module_utils.audit_report import SEVERITIES
from ansible_collections.keyless.aks_storage.plugins.module_utils.doctor import BLOB, FILE
# The Secret keys the blob and Azure Files drivers read a storage credential from: the account key and SAS token
# (both drivers), blobfuse's MSI endpoint secret and service principal client secret (blob-csi-driver v1.27.9
# pkg/blob/blob.go: defaultSecretAccountKey, accountSasTokenField, msiSecretField, storageSPNClientSecretField;
# azurefile-csi-driver pkg/azurefile/azurefile.go).
KEY_FIELDS = ("azurestorageaccountkey", "azurestorageaccountsastoken", "msisecret", "azurestoragespnclientsecret")
DRIVERS = {BLOB.driver: BLOB, FILE.driver: FILE}
IN_TREE_FILE_PROVISIONER = "kubernetes.io/azure-file"
NFS_ONLY = "protocol is nfs"  # a problem that is no key: NFS mounts use no identity at all
MSI_MODE = ("AzureStorageAuthType is msi: blobfuse signs in as a managed identity of the node (every pod on it "
            "shares it), not with the workload's own token")

TYPES = [
    dict(type="account_key_secret", title="Kubernetes Secrets holding a storage account key, SAS token or client "
                                          "secret",
         why="Anyone who can read Secrets in the namespace (or a backup of etcd) holds full access to the account; "
             "the key stays valid until it is rotated, whoever leaves the team."),
    dict(type="key_consuming_pod", title="Pods that mount storage with a key or read a key Secret",
         why="These are the workloads that break when shared key access is turned off: move each to a token-only "
             "volume first."),
    dict(type="key_persistent_volume", title="Persistent volumes of the blob and Azure Files drivers that are not "
                                             "token-only",
         why="The driver mounts them with the account key (from a Secret, or listed with the cluster's identity), "
             "not with the workload's own federated identity."),
    dict(type="in_tree_azure_file", title="In-tree azureFile volumes",
         why="The in-tree azureFile volume (migrated to file.csi.azure.com) always mounts with the account key of a "
             "Secret."),
    dict(type="key_storage_class", title="StorageClasses of the blob and Azure Files drivers that provision with a "
                                         "key",
         why="Every claim of the class gets a key-mode volume, and the driver usually stores the account key in a "
             "new Secret."),
    dict(type="shared_key_enabled", title="Storage accounts that allow shared key access",
         why="With shared key access on, the account keys and every SAS signed with them authorize requests; "
             "Microsoft Entra authorization is only enforced once allowSharedKeyAccess is false."),
    dict(type="list_keys_role_assignment", title="Role assignments that can list storage account keys",
         why="A role that allows Microsoft.Storage/storageAccounts/listkeys/action (wildcards included) hands its "
             "principal the keys of every account in scope, beside any data role."),
    dict(type="cluster_oidc_issuer_off", title="AKS clusters without an OIDC issuer",
         why="Without the issuer Microsoft Entra ID cannot verify the cluster's service account tokens: no workload "
             "can federate, so pods fall back to keys."),
    dict(type="cluster_workload_identity_off", title="AKS clusters without workload identity",
         why="Without the workload identity webhook pods get no projected token for Microsoft Entra ID."),
    dict(type="managed_blob_driver", title="AKS-managed blob CSI driver on",
         why="The AKS-managed driver owns blob.csi.azure.com and conflicts with the open-source driver that mounts "
             "with workload identity tokens; its defaults mount with keys."),
    dict(type="shared_key_enabled_managed", title="Storage accounts managed by another resource provider that allow "
                                                  "shared key access",
         why="Another service (for example AKS, in its node resource group) created and owns these accounts; change "
             "them through their owner, not directly."),
]
WHY = {t["type"]: t["why"] for t in TYPES}
ORDER = {t["type"]: i for i, t in enumerate(TYPES)}


def finding(kind, severity, resource_id, subject, summary, fix, evidence=None):
    return {"type": kind, "severity": severity, "resource_id": resource_id,
            "subject": {"kind": subject[0], "name": subject[1]}, "summary": summary, "why": WHY[kind], "fix": fix,
            "evidence": evidence or {}}


def sort_findings(findings):
    return sorted(findings, key=lambda f: (SEVERITIES.index(f["severity"]), ORDER[f["type"]], f["resource_id"]))


def worst(findings):
    for severity in SEVERITIES:
        if any(f["severity"] == severity for f in findings):
            return severity
    return "clean"


def segment(resource_id, name):
    """The value after ``name`` in an ARM id (case-insensitive), or None."""
    parts = (resource_id or "").split("/")
    lowered = [p.lower() for p in parts]
    return parts[lowered.index(name.lower()) + 1] if name.lower() in lowered[:-1] else None


# ---- storage accounts ------------------------------------------------------------------------------------------------
def shared_key_allowed(account):
    """allowSharedKeyAccess unset (null) means allowed (Microsoft Learn, "Prevent Shared Key authorization")."""
    return ((account.get("properties") or {}).get("allowSharedKeyAccess")) is not False


def managed_groups(groups):
    """{lowered resource group name: managedBy} of the groups another resource provider manages."""
    return {g["name"].lower(): g["managedBy"] for g in groups if g.get("managedBy")}


def account_findings(accounts, groups):
    managed = managed_groups(groups)
    found = []
    for account in accounts:
        if not shared_key_allowed(account):
            continue
        value = (account.get("properties") or {}).get("allowSharedKeyAccess")
        rg = segment(account["id"], "resourceGroups") or ""
        state = "unset (allowed)" if value is None else "true"
        evidence = {"allowSharedKeyAccess": value, "resource_group": rg}
        subject = ("account", account["name"])
        if rg.lower() in managed:
            evidence["managedBy"] = managed[rg.lower()]
            found.append(finding("shared_key_enabled_managed", "medium", account["id"], subject,
                                 "allowSharedKeyAccess is %s; resource group %s is managed by %s" % (
                                     state, rg, managed[rg.lower()]),
                                 "change what created it (for a blob or Files driver's account, the StorageClass "
                                 "or claim that made it: move it to a keyless account), then delete it", evidence))
            continue
        found.append(finding("shared_key_enabled", "high", account["id"], subject,
                             "allowSharedKeyAccess is %s" % state,
                             "move its users to Microsoft Entra ID (the key_consuming_pod findings), then "
                             "az storage account update -g %s -n %s --allow-shared-key-access false (or "
                             "keyless.aks_storage.keyless_storage_account)" % (rg, account["name"]), evidence))
    return found


# ---- role assignments ------------------------------------------------------------------------------------------------
def definitions_by_guid(definitions):
    return {rbac.role_guid(d.get("id") or d.get("name")): d for d in definitions}


def list_keys_patterns(definition):
    """The action strings of a role that allow listKeys (after its notActions), or []."""
    blocks = (definition.get("properties") or {}).get("permissions") or []
    if not rbac.permits(blocks, action=rbac.LIST_KEYS_ACTION):
        return []
    return sorted({p for b in blocks for p in rbac.matching_patterns(b.get("actions"), rbac.LIST_KEYS_ACTION)})


def scope_subject(scope):
    account = segment(scope, "storageAccounts")
    if account:
        return ("account", account)
    group = segment(scope, "resourceGroups")
    if group:
        return ("resource_group", group)
    mg = segment(scope, "managementGroups")
    if mg:
        return ("management_group", mg)
    return ("subscription", segment(scope, "subscriptions") or scope)


def role_findings(assignments, definitions, accounts, shown=10):
    """One finding per assignment whose role can list the keys of at least one account it reaches; ``unresolved``:
    the assignments whose role definition the listing did not hold."""
    by_guid = definitions_by_guid(definitions)
    found, unresolved = [], []
    for assignment in assignments:
        props = assignment.get("properties") or {}
        scope = props.get("scope") or ""
        definition = by_guid.get(rbac.role_guid(props.get("roleDefinitionId")))
        if definition is None:
            unresolved.append(assignment.get("id"))
            continue
        patterns = list_keys_patterns(definition)
        covered = [a for a in accounts if rbac.scope_covers(scope, a["id"])] if patterns else []
        if not covered:
            continue
        open_accounts = sorted(a["name"] for a in covered if shared_key_allowed(a))
        role_name = (definition.get("properties") or {}).get("roleName")
        evidence = {"role": role_name, "role_type": (definition.get("properties") or {}).get("type"),
                    "principal_id": props.get("principalId"), "principal_type": props.get("principalType"),
                    "scope": scope, "actions": patterns, "accounts_in_scope": len(covered),
                    "accounts_allowing_shared_key": open_accounts[:shown],
                    "more_accounts_allowing_shared_key": max(0, len(open_accounts) - shown)}
        severity = "high" if open_accounts else "low"
        usable = ("%d of them allow shared key access" % len(open_accounts) if open_accounts
                  else "none of them allows shared key access, so the keys authorize nothing today")
        found.append(finding(
            "list_keys_role_assignment", severity, assignment["id"], scope_subject(scope),
            "%s %s has %s (%s) at %s, which reaches %d storage account(s); %s" % (
                props.get("principalType") or "principal", props.get("principalId"), role_name, ", ".join(patterns),
                scope, len(covered), usable),
            "assign a role without listKeys (data roles such as Storage Blob Data Contributor for data, Reader for "
            "the control plane) and remove this assignment: az role assignment delete --ids %s" % assignment["id"],
            evidence))
    return found, unresolved


# ---- clusters in ARM -------------------------------------------------------------------------------------------------
def cluster_findings(cluster):
    props = cluster.get("properties") or {}
    rg, name, cid = segment(cluster["id"], "resourceGroups"), cluster["name"], cluster["id"]
    subject = ("cluster", name)
    found = []
    if not (props.get("oidcIssuerProfile") or {}).get("enabled"):
        found.append(finding("cluster_oidc_issuer_off", "high", cid, subject, "the OIDC issuer is off",
                             "az aks update -g %s -n %s --enable-oidc-issuer (or "
                             "keyless.aks_storage.aks_oidc_cluster)" % (rg, name),
                             {"oidcIssuerProfile": props.get("oidcIssuerProfile")}))
    if not ((props.get("securityProfile") or {}).get("workloadIdentity") or {}).get("enabled"):
        found.append(finding("cluster_workload_identity_off", "high", cid, subject, "workload identity is off",
                             "az aks update -g %s -n %s --enable-workload-identity (or "
                             "keyless.aks_storage.aks_oidc_cluster)" % (rg, name),
                             {"workloadIdentity": (props.get("securityProfile") or {}).get("workloadIdentity")}))
    managed = doctor.judge_managed_driver(props, BLOB, rg, name)
    if managed["status"] != doctor.OK:
        found.append(finding("managed_blob_driver", "medium", cid, subject, managed["summary"], managed["fix"],
                             managed["evidence"]))
    return found


# ---- Kubernetes objects ----------------------------------------------------------------------------------------------
def secret_shape(secret):
    """What the audit keeps of a Secret: where it is, its type and the names of its keys. Never a value."""
    meta = secret.get("metadata") or {}
    keys = set((secret.get("data") or {}).keys()) | set((secret.get("stringData") or {}).keys())
    return {"namespace": meta.get("namespace"), "name": meta.get("name"), "type": secret.get("type"),
            "keys": sorted(keys)}


def k8s_id(cluster_id, path):
    return "%s/kubernetes/%s" % (cluster_id, path)


def key_secrets(secrets):
    """{(namespace, name): the key fields it holds} of the Secrets that hold a key or SAS token."""
    found = {}
    for s in secrets:
        fields = [k for k in s["keys"] if k in KEY_FIELDS]
        if fields:
            found[(s["namespace"], s["name"])] = fields
    return found


def secret_findings(cluster, secrets):
    found = []
    for s in secrets:
        fields = [k for k in s["keys"] if k in KEY_FIELDS]
        if not fields:
            continue
        path = "api/v1/namespaces/%s/secrets/%s" % (s["namespace"], s["name"])
        found.append(finding("account_key_secret", "critical", k8s_id(cluster["id"], path),
                             ("cluster", cluster["name"]),
                             "Secret %s/%s holds %s" % (s["namespace"], s["name"], ", ".join(fields)),
                             "move its consumers to token-only volumes (keyless.aks_storage.workload), rotate the "
                             "account key, then kubectl delete secret -n %s %s" % (s["namespace"], s["name"]),
                             {"namespace": s["namespace"], "name": s["name"], "type": s["type"], "keys": s["keys"]}))
    return found


def csi_key_problems(csi, mount_options=()):
    """The key problems of a CSI source (a PV's or a pod's inline volume) of the blob or Files driver; None for
    another driver."""
    kind = DRIVERS.get((csi or {}).get("driver"))
    if kind is None:
        return None
    attrs = dict((k.lower(), v) for k, v in (csi.get("volumeAttributes") or {}).items())
    problems = without_nfs_key_mode(doctor.volume_key_problems(csi, attrs, list(mount_options or []), kind), attrs)
    if kind is BLOB and str(attrs.get("azurestorageauthtype") or "").lower() == "msi":
        # blobfuse with a managed identity of the node: no key, but no workload identity either (blob-csi-driver
        # v1.27.9 GetAuthEnv: AzureStorageAuthType msi)
        problems = [MSI_MODE if p.startswith("mountWithWorkloadIdentityToken") else p for p in problems]
    return problems


def without_nfs_key_mode(problems, params):
    """An NFS volume or class uses neither a key nor a token: its missing token is no key mode."""
    if str(params.get("protocol") or "").lower() != "nfs":
        return problems
    return [p for p in problems if not p.startswith("mountWithWorkloadIdentityToken")]


def problem_severity(problems, default="high"):
    """high when a problem is a key; medium for blobfuse's node identity; low for NFS alone."""
    if all(p.startswith(NFS_ONLY) for p in problems):
        return "low"
    return "medium" if all(p.startswith((NFS_ONLY, MSI_MODE)) for p in problems) else default


def volume_findings(cluster, volumes):
    """(findings, {PV name: why it uses a key}) of the PersistentVolumes."""
    found, keyed = [], {}
    subject = ("cluster", cluster["name"])
    for pv in volumes:
        spec, name = pv.get("spec") or {}, (pv.get("metadata") or {}).get("name")
        rid = k8s_id(cluster["id"], "api/v1/persistentvolumes/%s" % name)
        claim = spec.get("claimRef") or {}
        evidence = {"name": name, "claim": "%s/%s" % (claim.get("namespace"), claim.get("name")) if claim else None}
        if spec.get("azureFile"):
            source = spec["azureFile"]
            keyed[name] = "in-tree azureFile volume %s (Secret %s)" % (name, source.get("secretName"))
            evidence.update(secretName=source.get("secretName"), secretNamespace=source.get("secretNamespace"),
                            shareName=source.get("shareName"))
            found.append(finding("in_tree_azure_file", "high", rid, subject, "PersistentVolume %s is an in-tree "
                                 "azureFile volume of share %s with the key of Secret %s" % (
                                     name, source.get("shareName"), source.get("secretName")),
                                 "replace it with a token-only Azure Files volume (keyless.aks_storage.workload, "
                                 "type file) on an account with SMB OAuth", evidence))
            continue
        problems = csi_key_problems(spec.get("csi"), spec.get("mountOptions"))
        if not problems:
            continue
        csi = spec["csi"]
        evidence.update(driver=csi.get("driver"), volumeAttributes=csi.get("volumeAttributes") or {},
                        nodeStageSecretRef=csi.get("nodeStageSecretRef"),
                        nodePublishSecretRef=csi.get("nodePublishSecretRef"))
        severity = problem_severity(problems)
        if severity == "high":
            keyed[name] = "volume %s (%s)" % (name, problems[0])
        found.append(finding("key_persistent_volume", severity, rid, subject,
                             "PersistentVolume %s (%s): %s" % (name, csi.get("driver"), "; ".join(problems)),
                             "PersistentVolumes are immutable: create a token-only volume and claim "
                             "(keyless.aks_storage.workload), move the pods, then delete this one", evidence))
    return found, keyed


def class_findings(cluster, classes):
    found = []
    for sc in classes:
        name, provisioner = (sc.get("metadata") or {}).get("name"), sc.get("provisioner")
        params = dict((k.lower(), v) for k, v in (sc.get("parameters") or {}).items())
        if provisioner == IN_TREE_FILE_PROVISIONER:
            problems = ["in-tree provisioner %s (migrated to file.csi.azure.com): it stores the account key in a "
                        "Secret for every claim" % provisioner]
        elif provisioner in DRIVERS:
            problems = without_nfs_key_mode(doctor.class_key_problems(params), params)
        else:
            continue
        if not problems:
            continue
        found.append(finding("key_storage_class", problem_severity(problems), k8s_id(
            cluster["id"], "apis/storage.k8s.io/v1/storageclasses/%s" % name), ("cluster", cluster["name"]),
            "StorageClass %s (%s): %s" % (name, provisioner, "; ".join(problems)),
            "StorageClasses are immutable: create a token-only class (keyless.aks_storage.workload with "
            "storage_class), move new claims to it, then kubectl delete storageclass %s" % name,
            {"name": name, "provisioner": provisioner, "parameters": sc.get("parameters") or {}}))
    return found


def secret_references(spec):
    """(volume or env, Secret name) pairs a pod spec reads Secrets through."""
    refs = []
    for v in spec.get("volumes") or []:
        if (v.get("secret") or {}).get("secretName"):
            refs.append(("volume %s" % v.get("name"), v["secret"]["secretName"]))
        for source in (v.get("projected") or {}).get("sources") or []:
            if (source.get("secret") or {}).get("name"):
                refs.append(("projected volume %s" % v.get("name"), source["secret"]["name"]))
    for group in ("initContainers", "containers", "ephemeralContainers"):
        for c in spec.get(group) or []:
            for env in c.get("env") or []:
                ref = (env.get("valueFrom") or {}).get("secretKeyRef") or {}
                if ref.get("name"):
                    refs.append(("env %s of container %s" % (env.get("name"), c.get("name")), ref["name"]))
            for source in c.get("envFrom") or []:
                if (source.get("secretRef") or {}).get("name"):
                    refs.append(("envFrom of container %s" % c.get("name"), source["secretRef"]["name"]))
    return refs


def pod_reasons(pod, claims, keyed_volumes, secrets):
    """(why the pod uses a key, its inline in-tree azureFile volumes)."""
    meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    ns = meta.get("namespace")
    reasons, in_tree = [], []
    for v in spec.get("volumes") or []:
        claim = (v.get("persistentVolumeClaim") or {}).get("claimName")
        if claim:
            volume = claims.get((ns, claim))
            if volume in keyed_volumes:
                reasons.append("claim %s: %s" % (claim, keyed_volumes[volume]))
        if v.get("azureFile"):
            in_tree.append("volume %s: share %s with the key of Secret %s" % (
                v.get("name"), v["azureFile"].get("shareName"), v["azureFile"].get("secretName")))
        problems = csi_key_problems(v.get("csi")) if v.get("csi") else None
        if problems and problem_severity(problems) == "high":
            reasons.append("inline %s volume %s: %s" % (v["csi"].get("driver"), v.get("name"), problems[0]))
    for where, name in secret_references(spec):
        if (ns, name) in secrets:
            reasons.append("%s reads Secret %s (%s)" % (where, name, ", ".join(secrets[(ns, name)])))
    return reasons, in_tree


def owner_of(meta):
    owners = meta.get("ownerReferences") or []
    return "%s/%s" % (owners[0].get("kind"), owners[0].get("name")) if owners else None


def pod_findings(cluster, pods, claims, keyed_volumes, secrets):
    found = []
    subject = ("cluster", cluster["name"])
    for pod in pods:
        meta = pod.get("metadata") or {}
        ns, name = meta.get("namespace"), meta.get("name")
        reasons, in_tree = pod_reasons(pod, claims, keyed_volumes, secrets)
        rid = k8s_id(cluster["id"], "api/v1/namespaces/%s/pods/%s" % (ns, name))
        evidence = {"namespace": ns, "name": name, "owner": owner_of(meta),
                    "phase": (pod.get("status") or {}).get("phase"),
                    "service_account": (pod.get("spec") or {}).get("serviceAccountName")}
        if in_tree:
            found.append(finding("in_tree_azure_file", "high", rid, subject,
                                 "pod %s/%s has in-tree azureFile volumes: %s" % (ns, name, "; ".join(in_tree)),
                                 "mount a token-only Azure Files claim instead (keyless.aks_storage.workload, type "
                                 "file)", dict(evidence, volumes=in_tree)))
        if reasons:
            found.append(finding("key_consuming_pod", "high", rid, subject,
                                 "pod %s/%s: %s" % (ns, name, "; ".join(reasons)),
                                 "give %s a workload identity and a token-only claim (keyless.aks_storage.workload), "
                                 "then redeploy %s without the key" % (
                                     evidence["service_account"] or "its service account",
                                     evidence["owner"] or "the pod"), dict(evidence, reasons=reasons)))
    return found


def bound_claims(claims):
    """{(namespace, claim): PV name} of the claims bound to a volume."""
    return {((c.get("metadata") or {}).get("namespace"), (c.get("metadata") or {}).get("name")):
            (c.get("spec") or {}).get("volumeName") for c in claims if (c.get("spec") or {}).get("volumeName")}


def kubernetes_findings(cluster, objects):
    """``objects``: {secrets (secret_shape), persistent_volumes, persistent_volume_claims, storage_classes, pods}."""
    secrets = key_secrets(objects["secrets"])
    volumes, keyed = volume_findings(cluster, objects["persistent_volumes"])
    return (secret_findings(cluster, objects["secrets"]) + volumes
            + class_findings(cluster, objects["storage_classes"])
            + pod_findings(cluster, objects["pods"], bound_claims(objects["persistent_volume_claims"]), keyed,
                           secrets))
