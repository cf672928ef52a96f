"""The `helm` executable a sandbox publishes as `helm_binary` in its connection file.

A small shell script written into the sandbox workdir at start: it runs `python -m sandbox.helm_standin` with
the interpreter the sandbox runs on (which has PyYAML) and the repository root on PYTHONPATH, so it works as
`kubernetes.core.helm`'s `binary_path` whatever python ansible-playbook itself uses.

`bin/helm` (`helm_binary`) wraps the real helm KEYLESS_HELM_STANDIN_REAL names (default Helm 3, see real.py);
`bin/helm3` and `bin/helm4` (`helm_binaries` "3"/"4") pin one.
"""

import os
import shlex
import sys

from . import real

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def write(workdir: str, major: str | None = None) -> str:
    """bin/helm (the real helm from the environment, default Helm 3) or, with MAJOR "3"/"4", bin/helm<MAJOR>."""
    if major is not None and major not in real.TOOL_KEYS:
        raise ValueError(f"the helm stand-in wraps Helm 3 or 4, not {major!r}")
    path = os.path.join(workdir, "bin", "helm" + (major or ""))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    pinned = f"{real.ENV}={major}\nexport {real.ENV}\n" if major else ""
    script = ("#!/bin/sh\n"
              "# keyless sandbox: helm stand-in for emulated clusters (sandbox/helm_standin); not Helm.\n"
              f"PYTHONPATH={shlex.quote(REPO_ROOT)}${{PYTHONPATH:+:$PYTHONPATH}}\n"
              "export PYTHONPATH\n"
              f"{pinned}"
              f'exec {shlex.quote(sys.executable)} -m sandbox.helm_standin "$@"\n')
    tmp = path + f".{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(script)
    os.chmod(tmp, 0o755)
    os.replace(tmp, path)  # atomic: a running playbook never sees a half-written script
    return path
