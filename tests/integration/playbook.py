"""Run real ``ansible-playbook`` processes against the sandbox and read their results."""

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

ANSIBLE_BIN = Path(sys.executable).parent
PLAYBOOK_TIMEOUT = 600


class PlaybookRun:
    """The outcome of one ansible-playbook process (JSON callback output parsed)."""

    def __init__(self, proc):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        try:
            self.data = json.loads(proc.stdout)
        except ValueError:
            self.data = {"plays": [], "stats": {}}

    @property
    def results(self):
        """Task name -> the localhost result, in playbook order (last wins for repeated names)."""
        out = {}
        for play in self.data.get("plays", []):
            for task in play.get("tasks", []):
                out[task["task"]["name"]] = task["hosts"].get("localhost", {})
        return out

    def result(self, name):
        return self.results[name]

    @property
    def stats(self):
        return self.data.get("stats", {}).get("localhost", {})

    @property
    def failure_messages(self):
        """The ``msg`` of every failed task (including tasks inside roles), joined."""
        return "\n".join(str(r.get("msg")) for r in self.results.values() if r.get("failed"))

    def __repr__(self):
        failures = ["%s: %s" % (name, r.get("msg")) for name, r in self.results.items() if r.get("failed")]
        return "PlaybookRun(rc=%s)\nFAILED TASKS:\n%s\nSTDOUT:\n%s\nSTDERR:\n%s" % (
            self.rc, "\n".join(failures), self.stdout[-4000:], self.stderr[-3000:])


def ansible_env(extra=None):
    env = dict(os.environ)
    env.update({
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "ANSIBLE_LOCALHOST_WARNING": "False",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
    })
    env.update(extra or {})
    return env


def run_playbook(tmp_path, tasks, env=None, check=False, diff=False, extra_vars=None, play=None):
    """Write a one-play playbook of ``tasks`` for localhost and run it with ansible-playbook."""
    body = {"name": "test", "hosts": "localhost", "gather_facts": False, "tasks": tasks}
    body.update(play or {})
    path = Path(tmp_path) / ("playbook-%d.yml" % len(list(Path(tmp_path).glob("playbook-*.yml"))))
    path.write_text(yaml.safe_dump([body], sort_keys=False))
    cmd = [str(ANSIBLE_BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(path)]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    if extra_vars:
        cmd += ["-e", json.dumps(extra_vars)]
    proc = subprocess.run(cmd, env=ansible_env(env), capture_output=True, text=True, timeout=PLAYBOOK_TIMEOUT,
                          check=False)
    return PlaybookRun(proc)
