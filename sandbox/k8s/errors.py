"""Kubernetes `Status` failures, shaped like the real API server's."""


class KubeError(Exception):
    def __init__(self, code: int, reason: str, message: str, details: dict | None = None, list_meta=None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details
        self.list_meta = list_meta or {}   # Status.metadata (a ListMeta: e.g. the continue token of a 410)

    def status(self) -> dict:
        body = {"kind": "Status", "apiVersion": "v1", "metadata": dict(self.list_meta), "status": "Failure",
                "message": self.message, "reason": self.reason, "code": self.code}
        if self.details is not None:
            body["details"] = self.details
        return body


def _details(kind, name):
    details = {"name": name, "kind": kind.plural if kind else ""}
    if kind and kind.group:
        details["group"] = kind.group
    return details


def not_found(kind, name) -> KubeError:
    return KubeError(404, "NotFound", f'{kind.resource_name} "{name}" not found', _details(kind, name))


def namespace_not_found(name) -> KubeError:
    return KubeError(404, "NotFound", f'namespaces "{name}" not found', {"name": name, "kind": "namespaces"})


def forbidden(kind, name, why) -> KubeError:
    """403 from an admission plugin: '<resource> "<name>" is forbidden: <why>'."""
    return KubeError(403, "Forbidden", f'{kind.resource_name} "{name}" is forbidden: {why}', _details(kind, name))


def already_exists(kind, name) -> KubeError:
    return KubeError(409, "AlreadyExists", f'{kind.resource_name} "{name}" already exists', _details(kind, name))


def conflict(kind, name, why="the object has been modified; please apply your changes to the latest version "
                             "and try again") -> KubeError:
    return KubeError(409, "Conflict", f'Operation cannot be fulfilled on {kind.resource_name} "{name}": {why}',
                     _details(kind, name))


# field.ErrorType of k8s.io/apimachinery/pkg/util/validation/field, by the message's prefix
CAUSE_REASONS = (("Required value", "FieldValueRequired"), ("Forbidden", "FieldValueForbidden"),
                 ("Unsupported value", "FieldValueNotSupported"), ("Duplicate value", "FieldValueDuplicate"),
                 ("Too long", "FieldValueTooLong"), ("Too many", "FieldValueTooMany"),
                 ("Not found", "FieldValueNotFound"))


def _cause_reason(message):
    return next((reason for prefix, reason in CAUSE_REASONS if message.startswith(prefix)), "FieldValueInvalid")


def invalid(kind, name, causes: list, kind_name=None, group=None) -> KubeError:
    """causes: [(field, message)] -> 422 Invalid; ``kind_name``/``group`` name a kind outside the table
    (``PatchOptions`` of ``meta.k8s.io``)."""
    own = kind_name is None
    kind_name = kind.kind if own else kind_name
    group = kind.group if own else group
    text = ", ".join(f"{f}: {m}" for f, m in causes)
    details = {"name": name, "kind": kind_name, "causes": [
        {"reason": _cause_reason(m), "message": m, "field": f} for f, m in causes]}
    if group:
        details["group"] = group
    qualified = f"{kind_name}.{group}" if group else kind_name  # "Job.batch", as GroupKind.String()
    return KubeError(422, "Invalid", f'{qualified} "{name}" is invalid: {text}', details)


def invalid_patch_options(field, message) -> KubeError:
    """k8s.io/apimachinery ValidatePatchOptions: checked before the object is looked up."""
    return invalid(None, "", [(field, message)], kind_name="PatchOptions", group="meta.k8s.io")


def bad_request(message: str) -> KubeError:
    return KubeError(400, "BadRequest", message)


def method_not_allowed(message: str) -> KubeError:
    return KubeError(405, "MethodNotAllowed", message)


def unsupported_media_type(content_type: str) -> KubeError:
    return KubeError(415, "UnsupportedMediaType", f'the body of the request was in an unknown format - '
                     f'accepted media types include: application/json-patch+json, application/merge-patch+json, '
                     f'application/apply-patch+yaml, application/strategic-merge-patch+json (got "{content_type}")')


def unauthorized() -> KubeError:
    return KubeError(401, "Unauthorized", "Unauthorized")


def invalid_dry_run(value) -> KubeError:
    return KubeError(400, "BadRequest", f'Invalid value: {value!r}: valid values are: "All"')
