"""networking.k8s.io/v1 NetworkPolicy: defaulting and the basic validation of Kubernetes v1.34.

Defaults (pkg/apis/networking/v1/defaults.go): no `policyTypes` means `[Ingress]`, plus `Egress` when egress
rules are given; a port without `protocol` gets TCP. `podSelector` is a struct without omitempty in the Go type
(k8s.io/api networking/v1 types.go), so an absent one is stored as `{}` (all pods of the namespace); a non-object
one is a typed-decoding 400 (decoding.py). Validation (pkg/apis/networking/validation ValidateNetworkPolicySpec):
the pod selector's matchExpressions (operator, values), at most two policyTypes and only `Ingress`/`Egress`,
port protocols TCP/UDP/SCTP and port numbers 1-65535, a peer must name something and an ipBlock must not be
combined with another peer. Nothing enforces the policies (no pod traffic is emulated).
"""

SELECTOR_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")
POLICY_TYPES = ("Ingress", "Egress")
PROTOCOLS = ("TCP", "UDP", "SCTP")


def apply_defaults(obj: dict) -> None:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        spec = obj["spec"] = {}
    if spec.get("podSelector") is None:
        spec["podSelector"] = {}
    for direction in ("ingress", "egress"):
        rules = [r for r in spec.get(direction) or [] if isinstance(r, dict)]
        for port in (p for rule in rules for p in rule.get("ports") or []):
            if isinstance(port, dict) and port.get("protocol") is None:
                port["protocol"] = "TCP"
    if not spec.get("policyTypes"):
        spec["policyTypes"] = ["Ingress"] + (["Egress"] if spec.get("egress") else [])


def _selector_problems(selector, field) -> list:
    problems = []
    if not isinstance(selector, dict):
        return problems
    for n, expression in enumerate(selector.get("matchExpressions") or []):
        where = f"{field}.matchExpressions[{n}]"
        operator = (expression or {}).get("operator") if isinstance(expression, dict) else None
        values = (expression or {}).get("values") if isinstance(expression, dict) else None
        if operator not in SELECTOR_OPERATORS:
            problems.append((f"{where}.operator", f'Invalid value: "{operator}": not a valid selector operator'))
        elif operator in ("In", "NotIn") and not values:
            problems.append((f"{where}.values", "Required value: must be specified when `operator` is 'In' or "
                                                "'NotIn'"))
        elif operator in ("Exists", "DoesNotExist") and values:
            problems.append((f"{where}.values", "Forbidden: may not be specified when `operator` is 'Exists' or "
                                                "'DoesNotExist'"))
    return problems


def _port_problems(port, field) -> list:
    if not isinstance(port, dict):
        return []
    problems = []
    protocol = port.get("protocol")
    if protocol is not None and protocol not in PROTOCOLS:
        problems.append((f"{field}.protocol", f'Unsupported value: "{protocol}": supported values: "TCP", "UDP", '
                                              f'"SCTP"'))
    number = port.get("port")
    if isinstance(number, int) and not isinstance(number, bool) and not 1 <= number <= 65535:
        problems.append((f"{field}.port", f"Invalid value: {number}: must be between 1 and 65535, inclusive"))
    return problems


def _peer_problems(peer, field) -> list:
    if not isinstance(peer, dict):
        return []
    named = [k for k in ("podSelector", "namespaceSelector", "ipBlock") if peer.get(k) is not None]
    if not named:
        return [(field, "Required value: must specify a peer")]
    if len(named) > 1 and "ipBlock" in named:
        return [(field, "Forbidden: may not specify both ipBlock and another peer")]
    return (_selector_problems(peer.get("podSelector"), f"{field}.podSelector")
            + _selector_problems(peer.get("namespaceSelector"), f"{field}.namespaceSelector"))


def _rule_problems(spec) -> list:
    problems = []
    for direction, peers in (("ingress", "from"), ("egress", "to")):
        for n, rule in enumerate(spec.get(direction) or []):
            if not isinstance(rule, dict):
                continue
            where = f"spec.{direction}[{n}]"
            for m, port in enumerate(rule.get("ports") or []):
                problems += _port_problems(port, f"{where}.ports[{m}]")
            for m, peer in enumerate(rule.get(peers) or []):
                problems += _peer_problems(peer, f"{where}.{peers}[{m}]")
    return problems


def validate(obj, old=None) -> list:
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    problems = _selector_problems(spec.get("podSelector"), "spec.podSelector") + _rule_problems(spec)
    types = spec.get("policyTypes") or []
    if len(types) > len(POLICY_TYPES):
        return problems + [("spec.policyTypes", "Invalid value: may not specify more than two policyTypes")]
    for n, value in enumerate(types):
        if value not in POLICY_TYPES:
            problems.append((f"spec.policyTypes[{n}]", f'Unsupported value: "{value}": supported values: "Ingress", '
                                                       f'"Egress"'))
    return problems
