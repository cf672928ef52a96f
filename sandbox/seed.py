"""Seed a large estate into the running sandbox, fast and deterministically (tests and `make bench`; test-only, like
everything under sandbox/). Served as `POST /_sandbox/seed` (control.py), `Sandbox.seed(**spec)` in client.py.

    {"seed": 1, "storage_accounts": 200, "role_assignments": 500, "cluster": "<id of an emulated cluster>",
     "persistent_volumes": 300, "secrets": 1000, "pods": 50, "location": "westeurope"}

ARM records are the ones the providers' PUTs store (the same record functions: resources.group_record,
accounts.new_account_record / store_new_account, managed_identity.identity_properties,
role_assignments.assignment_properties), already settled (no operation left running); Kubernetes objects go through
the emulated API server's in-process create (k8s/operations.py), so decoding, defaulting, validation, admission and
the controllers (binding, scheduling) apply. Nothing is counted as ARM or Kubernetes traffic.

Everything but server-set times and uids follows from the seed: names, the mix, ids, key material. Every mix
(`allowSharedKeyAccess` true/false/unset, the role kinds, secret/volume/class/pod shapes) walks a cycle in an order
the seed shuffles, so each kind appears once a count reaches the cycle's length. The answer lists what was made
(`counts`, `ids`, grouped by shape where a test needs it) and every generated secret value (`secret_values`, the
plain values, one line each); it judges nothing.
"""

import base64
import json
import math
import random
import time
import urllib.parse
import uuid

from .arm import paths
from .arm.providers.authorization.builtin_roles import BY_NAME
from .arm.providers.authorization.role_assignments import TYPE as ASSIGNMENTS, assignment_properties
from .arm.providers.container_service import identity as aks_identity
from .arm.providers.managed_identity import IDENTITY_TYPE, identity_properties
from .arm.providers.resources import group_record
from .arm.providers.storage.accounts import new_account_record, store_new_account
from .arm.providers.storage.common import ACCOUNTS
from .arm.errors import ArmError
from .arm.stored import known_location
from .k8s import controllers, kinds, operations

COUNTS = ("storage_accounts", "role_assignments", "persistent_volumes", "secrets", "pods")
LIMITS = {"storage_accounts": 5000, "role_assignments": 20000, "persistent_volumes": 5000, "secrets": 20000,
          "pods": 5000}
SPEC_KEYS = ("seed", "cluster", "location", *COUNTS)
KINDS = ("resource_groups", "storage_accounts", "identities", "role_assignments", "namespaces", "secrets",
         "storage_classes", "persistent_volumes", "persistent_volume_claims", "pods")
MAX_SEED = 10 ** 9
ACCOUNTS_PER_GROUP = 50
OBJECTS_PER_NAMESPACE = 100
# Built-in roles whose Actions include Microsoft.Storage/storageAccounts/listKeys/action, and some without it.
LIST_KEYS_ROLES = ("Owner", "Contributor", "Storage Account Contributor", "Storage Account Key Operator Service Role",
                   "Reader and Data Access")
OTHER_ROLES = ("Reader", "Storage Blob Data Reader", "Storage Blob Data Contributor",
               "Storage File Data SMB Share Reader", "Managed Identity Operator")
# Secret data keys the CSI drivers read (kubernetes-sigs/blob-csi-driver v1.27.9 pkg/blob/blob.go,
# azurefile-csi-driver v1.35.7 pkg/azurefile/azurefile.go) and their default Secret name template.
ACCOUNT_NAME_KEY, ACCOUNT_KEY_KEY = "azurestorageaccountname", "azurestorageaccountkey"
SAS_KEY, MSI_KEY = "azurestorageaccountsastoken", "msisecret"
SPN_KEYS = ("azurestoragespnclientid", "azurestoragespntenantid", "azurestoragespnclientsecret")
SECRET_NAME_TEMPLATE = "azure-storage-account-{}-secret"
KEY_SECRET_SHAPES = ("blob_key", "blob_sas", "blob_msi", "blob_spn", "files_key")
PLAIN_SECRET_SHAPES = ("opaque_config", "opaque_settings", "tls", "dockerconfigjson", "basic_auth")
PV_SHAPES = ("blob_token", "files_token", "blob_node_stage_secret", "blob_secret_attributes",
             "files_node_stage_secret", "files_secret_attributes", "in_tree_azure_file", "blob_token")
KEY_PV_SHAPES = {"blob_node_stage_secret": "blob", "blob_secret_attributes": "blob", "files_node_stage_secret": "files",
                 "files_secret_attributes": "files", "in_tree_azure_file": "files"}
POD_SHAPES = ("key_claim", "token_claim", "inline_azure_file", "inline_csi_secret", "env_secret", "no_storage")
BLOB, FILES = "blob.csi.azure.com", "file.csi.azure.com"
IMAGE = "mcr.microsoft.com/azurelinux/base/core:3.0"


def kind_of(plural):
    return next(k for k in kinds.KINDS if k.plural == plural)


NAMESPACE, SECRET, PV, PVC, POD = (kind_of(p) for p in ("namespaces", "secrets", "persistentvolumes",
                                                        "persistentvolumeclaims", "pods"))
STORAGE_CLASS = kind_of("storageclasses")


# ---------------------------------------------------------------------- the spec
def prefix_of(seed) -> str:
    """What every seeded name starts with (storage account names too: lowercase letters and digits)."""
    return f"sd{seed}"


def parse_spec(body: dict) -> dict:
    """The seeding request, checked: ValueError (a 400 of the control API) on anything else."""
    unknown = sorted(set(body) - set(SPEC_KEYS))
    if unknown:
        raise ValueError(f"unknown seed keys {unknown}; known: {list(SPEC_KEYS)}")
    seed = body.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < MAX_SEED:
        raise ValueError(f"'seed' must be an integer from 0 to {MAX_SEED - 1}")
    spec = {"seed": seed, "cluster": body.get("cluster"), "location": body.get("location") or "westeurope"}
    for key in COUNTS:
        value = body.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= LIMITS[key]:
            raise ValueError(f"'{key}' must be an integer from 0 to {LIMITS[key]}")
        spec[key] = value
    if spec["cluster"] is not None and not isinstance(spec["cluster"], str):
        raise ValueError("'cluster' must be the id of an emulated cluster (an AKS cluster's ARM id)")
    if spec["cluster"] is None and any(spec[k] for k in ("persistent_volumes", "secrets", "pods")):
        raise ValueError("'cluster' is required to seed Kubernetes objects")
    return spec


class Result:
    """What a seeding made: counts, ids (by kind, and by shape where the mix matters) and the secret values."""

    def __init__(self):
        self.ids, self.by_shape, self.secret_values = {}, {}, []

    def add(self, kind, ident, shape=None):
        self.ids.setdefault(kind, []).append(ident)
        if shape is not None:
            self.by_shape.setdefault(kind, {}).setdefault(shape, []).append(ident)

    def secret(self, value):
        self.secret_values.append(value)
        return value

    def answer(self, spec, prefix) -> dict:
        ids = {kind: self.ids.get(kind, []) for kind in KINDS}
        return {"seed": spec["seed"], "prefix": prefix, "counts": {k: len(v) for k, v in ids.items()}, "ids": ids,
                "by_shape": self.by_shape, "secret_values": list(dict.fromkeys(self.secret_values))}


class Seeder:
    def __init__(self, app, spec):
        self.app, self.spec, self.store = app, spec, app.store
        self.rng = random.Random(spec["seed"])
        self.prefix = prefix_of(spec["seed"])
        self.sub = f"/subscriptions/{app.subscription_id}"
        self.result = Result()
        self._orders = {}
        self.accounts, self.identities = [], []

    # ------------------------------------------------------------------ determinism helpers
    def pick(self, options, index, name):
        """options[...] along a cycle whose order the seed shuffles (once per `name`)."""
        order = self._orders.get(name)
        if order is None:
            order = self._orders[name] = self.rng.sample(list(options), len(options))
        return order[index % len(order)]

    def guid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def material(self, size) -> str:
        """Random-looking base64 key material (never a real key)."""
        return base64.b64encode(self.rng.randbytes(size)).decode()

    # ------------------------------------------------------------------ ARM
    def seed_arm(self) -> None:
        try:
            location = known_location(self.spec["location"], ACCOUNTS)
        except ArmError as exc:
            raise ValueError(exc.message) from None
        groups = [self._group(f"{self.prefix}-rg-{index:02d}", location)
                  for index in range(max(1, math.ceil(self.spec["storage_accounts"] / ACCOUNTS_PER_GROUP)))]
        managed = self._managed_group(location, groups[0])
        self._check_free()
        for index in range(self.spec["storage_accounts"]):
            group = managed if index % 10 == 9 else groups[index % len(groups)]
            self._account(index, group, location)
        if self.spec["role_assignments"] or self.spec["persistent_volumes"]:
            for index in range(max(1, min(20, self.spec["role_assignments"] // 25))):
                self._identity(index, groups[0], location)
        self._role_assignments(groups, managed)

    def _group(self, name, location, managed_by=None) -> dict:
        group_id = paths.resource_group_id(self.app.subscription_id, name)
        record = self.store.get(group_id)
        if record is None:
            record = group_record(group_id, name, location, {}, managed_by)
            self.store.put(record)
            self.result.add("resource_groups", group_id, "managed" if managed_by else "plain")
        return record

    def _managed_group(self, location, first_group) -> dict:
        """A resource group another resource manages (an AKS node resource group): the cluster's own when the
        seeded cluster is an AKS cluster that has one, else one made for it."""
        cluster_id = self.spec["cluster"]
        cluster = self.store.get(cluster_id) if cluster_id and cluster_id.startswith("/") else None
        node_group = ((cluster or {}).get("properties") or {}).get("nodeResourceGroup")
        if node_group:
            found = self.store.get(aks_identity.node_group_id(self.app.subscription_id, node_group))
            if found is not None and found.get("managedBy"):
                self.result.add("resource_groups", found["id"], "managed")
                return found
        name = (cluster_id or "").rstrip("/").rsplit("/", 1)[-1] or f"{self.prefix}-aks"
        owner = cluster_id if cluster_id and cluster_id.startswith("/") else (
            f"{first_group['id']}/providers/Microsoft.ContainerService/managedClusters/{self.prefix}-aks")
        return self._group(f"MC_{self.prefix}_{name}_{location}"[:90], location, managed_by=owner)

    def _check_free(self) -> None:
        taken = {body["name"] for body in self.store.of_type(ACCOUNTS)}
        if any(f"{self.prefix}st{index:05d}" in taken for index in range(self.spec["storage_accounts"])):
            raise ValueError(f"seed {self.spec['seed']} was already seeded here (storage account names taken): reset "
                             f"the sandbox or use another seed")

    def _account(self, index, group, location) -> None:
        name = f"{self.prefix}st{index:05d}"
        shared = self.pick((True, False, None), index, "shared_key")
        kind, sku = self.pick((("StorageV2", "Standard_LRS"), ("StorageV2", "Standard_GRS"),
                               ("StorageV2", "Standard_ZRS"), ("FileStorage", "Premium_LRS")), index, "account_kind")
        requested = {} if shared is None else {"allowSharedKeyAccess": shared}
        record = new_account_record(self.app.base_url, f"{group['id']}/providers/{ACCOUNTS}/{name}", name, kind,
                                    location, {}, {"name": sku}, requested)
        record["properties"]["provisioningState"] = "Succeeded"  # as once its creation completed
        keys = {"key1": self.material(64), "key2": self.material(64)}
        store_new_account(self.store, record, keys)
        self.result.secret(keys["key1"])
        self.result.secret(keys["key2"])
        state = {True: "true", False: "false", None: "unset"}[shared]
        self.result.add("storage_accounts", record["id"], f"allow_shared_key_{state}")
        if group.get("managedBy"):
            self.result.by_shape.setdefault("storage_accounts", {}).setdefault("in_managed_group", []).append(
                record["id"])
        self.accounts.append({"name": name, "id": record["id"], "group": group["name"], "key": keys["key1"]})

    def _identity(self, index, group, location) -> None:
        name = f"{self.prefix}-id-{index:02d}"
        identity_id = f"{group['id']}/providers/{IDENTITY_TYPE}/{name}"
        properties = identity_properties(self.app.tenant_id, self.guid(), self.guid())
        self.store.put({"id": identity_id, "name": name, "type": IDENTITY_TYPE, "location": location, "tags": {},
                        "properties": properties}, hidden={"created": time.time()})
        self.result.add("identities", identity_id)
        self.identities.append(properties)

    def _principals(self) -> list:
        users = [(self.guid(), "User") for _index in range(max(2, self.spec["role_assignments"] // 50))]
        services = [(p["principalId"], "ServicePrincipal") for p in self.identities]
        return services + [(self.app.app_object_id, "ServicePrincipal")] + users

    def _role_assignments(self, groups, managed) -> None:
        count = self.spec["role_assignments"]
        if not count:
            return
        principals, roles = self._principals(), LIST_KEYS_ROLES + OTHER_ROLES
        scopes = {"subscription": [self.sub], "resource_group": [g["id"] for g in groups] + [managed["id"]],
                  "storage_account": [a["id"] for a in self.accounts]}
        levels = ("subscription", "resource_group") + (("storage_account",) * 2 if self.accounts else ())
        widest = "storage_account" if self.accounts else "resource_group"
        taken = {(a["properties"]["scope"].lower(), a["properties"]["roleDefinitionId"].rsplit("/", 1)[-1].lower(),
                  a["properties"]["principalId"].lower()) for a in self.store.of_type(ASSIGNMENTS)}
        for index in range(count):
            role = BY_NAME[self.pick(roles, index, "role").lower()]
            level = self.pick(levels, index, "scope_level")
            for _attempt in range(64):   # a free (scope, role, principal): bounded, then the seed gives up
                scope = self.rng.choice(scopes[level])
                principal, principal_type = self.rng.choice(principals)
                key = (scope.lower(), role["id"], principal.lower())
                if key not in taken:
                    break
                level = widest
            else:
                raise ValueError(f"not enough distinct (scope, role, principal) for {count} role assignments")
            taken.add(key)
            self._assignment(scope, role, principal, principal_type, level)

    def _assignment(self, scope, role, principal, principal_type, level) -> None:
        name = self.guid()
        assignment_id = f"{scope}/providers/{ASSIGNMENTS}/{name}"
        self.store.put({"id": assignment_id, "name": name, "type": ASSIGNMENTS, "properties": assignment_properties(
            self.app.subscription_id, role["id"], principal, principal_type, scope, self.app.app_object_id, {})})
        lists_keys = role["roleName"] in LIST_KEYS_ROLES
        self.result.add("role_assignments", assignment_id, "lists_keys" if lists_keys else "no_list_keys")
        for shape in (f"role:{role['roleName']}", f"scope:{level}", f"principal:{principal_type}"):
            self.result.by_shape.setdefault("role_assignments", {}).setdefault(shape, []).append(assignment_id)


# ---------------------------------------------------------------------- Kubernetes
class KubeSeeder:
    def __init__(self, seeder: Seeder, cluster):
        self.seeder, self.cluster, self.result, self.prefix = seeder, cluster, seeder.result, seeder.prefix
        self.options = operations.WriteOptions(manager="sandbox-seed", explicit_manager=True)
        self.namespaces, self.key_secrets, self.claims = [], {"blob": [], "files": []}, {"key": [], "token": []}

    def create(self, kind, namespace, body, label, shape=None) -> dict:
        obj = operations.create(self.cluster, kind, namespace, body, self.options)
        name = obj["metadata"]["name"]
        self.result.add(label, f"{namespace}/{name}" if namespace else name, shape)
        return obj

    def run(self) -> None:
        spec = self.seeder.spec
        wanted = max(1, math.ceil(max(spec["secrets"], spec["persistent_volumes"], spec["pods"] * 2)
                                  / OBJECTS_PER_NAMESPACE))
        for index in range(wanted):
            name = f"{self.prefix}-ns-{index:02d}"
            self.create(NAMESPACE, None, {"metadata": {"name": name, "labels": {"team": f"team-{index % 7}"}}},
                        "namespaces")
            self.namespaces.append(name)
        self._secrets(spec["secrets"])
        self._storage_classes()
        with controllers.binding_deferred(self.cluster):
            for index in range(spec["persistent_volumes"]):
                self._volume(index)
        for index in range(spec["pods"]):
            self._pod(index)

    # ------------------------------------------------------------------ secrets
    def _account(self, index) -> dict:
        accounts = self.seeder.accounts
        if accounts:
            return accounts[index % len(accounts)]
        name = f"{self.prefix}ext{index % 97:03d}"  # an account outside this subscription
        return {"name": name, "group": f"{self.prefix}-rg-00", "key": self.seeder.material(64)}

    def _secrets(self, count) -> None:
        keyed = min(count, max(1, count // 8)) if count else 0
        for index in range(count):
            namespace = self.namespaces[index % len(self.namespaces)]
            if index < keyed:
                self._key_secret(index, namespace)
            else:
                self._plain_secret(index, namespace)

    def _key_secret(self, index, namespace) -> None:
        shape, account = self.seeder.pick(KEY_SECRET_SHAPES, index, "key_secret"), self._account(index)
        data = {ACCOUNT_NAME_KEY: account["name"]}
        if shape in ("blob_key", "files_key"):
            name = SECRET_NAME_TEMPLATE.format(account["name"])
            data[ACCOUNT_KEY_KEY] = self.result.secret(account["key"])
        elif shape == "blob_sas":
            name = f"{account['name']}-sas"
            signature = urllib.parse.quote(self.seeder.material(32), safe="")
            data[SAS_KEY] = self.result.secret(f"sv=2022-11-02&ss=b&srt=co&sp=rl&se=2030-01-01T00:00:00Z&spr=https"
                                               f"&sig={signature}")
        elif shape == "blob_msi":
            name = f"{account['name']}-msi"
            data[MSI_KEY] = self.result.secret(self.seeder.material(32))
        else:
            name = f"{account['name']}-spn"
            value = dict(zip(SPN_KEYS, (self.seeder.guid(), self.seeder.app.tenant_id, self.seeder.material(30))))
            self.result.secret(value[SPN_KEYS[2]])
            data.update(value)
        if self.cluster.get(SECRET, namespace, name) is not None:
            name = f"{name}-{index}"
        obj = self.create(SECRET, namespace, {"metadata": {"name": name}, "type": "Opaque", "stringData": data},
                          "secrets", shape)
        if shape in ("blob_key", "files_key"):
            self.key_secrets["files" if shape == "files_key" else "blob"].append(
                {"namespace": namespace, "name": obj["metadata"]["name"], "account": account})

    def _plain_secret(self, index, namespace) -> None:
        shape, material = self.seeder.pick(PLAIN_SECRET_SHAPES, index, "plain_secret"), self.seeder.material
        if shape == "opaque_config":
            password = self.result.secret(material(24))
            body = {"metadata": {"name": f"app-{index:05d}-db"}, "type": "Opaque", "stringData": {
                "DATABASE_URL": f"postgresql://app@db-{index % 9}.internal:5432/app", "DATABASE_PASSWORD": password}}
        elif shape == "opaque_settings":
            body = {"metadata": {"name": f"app-{index:05d}-settings"}, "stringData": {
                "LOG_LEVEL": "info", "API_TOKEN": self.result.secret(material(32))}}
        elif shape == "tls":
            key = self.result.secret(material(1190))
            body = {"metadata": {"name": f"ingress-{index:05d}-tls"}, "type": "kubernetes.io/tls", "stringData": {
                "tls.crt": f"-----BEGIN CERTIFICATE-----\n{material(760)}\n-----END CERTIFICATE-----\n",
                "tls.key": f"-----BEGIN PRIVATE KEY-----\n{key}\n-----END PRIVATE KEY-----\n"}}
        elif shape == "dockerconfigjson":
            auth = self.result.secret(base64.b64encode(f"pull:{material(24)}".encode()).decode())
            config = {"auths": {f"registry{index % 5}.example.com": {"auth": auth}}}
            body = {"metadata": {"name": f"regcred-{index:05d}"}, "type": "kubernetes.io/dockerconfigjson",
                    "stringData": {".dockerconfigjson": json.dumps(config)}}
        else:
            body = {"metadata": {"name": f"basic-{index:05d}"}, "type": "kubernetes.io/basic-auth",
                    "stringData": {"username": f"svc-{index % 11}", "password": self.result.secret(material(18))}}
        self.create(SECRET, namespace, body, "secrets", shape)

    # ------------------------------------------------------------------ storage classes, volumes, claims
    def _client_id(self, index) -> str:
        identities = self.seeder.identities
        return identities[index % len(identities)]["clientId"] if identities else self.seeder.guid()

    def _key_secret_for(self, family, index) -> dict:
        found = self.key_secrets[family] or self.key_secrets["blob" if family == "files" else "files"]
        if found:
            return found[index % len(found)]
        account = self._account(index)  # no key Secret was seeded: the reference points at the default name
        return {"namespace": self.namespaces[index % len(self.namespaces)], "account": account,
                "name": SECRET_NAME_TEMPLATE.format(account["name"])}

    def _storage_classes(self) -> None:
        blob, files, account = self._key_secret_for("blob", 0), self._key_secret_for("files", 1), self._account(0)
        stage = {"csi.storage.k8s.io/node-stage-secret-name": blob["name"],
                 "csi.storage.k8s.io/node-stage-secret-namespace": blob["namespace"]}
        classes = {
            "blob_token": (BLOB, {"storageAccount": account["name"], "resourceGroup": account["group"],
                                  "containerName": "dynamic", "mountWithWorkloadIdentityToken": "true",
                                  "clientID": self._client_id(0)}),
            "blob_node_stage_secret": (BLOB, {"storageAccount": blob["account"]["name"], **stage}),
            "blob_secret_attributes": (BLOB, {"storageAccount": blob["account"]["name"], "secretName": blob["name"],
                                              "secretNamespace": blob["namespace"]}),
            "files_token": (FILES, {"storageAccount": account["name"], "resourceGroup": account["group"],
                                    "mountWithWorkloadIdentityToken": "true", "clientID": self._client_id(1)}),
            "files_secret": (FILES, {"csi.storage.k8s.io/provisioner-secret-name": files["name"],
                                     "csi.storage.k8s.io/provisioner-secret-namespace": files["namespace"],
                                     "csi.storage.k8s.io/node-stage-secret-name": files["name"],
                                     "csi.storage.k8s.io/node-stage-secret-namespace": files["namespace"]}),
        }
        for shape, (provisioner, parameters) in classes.items():
            name = f"{self.prefix}-{shape.replace('_', '-')}"
            if self.cluster.get(STORAGE_CLASS, None, name) is None:
                self.create(STORAGE_CLASS, None, {"metadata": {"name": name}, "provisioner": provisioner,
                                                  "parameters": parameters, "reclaimPolicy": "Retain",
                                                  "allowVolumeExpansion": True}, "storage_classes", shape)

    def _volume_source(self, shape, index, secret) -> tuple:
        """-> (the PV spec's source part, the claim's namespace)."""
        account = secret["account"] if shape in KEY_PV_SHAPES else self._account(index)
        handle = f"{account['group']}#{account['name']}#data{index % 7}#{index}"
        if shape == "in_tree_azure_file":
            return {"azureFile": {"secretName": secret["name"], "shareName": f"share{index % 5}",
                                  "secretNamespace": secret["namespace"], "readOnly": False}}, secret["namespace"]
        family = KEY_PV_SHAPES.get(shape) or ("files" if shape.startswith("files") else "blob")
        driver = FILES if family == "files" else BLOB
        attributes = ({"shareName": f"share{index % 5}"} if family == "files"
                      else {"containerName": f"data{index % 7}", "protocol": "fuse2"})
        attributes["storageAccount"] = account["name"]
        csi = {"driver": driver, "volumeHandle": handle, "volumeAttributes": attributes}
        if shape.endswith("_token"):
            attributes.update(mountWithWorkloadIdentityToken="true", clientID=self._client_id(index))
            return {"csi": csi}, self.namespaces[index % len(self.namespaces)]
        if shape.endswith("_node_stage_secret"):
            csi["nodeStageSecretRef"] = {"name": secret["name"], "namespace": secret["namespace"]}
        else:
            attributes.update(secretName=secret["name"], secretNamespace=secret["namespace"])
        return {"csi": csi}, secret["namespace"]

    def _volume(self, index) -> None:
        shape = self.seeder.pick(PV_SHAPES, index, "volume")
        secret = self._key_secret_for(KEY_PV_SHAPES.get(shape, "blob"), index)
        source, namespace = self._volume_source(shape, index, secret)
        name, claim = f"{self.prefix}-pv-{index:05d}", f"data-{index:05d}"
        claimed = index % 5 != 4
        spec = {"capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteMany"], "storageClassName": "",
                "persistentVolumeReclaimPolicy": "Retain", **source}
        if claimed:
            spec["claimRef"] = {"namespace": namespace, "name": claim}
        self.create(PV, None, {"metadata": {"name": name}, "spec": spec}, "persistent_volumes", shape)
        if claimed:
            self.create(PVC, namespace, {"metadata": {"name": claim}, "spec": {
                "accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "10Gi"}},
                "storageClassName": "", "volumeName": name}}, "persistent_volume_claims", shape)
            self.claims["key" if shape in KEY_PV_SHAPES else "token"].append((namespace, claim))

    # ------------------------------------------------------------------ pods
    def _pod_volume(self, shape, index) -> tuple:
        """-> (shape made, namespace, the pod's volumes, env of its container); a claim shape without claims of
        its kind becomes a pod without storage."""
        claims = self.claims["key" if shape == "key_claim" else "token"]
        if shape in ("key_claim", "token_claim"):
            if not claims:
                return self._pod_volume("no_storage", index)
            namespace, claim = claims[index % len(claims)]
            return shape, namespace, [{"name": "data", "persistentVolumeClaim": {"claimName": claim}}], []
        secret = self._key_secret_for("files" if shape == "inline_azure_file" else "blob", index)
        if shape == "inline_azure_file":
            return shape, secret["namespace"], [{"name": "data", "azureFile": {
                "secretName": secret["name"], "shareName": f"share{index % 5}", "readOnly": False}}], []
        if shape == "inline_csi_secret":
            return shape, secret["namespace"], [{"name": "data", "csi": {
                "driver": BLOB, "volumeAttributes": {"containerName": "inline", "storageAccount": secret["account"][
                    "name"]}, "nodePublishSecretRef": {"name": secret["name"]}}}], []
        empty = [{"name": "data", "emptyDir": {}}]
        if shape == "env_secret":
            env = [{"name": "STORAGE_KEY", "valueFrom": {"secretKeyRef": {"name": secret["name"],
                                                                          "key": ACCOUNT_KEY_KEY}}}]
            return shape, secret["namespace"], empty, env
        return shape, self.namespaces[index % len(self.namespaces)], empty, []

    def _pod(self, index) -> None:
        shape, namespace, volumes, env = self._pod_volume(self.seeder.pick(POD_SHAPES, index, "pod"), index)
        container = {"name": "app", "image": IMAGE, "command": ["sleep", "infinity"],
                     "volumeMounts": [{"name": "data", "mountPath": "/mnt/data"}]}
        if env:
            container["env"] = env
        self.create(POD, namespace, {"metadata": {"name": f"app-{index:05d}", "labels": {"app": f"app-{index % 13}"}},
                                     "spec": {"containers": [container], "volumes": volumes}}, "pods", shape)


# ---------------------------------------------------------------------- entry point
def seed(app, body: dict) -> dict:
    """Seed what `body` asks for (see the module docstring) and return what was made. Holds the store lock."""
    spec = parse_spec(body)
    with app.store.lock:
        cluster = None
        if spec["cluster"] is not None:
            cluster = app.kube.cluster(spec["cluster"])
            if cluster is None:
                raise ValueError(f"no emulated cluster {spec['cluster']!r} (create the AKS cluster or a standalone "
                                 f"one first)")
            if cluster.namespace_exists(f"{prefix_of(spec['seed'])}-ns-00"):
                raise ValueError(f"seed {spec['seed']} was already seeded here (its namespaces exist): reset the "
                                 f"sandbox or use another seed")
        seeder = Seeder(app, spec)
        seeder.seed_arm()
        if cluster is not None:
            KubeSeeder(seeder, cluster).run()
        app.store.flush()
        return seeder.result.answer(spec, seeder.prefix)
