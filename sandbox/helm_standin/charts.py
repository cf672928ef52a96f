"""Chart references and rendering.

- A local chart (directory or .tgz) is used as it is.
- `--repo <upstream repository>` + its chart name maps to the sandbox's own stand-in chart (STANDIN_REPOS, not the
  upstream chart): `blob-csi-driver` (sandbox/charts/blob-csi-driver, STANDIN_VERSIONS: upstream's published
  versions from v1.22.1 on) and `azurefile-csi-driver` (sandbox/charts/azurefile-csi-driver, FILES_STANDIN_VERSIONS:
  from v1.29.0 on), rendered with the requested version if the repository publishes it, with that version's
  values.yaml defaults (sandbox/charts/<chart>.versions.yaml, applied by `standin_default_values()`).
- Rendering runs a real `helm template` (the wrapped Helm 3 or 4, real.py) with a private HELM_*_HOME, offline.
"""

import copy
import os
import shutil
import subprocess
import tarfile
import tempfile

import yaml

from . import real

CHARTS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "charts")
UPSTREAM_REPO = "https://raw.githubusercontent.com/kubernetes-sigs/blob-csi-driver/master/charts"
# From the upstream repository index (charts/index.yaml); upstream dropped the "v" prefix at 1.25.0.
STANDIN_VERSIONS = (
    "v1.22.1", "v1.22.2", "v1.22.3", "v1.22.4", "v1.22.5", "v1.22.6", "v1.22.8", "v1.22.9",
    "v1.23.0", "v1.23.1", "v1.23.2", "v1.23.3", "v1.23.4", "v1.23.7", "v1.23.9", "v1.23.10",
    "v1.24.0", "v1.24.1", "v1.24.2", "v1.24.3", "v1.24.5", "v1.24.6", "v1.24.7", "v1.24.8", "v1.24.9",
    "1.25.0", "1.25.1", "1.25.3", "1.25.4", "1.25.6",
    "1.26.0", "1.26.1", "1.26.3", "1.26.7", "1.26.8", "1.26.9", "1.26.10", "1.26.11", "1.26.12", "1.26.14",
    "1.26.15", "1.26.16",
    "1.27.0", "1.27.1", "1.27.2", "1.27.3", "1.27.4", "1.27.5", "1.27.7", "1.27.8", "1.27.9",
)
FILES_UPSTREAM_REPO = "https://raw.githubusercontent.com/kubernetes-sigs/azurefile-csi-driver/master/charts"
# From that repository's charts/index.yaml (master, 2026-08-22): "v" prefix up to v1.30.9; no 1.35.5 on master.
FILES_STANDIN_VERSIONS = (
    "v1.29.0", "v1.29.1", "v1.29.2", "v1.29.4", "v1.29.5", "v1.29.7", "v1.29.9", "v1.29.10",
    "v1.30.0", "v1.30.1", "v1.30.2", "v1.30.4", "v1.30.5", "v1.30.6", "v1.30.7", "v1.30.8", "v1.30.9",
    "1.31.0", "1.31.2", "1.31.4", "1.31.5", "1.31.6", "1.31.7", "1.31.8",
    "1.32.0", "1.32.1", "1.32.4", "1.32.5", "1.32.6", "1.32.7", "1.32.8", "1.32.9",
    "1.33.0", "1.33.1", "1.33.2", "1.33.3", "1.33.4", "1.33.5", "1.33.6", "1.33.7", "1.33.8", "1.33.9", "1.33.10",
    "1.34.0", "1.34.1", "1.34.2", "1.34.3", "1.34.4", "1.34.5", "1.34.6", "1.34.7", "1.34.8",
    "1.35.0", "1.35.1", "1.35.2", "1.35.3", "1.35.4", "1.35.6", "1.35.7",
)
STANDIN_REPOS = {UPSTREAM_REPO: {"blob-csi-driver": ("blob-csi-driver", STANDIN_VERSIONS)},
                 FILES_UPSTREAM_REPO: {"azurefile-csi-driver": ("azurefile-csi-driver", FILES_STANDIN_VERSIONS)}}
# Per stand-in chart directory: the defaults of each version as differences from the directory's values.yaml.
STANDIN_HISTORIES = {directory: os.path.join(CHARTS_DIR, f"{directory}.versions.yaml")
                     for directory in ("blob-csi-driver", "azurefile-csi-driver")}
RENDER_TIMEOUT = 60


class ChartError(Exception):
    pass


class Chart:
    def __init__(self, path, metadata, workdir=None):
        self.path = path            # directory or archive handed to `helm template`
        self.metadata = metadata    # Chart.yaml
        self.workdir = workdir      # temporary copy to remove afterwards

    @property
    def name(self):
        return self.metadata.get("name", "")

    @property
    def version(self):
        return str(self.metadata.get("version", ""))

    @property
    def app_version(self):
        return str(self.metadata.get("appVersion") or "")

    def default_values(self) -> dict:
        return _read_member(self.path, "values.yaml") or {}

    def cleanup(self):
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)


def _read_member(path, member):
    """A YAML file of a chart directory or archive (None when absent)."""
    try:
        if os.path.isdir(path):
            with open(os.path.join(path, member), encoding="utf-8") as handle:
                return yaml.safe_load(handle)
        with tarfile.open(path) as archive:
            found = next((m for m in archive.getmembers() if m.name.count("/") == 1
                          and m.name.endswith("/" + member)), None)
            return yaml.safe_load(archive.extractfile(found)) if found else None
    except (OSError, tarfile.TarError, yaml.YAMLError) as exc:
        raise ChartError(f"failed to load chart {path}: {exc}")


def _history(directory) -> dict:
    with open(STANDIN_HISTORIES[directory], encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _unset_path(target: dict, dotted: str) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        target = target.get(part)
        if not isinstance(target, dict):
            return
    target.pop(last, None)


def _set_path(target: dict, dotted: str, value) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        target = target.setdefault(part, {})
    target[last] = copy.deepcopy(value)


def standin_default_values(directory: str, version: str) -> dict:
    """The values.yaml defaults of a published version of a stand-in chart: the directory's values.yaml (the newest
    version) with the recorded differences applied from the newest version down to the requested one."""
    with open(os.path.join(CHARTS_DIR, directory, "values.yaml"), encoding="utf-8") as handle:
        result = yaml.safe_load(handle) or {}
    history = _history(directory)
    if _same_version(history["newest"], version):
        return result
    for spelled, change in history["versions"].items():
        for dotted in (change or {}).get("unset") or []:
            _unset_path(result, dotted)
        for dotted, value in ((change or {}).get("set") or {}).items():
            _set_path(result, dotted, value)
        if _same_version(spelled, version):
            return result
    raise ChartError(f"{directory}: no recorded defaults for version {version}")


def _same_version(a, b) -> bool:
    return a.lstrip("v") == b.lstrip("v")


def resolve(chart_ref, repo=None, version=None) -> Chart:
    if repo:
        return _from_standin_repo(chart_ref, repo.rstrip("/"), version)
    if os.path.exists(chart_ref):
        metadata = _read_member(chart_ref, "Chart.yaml")
        if not isinstance(metadata, dict):
            raise ChartError(f"Chart.yaml file is missing in {chart_ref}")
        return Chart(chart_ref, metadata)
    if "/" in chart_ref and not chart_ref.startswith(("/", ".")):
        raise ChartError(f"repo {chart_ref.split('/')[0]} not found")
    raise ChartError(f"non-absolute URLs should be in form of repo_name/path_to_chart, got: {chart_ref}")


def _from_standin_repo(chart_ref, repo, version) -> Chart:
    charts = STANDIN_REPOS.get(repo)
    if charts is None:
        raise ChartError(f'looks like "{repo}" is not a valid chart repository or cannot be reached: the sandbox '
                         f"helm stand-in serves only {', '.join(STANDIN_REPOS)} (no network access)")
    if chart_ref not in charts:
        raise ChartError(f'chart "{chart_ref}" not found in {repo} repository')
    directory, versions = charts[chart_ref]
    if version:
        chosen = next((v for v in versions if _same_version(v, version)), None)
        if chosen is None:
            raise ChartError(f'chart "{chart_ref}" version "{version}" not found in {repo} repository')
    else:
        chosen = versions[-1]
    workdir = tempfile.mkdtemp(prefix="helm-standin-chart-")
    path = os.path.join(workdir, chart_ref)
    shutil.copytree(os.path.join(CHARTS_DIR, directory), path)
    metadata = _read_member(path, "Chart.yaml")
    metadata.update(version=chosen, appVersion=chosen)
    with open(os.path.join(path, "Chart.yaml"), "w", encoding="utf-8") as handle:
        handle.write("# keyless sandbox stand-in chart (see sandbox/charts/README.md), rendered as version "
                     f"{chosen}\n")
        yaml.safe_dump(metadata, handle, sort_keys=False)
    if not _same_version(_history(directory)["newest"], chosen):
        with open(os.path.join(path, "values.yaml"), "w", encoding="utf-8") as handle:
            handle.write(f"# keyless sandbox stand-in chart: the defaults of upstream chart version {chosen}\n")
            yaml.safe_dump(standin_default_values(directory, chosen), handle, sort_keys=False)
    return Chart(path, metadata, workdir)


def render(chart: Chart, release: str, namespace: str, user_values: dict, kube_version=None,
           is_upgrade=False, extra_args=()) -> str:
    """The manifest (multi-document YAML) a real `helm template` renders: the wrapped Helm 3 or 4 (real.py)."""
    try:
        helm = real.binary()
    except real.RealHelmError as exc:
        raise ChartError(f"cannot render: {exc}")
    with tempfile.TemporaryDirectory(prefix="helm-standin-render-") as home:
        values_file = os.path.join(home, "values.yaml")
        with open(values_file, "w", encoding="utf-8") as handle:
            yaml.safe_dump(user_values or {}, handle)
        cmd = [helm, "template", release, chart.path, "--namespace", namespace, "-f", values_file, *extra_args]
        if kube_version:
            cmd += ["--kube-version", kube_version]
        if is_upgrade:
            cmd.append("--is-upgrade")
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home, "HELM_CACHE_HOME": home,
               "HELM_CONFIG_HOME": home, "HELM_DATA_HOME": home}
        try:
            result = subprocess.run(cmd, capture_output=True, text=True, timeout=RENDER_TIMEOUT, env=env,
                                    check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ChartError(f"helm template failed: {exc}")
    if result.returncode != 0:
        raise ChartError(result.stderr.strip().removeprefix("Error: ") or "helm template failed")
    return result.stdout


def manifest_objects(manifest: str) -> list:
    try:
        return [doc for doc in yaml.safe_load_all(manifest) if isinstance(doc, dict) and doc.get("kind")]
    except yaml.YAMLError as exc:
        raise ChartError(f"YAML parse error on the rendered manifest: {exc}")
