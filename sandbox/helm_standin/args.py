"""Helm-style command lines: flags may come anywhere (kubernetes.core.helm puts `--version=` and `--repo=`
before the subcommand), as `--flag value`, `--flag=value` or a short alias."""

VALUED = {"--version", "--repo", "--values", "--set", "--set-string", "--set-json", "--set-file", "--timeout",
          "--history-max", "--namespace", "--kubeconfig", "--kube-context", "--kube-token", "--kube-apiserver",
          "--kube-ca-file", "--output", "--filter", "--post-renderer", "--revision", "--description",
          "--kube-version", "--show-only", "--template", "--username", "--password", "--ca-file", "--cert-file",
          "--key-file", "--max", "--selector", "--time-format", "--api-versions", "--output-dir", "--wait-for"}
REPEATED = {"--values", "--set", "--set-string", "--set-json", "--set-file", "--show-only", "--api-versions"}
BOOLEAN = {"--install", "--reset-values", "--reuse-values", "--reset-then-reuse-values", "--wait", "--wait-for-jobs",
           "--atomic", "--rollback-on-failure", "--force", "--no-hooks", "--create-namespace", "--all",
           "--all-namespaces", "--keep-history", "--skip-crds", "--insecure-skip-tls-verify", "--plain-http",
           "--take-ownership", "--skip-schema-validation", "--dependency-update", "--short", "--debug",
           "--kube-insecure-skip-tls-verify", "--dry-run", "--include-crds", "--devel", "--deployed", "--failed",
           "--uninstalled", "--pending", "--superseded", "--uninstalling", "--no-headers", "--replace",
           "--validate", "--is-upgrade", "--cleanup-on-fail", "--disable-openapi-validation", "--verify"}
ALIASES = {"-f": "--values", "-n": "--namespace", "-o": "--output", "-i": "--install", "-a": "--all",
           "-A": "--all-namespaces", "-q": "--short", "-m": "--max", "-l": "--selector", "-s": "--show-only"}
TRUE_WORDS = ("true", "1", "yes", "t")


class UsageError(Exception):
    pass


class Args:
    def __init__(self, positional, flags):
        self.positional = positional
        self.flags = flags

    def value(self, name, default=None):
        return self.flags.get(name, default)

    def values(self, name) -> list:
        return list(self.flags.get(name) or [])

    def on(self, name) -> bool:
        return bool(self.flags.get(name))

    def take(self, count: int, usage: str) -> list:
        if len(self.positional) < count:
            raise UsageError(f'"helm {usage}" requires at least {count} argument(s)')
        return self.positional[:count]


def parse(argv) -> Args:
    positional, flags = [], {}
    index = 0
    while index < len(argv):
        word = argv[index]
        index += 1
        if word == "--":
            positional.extend(argv[index:])
            break
        if not word.startswith("-") or word == "-":
            positional.append(word)
            continue
        name, has_value, inline = word.partition("=")
        name = ALIASES.get(name, name)
        if name in BOOLEAN:
            flags[name] = (inline.lower() in TRUE_WORDS) if has_value else True
        elif name in VALUED:
            if not has_value:
                if index >= len(argv):
                    raise UsageError(f"flag needs an argument: {word}")
                inline = argv[index]
                index += 1
            if name in REPEATED:
                flags.setdefault(name, []).append(inline)
            else:
                flags[name] = inline
        else:
            raise UsageError(f"unknown flag: {name}")
    return Args(positional, flags)
