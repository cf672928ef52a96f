"""`make demo`: converge the site playbook against the sandbox twice and print what happened.

Starts the sandbox (state kept in build/demo/state.json for inspection afterwards), runs
`ansible-playbook -i inventories/sandbox playbooks/site.yml`, runs it again to show the no-op, prints a summary of
the resources, the Ansible recap and the ARM request counts of each run, and stops the sandbox.
"""

import argparse
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


def run_site(sbx, label, extra_args):
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
           str(REPO / "playbooks" / "site.yml")] + extra_args
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
    for d in decisions if isinstance(decisions, list) else decisions.get("decisions", []):
        print("  %-10s %s/%s %s%s" % (d["outcome"], d["namespace"], d["job"], ", ".join(d.get("blobs") or []),
                                      (" " + d["message"]) if d.get("message") else ""))
    print("-" * 78)
    print("%-22s %4s %7s %8s %6s %7s %9s %7s" % ("run", "rc", "changed", "seconds", "reads", "writes", "listKeys",
                                                 "tokens"))
    for run in runs:
        changed = sum(int(r["changed"]) for r in run["recap"])
        c = run["counters"]
        print("%-22s %4d %7d %8.1f %6d %7d %9d %7d" % (run["label"], run["rc"], changed, run["seconds"], c["reads"],
                                                       c["writes"], c["list_keys"], c["token_requests"]))
    print("=" * 78)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workdir", default=str(REPO / "build" / "demo"))
    parser.add_argument("ansible_args", nargs="*", help="extra ansible-playbook arguments")
    args = parser.parse_args()
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    state_file = workdir / "state.json"
    if state_file.exists():
        state_file.unlink()  # every demo starts from an empty cloud
    sbx = client.start(str(workdir), state_file=str(state_file))
    try:
        runs = [run_site(sbx, "converge", args.ansible_args)]
        if runs[0]["rc"] == 0:
            runs.append(run_site(sbx, "re-run (no-op)", args.ansible_args))
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


if __name__ == "__main__":
    sys.exit(main())
