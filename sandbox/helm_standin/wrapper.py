"""The `helm` executable a sandbox publishes as `helm_binary` in its connection file.

A small shell script written into the sandbox workdir at start: it runs `python -m sandbox.helm_standin` with
the interpreter the sandbox runs on (which has PyYAML) and the repository root on PYTHONPATH, so it works as
`kubernetes.core.helm`'s `binary_path` whatever python ansible-playbook itself uses.
"""

import os
import shlex
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def write(workdir: str) -> str:
    path = os.path.join(workdir, "bin", "helm")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    script = ("#!/bin/sh\n"
              "# keyless sandbox: helm stand-in for emulated clusters (sandbox/helm_standin); not Helm.\n"
              f"PYTHONPATH={shlex.quote(REPO_ROOT)}${{PYTHONPATH:+:$PYTHONPATH}}\n"
              "export PYTHONPATH\n"
              f'exec {shlex.quote(sys.executable)} -m sandbox.helm_standin "$@"\n')
    tmp = path + f".{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(script)
    os.chmod(tmp, 0o755)
    os.replace(tmp, path)  # atomic: a running playbook never sees a half-written script
    return path
