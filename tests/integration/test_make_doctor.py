"""`make doctor` (scripts/demo.py --doctor) in a fresh workdir: it converges site.yml first, then the doctor finds
every link of the sandbox chain healthy and changes nothing."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_make_doctor_converges_then_diagnoses_without_writing(tmp_path):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / "build" / "collections"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_STDOUT_CALLBACK="default")
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "demo.py"), "--doctor", "--workdir", str(tmp_path)],
                          env=env, cwd=str(REPO), capture_output=True, text=True, timeout=900, check=False)
    out = proc.stdout
    assert proc.returncode == 0, out[-6000:] + proc.stderr[-3000:]
    # No earlier state in the workdir: site.yml converged first, with the kubeconfig kept in the workdir.
    assert "doctor: converging site.yml first" in out
    assert "keyless_kubeconfig_path=%s/kubeconfig-sandbox-aks-1.yaml" % tmp_path.resolve() in out
    assert (tmp_path / "kubeconfig-sandbox-aks-1.yaml").exists()

    # The doctor's table: every link judged, none failing (the probe ran to the data plane).
    rows = re.findall(r'^\s*"(\S+)\s+(\w+)\s+(OK|WARN|FAIL|UNKNOWN)\s+', out, re.MULTILINE)
    links = {(workload, link): status for workload, link, status in rows}
    assert ("(cluster)", "csi_driver") in links and ("reports", "probe_data") in links, out[-6000:]
    assert "FAIL" not in links.values(), [row for row in rows if row[2] != "OK"]
    assert links[("reports", "probe_exchange")] == links[("archive", "probe_data")] == "OK"

    # The summary of the doctor run: reads only (the probe's TokenRequests store nothing).
    summary = re.search(r"^doctor \(rc 0, [\d.]+ s\): ARM reads (\d+), ARM writes 0, listKeys 0; Kubernetes reads "
                        r"(\d+), writes 0, token requests (\d+); storage data-plane reads (\d+)$", out, re.MULTILINE)
    assert summary, out[-3000:]
    arm_reads, kube_reads, token_requests, data_reads = map(int, summary.groups())
    assert 0 < arm_reads <= 35 and 0 < kube_reads <= 35  # bounded by the number of links, not by the subscription
    # one TokenRequest per workload (three blob, one of them dynamically provisioned, one Azure Files), one blob
    # listing per blob workload
    assert token_requests == 4 and data_reads == 3
    assert "doctor OK: 0 ARM writes, 0 Kubernetes writes, 0 listKeys (after converging site.yml)" in out

    report = tmp_path.resolve() / "doctor-reports" / "sandbox-aks-1" / "doctor-sandbox-aks-1.md"
    assert "Markdown report: %s" % report in out
    assert report.read_text().startswith("# keyless.aks_storage doctor: sandbox-aks-1")
    data = json.loads(report.with_suffix(".json").read_text())
    assert data["counts"]["fail"] == 0 and len(data["links"]) == len(rows)
