"""Subcommands, in the output formats kubernetes.core 6.2 parses (modules helm, helm_info, helm_template,
module_utils/helm.py): version, list, get values|manifest|notes|hooks, show chart|values, upgrade -i, install,
uninstall, status, template, plugin list, repo update, env, dependency update|build.

`version` is the wrapped real helm's own answer (real.py: Helm 3 by default, or Helm 4), and the CLI follows that
major version where kubernetes.core can see a difference (checked against the real binaries in
tests/sandbox/test_sandbox_helm_standin.py): Helm 4 has no `list --all`/`-a` ("unknown flag"), lists releases of
every status by default (Helm 3: deployed and failed), prints `Flag --atomic has been deprecated, ...` for
--atomic/--force, and `plugin list` has Helm 4's columns. Whichever it wraps, the stand-in stores releases the same
way (Helm-3-style Secrets, releases.py)."""

import json
import os
import re
import sys

import yaml

from . import args as cli_args
from . import charts, real, values
from .install import HelmError, Installer, status_text
from .kubeapi import KubeApi, KubeError

DEFAULT_LISTED = ("deployed", "failed")  # Helm 3's `helm list` without status flags; Helm 4 lists every status
# `helm plugin list` with no plugin installed, as each major version prints it
PLUGIN_LIST_HEADERS = {"3": "NAME\tVERSION\tDESCRIPTION\n",
                       "4": "NAME\tVERSION\tTYPE\tAPIVERSION\tPROVENANCE\tSOURCE\n"}
# Helm 4's deprecation warnings (stderr) for Helm 3 flags it still takes
HELM4_DEPRECATED = {"--atomic": "--rollback-on-failure", "--force": "--force-replace"}


def _namespace(args) -> str:
    return args.value("--namespace") or os.environ.get("HELM_NAMESPACE") or "default"


def _dump(data, output) -> str:
    if output == "json":
        return json.dumps(data) + "\n"
    return yaml.safe_dump(data, sort_keys=True, default_flow_style=False)


def cmd_version(args):
    """The wrapped real helm's answer, verbatim (plain, --short, --template)."""
    argv = ["version"] + (["--short"] if args.on("--short") else [])
    if args.value("--template") is not None:
        argv.append(f"--template={args.value('--template')}")
    result = real.run(argv)
    if result.returncode != 0:
        raise HelmError(result.stderr.strip().removeprefix("Error: ") or "helm version failed")
    return result.stdout


def _release_row(record) -> dict:
    chart = record["chart"]
    return {"name": record["name"], "namespace": record["namespace"], "revision": str(record["revision"]),
            "updated": record["updated"], "status": record["status"],
            "chart": f"{chart['name']}-{chart['version']}", "app_version": chart.get("appVersion", "")}


def cmd_list(args):
    installer = Installer(KubeApi(args), args)
    namespace = None if args.on("--all-namespaces") else _namespace(args)
    pattern = re.compile(args.value("--filter") or "")
    wanted = [s for s in ("deployed", "failed", "pending", "superseded", "uninstalled", "uninstalling")
              if args.on(f"--{s}")]
    everything = args.on("--all") or (not wanted and real.major() == "4")
    rows = []
    for record in installer.releases.latest_of_each(namespace):
        status = record["status"]
        listed = (everything or (status in wanted if wanted else status in DEFAULT_LISTED)
                  or (args.on("--pending") and status.startswith("pending")))
        if listed and pattern.search(record["name"]):
            rows.append(_release_row(record))
    output = args.value("--output", "table")
    if output in ("yaml", "json"):
        return _dump(rows, output) if rows or output == "json" else "[]\n"
    lines = ["NAME\tNAMESPACE\tREVISION\tUPDATED\tSTATUS\tCHART\tAPP VERSION"]
    lines += ["\t".join(r[k] for k in ("name", "namespace", "revision", "updated", "status", "chart", "app_version"))
              for r in rows]
    return "\n".join(lines) + "\n"


def _release(args, usage) -> dict:
    (name,) = args.take(1, usage)
    installer = Installer(KubeApi(args), args)
    history = installer.releases.history(name, _namespace(args))
    revision = args.value("--revision")
    if revision:
        history = [r for r in history if str(r["revision"]) == str(revision)]
    if not history:
        raise HelmError("release: not found")
    return history[-1]


def cmd_get(args):
    what = args.positional[0] if args.positional else ""
    args.positional = args.positional[1:]
    record = _release(args, f"get {what}")
    if what == "values":
        data = values.merge(record.get("chart_values") or {}, record.get("values") or {}, drop_null=True) \
            if args.on("--all") else (record.get("values") or {})
        if not data and args.value("--output", "table") in ("table", "yaml"):
            return "null\n"
        return _dump(data, "json" if args.value("--output") == "json" else "yaml")
    if what == "manifest":
        return record.get("manifest", "")
    if what == "notes":
        return record.get("notes", "")
    if what == "hooks":
        return ""
    if what == "all":
        return status_text(record) + "\nUSER-SUPPLIED VALUES:\n" + _dump(record.get("values") or {}, "yaml") + \
            "\nMANIFEST:\n" + record.get("manifest", "")
    raise cli_args.UsageError(f'unknown command "{what}" for "helm get"')


def cmd_show(args):
    what, chart_ref = args.take(2, "show [chart|values|readme|all] [CHART]")
    try:
        chart = charts.resolve(chart_ref, args.value("--repo"), args.value("--version"))
    except charts.ChartError as exc:
        raise HelmError(str(exc))
    try:
        if what == "chart":
            return yaml.safe_dump(chart.metadata, sort_keys=True)
        if what == "values":
            return yaml.safe_dump(chart.default_values(), sort_keys=False)
        if what in ("readme", "crds"):
            return ""
        if what == "all":
            return yaml.safe_dump(chart.metadata, sort_keys=True) + "---\n" + yaml.safe_dump(chart.default_values())
    finally:
        chart.cleanup()
    raise cli_args.UsageError(f'unknown command "{what}" for "helm show"')


def cmd_upgrade(args):
    name, chart_ref = args.take(2, "upgrade [RELEASE] [CHART]")
    return Installer(KubeApi(args), args).upgrade(name, chart_ref, _namespace(args))


def cmd_install(args):
    name, chart_ref = args.take(2, "install [NAME] [CHART]")
    return Installer(KubeApi(args), args).upgrade(name, chart_ref, _namespace(args), install_only=True)


def cmd_uninstall(args):
    if not args.positional:
        raise cli_args.UsageError('"helm uninstall" requires at least 1 argument')
    installer = Installer(KubeApi(args), args)
    return "".join(installer.uninstall(name, _namespace(args)) for name in args.positional)


def cmd_status(args):
    record = _release(args, "status RELEASE_NAME")
    output = args.value("--output", "table")
    if output in ("json", "yaml"):
        info = {"name": record["name"], "namespace": record["namespace"], "version": record["revision"],
                "info": {"status": record["status"], "description": record.get("description", ""),
                         "last_deployed": record["updated"], "first_deployed": record.get("first_deployed")},
                "chart": {"metadata": record["chart"]}, "config": record.get("values") or {}}
        return _dump(info, output)
    return status_text(record)


def cmd_template(args):
    if len(args.positional) >= 2:
        name, chart_ref = args.positional[:2]
    else:
        name, chart_ref = "release-name", args.take(1, "template [NAME] [CHART]")[0]
    try:
        chart = charts.resolve(chart_ref, args.value("--repo"), args.value("--version"))
        try:
            extra = [f"--show-only={s}" for s in args.values("--show-only")]
            extra += [f"--output-dir={args.value('--output-dir')}"] if args.value("--output-dir") else []
            extra += [flag for flag in ("--include-crds", "--no-hooks", "--skip-crds") if args.on(flag)]
            return charts.render(chart, name, _namespace(args), values.from_flags(args),
                                 kube_version=args.value("--kube-version"), extra_args=extra)
        finally:
            chart.cleanup()
    except (charts.ChartError, values.ValuesError) as exc:
        raise HelmError(str(exc))


def cmd_plugin(args):
    if args.positional[:1] != ["list"]:
        raise HelmError("the sandbox helm stand-in has no plugins to manage")
    return PLUGIN_LIST_HEADERS[real.major()]


def cmd_repo(args):
    if args.positional[:1] == ["update"]:
        return ("Hang tight while we grab the latest from your chart repositories...\n"
                "Update Complete. \u2388Happy Helming!\u2388\n")
    raise HelmError("the sandbox helm stand-in keeps no repositories: pass the repository URL (--repo, "
                    "kubernetes.core.helm chart_repo_url)")


def cmd_env(args):
    names = ("HELM_NAMESPACE", "HELM_KUBECONTEXT", "HELM_KUBEAPISERVER", "HELM_KUBECAFILE", "KUBECONFIG")
    return "".join(f'{n}="{os.environ.get(n, "default" if n == "HELM_NAMESPACE" else "")}"\n' for n in names)


def cmd_dependency(args):
    chart_ref = args.positional[1] if len(args.positional) > 1 else "."
    try:
        chart = charts.resolve(chart_ref)
    except charts.ChartError as exc:
        raise HelmError(str(exc))
    if chart.metadata.get("dependencies"):
        raise HelmError("the sandbox helm stand-in cannot fetch chart dependencies (no network)")
    return ""


COMMANDS = {"version": cmd_version, "list": cmd_list, "ls": cmd_list, "get": cmd_get, "show": cmd_show,
            "inspect": cmd_show, "upgrade": cmd_upgrade, "install": cmd_install, "uninstall": cmd_uninstall,
            "delete": cmd_uninstall, "un": cmd_uninstall, "del": cmd_uninstall, "status": cmd_status,
            "template": cmd_template, "plugin": cmd_plugin, "repo": cmd_repo, "env": cmd_env,
            "dependency": cmd_dependency, "dep": cmd_dependency}


def _helm4_dialect(command, argv, parsed):
    """What Helm 4 does differently with flags kubernetes.core 6.2 sends: refuse `list --all`, warn on --atomic."""
    if command in ("list", "ls"):
        for word in argv:
            if word == "--all" or word.startswith("--all="):
                raise cli_args.UsageError("unknown flag: --all")
            if word == "-a":
                raise cli_args.UsageError("unknown shorthand flag: 'a' in -a")
    if command in ("upgrade", "install"):
        for flag, replacement in HELM4_DEPRECATED.items():
            if flag in parsed.flags:
                sys.stderr.write(f"Flag {flag} has been deprecated, use {replacement} instead\n")


def main(argv) -> int:
    try:
        parsed = cli_args.parse(argv)
        if not parsed.positional:
            raise cli_args.UsageError(f"a subcommand is required (the sandbox helm stand-in implements: "
                                      f"{', '.join(sorted(COMMANDS))})")
        command = parsed.positional.pop(0)
        handler = COMMANDS.get(command)
        if handler is None:
            raise cli_args.UsageError(f'unknown command "{command}" for "helm"')
        if real.major() == "4":
            _helm4_dialect(command, argv, parsed)
        sys.stdout.write(handler(parsed))
        return 0
    except (HelmError, KubeError, cli_args.UsageError, real.RealHelmError) as exc:
        sys.stderr.write(f"Error: {exc}\n")
        return 1
