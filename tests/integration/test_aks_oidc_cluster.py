"""keyless.aks_storage.aks_oidc_cluster and the oidc_cluster role against the sandbox (ARM + Kubernetes API)."""

import os
import stat
import subprocess

import pytest
import yaml

from .playbook import run_playbook
from . import sdk

CLUSTER_TYPE = "Microsoft.ContainerService/managedClusters"
RG = "rg-aks"


def aks_task(register="out", **options):
    args = {"resource_group": RG, "name": "aks-dev"}
    args.update(options)
    return {"name": register, "keyless.aks_storage.aks_oidc_cluster": args, "register": register}


def live(sandbox, name="aks-dev"):
    return sdk.containerservice_client(sandbox.conn).managed_clusters.get(RG, name).as_dict()["properties"]


@pytest.fixture
def legacy_cluster(sandbox):
    """A cluster without OIDC or workload identity, with the AKS-managed blob driver on."""
    sdk.create_resource_group(sandbox.conn, RG)
    return sdk.create_cluster(sandbox.conn, RG, "aks-dev", blob_driver=True)


def test_existing_cluster_is_converged_then_no_op(sandbox, legacy_cluster, tmp_path):
    env = sandbox.env()
    kubeconfig = tmp_path / "kube" / "aks-dev.yaml"
    run = run_playbook(tmp_path, [aks_task(kubeconfig_path=str(kubeconfig))], env, diff=True)
    assert run.rc == 0, run
    out = run.result("out")
    assert out["changed"] is True
    assert sorted(out["changes"]) == ["kubeconfig", "managed_blob_driver", "oidc_issuer", "workload_identity"]
    assert out["diff"]["before"] == {"oidc_issuer": False, "workload_identity": False, "managed_blob_driver": True}
    assert out["diff"]["after"] == {"oidc_issuer": True, "workload_identity": True, "managed_blob_driver": False}
    props = live(sandbox)
    assert props["oidcIssuerProfile"]["enabled"] and props["securityProfile"]["workloadIdentity"]["enabled"]
    assert props["storageProfile"]["blobCSIDriver"]["enabled"] is False
    assert out["oidc_issuer_url"] == props["oidcIssuerProfile"]["issuerURL"]
    assert out["oidc_issuer_url"].endswith("/")
    assert out["provisioning_state"] == "Succeeded"
    assert out["node_resource_group"] and out["kubelet_identity"]["client_id"] and out["fqdn"]
    assert stat.S_IMODE(os.stat(kubeconfig).st_mode) == 0o600
    assert yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]["server"].startswith("https://127.0.0.1:")

    before = sandbox.counters()
    run = run_playbook(tmp_path, [aks_task(kubeconfig_path=str(kubeconfig))], env)
    assert run.result("out")["changed"] is False, run
    delta = sandbox.counters_delta(before)
    assert delta["writes"] == 0
    assert delta["by_type"][CLUSTER_TYPE]["reads"] == 1  # the cluster; the kubeconfig on disk is still this one's

    # kubeconfig_refresh fetches the credentials again; identical content is not rewritten
    before = sandbox.counters()
    run = run_playbook(tmp_path, [aks_task(kubeconfig_path=str(kubeconfig), kubeconfig_refresh=True)], env)
    assert run.result("out")["changed"] is False, run
    assert sandbox.counters_delta(before)["by_type"][CLUSTER_TYPE]["reads"] == 2

    # a recreated cluster has a new API server FQDN: the file no longer names it, so it is refreshed
    sandbox.merge_resource(legacy_cluster.id, {"properties": {"fqdn": "aks-dev-recreated.hcp.westeurope.azmk8s.io"}})
    run = run_playbook(tmp_path, [aks_task(kubeconfig_path=str(kubeconfig))], env)
    assert run.result("out")["changes"] == ["kubeconfig"], run
    assert kubeconfig.read_text().splitlines()[0].endswith(" aks-dev-recreated.hcp.westeurope.azmk8s.io")
    # a file someone else wrote at the path (no marker) is replaced too
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    kubeconfig.chmod(0o600)
    run = run_playbook(tmp_path, [aks_task(kubeconfig_path=str(kubeconfig))], env)
    assert run.result("out")["changes"] == ["kubeconfig"], run
    assert yaml.safe_load(kubeconfig.read_text())["clusters"]


def test_only_the_blob_driver_is_turned_off(sandbox, tmp_path):
    sdk.create_resource_group(sandbox.conn, RG)
    sdk.create_cluster(sandbox.conn, RG, "aks-dev", oidc=True, workload_identity=True, blob_driver=True)
    issuer = live(sandbox)["oidcIssuerProfile"]["issuerURL"]
    run = run_playbook(tmp_path, [aks_task()], sandbox.env())
    assert run.result("out")["changes"] == ["managed_blob_driver"], run
    assert live(sandbox)["storageProfile"]["blobCSIDriver"]["enabled"] is False
    assert live(sandbox)["oidcIssuerProfile"]["issuerURL"] == issuer  # stable for the cluster's life


def test_check_mode_makes_no_write(sandbox, legacy_cluster, tmp_path):
    before = sandbox.counters()
    kubeconfig = tmp_path / "never.yaml"
    run = run_playbook(tmp_path, [aks_task(kubeconfig_path=str(kubeconfig)),
                                  aks_task(register="new", name="aks-new", create=True, location="westeurope")],
                       sandbox.env(), check=True, diff=True)
    assert run.rc == 0, run
    assert run.result("out")["changed"] is True and run.result("new")["changed"] is True
    assert sandbox.counters_delta(before)["writes"] == 0
    assert not kubeconfig.exists()
    assert live(sandbox)["oidcIssuerProfile"]["enabled"] is False


def test_create_new_cluster_and_use_its_kubeconfig(sandbox, tmp_path):
    sdk.create_resource_group(sandbox.conn, RG)
    kubeconfig = tmp_path / "aks-new.yaml"
    run = run_playbook(tmp_path, [aks_task(name="aks-new", create=True, location="westeurope", node_count=2,
                                           kubeconfig_path=str(kubeconfig))], sandbox.env())
    assert run.rc == 0, run
    out = run.result("out")
    assert out["changes"][0] == "created" and out["workload_identity_enabled"] is True
    assert out["managed_blob_driver_enabled"] is False and out["oidc_issuer_url"].endswith("/")

    # the kubeconfig works with kubernetes.core
    run = run_playbook(tmp_path, [{"name": "ns", "register": "ns", "kubernetes.core.k8s_info": {
        "kind": "Namespace", "kubeconfig": str(kubeconfig)}}], dict(sandbox.env(), TMPDIR=str(tmp_path)))
    assert run.rc == 0, run
    names = {ns["metadata"]["name"] for ns in run.result("ns")["resources"]}
    assert {"default", "kube-system"} <= names


def test_kubectl_reads_the_written_kubeconfig(sandbox, tmp_path):
    from sandbox import tools
    kubectl = tools.kube_tools()["kubectl"]
    sdk.create_resource_group(sandbox.conn, RG)
    kubeconfig = tmp_path / "aks-new.yaml"
    run = run_playbook(tmp_path, [aks_task(name="aks-new", create=True, location="westeurope",
                                           kubeconfig_path=str(kubeconfig))], sandbox.env())
    assert run.rc == 0, run
    proc = subprocess.run([kubectl, "--kubeconfig", str(kubeconfig), "get", "ns", "-o", "name"], capture_output=True,
                          text=True, timeout=60, check=False, env=dict(os.environ, **sandbox.env()))
    assert proc.returncode == 0, proc.stderr
    assert "namespace/kube-system" in proc.stdout.split()


def test_clear_errors_before_any_write(sandbox, legacy_cluster, tmp_path):
    sdk.create_resource_group(sandbox.conn, RG)
    sdk.create_cluster(sandbox.conn, RG, "aks-old", kubernetes_version="1.21.9")
    sdk.create_cluster(sandbox.conn, RG, "aks-oidc", oidc=True, workload_identity=True)
    before = sandbox.counters()
    cases = [
        (aks_task(name="aks-old"), "too old for workload identity"),
        (aks_task(name="aks-oidc", oidc_issuer=False, workload_identity=False), "cannot disable it"),
        (aks_task(name="aks-missing"), "set create: true"),
        (aks_task(workload_identity=True, oidc_issuer=False), "workload_identity needs oidc_issuer"),
        (aks_task(name="aks-x", create=True, location="westeurope", kubernetes_version="1.20.1"), "too old"),
        (aks_task(state="absent"), "without force: true"),
    ]
    for task, message in cases:
        run = run_playbook(tmp_path, [task], sandbox.env())
        assert run.rc != 0, task
        assert message in run.result("out")["msg"], (message, run)
    assert sandbox.counters_delta(before)["writes"] == 0


def test_failed_cluster_is_refused_unless_reconcile_failed(sandbox, legacy_cluster, tmp_path):
    sandbox.merge_resource(legacy_cluster.id, {"properties": {"provisioningState": "Failed"}})
    run = run_playbook(tmp_path, [aks_task()], sandbox.env())
    assert run.rc != 0 and "provisioning state Failed" in run.result("out")["msg"], run
    run = run_playbook(tmp_path, [aks_task(reconcile_failed=True)], sandbox.env())
    assert run.rc == 0, run
    assert live(sandbox)["provisioningState"] == "Succeeded"


def test_reconcile_failed_sends_the_reconcile_even_when_the_features_match(sandbox, legacy_cluster, tmp_path):
    """A cluster whose features are already as asked but whose last operation failed is reconciled by a PUT."""
    assert run_playbook(tmp_path, [aks_task()], sandbox.env()).rc == 0  # features converged
    sandbox.merge_resource(legacy_cluster.id, {"properties": {"provisioningState": "Failed"}})
    before = sandbox.counters()
    run = run_playbook(tmp_path, [aks_task(reconcile_failed=True)], sandbox.env())
    assert run.rc == 0 and run.result("out")["changes"] == ["reconcile"], run
    assert sandbox.counters_delta(before)["by_type"][CLUSTER_TYPE]["writes"] == 1
    assert live(sandbox)["provisioningState"] == "Succeeded"
    run = run_playbook(tmp_path, [aks_task(reconcile_failed=True)], sandbox.env())
    assert run.rc == 0 and run.result("out")["changed"] is False  # settled: no more PUTs


def test_delete_with_force(sandbox, legacy_cluster, tmp_path):
    run = run_playbook(tmp_path, [aks_task(state="absent", force=True)], sandbox.env())
    assert run.result("out")["changed"] is True, run
    run = run_playbook(tmp_path, [aks_task(state="absent", force=True)], sandbox.env())
    assert run.result("out")["changed"] is False, run


def test_oidc_cluster_role_exports_facts(sandbox, legacy_cluster, tmp_path):
    kubeconfig = tmp_path / "role.yaml"
    tasks = [
        {"name": "role", "ansible.builtin.include_role": {"name": "keyless.aks_storage.oidc_cluster"},
         "vars": {"oidc_cluster_resource_group": RG, "oidc_cluster_name": "aks-dev",
                  "oidc_cluster_kubeconfig_path": str(kubeconfig)}},
        {"name": "facts", "ansible.builtin.debug": {"msg": {"issuer": "{{ keyless_oidc_issuer_url }}",
                                                            "kubeconfig": "{{ keyless_kubeconfig }}"}}},
    ]
    run = run_playbook(tmp_path, tasks, sandbox.env())
    assert run.rc == 0, run
    facts = run.result("facts")["msg"]
    assert facts["issuer"] == live(sandbox)["oidcIssuerProfile"]["issuerURL"]
    assert facts["kubeconfig"] == str(kubeconfig) and kubeconfig.exists()
    # re-run: no change
    run = run_playbook(tmp_path, tasks, sandbox.env())
    assert run.rc == 0 and run.stats["changed"] == 0, run


def test_oidc_cluster_role_in_check_mode_on_a_legacy_cluster(sandbox, legacy_cluster, tmp_path):
    """--check on a cluster that still needs OIDC and workload identity: reports the change, writes nothing."""
    tasks = [
        {"name": "role", "ansible.builtin.include_role": {"name": "keyless.aks_storage.oidc_cluster"},
         "vars": {"oidc_cluster_resource_group": RG, "oidc_cluster_name": "aks-dev",
                  "oidc_cluster_kubeconfig_path": str(tmp_path / "check.yaml")}},
        {"name": "facts", "ansible.builtin.debug": {"msg": "{{ keyless_oidc_issuer_url is none }}"}},
    ]
    before = sandbox.counters()
    run = run_playbook(tmp_path, tasks, sandbox.env(), check=True)
    assert run.rc == 0, run
    assert run.stats["changed"] >= 1
    assert run.result("facts")["msg"] is True  # no issuer yet: the federation stage will skip
    assert sandbox.counters_delta(before)["writes"] == 0
    assert not live(sandbox)["oidcIssuerProfile"].get("enabled")


def test_oidc_cluster_role_rejects_bad_input(sandbox, tmp_path):
    tasks = [{"name": "role", "ansible.builtin.include_role": {"name": "keyless.aks_storage.oidc_cluster"},
              "vars": {"oidc_cluster_resource_group": RG, "oidc_cluster_name": "aks-dev",
                       "oidc_cluster_blob_driver": "sideways"}}]
    run = run_playbook(tmp_path, tasks, sandbox.env())
    assert run.rc != 0
    assert "oidc_cluster_blob_driver" in run.stdout


def test_create_with_user_assigned_control_plane_identity(sandbox, tmp_path):
    sdk.create_resource_group(sandbox.conn, RG)
    control_plane = sdk.create_identity(sandbox.conn, RG, "id-aks-control-plane")
    run = run_playbook(tmp_path, [aks_task(name="aks-uai", create=True, location="westeurope",
                                           user_assigned_identity=control_plane.id, kubernetes_version="1.33")],
                       sandbox.env())
    assert run.rc == 0, run
    cluster = sdk.containerservice_client(sandbox.conn).managed_clusters.get(RG, "aks-uai").as_dict()
    assert cluster["identity"]["type"] == "UserAssigned"
    assert [k.lower() for k in cluster["identity"]["userAssignedIdentities"]] == [control_plane.id.lower()]
    assert cluster["properties"]["oidcIssuerProfile"]["enabled"] is True


def test_a_create_that_timed_out_is_waited_for_by_the_next_run(sandbox, tmp_path):
    """The first run gives up waiting (the operation goes on in Azure); a plain re-run finds the cluster still
    Creating, waits for it (bounded by wait_timeout) instead of failing or writing again, and converges."""
    sdk.create_resource_group(sandbox.conn, RG)
    # the create needs more polls than one second allows; Azure finishes it on its own a few seconds later
    sandbox.configure(lro_polls=100000, lro_max_seconds=5)
    task = aks_task(name="aks-slow", create=True, location="westeurope", wait_timeout=1)
    run = run_playbook(tmp_path, [task], sandbox.env())
    assert run.rc != 0 and "Timed out after 1s waiting to create cluster aks-slow" in run.result("out")["msg"], run
    assert run.result("out")["changed"] is True  # the create was sent: something was written
    before = sandbox.counters()
    del task["keyless.aks_storage.aks_oidc_cluster"]["wait_timeout"]
    run = run_playbook(tmp_path, [task], sandbox.env())
    assert run.rc == 0, run
    out = run.result("out")
    assert out["changed"] is False and out["provisioning_state"] == "Succeeded" and out["oidc_issuer_url"]
    assert sandbox.counters_delta(before)["by_type"][CLUSTER_TYPE]["writes"] == 0


@pytest.mark.parametrize("breakage", ["token", "ca"])
def test_a_kubeconfig_the_api_server_refuses_is_fetched_again(sandbox, legacy_cluster, tmp_path, breakage):
    """The marker still names this cluster, but the file no longer works (rotated credentials: 401; a new cluster
    CA: TLS fails): one authenticated discovery read finds out, and the credentials are fetched again."""
    kubeconfig = tmp_path / "kube" / "aks-dev.yaml"
    assert run_playbook(tmp_path, [aks_task(kubeconfig_path=str(kubeconfig))], sandbox.env()).rc == 0
    marker, body = kubeconfig.read_text().split("\n", 1)
    config = yaml.safe_load(body)
    if breakage == "token":
        config["users"][0]["user"]["token"] = "rotated-away"
    else:
        import base64
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        import datetime
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "other-ca")])
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .sign(key, hashes.SHA256()))
        pem = cert.public_bytes(serialization.Encoding.PEM)
        config["clusters"][0]["cluster"]["certificate-authority-data"] = base64.b64encode(pem).decode()
    kubeconfig.write_text(marker + "\n" + yaml.safe_dump(config))
    kubeconfig.chmod(0o600)
    run = run_playbook(tmp_path, [aks_task(kubeconfig_path=str(kubeconfig))], sandbox.env())
    assert run.rc == 0 and run.result("out")["changes"] == ["kubeconfig"], run
    assert yaml.safe_load(kubeconfig.read_text().split("\n", 1)[1]) != config
    run = run_playbook(tmp_path, [aks_task(kubeconfig_path=str(kubeconfig))], sandbox.env())
    assert run.result("out")["changed"] is False  # accepted again: no credential read


def test_a_cluster_recreated_under_the_same_name_gets_a_new_kubeconfig(sandbox, tmp_path):
    """Deleted and created again: same ARM ID and API server FQDN, new credentials. The kubeconfig marker carries
    the cluster's resourceUID, so the file of the old incarnation is not taken for this one's."""
    sdk.create_resource_group(sandbox.conn, RG)
    kubeconfig = tmp_path / "kube" / "aks-dev.yaml"
    task = aks_task(create=True, location="westeurope", kubeconfig_path=str(kubeconfig))
    assert run_playbook(tmp_path, [task], sandbox.env()).rc == 0
    first = kubeconfig.read_text()
    clusters = sdk.containerservice_client(sandbox.conn).managed_clusters
    clusters.begin_delete(RG, "aks-dev").result()
    run = run_playbook(tmp_path, [task], sandbox.env())
    assert run.rc == 0 and run.result("out")["changes"] == ["created", "kubeconfig"], run
    second = kubeconfig.read_text()
    assert second.splitlines()[0] != first.splitlines()[0]
    stored = next(r for r in sandbox.state()["resources"] if r["id"].lower().endswith("/managedclusters/aks-dev"))
    assert second.splitlines()[0].split()[3] == stored["properties"]["resourceUID"]
    assert yaml.safe_load(second)["users"] != yaml.safe_load(first)["users"]  # the new cluster's credentials
