"""python -m sandbox --connection-file PATH [--host 127.0.0.1] [--port 0] [--state-file PATH]
[--workdir DIR] [--lro-retry-after 1] [--max-lifetime SECONDS] [--exit-with-parent]

Serves everything on one loopback HTTPS port, writes the connection file (atomically) once it is
listening, and stops cleanly on SIGTERM/SIGINT, after --max-lifetime, or (with --exit-with-parent)
when the process that started it goes away.
"""

import argparse
import ipaddress
import json
import os
import signal
import sys
import threading
import time

from .app import App
from .server import SandboxHTTPServer
from .tls import ensure_certificates, server_context

DEFAULT_MAX_LIFETIME = 12 * 3600


def _loopback_ipv4(value: str) -> str:
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not an IP address (use 127.0.0.1)")
    if address.version != 4 or not address.is_loopback:
        raise argparse.ArgumentTypeError(f"{value} is not a loopback IPv4 address: the sandbox only listens on "
                                         f"127.0.0.0/8")
    return value


def _retry_after(value: str) -> str:
    if float(value) < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return value


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__.split("\n\n")[1])
    parser.add_argument("--host", type=_loopback_ipv4, default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--connection-file", required=True)
    parser.add_argument("--state-file", help="persist ARM state as JSON after each change (and load it at start)")
    parser.add_argument("--workdir", help="CA, keys and certificates (default: the connection file's directory)")
    parser.add_argument("--lro-retry-after", type=_retry_after, default="1",
                        help="Retry-After of LRO responses; sub-second values like 0.1 work, 0 means 30 s to "
                             "azure-core")
    parser.add_argument("--max-lifetime", type=float, default=DEFAULT_MAX_LIFETIME,
                        help="exit after this many seconds (default 12 h)")
    parser.add_argument("--exit-with-parent", action="store_true", help="exit when the parent process exits")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)
    if args.max_lifetime <= 0:
        parser.error("--max-lifetime must be > 0")
    return args


def write_connection_file(path: str, info: dict) -> None:
    tmp = f"{path}.tmp-{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # holds the client secret
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(info, handle, indent=2, sort_keys=True)
    os.replace(tmp, path)


def _remove_if_ours(path: str, pid: int) -> None:
    try:
        with open(path, encoding="utf-8") as handle:
            if json.load(handle).get("pid") == pid:
                os.unlink(path)
    except (OSError, ValueError):
        pass


def main(argv=None) -> int:
    args = parse_args(argv)
    connection_file = os.path.abspath(args.connection_file)
    workdir = os.path.abspath(args.workdir or os.path.dirname(connection_file))
    tls_files = ensure_certificates(workdir, args.host)
    app = App(workdir=workdir, state_file=args.state_file, lro_retry_after=args.lro_retry_after)
    server = SandboxHTTPServer((args.host, args.port), app, server_context(tls_files), verbose=args.verbose)
    app.bind(args.host, server.server_address[1])
    serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                               name="sandbox-serve", daemon=True)
    serving.start()
    info = app.connection_info(tls_files)
    write_connection_file(connection_file, info)
    app.store.flush()
    print(f"sandbox: listening on {app.base_url} (pid {app.pid}); connection file {connection_file}",
          file=sys.stderr, flush=True)

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    parent = os.getppid()
    deadline = time.monotonic() + args.max_lifetime
    reason = "signal"
    while not stop.wait(0.5):  # bounded by --max-lifetime
        if time.monotonic() >= deadline:
            reason = "max lifetime reached"
            break
        if args.exit_with_parent and os.getppid() != parent:
            reason = "parent exited"
            break
    print(f"sandbox: stopping ({reason})", file=sys.stderr, flush=True)
    server.shutdown()
    server.server_close()
    with app.store.lock:
        app.store.flush()
    _remove_if_ours(connection_file, app.pid)
    return 0


if __name__ == "__main__":
    sys.exit(main())
