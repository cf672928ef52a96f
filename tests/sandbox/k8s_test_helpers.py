"""Helpers for the emulated Kubernetes API tests: a cluster with its kubeconfig, the real
`kubernetes` client pointed at it, and raw HTTPS calls for exact status/shape checks."""

import json
import os
import ssl
import urllib.error
import urllib.request

import kubernetes
from kubernetes.dynamic import DynamicClient


class EmulatedCluster:
    def __init__(self, sandbox, tmp_path, cluster_id="standalone-test", **kwargs):
        self.sandbox = sandbox
        self.kubeconfig = str(tmp_path / "kubeconfig")
        self.info = sandbox.add_kube_cluster(cluster_id, kubeconfig_path=self.kubeconfig, **kwargs)
        self.server, self.token = self.info["server"], self.info["token"]
        self._ssl = ssl.create_default_context(cafile=self.info["ca_file"])
        self.api_client = kubernetes.config.new_client_from_config(config_file=self.kubeconfig)
        # Own discovery cache file: a shared temp-dir cache could hold another cluster's kinds.
        self.dyn = DynamicClient(self.api_client, cache_file=str(tmp_path / "discovery-cache.json"))
        self.core = kubernetes.client.CoreV1Api(self.api_client)

    def resource(self, api_version, kind):
        return self.dyn.resources.get(api_version=api_version, kind=kind)

    def raw(self, method, path, body=None, content_type="application/json", token=None, accept=None):
        """-> (status, headers, parsed JSON or text)."""
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {"Authorization": f"Bearer {self.token if token is None else token}"}
        if data is not None:
            headers["Content-Type"] = content_type
        if accept:
            headers["Accept"] = accept
        request = urllib.request.Request(self.server + path, data=data, method=method, headers=headers)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                             urllib.request.HTTPSHandler(context=self._ssl))
        try:
            with opener.open(request, timeout=15) as response:
                status, headers, payload = response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as exc:
            status, headers, payload = exc.code, dict(exc.headers), exc.read()
        try:
            return status, headers, json.loads(payload) if payload else None
        except ValueError:
            return status, headers, payload.decode("utf-8", "replace")


def ansible_env(cluster, tmp_path) -> dict:
    """Environment for an ansible-playbook run against `cluster`, with a private temp dir (kubernetes.core
    caches discovery there as k8srcp-*.json, keyed by host only) and the venv's python for modules."""
    import sys
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir(exist_ok=True)
    env = dict(os.environ)
    env.update({"K8S_AUTH_KUBECONFIG": cluster.kubeconfig, "TMPDIR": str(tmpdir),
                "ANSIBLE_PYTHON_INTERPRETER": sys.executable, "ANSIBLE_LOCAL_TEMP": str(tmpdir / "ansible-local"),
                "ANSIBLE_REMOTE_TEMP": str(tmpdir / "ansible-remote"), "ANSIBLE_NOCOLOR": "1",
                "ANSIBLE_LOCALHOST_WARNING": "0", "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
                "ANSIBLE_PIPELINING": "1"})
    return env


# What upstream blob-csi-driver chart 1.27.9 renders with default values (charts/v1.27.9), kind and name.
OBJECTS_1_27_9 = {
    ("CSIDriver", "blob.csi.azure.com"),
    ("Deployment", "csi-blob-controller"),
    ("DaemonSet", "csi-blob-node"),
    ("ServiceAccount", "csi-blob-controller-sa"),
    ("ServiceAccount", "csi-blob-node-sa"),
    ("ClusterRole", "blob-external-provisioner-role"),
    ("ClusterRole", "blob-external-resizer-role"),
    ("ClusterRole", "csi-blob-controller-secret-role"),
    ("ClusterRole", "csi-blob-node-secret-role"),
    ("ClusterRoleBinding", "blob-csi-provisioner-binding"),
    ("ClusterRoleBinding", "blob-csi-resizer-role"),
    ("ClusterRoleBinding", "csi-blob-controller-secret-binding"),
    ("ClusterRoleBinding", "csi-blob-node-secret-binding"),
}
