"""ARM error bodies: {"error": {"code": ..., "message": ...}}, with ARM's wording where it matters."""

from ..server import Response

NOT_FOUND_HELP = "For more details please go to https://aka.ms/ARMResourceNotFoundFix"


class ArmError(Exception):
    def __init__(self, status, code, message, headers=None, details=None, target=None):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.details = details
        self.target = target

    def response(self):
        error = {"code": self.code, "message": self.message}
        if self.target:
            error["target"] = self.target
        if self.details:
            error["details"] = self.details
        return Response.json(self.status, {"error": error}, self.headers)


def resource_group_not_found(name):
    return ArmError(404, "ResourceGroupNotFound", f"Resource group '{name}' could not be found.")


def resource_not_found(type_name, name, resource_group=None):
    where = f" under resource group '{resource_group}'" if resource_group else ""
    return ArmError(404, "ResourceNotFound",
                    f"The Resource '{type_name}/{name}'{where} was not found. {NOT_FOUND_HELP}")


def parent_not_found(parent_type, parent_name):
    return ArmError(404, "ParentResourceNotFound",
                    f"Can not perform requested operation on nested resource. Parent resource "
                    f"'{parent_name}' not found.",
                    details=[{"code": "ResourceNotFound",
                              "message": f"The Resource '{parent_type}/{parent_name}' was not found."}])


def invalid_request_content(message):
    return ArmError(400, "InvalidRequestContent", message)


def location_required():
    return ArmError(400, "LocationRequired", "The location property is required for this definition.")


def invalid_location_change(name, resource_group, old, new):
    return ArmError(400, "InvalidResourceLocation",
                    f"The resource '{name}' already exists in location '{old}' in resource group "
                    f"'{resource_group}'. A resource with the same name cannot be created in location "
                    f"'{new}'. Please select a new resource name.")


def method_not_allowed(method, type_name):
    return ArmError(405, "MethodNotAllowed",
                    f"The requested resource '{type_name}' does not support http method '{method}'.")
