"""Kubernetes resource quantities: parsing ("5Gi", "500M", "1e3" -> numbers) and the canonical form the API server
stores and returns.

Facts (k8s.io/apimachinery pkg/api/resource/quantity.go, Kubernetes v1.34): a quantity keeps the format of its
suffix (binary Ki..Ei, decimal n..E or none, or an exponent e/E); values finer than 1n are rounded up (away from
zero) to nano precision; the canonical form is written with the largest suffix that leaves an integer: a decimal
mantissa with an exponent that is a multiple of 3 (``0.5`` -> ``500m``, ``1000`` -> ``1k``, ``1500`` -> ``1500``,
``1e3`` stays ``1e3``), or for binary values an integer times a power of 1024 (``1024Mi`` -> ``1Gi``). A binary
value strictly between -1024 and 1024, or one that is not a whole number, is written as a decimal one
(``0.5Ki`` -> ``512``). Zero is ``0``.
"""

import re
from decimal import ROUND_UP, Decimal, InvalidOperation, localcontext

BINARY = ("", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei")
DECIMAL = {-9: "n", -6: "u", -3: "m", 0: "", 3: "k", 6: "M", 9: "G", 12: "T", 15: "P", 18: "E"}
_SUFFIXES = {**{s: 1024 ** i for i, s in enumerate(BINARY) if s}, **{s: Decimal(10) ** e for e, s in DECIMAL.items()}}
_RE = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$")
NANO = Decimal("1e-9")


def _split(value):
    """-> (amount, format) with format "binary", "decimal" or "exponent"; None when not a quantity."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return Decimal(str(value)), "decimal"
    match = _RE.match(value.strip()) if isinstance(value, str) else None
    if not match:
        return None
    number, suffix = match.group(1), match.group(2) or ""
    try:
        if suffix[:1] in ("e", "E") and suffix not in _SUFFIXES:
            return Decimal(number) * Decimal(10) ** int(suffix[1:]), "exponent"
        return Decimal(number) * Decimal(_SUFFIXES.get(suffix, 1)), "binary" if suffix in BINARY[1:] else "decimal"
    except (InvalidOperation, OverflowError):
        return None


def parse(value) -> Decimal | None:
    """None when the value is not a valid quantity."""
    split = _split(value)
    return split[0] if split else None


def canonical(value) -> str | None:
    """The string the API server stores for ``value`` (None when it is not a quantity)."""
    split = _split(value)
    if split is None:
        return None
    amount, form = split
    with localcontext() as context:
        context.prec = 80   # an exact nano quantisation of anything up to the exa range
        amount = amount.quantize(NANO, rounding=ROUND_UP)
    if amount == 0:
        return "0"
    if form == "binary" and abs(amount) >= 1024 and amount == amount.to_integral_value():
        return _base1024(int(amount))
    return _base10(amount, "exponent" if form == "exponent" else "decimal")


def _base1024(number: int) -> str:
    power = 0
    while number % 1024 == 0 and power + 1 < len(BINARY):
        number, power = number // 1024, power + 1
    return f"{number}{BINARY[power]}"


def _base10(amount: Decimal, form: str) -> str:
    sign, digits, exponent = amount.normalize().as_tuple()
    mantissa = int("".join(map(str, digits))) * (-1 if sign else 1)
    shift = exponent % 3                      # down to a multiple of 3, as AsCanonicalBytes does
    mantissa, exponent = mantissa * 10 ** shift, exponent - shift
    if form == "exponent":
        return f"{mantissa}e{exponent}" if exponent else str(mantissa)
    suffix = DECIMAL.get(exponent)
    return f"{mantissa}{suffix}" if suffix is not None else f"{mantissa}e{exponent}"


# ---------------------------------------------------------------------- the quantity fields of the emulated kinds
TEMPLATED = ("Job", "Deployment", "DaemonSet", "StatefulSet", "ReplicaSet")
POD_TEMPLATE = {"Pod": ("spec",), "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
                **{kind: ("spec", "template", "spec") for kind in TEMPLATED}}


def canonicalize(kind_name: str, obj: dict) -> None:
    """Rewrite every quantity of ``obj`` in its canonical form (in place), as storing it through the API does."""
    for holder, key in _quantity_maps(kind_name, obj):
        values = holder[key]
        for name in list(values) if isinstance(values, dict) else [None]:
            target, field = (values, name) if name is not None else (holder, key)
            fixed = canonical(target[field])
            if fixed is not None:
                target[field] = fixed


def _quantity_maps(kind_name, obj):
    """(parent dict, key) pairs of the ResourceList maps (dicts) and single quantities (strings) of ``obj``."""
    spec, status = obj.get("spec"), obj.get("status")
    found = []
    if kind_name == "PersistentVolume":
        found += _maps(spec, ("capacity",))
    if kind_name == "PersistentVolumeClaim":
        found += _claim_maps(spec) + _maps(status, ("capacity",), ("allocatedResources",))
    if kind_name == "StatefulSet":
        for template in (spec or {}).get("volumeClaimTemplates") or [] if isinstance(spec, dict) else []:
            found += _claim_maps(template.get("spec") if isinstance(template, dict) else None)
    if kind_name in POD_TEMPLATE:
        found += _pod_maps(_at(obj, POD_TEMPLATE[kind_name]))
    return found


def _at(obj, path):
    for key in path:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


def _maps(parent, *paths):
    """(dict, key) for each path whose value is a dict (a ResourceList)."""
    found = []
    for path in paths:
        holder = _at(parent, path[:-1])
        if isinstance(holder, dict) and isinstance(holder.get(path[-1]), dict):
            found.append((holder, path[-1]))
    return found


def _claim_maps(spec):
    return _maps(spec, ("resources", "requests"), ("resources", "limits"))


def _pod_maps(spec):
    if not isinstance(spec, dict):
        return []
    found = _maps(spec, ("overhead",))
    for field in ("containers", "initContainers"):
        for container in spec.get(field) or [] if isinstance(spec.get(field), list) else []:
            found += _maps(container, ("resources", "requests"), ("resources", "limits"))
    for volume in spec.get("volumes") or [] if isinstance(spec.get("volumes"), list) else []:
        empty_dir = volume.get("emptyDir") if isinstance(volume, dict) else None
        if isinstance(empty_dir, dict) and isinstance(empty_dir.get("sizeLimit"), (str, int, float)):
            found.append((empty_dir, "sizeLimit"))
    return found
