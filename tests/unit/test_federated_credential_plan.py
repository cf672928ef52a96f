import pytest

from ansible_collections.keyless.aks_storage.plugins.modules import federated_credential as fc

ISSUER = "https://westeurope.oic.prod-aks.azure.com/t/c/"


def cred(name, subject, issuer=ISSUER, audiences=("api://AzureADTokenExchange",)):
    return dict(name=name, issuer=issuer, subject=subject, audiences=sorted(audiences), id="/id/" + name)


def want(name, subject, state="present", issuer=ISSUER):
    return fc.validate(dict(name=name, issuer=issuer, subject=subject, audiences=["api://AzureADTokenExchange"],
                            state=state), None)


def test_plan_creates_updates_deletes_and_keeps_unlisted():
    existing = [cred("keep", "system:serviceaccount:a:keep"), cred("edit", "system:serviceaccount:a:old"),
                cred("gone", "system:serviceaccount:a:gone")]
    desired = [want("edit", "system:serviceaccount:a:new"), want("gone", None, state="absent"),
               want("add", "system:serviceaccount:a:add")]
    creates, updates, deletes, final = fc.plan(desired, existing, exclusive=False)
    assert [c["name"] for c in creates] == ["add"]
    assert [u["name"] for u in updates] == ["edit"]
    assert [d["name"] for d in deletes] == ["gone"]
    assert [f["name"] for f in final] == ["add", "edit", "keep"]
    assert {f["name"]: f["id"] for f in final} == {"add": None, "edit": "/id/edit", "keep": "/id/keep"}


def test_plan_exclusive_removes_unlisted():
    existing = [cred("keep", "s1"), cred("other", "s2")]
    _c, _u, deletes, final = fc.plan([want("keep", "s1")], existing, exclusive=True)
    assert [d["name"] for d in deletes] == ["other"] and [f["name"] for f in final] == ["keep"]


def test_plan_limit_counts_existing_credentials():
    existing = [cred("c%02d" % i, "s%d" % i) for i in range(19)]
    fc.plan([want("new1", "n1")], existing, exclusive=False)
    with pytest.raises(fc.InvalidCredential, match="at most 20"):
        fc.plan([want("new1", "n1"), want("new2", "n2")], existing, exclusive=False)


def test_plan_rejects_issuer_subject_clash_with_existing():
    with pytest.raises(fc.InvalidCredential, match="'elsewhere' and 'mine'"):
        fc.plan([want("mine", "system:serviceaccount:a:b")], [cred("elsewhere", "system:serviceaccount:a:b")], False)


def test_renaming_is_allowed_when_the_old_one_is_removed():
    existing = [cred("old-name", "system:serviceaccount:a:b")]
    desired = [want("old-name", None, state="absent"), want("new-name", "system:serviceaccount:a:b")]
    creates, _u, deletes, final = fc.plan(desired, existing, exclusive=False)
    assert [c["name"] for c in creates] == ["new-name"] and [d["name"] for d in deletes] == ["old-name"]
    assert [f["name"] for f in final] == ["new-name"]


def test_audiences_are_a_set_of_exactly_one():
    a = fc.validate(dict(name="abc", issuer=ISSUER, subject="s", audiences=["a", "a"], state="present"), 0)
    assert a["audiences"] == ["a"]
    with pytest.raises(fc.InvalidCredential, match="exactly one audience"):
        fc.validate(dict(name="abc", issuer=ISSUER, subject="s", audiences=["b", "a"], state="present"), 0)


def test_issuer_warnings():
    final = [cred("a", "s1", issuer=ISSUER.rstrip("/")), cred("b", "s2", issuer=ISSUER)]
    warnings = fc.issuer_warnings(final)
    assert any("no trailing slash" in w for w in warnings)
    assert any("differ only by a trailing slash" in w for w in warnings)
    assert fc.issuer_warnings([cred("a", "s", issuer="https://token.actions.example")]) == []
