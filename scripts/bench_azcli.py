"""The Azure CLI for `make bench` section F (scripts/bench.py): installed into a venv of its own, signed in to the
sandbox (registered as a custom cloud) in an isolated AZURE_CONFIG_DIR, called through a counting `az` wrapper,
with every request az would send to anything but 127.0.0.1 stopped and recorded by a local guard proxy.

Nothing of the Azure CLI reaches the collection: the modules and the sign_in lookup find `az` on PATH (the
wrapper), as they would on an operator's machine after `az login`.
"""

import contextlib
import os
import shlex
import shutil
import signal
import socketserver
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

CLOUD_NAME = "KeylessSandbox"
INSTALL_TIMEOUT = 1200  # python -m venv + pip install azure-cli (a few minutes from the registry, once)
AZ_TIMEOUT = 120  # one az command of the sign-in
PROBE_TIMEOUT = 60
# Settings that keep az quiet and local: no telemetry upload, no survey, no colour, no MSAL instance discovery
# (azure/cli/core/_profile.py reads core.instance_discovery and passes it to azure/cli/core/auth/identity.py's
# MSAL application kwargs "instance_discovery"), no extension index, no upgrade check. As environment variables
# (knack's AZURE_<SECTION>_<OPTION>) for every call and, the same, in the config file (`az config set`); the
# auto-upgrade section has a hyphen, so it is set in the file only.
AZ_ENV = {"AZURE_CORE_COLLECT_TELEMETRY": "false", "AZURE_CORE_SURVEY_MESSAGE": "false",
          "AZURE_CORE_NO_COLOR": "true", "AZURE_CORE_ONLY_SHOW_ERRORS": "true",
          "AZURE_CORE_INSTANCE_DISCOVERY": "false", "AZURE_CORE_DISABLE_CONFIRM_PROMPT": "true",
          "AZURE_CORE_LOGIN_EXPERIENCE_V2": "off", "AZURE_EXTENSION_USE_DYNAMIC_INSTALL": "no"}
AZ_CONFIG = ["core.collect_telemetry=false", "core.survey_message=false", "core.no_color=true",
             "core.only_show_errors=true", "core.instance_discovery=false", "core.disable_confirm_prompt=true",
             "core.login_experience_v2=off", "extension.use_dynamic_install=no", "auto-upgrade.enable=no"]
PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")
LOOPBACK = "127.0.0.1,localhost"


def _run(cmd, env, timeout, cwd=None):
    """cmd in its own process group, killed (the group) on timeout. Returns (rc or None, stdout, stderr, seconds)."""
    started = time.monotonic()
    proc = subprocess.Popen([str(c) for c in cmd], env=env, cwd=cwd, text=True, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
        rc = proc.returncode
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=30)
        rc, err = None, err + "\nkilled after %d s (timeout)" % timeout
    return rc, out, err, time.monotonic() - started


def _tail(text, lines=8):
    return "\n".join(text.strip().splitlines()[-lines:])


# ---------------------------------------------------------------------------------------------------- install
def _probe_version(venv):
    """azure-cli's version in venv, or None when it is not (completely) installed there."""
    python, az = venv / "bin" / "python", venv / "bin" / "az"
    if not (python.exists() and az.exists()):
        return None
    rc, out, _err, _s = _run([python, "-c", "import azure.cli.core, importlib.metadata as m; "
                                            "print(m.version('azure-cli'))"], dict(os.environ), PROBE_TIMEOUT)
    return out.strip() if rc == 0 and out.strip() else None


def ensure_azure_cli(root, python, timeout=INSTALL_TIMEOUT):
    """azure-cli in root/venv (created with `python -m venv`, then `pip install azure-cli` from the configured
    registry; reused when it is installed already). Returns az (the venv's executable), version, reused, seconds and,
    when it could not be installed, error (why) and log (pip's output)."""
    root = Path(root).resolve()
    venv, log_path = root / "venv", root / "install.log"
    started = time.monotonic()
    version = _probe_version(venv)
    if version:
        return {"az": str(venv / "bin" / "az"), "version": version, "reused": True,
                "seconds": round(time.monotonic() - started, 1), "error": None}
    if venv.exists():
        shutil.rmtree(venv)  # a half-made venv (an earlier install that failed or timed out)
    root.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.pop("PYTHONPATH", None)
    steps = [[python, "-m", "venv", venv],
             [venv / "bin" / "python", "-m", "pip", "install", "--quiet", "azure-cli"]]
    log_lines = []
    for cmd in steps:
        left = timeout - (time.monotonic() - started)
        rc, out, err, _s = _run(cmd, env, max(left, 1))
        log_lines += ["$ " + " ".join(shlex.quote(str(c)) for c in cmd), out, err]
        if rc != 0:
            log_path.write_text("\n".join(log_lines), encoding="utf-8")
            reason = "timed out: the install is bounded to %d s" % timeout if rc is None else "rc=%s" % rc
            lines = [line for line in err.splitlines()
                     if "is ignored: it is neither" not in line and not line.startswith("killed after")]
            return {"az": None, "version": None, "reused": False, "seconds": round(time.monotonic() - started, 1),
                    "error": "%s %s (%s): %s" % (Path(str(cmd[0])).name, " ".join(str(c) for c in cmd[1:4]), reason,
                                                 _tail("\n".join(lines), 4) or "no output"),
                    "log": str(log_path)}
    log_path.write_text("\n".join(log_lines), encoding="utf-8")
    version = _probe_version(venv)
    if not version:
        return {"az": None, "version": None, "reused": False, "seconds": round(time.monotonic() - started, 1),
                "error": "pip installed azure-cli, but `import azure.cli.core` fails in %s" % venv,
                "log": str(log_path)}
    return {"az": str(venv / "bin" / "az"), "version": version, "reused": False,
            "seconds": round(time.monotonic() - started, 1), "error": None}


# ---------------------------------------------------------------------------------------------------- guard
class OutboundGuard:
    """A proxy on 127.0.0.1 that forwards nothing: every az process gets it as HTTP(S)_PROXY (NO_PROXY: 127.0.0.1,
    localhost), so a request az would send off the machine arrives here instead, is answered 403 and recorded
    (method and host only: never a path or a query, which could hold a token)."""

    def __init__(self):
        self.attempts = []
        lock = threading.Lock()
        attempts = self.attempts

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                self.request.settimeout(5)
                data = b""
                with contextlib.suppress(OSError):
                    while b"\r\n" not in data and len(data) < 8192:
                        chunk = self.request.recv(1024)
                        if not chunk:
                            break
                        data += chunk
                words = data.split(b"\r\n", 1)[0].decode("latin-1", "replace").split()
                method = words[0] if words else "?"
                target = words[1] if len(words) > 1 else "?"
                host = target if method == "CONNECT" else (urllib.parse.urlsplit(target).netloc or "?")
                with lock:
                    attempts.append({"time": time.time(), "method": method[:16], "host": host[:200]})
                with contextlib.suppress(OSError):
                    self.request.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                                        daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def since(self, index):
        return self.attempts[index:]


# ---------------------------------------------------------------------------------------------------- az
def az_environment(config_dir, ca_file, guard_url):
    """What every az call of the bench runs with (the wrapper exports it; the sign-in uses it too)."""
    env = dict(AZ_ENV, AZURE_CONFIG_DIR=str(config_dir), REQUESTS_CA_BUNDLE=str(ca_file))
    env.update({name: guard_url for name in PROXY_VARS})
    env.update(NO_PROXY=LOOPBACK, no_proxy=LOOPBACK)
    return env


def write_az_wrapper(bindir, real_az, log_file, az_env):
    """bindir/az: appends "<epoch seconds> <subcommand>" to log_file (the words before the first option: never an
    option's value), exports az_env and execs the real az. Put bindir first on PATH."""
    bindir.mkdir(parents=True, exist_ok=True)
    exports = "".join("export %s=%s\n" % (k, shlex.quote(v)) for k, v in sorted(az_env.items()))
    wrapper = bindir / "az"
    wrapper.write_text(
        "#!/bin/sh\n"
        "# az for scripts/bench.py section F: logs the call, then runs the bench venv's az.\n"
        "sub=\n"
        "for arg in \"$@\"; do\n"
        "  case \"$arg\" in -*|@*|*=*) break ;; esac\n"
        "  sub=\"$sub $arg\"\n"
        "done\n"
        "printf '%%s %%s\\n' \"$(date +%%s.%%N)\" \"${sub# }\" >> %s\n"
        "%s"
        "exec %s \"$@\"\n" % (shlex.quote(str(log_file)), exports, shlex.quote(str(real_az))), encoding="utf-8")
    wrapper.chmod(0o755)
    return wrapper


def az_calls(log_file):
    """[(epoch seconds, subcommand)] of every az call logged so far."""
    if not log_file.exists():
        return []
    calls = []
    for line in log_file.read_text(encoding="utf-8").splitlines():
        stamp, _sep, sub = line.partition(" ")
        with contextlib.suppress(ValueError):
            calls.append((float(stamp), sub.strip() or "(none)"))
    return calls


def _requests_line(requests):
    return "; ".join("%s %s%s -> %s" % (r.get("method"), r.get("path"), "?" + r["query"] if r.get("query") else "",
                                        r.get("status")) for r in requests if r.get("kind") != "control") or "none"


def seed_version_check(python, config_dir):
    """az's first command in a fresh config dir looks up the newest release online (azure/cli/core/__init__.py
    handle_version_update -> util.get_cached_latest_versions, when versionCheck.json has no versions yet). A
    versionCheck.json with the installed versions, written by the az venv's python, says that is done. Returns
    None, or why it could not be written (the guard then stops the lookup, and the bench reports it)."""
    code = ("import datetime, json, sys\n"
            "from azure.cli.core.util import _get_local_versions\n"
            "with open(sys.argv[1], 'w', encoding='utf-8-sig') as handle:\n"
            "    json.dump({'versions': _get_local_versions(), 'update_time': str(datetime.datetime.now())}, handle)\n")
    rc, _out, err, _s = _run([python, "-c", code, config_dir / "versionCheck.json"], dict(os.environ), PROBE_TIMEOUT)
    return None if rc == 0 else "rc=%s: %s" % (rc, _tail(err, 2))


def sign_in(sbx, workdir, az, az_python, config_dir, guard, timeout=AZ_TIMEOUT):
    """Register the sandbox as a custom cloud, select it, sign in with the service principal and select the
    subscription, in config_dir, each through `az` (the wrapper). The secret goes to az through a file (az login's
    `-p @file`, read by az; the file is 0600 and removed right after), never on a command line or in a log.
    Returns {"ok", "steps": [...], "cloud_registration", "problem"} where a step has name, rc, seconds and, when
    it failed, the error and the sandbox requests it made."""
    conn = sbx.conn
    if config_dir.exists():
        shutil.rmtree(config_dir)
    config_dir.mkdir(parents=True, mode=0o700)
    env = dict(os.environ, **az_environment(config_dir, conn["ca_file"], guard.url))
    result = {"ok": False, "steps": [], "cloud_registration": None, "problem": None,
              "version_check_not_seeded": seed_version_check(az_python, config_dir)}

    def step(name, args, fatal=True):
        since = sbx.call("GET", "/requests", query={"since": 1 << 40})["next"]
        outbound = len(guard.attempts)
        rc, _out, err, seconds = _run([az, *args], env, timeout, cwd=str(workdir))
        entry = {"name": name, "rc": rc, "seconds": round(seconds, 2)}
        if rc != 0:
            entry["error"] = _tail(err, 4)
            entry["requests"] = _requests_line(sbx.requests(since))
        blocked = guard.since(outbound)
        if blocked:
            entry["outbound_blocked"] = ["%s %s" % (a["method"], a["host"]) for a in blocked]
        result["steps"].append(entry)
        if rc != 0 and fatal:
            result["problem"] = "`az %s` failed (rc=%s): %s; sandbox requests: %s" % (
                name, rc, entry["error"], entry["requests"])
        return rc == 0

    if not step("config set", ["config", "set", *AZ_CONFIG]):
        return result
    # az's documented way for a custom cloud: endpoint discovery from the ARM root (GET /metadata/endpoints
    # ?api-version=2022-09-01, which Azure answers with one object for the serving cloud).
    arm_root = conn["arm_url"].rstrip("/")
    if not step("cloud register --endpoint-resource-manager", ["cloud", "register", "-n", CLOUD_NAME,
                                                               "--endpoint-resource-manager", arm_root]):
        return result
    result["cloud_registration"] = "endpoint discovery (--endpoint-resource-manager %s)" % arm_root
    if not step("cloud set", ["cloud", "set", "-n", CLOUD_NAME]):
        return result
    secret = config_dir / "bench-login-secret"
    fd = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(conn["client_secret"])
        ok = step("login --service-principal", ["login", "--service-principal", "-u", conn["client_id"],
                                                "-p", "@" + str(secret), "--tenant", conn["tenant_id"],
                                                "--output", "none"])
    finally:
        secret.unlink(missing_ok=True)
    if not ok or not step("account set", ["account", "set", "-s", conn["subscription_id"]]):
        return result
    result["ok"] = True
    return result


def per_play(items, plays):
    """Items of one run ([(epoch seconds, what)], e.g. az calls) by play: [(play name, [what])], each item in the
    last play started before it; those before the first play under "(before the first play)", listed only if any.
    plays: [{"name", "time"}] in order."""
    buckets = [("(before the first play)", None, [])] + [(p["name"], p["time"], []) for p in plays]
    for stamp, what in items:
        target = buckets[0]
        for bucket in buckets[1:]:
            if stamp >= bucket[1]:
                target = bucket
        target[2].append(what)
    return [(name, found) for i, (name, _t, found) in enumerate(buckets) if i or found]


def subcommands(subs):
    return dict(Counter(subs).most_common())
