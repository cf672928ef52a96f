"""What a probe container does, as far as the sandbox reads its `sh -c` script, and what it leaves behind.

The script (first container, `command` + `args` = `sh -c SCRIPT`) is split at `&&`, `||`, `;` and newlines into
segments; control flow is not evaluated. Recognised, and nothing else (other commands print nothing and succeed):
- `echo WORDS` not redirected: prints WORDS to the pod log;
- a leading mount check, exactly
  `grep -q '<BRE>' /proc/self/mountinfo || { echo "<message>" >&2; exit <n>; }` then `&&`, `;`, a newline or the
  end: the BRE (only `.`, `*`, `^`, `$`, `[...]` are special) is matched against the container's emulated
  mountinfo (`mountinfo()`); no matching line prints <message> and ends the container with exit code <n>;
- `sleep <seconds>` as a whole segment (at most MAX_PHASES - 1 of them): the pod keeps running until the kubelet
  clock has moved that far (POST /_sandbox/kubelet/advance); the segments after it are a later phase, which
  touches a volume again when it names one of its mount paths, or `$v`/`${v}` of a `v=<path>` segment.
A read-write mount gets the probe file: a blob in the emulated container, or a file recorded in the share.
"""

import hashlib
import re
import shlex
from dataclasses import dataclass, field

from ..arm.providers.storage import shares
from ..blob import store as blob_store
from .files_chain import cifs_options

SHELLS = ("sh", "/bin/sh", "bash", "/bin/bash", "ash", "/bin/ash")
SEPARATORS = re.compile(r"&&|\|\||;|\n")
PROBE_CONTENT = "keyless-probe\n"
MAX_PHASES = 10
GUARD = re.compile(r"""\s*grep -q '(?P<pattern>[^'\n]*)' /proc/self/mountinfo \|\| \{ echo (?P<message>"[^"\n]*"|"""
                   r"""'[^'\n]*') >&2; exit (?P<code>\d{1,3}); \}\s*(?:&&|;|\n|$)""")
SLEEP = re.compile(r"sleep (\d{1,9})")
ASSIGN = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=(\S+)")
VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")
REDIRECT = re.compile(r">>?\s*(?!&)([^\s>]\S*)")
EXIT_CODES = {">": 2, "grep": 2}   # ash: a failed redirection exits 2; grep: 2 on a read error; others 1
ROOT_LINE = ("1 0 0:50 / / rw,relatime master:1 - overlay overlay rw,lowerdir=/var/lib/containerd/snapshots/1/fs,"
             "upperdir=/var/lib/containerd/snapshots/2/fs,workdir=/var/lib/containerd/snapshots/2/work")


@dataclass
class Script:
    guard: tuple | None = None                          # (BRE, message, exit code) of the leading mount check
    phases: list = field(default_factory=lambda: [[]])  # segments; phases[i + 1] starts sleeps[i] s after phases[i]
    sleeps: list = field(default_factory=list)
    variables: dict = field(default_factory=dict)       # name -> value of `name=value` segments


def _argv(pod) -> list:
    containers = (pod.get("spec") or {}).get("containers") or []
    return list(containers[0].get("command") or []) + list(containers[0].get("args") or []) if containers else []


def parse(pod) -> Script:
    argv = _argv(pod)
    if len(argv) < 3 or argv[0] not in SHELLS or argv[1] != "-c":
        return Script()
    text, script = argv[2], Script()
    guard = GUARD.match(text)
    if guard:
        script.guard = (guard["pattern"], guard["message"][1:-1], int(guard["code"]))
        text = text[guard.end():]
    for segment in (s.strip() for s in SEPARATORS.split(text)):
        sleep = SLEEP.fullmatch(segment)
        if sleep and len(script.phases) < MAX_PHASES:
            script.sleeps.append(int(sleep[1]))
            script.phases.append([])
            continue
        assign = ASSIGN.fullmatch(segment)
        if assign:
            script.variables.setdefault(assign[1], assign[2])
        if segment:
            script.phases[-1].append(segment)
    return script


def echo_lines(segments) -> str:
    """The lines the segments print: every `echo` whose output is not redirected (the workload role's probe
    ends with `echo keyless write+read ok` or `echo keyless read ok`)."""
    lines = []
    for segment in segments:
        if not segment.startswith("echo ") or ">" in segment:
            continue
        try:
            words = shlex.split(segment[len("echo "):])
        except ValueError:
            continue
        lines.append(" ".join(w for w in words if w != "-n"))
    return "".join(line + "\n" for line in lines)


def log_text(pod) -> str:
    """Everything the script's `echo` segments print (all phases)."""
    return "".join(echo_lines(phase) for phase in parse(pod).phases)


# ---------------------------------------------------------------------- mounts as the container sees them
def mount_paths(pod) -> dict:
    """{pod volume name: [mountPath, ...]} of the first container."""
    containers = (pod.get("spec") or {}).get("containers") or []
    paths = {}
    for mount in (containers[0].get("volumeMounts") or []) if containers else []:
        paths.setdefault(mount.get("name"), []).append(mount.get("mountPath") or "")
    return paths


def mountinfo(pod, mounted) -> list:
    """The first container's /proc/self/mountinfo, as far as the probe can tell: the overlay root and one line per
    mount of a volume. blobfuse2 is type `fuse`, source `blobfuse2` (it mounts with `-ofsname=blobfuse2`,
    Azure/azure-storage-fuse component/libfuse); an Azure Files mount is type `cifs`, source
    //<account>.file.core.windows.net/<share> (the driver's source, ns:~600); a node-local volume is the
    bind-mounted staging directory on the node's ext4 OS disk. Fields: id parent major:minor root mount-point
    options - fstype source super-options."""
    lines, paths = [ROOT_LINE], mount_paths(pod)
    for m in mounted:
        for path in paths.get(m.volume.pod_volume, []):
            n, mode = len(lines) + 1, "rw" if m.writable else "ro"
            if not m.remote:
                lines.append(f"{n} 1 8:1 /var/lib/kubelet/plugins/kubernetes.io/csi/{m.volume.driver}/"
                             f"{hashlib.sha256(m.volume.volume_handle.encode()).hexdigest()}/globalmount {path} "
                             f"{mode},relatime - ext4 /dev/sda1 rw,discard")
            elif m.share:
                lines.append(f"{n} 1 0:{60 + n} / {path} {mode},relatime - cifs //{m.account}.file.core.windows.net/"
                             f"{m.share} {cifs_options(m, m.writable)}")
            else:
                lines.append(f"{n} 1 0:{60 + n} / {path} {mode},nosuid,nodev,relatime - fuse blobfuse2 "
                             f"{mode},user_id=0,group_id=0,allow_other")
    return lines


def _bre(pattern: str) -> str:
    """A basic regular expression as a Python one: `+ ? | ( ) { }` are literal unless escaped (GNU extensions)."""
    out, escaped = [], False
    for char in pattern:
        if escaped:
            out.append(char if char in "+?|(){}" else "\\" + char)
            escaped = False
        elif char == "\\":
            escaped = True
        else:
            out.append("\\" + char if char in "+?|(){}" else char)
    return "".join(out) + ("\\\\" if escaped else "")


def guard_passes(pattern: str, lines) -> bool:
    try:
        regex = re.compile(_bre(pattern))
    except re.error:   # grep exits 2 on a bad pattern: the `||` branch runs
        return False
    return any(regex.search(line) for line in lines)


# ---------------------------------------------------------------------- later phases
def first_access(segments, paths, variables) -> tuple | None:
    """(command, path) of the first segment that touches one of `paths`; command ">" for a redirection."""
    def under(word):
        return any(word == p or word.startswith(p.rstrip("/") + "/") for p in paths if p)
    for segment in segments:
        expanded = VARIABLE.sub(lambda m: variables.get(m[1] or m[2], m[0]), segment)
        target = REDIRECT.search(expanded)
        if target and under(target[1]):
            return ">", target[1]
        words = expanded.split()
        for word in words[1:] if words and words[0] != "echo" else []:
            if under(word):
                return words[0], word
    return None


def exit_code(command: str) -> int:
    return EXIT_CODES.get(command, 1)


def probe_blob_name(job_name: str) -> str:
    return f"keyless-probe-{job_name}.txt"


def write_probe_blob(store, container_id: str, job_name: str, writer: str) -> str:
    """Put the probe file into the emulated container (the Blob data plane's store), as the mount would have;
    returns the blob name."""
    name = probe_blob_name(job_name)
    blob_store.put(store, container_id, name, PROBE_CONTENT.encode("utf-8"), "text/plain", writer)
    return name


def write_probe(store, mounted, job_name: str) -> str:
    """The probe file a read-write mount leaves behind: "<container or share id>/<name>"."""
    if not mounted.share:
        return f"{mounted.target_id}/{write_probe_blob(store, mounted.target_id, job_name, mounted.client_id)}"
    name = probe_blob_name(job_name)
    shares.write_probe_file(store, mounted.target_id, name, PROBE_CONTENT, mounted.client_id)
    return f"{mounted.target_id}/{name}"
