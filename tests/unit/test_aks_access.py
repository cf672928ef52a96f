"""The kubeconfig logic of plugins/module_utils/aks_access.py: which access a cluster gets, when a token kubeconfig
is current, and renewing its token (a fake credential; no Azure)."""

import os
import time
from types import SimpleNamespace

import pytest
import yaml

from ansible_collections.keyless.aks_storage.plugins.module_utils import aks_access
from ansible_collections.keyless.aks_storage.plugins.module_utils.errors import ModuleError

CLUSTER_ID = "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks"
KUBECONFIG = {"apiVersion": "v1", "kind": "Config",
              "clusters": [{"name": "aks", "cluster": {"server": "https://aks.example:443",
                                                       "certificate-authority-data": "Q0E="}}],
              "users": [{"name": "clusterUser_rg_aks", "user": {"exec": {
                  "apiVersion": "client.authentication.k8s.io/v1beta1", "command": "kubelogin",
                  "args": ["get-token", "--login", "devicecode", "--server-id", aks_access.AKS_SERVER_APP]}}}],
              "contexts": [{"name": "aks", "context": {"cluster": "aks", "user": "clusterUser_rg_aks"}}],
              "current-context": "aks"}


def cluster(aad=None, local_disabled=False):
    props = {"fqdn": "aks.example", "resourceUID": "uid-1", "disableLocalAccounts": local_disabled}
    if aad is not None:
        props["aadProfile"] = aad
    return {"id": CLUSTER_ID, "name": "aks", "properties": props}


class FakeModule:
    def __init__(self, lifetime=3600, check_mode=False):
        self.check_mode, self.requests, self.lifetime = check_mode, [], lifetime
        self.credential = SimpleNamespace(get_token=self._token)

    def _token(self, scope):
        self.requests.append(scope)
        return SimpleNamespace(token="token-%d" % len(self.requests), expires_on=int(time.time()) + self.lifetime)

    @staticmethod
    def call(_action, fn, *args):
        return fn(*args)


@pytest.mark.parametrize("requested,aad,disabled,expected", [
    ("auto", None, False, "local"), ("auto", {"managed": True}, False, "entra"),
    ("auto", {"managed": True}, True, "entra"), ("local", None, False, "local"),
    ("local", {"managed": True}, False, "local"), ("entra", {"managed": True, "enableAzureRBAC": True}, True, "entra"),
])
def test_resolve_auth(requested, aad, disabled, expected):
    assert aks_access.resolve_auth(requested, cluster(aad, disabled)) == expected


@pytest.mark.parametrize("requested,aad,disabled,words", [
    ("entra", None, False, "needs a cluster with Microsoft Entra ID integration"),
    ("local", {"managed": True}, True, "disables (disableLocalAccounts): use kubeconfig_auth=entra"),
])
def test_resolve_auth_refuses_what_cannot_work(requested, aad, disabled, words):
    with pytest.raises(ModuleError) as refused:
        aks_access.resolve_auth(requested, cluster(aad, disabled))
    assert words in refused.value.msg


def written(tmp_path, module, mode=0o600):
    path = tmp_path / "kubeconfig"
    path.write_bytes(aks_access.marker(cluster({"managed": True})) + aks_access.with_token(
        module, yaml.safe_dump(KUBECONFIG).encode()))
    os.chmod(path, mode)
    return path


def test_a_token_kubeconfig_keeps_server_and_ca_and_replaces_the_exec_user(tmp_path):
    module = FakeModule()
    path = written(tmp_path, module)
    lines = path.read_text().splitlines()
    assert lines[0].startswith("# keyless.aks_storage: %s uid-1 aks.example" % CLUSTER_ID.lower())
    assert abs(aks_access.token_expiry(lines[1]) - (time.time() + 3600)) < 60
    document = yaml.safe_load(path.read_text())
    assert document["clusters"] == KUBECONFIG["clusters"]
    assert document["users"] == [{"name": "clusterUser_rg_aks", "user": {"token": "token-1"}}]
    assert module.requests == [aks_access.AKS_SCOPE] and aks_access.AKS_SCOPE.endswith("/.default")


def test_current_depends_on_the_marker_the_mode_and_the_token_margin(tmp_path):
    path = written(tmp_path, FakeModule(lifetime=3600))
    first = aks_access.marker(cluster({"managed": True}))
    assert aks_access.current(str(path), first)
    assert not aks_access.current(str(path), first, now=time.time() + 3600 - aks_access.TOKEN_MARGIN + 5)
    assert not aks_access.current(str(path), b"# keyless.aks_storage: another\n")
    os.chmod(path, 0o644)
    assert not aks_access.current(str(path), first)


def test_renew_token_only_when_due_and_never_in_check_mode(tmp_path, monkeypatch):
    monkeypatch.setattr(aks_access, "accepted", lambda path: True)
    module = FakeModule(lifetime=3600)
    path = written(tmp_path, module)
    assert aks_access.renew_token(module, str(path)) is False and len(module.requests) == 1
    short = FakeModule(lifetime=aks_access.TOKEN_MARGIN - 60)
    path = written(tmp_path, short)
    before = path.read_bytes()
    checking = FakeModule(check_mode=True)
    assert aks_access.renew_token(checking, str(path)) is True and path.read_bytes() == before
    assert aks_access.renew_token(module, str(path)) is True
    assert yaml.safe_load(path.read_text())["users"][0]["user"] == {"token": "token-2"}
    assert path.read_text().splitlines()[0] == before.decode().splitlines()[0]
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"


def test_renew_token_leaves_other_kubeconfigs_alone(tmp_path):
    other = tmp_path / "other"
    other.write_text(yaml.safe_dump(KUBECONFIG))
    other.chmod(0o600)
    module = FakeModule()
    assert aks_access.renew_token(module, str(other)) is None
    assert aks_access.renew_token(module, str(tmp_path / "missing")) is None
    path = written(tmp_path, FakeModule())
    assert aks_access.renew_token(module, str(path), first_line=b"# keyless.aks_storage: another\n") is None
    assert module.requests == []
