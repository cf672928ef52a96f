"""The collection's shape rules, checked on its source: small functions, and one place that fails the task."""

import ast
from pathlib import Path

PLUGINS = Path(__file__).resolve().parents[2] / "plugins"
MAX_FUNCTION_LINES = 60


def functions():
    for path in sorted(PLUGINS.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield path.relative_to(PLUGINS), node


def test_no_function_in_plugins_is_over_60_lines():
    long = ["%s:%s (%d lines)" % (path, node.name, node.end_lineno - node.lineno + 1) for path, node in functions()
            if node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]
    assert long == []


def test_only_the_module_driver_fails_the_task():
    """fail_json is called in AzureModule.run alone; everything else raises ModuleError."""
    callers = set()
    for path, node in functions():
        for call in ast.walk(node):
            if isinstance(call, ast.Call) and getattr(call.func, "attr", None) in ("fail_json", "fail_azure"):
                callers.add("%s:%s" % (path, node.name))
    assert callers == {"module_utils/azure_module.py:run"}
