"""The real helm binary the stand-in wraps: Helm 3 (default) or Helm 4, from sandbox.tools.kube_tools().

It renders charts (`helm template`) and answers `helm version` (so the stand-in reports exactly the version it
wraps), and its major version picks the CLI dialect the stand-in speaks (see cli.py: Helm 4 has no `list --all`,
lists releases of every status by default, warns about --atomic/--force and has more `plugin list` columns).

Choose with the environment variable KEYLESS_HELM_STANDIN_REAL=3|4 (also `helm3`/`helm4`/`v3`/`v4`); the
sandbox's wrapper scripts `bin/helm3` and `bin/helm4` (connection file `helm_binaries`) set it, `bin/helm`
(`helm_binary`) leaves it to the environment. Default 3: kubernetes.core 6.2 (the release the collection is tested
with) predates Helm 4 and its helm module fails on Helm 4 after every install or upgrade (`helm list --all`).
"""

import os
import subprocess
import tempfile

ENV = "KEYLESS_HELM_STANDIN_REAL"
DEFAULT_MAJOR = "3"
TOOL_KEYS = {"3": "helm3", "4": "helm"}  # major -> sandbox.tools.kube_tools() key
TIMEOUT = 60


class RealHelmError(Exception):
    pass


def major() -> str:
    """"3" or "4": the real helm chosen by KEYLESS_HELM_STANDIN_REAL (default 3)."""
    raw = os.environ.get(ENV, "").strip()
    value = raw.lower().removeprefix("helm").removeprefix("v").split(".")[0] or DEFAULT_MAJOR
    if value not in TOOL_KEYS:
        raise RealHelmError(f"{ENV}={raw!r}: the sandbox helm stand-in wraps Helm 3 or 4 (set 3 or 4)")
    return value


def binary() -> str:
    from ..tools import ToolsUnavailable, kube_tools  # stdlib only; the binaries are cached under build/tools
    try:
        return kube_tools()[TOOL_KEYS[major()]]
    except ToolsUnavailable as exc:
        raise RealHelmError(f"no real helm binary: {exc}")


def run(args, home=None) -> subprocess.CompletedProcess:
    """The real helm with ARGS, offline, with a private (empty) HELM_*_HOME unless HOME is given."""
    helm = binary()
    with tempfile.TemporaryDirectory(prefix="helm-standin-real-") as private:
        home = home or private
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home, "HELM_CACHE_HOME": home,
               "HELM_CONFIG_HOME": home, "HELM_DATA_HOME": home}
        try:
            return subprocess.run([helm, *args], capture_output=True, text=True, timeout=TIMEOUT, env=env,
                                  check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise RealHelmError(f"helm {' '.join(args[:1])} failed: {exc}")
