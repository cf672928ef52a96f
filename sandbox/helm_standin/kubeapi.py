"""A minimal Kubernetes API client for the stand-in: server, bearer token and CA from the kubeconfig
(`--kubeconfig`, KUBECONFIG, ~/.kube/config) or Helm's HELM_KUBE* overrides. TLS is always verified, and only
loopback servers (the sandbox's emulated clusters) are contacted."""

import base64
import ipaddress
import json
import os
import ssl
import urllib.error
import urllib.parse
import urllib.request

import yaml

TIMEOUT = 30


class KubeError(Exception):
    def __init__(self, status, message, reason=""):
        super().__init__(message)
        self.status, self.reason = status, reason


def _load_kubeconfig(path):
    try:
        with open(os.path.expanduser(path), encoding="utf-8") as handle:
            return yaml.safe_load(handle) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise KubeError(0, f"Kubernetes cluster unreachable: cannot read kubeconfig {path}: {exc}")


def _named(items, name):
    return next((item.get(key) for item in items or [] for key in ("cluster", "user", "context")
                 if item.get("name") == name and key in item), None) or {}


class KubeApi:
    def __init__(self, args):
        env = os.environ
        path = args.value("--kubeconfig") or (env.get("KUBECONFIG") or "~/.kube/config").split(os.pathsep)[0]
        config = _load_kubeconfig(path)
        context_name = args.value("--kube-context") or env.get("HELM_KUBECONTEXT") or config.get("current-context")
        context = _named(config.get("contexts"), context_name)
        cluster = _named(config.get("clusters"), context.get("cluster"))
        user = _named(config.get("users"), context.get("user"))
        self.server = (args.value("--kube-apiserver") or env.get("HELM_KUBEAPISERVER") or cluster.get("server") or "")
        self.token = args.value("--kube-token") or env.get("HELM_KUBETOKEN") or user.get("token")
        if not self.token and user.get("tokenFile"):
            with open(user["tokenFile"], encoding="utf-8") as handle:
                self.token = handle.read().strip()
        if (args.on("--kube-insecure-skip-tls-verify") or cluster.get("insecure-skip-tls-verify")
                or env.get("HELM_KUBEINSECURE_SKIP_TLS_VERIFY", "").lower() == "true"):
            raise KubeError(0, "the sandbox helm stand-in never disables TLS verification")
        self._check_loopback()
        self.context = self._tls_context(args.value("--kube-ca-file") or env.get("HELM_KUBECAFILE"), cluster)
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),  # loopback: never via a proxy
                                                  urllib.request.HTTPSHandler(context=self.context))
        self._resources = {}

    def _check_loopback(self):
        parsed = urllib.parse.urlsplit(self.server)
        try:
            loopback = parsed.scheme == "https" and ipaddress.ip_address(parsed.hostname or "").is_loopback
        except ValueError:
            loopback = parsed.hostname == "localhost" and parsed.scheme == "https"
        if not loopback:
            raise KubeError(0, f"Kubernetes cluster unreachable: the sandbox helm stand-in only talks to emulated "
                               f"clusters on https://127.0.0.1, not {self.server or '(no server in kubeconfig)'}")
        if not self.token:
            raise KubeError(0, "Kubernetes cluster unreachable: the kubeconfig has no bearer token")

    @staticmethod
    def _tls_context(ca_file, cluster):
        if ca_file:
            return ssl.create_default_context(cafile=ca_file)
        if cluster.get("certificate-authority-data"):
            pem = base64.b64decode(cluster["certificate-authority-data"]).decode()
            return ssl.create_default_context(cadata=pem)
        if cluster.get("certificate-authority"):
            return ssl.create_default_context(cafile=cluster["certificate-authority"])
        return ssl.create_default_context()

    # ------------------------------------------------------------------ HTTP
    def call(self, method, path, body=None, query=None, content_type="application/json"):
        url = self.server.rstrip("/") + path + (("?" + urllib.parse.urlencode(query)) if query else "")
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json",
                   "User-Agent": "helm-standin/keyless-sandbox"}
        if data is not None:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with self.opener.open(request, timeout=TIMEOUT) as response:
                payload = response.read()
        except urllib.error.HTTPError as exc:
            payload = exc.read()
            try:
                status = json.loads(payload)
            except ValueError:
                status = {"message": payload.decode("utf-8", "replace")}
            raise KubeError(exc.code, status.get("message") or str(exc), status.get("reason", ""))
        except (urllib.error.URLError, OSError) as exc:
            raise KubeError(0, f"Kubernetes cluster unreachable: {exc}")
        return json.loads(payload) if payload else None

    def get(self, path, query=None):
        try:
            return self.call("GET", path, query=query)
        except KubeError as exc:
            if exc.status == 404:
                return None
            raise

    # ------------------------------------------------------------------ objects
    def resource(self, api_version, kind):
        """(plural, namespaced) of a kind, from the API's discovery documents."""
        if api_version not in self._resources:
            base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
            listing = self.get(base) or {}
            self._resources[api_version] = {r["kind"]: (r["name"], r.get("namespaced", False))
                                            for r in listing.get("resources", []) if "/" not in r["name"]}
        found = self._resources[api_version].get(kind)
        if found is None:
            raise KubeError(0, f'resource mapping not found for kind "{kind}" in version "{api_version}"')
        return found

    def object_path(self, obj, namespace=None, with_name=True):
        api_version, kind = obj["apiVersion"], obj["kind"]
        plural, namespaced = self.resource(api_version, kind)
        base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        ns = (obj.get("metadata") or {}).get("namespace") or namespace
        prefix = f"{base}/namespaces/{ns}/{plural}" if namespaced else f"{base}/{plural}"
        return prefix + (f"/{obj['metadata']['name']}" if with_name else "")

    def version(self) -> str:
        info = self.get("/version") or {}
        return info.get("gitVersion", "")
