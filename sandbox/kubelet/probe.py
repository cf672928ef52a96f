"""What a successful probe container leaves behind: its log and, on a read-write volume, the probe blob."""

import re
import shlex

from ..arm.providers.storage import blobs
from ..arm.providers.storage.common import iso_now

SHELLS = ("sh", "/bin/sh", "bash", "/bin/bash", "ash", "/bin/ash")
SEPARATORS = re.compile(r"&&|\|\||;|\n")
PROBE_CONTENT = "keyless-probe\n"


def probe_blob_name(job_name: str) -> str:
    return f"keyless-probe-{job_name}.txt"


def log_text(pod) -> str:
    """The lines an `sh -c` probe prints: every `echo` whose output is not redirected (the workload role's
    probe ends with `echo keyless write+read ok` or `echo keyless read ok`). Other commands print nothing."""
    containers = (pod.get("spec") or {}).get("containers") or []
    argv = list(containers[0].get("command") or []) + list(containers[0].get("args") or []) if containers else []
    if len(argv) < 3 or argv[0] not in SHELLS or argv[1] != "-c":
        return ""
    lines = []
    for segment in SEPARATORS.split(argv[2]):
        segment = segment.strip()
        if not segment.startswith("echo ") or ">" in segment:
            continue
        try:
            words = shlex.split(segment[len("echo "):])
        except ValueError:
            continue
        lines.append(" ".join(w for w in words if w != "-n"))
    return "".join(line + "\n" for line in lines)


def write_probe_blob(store, container_id: str, job_name: str, writer: str) -> str:
    """Put the probe file into the emulated container, as the mount would have; returns the blob name."""
    name = probe_blob_name(job_name)
    blobs(store, container_id)[name] = {"content": PROBE_CONTENT, "size": len(PROBE_CONTENT),
                                        "content_type": "text/plain", "last_modified": iso_now(),
                                        "written_by": writer}
    store.dirty = True
    return name
