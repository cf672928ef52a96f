"""Malformed Kubernetes input: the emulated API server answers like kube-apiserver (400 BadRequest when the body does
not decode into the kind's Go types, 422 Invalid when it decodes but is not valid), never a 500."""

import pytest

NS = "/api/v1/namespaces"
PVC = "/api/v1/namespaces/default/persistentvolumeclaims"
DECODE = '%s in version "v1" cannot be handled as a %s: '


def ns(**meta):
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}


def pvc(spec):
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "c"}, "spec": spec}


GOOD_PVC = {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "1Gi"}}}
CASES = [
    (NS, ns(name=True), "Namespace",
     "json: cannot unmarshal bool into Go struct field ObjectMeta.metadata.name of type string"),
    (NS, ns(name=2024), "Namespace",
     "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.name of type string"),
    (NS, {"apiVersion": "v1", "kind": "Namespace", "metadata": ["x"]}, "Namespace",
     "json: cannot unmarshal array into Go struct field Namespace.metadata of type v1.ObjectMeta"),
    (NS, ns(name="a", labels=["x"]), "Namespace",
     "json: cannot unmarshal array into Go struct field ObjectMeta.metadata.labels of type map[string]string"),
    (NS, ns(name="a", labels={"x": 1}), "Namespace",
     "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string"),
    (NS, dict(ns(name="a"), spec="x"), "Namespace",
     "json: cannot unmarshal string into Go struct field Namespace.spec of type v1.NamespaceSpec"),
    (PVC, pvc(dict(GOOD_PVC, accessModes="ReadWriteMany")), "PersistentVolumeClaim",
     "json: cannot unmarshal string into Go struct field PersistentVolumeClaimSpec.spec.accessModes of type []string"),
    (PVC, pvc(dict(GOOD_PVC, resources={"requests": {"storage": "lots"}})), "PersistentVolumeClaim",
     "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"),
    (PVC, pvc(dict(GOOD_PVC, resources={"requests": {"storage": True}})), "PersistentVolumeClaim",
     "quantities must match the regular expression"),
    (PVC, pvc(dict(GOOD_PVC, volumeName=7)), "PersistentVolumeClaim",
     "json: cannot unmarshal number into Go struct field PersistentVolumeClaimSpec.spec.volumeName of type string"),
]


@pytest.mark.parametrize("path,body,kind,message", CASES, ids=[c[3][:60] for c in CASES])
def test_bodies_that_do_not_decode_are_400(kube, path, body, kind, message):
    status, _headers, reply = kube.raw("POST", path, body)
    assert status == 400, reply
    assert (reply["kind"], reply["reason"], reply["code"]) == ("Status", "BadRequest", 400)
    assert reply["message"].startswith(DECODE % (kind, kind) + message), reply["message"]


def test_patches_that_do_not_decode_are_400_and_change_nothing(kube):
    assert kube.raw("POST", NS, ns(name="patched"))[0] == 201
    status, _h, reply = kube.raw("PATCH", NS + "/patched", {"metadata": {"labels": {"a": False}}},
                                 content_type="application/merge-patch+json")
    assert status == 400 and "ObjectMeta.metadata.labels of type string" in reply["message"], reply
    assert kube.raw("GET", NS + "/patched")[2]["metadata"].get("labels", {}).get("a") is None


def test_a_body_that_decodes_but_is_invalid_is_still_422(kube):
    status, _h, reply = kube.raw("POST", NS, ns(name="Not_Valid"))
    assert status == 422 and reply["reason"] == "Invalid", reply


def test_null_values_decode_as_unset(kube):
    status, _h, reply = kube.raw("POST", NS, ns(name="nulls", labels={"a": None}, annotations=None))
    assert status in (201, 422), reply  # decoded; whatever validation says, it is not a decoding error
    assert "cannot be handled" not in str(reply)


# ---- PersistentVolumeClaimResize admission (on by default in kube-apiserver) ---------------------------------------
def claim(name, storage="1Gi", storage_class="", volume=None):
    spec = {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": storage}},
            "storageClassName": storage_class}
    if volume:
        spec["volumeName"] = volume
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name}, "spec": spec}


def volume(name, storage="1Gi"):
    return {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name},
            "spec": {"capacity": {"storage": storage}, "accessModes": ["ReadWriteMany"], "storageClassName": "",
                     "csi": {"driver": "blob.csi.azure.com", "volumeHandle": name}}}


def resize(kube, name, storage):
    return kube.raw("PATCH", PVC + "/" + name, {"spec": {"resources": {"requests": {"storage": storage}}}},
                    content_type="application/merge-patch+json")


def test_a_static_claim_cannot_be_resized(kube):
    assert kube.raw("POST", "/api/v1/persistentvolumes", volume("pv-static", "10Gi"))[0] == 201
    assert kube.raw("POST", PVC, claim("static", "1Gi", volume="pv-static"))[0] == 201
    assert kube.raw("GET", PVC + "/static")[2]["status"]["phase"] == "Bound"
    status, _h, reply = resize(kube, "static", "2Gi")
    assert (status, reply["reason"]) == (403, "Forbidden"), reply
    assert reply["message"] == ('persistentvolumeclaims "static" is forbidden: only dynamically provisioned pvc can be '
                                'resized and the storageclass that provisions the pvc must support resize')
    status, _h, reply = resize(kube, "static", "512Mi")
    assert status == 422 and "field can not be less than previous value" in reply["message"], reply
    assert resize(kube, "static", "1Gi")[0] == 200  # the same size is no resize


def test_an_unbound_claim_cannot_be_resized_and_an_expandable_class_allows_growth(kube):
    assert kube.raw("POST", PVC, claim("pending", "1Gi", storage_class="nowhere"))[0] == 201
    status, _h, reply = resize(kube, "pending", "2Gi")
    assert status == 403 and "Only bound persistent volume claims can be expanded" in reply["message"], reply
    assert kube.raw("POST", "/apis/storage.k8s.io/v1/storageclasses", {
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "expandable"},
        "provisioner": "blob.csi.azure.com", "allowVolumeExpansion": True})[0] == 201
    assert kube.raw("POST", "/api/v1/persistentvolumes",
                    dict(volume("pv-dyn"), spec=dict(volume("pv-dyn")["spec"], storageClassName="expandable")))[0] == 201
    assert kube.raw("POST", PVC, claim("dynamic", "1Gi", storage_class="expandable", volume="pv-dyn"))[0] == 201
    assert resize(kube, "dynamic", "2Gi")[0] == 200
