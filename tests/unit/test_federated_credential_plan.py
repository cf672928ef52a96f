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


# ---- bulk form (identities) ---------------------------------------------------------------------------------------
def bulk_params(identities, **top):
    params = dict(resource_group="rg-top", identities=identities, exclusive=False, state="present")
    params.update(top)
    return params


def item(identity, *subjects, **extra):
    creds = [dict(name="%s-%d" % (identity, i), issuer=ISSUER, subject=s, namespace=None, service_account=None,
                  audiences=["api://AzureADTokenExchange"], state=None) for i, s in enumerate(subjects)]
    return dict(dict(resource_group=None, identity_name=identity, credentials=creds, exclusive=None), **extra)


def test_bulk_targets_default_resource_group_exclusive_and_state():
    targets = fc.bulk_targets(bulk_params([item("id-a", "s1"), item("id-b", "s2", resource_group="rg-b",
                                                                    exclusive=False)],
                                          exclusive=True, state="absent"))
    assert [(t["resource_group"], t["identity_name"], t["exclusive"]) for t in targets] == [
        ("rg-top", "id-a", True), ("rg-b", "id-b", False)]
    assert [t.label for t in targets] == ["identities[0] (rg-top/id-a)", "identities[1] (rg-b/id-b)"]
    assert targets[0]["desired"] == [dict(name="id-a-0", state="absent")]  # top-level state is the default


def test_bulk_targets_name_the_identity_of_an_invalid_item():
    with pytest.raises(fc.InvalidCredential, match=r"^identities\[1\] \(rg-top/id-b\): credentials\[0\]"):
        fc.bulk_targets(bulk_params([item("id-a", "s1"), dict(item("id-b", "s2"), credentials=[
            dict(item("id-b", "s2")["credentials"][0], name="no")])]))
    with pytest.raises(fc.InvalidCredential, match=r"identities\[0\] \(rg-top/id-a\): credential names listed more"):
        fc.bulk_targets(bulk_params([dict(item("id-a", "s1"), credentials=item("id-a", "s1")["credentials"] * 2)]))


def test_bulk_targets_need_a_resource_group_and_credentials():
    with pytest.raises(fc.InvalidCredential, match=r"identities\[0\] \(id-a\): resource_group is required"):
        fc.bulk_targets(bulk_params([item("id-a", "s1")], resource_group=None))
    with pytest.raises(fc.InvalidCredential, match=r"identities\[0\] \(rg-top/id-a\): credentials is required"):
        fc.bulk_targets(bulk_params([dict(item("id-a"), credentials=None)]))
    # an empty list is allowed (with exclusive it removes every credential)
    assert fc.bulk_targets(bulk_params([item("id-a")], exclusive=True))[0]["desired"] == []


def test_bulk_targets_refuse_an_identity_listed_twice():
    with pytest.raises(fc.InvalidCredential, match=r"identities\[1\] \(RG-top/ID-A\): the identity is already listed "
                                                   r"as identities\[0\]"):
        fc.bulk_targets(bulk_params([item("id-a", "s1"), item("ID-A", "s2", resource_group="RG-top")]))
    # the same name in another resource group is another identity
    assert len(fc.bulk_targets(bulk_params([item("id-a", "s1"), item("id-a", "s1", resource_group="rg-2")]))) == 2


def test_desired_from_keeps_the_single_form_messages():
    single = dict(name=None, issuer=None, subject=None, namespace=None, service_account=None,
                  audiences=["api://AzureADTokenExchange"], credentials=None, exclusive=False, state="present")
    with pytest.raises(fc.InvalidCredential, match=r"^name \(with issuer and subject\) or credentials is required$"):
        fc.desired_from(single)
    assert fc.desired_from(dict(single, exclusive=True)) == []
    with pytest.raises(fc.InvalidCredential, match="not both"):
        fc.desired_from(dict(single, name="abc", credentials=[]))
    assert fc.desired_from(dict(single, name="abc", issuer=ISSUER, namespace="a", service_account="b")) == [
        dict(name="abc", issuer=ISSUER, subject="system:serviceaccount:a:b",
             audiences=["api://AzureADTokenExchange"], state="present")]


def test_outcome_and_bulk_diff():
    existing = [cred("keep", "s1"), cred("gone", "s2")]
    creates, updates, deletes, final = fc.plan([want("keep", "s1"), want("add", "s3")], existing, exclusive=True)
    planned = dict(resource_group="rg", identity_name="id-a", existing=existing, creates=creates, updates=updates,
                   deletes=deletes, final=final)
    result = fc.outcome(planned, final)
    assert result == dict(credentials=final, created=["add"], updated=[], deleted=["gone"], changed=True)
    unchanged = dict(planned, creates=[], updates=[], deletes=[])
    assert fc.outcome(unchanged, existing)["changed"] is False
    results = [dict(resource_group="rg", identity_name="id-a", **result),
               dict(resource_group="rg", identity_name="id-b", **fc.outcome(unchanged, []))]
    assert fc.bulk_diff(results, [existing, []]) == {"before": {"rg/id-a": existing, "rg/id-b": []},
                                                     "after": {"rg/id-a": final, "rg/id-b": []}}
