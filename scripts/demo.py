"""`make demo`: converge the site playbook against the sandbox twice and print what happened.
`make doctor` (--doctor): run playbooks/doctor.yml against the sandbox's chain and show that it changed nothing.

Starts the sandbox (state kept in build/demo/state.json for inspection afterwards), runs
`ansible-playbook -i inventories/sandbox playbooks/site.yml`, runs it again to show the no-op, prints a summary of
the resources, the Ansible recap and the ARM request counts of each run, and stops the sandbox.

With --doctor: restarts the sandbox from the state an earlier `make demo` left (or converges site.yml first when
there is none, or when it cannot be restored), runs `ansible-playbook -i inventories/sandbox playbooks/doctor.yml`
(reports in <workdir>/doctor-reports), prints the requests it made and fails if it wrote anything or listed keys.
Extra ansible-playbook arguments then go to the doctor run only (e.g. -- -e doctor_workload=reports).

With --audit (`make audit`): the same sandbox, then `ansible-playbook -i inventories/sandbox playbooks/audit.yml`
on the demo chain (reports in <workdir>/audit-reports/demo), then on a seeded estate that still uses keys in every
way the audit reports (the sandbox's seeding route; reports in <workdir>/audit-reports/seeded); fails if either run
wrote anything or listed keys.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sandbox import client  # noqa: E402  (the repository root must be on sys.path first)

RECAP = re.compile(r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)"
                   r"\s+failed=(?P<failed>\d+)", re.MULTILINE)
PLAYBOOK_TIMEOUT = 1800
DEFAULT_WORKDIR = REPO / "build" / "demo"
# The sandbox inventory's only host; its kubeconfig is keyless_kubeconfig_path of inventories/sandbox.
HOST = "sandbox-aks-1"
KUBECONFIG = "kubeconfig-%s.yaml" % HOST
INVENTORY_VARS = REPO / "inventories" / "sandbox" / "group_vars" / "aks_clusters.yml"
SERVER = re.compile(r"^\s*server:\s*\"?(https://[^/\"]+)(/[^\"\s]*)?\"?\s*$", re.MULTILINE)
TOKEN = re.compile(r"^\s*token:\s*\"?([^\"\s]+)\"?\s*$", re.MULTILINE)


def playbook_invocation(sbx, workdir, playbook, extra_args):
    """(command, environment) of an ansible-playbook run of playbooks/<playbook> against this sandbox."""
    env = dict(os.environ, **sbx.env())
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(REPO / "build" / "collections"))
    # Helm 4 cannot install into the emulated API server: the sandbox's helm stand-in does the release step.
    env["KEYLESS_HELM_BINARY"] = sbx.conn["helm_binary"]
    # kubernetes.core caches API discovery in the temp dir; keep the demo's cache with the demo.
    tmp = Path(sbx.conn["workdir"]) / "tmp"
    tmp.mkdir(exist_ok=True)
    env["TMPDIR"] = str(tmp)
    env.setdefault("ANSIBLE_FORCE_COLOR", "0")
    cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(REPO / "inventories" / "sandbox"),
           str(REPO / "playbooks" / playbook)]
    if Path(workdir).resolve() != DEFAULT_WORKDIR.resolve():
        # The inventory writes the kubeconfig under build/demo: another workdir keeps its own.
        cmd += ["-e", "keyless_kubeconfig_path=%s" % (Path(workdir).resolve() / KUBECONFIG)]
    return cmd + list(extra_args), env


def run_playbook(sbx, workdir, label, playbook, extra_args):
    cmd, env = playbook_invocation(sbx, workdir, playbook, extra_args)
    print("\n=== %s: %s" % (label, " ".join(cmd[1:])), flush=True)
    before = sbx.counters()
    started = time.monotonic()
    proc = subprocess.run(cmd, env=env, cwd=str(REPO), text=True, capture_output=True, timeout=PLAYBOOK_TIMEOUT,
                          check=False)
    elapsed = time.monotonic() - started
    sys.stdout.write(proc.stdout)
    sys.stderr.write(proc.stderr)
    recap = [m.groupdict() for m in RECAP.finditer(proc.stdout)]
    return dict(label=label, rc=proc.returncode, seconds=elapsed, recap=recap, counters=sbx.counters_delta(before))


def run_site(sbx, label, extra_args, workdir=DEFAULT_WORKDIR):
    return run_playbook(sbx, workdir, label, "site.yml", extra_args)


def print_summary(sbx, runs):
    print("\n" + "=" * 78)
    print("keyless.aks_storage demo summary (sandbox: %s)" % sbx.conn["arm_url"])
    issuers = [r["properties"]["oidcIssuerProfile"].get("issuerURL") for r in sbx.state().get("resources", [])
               if r.get("type") == "Microsoft.ContainerService/managedClusters"]
    print("OIDC issuer: %s" % ", ".join(i for i in issuers if i))
    print("-" * 78)
    print("Resources in the sandbox:")
    for resource in sorted(sbx.state().get("resources", []), key=lambda r: r.get("id", "").lower()):
        props = resource.get("properties") or {}
        extra = ""
        if "clientId" in props:
            extra = " clientId=%s" % props["clientId"]
        print("  %-58s %s%s" % (resource.get("type", "?"), resource.get("name", "?"), extra))
    print("-" * 78)
    print("Validation Jobs (judged by the sandbox against the ARM and Kubernetes state):")
    decisions = sbx.call("GET", "/kubelet/decisions")
    decisions = decisions if isinstance(decisions, list) else decisions.get("decisions", [])
    for d in decisions:
        print("  %-10s %s/%s %s%s" % (d["outcome"], d["namespace"], d["job"], ", ".join(d.get("blobs") or []),
                                      (" " + d["message"]) if d.get("message") else ""))
    print("-" * 78)
    print("Workloads of inventories/sandbox (what each mounts, token only, and its validation Job's outcome):")
    for line in workload_lines(decisions):
        print("  " + line)
    print("-" * 78)
    print("%-22s %4s %7s %8s %6s %7s %9s %7s" % ("run", "rc", "changed", "seconds", "reads", "writes", "listKeys",
                                                 "tokens"))
    for run in runs:
        changed = sum(int(r["changed"]) for r in run["recap"])
        c = run["counters"]
        print("%-22s %4d %7d %8.1f %6d %7d %9d %7d" % (run["label"], run["rc"], changed, run["seconds"], c["reads"],
                                                       c["writes"], c["list_keys"], c["token_requests"]))
    print("=" * 78)


def workload_lines(decisions):
    """One line per workload of the sandbox inventory: type, what it mounts, and the last outcome of its Job."""
    import yaml  # ansible's dependency, in the venv

    workloads = yaml.safe_load(INVENTORY_VARS.read_text(encoding="utf-8")).get("keyless_workloads") or []
    lines = []
    for w in workloads:
        kind = w.get("type", "blob")
        if kind == "file":
            target = "share %s (Azure Files, SMB)" % w.get("share")
        else:
            target = "container %s (blob)" % w.get("container")
        prefix = "keyless-validate-%s-" % w["name"]
        outcomes = [d["outcome"] for d in decisions
                    if d.get("namespace") == w["namespace"] and str(d.get("job", "")).startswith(prefix)]
        outcome = outcomes[-1] if outcomes else "none"
        lines.append("%-12s %-5s %s, namespace %s: %s, %s: Job %s" % (
            w["name"], kind, w["storage_account"], w["namespace"], target, w.get("access", "readwrite"), outcome))
    return lines


def demo(args, workdir):
    state_file = workdir / "state.json"
    if state_file.exists():
        state_file.unlink()  # every demo starts from an empty cloud
    sbx = client.start(str(workdir), state_file=str(state_file))
    try:
        runs = [run_site(sbx, "converge", args.ansible_args, workdir)]
        if runs[0]["rc"] == 0:
            runs.append(run_site(sbx, "re-run (no-op)", args.ansible_args, workdir))
        print_summary(sbx, runs)
    finally:
        sbx.stop()
    failed = [r for r in runs if r["rc"] != 0]
    noop = runs[-1] if len(runs) == 2 else None
    if failed:
        print("demo FAILED: %s" % ", ".join(r["label"] for r in failed))
        return 1
    if noop and (sum(int(r["changed"]) for r in noop["recap"]) or noop["counters"]["writes"]):
        print("demo FAILED: the re-run changed something")
        return 1
    print("demo OK: converged, and the re-run changed nothing (0 writes, %d listKeys). State: %s"
          % (sum(r["counters"]["list_keys"] for r in runs), state_file))
    return 0


# ---------------------------------------------------------------------------------------------------------- doctor
def restored_sandbox(workdir, state_file, kubeconfig):
    """The sandbox restarted from an earlier run's state, or (None, why not) when that chain is not usable.

    The state file keeps the ARM resources, the emulated clusters (objects and bearer tokens) and the kubelet's
    runtime, and the CA and signing keys stay in the workdir. But the API server URL in the kubeconfig and the OIDC
    issuer URLs (in the cluster, its federated credentials and every token) contain the sandbox's port: the
    sandbox is restarted on the port it had, and the restored chain is checked against the new connection."""
    text = kubeconfig.read_text(encoding="utf-8")
    server, token = SERVER.search(text), TOKEN.search(text)
    port = re.search(r":(\d+)$", server.group(1)) if server else None
    if not (port and token):
        return None, "%s names no sandbox server and token" % kubeconfig
    try:
        sbx = client.start(str(workdir), state_file=str(state_file), extra_args=("--port", port.group(1)))
    except RuntimeError as exc:
        last = [line for line in str(exc).splitlines() if line.strip()][-1]
        return None, "the sandbox could not restart on port %s: %s" % (port.group(1), last.strip())
    state = sbx.state()
    base = sbx.conn["arm_url"].rstrip("/")
    issuers = [((r.get("properties") or {}).get("oidcIssuerProfile") or {}).get("issuerURL")
               for r in state.get("resources", []) if r.get("type") == "Microsoft.ContainerService/managedClusters"]
    tokens = [c.get("token") for c in ((state.get("sections") or {}).get("kubernetes") or {}).get("clusters", [])]
    problems = []
    if server.group(1) != base:
        problems.append("the kubeconfig's server %s is not the sandbox's %s" % (server.group(1), base))
    if not issuers or not all(i and i.startswith(sbx.conn["oidc_issuer_base"]) for i in issuers):
        problems.append("cluster issuers %s are not hosted at %s" % (issuers, sbx.conn["oidc_issuer_base"]))
    if token.group(1) not in tokens:
        problems.append("the kubeconfig's token is no restored cluster's")
    if problems:
        sbx.stop()
        return None, "; ".join(problems)
    return sbx, None


def fresh_reports(report_dir, pattern, since):
    """The reports the doctor run wrote (not an earlier run's)."""
    return sorted(p for p in Path(report_dir).glob(pattern) if p.stat().st_mtime >= since)


def print_doctor_summary(run, report_dir, since):
    """Print the request counts of the doctor run and its result; returns (ARM writes, Kubernetes writes,
    listKeys)."""
    c = run["counters"]
    kube, data = c.get("kubernetes") or {}, c.get("storage_data") or {}
    writes = (c["writes"], kube.get("writes", 0), c["list_keys"])
    print("\n" + "=" * 78)
    print("doctor (rc %d, %.1f s): ARM reads %d, ARM writes %d, listKeys %d; Kubernetes reads %d, writes %d, "
          "token requests %d; storage data-plane reads %d"
          % (run["rc"], run["seconds"], c["reads"], writes[0], writes[2], kube.get("reads", 0), writes[1],
             kube.get("token_requests", 0), data.get("reads", 0)))
    for path in fresh_reports(report_dir, "*/doctor-*.json", since):
        report = json.loads(path.read_text(encoding="utf-8"))
        counts = ", ".join("%d %s" % (report["counts"].get(s, 0), s) for s in ("ok", "warn", "fail", "unknown"))
        print("cluster %s: %s (%s)" % (report["cluster"], report["status"].upper(), counts))
    reports = fresh_reports(report_dir, "*/doctor-*.md", since)
    print("Markdown report: %s" % (", ".join(map(str, reports)) or "none written (see the output above)"))
    print("=" * 78)
    return writes


def chain_sandbox(workdir, tool):
    """(sandbox, converge run or None): the sandbox of an earlier `make demo` restarted, or a new one converged by
    site.yml first when there is none (the converge run's rc says whether that worked)."""
    state_file, kubeconfig = workdir / "state.json", workdir / KUBECONFIG
    sbx, why = None, "no earlier `make demo` state (%s and %s)" % (state_file, kubeconfig)
    if state_file.exists() and kubeconfig.exists():
        sbx, why = restored_sandbox(workdir, state_file, kubeconfig)
    if sbx is not None:
        print("%s: restarted the sandbox from %s (%s)" % (tool, state_file, sbx.conn["arm_url"]), flush=True)
        return sbx, None
    print("%s: converging site.yml first: %s" % (tool, why), flush=True)
    if state_file.exists():
        state_file.unlink()
    sbx = client.start(str(workdir), state_file=str(state_file))
    try:
        converge = run_site(sbx, "converge", [], workdir)
    except BaseException:
        sbx.stop()
        raise
    return sbx, converge


def read_only_verdict(tool, run, writes, converge):
    """0 when ``run`` succeeded and wrote nothing (``writes``: ARM writes, Kubernetes writes, listKeys)."""
    arm_writes, kube_writes, list_keys = writes
    if run["rc"] != 0:
        print("%s FAILED: playbooks/%s.yml failed (rc %d)" % (tool, tool, run["rc"]))
        return 1
    if arm_writes or kube_writes or list_keys:
        print("%s FAILED: the %s changed something (%d ARM writes, %d Kubernetes writes, %d listKeys)"
              % (tool, tool, arm_writes, kube_writes, list_keys))
        return 1
    print("%s OK: 0 ARM writes, 0 Kubernetes writes, 0 listKeys%s"
          % (tool, " (after converging site.yml)" if converge else ""))
    return 0


def doctor(args, workdir):
    sbx, converge = chain_sandbox(workdir, "doctor")
    report_dir = workdir / "doctor-reports"
    try:
        if converge and converge["rc"] != 0:
            print("doctor FAILED: site.yml did not converge (rc %d)" % converge["rc"])
            return 1
        since = time.time() - 1
        run = run_playbook(sbx, workdir, "doctor", "doctor.yml",
                           ["-e", "doctor_report_dir=%s" % report_dir] + list(args.ansible_args))
    finally:
        sbx.stop()
    writes = print_doctor_summary(run, report_dir, since)
    return read_only_verdict("doctor", run, writes, converge)


# ----------------------------------------------------------------------------------------------------------- audit
# The seeded estate of `make audit`: a subscription and cluster that still use keys in every way the audit reports.
AUDIT_SEED = {"seed": 20, "storage_accounts": 40, "role_assignments": 60, "persistent_volumes": 30,
              "secrets": 80, "pods": 20}


def print_audit_summary(label, run, report_dir):
    """Print the audit run's requests and findings; returns (ARM writes, Kubernetes writes, listKeys)."""
    c = run["counters"]
    kube = c.get("kubernetes") or {}
    writes = (c["writes"], kube.get("writes", 0), c["list_keys"])
    print("\n" + "=" * 78)
    print("audit of %s (rc %d, %.1f s): ARM reads %d, ARM writes %d, listKeys %d; Kubernetes reads %d, writes %d"
          % (label, run["rc"], run["seconds"], c["reads"], writes[0], writes[2], kube.get("reads", 0), writes[1]))
    path = Path(report_dir) / "keyless-audit.json"
    if path.exists():
        report = json.loads(path.read_text(encoding="utf-8"))
        severities = report["summary"]["by_severity"]
        print("findings: %d (%s); status %s" % (report["summary"]["total"], ", ".join(
            "%d %s" % (severities.get(s, 0), s) for s in ("critical", "high", "medium", "low")), report["status"]))
        for kind, n in sorted(report["summary"]["by_type"].items()):
            print("  %-28s %d" % (kind, n))
        print("reports: %s" % ", ".join(str(path.with_suffix(x)) for x in (".html", ".md", ".json")))
    print("=" * 78)
    return writes


def audit(args, workdir):
    sbx, converge = chain_sandbox(workdir, "audit")
    runs = []
    try:
        if converge and converge["rc"] != 0:
            print("audit FAILED: site.yml did not converge (rc %d)" % converge["rc"])
            return 1
        snapshot = sbx.state()  # the demo chain, restored after the seeded run (state.json keeps only the chain)
        for label, seed in (("the demo chain", None), ("a seeded estate", AUDIT_SEED)):
            report_dir = workdir / "audit-reports" / ("seeded" if seed else "demo")
            if seed:
                seeded = sbx.seed(**dict(seed, cluster=demo_cluster_id(sbx)))
                print("audit: seeded %s" % json.dumps(seeded.get("counts", {}), sort_keys=True), flush=True)
            run = run_playbook(sbx, workdir, "audit", "audit.yml",
                               ["-e", "audit_report_dir=%s" % report_dir] + list(args.ansible_args))
            runs.append((label, run, report_dir))
        sbx.restore(snapshot)
    finally:
        sbx.stop()
    verdicts = [read_only_verdict("audit", run, print_audit_summary(label, run, report_dir), converge)
                for label, run, report_dir in runs]
    return max(verdicts)


def demo_cluster_id(sbx):
    clusters = [r["id"] for r in sbx.state().get("resources", [])
                if r.get("type") == "Microsoft.ContainerService/managedClusters"]
    return clusters[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", default=str(DEFAULT_WORKDIR),
                        help="sandbox state, kubeconfig and reports (default build/demo)")
    parser.add_argument("--doctor", action="store_true", help="run playbooks/doctor.yml (make doctor)")
    parser.add_argument("--audit", action="store_true",
                        help="run playbooks/audit.yml on the demo chain, then on a seeded estate (make audit)")
    parser.add_argument("ansible_args", nargs="*", help="extra ansible-playbook arguments")
    args = parser.parse_args()
    workdir = Path(args.workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    if args.audit:
        return audit(args, workdir)
    return doctor(args, workdir) if args.doctor else demo(args, workdir)


if __name__ == "__main__":
    sys.exit(main())
