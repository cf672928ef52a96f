"""User-supplied values the way Helm combines them: `-f` files in order, then `--set*` (later wins, maps
merge). `--set` supports dotted keys and comma-separated pairs, not list indexes or escapes."""

import json

import yaml


class ValuesError(Exception):
    pass


def merge(base: dict, override: dict, drop_null: bool = False) -> dict:
    """User values keep their nulls (`helm get values` shows them); coalescing with chart defaults drops them."""
    out = dict(base)
    for key, value in override.items():
        if value is None and drop_null:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value, drop_null)
        else:
            out[key] = value
    return out


def _scalar(text: str):
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    try:
        return int(text)
    except ValueError:
        return text


def _set_path(target: dict, dotted: str, value) -> None:
    parts = dotted.split(".")
    for part in parts[:-1]:
        target = target.setdefault(part, {})
        if not isinstance(target, dict):
            raise ValuesError(f"key {dotted!r} descends into a value that is not a map")
    target[parts[-1]] = value


def from_flags(args) -> dict:
    values = {}
    for path in args.values("--values"):
        try:
            with open(path, encoding="utf-8") as handle:
                loaded = yaml.safe_load(handle)
        except (OSError, yaml.YAMLError) as exc:
            raise ValuesError(f"failed to parse {path}: {exc}")
        if loaded is not None and not isinstance(loaded, dict):
            raise ValuesError(f"failed to parse {path}: values must be a map")
        values = merge(values, loaded or {})
    overrides = {}
    for flag, convert in (("--set", _scalar), ("--set-string", str), ("--set-json", json.loads)):
        for item in args.values(flag):
            pairs = [item] if flag == "--set-json" else item.split(",")
            for pair in pairs:
                key, sep, raw = pair.partition("=")
                if not sep or not key:
                    raise ValuesError(f'failed parsing {flag} data: key "{pair}" has no value')
                try:
                    _set_path(overrides, key, convert(raw))
                except ValueError as exc:
                    raise ValuesError(f"failed parsing {flag} data: {exc}")
    return merge(values, overrides) if overrides else values
