"""Volume sources of PersistentVolumes and pod volumes, validated as kube-apiserver does (kubernetes
pkg/apis/core/validation/validation.go: ValidatePersistentVolumeSpec, ValidateVolumes / validateVolumeSource,
validateAzureFile(PV), validateCSIPersistentVolumeSource, validateCSIVolumeSource, ValidateCSIDriverName,
validatePVSecretReference, validatePersistentClaimVolumeSource; sources in sandbox/README.md).

Exactly one source per volume: the first one in the Go code's order counts, every later one is "Forbidden: may not
specify more than 1 volume type" at its own field (with the Go code's field names, "cephFS" and the pod form's
"downwarAPI" included); none is "Required value: must specify a volume type". Sources without a check of their own
here are only counted.
"""

from .meta import rule_messages

# (JSON field, field named in the Forbidden error), in the order of ValidatePersistentVolumeSpec.
PV_SOURCES = (("hostPath", "hostPath"), ("gcePersistentDisk", "gcePersistentDisk"),
              ("awsElasticBlockStore", "awsElasticBlockStore"), ("glusterfs", "glusterfs"), ("flocker", "flocker"),
              ("nfs", "nfs"), ("rbd", "rbd"), ("quobyte", "quobyte"), ("cephfs", "cephFS"), ("iscsi", "iscsi"),
              ("cinder", "cinder"), ("fc", "fc"), ("flexVolume", None), ("azureFile", "azureFile"),
              ("vsphereVolume", "vsphereVolume"), ("photonPersistentDisk", "photonPersistentDisk"),
              ("portworxVolume", "portworxVolume"), ("azureDisk", "azureDisk"), ("scaleIO", "scaleIO"),
              ("local", "local"), ("storageos", "storageos"), ("csi", "csi"))
# The same for a pod volume (validateVolumeSource); emptyDir comes first and is never the second source.
POD_SOURCES = (("emptyDir", None), ("hostPath", "hostPath"), ("gitRepo", "gitRepo"),
               ("gcePersistentDisk", "gcePersistentDisk"), ("awsElasticBlockStore", "awsElasticBlockStore"),
               ("secret", "secret"), ("nfs", "nfs"), ("iscsi", "iscsi"), ("glusterfs", "glusterfs"),
               ("flocker", "flocker"), ("persistentVolumeClaim", "persistentVolumeClaim"), ("rbd", "rbd"),
               ("cinder", "cinder"), ("cephfs", "cephFS"), ("quobyte", "quobyte"), ("downwardAPI", "downwarAPI"),
               ("fc", "fc"), ("flexVolume", "flexVolume"), ("configMap", "configMap"), ("azureFile", "azureFile"),
               ("vsphereVolume", "vsphereVolume"), ("photonPersistentDisk", "photonPersistentDisk"),
               ("portworxVolume", "portworxVolume"), ("azureDisk", "azureDisk"), ("storageos", "storageos"),
               ("projected", "projected"), ("scaleIO", "scaleIO"), ("csi", "csi"), ("ephemeral", "ephemeral"),
               ("image", "image"))
PV_SOURCE_FIELDS = tuple(name for name, _forbidden in PV_SOURCES)
# The fields of the pod form of azureFile (core/v1 AzureFileVolumeSource): the API server drops any other
# (secretNamespace exists only in the PersistentVolume form).
POD_AZURE_FILE_FIELDS = ("secretName", "shareName", "readOnly")
# The PersistentVolume CSI secret references validatePVSecretReference checks (nodeStageSecretRef is not one).
PV_CSI_SECRET_REFS = ("controllerPublishSecretRef", "controllerExpandSecretRef", "nodePublishSecretRef",
                      "nodeExpandSecretRef")


def _required(field, detail=""):
    return (field, f"Required value: {detail}" if detail else "Required value")


def _invalid(field, value, messages):
    return [(field, f'Invalid value: "{value}": {message}') for message in messages]


def _counted(source: dict, order, field, checks) -> list:
    """Count the sources present in `order`; validate the first one with `checks[name]`."""
    problems, counted = [], 0
    for name, forbidden_field in order:
        value = source.get(name)
        if value is None:
            continue
        if counted and forbidden_field is not None:
            problems.append((f"{field}.{forbidden_field}", "Forbidden: may not specify more than 1 volume type"))
            continue
        counted += 1
        check = checks.get(name)
        if check is not None and counted == 1:
            problems += check(value if isinstance(value, dict) else {}, f"{field}.{name}")
    if not counted:
        problems.append(_required(field, "must specify a volume type"))
    return problems


# ---------------------------------------------------------------------- the sources with checks
def csi_driver_name(driver, field) -> list:
    """ValidateCSIDriverName: required, at most 63 bytes, a DNS-1123 subdomain once lower-cased."""
    driver = driver if isinstance(driver, str) else ""
    problems = [] if driver else [_required(field)]
    if len(driver.encode()) > 63:
        problems.append((field, "Too long: may not be more than 63 bytes"))
    return problems + _invalid(field, driver, rule_messages("subdomain", driver.lower()))


def _azure_file(source, field, persistent) -> list:
    problems = []
    for key in ("secretName", "shareName"):
        if not source.get(key):
            problems.append(_required(f"{field}.{key}"))
    if persistent and source.get("secretNamespace") == "":
        problems.append(_required(f"{field}.secretNamespace"))
    return problems


def _pv_secret_reference(ref, field) -> list:
    ref = ref if isinstance(ref, dict) else {}
    name, namespace = ref.get("name") or "", ref.get("namespace") or ""
    problems = _invalid(f"{field}.name", name, rule_messages("subdomain", name)) if name else [
        _required(f"{field}.name")]
    problems += _invalid(f"{field}.namespace", namespace, rule_messages("label", namespace)) if namespace else [
        _required(f"{field}.namespace")]
    return problems


def _pv_csi(source, field) -> list:
    problems = csi_driver_name(source.get("driver"), f"{field}.driver")
    if not source.get("volumeHandle"):
        problems.append(_required(f"{field}.volumeHandle"))
    for ref in PV_CSI_SECRET_REFS:
        if source.get(ref) is not None:
            problems += _pv_secret_reference(source[ref], f"{field}.{ref}")
    return problems


def _pod_csi(source, field) -> list:
    problems = csi_driver_name(source.get("driver"), f"{field}.driver")
    ref = source.get("nodePublishSecretRef")
    if ref is not None:
        name = (ref if isinstance(ref, dict) else {}).get("name") or ""
        if not name:
            problems.append(_required(f"{field}.nodePublishSecretRef.name"))
        else:  # the Go code names the field "<volume>.csi.name" here
            problems += _invalid(f"{field}.name", name, rule_messages("subdomain", name))
    return problems


def _claim(source, field) -> list:
    return [] if source.get("claimName") else [_required(f"{field}.claimName")]


PV_CHECKS = {"azureFile": lambda s, f: _azure_file(s, f, True), "csi": _pv_csi}
POD_CHECKS = {"azureFile": lambda s, f: _azure_file(s, f, False), "csi": _pod_csi, "persistentVolumeClaim": _claim}


# ---------------------------------------------------------------------- entry points
def persistent_volume_source(spec: dict) -> list:
    """(field, message) pairs for the source of a PersistentVolume spec."""
    return _counted(spec, PV_SOURCES, "spec", PV_CHECKS)


def pod_volumes(spec: dict, field: str) -> list:
    """ValidateVolumes: each volume's source, its name (a DNS-1123 label), and no name twice."""
    problems, names = [], set()
    for index, volume in enumerate(spec.get("volumes") or []):
        if not isinstance(volume, dict):
            continue
        path, name = f"{field}.volumes[{index}]", volume.get("name") or ""
        found = _counted(volume, POD_SOURCES, path, POD_CHECKS)
        found += _invalid(f"{path}.name", name, rule_messages("label", name)) if name else [
            _required(f"{path}.name")]
        if name in names:
            found.append((f"{path}.name", f'Duplicate value: "{name}"'))
        if not found:
            names.add(name)
        problems += found
    return problems


def drop_unknown_pod_fields(spec: dict) -> None:
    """Decoding into core/v1 drops fields the pod form does not have (azureFile.secretNamespace)."""
    for volume in spec.get("volumes") or []:
        source = volume.get("azureFile") if isinstance(volume, dict) else None
        if isinstance(source, dict):
            for key in [k for k in source if k not in POD_AZURE_FILE_FIELDS]:
                del source[key]
