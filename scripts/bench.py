"""`make bench`: measure what the collection costs per run, per module process and per import.

A. For each size N (--sizes): an inventory with one cluster and N workloads under build/bench/N/, a fresh sandbox,
   `playbooks/site.yml` converged and then re-run (no-op). Per run: wall time, recap, tasks, module processes, helm
   invocations, and the sandbox's request counters (ARM, tokens, cloud metadata, Kubernetes API). Then, against the
   same converged sandbox and inventory, `playbooks/doctor.yml` with the probe and with -e doctor_probe=false: wall
   time, links and their statuses (from the report JSON under build/bench/N/doctor-reports/), and the requests it
   made (ARM, Kubernetes, TokenRequests, Entra tokens, Blob data plane). The bench fails when a doctor run writes
   anything (ARM, Kubernetes, Blob data) or lists keys, or when a link of the healthy chain is not ok.
B. Cold start: one playbook creates a resource with each module, then runs the same no-op task --repeat times for
   every module and for ansible.builtin.ping; median task duration per module and its ratio to ping's.
C. Imports: for each module, a fresh `python -X importtime` process imports the module, the SDK clients it calls
   (`module.client("...")`, see CLIENTS in plugins/module_utils/azure_module.py) and azure.identity; compared with a
   process importing only azure.core + azure.identity (budget: 1.5x).
D. Fleet: for each number of clusters (--fleet, default 1 and 10), an inventory of that many clusters with
   --fleet-workloads workloads each (sharing resource groups, storage account, identities and data roles through
   group_vars; each with its own kubeconfig and federated credentials), a fresh sandbox, site.yml converged and
   re-run with --fleet-forks forks. Per run: wall time and, per cluster, ARM, Entra token and Kubernetes requests
   and module processes (Kubernetes and the cluster's own ARM resources also cluster by cluster, from the request
   log). The bench fails when a no-op run writes (ARM, Kubernetes) or anything lists keys, or when a larger fleet
   needs more per cluster than the smallest (see FLEET_COMPARED, FLEET_OWN and FLEET_RACY for what is compared).
E. Audit: a fresh sandbox with the one-workload chain of A converged, `playbooks/audit.yml` on it; then a seeded
   estate (the sandbox's seeding route: --audit-accounts storage accounts and --audit-assignments role assignments
   in the subscription, --audit-pvs PVs and --audit-secrets Secrets in the cluster) audited twice, with ARM lists in
   one page and in pages of --audit-page-size (the sandbox's page_size). Per run: wall time, findings, ARM pages and
   Kubernetes list pages (from the module's result and the sandbox's counters). The bench fails on any write or
   listKeys, or when the requests are not the pages of the five ARM and five Kubernetes listings.
F. Auth sources (issue 21; --skip-auth): the Azure CLI in a venv of its own (build/bench/azcli/venv, `pip install
   azure-cli` once, then reused; scripts/bench_azcli.py), signed in with the sandbox's service principal to the
   sandbox registered as a custom cloud, in an AZURE_CONFIG_DIR of its own (removed afterwards: az keeps the secret
   there) with telemetry, survey, MSAL instance discovery, extension index and upgrade check off, and every request
   az would send elsewhere than 127.0.0.1 stopped by a guard proxy (a bench failure). A counting `az` wrapper first
   on PATH. On a fresh sandbox, the one-workload chain of A converged with env, then site.yml no-op re-runs with
   auth_source env (the service principal in the environment) and cli (no service principal in the environment,
   AZURE_SUBSCRIPTION_ID kept), interleaved --auth-repeat times; then the ping floor: --auth-tasks no-op Azure
   module tasks (resource_group, managed_identity_info) with env and cli, with cli-own (the same tasks without the
   sign_in lookup) and as many ansible.builtin.ping tasks. Per run: wall time, az calls
   (total, per play from the callback's play starts, subcommands), Entra token and cloud metadata requests, module
   processes; medians per source with ratios to env and ping. The bench fails on rc != 0, a write in a no-op run
   or az reaching for the network, and on the sign-in's targets (issue 21): with cli at most AUTH_AZ_PER_PLAY az
   call in any play (cli_az_calls_per_play) and a site.yml no-op within AUTH_WALL_RATIO of env's wall time
   (cli_vs_env_wall, the medians); with env at most AUTH_TOKENS_PER_PLAY Entra token per play that signs in.

Task timings and per-task request counts come from a small callback plugin written to build/bench/callback_plugins/
(kept out of the collection). Results: build/bench/results.md (the printed tables) and build/bench/results.json.
"""

import argparse
import contextlib
import importlib
import json
import math
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from scripts import bench_azcli  # noqa: E402  (the repository root is on sys.path, as for sandbox)
from sandbox import client  # noqa: E402  (the repository root must be on sys.path first)

BENCH = REPO / "build" / "bench"
COLLECTIONS = REPO / "build" / "collections"
BIN = Path(sys.executable).parent
PLAYBOOK_TIMEOUT = 1800
IMPORT_TIMEOUT = 120
IMPORT_BUDGET = 1.5
FQ = "keyless.aks_storage."
MODULES = ("resource_group", "managed_identity", "keyless_storage_account", "federated_credential",
           "role_assignment", "aks_oidc_cluster")
MODULE_PKG = "ansible_collections.keyless.aks_storage.plugins.modules."
UTILS_PKG = "ansible_collections.keyless.aks_storage.plugins.module_utils."
RECAP = re.compile(r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)"
                   r"\s+failed=(?P<failed>\d+)", re.MULTILINE)
# Actions that run on the controller only (no module process).
CONTROLLER_ACTIONS = {"set_fact", "assert", "fail", "debug", "include_role", "include_tasks", "import_role",
                      "import_tasks", "include_vars", "meta", "add_host", "group_by", "set_stats", "pause",
                      "validate_argument_spec"}
HELM_SUBCOMMANDS = {"version", "list", "get", "show", "upgrade", "install", "uninstall", "status", "template",
                    "plugin", "repo", "env", "dependency"}
LOCATION = "westeurope"

CALLBACK = '''\
"""bench_events (written by scripts/bench.py): one JSON line per task result, with sandbox counter deltas, and
one per play start (event "play", with its wall clock time)."""
import json
import os
import ssl
import time
import urllib.request

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_events"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._path = os.environ["BENCH_EVENTS_FILE"]
        self._url = os.environ.get("BENCH_COUNTERS_URL")
        context = ssl.create_default_context(cafile=os.environ.get("BENCH_SANDBOX_CA"))
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                                   urllib.request.HTTPSHandler(context=context))
        self._started = {}

    def _counters(self):
        if not self._url:
            return {}
        with self._opener.open(self._url, timeout=10) as response:
            c = json.load(response)
        kube = c.get("kubernetes") or {}
        return {"reads": c["reads"], "writes": c["writes"], "list_keys": c["list_keys"], "lro_polls": c["lro_polls"],
                "token_requests": c["token_requests"], "metadata_requests": c["metadata_requests"],
                "k8s_reads": kube.get("reads", 0), "k8s_writes": kube.get("writes", 0)}

    def v2_playbook_on_play_start(self, play):
        with open(self._path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"event": "play", "name": play.get_name(), "time": time.time()}) + "\\n")

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._started[task._uuid] = (self._counters(), time.monotonic())

    def _emit(self, result, status):
        before, started = self._started.get(result.task._uuid, ({}, time.monotonic()))
        seconds = time.monotonic() - started
        after = self._counters()
        res = result.result
        items = res.get("results") if isinstance(res.get("results"), list) else None
        event = {"task": result.task_name, "action": result.task.action, "host": result.host.get_name(),
                 "status": status, "changed": bool(res.get("changed")), "seconds": round(seconds, 4),
                 "items": None if items is None else sum(1 for i in items if not (isinstance(i, dict)
                                                                                 and i.get("skipped"))),
                 "attempts": res.get("attempts", 1),
                 "requests": {k: v - before.get(k, 0) for k, v in after.items()}}
        with open(self._path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(event) + "\\n")

    def v2_runner_on_ok(self, result):
        self._emit(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._emit(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._emit(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._emit(result, "unreachable")
'''

# Runs in a fresh interpreter under -X importtime: imports each stage's names ("module" or "module:Attribute"),
# marks stage boundaries on stderr and prints the wall time of each stage as JSON. Stage "init" constructs the clients
# (tenant-level ones, TENANT_CLIENTS in azure_module.py, without a subscription ID, as AzureModule.client does) and
# reads those of their lazily imported operation groups (class properties) whose names the module's source uses.
IMPORT_PROBE = '''\
import importlib, json, os, sys, time
class Cred:
    def get_token(self, *scopes, **kwargs):
        raise RuntimeError("not used")
out = {}
for label, names, attrs, tenant in json.loads(sys.argv[1]):
    os.write(2, ("BENCH-STAGE %s\\n" % label).encode())
    started = time.perf_counter()
    for name in names:
        module_name, _, attr = name.partition(":")
        obj = importlib.import_module(module_name)
        obj = getattr(obj, attr) if attr else obj
        if label == "init":
            scope = () if name in tenant else ("00000000-0000-0000-0000-000000000000",)
            instance = obj(Cred(), *scope, base_url="https://127.0.0.1/")
            for group in attrs:
                if isinstance(getattr(obj, group, None), property):
                    getattr(instance, group)
    out[label] = time.perf_counter() - started
print(json.dumps(out))
'''
IMPORTTIME = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( +)\S")


# ---------------------------------------------------------------------------------------------------- helpers
def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def ratio(a, b):
    return a / b if a is not None and b else None


def fmt(value, digits=2):
    if value is None:
        return "-"
    if isinstance(value, float):
        return "%.*f" % (digits, value)
    return str(value)


def table(headers, rows):
    """A markdown table, columns padded to width (numbers right-aligned)."""
    cells = [[fmt(c) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    numeric = [all(re.fullmatch(r"[-+]?[\d.]+x?|-", r[i]) for r in cells) if cells else False
               for i in range(len(headers))]

    def line(values):
        padded = (v.rjust(w) if n else v.ljust(w) for v, w, n in zip(values, widths, numeric, strict=True))
        return "| " + " | ".join(padded) + " |"
    sep = "|" + "|".join(("-" * (w + 1) + ":") if n else ("-" * (w + 2))
                         for w, n in zip(widths, numeric, strict=True)) + "|"
    return "\n".join([line(headers), sep] + [line(r) for r in cells])


def write_json(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def log(msg):
    print("bench: " + msg, flush=True)


def descendants(pid):
    """Process ids below pid (Linux /proc; Ansible's workers start sessions of their own, so killpg misses them)."""
    children = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def run_bounded(cmd, env, cwd, timeout):
    """Run cmd in its own session; on timeout kill it and everything below it. Returns (rc, stdout, stderr, s)."""
    started = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, cwd=str(cwd), text=True, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
        rc = proc.returncode
    except subprocess.TimeoutExpired:
        for pid in [*descendants(proc.pid), proc.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=30)
        rc = None
        err += "\nbench: killed after %d s (timeout)" % timeout
    return rc, out, err, time.monotonic() - started


# ---------------------------------------------------------------------------------------------------- playbook runs
def write_callback():
    path = BENCH / "callback_plugins" / "bench_events.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(CALLBACK, encoding="utf-8")


def write_helm_wrapper(workdir, real_helm):
    """A helm that logs its arguments (to count invocations) and runs the sandbox's helm stand-in."""
    wrapper = workdir / "bin" / "helm"
    wrapper.parent.mkdir(parents=True, exist_ok=True)
    wrapper.write_text('#!/bin/sh\necho "$*" >> "%s"\nexec "%s" "$@"\n' % (workdir / "helm-calls.log", real_helm),
                       encoding="utf-8")
    wrapper.chmod(0o755)
    return wrapper


def helm_calls(workdir):
    path = workdir / "helm-calls.log"
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    return [next((a for a in line.split() if a in HELM_SUBCOMMANDS), "?") for line in lines]


def playbook_env(sbx, workdir, events_file):
    env = dict(os.environ, **sbx.env())
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(COLLECTIONS))
    env["KEYLESS_HELM_BINARY"] = str(write_helm_wrapper(workdir, sbx.conn["helm_binary"]))
    tmp = workdir / "tmp"  # kubernetes.core caches API discovery in the temp dir: one per sandbox
    tmp.mkdir(parents=True, exist_ok=True)
    env["TMPDIR"] = str(tmp)
    env.update(ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1", ANSIBLE_CALLBACK_PLUGINS=str(BENCH / "callback_plugins"),
               ANSIBLE_CALLBACKS_ENABLED="bench_events", BENCH_EVENTS_FILE=str(events_file),
               BENCH_COUNTERS_URL=sbx.conn["control_url"] + "/counters", BENCH_SANDBOX_CA=sbx.conn["ca_file"])
    return env


def module_processes(event):
    """Module processes behind one task result (0 for controller-only actions and skips)."""
    if event["status"] == "skipped" or event["action"].split(".")[-1] in CONTROLLER_ACTIONS:
        return 0
    return event["items"] if event["items"] is not None else int(event["attempts"] or 1)


def run_playbook(sbx, workdir, label, inventory, playbook, timeout, extra_args=(), task_counters=True,
                 env_patch=None, keep_requests=False):
    """One ansible-playbook run against sbx: output saved to workdir/label.log, counters and events returned.
    task_counters=False: the callback records no per-task request deltas (with forks, the tasks of several hosts
    overlap, so those deltas would mix hosts; and the callback's own counter reads would load the sandbox).
    env_patch: variables to set in the run's environment (None: remove it); keep_requests: also return the
    sandbox's request log of the run (run["requests"])."""
    events_file = workdir / ("%s.events.jsonl" % label)
    events_file.unlink(missing_ok=True)
    env = playbook_env(sbx, workdir, events_file)
    if not task_counters:
        env.pop("BENCH_COUNTERS_URL")
    for key, value in (env_patch or {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    cmd = [str(BIN / "ansible-playbook"), "-i", str(inventory), str(playbook), *extra_args]
    before = sbx.counters()
    since = sbx.call("GET", "/requests", query={"since": 1 << 40})["next"]
    helm_before = len(helm_calls(workdir))
    log("%s: %s" % (label, " ".join(cmd[1:])))
    rc, out, err, seconds = run_bounded(cmd, env, REPO, timeout)
    (workdir / ("%s.log" % label)).write_text(out + "\n--- stderr\n" + err, encoding="utf-8")
    counters = sbx.counters_delta(before)
    requests = sbx.requests(since)
    lines = [json.loads(line) for line in events_file.read_text(encoding="utf-8").splitlines()] \
        if events_file.exists() else []
    events = [e for e in lines if e.get("event") != "play"]
    recap = [m.groupdict() for m in RECAP.finditer(out)]
    run = {"label": label, "rc": rc, "seconds": round(seconds, 2), "recap": recap, "counters": counters,
           "events": events, "plays": [e for e in lines if e.get("event") == "play"],
           "changed": sum(int(r["changed"]) for r in recap),
           "tasks": sum(1 for e in events if e["status"] != "skipped"),
           "processes": sum(module_processes(e) for e in events),
           "azure_processes": sum(module_processes(e) for e in events if e["action"].startswith(FQ)),
           "helm": dict(Counter(helm_calls(workdir)[helm_before:])),
           "discovery": sum(1 for r in requests if r.get("kind") == "discovery"),
           "request_summary": summarize_requests(requests)}
    if keep_requests:
        run["requests"] = requests
    log("%s: rc=%s in %.1f s" % (label, rc, seconds))
    if rc != 0:
        tail = (out.rstrip().splitlines() + err.rstrip().splitlines())[-40:]
        print("\nbench: FAILED %s (rc=%s); last lines (full output: %s):\n%s\n"
              % (label, rc, workdir / ("%s.log" % label), "\n".join(tail)), flush=True)
    return run


def summarize_requests(requests):
    """Counts by kind, method, resource type and status (the request log of one run)."""
    counts = Counter("%s %s %s %s" % (r.get("kind"), r.get("method"), r.get("resource_type"), r.get("status"))
                     for r in requests if r.get("kind") != "control")
    return dict(counts.most_common())


# ---------------------------------------------------------------------------------------------------- A. sizes
def size_inventory(workdir, n):
    """Inventory for one cluster with n workloads over ceil(n/10) accounts; returns (path, managed ARM resources)."""
    accounts = ["stbench%02dn%03d" % (a + 1, n) for a in range(math.ceil(n / 10))]
    rg, cluster_rg = "rg-bench-%d" % n, "rg-bench-aks-%d" % n
    workloads = []
    for i in range(n):
        name = "wl%02d" % (i + 1)
        workloads.append({"name": name, "namespace": "bench-" + name, "service_account": name + "-sa",
                          "storage_account": accounts[i // 10], "resource_group": rg, "container": name,
                          "access": "readwrite" if i % 2 == 0 else "read", "identity": {"name": "id-" + name},
                          "volume": {"size": "1Gi"}})
    group_vars = {
        "keyless_resource_group": rg, "keyless_cluster_resource_group": cluster_rg, "keyless_location": LOCATION,
        "keyless_cluster_create": True,
        "keyless_kubeconfig_path": "{{ inventory_dir }}/../kubeconfig-{{ inventory_hostname }}.yaml",
        "keyless_helm_binary": "{{ lookup('ansible.builtin.env', 'KEYLESS_HELM_BINARY') }}",
        "keyless_tags": {"environment": "bench", "managed-by": "keyless.aks_storage"},
        "keyless_storage_accounts": [{"name": a, "blob_soft_delete_days": 7} for a in accounts],
        "keyless_workloads": workloads}
    hosts = {"aks_clusters": {"hosts": {"bench-aks-%d" % n: {
        "ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}}}}
    inventory = workdir / "inventory"
    write_json(inventory / "hosts.json", hosts)
    write_json(inventory / "group_vars" / "aks_clusters.json", group_vars)
    # What site.yml manages in ARM: both resource groups (storage and identities share one), the accounts, and per
    # workload its container, identity, federated credential and data role assignment; plus the cluster.
    managed = {"resource_groups": 2, "storage_accounts": len(accounts), "containers": n, "identities": n,
               "federated_credentials": n, "role_assignments": n, "clusters": 1}
    return inventory, managed


def bench_size(n, timeout):
    workdir = BENCH / str(n)
    if workdir.exists():
        shutil.rmtree(workdir)
    inventory, managed = size_inventory(workdir, n)
    result = {"n": n, "managed": managed, "managed_total": sum(managed.values()), "runs": [], "doctor": []}
    sbx = client.start(str(workdir / "sandbox"))
    try:
        for label in ("converge", "noop"):
            run = run_playbook(sbx, workdir, label, inventory, REPO / "playbooks" / "site.yml", timeout)
            result["runs"].append(run)
            if run["rc"] != 0:
                break
        else:  # the doctor against the chain site.yml converged, with the same inventory
            report_dir = workdir / "doctor-reports"
            for label, probe in DOCTOR_RUNS:
                if report_dir.exists():
                    shutil.rmtree(report_dir)  # only this run's report is read
                extra = ["-e", "doctor_report_dir=%s" % report_dir] + ([] if probe else ["-e", "doctor_probe=false"])
                run = run_playbook(sbx, workdir, label, inventory, REPO / "playbooks" / "doctor.yml", timeout, extra)
                run["doctor"] = doctor_summary(run, report_dir, n, probe)
                result["doctor"].append(run)
        result["state_types"] = dict(Counter(r.get("type") for r in sbx.state().get("resources", [])))
    finally:
        sbx.stop()
    return result


def size_rows(results):
    rows = []
    for res in results:
        for run in res["runs"]:
            c, k = run["counters"], run["counters"].get("kubernetes", {})
            noop = run["label"] == "noop"
            rows.append([res["n"], run["label"], fmt(run["rc"]), run["seconds"], run["changed"], run["tasks"],
                         "%d (%d)" % (run["processes"], run["azure_processes"]), sum(run["helm"].values()),
                         c["reads"], c["writes"], c["list_keys"], c["lro_polls"], c["token_requests"],
                         c["metadata_requests"], run["discovery"], "%d/%d" % (k.get("reads", 0), k.get("writes", 0)),
                         res["managed_total"], ratio(c["reads"], res["managed_total"]) if noop else None,
                         ratio(c["token_requests"], run["azure_processes"])])
    return rows


SIZE_HEADERS = ["N", "run", "rc", "wall s", "changed", "tasks", "procs (az)", "helm", "ARM reads", "writes",
                "listKeys", "LRO polls", "tokens", "metadata", "OIDC disc", "k8s r/w", "ARM res", "reads/res",
                "tokens/az proc"]


# ---------------------------------------------------------------------------------------------------- A. doctor
DOCTOR_RUNS = (("doctor", True), ("doctor-noprobe", False))  # label, probe (the playbook's default: on)
STATUSES = ("ok", "warn", "fail", "unknown")


def doctor_summary(run, report_dir, n, probe):
    """Links, statuses and requests of one doctor.yml run (its report JSON and the sandbox counters), and what makes
    it fail the bench: rc, no report, any write or listKeys, any link not ok (the bench's chain is healthy)."""
    c = run["counters"]
    kube, data = c.get("kubernetes") or {}, c.get("storage_data") or {}
    reports = sorted(Path(report_dir).glob("*/doctor-*.json"))
    links, self_reads = [], {}
    for path in reports:
        report = json.loads(path.read_text(encoding="utf-8"))
        links += report["links"]
        for kind, count in (report.get("reads") or {}).items():
            self_reads[kind] = self_reads.get(kind, 0) + count
    counts = {s: sum(1 for item in links if item["status"] == s) for s in STATUSES}
    requests = {"arm_reads": c["reads"], "arm_writes": c["writes"], "list_keys": c["list_keys"],
                "entra_tokens": c["token_requests"], "metadata": c["metadata_requests"],
                "k8s_reads": kube.get("reads", 0), "k8s_writes": kube.get("writes", 0),
                "token_requests": kube.get("token_requests", 0), "data_reads": data.get("reads", 0),
                "data_writes": data.get("writes", 0)}
    problems = []
    if run["rc"] != 0:
        problems.append("rc=%s" % run["rc"])
    if not reports:
        problems.append("no report under %s" % report_dir)
    writes = {k: requests[k] for k in ("arm_writes", "k8s_writes", "list_keys", "data_writes") if requests[k]}
    if writes:
        problems.append("not read-only: %s" % ", ".join("%s %d" % kv for kv in writes.items()))
    not_ok = [item for item in links if item["status"] != "ok"]
    if not_ok:
        problems.append("%d link(s) not ok: %s" % (len(not_ok), "; ".join(
            "%s%s %s (%s)" % (item["link"], "[%s]" % item["workload"] if item["workload"] else "", item["status"],
                              item["summary"]) for item in not_ok[:5])))
    # The module counts its own requests; they should be the sandbox's (a difference is worth a look, not a failure).
    sandbox_view = {"azure": requests["arm_reads"], "kubernetes": requests["k8s_reads"],
                    "token_requests": requests["token_requests"], "data_plane": requests["data_reads"]}
    mismatch = {k: (self_reads.get(k), v) for k, v in sandbox_view.items() if self_reads and self_reads.get(k) != v}
    summary = {"probe": probe,
               "reports": [str(p) for p in reports], "links": len(links), "counts": counts,
               "not_ok": [{k: item.get(k) for k in ("link", "workload", "status", "summary")} for item in not_ok],
               "requests": requests, "self_reads": self_reads, "self_mismatch": mismatch,
               "per_workload": {k: ratio(requests[k], n)
                                for k in ("arm_reads", "k8s_reads", "token_requests", "data_reads")},
               "problems": problems}
    log("%s: %d links (%s); ARM reads %d, writes %d, listKeys %d; Kubernetes reads %d, writes %d, TokenRequests %d; "
        "Entra tokens %d; data reads %d, writes %d%s"
        % (run["label"], len(links), ", ".join("%d %s" % (counts[s], s) for s in STATUSES), requests["arm_reads"],
           requests["arm_writes"], requests["list_keys"], requests["k8s_reads"], requests["k8s_writes"],
           requests["token_requests"], requests["entra_tokens"], requests["data_reads"], requests["data_writes"],
           "; FAILED: " + " | ".join(problems) if problems else ""))
    if mismatch:
        log("%s: the module's own request counts differ from the sandbox's (module, sandbox): %s"
            % (run["label"], mismatch))
    return summary


def doctor_rows(results):
    rows = []
    for res in results:
        for run in res.get("doctor", []):
            d = run["doctor"]
            q, per = d["requests"], d["per_workload"]
            reads = q["arm_reads"] + q["k8s_reads"]
            rows.append([res["n"], "yes" if d["probe"] else "no", fmt(run["rc"]), run["seconds"], d["links"],
                         "/".join(str(d["counts"][s]) for s in STATUSES), q["arm_reads"], per["arm_reads"],
                         q["k8s_reads"], per["k8s_reads"], q["token_requests"], q["entra_tokens"], q["data_reads"],
                         ratio(reads, d["links"]), q["arm_writes"], q["list_keys"], q["k8s_writes"],
                         q["data_writes"], "OK" if not d["problems"] else "FAIL"])
    return rows


DOCTOR_HEADERS = ["N", "probe", "rc", "wall s", "links", "ok/warn/fail/unk", "ARM reads", "ARM reads/wl",
                  "k8s reads", "k8s reads/wl", "TokenRequests", "Entra tokens", "data reads", "reads/link",
                  "ARM writes", "listKeys", "k8s writes", "data writes", "check"]


def doctor_growth(results):
    """Requests and links added per added workload between consecutive sizes, per doctor run."""
    lines = []
    for label, _probe in DOCTOR_RUNS:
        points = [(res["n"], run["doctor"]) for res in results for run in res.get("doctor", [])
                  if run["label"] == label]
        steps = []
        for (n0, a), (n1, b) in zip(points, points[1:]):
            if n1 == n0:
                continue
            delta = {k: (b["requests"][k] - a["requests"][k]) / (n1 - n0)
                     for k in ("arm_reads", "k8s_reads", "token_requests", "data_reads")}
            steps.append("N=%d->%d: +%.1f links, +%.1f ARM reads, +%.1f k8s reads, +%.1f TokenRequests, "
                         "+%.1f data reads" % (n0, n1, (b["links"] - a["links"]) / (n1 - n0), delta["arm_reads"],
                                               delta["k8s_reads"], delta["token_requests"], delta["data_reads"]))
        if steps:
            lines.append("- %s, per added workload: %s" % (label, "; ".join(steps)))
    return lines


def per_task_rows(run):
    """The no-op run's tasks that start processes or send requests, aggregated by task name."""
    rows = {}
    for e in run["events"]:
        procs, req = module_processes(e), e["requests"]
        row = rows.setdefault(e["task"], [e["task"][:60], e["action"].replace(FQ, ""), 0, 0.0, 0, 0, 0, 0])
        row[2] += procs
        row[3] += e["seconds"]
        row[4] += req.get("reads", 0)
        row[5] += req.get("token_requests", 0)
        row[6] += req.get("metadata_requests", 0)
        row[7] += req.get("k8s_reads", 0)
    return [r for r in rows.values() if r[2] or any(r[4:])]


# ---------------------------------------------------------------------------------------------------- B. cold start
def cold_start_playbook(workdir, repeat):
    rg, ident, account, cluster = "rg-bench-cold", "id-bench-cold", "stbenchcold01", "aks-bench-cold"
    args = {
        "resource_group": {"name": rg, "location": LOCATION},
        "managed_identity": {"resource_group": rg, "name": ident, "location": LOCATION},
        "keyless_storage_account": {"resource_group": rg, "name": account, "location": LOCATION,
                                    "containers": ["cold"]},
        "aks_oidc_cluster": {"resource_group": rg, "name": cluster, "create": True, "location": LOCATION,
                             "kubeconfig_path": "{{ inventory_dir }}/../kubeconfig-cold.yaml"},
        "federated_credential": {"resource_group": rg, "identity_name": ident, "name": cluster + "-cold-cold-sa",
                                 "issuer": "{{ bench_cluster.oidc_issuer_url }}", "namespace": "cold",
                                 "service_account": "cold-sa"},
        "role_assignment": {"storage_account": account, "resource_group": rg, "container": "cold",
                            "role": "Storage Blob Data Contributor",
                            "principal_id": "{{ bench_identity.principal_id }}"},
    }
    register = {"managed_identity": "bench_identity", "aks_oidc_cluster": "bench_cluster"}
    order = ["resource_group", "managed_identity", "keyless_storage_account", "aks_oidc_cluster",
             "federated_credential", "role_assignment"]
    assert sorted(order) == sorted(MODULES)
    tasks = []
    for module in order:
        task = {"name": "create %s" % module, FQ + module: args[module]}
        if module in register:
            task["register"] = register[module]
        tasks.append(task)
    for i in range(repeat):  # round robin, so machine load drifts affect every module alike
        for module in [*order, "ping"]:
            action = "ansible.builtin.ping" if module == "ping" else FQ + module
            tasks.append({"name": "noop %s #%d" % (module, i + 1), action: args.get(module, {})})
    playbook = workdir / "cold_start.json"
    write_json(playbook, [{"name": "Module cold start", "hosts": "bench", "gather_facts": False, "tasks": tasks}])
    inventory = workdir / "inventory" / "hosts.json"
    write_json(inventory, {"all": {"hosts": {"bench-cold": {
        "ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}}},
        "bench": {"hosts": {"bench-cold": {}}}})
    return inventory, playbook


def bench_cold_start(repeat, timeout):
    workdir = BENCH / "cold_start"
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    inventory, playbook = cold_start_playbook(workdir, repeat)
    sbx = client.start(str(workdir / "sandbox"))
    try:
        run = run_playbook(sbx, workdir, "cold_start", inventory, playbook, timeout)
    finally:
        sbx.stop()
    per_module = {}
    for e in run["events"]:
        if e["task"].startswith("noop "):
            per_module.setdefault(e["task"].split()[1], []).append(e)
    summary = {}
    for module, events in per_module.items():
        summary[module] = dict(
            calls=len(events), changed=sum(e["changed"] for e in events),
            failed=sum(e["status"] != "ok" for e in events),
            seconds=[e["seconds"] for e in events], median=median([e["seconds"] for e in events]),
            **{k: median([e["requests"].get(k, 0) for e in events])
               for k in ("reads", "writes", "token_requests", "metadata_requests")})
    return {"rc": run["rc"], "seconds": run["seconds"], "modules": summary, "counters": run["counters"],
            "request_summary": run["request_summary"]}


def cold_start_rows(cold):
    ping = (cold["modules"].get("ping") or {}).get("median")
    rows = []
    for module in (*MODULES, "ping"):
        m = cold["modules"].get(module)
        if not m:
            rows.append([module] + [None] * 9)
            continue
        rows.append([module, m["calls"], m["changed"], m["median"], min(m["seconds"]), max(m["seconds"]),
                     "%.1fx" % ratio(m["median"], ping) if ping else None, m["reads"], m["token_requests"],
                     m["metadata_requests"]])
    return rows


COLD_HEADERS = ["module", "no-op calls", "changed", "median s", "min s", "max s", "x ping", "ARM reads/call",
                "tokens/call", "metadata/call"]


# ---------------------------------------------------------------------------------------------------- C. imports
def module_clients(module):
    """Client names (CLIENTS keys) a module calls and the attribute names it uses, from its source and the source of
    the collection module_utils it imports."""
    source = (REPO / "plugins" / "modules" / (module + ".py")).read_text(encoding="utf-8")
    texts = [source]
    for util, name in re.findall(r"plugins\.module_utils(?:\.(\w+))? import \(?\s*(\w+)", source):
        path = REPO / "plugins" / "module_utils" / ((util or name) + ".py")
        if path.exists():
            texts.append(path.read_text(encoding="utf-8"))
    names = []
    for text in texts:
        names += [n for n in re.findall(r"\.client\(\s*[\"'](\w+)[\"']", text) if n not in names]
    return names, sorted(set(re.findall(r"\.([a-z][a-z0-9_]+)\b", "\n".join(texts))))


BASE = ["azure.core", "azure.identity"]
BASELINES = ("baseline", "bare")


def import_variants():
    """Stages per probe. Every module process imports ansible.module_utils.basic first, so "own" (what the budget
    judges) is measured after it, and so is "baseline"; "bare" is azure.core + azure.identity in an empty process."""
    sys.path.insert(0, str(COLLECTIONS))
    azure_module = importlib.import_module(UTILS_PKG + "azure_module")
    clients = azure_module.CLIENTS
    ansible = ["ansible", ["ansible.module_utils.basic"], [], []]
    variants = {"baseline": [ansible, ["own", BASE, [], []]], "bare": [["own", BASE, [], []]]}
    info = {"baseline": BASE, "bare": BASE}
    for module in MODULES:
        names, attrs = module_clients(module)
        targets = ["%s:%s" % clients[n][:2] for n in names]
        tenant = ["%s:%s" % clients[n][:2] for n in names if n in azure_module.TENANT_CLIENTS]
        variants[module] = [ansible, ["own", [MODULE_PKG + module, *targets, "azure.identity"], [], []],
                            ["init", targets, attrs, tenant]]
        info[module] = names
    return variants, info


def probe_imports(stages):
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(COLLECTIONS), env.get("PYTHONPATH")) if p)
    cmd = [sys.executable, "-X", "importtime", "-c", IMPORT_PROBE, json.dumps(stages)]
    rc, out, err, _seconds = run_bounded(cmd, env, REPO, IMPORT_TIMEOUT)
    if rc != 0:
        raise RuntimeError("import probe failed (rc=%s): %s" % (rc, "\n".join(err.splitlines()[-10:])))
    cumulative, stage = Counter(), None
    for line in err.splitlines():
        if line.startswith("BENCH-STAGE "):
            stage = line.split()[1]
            continue
        match = IMPORTTIME.match(line)
        if match and stage and len(match.group(3)) == 1:  # top-level imports only (nested ones are in them)
            cumulative[stage] += int(match.group(2))
    return json.loads(out), dict(cumulative)


def bench_imports(repeat):
    variants, clients = import_variants()
    samples = {name: [] for name in variants}
    for _round in range(repeat):  # round robin over the variants
        for name, stages in variants.items():
            samples[name].append(probe_imports(stages))
    result = {}
    for name, runs in samples.items():
        stage_ms = {stage: median([w[stage] * 1000 for w, _c in runs if stage in w])
                    for stage in ("own", "ansible", "init")}
        result[name] = {"clients": clients[name], "own_ms": stage_ms["own"], "ansible_ms": stage_ms["ansible"],
                        "init_ms": stage_ms["init"], "own_importtime_us": median([c.get("own", 0) for _w, c in runs]),
                        "samples": runs}
    for res in result.values():
        res["ratio"] = ratio(res["own_ms"], result["baseline"]["own_ms"])
        res["ratio_bare"] = ratio(res["own_ms"], result["bare"]["own_ms"])
        # The budget compares with the bare azure-core + azure-identity import; the stricter comparison
        # with the same import after ansible.module_utils.basic is reported beside it.
        res["verdict"] = "PASS" if res["ratio_bare"] <= IMPORT_BUDGET else "OVER"
        res["verdict_strict"] = "PASS" if res["ratio"] <= IMPORT_BUDGET else "OVER"
    return result


def import_rows(imports):
    rows = []
    for name in BASELINES + MODULES:
        r = imports[name]
        rows.append([name, ", ".join(r["clients"]), r["own_ms"], int(r["own_importtime_us"]), "%.2fx" % r["ratio"],
                     "%.2fx" % r["ratio_bare"], "-" if name in BASELINES else r["verdict"],
                     "-" if name in BASELINES else r["verdict_strict"], r["ansible_ms"], r["init_ms"]])
    return rows


IMPORT_HEADERS = ["module", "imports (clients)", "own ms", "importtime us", "x baseline", "x bare",
                  "budget 1.5x bare", "1.5x baseline", "ansible basic ms", "client init ms"]


# ---------------------------------------------------------------------------------------------------- D. fleet
FLEET_RG, FLEET_CLUSTER_RG, FLEET_ACCOUNT = "rg-fleet", "rg-fleet-aks", "stfleet01"
FLEET_LABELS = ("converge", "noop")
# Per-cluster figures (run totals divided by the number of clusters) the larger fleets must not exceed. arm_requests:
# ARM reads + writes (LRO polls apart; rejected writes included).
FLEET_COMPARED = ("arm_requests", "arm_reads", "arm_writes", "list_keys", "entra_tokens", "k8s_reads", "k8s_writes",
                  "k8s_token_requests", "processes")
# Shown but not judged in the converge run: with forks, which cluster creates a shared resource and which ones find
# it created (or half-created) by another cluster's process depends on timing, and the two read differently (the
# storage account module lists the containers only of an account that existed; creating a resource group or an
# account reads the locations instead). Measured: 1 cluster 17.0 ARM reads, 10 clusters 15.9, 16.2, 16.4 and 17.2
# per cluster in four runs. arm_requests (reads + writes) holds them to the single cluster's figure; the no-op run
# judges arm_reads like the others.
FLEET_RACY = {("converge", "arm_reads")}
# Figures counted per cluster from the request log (Kubernetes: the cluster's API server; ARM: its managed cluster
# and its federated credentials, writes rejected with 409 by the concurrency guard on an identity left out) and from
# the callback's events (processes); their maximum over the clusters is compared too.
FLEET_OWN = ("k8s_reads", "k8s_writes", "k8s_token_requests", "arm_reads", "arm_writes_accepted", "processes")


def fleet_host(i):
    return "fleet-aks-%02d" % (i + 1)


def fleet_inventory(workdir, clusters, workloads):
    """An inventory of `clusters` clusters (hosts of aks_clusters with a local connection, as inventories/sandbox),
    each with its own kubeconfig (host variable). As in a real fleet (and tests/integration/test_fleet_teardown.py)
    they share through group_vars the resource groups, one storage account and, per workload, its container,
    identity and data role assignment; each cluster adds its own managed cluster and one federated credential per
    workload. Returns (inventory path, host names, managed ARM resources)."""
    workloads_ = []
    for i in range(workloads):
        name = "wl%02d" % (i + 1)
        workloads_.append({"name": name, "namespace": "fleet-" + name, "service_account": name + "-sa",
                           "storage_account": FLEET_ACCOUNT, "resource_group": FLEET_RG, "container": name,
                           "access": "readwrite" if i % 2 == 0 else "read", "identity": {"name": "id-" + name},
                           "volume": {"size": "1Gi"}})
    group_vars = {
        "keyless_resource_group": FLEET_RG, "keyless_cluster_resource_group": FLEET_CLUSTER_RG,
        "keyless_location": LOCATION, "keyless_cluster_create": True,
        "keyless_helm_binary": "{{ lookup('ansible.builtin.env', 'KEYLESS_HELM_BINARY') }}",
        "keyless_tags": {"environment": "bench", "managed-by": "keyless.aks_storage"},
        "keyless_storage_accounts": [{"name": FLEET_ACCOUNT, "blob_soft_delete_days": 7}],
        "keyless_workloads": workloads_}
    hosts = [fleet_host(i) for i in range(clusters)]
    inventory = workdir / "inventory"
    write_json(inventory / "hosts.json", {"aks_clusters": {"hosts": {host: {
        "ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}",
        "keyless_kubeconfig_path": str(workdir / ("kubeconfig-%s.yaml" % host))} for host in hosts}}})
    write_json(inventory / "group_vars" / "aks_clusters.json", group_vars)
    managed = {"resource_groups": 2, "storage_accounts": 1, "containers": workloads, "identities": workloads,
               "role_assignments": workloads, "clusters": clusters, "federated_credentials": clusters * workloads}
    return inventory, hosts, managed


def arm_owner(path, hosts):
    """The cluster an ARM request is about (its managed cluster, or one of its federated credentials, which are named
    <cluster>-<workload>-<service account>); None for what the clusters share."""
    path = path.lower()
    for host in hosts:
        if re.search(r"/managedclusters/%s(/|$)" % re.escape(host), path) \
                or "/federatedidentitycredentials/%s-" % host in path:
            return host
    return None


def fleet_attribution(requests, hosts, slugs):
    """Requests of one run per cluster (Kubernetes by the API server's slug; ARM by arm_owner) and shared. Kubernetes
    requests are counted as the sandbox's hub counts them: 401/403 answers not at all, TokenRequests apart."""
    per = {host: Counter() for host in hosts}
    shared = Counter()
    for r in requests:
        kind, method, path = r.get("kind"), r.get("method"), r.get("path") or ""
        if kind == "kubernetes":
            parts = path.split("/")
            host = slugs.get(parts[2]) if len(parts) > 2 else None
            if host not in per or r.get("status") in (401, 403):
                shared["k8s_not_counted"] += 1
                continue
            if method == "POST" and path.rstrip("/").endswith("/token"):
                key = "k8s_token_requests"
            else:
                key = "k8s_reads" if method in ("GET", "HEAD") else "k8s_writes"
            per[host][key] += 1
        elif kind in ("read", "write", "poll"):
            key = {"read": "arm_reads", "write": "arm_writes", "poll": "lro_polls"}[kind]
            owner = arm_owner(path, hosts)
            target = per[owner] if owner else shared
            target[key] += 1
            if kind == "write":
                target["arm_writes_rejected" if (r.get("status") or 0) >= 400 else "arm_writes_accepted"] += 1
    return {h: dict(c) for h, c in per.items()}, dict(shared)


def fleet_summary(run, requests, complete, hosts, slugs, managed):
    """Totals, per-cluster figures, what each cluster did on its own and what makes the run fail the bench."""
    c, n = run["counters"], len(hosts)
    kube = c.get("kubernetes") or {}
    totals = {"arm_reads": c["reads"], "arm_writes": c["writes"], "list_keys": c["list_keys"],
              "lro_polls": c["lro_polls"], "entra_tokens": c["token_requests"], "metadata": c["metadata_requests"],
              "k8s_reads": kube.get("reads", 0), "k8s_writes": kube.get("writes", 0),
              "k8s_token_requests": kube.get("token_requests", 0), "processes": run["processes"],
              "azure_processes": run["azure_processes"], "helm": sum(run["helm"].values()),
              "discovery": run["discovery"], "arm_requests": c["reads"] + c["writes"]}
    per_host, shared = fleet_attribution(requests, hosts, slugs)
    totals["arm_writes_rejected"] = shared.get("arm_writes_rejected", 0) + sum(
        per_host[h].get("arm_writes_rejected", 0) for h in hosts)
    for host in hosts:
        events = [e for e in run["events"] if e["host"] == host]
        per_host[host]["processes"] = sum(module_processes(e) for e in events)
        per_host[host]["azure_processes"] = sum(module_processes(e) for e in events if e["action"].startswith(FQ))
    own_range = {k: (min(per_host[h].get(k, 0) for h in hosts), max(per_host[h].get(k, 0) for h in hosts))
                 for k in FLEET_OWN + ("azure_processes",)}
    problems = []
    if run["rc"] != 0:
        problems.append("rc=%s" % run["rc"])
    if run["label"] == "noop":
        writes = {k: totals[k] for k in ("arm_writes", "k8s_writes", "list_keys") if totals[k]}
        if writes:
            problems.append("the no-op run is not read-only: %s" % ", ".join("%s %d" % kv for kv in writes.items()))
    elif totals["list_keys"]:
        problems.append("listKeys %d" % totals["list_keys"])
    if not complete:
        problems.append("the sandbox's request log lost entries (over its limit): per-cluster counts incomplete")
    for key in ("k8s_reads", "k8s_writes", "k8s_token_requests"):  # the attribution must account for every request
        counted = sum(per_host[h].get(key, 0) for h in hosts)
        if complete and counted != totals[key]:
            problems.append("%s: %d attributed to clusters, %d counted by the sandbox" % (key, counted, totals[key]))
    return {"clusters": n, "managed": managed, "managed_total": sum(managed.values()), "totals": totals,
            "per_cluster": {k: v / n for k, v in totals.items()}, "per_host": per_host, "shared": shared,
            "own_range": own_range, "log_complete": complete,
            "token_grants": {g: v / n for g, v in (c.get("token_requests_by_grant") or {}).items()},
            "problems": problems}


def bench_fleet(clusters, workloads, forks, timeout):
    workdir = BENCH / "fleet" / str(clusters)
    if workdir.exists():
        shutil.rmtree(workdir)
    inventory, hosts, managed = fleet_inventory(workdir, clusters, workloads)
    result = {"clusters": clusters, "workloads": workloads, "forks": forks, "hosts": hosts, "runs": []}
    sbx = client.start(str(workdir / "sandbox"))
    try:
        for label in FLEET_LABELS:
            since = sbx.call("GET", "/requests", query={"since": 1 << 40})["next"]
            run = run_playbook(sbx, workdir, label, inventory, REPO / "playbooks" / "site.yml", timeout,
                               ["-f", str(forks)], task_counters=False)
            requests = sbx.requests(since)
            complete = not requests or requests[0]["index"] <= since
            slugs = {c["slug"]: c["id"].rstrip("/").rsplit("/", 1)[-1].lower() for c in sbx.kube_clusters()}
            run["fleet"] = fleet_summary(run, requests, complete, hosts, slugs, managed)
            result["runs"].append(run)
            f = run["fleet"]
            log("fleet %d: %s: per cluster ARM reads %.1f, writes %.1f, listKeys %.1f, Entra tokens %.1f, Kubernetes "
                "reads %.1f, writes %.1f, TokenRequests %.1f, processes %.1f%s"
                % (clusters, label, *(f["per_cluster"][k] for k in (
                    "arm_reads", "arm_writes", "list_keys", "entra_tokens", "k8s_reads", "k8s_writes",
                    "k8s_token_requests", "processes")),
                   "; FAILED: " + " | ".join(f["problems"]) if f["problems"] else ""))
            if run["rc"] != 0:
                break
        result["state_types"] = dict(Counter(r.get("type") for r in sbx.state().get("resources", [])))
    finally:
        sbx.stop()
    return result


def fleet_compare(fleets):
    """Each larger fleet against the smallest: per-cluster figures (totals / clusters, FLEET_COMPARED) and the most
    any one cluster did on its own (FLEET_OWN), per run; more than the smallest fleet's fails. Also wall time ratios."""
    base = min(fleets, key=lambda f: f["clusters"])
    rows, problems, ratios = [], [], {}
    for fleet in fleets:
        if fleet is base:
            continue
        for label in FLEET_LABELS:
            a = next((r for r in base["runs"] if r["label"] == label), None)
            b = next((r for r in fleet["runs"] if r["label"] == label), None)
            if a is None or b is None:
                problems.append("%d clusters %s: missing run to compare" % (fleet["clusters"], label))
                continue
            ratios["%s %d/%d" % (label, fleet["clusters"], base["clusters"])] = ratio(b["seconds"], a["seconds"])
            pairs = [((k, "%s per cluster" % k), a["fleet"]["per_cluster"][k], b["fleet"]["per_cluster"][k])
                     for k in FLEET_COMPARED]
            pairs += [((("own", k), "%s of the busiest cluster" % k), a["fleet"]["own_range"][k][1],
                       b["fleet"]["own_range"][k][1]) for k in FLEET_OWN]
            for (key, what), x, y in pairs:
                ok = y <= x + 1e-9
                if (label, key) in FLEET_RACY:
                    rows.append([label, what, x, y, "ok (not judged)" if ok else "more (not judged)"])
                    continue
                rows.append([label, what, x, y, "OK" if ok else "MORE"])
                if not ok:
                    problems.append("%s: %s %.2f with %d clusters > %.2f with %d" % (
                        label, what, y, fleet["clusters"], x, base["clusters"]))
    return {"base": base["clusters"], "rows": rows, "problems": problems, "wall_ratios": ratios}


def fleet_rows(fleets):
    rows = []
    for fleet in fleets:
        for run in fleet["runs"]:
            f = run["fleet"]
            p, rng = f["per_cluster"], f["own_range"]
            rows.append([fleet["clusters"], run["label"], fmt(run["rc"]), run["seconds"], run["changed"],
                         "%.1f (%.1f)" % (p["processes"], p["azure_processes"]), p["helm"], p["arm_reads"],
                         p["arm_writes"], p["arm_writes_rejected"], p["list_keys"], p["lro_polls"], p["entra_tokens"],
                         p["metadata"], p["k8s_reads"], p["k8s_writes"], p["k8s_token_requests"],
                         "%d-%d/%d-%d" % (rng["k8s_reads"] + rng["k8s_writes"]),
                         "OK" if not f["problems"] else "FAIL"])
    return rows


FLEET_HEADERS = ["clusters", "run", "rc", "wall s", "changed", "procs/cl (az)", "helm/cl", "ARM reads/cl",
                 "ARM writes/cl", "of them 409/cl", "listKeys/cl", "LRO polls/cl", "Entra tokens/cl", "metadata/cl",
                 "k8s reads/cl", "k8s writes/cl", "k8s TokenReq/cl", "k8s r/w range", "check"]


def token_grants_text(runs):
    """Entra token grants per cluster of each fleet run, as one line."""
    return "; ".join("%d clusters %s: %s" % (r["clusters"], run["label"], ", ".join(
        "%s %.1f" % kv for kv in sorted(run["fleet"]["token_grants"].items()))) for r in runs for run in r["runs"])


def fleet_report(fleet):
    runs = fleet["runs"]
    parts = ["## D. Fleet: site.yml over %s clusters, %d workloads each, forks %d, converge and no-op re-run"
             % (" and ".join(str(r["clusters"]) for r in runs), runs[0]["workloads"], runs[0]["forks"]), "",
             table(FLEET_HEADERS, fleet_rows(runs)), "",
             "Every figure but wall s, changed and the range is per cluster: the run's total (sandbox counters, "
             "callback events) divided by the number of clusters. The clusters share through group_vars the two "
             "resource groups, storage account %s, and per workload its container, identity and data role "
             "assignment (as a real fleet does); each has its own managed cluster, kubeconfig and one federated "
             "credential per workload. of them 409: ARM writes rejected (federated credential writes on one identity "
             "by clusters at once: Azure's ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity, "
             "retried by the module). Entra tokens: token endpoint requests (grants per cluster: %s). k8s r/w "
             "range: fewest-most Kubernetes reads / writes one cluster's API server received (request log). check: "
             "FAIL on rc != 0, any listKeys, any ARM or Kubernetes write in the no-op run."
             % (FLEET_ACCOUNT, token_grants_text(runs)), ""]
    cmp_ = fleet["comparison"]
    if cmp_["rows"]:
        parts += ["### Per cluster: the larger fleets against %d cluster(s) (more fails the bench)" % cmp_["base"], "",
                  "Wall time ratios: " + ", ".join(
                      "%s %.2fx" % (k, v) for k, v in cmp_["wall_ratios"].items() if v is not None), "",
                  table(["run", "compared", "%d cluster(s)" % cmp_["base"], "larger fleet", "check"], cmp_["rows"]),
                  "", "per cluster: run total / clusters (arm_requests: ARM reads + writes, LRO polls apart); of the "
                  "busiest cluster: the most one cluster received on its own (Kubernetes: its API server; ARM: its "
                  "managed cluster and federated credentials, shared resources excluded, arm_writes_accepted: "
                  "writes not rejected; processes: task results of its host). Not judged: the converge run's "
                  "arm_reads alone, which depend on how the forks' requests for the shared resources interleave "
                  "(a cluster that finds the storage account created by another lists its containers, one that "
                  "creates it reads the locations instead); arm_requests bounds them.", ""]
    return parts


# ---------------------------------------------------------------------------------------------------- E. audit
AUDIT_ARM_LISTS = 5  # storage accounts, resource groups, AKS clusters, role assignments, role definitions
AUDIT_KUBE_LISTS = 5  # Secrets, PVs, claims, StorageClasses, pods
KUBE_PAGE = 500


def pages(n, size):
    return max(1, math.ceil(n / size)) if size else 1


def audit_summary(run, report_dir, page_size):
    """Findings and requests of one audit.yml run, and what fails the bench: rc, any write or listKeys, requests
    that are not the pages of the listings."""
    c = run["counters"]
    kube = c.get("kubernetes") or {}
    path = Path(report_dir) / "keyless-audit.json"
    report = json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
    problems = ["rc=%s" % run["rc"]] if run["rc"] != 0 else []
    if report is None:
        return {"problems": problems + ["no report"]}
    cov = report["coverage"]
    cluster = cov["clusters"][0]
    expected_arm = sum(pages(cov[k], page_size) for k in (
        "storage_accounts", "resource_groups", "aks_clusters", "role_assignments", "role_definitions"))
    expected_kube = sum(pages(cluster.get(k, 0), KUBE_PAGE) for k in (
        "secrets", "persistent_volumes", "persistent_volume_claims", "storage_classes", "pods"))
    if c["writes"] or kube.get("writes") or c["list_keys"]:
        problems.append("wrote (%d ARM, %d Kubernetes, %d listKeys)" % (c["writes"], kube.get("writes", 0),
                                                                        c["list_keys"]))
    if report["requests"] != {"azure": expected_arm, "kubernetes": expected_kube}:
        problems.append("requests %s, not the listings' pages %s" % (
            report["requests"], {"azure": expected_arm, "kubernetes": expected_kube}))
    if c["reads"] != expected_arm or kube.get("reads", 0) != expected_kube:
        problems.append("sandbox counted %d ARM and %d Kubernetes reads, not %d and %d" % (
            c["reads"], kube.get("reads", 0), expected_arm, expected_kube))
    return {"problems": problems, "findings": report["summary"]["total"],
            "by_severity": report["summary"]["by_severity"], "coverage": cov, "requests": report["requests"],
            "tokens": c["token_requests"], "expected": {"azure": expected_arm, "kubernetes": expected_kube}}


def bench_audit(args):
    workdir = BENCH / "audit"
    if workdir.exists():
        shutil.rmtree(workdir)
    inventory, _managed = size_inventory(workdir, 1)
    result = {"runs": [], "seed": None}
    sbx = client.start(str(workdir / "sandbox"))
    try:
        converge = run_playbook(sbx, workdir, "audit-converge", inventory, REPO / "playbooks" / "site.yml",
                                args.timeout, task_counters=False)
        if converge["rc"] != 0:
            return dict(result, problems=["site.yml did not converge"])
        plan = [("chain", 0, None), ("seeded", 0, True),
                ("seeded, ARM pages of %d" % args.audit_page_size, args.audit_page_size, None)]
        for label, page_size, seed in plan:
            if seed:
                cluster = next(r["id"] for r in sbx.state().get("resources", [])
                               if r.get("type") == "Microsoft.ContainerService/managedClusters")
                started = time.monotonic()
                seeded = sbx.seed(seed=7, cluster=cluster, storage_accounts=args.audit_accounts,
                                  role_assignments=args.audit_assignments, persistent_volumes=args.audit_pvs,
                                  secrets=args.audit_secrets, pods=args.audit_pods)
                result["seed"] = {"counts": seeded.get("counts"), "seconds": round(time.monotonic() - started, 2)}
            sbx.configure(page_size=page_size)
            report_dir = workdir / ("report-%d" % len(result["runs"]))
            run = run_playbook(sbx, workdir, "audit-%d" % len(result["runs"]), inventory,
                               REPO / "playbooks" / "audit.yml", args.timeout,
                               ["-e", "audit_report_dir=%s" % report_dir], task_counters=False)
            run["audit"] = audit_summary(run, report_dir, page_size)
            run["audit"]["label"], run["audit"]["page_size"] = label, page_size
            result["runs"].append(run)
    finally:
        sbx.stop()
    result["problems"] = ["%s: %s" % (r["audit"]["label"], p) for r in result["runs"] for p in r["audit"]["problems"]]
    return result


AUDIT_HEADERS = ["estate", "ARM page", "rc", "wall s", "accounts", "assignments", "secrets", "PVs", "pods",
                 "findings", "crit/high/med/low", "ARM pages", "k8s pages", "tokens", "check"]


def audit_rows(audit):
    rows = []
    for run in audit["runs"]:
        a = run["audit"]
        cov = a.get("coverage") or {"clusters": [{}]}
        cl = cov["clusters"][0]
        sev = a.get("by_severity") or {}
        rows.append([a["label"], a["page_size"] or "all", run["rc"], run["seconds"], cov.get("storage_accounts"),
                     cov.get("role_assignments"), cl.get("secrets"), cl.get("persistent_volumes"), cl.get("pods"),
                     a.get("findings"), "/".join(str(sev.get(s, 0)) for s in ("critical", "high", "medium", "low")),
                     (a.get("requests") or {}).get("azure"), (a.get("requests") or {}).get("kubernetes"),
                     a.get("tokens"), "FAIL: " + "; ".join(a["problems"]) if a["problems"] else "ok"])
    return rows


# ---------------------------------------------------------------------------------------------------- F. auth sources
AZCLI_DIR = BENCH / "azcli"
AUTH_SITE_SOURCES = ("env", "cli")
# Floor runs: source -> (playbook, auth source). cli-own: the same module tasks without the sign_in lookup,
# every module process signing in itself (the playbooks before issue 21).
AUTH_FLOOR_SOURCES = ("env", "cli", "cli-own", "ping")
AUTH_FLOOR_PLAN = {"env": ("module", "env"), "cli": ("module", "cli"), "cli-own": ("module-own", "cli"),
                   "ping": ("ping", "env")}
# What the cli runs leave out of the sandbox's environment (sbx.env()): the service principal. They keep
# AZURE_SUBSCRIPTION_ID (README: cli users set it once), AZURE_CLOUD_ENVIRONMENT and REQUESTS_CA_BUNDLE.
AUTH_SP_VARIABLES = ("AZURE_CLIENT_ID", "AZURE_SECRET", "AZURE_TENANT", "AZURE_CLIENT_SECRET", "AZURE_TENANT_ID")


def auth_floor_playbook(workdir, n, tasks, kind):
    """The ping floor: `tasks` no-op Azure module tasks on what site.yml converged with size_inventory(n) (the
    resource group, one identity), after the sign_in lookup as in site.yml (kind "module") or without it
    (kind "module-own"), or as many ansible.builtin.ping tasks (kind "ping")."""
    rg = "rg-bench-%d" % n
    body = []
    if kind == "module":  # kind "module-own": the module tasks without it
        body.append({"name": "Sign in once (as site.yml)", "ansible.builtin.set_fact": {
            "keyless_sign_in": "{{ lookup('keyless.aks_storage.sign_in') }}"}, "run_once": True, "no_log": True})
    for i in range(tasks):
        if kind == "ping":
            body.append({"name": "ping #%d" % (i + 1), "ansible.builtin.ping": {}})
        elif i % 2 == 0:  # module, module-own
            body.append({"name": "resource_group #%d" % (i + 1),
                         FQ + "resource_group": {"name": rg, "location": LOCATION}})
        else:
            body.append({"name": "managed_identity_info #%d" % (i + 1),
                         FQ + "managed_identity_info": {"resource_group": rg, "name": "id-wl01"}})
    play = {"name": "Auth floor (%s)" % kind, "hosts": "aks_clusters", "gather_facts": False, "tasks": body}
    if kind == "module":
        play["module_defaults"] = {"group/keyless.aks_storage.azure": {
            "sign_in": "{{ keyless_sign_in | default(omit) }}"}}
    path = workdir / ("floor-%s.json" % kind)
    write_json(path, [play])
    return path


def auth_env_patch(source, bindir, config_dir):
    """Environment changes of a run with auth source `source` (env, cli). Every run has the counting az first
    on PATH and the isolated AZURE_CONFIG_DIR, so an env run that calls az shows it too."""
    patch = {"PATH": "%s%s%s" % (bindir, os.pathsep, os.environ.get("PATH", "")), "AZURE_CONFIG_DIR": str(config_dir),
             "ANSIBLE_AZURE_AUTH_SOURCE": "cli" if source == "cli" else "env"}
    if source == "cli":
        patch.update({name: None for name in AUTH_SP_VARIABLES})
    return patch


def auth_summary(run, source, calls, blocked):
    """az calls (total, per play, subcommands), Entra tokens and metadata requests (total, per play), module
    processes, and what fails the bench (rc, a no-op that writes, an az request that would have left 127.0.0.1)."""
    c = run["counters"]
    kube = c.get("kubernetes") or {}
    plays = run["plays"]
    by_play = bench_azcli.per_play(calls, plays)
    tokens_by_play = bench_azcli.per_play([(r.get("time") or 0, "token") for r in run.pop("requests", [])
                                           if r.get("kind") == "token"], plays)
    summary = {"source": source, "plays": len(plays), "az_calls": len(calls),
               "az_by_play": [[name, len(subs)] for name, subs in by_play],
               "az_per_play_max": max([len(subs) for _n, subs in by_play] or [0]),
               "az_per_play_mean": ratio(len(calls), len(plays)),
               "az_subcommands": bench_azcli.subcommands([sub for _s, sub in calls]),
               "az_per_az_process": ratio(len(calls), run["azure_processes"]),
               "tokens": c["token_requests"], "tokens_by_play": [[n, len(t)] for n, t in tokens_by_play],
               "tokens_per_play": ratio(c["token_requests"], len(plays)), "metadata": c["metadata_requests"],
               "arm_reads": c["reads"], "writes": c["writes"] + kube.get("writes", 0) + c["list_keys"],
               "outbound_blocked": ["%s %s" % (a["method"], a["host"]) for a in blocked]}
    problems = ["rc=%s" % run["rc"]] if run["rc"] != 0 else []
    if summary["writes"]:
        problems.append("the no-op run wrote (%d ARM, %d Kubernetes, %d listKeys)" % (
            c["writes"], kube.get("writes", 0), c["list_keys"]))
    if blocked:
        problems.append("az tried to reach %s (stopped by the bench's guard proxy)" % ", ".join(
            sorted(set(summary["outbound_blocked"]))))
    summary["problems"] = problems
    return summary


def bench_auth(args):
    """Section F: site.yml no-op re-runs and the ping floor with auth_source env and cli (the Azure CLI signed in to
    the sandbox as a custom cloud), interleaved --auth-repeat times; see the module docstring."""
    workdir = BENCH / "auth"
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    result = {"site": [], "floor": [], "floor_tasks": args.auth_tasks}
    log("F: azure-cli in %s" % (AZCLI_DIR / "venv"))
    result["azure_cli"] = install = bench_azcli.ensure_azure_cli(AZCLI_DIR, sys.executable)
    if install["error"]:
        return dict(result, problems=["azure-cli could not be installed (%s; pip's output: %s)"
                                      % (install["error"], install.get("log"))])
    log("F: azure-cli %s (%s in %.0f s)" % (install["version"], "reused" if install["reused"] else "installed",
                                            install["seconds"]))
    for old in AZCLI_DIR.glob("config-*"):  # earlier runs' sign-ins (az keeps the secret in its config dir)
        shutil.rmtree(old, ignore_errors=True)
    inventory, _managed = size_inventory(workdir, 1)
    floor = {kind: auth_floor_playbook(workdir, 1, args.auth_tasks, kind) for kind in ("module", "module-own", "ping")}
    problems = []
    sbx = client.start(str(workdir / "sandbox"))
    config_dir = AZCLI_DIR / ("config-%s" % sbx.conn["pid"])
    try:
        with bench_azcli.OutboundGuard() as guard:
            bindir, calls_log = workdir / "azbin", workdir / "az-calls.log"
            az_env = bench_azcli.az_environment(config_dir, sbx.conn["ca_file"], guard.url)
            wrapper = bench_azcli.write_az_wrapper(bindir, install["az"], calls_log, az_env)
            az_python = Path(install["az"]).parent / "python"
            result["sign_in"] = signed = bench_azcli.sign_in(sbx, workdir, str(wrapper), str(az_python), config_dir,
                                                             guard)
            result["setup_outbound_blocked"] = ["%s %s" % (a["method"], a["host"]) for a in guard.attempts]
            if result["setup_outbound_blocked"]:
                problems.append("az tried to reach %s during the sign-in (stopped by the guard proxy)"
                                % ", ".join(sorted(set(result["setup_outbound_blocked"]))))
            if not signed["ok"]:
                return dict(result, problems=problems + ["Azure CLI sign-in to the sandbox: %s" % signed["problem"]])
            log("F: az signed in to the sandbox (cloud %s registered with %s)"
                % (bench_azcli.CLOUD_NAME, signed["cloud_registration"]))

            def measured(label, playbook, source):
                before, blocked_before = len(bench_azcli.az_calls(calls_log)), len(guard.attempts)
                run = run_playbook(sbx, workdir, label, inventory, playbook, args.timeout,
                                   env_patch=auth_env_patch(source, bindir, config_dir), keep_requests=True)
                run["auth"] = auth_summary(run, source, bench_azcli.az_calls(calls_log)[before:],
                                           guard.since(blocked_before))
                a = run["auth"]
                log("%s: %d plays, %d az calls (%s), %d Entra tokens, %d metadata, %d Azure module processes%s"
                    % (label, a["plays"], a["az_calls"], ", ".join("%s %d" % kv for kv in a["az_subcommands"].items())
                       or "none", a["tokens"], a["metadata"], run["azure_processes"],
                       "; FAILED: " + " | ".join(a["problems"]) if a["problems"] else ""))
                problems.extend("%s: %s" % (label, p) for p in a["problems"])
                return run

            site = REPO / "playbooks" / "site.yml"
            converge = run_playbook(sbx, workdir, "converge", inventory, site, args.timeout,
                                    env_patch=auth_env_patch("env", bindir, config_dir))
            result["converge"] = {k: converge[k] for k in ("rc", "seconds", "changed", "processes", "azure_processes")}
            if converge["rc"] != 0:
                return dict(result, problems=problems + ["site.yml did not converge (rc=%s)" % converge["rc"]])
            for i in range(args.auth_repeat):  # interleaved, so load drifts hit every source alike
                for source in AUTH_SITE_SOURCES:
                    result["site"].append(measured("noop-%s-%d" % (source, i + 1), site, source))
            for i in range(args.auth_repeat):
                for source in AUTH_FLOOR_SOURCES:
                    kind, auth_source = AUTH_FLOOR_PLAN[source]
                    result["floor"].append(measured("floor-%s-%d" % (source, i + 1), floor[kind], auth_source))
                    result["floor"][-1]["auth"]["source"] = source
    finally:
        sbx.stop()
        shutil.rmtree(config_dir, ignore_errors=True)  # it holds the service principal's secret (az's own store)
    for key in ("site", "floor"):
        for run in result[key]:
            run["events"] = []  # per-task events are not reported for F; results.json stays small
    result["summary"] = auth_medians(result)
    s = result["summary"]
    result["cli_az_calls_per_play"] = s["site"].get("cli", {}).get("az_per_play_max")
    result["cli_vs_env_wall"] = ratio(s["site"].get("cli", {}).get("seconds"), s["site"].get("env", {}).get("seconds"))
    problems.extend(auth_targets(result, s))
    result["problems"] = problems
    return result


# The sign-in's targets (issue 21), judged on the medians of the site.yml no-op runs.
AUTH_AZ_PER_PLAY = 1
AUTH_WALL_RATIO = 1.10
AUTH_TOKENS_PER_PLAY = 1


def auth_targets(result, summary):
    """The problems of section F against the sign-in's targets (empty when all are met)."""
    problems = []
    cli, env = summary["site"].get("cli") or {}, summary["site"].get("env") or {}
    if result.get("cli_az_calls_per_play") is None or result["cli_az_calls_per_play"] > AUTH_AZ_PER_PLAY:
        problems.append("target: cli made %s az calls in one play (at most %d)"
                        % (result.get("cli_az_calls_per_play"), AUTH_AZ_PER_PLAY))
    if result.get("cli_vs_env_wall") is None or result["cli_vs_env_wall"] > AUTH_WALL_RATIO:
        problems.append("target: cli's site.yml no-op took %sx env's wall time (at most %.2fx)"
                        % (result.get("cli_vs_env_wall"), AUTH_WALL_RATIO))
    signing_plays = 1  # site.yml: the Converge play signs in, the Preflight play has no Azure task
    if env.get("tokens") is None or env["tokens"] > AUTH_TOKENS_PER_PLAY * signing_plays:
        problems.append("target: env asked Entra for %s tokens in a site.yml no-op (at most %d per play)"
                        % (env.get("tokens"), AUTH_TOKENS_PER_PLAY))
    if not cli:
        problems.append("target: no cli run to judge")
    return problems


AUTH_MEDIAN_KEYS = ("seconds", "az_calls", "az_per_play_max", "az_per_play_mean", "az_per_az_process", "tokens",
                    "tokens_per_play", "metadata", "processes", "azure_processes", "changed", "plays", "arm_reads",
                    "writes")


def auth_medians(result):
    """Per kind (site, floor) and source: the medians over the repeats, subcommands and per-play counts summed."""
    out = {}
    for key, sources in (("site", AUTH_SITE_SOURCES), ("floor", AUTH_FLOOR_SOURCES)):
        out[key] = {}
        for source in sources:
            runs = [r for r in result[key] if r["auth"]["source"] == source]
            if not runs:
                continue
            values = [dict(r["auth"], seconds=r["seconds"], processes=r["processes"],
                           azure_processes=r["azure_processes"], changed=r["changed"]) for r in runs]
            med = {k: median([v[k] for v in values]) for k in AUTH_MEDIAN_KEYS}
            med.update(runs=len(runs), rc=",".join(sorted({str(r["rc"]) for r in runs})),
                       az_subcommands=dict(sum((Counter(v["az_subcommands"]) for v in values), Counter())),
                       az_by_play=values[-1]["az_by_play"], tokens_by_play=values[-1]["tokens_by_play"],
                       problems=[p for v in values for p in v["problems"]])
            out[key][source] = med
    return out


AUTH_SITE_HEADERS = ["source", "runs", "rc", "wall s", "x env", "changed", "plays", "az calls", "az/play max",
                     "az/play", "az/az proc", "az subcommands (all runs)", "Entra tokens", "tokens/play", "metadata",
                     "procs (az)", "ARM reads", "writes", "check"]
AUTH_FLOOR_HEADERS = ["source", "runs", "rc", "wall s", "x env", "x ping", "s/task over ping", "az calls",
                      "az/az proc", "Entra tokens", "metadata", "procs (az)", "writes", "check"]


def auth_site_rows(summary):
    env = (summary.get("env") or {}).get("seconds")
    rows = []
    for source in AUTH_SITE_SOURCES:
        m = summary.get(source)
        if not m:
            continue
        rows.append([source, m["runs"], m["rc"], m["seconds"], "%.2fx" % ratio(m["seconds"], env) if env else None,
                     m["changed"], m["plays"], m["az_calls"], m["az_per_play_max"], m["az_per_play_mean"],
                     m["az_per_az_process"], ", ".join("%s %d" % kv for kv in m["az_subcommands"].items()) or "-",
                     m["tokens"], m["tokens_per_play"], m["metadata"],
                     "%d (%d)" % (m["processes"], m["azure_processes"]), m["arm_reads"], m["writes"],
                     "FAIL" if m["problems"] else "ok"])
    return rows


def auth_floor_rows(summary, tasks):
    env, ping = ((summary.get(s) or {}).get("seconds") for s in ("env", "ping"))
    rows = []
    for source in AUTH_FLOOR_SOURCES:
        m = summary.get(source)
        if not m:
            continue
        rows.append([source, m["runs"], m["rc"], m["seconds"], "%.2fx" % ratio(m["seconds"], env) if env else None,
                     "%.2fx" % ratio(m["seconds"], ping) if ping else None,
                     (m["seconds"] - ping) / tasks if ping is not None and tasks else None, m["az_calls"],
                     m["az_per_az_process"], m["tokens"], m["metadata"],
                     "%d (%d)" % (m["processes"], m["azure_processes"]), m["writes"],
                     "FAIL" if m["problems"] else "ok"])
    return rows


def auth_run_rows(result):
    rows = []
    for run in result["site"] + result["floor"]:
        a = run["auth"]
        rows.append([run["label"], a["source"], fmt(run["rc"]), run["seconds"], a["az_calls"],
                     " / ".join("%s: %d" % (name[:40], n) for name, n in a["az_by_play"]) or "-", a["tokens"],
                     a["metadata"], "%d (%d)" % (run["processes"], run["azure_processes"]),
                     "FAIL: " + "; ".join(a["problems"]) if a["problems"] else "ok"])
    return rows


def auth_report(auth):
    parts = ["## F. Auth sources: auth_source env beside cli (the Azure CLI), site.yml no-op and the ping floor", ""]
    cli = auth.get("azure_cli") or {}
    signed = auth.get("sign_in") or {}
    parts += ["azure-cli %s (%s); cloud %s registered with %s." % (
        cli.get("version") or "-", "reused" if cli.get("reused") else "installed in %s s" % fmt(cli.get("seconds")),
        bench_azcli.CLOUD_NAME, signed.get("cloud_registration") or "-"), ""]
    summary = auth.get("summary")
    if summary:
        parts += ["### site.yml no-op re-runs (one cluster, one workload; medians of %d interleaved runs each)"
                  % max([m["runs"] for m in summary["site"].values()] or [0]), "",
                  table(AUTH_SITE_HEADERS, auth_site_rows(summary["site"])), "",
                  "### Ping floor: %d no-op Azure module tasks (resource_group, managed_identity_info) against %d "
                  "ansible.builtin.ping tasks" % (auth["floor_tasks"], auth["floor_tasks"]), "",
                  table(AUTH_FLOOR_HEADERS, auth_floor_rows(summary["floor"], auth["floor_tasks"])), "",
                  "cli_az_calls_per_play: %s (target: at most %d); cli_vs_env_wall: %s (target: at most %.2fx); "
                  "env Entra tokens per run: %s (target: at most %d per play that signs in). %s"
                  % (fmt(auth.get("cli_az_calls_per_play")), AUTH_AZ_PER_PLAY, fmt(auth.get("cli_vs_env_wall")),
                     AUTH_WALL_RATIO, fmt(summary["site"].get("env", {}).get("tokens")), AUTH_TOKENS_PER_PLAY,
                     "Targets met." if not [p for p in auth.get("problems", []) if p.startswith("target")]
                     else "Targets NOT met (see the failures)."), "",
                  "### Every run", "",
                  table(["run", "source", "rc", "wall s", "az calls", "az calls by play", "Entra tokens", "metadata",
                         "procs (az)", "check"], auth_run_rows(auth)), "",
                  "env: the service principal in the environment (sbx.env(), ANSIBLE_AZURE_AUTH_SOURCE=env); cli: "
                  "ANSIBLE_AZURE_AUTH_SOURCE=cli without AZURE_CLIENT_ID/AZURE_SECRET/AZURE_TENANT (AZURE_SUBSCRIPTION_"
                  "ID kept), az signed in with `az login --service-principal` to the sandbox registered as a custom "
                  "cloud, in an AZURE_CONFIG_DIR of its own (telemetry, survey, instance discovery, extension index "
                  "and upgrade check off; every request az sends elsewhere than 127.0.0.1 goes to a guard proxy that "
                  "refuses and records it); ping: the floor's ping playbook. Every run has the counting az wrapper "
                  "first on PATH. az calls: invocations of az (the modules' AzureCliCredential runs `az account "
                  "get-access-token`, without AZURE_SUBSCRIPTION_ID also `az account show`); az/play max: the most "
                  "in one play (plays from the callback's play starts; calls before the first play count as their "
                  "own); az/az proc: az calls per keyless.aks_storage module process; Entra tokens: the sandbox's "
                  "token endpoint requests (az answers from its MSAL cache while a token is valid); metadata: cloud "
                  "metadata requests; writes: ARM + Kubernetes writes + listKeys. check: FAIL on rc != 0, any write "
                  "in a no-op run, any request az would have sent off the machine.", ""]
    return parts


# ---------------------------------------------------------------------------------------------------- main
def report(results, args):
    parts = ["# keyless.aks_storage bench", ""]
    if results.get("sizes"):
        parts += ["## A. site.yml converge and no-op re-run per number of workloads", "",
                  table(SIZE_HEADERS, size_rows(results["sizes"])), "",
                  "procs: module processes (keyless.aks_storage ones in brackets; loop items and until retries count "
                  "one each); helm: helm binary invocations; ARM res: managed ARM resources = 2 resource groups + "
                  "storage accounts + N containers + N identities + N federated credentials + N role assignments "
                  "+ 1 cluster; reads/res: no-op ARM reads per managed resource.", ""]
        last = next((r for r in reversed(results["sizes"]) if len(r["runs"]) == 2), None)
        if last:
            parts += ["### No-op re-run at N=%d, per task" % last["n"], "",
                      table(["task", "action", "procs", "seconds", "ARM reads", "tokens", "metadata", "k8s reads"],
                            per_task_rows(last["runs"][1])), ""]
        doctor_rows_ = doctor_rows(results["sizes"])
        if doctor_rows_:
            parts += ["### playbooks/doctor.yml against the converged chain (same inventory), with and without the "
                      "probe", "", table(DOCTOR_HEADERS, doctor_rows_), "",
                      "links: links judged, statuses ok/warn/fail/unknown (every one must be ok on this healthy "
                      "chain); ARM/k8s reads: ARM and Kubernetes API reads, per workload (/wl) and (their sum) per "
                      "link; TokenRequests: Kubernetes serviceaccounts/token (the probe; stores nothing); Entra "
                      "tokens: token endpoint requests (the doctor's own and the probe's exchange); data: Blob data "
                      "plane. check: FAIL on any ARM, Kubernetes or data-plane write, any listKeys, any link not "
                      "ok or rc != 0.", ""]
            growth = doctor_growth(results["sizes"])
            if growth:
                parts += growth + [""]
    if results.get("cold_start"):
        cold = results["cold_start"]
        parts += ["## B. Module cold start (no-op task, %d calls each, rc=%s)" % (args.repeat, cold["rc"]), "",
                  table(COLD_HEADERS, cold_start_rows(cold)), ""]
    if results.get("imports"):
        parts += ["## C. Imports per module process (median of %d fresh processes)" % args.repeat, "",
                  table(IMPORT_HEADERS, import_rows(results["imports"])), "",
                  ("own: the module, the SDK clients it calls and azure.identity, imported after "
                   "ansible.module_utils.basic (every module process, ping included, imports that first); baseline: "
                   "azure.core + azure.identity after ansible.module_utils.basic; bare: the same in an empty process; "
                   "importtime us: sum of the top-level cumulative -X importtime entries of own; budget: own <= 1.5x "
                   "bare (the issue's wording), and beside it the stricter own <= 1.5x baseline (wall time); "
                   "client init: constructing the clients and reading the lazily loaded operation groups the module "
                   "uses (not in own)."), ""]
    if results.get("fleet") and results["fleet"].get("runs"):
        parts += fleet_report(results["fleet"])
    if results.get("audit") and results["audit"].get("runs"):
        audit = results["audit"]
        parts += ["## E. playbooks/audit.yml: the chain, then a seeded estate", "",
                  "Seeded in %.1f s: %s" % (audit["seed"]["seconds"],
                                            json.dumps(audit["seed"]["counts"], sort_keys=True))
                  if audit.get("seed") else "", "", table(AUDIT_HEADERS, audit_rows(audit)), "",
                  "ARM pages: ARM list requests (five listings, each in pages of the sandbox's page_size, or one page "
                  "when it is 0); k8s pages: Kubernetes list requests (five lists in chunks of %d); tokens: Entra "
                  "token requests. check: FAIL on rc != 0, any write or listKeys, or requests other than the pages "
                  "of the listings (requests grow with resource types and pages, not with resources)." % KUBE_PAGE,
                  ""]
    if results.get("auth") and (results["auth"].get("summary") or results["auth"].get("problems")):
        parts += auth_report(results["auth"])
        if results["auth"].get("problems"):
            parts += ["F failed: " + "; ".join(results["auth"]["problems"]), ""]
    meta = results["meta"]
    parts.append("Total bench time: %.0f s on %s CPUs (load average %s before, %s after)"
                 % (meta["total_seconds"], meta["cpus"], " ".join("%.1f" % x for x in meta["load_before"]),
                    " ".join("%.1f" % x for x in meta["load_after"])))
    return "\n".join(parts) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1,10,20", help="numbers of workloads (comma-separated; empty: skip A)")
    parser.add_argument("--repeat", type=int, default=5, help="no-op calls per module (B), import probes (C)")
    parser.add_argument("--skip-cold-start", action="store_true")
    parser.add_argument("--skip-imports", action="store_true")
    parser.add_argument("--fleet", default="1,10", help="numbers of clusters for D (comma-separated; empty: skip D)")
    parser.add_argument("--fleet-workloads", type=int, default=2, help="workloads per cluster (D)")
    parser.add_argument("--fleet-forks", type=int, default=10, help="ansible-playbook forks (D)")
    parser.add_argument("--timeout", type=int, default=PLAYBOOK_TIMEOUT, help="seconds per ansible-playbook run")
    parser.add_argument("--skip-audit", action="store_true", help="skip E")
    parser.add_argument("--audit-accounts", type=int, default=200, help="seeded storage accounts (E)")
    parser.add_argument("--audit-assignments", type=int, default=500, help="seeded role assignments (E)")
    parser.add_argument("--audit-pvs", type=int, default=300, help="seeded persistent volumes (E)")
    parser.add_argument("--audit-secrets", type=int, default=1000, help="seeded Secrets (E)")
    parser.add_argument("--audit-pods", type=int, default=50, help="seeded pods (E)")
    parser.add_argument("--audit-page-size", type=int, default=100, help="ARM page size of the paged run (E)")
    parser.add_argument("--skip-auth", action="store_true", help="skip F")
    parser.add_argument("--auth-repeat", type=int, default=3, help="interleaved runs per auth source (F)")
    parser.add_argument("--auth-tasks", type=int, default=6, help="tasks of the ping floor playbooks (F)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    fleet_sizes = sorted({int(s) for s in args.fleet.split(",") if s.strip()})
    started = time.monotonic()
    BENCH.mkdir(parents=True, exist_ok=True)
    write_callback()
    results = {"meta": {"sizes": sizes, "repeat": args.repeat, "python": platform.python_version(),
                        "cpus": os.cpu_count(), "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                        "load_before": os.getloadavg()}}
    failures = []
    try:
        results["sizes"] = []
        for n in sizes:
            log("A: N=%d" % n)
            res = bench_size(n, args.timeout)
            results["sizes"].append(res)
            failures += ["N=%d %s" % (n, r["label"]) for r in res["runs"] if r["rc"] != 0]
            failures += ["N=%d %s (%s)" % (n, r["label"], " | ".join(r["doctor"]["problems"]))
                         for r in res["doctor"] if r["doctor"]["problems"]]
        if not args.skip_cold_start:
            log("B: cold start, %d no-op calls per module" % args.repeat)
            results["cold_start"] = bench_cold_start(args.repeat, args.timeout)
            if results["cold_start"]["rc"] != 0:
                failures.append("cold start")
        if not args.skip_imports:
            log("C: imports, %d probes per module" % args.repeat)
            results["imports"] = bench_imports(args.repeat)
        if fleet_sizes:
            fleet = results["fleet"] = {"runs": []}
            for clusters in fleet_sizes:
                log("D: fleet of %d clusters, %d workloads each, forks %d"
                    % (clusters, args.fleet_workloads, args.fleet_forks))
                res = bench_fleet(clusters, args.fleet_workloads, args.fleet_forks, args.timeout)
                fleet["runs"].append(res)
                failures += ["fleet %d %s (%s)" % (clusters, r["label"], " | ".join(r["fleet"]["problems"]))
                             for r in res["runs"] if r["fleet"]["problems"]]
                failures += ["fleet %d: no %s run" % (clusters, label) for label in FLEET_LABELS
                             if label not in [r["label"] for r in res["runs"]]]
            fleet["comparison"] = fleet_compare(fleet["runs"])
            failures += ["fleet per cluster: %s" % p for p in fleet["comparison"]["problems"]]
        if not args.skip_audit:
            log("E: audit of the chain and of a seeded estate")
            results["audit"] = bench_audit(args)
            failures += ["audit %s" % p for p in results["audit"]["problems"]]
        if not args.skip_auth:
            log("F: auth sources env and cli, %d interleaved runs each" % args.auth_repeat)
            results["auth"] = bench_auth(args)
            failures += ["auth %s" % p for p in results["auth"]["problems"]]
    finally:
        results["meta"]["total_seconds"] = round(time.monotonic() - started, 1)
        results["meta"]["load_after"] = os.getloadavg()
        write_json(BENCH / "results.json", results)
    text = report(results, args)
    (BENCH / "results.md").write_text(text, encoding="utf-8")
    print("\n" + text)
    print("Results: %s, %s" % (BENCH / "results.md", BENCH / "results.json"))
    if failures:
        print("bench FAILED: %s (see the logs under %s)" % (", ".join(failures), BENCH))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
