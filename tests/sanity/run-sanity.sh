#!/usr/bin/env bash
# Run `ansible-test sanity` offline (only the package registries reachable).
#
# usage: tests/sanity/run-sanity.sh [COLLECTION_ROOT] [VENV] [-- EXTRA ANSIBLE-TEST ARGS...]
#
#   COLLECTION_ROOT  collection source root (default: two levels above this script)
#   VENV             virtual environment with ansible-core (default: $VENV, else COLLECTION_ROOT/.venv)
#
# environment:
#   SANITY_PYTHON    Python version to test with (default 3.11)
#   SANITY_TESTS     space-separated sanity tests to run (default: the offline set below;
#                    "all" runs every test ansible-test knows, including those that need tools)
#   SANITY_EXCLUDE   space-separated paths left out of the copy, so no test sees them
#                    (e.g. "sandbox"; ansible-test's own --exclude PATH/ can be given after --)
#   SANITY_OUTPUT    if set, ansible-test's tests/output is copied there (junit/bot results)
#   SANITY_KEEP=1    keep the temporary ansible_collections tree (path is printed)
#
# What it does:
#  1. seeds ~/.ansible/test/cache/get_pip_<pip version>.py with get_pip_bootstrap.py, so
#     ansible-test never downloads get-pip.py, plus get_pip_<ver>.pip.conf holding this
#     machine's effective pip configuration (ansible-test strips PIP_* variables);
#  2. copies the collection to a temporary ansible_collections/<namespace>/<name>
#     (ansible-test needs that layout; no git repository is needed);
#  3. runs ansible-test sanity --requirements --python $SANITY_PYTHON with the chosen tests
#     and exits with its status.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

positional=()
while [[ $# -gt 0 && $1 != -- ]]; do
    positional+=("$1")
    shift
done
if [[ ${1:-} == -- ]]; then
    shift
fi
extra_args=("$@")

src=$(cd "${positional[0]:-${script_dir}/../..}" && pwd)
venv=${positional[1]:-${VENV:-${src}/.venv}}
if [[ ! -x ${venv}/bin/ansible-test ]]; then
    echo "run-sanity.sh: ${venv}/bin/ansible-test not found (give the venv as 2nd argument or \$VENV)" >&2
    exit 2
fi
venv=$(cd "${venv}" && pwd)

python_version=${SANITY_PYTHON:-3.11}

# Every test below runs offline here (their venvs come from PyPI through pip's configured index).
# Left out: pslint (needs pwsh, not packaged by the registries; the collection has no PowerShell).
# The shellcheck test joins when its binary is installed (Debian package "shellcheck").
default_tests=(
    action-plugin-docs ansible-doc changelog compile empty-init ignores import
    line-endings no-assert no-get-exception no-illegal-filenames no-smart-quotes
    pep8 pylint replace-urlopen runtime-metadata shebang symlinks use-argspec-type-path
    use-compat-six validate-modules yamllint
)
if command -v shellcheck >/dev/null 2>&1; then
    default_tests+=(shellcheck)
fi
read -r -a tests <<< "${SANITY_TESTS:-${default_tests[*]}}"

py="${venv}/bin/python"
export PATH="${venv}/bin:${PATH}"

# --- 1. pip bootstrap seeded into ansible-test's cache --------------------------------------
pip_version=$("${py}" - "${python_version}" <<'EOF'
import re
import sys

try:
    from ansible_test._internal.host_configs import NativePythonConfig
    from ansible_test._internal.python_requirements import get_venv_packages

    print(get_venv_packages(NativePythonConfig(version=sys.argv[1]))['pip'])
except Exception:  # private API moved: fall back to reading the source
    import ansible_test
    path = ansible_test.__path__[0] + '/_internal/python_requirements.py'
    print(re.search(r"pip='([0-9.]+)'", open(path, encoding='utf-8').read()).group(1))
EOF
)
cache_dir="${HOME}/.ansible/test/cache"
bootstrap="${cache_dir}/get_pip_${pip_version//./_}.py"
mkdir -p "${cache_dir}"
cp "${script_dir}/get_pip_bootstrap.py" "${bootstrap}.tmp"
mv -f "${bootstrap}.tmp" "${bootstrap}"

# Effective pip configuration (files and PIP_* variables) as one ini file; the bootstrap
# writes it into each venv ansible-test creates, where pip reads it as site configuration.
{ "${py}" -m pip config list 2>/dev/null || python3 -m pip config list 2>/dev/null || true; } |
    "${py}" -c '
import ast
import configparser
import sys

files, env = {}, {}
for line in sys.stdin:
    name, sep, value = line.rstrip("\n").partition("=")
    section, dot, key = name.rpartition(".")
    if not sep or not dot:
        continue
    try:
        value = ast.literal_eval(value)
    except (ValueError, SyntaxError):
        pass
    (env if section == ":env:" else files)[(section, key)] = value
for (_, key), value in env.items():  # PIP_* variables win over files
    files[("global", key)] = value
config = configparser.ConfigParser(interpolation=None)
for (section, key), value in sorted(files.items()):
    if key not in ("config-file", "user", "target", "prefix", "root", "src"):
        if not config.has_section(section):
            config.add_section(section)
        config.set(section, key, str(value))
with open(sys.argv[1], "w", encoding="utf-8") as out:
    config.write(out)
' "${bootstrap%.py}.pip.conf"
echo "pip ${pip_version} bootstrap: ${bootstrap} (pip config: ${bootstrap%.py}.pip.conf)"

# --- 2. ansible_collections/<namespace>/<name> layout -----------------------------------------
read -r namespace name < <("${py}" - "${src}/galaxy.yml" <<'EOF'
import os
import sys

import yaml

meta = {}
if os.path.exists(sys.argv[1]):
    with open(sys.argv[1], encoding='utf-8') as galaxy:
        meta = yaml.safe_load(galaxy) or {}
print(meta.get('namespace') or 'keyless', meta.get('name') or 'aks_storage')
EOF
)
if [[ -z ${namespace:-} || -z ${name:-} ]]; then
    echo "run-sanity.sh: cannot read namespace/name from ${src}/galaxy.yml" >&2
    exit 2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/sanity.XXXXXX")
# shellcheck disable=SC2317  # called through the EXIT trap
cleanup() {
    if [[ ${SANITY_KEEP:-0} == 1 ]]; then
        echo "kept: ${work}"
    else
        rm -rf "${work}"
    fi
}
trap cleanup EXIT

dest="${work}/ansible_collections/${namespace}/${name}"
mkdir -p "${dest}"
# Unanchored patterns match at any depth; ./x only at the collection root.
excludes=(.venv ./venv .git ./build ./.tmp __pycache__ '*.pyc' .pytest_cache .mypy_cache .tox
          .ansible ./tests/output '*.tar.gz' '*.egg-info')
read -r -a user_excludes <<< "${SANITY_EXCLUDE:-}"
for path in "${user_excludes[@]}"; do
    path=${path#./}
    excludes+=("./${path%/}")  # ./ anchors the pattern at the collection root
done
# tar (GNU) rather than rsync, which is not installed everywhere; keeps modes and symlinks.
tar -C "${src}" "${excludes[@]/#/--exclude=}" -cf - . | tar -C "${dest}" -xf -

# --- 3. ansible-test ------------------------------------------------------------------------
test_args=()
if [[ ${tests[*]} != all ]]; then
    for t in "${tests[@]}"; do
        test_args+=(--test "${t}")
    done
fi

status=0
(
    cd "${dest}"
    ansible-test sanity --requirements --python "${python_version}" "${test_args[@]}" "${extra_args[@]}"
) || status=$?

if [[ -n ${SANITY_OUTPUT:-} && -d ${dest}/tests/output ]]; then
    mkdir -p "${SANITY_OUTPUT}"
    cp -a "${dest}/tests/output/." "${SANITY_OUTPUT}/"
fi

exit "${status}"
