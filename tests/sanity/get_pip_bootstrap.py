# -*- coding: utf-8 -*-
# Copyright: keyless.aks_storage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Offline stand-in for the pip bootstrap script that ``ansible-test`` downloads.

``ansible-test`` creates every sanity-test virtual environment without pip and then
runs ``get-pip.py`` (fetched from a host outside the package registries) inside it.
Before downloading, it looks for a cached copy at
``~/.ansible/test/cache/get_pip_<pip version with underscores>.py``; ``run-sanity.sh``
installs this file there, so no download is attempted.

ansible-test executes the cached file as ``__main__`` with arguments such as::

    --disable-pip-version-check pip==24.2 --no-setuptools --no-wheel

This script:

1. installs the pip bundled with the interpreter (``ensurepip``, no network);
2. copies the pip configuration captured by ``run-sanity.sh`` (the sidecar file
   ``<this file without .py>.pip.conf``) into the virtual environment as its
   site-level ``pip.conf``: ansible-test runs pip with a sanitized environment,
   so ``PIP_*`` variables (index URL, find-links, cert) would otherwise be lost
   for this and every later ``pip install`` in that environment;
3. runs ``pip install`` with the given arguments, minus ``--no-setuptools`` and
   ``--no-wheel`` (get-pip options that ``pip install`` does not know), plus
   ``--cert`` naming the configured CA bundle, else the system one (the pip that
   ensurepip installs trusts only its own certifi copy, not the system store);
4. honours ``--no-setuptools`` by removing the setuptools that ``ensurepip``
   installs on Python < 3.12.
"""

from __future__ import annotations

import configparser
import importlib.util
import os
import re
import ssl
import subprocess
import sys

GET_PIP_ONLY_OPTIONS = ('--no-setuptools', '--no-wheel')

PIP_REQUIREMENT = re.compile(r'^pip\s*([<>=!~;\[@ ]|$)', re.IGNORECASE)

CA_BUNDLE_CANDIDATES = (
    '/etc/ssl/certs/ca-certificates.crt',  # Debian, Ubuntu, Alpine, Arch
    '/etc/pki/tls/certs/ca-bundle.crt',  # Fedora, RHEL, CentOS
    '/etc/ssl/ca-bundle.pem',  # openSUSE
    '/etc/ssl/cert.pem',  # macOS, Alpine, BSD
)

# options that make no sense inside a throw-away virtual environment
UNSAFE_CONFIG_KEYS = frozenset(('user', 'target', 'prefix', 'root', 'src', 'config-file'))


def log(message: str) -> None:
    """Report progress on stderr, as pip does for its own messages."""
    print(f'get_pip_bootstrap: {message}', file=sys.stderr, flush=True)


def in_virtual_environment() -> bool:
    """Return True when running inside a venv (never write config into a system Python)."""
    return sys.prefix != getattr(sys, 'base_prefix', sys.prefix)


def sidecar_config_path() -> str:
    """Return the path of the pip configuration captured next to this script."""
    return os.path.splitext(os.path.abspath(__file__))[0] + '.pip.conf'


def read_config(path: str) -> configparser.ConfigParser:
    """Read a pip configuration file (missing file gives an empty configuration)."""
    parser = configparser.ConfigParser(interpolation=None)

    if os.path.isfile(path):
        parser.read(path, encoding='utf-8')

    for section in parser.sections():
        for key in list(parser[section]):
            if key in UNSAFE_CONFIG_KEYS:
                parser.remove_option(section, key)

    return parser


def install_site_config(parser: configparser.ConfigParser) -> None:
    """Write the captured configuration as the venv's own pip.conf, unless one exists."""
    if not parser.sections() or not in_virtual_environment():
        return

    target = os.path.join(sys.prefix, 'pip.conf')

    if os.path.exists(target):
        return

    with open(target, 'w', encoding='utf-8') as config_file:
        parser.write(config_file)

    log(f'pip configuration written to {target}')


def configured_cert(parser: configparser.ConfigParser) -> str | None:
    """Return a CA bundle that pip will already use (captured config or environment)."""
    for section in ('install', 'global'):
        if parser.has_option(section, 'cert'):
            return parser.get(section, 'cert')

    return os.environ.get('PIP_CERT')


def system_ca_bundle() -> str | None:
    """Return the path of the system CA bundle, if one can be found."""
    paths = ssl.get_default_verify_paths()
    candidates = [os.environ.get('SSL_CERT_FILE'), os.environ.get('REQUESTS_CA_BUNDLE'), paths.cafile, paths.openssl_cafile]
    candidates.extend(CA_BUNDLE_CANDIDATES)

    for candidate in candidates:
        if candidate and os.path.isfile(candidate):
            return candidate

    return None


def ensure_pip() -> None:
    """Install the interpreter's bundled pip, restoring what ensurepip changes."""
    if importlib.util.find_spec('pip') is not None:
        return

    try:
        import ensurepip  # pylint: disable=import-outside-toplevel
    except ImportError:
        sys.exit('get_pip_bootstrap: this Python has no ensurepip module (Debian/Ubuntu: install python3-venv)')

    # ensurepip deletes every PIP_* variable and sets PIP_CONFIG_FILE to os.devnull
    # in os.environ; without restoring it, the real install below would ignore
    # every pip configuration file (index, find-links, cert).
    saved_environ = dict(os.environ)
    saved_path = list(sys.path)

    try:
        ensurepip.bootstrap()
    finally:
        os.environ.clear()
        os.environ.update(saved_environ)
        sys.path[:] = saved_path


def pip_install_command(args: list[str], parser: configparser.ConfigParser) -> list[str]:
    """Build the pip install command line from the arguments given to get-pip."""
    install_args = [arg for arg in args if arg not in GET_PIP_ONLY_OPTIONS]

    if not any(arg == '--cert' or arg.startswith('--cert=') for arg in install_args):
        # the pip bundled with Python 3.11 (23.x) trusts only certifi's CAs, not the system store
        bundle = configured_cert(parser) or system_ca_bundle()

        if bundle:
            install_args.extend(['--cert', bundle])

    if not any(PIP_REQUIREMENT.match(arg) for arg in install_args):
        install_args.append('pip')  # get-pip always installs pip, even when no version is given

    return [sys.executable, '-m', 'pip', 'install', '--upgrade'] + install_args


def remove_setuptools() -> None:
    """Uninstall setuptools, as get-pip does not install it with --no-setuptools."""
    command = [sys.executable, '-m', 'pip', 'uninstall', '--yes', '--quiet', '--disable-pip-version-check', 'setuptools']
    subprocess.run(command, check=False, stdout=subprocess.DEVNULL)


def main(args: list[str]) -> int:
    """Bootstrap pip into the running interpreter's environment."""
    parser = read_config(sidecar_config_path())
    had_setuptools = importlib.util.find_spec('setuptools') is not None

    ensure_pip()
    install_site_config(parser)

    command = pip_install_command(args, parser)
    result = subprocess.run(command, check=False)

    if result.returncode != 0:
        return result.returncode

    if '--no-setuptools' in args and not had_setuptools:
        remove_setuptools()

    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
