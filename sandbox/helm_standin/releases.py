"""Release records stored the way Helm 3 stores them: one Secret per revision, `sh.helm.release.v1.<name>.v<rev>`,
type `helm.sh/release.v1`, labels owner=helm, name, status, version. The `release` payload is this stand-in's own
JSON (Helm's is gzipped protobuf-JSON); only the stand-in reads it back."""

import base64
import json
import time
import urllib.parse

SECRET_TYPE = "helm.sh/release.v1"


def now() -> str:
    """Helm's timestamp format in `helm list`, e.g. 2024-05-01 10:00:00.123456789 +0000 UTC."""
    stamp = time.time()
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(stamp)) + f".{int(stamp % 1 * 1e9):09d} +0000 UTC"


def secret_name(name, revision) -> str:
    return f"sh.helm.release.v1.{name}.v{revision}"


class Releases:
    def __init__(self, kube):
        self.kube = kube

    def _secrets(self, namespace, name=None) -> list:
        selector = "owner=helm" + (f",name={name}" if name else "")
        path = f"/api/v1/namespaces/{urllib.parse.quote(namespace)}/secrets" if namespace else "/api/v1/secrets"
        listing = self.kube.get(path, {"labelSelector": selector}) or {}
        return [s for s in listing.get("items", []) if s.get("type") == SECRET_TYPE]

    @staticmethod
    def _decode(secret) -> dict | None:
        try:
            return json.loads(base64.b64decode(secret["data"]["release"]))
        except (KeyError, ValueError, TypeError):
            return None

    def history(self, name, namespace) -> list:
        records = [r for r in map(self._decode, self._secrets(namespace, name)) if r]
        return sorted(records, key=lambda r: r["revision"])

    def latest(self, name, namespace) -> dict | None:
        records = self.history(name, namespace)
        return records[-1] if records else None

    def deployed(self, name, namespace) -> dict | None:
        return next((r for r in reversed(self.history(name, namespace)) if r["status"] == "deployed"), None)

    def latest_of_each(self, namespace) -> list:
        """The newest revision of every release in `namespace` (None: all namespaces)."""
        newest = {}
        for record in filter(None, map(self._decode, self._secrets(namespace))):
            key = (record["namespace"], record["name"])
            if key not in newest or record["revision"] > newest[key]["revision"]:
                newest[key] = record
        return sorted(newest.values(), key=lambda r: (r["namespace"], r["name"]))

    def _body(self, record) -> dict:
        payload = base64.b64encode(json.dumps(record, sort_keys=True).encode()).decode()
        return {"apiVersion": "v1", "kind": "Secret", "type": SECRET_TYPE,
                "metadata": {"name": secret_name(record["name"], record["revision"]),
                             "namespace": record["namespace"],
                             "labels": {"name": record["name"], "owner": "helm", "status": record["status"],
                                        "version": str(record["revision"])}},
                "data": {"release": payload}}

    def _path(self, record, with_name=True) -> str:
        base = f"/api/v1/namespaces/{urllib.parse.quote(record['namespace'])}/secrets"
        return base + (f"/{secret_name(record['name'], record['revision'])}" if with_name else "")

    def create(self, record) -> None:
        self.kube.call("POST", self._path(record, with_name=False), self._body(record))

    def update(self, record) -> None:
        self.kube.call("PUT", self._path(record), self._body(record))

    def delete(self, record) -> None:
        self.kube.call("DELETE", self._path(record))
