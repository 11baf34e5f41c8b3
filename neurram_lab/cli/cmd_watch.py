"""``neurram watch RUN.h5 [--port P] [--open]``: a live view of a run in the browser, updating every few seconds.

Serves a page on 127.0.0.1 that follows the run file as a second (SWMR)
reader while the run writes it: experiment, board, parameters, status,
progress and time left, the run's figures so far, its damage or last error.
A finished, interrupted or replayed run shows the same page, frozen. Stop
with Ctrl-C. Bad input (no such file, not a run file, a port in use or
outside 1..65535) is a one-line error and exit status 2.
"""

from __future__ import annotations

COMMAND = (None, "watch")
HELP = "serve a live view of a run file in the browser (127.0.0.1), updating as the run writes it"
ERROR_STATUS = 2  # bad input to watch: exit 2 (the CLI's other commands exit 1)


def add_arguments(parser) -> None:
    from ..watch import DEFAULT_PORT, DEFAULT_REFRESH_S

    parser.add_argument("run", metavar="RUN.h5", help="run file to follow (it may be being written)")
    parser.add_argument("--port", default=str(DEFAULT_PORT), metavar="P", help=f"TCP port 1..65535 (default {DEFAULT_PORT})")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--open", action="store_true", help="open the page in the default web browser")
    parser.add_argument("--refresh-s", type=float, default=DEFAULT_REFRESH_S, metavar="S",
                        help=f"seconds between reads of the file and page updates (default {DEFAULT_REFRESH_S:g})")


def main(args, ctx) -> dict:
    from ..watch import WatchServer, check_port

    server = WatchServer(args.run, port=check_port(args.port), host=args.host, refresh_s=args.refresh_s)
    print(f"watching {server.path} at {server.url} (Ctrl-C to stop)", flush=True)
    if args.open:
        import webbrowser

        webbrowser.open(server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    snap = server.snapshot()
    return {"url": server.url, "run_file": str(server.path), "polls": server.follower.polls, "state": snap.get("state")}
