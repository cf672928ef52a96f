"""execution-environment.yml renders into a build context with what AWX needs (ansible-builder create, offline).

`ansible-builder create` only writes the build context (Containerfile, _build/ with the dependency files and the
collection tarball); it pulls no image and reaches no registry, so this runs on machines without a container engine
or network. The image build itself (`ansible-builder build`) is not run here.
"""

import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

ansible_builder = pytest.importorskip(
    "ansible_builder", reason="ansible-builder is not installed (pip install -r tests/requirements.txt)")

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SHA256 = re.compile(r"^[0-9a-f]{64}$")


def pinned(name):
    """The version tests/constraints.txt pins for ``name``."""
    for line in (REPO / "tests" / "constraints.txt").read_text().splitlines():
        if line.lower().startswith(name.lower() + "=="):
            return line.split("==", 1)[1].strip()
    raise AssertionError("%s is not pinned in tests/constraints.txt" % name)


@pytest.fixture(scope="module")
def context(tmp_path_factory):
    """Build context of a copy of the repository's EE definition, with the collection tarball `make build` makes."""
    work = tmp_path_factory.mktemp("ee")
    for name in ("execution-environment.yml", "requirements.txt", "requirements.yml", "bindep.txt"):
        shutil.copy(REPO / name, work / name)
    dist = work / "build" / "dist"
    dist.mkdir(parents=True)
    build = subprocess.run([str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(dist), str(REPO)],
                           capture_output=True, text=True, timeout=300, check=False)
    assert build.returncode == 0, build.stdout + build.stderr
    out = work / "context"
    create = subprocess.run([sys.executable, "-m", "ansible_builder", "create", "-f",
                             str(work / "execution-environment.yml"), "-c", str(out),
                             "--output-filename", "Containerfile"],
                            capture_output=True, text=True, timeout=300, check=False)
    assert create.returncode == 0, create.stdout + create.stderr
    assert "No matches" not in create.stdout + create.stderr, create.stdout + create.stderr
    return out


@pytest.fixture(scope="module")
def containerfile(context):
    return (context / "Containerfile").read_text()


def final_stage(containerfile):
    return containerfile.split("FROM base AS final", 1)[1]


def test_definition_is_schema_version_3_on_a_public_base_image():
    definition = yaml.safe_load((REPO / "execution-environment.yml").read_text())
    assert definition["version"] == 3
    image = definition["images"]["base_image"]["name"]
    # registry.redhat.io needs a Red Hat login; the documented base must be pullable anonymously.
    assert not image.startswith("registry.redhat.io/"), image


def test_ansible_core_and_python_are_the_tested_versions(containerfile):
    assert 'ARG ANSIBLE_INSTALL_REFS="ansible-core==%s ansible-runner==' % pinned("ansible-core") in containerfile
    assert re.search(r"ansible-runner==\d+\.\d+\.\d+", containerfile)
    # The suite runs on Python 3.11 (ansible-core 2.19 needs >= 3.11 on the controller; UBI 9's python3 is 3.9).
    assert 'ARG PYCMD="/usr/bin/python3.11"' in containerfile
    assert "RUN $PYCMD -m pip install --no-cache-dir $ANSIBLE_INSTALL_REFS" in containerfile


def test_our_python_system_and_galaxy_requirements_are_in_the_context(context, containerfile):
    for name in ("requirements.txt", "bindep.txt", "requirements.yml"):
        assert (context / "_build" / name).read_text() == (REPO / name).read_text(), name
    assert "--user-pip=requirements.txt" in containerfile and "--user-bindep=bindep.txt" in containerfile
    assert "-r requirements.yml --collections-path" in containerfile
    galaxy = yaml.safe_load((context / "_build" / "requirements.yml").read_text())
    assert "kubernetes.core" in [c["name"] for c in galaxy["collections"]]
    for library in ("azure-identity", "azure-mgmt-storage", "azure-mgmt-containerservice", "kubernetes"):
        assert re.search(r"^%s>=" % re.escape(library), (context / "_build" / "requirements.txt").read_text(), re.M)


def test_the_collection_itself_is_installed_from_the_built_tarball(context, containerfile):
    version = yaml.safe_load((REPO / "galaxy.yml").read_text())["version"]
    tarball = context / "_build" / "collections" / ("keyless-aks_storage-%s.tar.gz" % version)
    assert tarball.is_file(), "execution-environment.yml names another version than galaxy.yml (%s)" % version
    galaxy_stage = containerfile.split("# Galaxy build stage", 1)[1].split("# Builder build stage", 1)[0]
    assert ("ansible-galaxy collection install --no-deps -p /usr/share/ansible/collections "
            "/build/collections/%s" % tarball.name) in galaxy_stage
    with tarfile.open(tarball) as archive:
        names = set(archive.getnames())
    # ansible-builder's introspection reads these from the installed collection.
    assert {"meta/execution-environment.yml", "requirements.txt", "bindep.txt", "MANIFEST.json"} <= names
    assert not any(n.startswith(("sandbox/", "tests/")) for n in names)


def test_helm_3_from_the_official_tarball_with_checksum_verification(containerfile):
    final = final_stage(containerfile)
    version = re.search(r"^ARG HELM_VERSION=v(\d+)\.(\d+)\.(\d+)$", final, re.M)
    assert version, final
    # kubernetes.core 6.2 (the tested release) supports Helm 3 only.
    assert int(version.group(1)) == 3
    for arch in ("AMD64", "ARM64"):
        checksum = re.search(r"^ARG HELM_SHA256_%s=(\S+)$" % arch, final, re.M)
        assert checksum and SHA256.match(checksum.group(1)), arch
    step = next(line for line in final.splitlines() if "get.helm.sh" in line)
    assert "https://get.helm.sh/helm-${HELM_VERSION}-linux-${arch}.tar.gz" in step
    assert "--proto '=https'" in step
    assert "sha256sum --check --strict" in step
    assert step.index("sha256sum --check") < step.index("tar -xzf") < step.index("/usr/local/bin/helm")
    assert "helm version" in step


def test_nothing_turns_tls_verification_off(containerfile):
    for flag in (" -k ", "--insecure", "--no-check-certificate", "sslverify=0", "sslverify=false", "--ignore-certs",
                 "--trusted-host"):
        assert flag not in containerfile.lower(), flag


def test_the_image_runs_as_a_non_root_user(containerfile):
    final = final_stage(containerfile)
    assert "\nUSER 1000\n" in final
    assert final.index("/usr/local/bin/helm") < final.index("\nUSER 1000\n")
