"""playbooks/audit.yml and keyless_audit_info against the sandbox: the converged demo chain (nothing of the chain is
reported), then an estate that still uses keys in every way the audit reports, built next to it with the real SDKs
and the real Kubernetes client: reported exactly, with no Secret value in any output or file, and with 0 writes."""

import base64
import html.parser
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

from . import doctor_chain, sdk
from .playbook import ansible_env

REPO = Path(__file__).resolve().parents[2]
AUDIT_TASK = "Keyless audit (read-only)"
LEGACY_NS, LEGACY_RG, LEGACY_CLUSTER_RG = "legacy", "rg-legacy", "rg-aks-legacy"
KEY_OPERATOR = "81a9662b-bebf-436f-a333-f67b29880f12"  # Storage Account Key Operator Service Role


def run_audit(chain, report_dir, *extra, json_output=True):
    before = chain.sandbox.counters()
    proc = doctor_chain.playbook(chain.sandbox, chain.workdir, "audit.yml", "-e", "audit_report_dir=%s" % report_dir,
                                 *extra, json_output=json_output)
    return proc, chain.sandbox.counters_delta(before)


def audit_result(proc):
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    data = json.loads(proc.stdout)
    tasks = {t["task"]["name"]: t["hosts"] for play in data["plays"] for t in play["tasks"]}
    return tasks[AUDIT_TASK]["localhost"]


def keys(result):
    """The findings as (type, severity, last segment of the resource id)."""
    return sorted((f["type"], f["severity"], f["resource_id"].rsplit("/", 1)[-1]) for f in result["findings"])


def assert_read_only(counters):
    kube = counters.get("kubernetes") or {}
    assert (counters["writes"], kube.get("writes", 0), counters["list_keys"]) == (0, 0, 0), counters


def test_the_demo_chain_has_no_finding_and_the_audit_writes_nothing(chain, tmp_path):
    proc, counters = run_audit(chain, tmp_path)
    result = audit_result(proc)
    assert_read_only(counters)
    chain_names = ("stkeylesssandbox01", "reports", "archive", "scratch", "docs", "blob-keyless", "id-")
    assert [f for f in result["findings"] if any(n in f["resource_id"] for n in chain_names)] == []
    assert keys(result) == DEMO_FINDINGS, result["findings"]
    cluster = result["coverage"]["clusters"][0]
    assert cluster["name"] == doctor_chain.HOST and cluster["kubernetes"] is True
    assert cluster["persistent_volumes"] >= 4 and cluster["pods"] > 0
    # five ARM listings of one page each, five Kubernetes lists of one page each
    assert result["requests"] == {"azure": 5, "kubernetes": 5}
    assert sorted(os.listdir(tmp_path)) == ["keyless-audit.html", "keyless-audit.json", "keyless-audit.md"]


DEMO_FINDINGS = []


# ---- the estate that still uses keys ---------------------------------------------------------------------------------
def random_key():
    return base64.b64encode(secrets.token_bytes(64)).decode()


class Legacy:
    """What the seeded estate holds, and the values no output may show."""

    def __init__(self):
        self.values = []

    def secret_data(self, **fields):
        # an account name is no secret (ARM lists it): its encoded form in the Secret is the value no output shows
        self.values += [v for k, v in fields.items() if k != "azurestorageaccountname"]
        data = {k: base64.b64encode(v.encode()).decode() for k, v in fields.items()}
        self.values += list(data.values())
        return data


def seed_arm(chain):
    conn, sub = chain.sandbox.conn, chain.sub
    sdk.create_resource_group(conn, LEGACY_RG)
    storage = chain.storage
    for name, shared_key in (("stlegacyopen", True), ("stlegacyunset", None)):
        props = {"allowBlobPublicAccess": False}
        if shared_key is not None:
            props["allowSharedKeyAccess"] = shared_key
        storage.storage_accounts.begin_create(LEGACY_RG, name, {
            "location": "westeurope", "sku": {"name": "Standard_LRS"}, "kind": "StorageV2",
            "properties": props}).result()
    sdk.create_resource_group(conn, LEGACY_CLUSTER_RG)
    cluster = sdk.create_cluster(conn, LEGACY_CLUSTER_RG, "aks-legacy", blob_driver=True)
    node_group = "MC_%s_aks-legacy_westeurope" % LEGACY_CLUSTER_RG
    storage.storage_accounts.begin_create(node_group, "fuselegacy01", {
        "location": "westeurope", "sku": {"name": "Standard_LRS"}, "kind": "StorageV2",
        "properties": {"allowSharedKeyAccess": True}}).result()
    operator = sdk.create_identity(conn, LEGACY_RG, "id-legacy-operator")
    account_scope = "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Storage/storageAccounts/stlegacyopen" % (
        sub, LEGACY_RG)
    chain.auth.role_assignments.create(account_scope, "11111111-aaaa-4aaa-8aaa-000000000001", {
        "role_definition_id": "/subscriptions/%s/providers/Microsoft.Authorization/roleDefinitions/%s" % (
            sub, KEY_OPERATOR), "principal_id": operator.principal_id, "principal_type": "ServicePrincipal"})
    custom = "22222222-bbbb-4bbb-8bbb-000000000002"
    sub_scope = "/subscriptions/%s" % sub
    chain.auth.role_definitions.create_or_update(sub_scope, custom, {
        "role_name": "Legacy Storage Operator", "description": "storage, all of it", "role_type": "CustomRole",
        "permissions": [{"actions": ["Microsoft.Storage/*"], "not_actions": []}], "assignable_scopes": [sub_scope]})
    keyless_group = "%s/resourceGroups/%s" % (sub_scope, doctor_chain.STORAGE_RG)
    chain.auth.role_assignments.create(keyless_group, "11111111-aaaa-4aaa-8aaa-000000000002", {
        "role_definition_id": "%s/providers/Microsoft.Authorization/roleDefinitions/%s" % (sub_scope, custom),
        "principal_id": operator.principal_id, "principal_type": "ServicePrincipal"})
    return cluster


def seed_kubernetes(chain, legacy):
    core, storage = chain.core, chain.storage_k8s
    core.create_namespace({"metadata": {"name": LEGACY_NS}})
    core.create_namespaced_secret(LEGACY_NS, {"metadata": {"name": "azure-storage-account-stlegacyopen-secret"},
                                              "type": "Opaque", "data": legacy.secret_data(
                                                  azurestorageaccountname="stlegacyopen",
                                                  azurestorageaccountkey=random_key())})
    core.create_namespaced_secret(LEGACY_NS, {"metadata": {"name": "sas-token"}, "type": "Opaque",
                                              "data": legacy.secret_data(azurestorageaccountsastoken="sv=2022-11-02&"
                                                                         "ss=b&srt=co&sp=rl&sig=" + random_key())})
    core.create_namespaced_secret(LEGACY_NS, {"metadata": {"name": "app-config"}, "type": "Opaque",
                                              "data": legacy.secret_data(password=random_key())})
    core.create_persistent_volume({"metadata": {"name": "pv-legacy-blob"}, "spec": {
        "capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteMany"], "persistentVolumeReclaimPolicy": "Retain",
        "storageClassName": "", "claimRef": {"namespace": LEGACY_NS, "name": "legacy-blob"},
        "csi": {"driver": "blob.csi.azure.com", "volumeHandle": "rg-legacy#stlegacyopen#data",
                "volumeAttributes": {"containerName": "data"},
                "nodeStageSecretRef": {"name": "azure-storage-account-stlegacyopen-secret",
                                       "namespace": LEGACY_NS}}}})
    core.create_persistent_volume({"metadata": {"name": "pv-legacy-files"}, "spec": {
        "capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteMany"], "persistentVolumeReclaimPolicy": "Retain",
        "storageClassName": "", "csi": {"driver": "file.csi.azure.com", "volumeHandle": "rg-legacy#stlegacyopen#share",
                                        "volumeAttributes": {"shareName": "share", "secretName": "sas-token",
                                                             "secretNamespace": LEGACY_NS}}}})
    core.create_persistent_volume({"metadata": {"name": "pv-legacy-intree"}, "spec": {
        "capacity": {"storage": "5Gi"}, "accessModes": ["ReadWriteMany"], "persistentVolumeReclaimPolicy": "Retain",
        "storageClassName": "", "azureFile": {"secretName": "azure-storage-account-stlegacyopen-secret",
                                              "shareName": "legacy", "secretNamespace": LEGACY_NS}}})
    core.create_namespaced_persistent_volume_claim(LEGACY_NS, {"metadata": {"name": "legacy-blob"}, "spec": {
        "accessModes": ["ReadWriteMany"], "storageClassName": "", "volumeName": "pv-legacy-blob",
        "resources": {"requests": {"storage": "10Gi"}}}})
    storage.create_storage_class({"metadata": {"name": "blob-legacy"}, "provisioner": "blob.csi.azure.com",
                                  "reclaimPolicy": "Retain"})
    container = {"name": "app", "image": "mcr.microsoft.com/azurelinux/base/core:3.0", "command": ["sleep", "3600"]}
    pods = {
        "blob-reader": {"volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "legacy-blob"}}],
                        "containers": [dict(container, volumeMounts=[{"name": "data", "mountPath": "/data"}])]},
        "env-reader": {"containers": [dict(container, env=[{"name": "SAS", "valueFrom": {"secretKeyRef": {
            "name": "sas-token", "key": "azurestorageaccountsastoken"}}}])]},
        "intree-pod": {"volumes": [{"name": "legacy", "azureFile": {
            "secretName": "azure-storage-account-stlegacyopen-secret", "shareName": "legacy"}}],
            "containers": [dict(container, volumeMounts=[{"name": "legacy", "mountPath": "/legacy"}])]},
        "config-reader": {"containers": [dict(container, envFrom=[{"secretRef": {"name": "app-config"}}])]},
    }
    for name, spec in pods.items():
        core.create_namespaced_pod(LEGACY_NS, {"metadata": {"name": name}, "spec": spec})


LEGACY_FINDINGS = [
    ("account_key_secret", "critical", "azure-storage-account-stlegacyopen-secret"),
    ("account_key_secret", "critical", "sas-token"),
    ("cluster_oidc_issuer_off", "high", "aks-legacy"),
    ("cluster_workload_identity_off", "high", "aks-legacy"),
    ("in_tree_azure_file", "high", "intree-pod"),
    ("in_tree_azure_file", "high", "pv-legacy-intree"),
    ("key_consuming_pod", "high", "blob-reader"),
    ("key_consuming_pod", "high", "env-reader"),
    ("key_persistent_volume", "high", "pv-legacy-blob"),
    ("key_persistent_volume", "high", "pv-legacy-files"),
    ("key_storage_class", "high", "blob-legacy"),
    ("list_keys_role_assignment", "high", "11111111-aaaa-4aaa-8aaa-000000000001"),
    ("list_keys_role_assignment", "low", "11111111-aaaa-4aaa-8aaa-000000000002"),
    ("managed_blob_driver", "medium", "aks-legacy"),
    ("shared_key_enabled", "high", "stlegacyopen"),
    ("shared_key_enabled", "high", "stlegacyunset"),
    ("shared_key_enabled_managed", "medium", "fuselegacy01"),
]


class TagParser(html.parser.HTMLParser):
    VOID = {"meta", "br", "hr", "img", "input", "link", "col", "wbr", "area", "base", "source"}

    def __init__(self):
        super().__init__()
        self.stack, self.tags, self.errors, self.text = [], [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append("unexpected </%s> (open: %s)" % (tag, self.stack[-3:]))
            return
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def test_an_estate_that_still_uses_keys_is_reported_exactly_without_a_secret_value(chain, tmp_path):
    legacy = Legacy()
    seed_arm(chain)
    seed_kubernetes(chain, legacy)
    report_dir = tmp_path / "reports"
    proc, counters = run_audit(chain, report_dir)
    result = audit_result(proc)
    assert_read_only(counters)
    assert keys(result) == sorted(DEMO_FINDINGS + LEGACY_FINDINGS), json.dumps(result["findings"], indent=1)[:6000]
    assert result["status"] == "critical"
    assert result["summary"]["by_severity"] == {s: sum(1 for f in LEGACY_FINDINGS + DEMO_FINDINGS if f[1] == s)
                                                for s in ("critical", "high", "medium", "low")}
    by_key = {(f["type"], f["resource_id"].rsplit("/", 1)[-1]): f for f in result["findings"]}
    secret = by_key[("account_key_secret", "azure-storage-account-stlegacyopen-secret")]
    assert secret["evidence"]["keys"] == ["azurestorageaccountkey", "azurestorageaccountname"]
    assert secret["resource_id"] == chain.cluster_id() + (
        "/kubernetes/api/v1/namespaces/legacy/secrets/azure-storage-account-stlegacyopen-secret")
    pod = by_key[("key_consuming_pod", "blob-reader")]
    assert pod["evidence"]["reasons"] == ["claim legacy-blob: volume pv-legacy-blob (mountWithWorkloadIdentityToken "
                                          "is None, not \"true\" (key mode))"]
    assert "sas-token" in by_key[("key_consuming_pod", "env-reader")]["summary"]
    assignment = by_key[("list_keys_role_assignment", "11111111-aaaa-4aaa-8aaa-000000000001")]
    assert assignment["evidence"]["role"] == "Storage Account Key Operator Service Role"
    assert assignment["evidence"]["accounts_allowing_shared_key"] == ["stlegacyopen"]
    custom = by_key[("list_keys_role_assignment", "11111111-aaaa-4aaa-8aaa-000000000002")]
    assert custom["evidence"]["actions"] == ["Microsoft.Storage/*"] and custom["evidence"]["accounts_in_scope"] == 1

    # no value of any seeded Secret in the result, the report files or a -vvv run's output
    outputs = {"result": json.dumps(result), "stdout": proc.stdout, "stderr": proc.stderr}
    for path in sorted(report_dir.iterdir()):
        outputs[path.name] = path.read_text()
    verbose = run_audit(chain, tmp_path / "verbose", "-vvv", json_output=False)[0]
    assert verbose.returncode == 0, verbose.stdout[-3000:]
    assert "keyless_audit_info" in verbose.stdout and "azure-storage-account-stlegacyopen-secret" in verbose.stdout
    outputs.update(vvv_stdout=verbose.stdout, vvv_stderr=verbose.stderr)
    leaks = [(name, value[:12]) for name, text in outputs.items() for value in legacy.values if value in text]
    assert leaks == []

    # the HTML page: well-formed, self-contained, with the charts and one table per finding type
    page = TagParser()
    page.feed((report_dir / "keyless-audit.html").read_text())
    assert page.errors == [] and page.stack == []
    refs = [(tag, k, v) for tag, attrs in page.tags for k, v in attrs.items() if k in ("src", "href")]
    assert all(k == "href" and v.startswith("#") for _tag, k, v in refs), refs
    assert "<script" not in (report_dir / "keyless-audit.html").read_text()
    assert sum(1 for tag, _a in page.tags if tag == "svg") >= 2
    types = {t for t, _s, _n in LEGACY_FINDINGS + DEMO_FINDINGS}
    sections = [a.get("id") for tag, a in page.tags if tag == "section" and a.get("id", "").startswith("type-")]
    assert sorted(sections) == sorted("type-" + t for t in types)
    assert sum(1 for tag, _a in page.tags if tag == "table") >= len(types)
    markdown = (report_dir / "keyless-audit.md").read_text()
    assert markdown.startswith("# keyless.aks_storage audit: %s" % chain.sub)
    assert json.loads((report_dir / "keyless-audit.json").read_text())["findings"] == result["findings"]


def test_fail_on_gates_the_playbook_and_the_module(chain, tmp_path):
    legacy = Legacy()
    seed_kubernetes(chain, legacy)  # a critical finding: a Secret holding a key
    proc = run_audit(chain, tmp_path, "-e", "audit_fail_on=critical", json_output=False)[0]
    assert proc.returncode != 0
    assert "finding(s) at critical or worse" in proc.stdout and "Secret legacy/azure-storage-account-" in proc.stdout
    # the module alone, with no kubeconfig: the cluster's credentials come from ARM (listClusterUserCredential, a
    # read), in memory
    env = ansible_env(dict(chain.sandbox.env(), TMPDIR=str(tmp_path)))
    args = json.dumps({"fail_on": "critical", "clusters": [{"name": doctor_chain.HOST,
                                                            "resource_group": doctor_chain.CLUSTER_RG}]})
    before = chain.sandbox.counters()
    adhoc = subprocess.run([str(Path(sys.executable).parent / "ansible"), "localhost", "-m",
                            "keyless.aks_storage.keyless_audit_info", "-a", args], env=env, capture_output=True,
                           text=True, timeout=600, check=False)
    assert adhoc.returncode != 0 and "2 finding(s) at critical or worse (fail_on=critical)" in adhoc.stdout, (
        adhoc.stdout[-3000:])
    assert_read_only(chain.sandbox.counters_delta(before))
    assert not [v for v in legacy.values if v in adhoc.stdout + adhoc.stderr]
    assert not list(tmp_path.glob("**/kubeconfig*"))  # nothing written to disk
    passing = run_audit(chain, tmp_path / "never", "-e", "audit_fail_on=never", json_output=False)[0]
    assert passing.returncode == 0, passing.stdout[-3000:]


# ---- a seeded estate at scale: what the sandbox's seeding route made, counted by shape -------------------------------
KEY_SECRET_SHAPES = ("blob_key", "blob_sas", "blob_msi", "blob_spn", "files_key")
KEY_PV_SHAPES = ("blob_secret_attributes", "blob_node_stage_secret", "files_secret_attributes",
                 "files_node_stage_secret")
KEY_CLASS_SHAPES = ("blob_node_stage_secret", "blob_secret_attributes", "files_secret")
KEY_POD_SHAPES = ("key_claim", "inline_csi_secret", "env_secret")


def shaped(seeded, kind, shapes):
    return {i for shape in shapes for i in seeded["by_shape"].get(kind, {}).get(shape, [])}


def pages(n, size):
    return max(1, -(-n // size))


def test_a_seeded_estate_is_reported_by_shape_with_requests_that_are_the_listings_pages(chain, tmp_path):
    seeded = chain.sandbox.seed(seed=5, cluster=chain.cluster_id(), storage_accounts=30, role_assignments=60,
                                persistent_volumes=24, secrets=40, pods=18)
    chain.sandbox.configure(page_size=7)
    proc, counters = run_audit(chain, tmp_path, "-e", "audit_kubernetes_page_size=9")
    chain.sandbox.configure(page_size=0)
    result = audit_result(proc)
    assert_read_only(counters)
    found = {}
    for f in result["findings"]:
        found.setdefault(f["type"], set()).add(f["resource_id"])

    def names(kind):
        return {rid.split("/kubernetes/api/v1/", 1)[-1].replace("namespaces/", "").replace("/secrets/", "/")
                .replace("/pods/", "/").replace("persistentvolumes/", "") for rid in found.get(kind, ())}

    accounts = seeded["by_shape"]["storage_accounts"]
    open_accounts = {i.lower() for shape in ("allow_shared_key_true", "allow_shared_key_unset")
                     for i in accounts.get(shape, [])}
    managed = {i.lower() for i in accounts.get("in_managed_group", [])}
    assert {i.lower() for i in found["shared_key_enabled"]} == open_accounts - managed
    assert {i.lower() for i in found.get("shared_key_enabled_managed", ())} == open_accounts & managed
    assert found["list_keys_role_assignment"] == shaped(seeded, "role_assignments", ["lists_keys"])
    assert names("account_key_secret") == shaped(seeded, "secrets", KEY_SECRET_SHAPES)
    pvs = {"key_persistent_volume": shaped(seeded, "persistent_volumes", KEY_PV_SHAPES),
           "in_tree_azure_file": shaped(seeded, "persistent_volumes", ["in_tree_azure_file"])
           | shaped(seeded, "pods", ["inline_azure_file"])}
    assert names("key_persistent_volume") == pvs["key_persistent_volume"]
    assert names("in_tree_azure_file") == pvs["in_tree_azure_file"]
    assert {r.rsplit("/", 1)[-1] for r in found["key_storage_class"]} == shaped(
        seeded, "storage_classes", KEY_CLASS_SHAPES)
    assert names("key_consuming_pod") == shaped(seeded, "pods", KEY_POD_SHAPES)
    # every kind of the mix was seeded (a count reaches each cycle), so none of the comparisons above is vacuous
    assert all(len(found[t]) >= 2 for t in ("shared_key_enabled", "list_keys_role_assignment", "account_key_secret",
                                            "key_persistent_volume", "in_tree_azure_file", "key_storage_class",
                                            "key_consuming_pod")), {t: len(v) for t, v in found.items()}
    assert found["shared_key_enabled_managed"]
    assert set(found) <= {"shared_key_enabled", "shared_key_enabled_managed", "list_keys_role_assignment",
                          "account_key_secret", "key_persistent_volume", "in_tree_azure_file", "key_storage_class",
                          "key_consuming_pod"}

    # requests are the pages of five ARM listings (7 per page) and five Kubernetes lists (9 per page), counted by
    # the module and by the sandbox alike
    cov, cluster = result["coverage"], result["coverage"]["clusters"][0]
    arm_lists = ("storage_accounts", "resource_groups", "aks_clusters", "role_assignments", "role_definitions")
    kube_lists = ("secrets", "persistent_volumes", "persistent_volume_claims", "storage_classes", "pods")
    arm = sum(pages(cov[k], 7) for k in arm_lists)
    kube = sum(pages(cluster[k], 9) for k in kube_lists)
    assert cov["storage_accounts"] == 31 and cov["role_assignments"] >= 60 and cluster["secrets"] >= 40
    assert result["requests"] == {"azure": arm, "kubernetes": kube}
    assert (counters["reads"], counters["kubernetes"]["reads"]) == (arm, kube)
    texts = [proc.stdout] + [p.read_text() for p in tmp_path.iterdir()]
    assert seeded["secret_values"] and not [v for v in seeded["secret_values"] for t in texts if v in t]


def test_a_list_whose_continue_token_expired_is_read_again_whole(chain):
    """The audit's chunked reads (KubeReader.list_pages): the second page's token expired (410, the objects changed
    and their snapshot is gone), so the list is read once more without chunks, as client-go's pager does."""
    from ansible_collections.keyless.aks_storage.plugins.module_utils.kube import KubeReader
    for i in range(5):
        chain.core.create_namespaced_secret("default", {"metadata": {"name": "plain-%d" % i}, "data": {}})
    chain.sandbox.configure(list_snapshots=0)
    reader = KubeReader(str(chain.workdir / "kubeconfig"))
    seen = []

    def keep(item):  # changes the list between its first and second page
        if not seen:
            chain.core.create_namespaced_secret("default", {"metadata": {"name": "plain-late"}, "data": {}})
        seen.append(item["metadata"]["name"])
        return item["metadata"]["name"]

    try:
        names = reader.list_pages("list secrets", "CoreV1Api", "list_secret_for_all_namespaces", keep, limit=2)
    finally:
        chain.sandbox.configure(list_snapshots=8)
    assert "plain-late" in names and len(names) == len(set(names))
    assert reader.reads == 3  # the first page, the expired second page, then the whole list
