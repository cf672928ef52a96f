"""Start a sandbox subprocess and talk to its control API (stdlib only: usable from the Makefile).

    from sandbox import client
    with client.start("/tmp/sbx") as sbx:
        env = sbx.env()            # AZURE_* + REQUESTS_CA_BUNDLE for an ansible-playbook run
        sbx.add_fault(method="PUT", path="userassignedidentities", status=429, count=2, retry_after="1")
        print(sbx.counters())

CLI: python -m sandbox.client --connection-file F {start,stop,env,counters,requests,state,reset,health}
(`start` leaves a detached sandbox running, as Molecule's create step needs; `stop` ends it.)
"""

import argparse
import json
import os
import shlex
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONNECTION_FILE = "connection.json"


class SandboxError(RuntimeError):
    def __init__(self, status, body):
        super().__init__(f"sandbox control call failed: HTTP {status}: {body}")
        self.status = status
        self.body = body


def _no_proxy(env: dict) -> dict:
    """Loopback traffic must never be sent to a proxy configured in the environment."""
    for name in ("NO_PROXY", "no_proxy"):
        entries = [e for e in env.get(name, "").split(",") if e]
        for host in ("127.0.0.1", "localhost"):
            if host not in entries:
                entries.append(host)
        env[name] = ",".join(entries)
    return env


class Sandbox:
    def __init__(self, conn: dict, process=None, log_path=None, connection_file=None):
        self.conn = conn
        self.process = process
        self.log_path = log_path
        self.connection_file = connection_file
        self._ssl = ssl.create_default_context(cafile=conn["ca_file"])
        # No ProxyHandler entries: never route control calls through an environment proxy.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                                   urllib.request.HTTPSHandler(context=self._ssl))

    @classmethod
    def attach(cls, connection_file: str) -> "Sandbox":
        with open(connection_file, encoding="utf-8") as handle:
            return cls(json.load(handle), connection_file=connection_file)

    # ------------------------------------------------------------------ environment
    def ssl_context(self) -> ssl.SSLContext:
        return self._ssl

    def env(self) -> dict:
        """Environment variables for an Ansible run against this sandbox (merge into os.environ)."""
        conn = self.conn
        env = {"AZURE_CLIENT_ID": conn["client_id"], "AZURE_SECRET": conn["client_secret"],
               "AZURE_TENANT": conn["tenant_id"], "AZURE_SUBSCRIPTION_ID": conn["subscription_id"],
               "AZURE_CLOUD_ENVIRONMENT": conn["metadata_url"], "REQUESTS_CA_BUNDLE": conn["ca_file"]}
        env.update(_no_proxy({k: os.environ.get(k, "") for k in ("NO_PROXY", "no_proxy")}))
        return env

    def issuer_url(self, name: str = "default") -> str:
        return f"{self.conn['oidc_issuer_base']}{name}/"

    # ------------------------------------------------------------------ control API
    def call(self, method: str, path: str, body=None, query=None, timeout: float = 30):
        url = self.conn["control_url"] + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method,
                                         headers={"Content-Type": "application/json"} if data else {})
        try:
            with self._opener.open(request, timeout=timeout) as response:
                payload = response.read()
        except urllib.error.HTTPError as exc:
            raise SandboxError(exc.code, exc.read().decode("utf-8", "replace")) from None
        return json.loads(payload) if payload else None

    def health(self):
        return self.call("GET", "/health")

    def reset(self):
        return self.call("POST", "/reset")

    def counters(self) -> dict:
        return self.call("GET", "/counters")

    def counters_delta(self, before: dict) -> dict:
        """Counters now minus `before` (an earlier counters() result), nested per type and grant."""
        return _subtract(self.counters(), before)

    def requests(self, since: int = 0) -> list:
        return self.call("GET", "/requests", query={"since": since})["requests"]

    def state(self) -> dict:
        return self.call("GET", "/state")

    def restore(self, snapshot: dict) -> None:
        """Put back a state() snapshot; counters, log, faults and config start afresh."""
        self.call("PUT", "/state", snapshot)

    def add_fault(self, **spec) -> int:
        return self.call("POST", "/faults", spec)["id"]

    def clear_faults(self):
        return self.call("DELETE", "/faults")

    def configure(self, **config) -> dict:
        return self.call("POST", "/config", config)

    def merge_resource(self, resource_id: str, merge: dict) -> dict:
        return self.call("POST", "/resources", {"id": resource_id, "merge": merge})

    def put_resource(self, resource_id: str, body: dict) -> dict:
        return self.call("POST", "/resources", {"id": resource_id, "body": body})

    def mint_sa_token(self, subject: str, *, issuer: str | None = None, audience: str = "api://AzureADTokenExchange",
                      ttl: int = 3600) -> str:
        return self.call("POST", "/oidc/token", {"issuer": issuer or self.issuer_url(), "subject": subject,
                                                 "audience": audience, "ttl": ttl})["token"]

    def add_app_federated_credential(self, issuer: str, subject: str, audiences=None, name: str | None = None) -> dict:
        body = {"issuer": issuer, "subject": subject, "audiences": audiences or ["api://AzureADTokenExchange"]}
        if name:
            body["name"] = name
        return self.call("POST", "/app/federated-credentials", body)

    # ------------------------------------------------------------------ emulated Kubernetes clusters
    def add_kube_cluster(self, cluster_id: str, *, kubernetes_version: str | None = None,
                         oidc_issuer_url: str | None = None, kubeconfig_path: str | None = None,
                         name: str | None = None) -> dict:
        """Create (or fetch) a standalone emulated cluster: {id, slug, server, token, ca_file, kubeconfig}.
        With kubeconfig_path the kubeconfig is also written there (mode 0600: it holds the token)."""
        body = {"id": cluster_id}
        for key, value in (("kubernetes_version", kubernetes_version), ("oidc_issuer_url", oidc_issuer_url),
                           ("name", name)):
            if value:
                body[key] = value
        info = self.call("POST", "/k8s/clusters", body)
        if kubeconfig_path:
            fd = os.open(kubeconfig_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(info["kubeconfig"])
        return info

    def kube_clusters(self) -> list:
        return self.call("GET", "/k8s/clusters")["clusters"]

    def remove_kube_cluster(self, cluster_id: str) -> bool:
        return self.call("DELETE", "/k8s/clusters", query={"id": cluster_id})["deleted"]

    # ------------------------------------------------------------------ directory groups
    def add_group_member(self, principal_id: str, group_id: str | None = None) -> dict:
        """Put a principal (the app's object id or an identity's principalId) into a directory group, created
        when new (a fresh GUID without group_id): {"group_id", "members"}. Later tokens for the AKS server app
        carry the group in their `groups` claim; role assignments may name the group (principalType Group)."""
        body = {"principal_id": principal_id}
        if group_id:
            body["group_id"] = group_id
        return self.call("POST", "/directory/groups", body)

    def directory_groups(self) -> list:
        return self.call("GET", "/directory/groups")["value"]

    def remove_group_member(self, principal_id: str, group_id: str) -> bool:
        return self.call("DELETE", "/directory/groups", query={"group_id": group_id,
                                                               "principal_id": principal_id})["removed"]

    def seed(self, timeout: float = 300, **spec) -> dict:
        """Seed a large estate (sandbox/seed.py): seed=, storage_accounts=, role_assignments=, cluster=,
        persistent_volumes=, secrets=, pods=, location= -> {seed, prefix, counts, ids, by_shape, secret_values}."""
        return self.call("POST", "/seed", spec, timeout=timeout)

    def issued_tokens(self) -> list:
        """Every access token Entra issued so far (dicts: access_token, audience, client_id, grant, expires_on, ...)."""
        return self.call("GET", "/tokens")["value"]

    def expire_tokens(self, client_id: str | None = None) -> int:
        return self.call("POST", "/tokens/expire", {"client_id": client_id} if client_id else {})["expired"]

    # ------------------------------------------------------------------ lifecycle
    def stop(self, timeout: float = 10) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def _subtract(after: dict, before: dict) -> dict:
    result = {}
    for key, value in after.items():
        if isinstance(value, dict):
            result[key] = _subtract(value, before.get(key) or {})
        else:
            result[key] = value - before.get(key, 0)
    return result


def _tail(path, lines=30):
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return "".join(handle.readlines()[-lines:])
    except OSError:
        return ""


def start(workdir: str, *, state_file: str | None = None, timeout: float = 30, lro_retry_after: str | None = None,
          max_lifetime: float = 4 * 3600, extra_args=(), detach: bool = False) -> Sandbox:
    """Launch `python -m sandbox` and wait (bounded) until its connection file names the new process.

    detach=True leaves it running after this process exits (own session, no --exit-with-parent): Molecule's create
    and destroy steps are separate processes. It still stops after max_lifetime.
    """
    workdir = os.path.abspath(workdir)
    os.makedirs(workdir, exist_ok=True)
    connection_file = os.path.join(workdir, CONNECTION_FILE)
    if os.path.exists(connection_file):
        os.unlink(connection_file)
    args = [sys.executable, "-m", "sandbox", "--port", "0", "--connection-file", connection_file,
            "--workdir", workdir, "--max-lifetime", str(max_lifetime)]
    if not detach:
        args.append("--exit-with-parent")
    if state_file:
        args += ["--state-file", os.path.abspath(state_file)]
    if lro_retry_after is not None:
        args += ["--lro-retry-after", str(lro_retry_after)]
    args += list(extra_args)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (PACKAGE_PARENT, env.get("PYTHONPATH")) if p)
    log_path = os.path.join(workdir, "sandbox.log")
    with open(log_path, "ab") as log:
        process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                   env=env, cwd=workdir, start_new_session=detach)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"sandbox exited with {process.returncode}:\n{_tail(log_path)}")
        try:
            with open(connection_file, encoding="utf-8") as handle:
                conn = json.load(handle)
        except (OSError, ValueError):
            conn = None
        if conn and conn.get("pid") == process.pid:
            return Sandbox(conn, process, log_path, connection_file)
        time.sleep(0.05)
    process.kill()
    process.wait(5)
    raise RuntimeError(f"sandbox did not start within {timeout} s:\n{_tail(log_path)}")


ENV_FILE = "env.json"


def run_env(sbx: Sandbox) -> dict:
    """Everything an ansible-playbook run against this sandbox needs in its environment."""
    return dict(sbx.env(), KEYLESS_HELM_BINARY=sbx.conn["helm_binary"])


def start_detached(connection_file: str, max_lifetime: float, lro_retry_after: str | None = None) -> int:
    """Start a sandbox that outlives this command; write env.json (0600: it holds the sandbox's secret) beside it."""
    workdir = os.path.dirname(os.path.abspath(connection_file))
    stop_running(connection_file)
    sbx = start(workdir, state_file=os.path.join(workdir, "state.json"), max_lifetime=max_lifetime, detach=True,
                lro_retry_after=lro_retry_after)
    path = os.path.join(workdir, ENV_FILE)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(run_env(sbx), handle, indent=2, sort_keys=True)
    print(f"sandbox pid {sbx.conn['pid']} at {sbx.conn['arm_url']}; environment in {path}")
    return 0


def stop_running(connection_file: str, timeout: float = 15) -> bool:
    """SIGTERM the sandbox named in the connection file and wait (bounded) for it to go; False if none ran."""
    try:
        sbx = Sandbox.attach(connection_file)
        # Only signal a process that answers as this sandbox: a stale file's pid may have been reused.
        pid = sbx.call("GET", "/health", timeout=5)["pid"]
    except (OSError, ValueError, KeyError, SandboxError):
        return False
    if pid != sbx.conn.get("pid"):
        return False
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    return True


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.client")
    parser.add_argument("--connection-file", required=True)
    parser.add_argument("--max-lifetime", type=float, default=3600, help="start: stop by itself after this long")
    parser.add_argument("--lro-retry-after", help="start: Retry-After of long-running operations (default 1)")
    parser.add_argument("command", choices=["start", "stop", "env", "counters", "requests", "state", "reset",
                                            "health"])
    args = parser.parse_args(argv)
    if args.command == "start":
        return start_detached(args.connection_file, args.max_lifetime, args.lro_retry_after)
    if args.command == "stop":
        print("stopped" if stop_running(args.connection_file) else "no sandbox was running")
        return 0
    sbx = Sandbox.attach(args.connection_file)
    if args.command == "env":
        for key, value in sorted(sbx.env().items()):
            print(f"export {key}={shlex.quote(value)}")
        return 0
    result = {"counters": sbx.counters, "requests": sbx.requests, "state": sbx.state, "reset": sbx.reset,
              "health": sbx.health}[args.command]()
    print(json.dumps(result, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
