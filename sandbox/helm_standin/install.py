"""install / upgrade (-i) / uninstall against an emulated cluster.

Like Helm 3: a release record per revision (pending -> deployed, the previous one superseded, failed on error),
objects created or replaced in install order with Helm's ownership metadata, objects dropped from the chart
deleted, objects owned by someone else refused (unless --take-ownership), optional bounded --wait.
Not done: hooks, tests, rollbacks other than --atomic's uninstall of a failed first install.
"""

import re
import time

from . import charts, values
from .kubeapi import KubeError
from .releases import Releases, now

MANAGED_BY = "app.kubernetes.io/managed-by"
RELEASE_NAME = "meta.helm.sh/release-name"
RELEASE_NAMESPACE = "meta.helm.sh/release-namespace"
# Helm's install order for the kinds a chart like ours contains; other kinds go last.
INSTALL_ORDER = ("Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodDisruptionBudget",
                 "ServiceAccount", "Secret", "ConfigMap", "StorageClass", "PersistentVolume", "PersistentVolumeClaim",
                 "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Service",
                 "DaemonSet", "Pod", "ReplicaSet", "Deployment", "StatefulSet", "Job", "CronJob")
DEFAULT_TIMEOUT = 300.0
WAIT_INTERVAL = 0.2
HISTORY_MAX = 10


class HelmError(Exception):
    pass


def _order(obj) -> int:
    kind = obj.get("kind")
    return INSTALL_ORDER.index(kind) if kind in INSTALL_ORDER else len(INSTALL_ORDER)


def duration(text) -> float:
    """Go durations as Helm takes them: 300s, 5m0s, 1h, 1m30s (a bare number means seconds)."""
    if not text:
        return DEFAULT_TIMEOUT
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    parts = re.findall(r"(\d+(?:\.\d+)?)(h|ms|m|s)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise HelmError(f'invalid argument "{text}" for "--timeout" flag: time: invalid duration "{text}"')
    scale = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    return sum(float(n) * scale[u] for n, u in parts)


def _key(obj, namespace) -> list:
    meta = obj.get("metadata") or {}
    return [obj["apiVersion"], obj["kind"], meta.get("namespace") or namespace, meta["name"]]


class Installer:
    def __init__(self, kube, args):
        self.kube, self.args = kube, args
        self.releases = Releases(kube)

    # ------------------------------------------------------------------ install / upgrade
    def upgrade(self, name, chart_ref, namespace, install_only=False) -> str:
        args = self.args
        previous = self.releases.latest(name, namespace)
        if install_only and previous and previous["status"] == "deployed" and not args.on("--replace"):
            raise HelmError("INSTALLATION FAILED: cannot re-use a name that is still in use")
        installing = previous is None or previous["status"] == "uninstalled" or install_only
        if previous is None and not install_only and not args.on("--install"):
            raise HelmError(f'UPGRADE FAILED: "{name}" has no deployed releases')
        failure = "INSTALLATION FAILED" if installing else "UPGRADE FAILED"
        if previous and str(previous["status"]).startswith("pending"):
            # Helm 3 pkg/action/upgrade.go: a release whose last revision is pending-* is locked (errPending).
            raise HelmError(f"{failure}: another operation (install/upgrade/rollback) is in progress")
        chart = self._chart(chart_ref)
        try:
            user = values.from_flags(args)
            if previous and not installing and args.on("--reuse-values"):
                user = values.merge(previous.get("values") or {}, user)
            self._namespace(namespace, failure)
            kube_version = self.kube.version()
            manifest = charts.render(chart, name, namespace, user, kube_version=kube_version or None,
                                     is_upgrade=not installing)
            defaults = chart.default_values()
        except (charts.ChartError, values.ValuesError) as exc:
            raise HelmError(f"{failure}: {exc}")
        finally:
            chart.cleanup()
        objects = sorted(charts.manifest_objects(manifest), key=_order)
        revision = (previous["revision"] + 1) if previous else 1
        record = {"name": name, "namespace": namespace, "revision": revision,
                  "status": "pending-install" if installing else "pending-upgrade", "updated": now(),
                  "first_deployed": (previous or {}).get("first_deployed") or now(),
                  "description": "Initial install underway" if installing else "Preparing upgrade",
                  "chart": {"name": chart.name, "version": chart.version, "appVersion": chart.app_version,
                            "description": chart.metadata.get("description", "")},
                  "values": user, "chart_values": defaults, "manifest": manifest,
                  "objects": [_key(o, namespace) for o in objects], "notes": ""}
        self.releases.create(record)
        try:
            self._apply(objects, name, namespace, failure, "install" if installing else "update")
            if previous and previous["status"] == "deployed":
                self._prune(previous, record)
            if args.on("--wait") or args.on("--atomic"):
                self._wait(objects, namespace, duration(args.value("--timeout")))
        except HelmError as exc:
            record.update(status="failed", description=str(exc), updated=now())
            self.releases.update(record)
            if args.on("--atomic") and installing:
                self.uninstall(name, namespace, quiet=True)
                raise HelmError(f"{failure}: release {name} failed, and has been uninstalled due to atomic being "
                                f"set: {str(exc).split(': ', 1)[-1]}")
            raise
        for old in self.releases.history(name, namespace):
            if old["revision"] != revision and old["status"] == "deployed":
                old.update(status="superseded", description="Superseded by upgrade")
                self.releases.update(old)
        record.update(status="deployed", updated=now(),
                      description="Install complete" if installing else "Upgrade complete")
        self.releases.update(record)
        self._trim_history(name, namespace)
        if not installing:
            head = f'Release "{name}" has been upgraded. Happy Helming!\n'
        else:
            head = "" if install_only else f'Release "{name}" does not exist. Installing it now.\n'
        return head + status_text(record)

    def _chart(self, chart_ref):
        try:  # Helm locates the chart before it starts the install: its errors carry no "FAILED" prefix
            return charts.resolve(chart_ref, self.args.value("--repo"), self.args.value("--version"))
        except charts.ChartError as exc:
            raise HelmError(str(exc))

    def _namespace(self, namespace, failure):
        if self.kube.get(f"/api/v1/namespaces/{namespace}") is not None:
            return
        if not self.args.on("--create-namespace"):
            raise HelmError(f'{failure}: create: failed to create: namespaces "{namespace}" not found')
        self.kube.call("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                      "metadata": {"name": namespace}})

    def _apply(self, objects, release, namespace, failure, verb):
        for obj in objects:
            meta = obj.setdefault("metadata", {})
            meta.setdefault("labels", {})[MANAGED_BY] = "Helm"
            meta.setdefault("annotations", {}).update({RELEASE_NAME: release, RELEASE_NAMESPACE: namespace})
            try:
                path = self.kube.object_path(obj, namespace)
                if self.kube.resource(obj["apiVersion"], obj["kind"])[1]:
                    meta["namespace"] = meta.get("namespace") or namespace
                current = self.kube.get(path)
                if current is None:
                    self.kube.call("POST", self.kube.object_path(obj, namespace, with_name=False), obj)
                    continue
                problems = _ownership_problems(current, release, namespace)
                if problems and not self.args.on("--take-ownership"):
                    where = (current["metadata"].get("namespace") or "")
                    raise HelmError(f"{failure}: rendered manifests contain a resource that already exists. Unable "
                                    f"to continue with {verb}: {obj['kind']} \"{meta['name']}\" in namespace "
                                    f"\"{where}\" exists and cannot be imported into the current release: invalid "
                                    f"ownership metadata; {'; '.join(problems)}")
                meta["resourceVersion"] = current["metadata"].get("resourceVersion")
                self.kube.call("PUT", path, obj)
            except KubeError as exc:
                raise HelmError(f"{failure}: {exc}")

    def _prune(self, previous, record):
        """Delete what the previous revision created and the new one no longer renders."""
        keep = {tuple(k) for k in record["objects"]}
        for api_version, kind, namespace, name in reversed(previous.get("objects") or []):
            if (api_version, kind, namespace, name) not in keep:
                self._delete({"apiVersion": api_version, "kind": kind, "metadata": {"name": name}}, namespace)

    def _delete(self, obj, namespace):
        try:
            self.kube.call("DELETE", self.kube.object_path(obj, namespace), query={"propagationPolicy": "Background"})
        except KubeError as exc:
            if exc.status != 404:
                raise HelmError(f"uninstallation completed with 1 error(s): {exc}")

    def _wait(self, objects, namespace, timeout):
        watched = [o for o in objects if o["kind"] in ("Deployment", "DaemonSet", "StatefulSet")]
        deadline = time.monotonic() + timeout
        for _attempt in range(int(timeout / WAIT_INTERVAL) + 2):
            pending = [o for o in watched if not _ready(self.kube.get(self.kube.object_path(o, namespace)))]
            if not pending:
                return
            if time.monotonic() >= deadline:
                break
            time.sleep(WAIT_INTERVAL)
        names = ", ".join(f"{o['kind']}/{o['metadata']['name']}" for o in pending)
        raise HelmError(f"context deadline exceeded (not ready: {names})")

    def _trim_history(self, name, namespace):
        limit = int(self.args.value("--history-max") or HISTORY_MAX)
        history = self.releases.history(name, namespace)
        for old in history[:max(0, len(history) - limit)] if limit > 0 else []:
            self.releases.delete(old)

    # ------------------------------------------------------------------ uninstall
    def uninstall(self, name, namespace, quiet=False) -> str:
        history = self.releases.history(name, namespace)
        if not history or (history[-1]["status"] == "uninstalled" and not quiet):
            raise HelmError(f"uninstall: Release not loaded: {name}: release: not found")
        latest = history[-1]
        for api_version, kind, obj_namespace, obj_name in reversed(latest.get("objects") or []):
            self._delete({"apiVersion": api_version, "kind": kind, "metadata": {"name": obj_name}}, obj_namespace)
        if self.args.on("--keep-history"):
            latest.update(status="uninstalled", description="Uninstallation complete", updated=now())
            self.releases.update(latest)
        else:
            for record in history:
                self.releases.delete(record)
        return f'release "{name}" uninstalled\n'


def _ownership_problems(current, release, namespace) -> list:
    meta = current.get("metadata") or {}
    problems = []
    for source, key, want in (("label", MANAGED_BY, "Helm"), ("annotation", RELEASE_NAME, release),
                              ("annotation", RELEASE_NAMESPACE, namespace)):
        have = (meta.get("labels" if source == "label" else "annotations") or {}).get(key)
        if have is None:
            problems.append(f'{source} validation error: missing key "{key}": must be set to "{want}"')
        elif have != want:
            problems.append(f'{source} validation error: key "{key}" must equal "{want}": current value is '
                            f'"{have}"')
    return problems


def _ready(obj) -> bool:
    if obj is None:
        return False
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    if status.get("observedGeneration", 0) < (obj["metadata"].get("generation") or 0):
        return False
    if obj["kind"] == "DaemonSet":
        desired = status.get("desiredNumberScheduled")
        return desired is not None and status.get("numberReady") == desired
    return (status.get("readyReplicas") or 0) >= spec.get("replicas", 1)


def status_text(record) -> str:
    deployed = time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime())
    return (f"NAME: {record['name']}\nLAST DEPLOYED: {deployed}\nNAMESPACE: {record['namespace']}\n"
            f"STATUS: {record['status']}\nREVISION: {record['revision']}\nTEST SUITE: None\n")
