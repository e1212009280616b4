"""The ``vectorize-kit`` command line.

Commands
--------
``vectorize-kit hf-endpoint [--host 127.0.0.1] [--port 8080] [--token TOKEN ...] [--cache]``
    Run a loopback Hugging Face feature-extraction endpoint
    (:class:`~vectorize_kit.embedding.hf_endpoint.HFEndpoint`, all-MiniLM-L6-v2 behind it)
    in the foreground until Ctrl-C.  Point the ``huggingface`` provider, curl or
    ``huggingface_hub`` at the URL it prints to work offline.  Tokens come from ``--token``
    (repeatable), else from the ``HF_ENDPOINT_TOKEN`` environment variable, else one is
    generated and printed once; a token given by the user is never printed.

``vectorize-kit serve [--workspace DIR] [--database NAME] [--host 127.0.0.1] [--port 8181]
[--token [ROLE=]TOKEN ...] [--hf-endpoint URL]``
    Serve a database of a workspace as a Data API endpoint
    (:class:`~vectorize_kit.server.DataAPIServer`) until Ctrl-C: curl and astrapy work
    against the URL it prints.  ``--workspace`` (default ``./vectorize-workspace``, created if
    missing) is opened, so it must not be open in another process; ``--database`` may be
    left out when the workspace has one database; only an empty workspace gets a new one
    (``--database``'s name, else ``default_database``).  Tokens come from ``--token``
    (repeatable; a role prefix ``read-only=``, ``database-administrator=`` or
    ``organization-administrator=``, the default; an unknown role is refused), else from
    ``$VECTORIZE_KIT_TOKEN``, else one is generated and printed once.

Also runs as ``python -m vectorize_kit.cli``.  Printing is this module's job (it is the
user's terminal); the library itself never prints.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import secrets
import signal
import sys
import time
from collections.abc import Sequence
from typing import Any

__all__ = ["DEFAULT_DATABASE", "SERVE_TOKEN_ENV", "TOKEN_ENV", "build_parser", "main",
           "parse_tokens"]

#: Environment variable holding the ``hf-endpoint`` token when ``--token`` is not given.
TOKEN_ENV = "HF_ENDPOINT_TOKEN"
#: Environment variable holding the ``serve`` token when ``--token`` is not given.
SERVE_TOKEN_ENV = "VECTORIZE_KIT_TOKEN"
#: The database ``serve`` creates in an empty workspace.
DEFAULT_DATABASE = "default_database"


def build_parser() -> argparse.ArgumentParser:
    """The ``vectorize-kit`` argument parser, one subcommand per command."""
    parser = argparse.ArgumentParser(
        prog="vectorize-kit",
        description="Astra DB vectorize, locally: command-line tools of vectorize_kit.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    hf = commands.add_parser(
        "hf-endpoint",
        help="run a loopback Hugging Face feature-extraction endpoint (all-MiniLM-L6-v2)",
        description="Serve POST /hf-inference/models/{model}/pipeline/feature-extraction "
                    "on this machine, as the Hugging Face router does, with "
                    "sentence-transformers/all-MiniLM-L6-v2 behind it. Runs until Ctrl-C.")
    hf.add_argument("--host", default="127.0.0.1",
                    help="address to listen on (default: 127.0.0.1, this machine only)")
    hf.add_argument("--port", type=int, default=8080,
                    help="port to listen on; 0 picks a free one (default: 8080)")
    hf.add_argument("--token", action="append", metavar="TOKEN",
                    help=f"bearer token to accept (repeatable); default: ${TOKEN_ENV}, "
                         "else a generated one, printed once")
    hf.add_argument("--max-batch-size", type=int, default=32, metavar="N",
                    help="most inputs a request may carry (default: 32, as TEI)")
    hf.add_argument("--cache", action="store_true",
                    help="answer texts seen before from a response cache, as the serverless "
                         "Inference API does (a request sending 'x-use-cache: false' skips it)")
    hf.add_argument("-v", "--verbose", action="store_true",
                    help="log every request to stderr (tokens are never logged)")
    hf.set_defaults(func=_hf_endpoint)

    sv = commands.add_parser(
        "serve",
        help="serve a database of a workspace as a Data API endpoint (curl, astrapy)",
        description="Serve POST /v1, /v1/{keyspace} and /v1/{keyspace}/{collection} (also "
                    "under /api/json) for one database of a workspace, as an Astra DB "
                    "database's API endpoint does. Runs until Ctrl-C.")
    sv.add_argument("--workspace", default="vectorize-workspace", metavar="DIR",
                    help="the workspace directory (created if missing; default: "
                         "./vectorize-workspace)")
    sv.add_argument("--database", metavar="NAME",
                    help="the database to serve (default: the workspace's only database); "
                         f"an empty workspace gets one of this name ('{DEFAULT_DATABASE}' "
                         "without it)")
    sv.add_argument("--host", default="127.0.0.1",
                    help="address to listen on (default: 127.0.0.1, this machine only)")
    sv.add_argument("--port", type=int, default=8181,
                    help="port to listen on; 0 picks a free one (default: 8181, the Data "
                         "API's)")
    sv.add_argument("--token", action="append", metavar="[ROLE=]TOKEN",
                    help="application token to accept (repeatable), with an optional role: "
                         "read-only=, database-administrator= or organization-administrator= "
                         f"(the default); default: ${SERVE_TOKEN_ENV}, else a generated one, "
                         "printed once")
    sv.add_argument("--hf-endpoint", metavar="URL",
                    help="base URL of the Hugging Face API for huggingface collections "
                         "(e.g. a loopback 'vectorize-kit hf-endpoint')")
    sv.add_argument("-v", "--verbose", action="store_true",
                    help="log every request to stderr (tokens are never logged)")
    sv.set_defaults(func=_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``vectorize-kit`` with ``argv`` (default: ``sys.argv[1:]``); returns the exit code."""
    args = build_parser().parse_args(argv)
    return int(args.func(args))


def _hf_endpoint(args: argparse.Namespace) -> int:
    from .embedding.hf_endpoint import HFEndpoint
    from .embedding.local import MODEL_NAME
    from .errors import DataAPIError

    if args.verbose:
        logging.basicConfig(stream=sys.stderr, level=logging.WARNING,
                            format="%(asctime)s %(name)s %(message)s")
        logging.getLogger("vectorize_kit").setLevel(logging.DEBUG)

    tokens = [t for t in (args.token or []) if t]
    generated = None
    if not tokens and os.environ.get(TOKEN_ENV):
        tokens = [os.environ[TOKEN_ENV]]
    if not tokens:
        generated = secrets.token_urlsafe(24)
        tokens = [generated]

    try:
        endpoint = HFEndpoint(tokens=set(tokens), host=args.host, port=args.port,
                              max_batch_size=args.max_batch_size, cache=args.cache)
        endpoint.start()
    except OSError as exc:
        print(f"vectorize-kit: cannot listen on {args.host}:{args.port} "
              f"({exc.strerror or exc}). Pick another --port (0 picks a free one).",
              file=sys.stderr)
        return 1
    except (ValueError, DataAPIError) as exc:
        print(f"vectorize-kit: {exc}", file=sys.stderr)
        return 1

    # SIGTERM (e.g. from a process manager) stops as cleanly as Ctrl-C.
    previous = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    try:
        print(f"Hugging Face endpoint on {endpoint.url} (serving {MODEL_NAME})", flush=True)
        if generated is not None:
            print(f"Token (generated for this run; send it as 'Authorization: Bearer "
                  f"<token>'): {generated}", flush=True)
        print("Press Ctrl-C to stop.", file=sys.stderr, flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("Stopped.", file=sys.stderr, flush=True)
    finally:
        endpoint.stop()
        signal.signal(signal.SIGTERM, previous)
    return 0


def parse_tokens(values: Sequence[str]) -> dict[str, str]:
    """``[ROLE=]TOKEN`` arguments as ``{token: role}``; no role: organization-administrator.

    Tokens may contain ``=`` (base64 padding), so a prefix is a role only when it is a word
    (letters, ``-``, ``_``); a word that is no role is refused (``ValueError``, naming the
    word, never the token) rather than read as part of a token with every right.
    """
    from .server.auth import ROLES

    out = {}
    for value in values:
        role, sep, token = value.partition("=")
        if sep and re.fullmatch(r"[A-Za-z][A-Za-z_-]*", role):
            if role not in ROLES:
                raise ValueError(f"unknown role '{role}' in --token {role}=...: the roles are "
                                 f"{', '.join(ROLES)} (a token that starts with a word and "
                                 "'=' needs its role written first)")
            if not token:
                raise ValueError(f"--token {role}= gives no token after the role")
            out[token] = role
        elif value:
            out[value] = "organization-administrator"
    return out


def _database_to_serve(ws: Any, name: str | None) -> Any:
    """The database named, or the workspace's only one; an empty workspace gets one."""
    from .errors import DataAPIError

    names = ws.list_database_names()
    if not names:
        return ws.create_database(name or DEFAULT_DATABASE)
    if name is None and len(names) == 1:
        return ws.get_database(names[0])
    if name in names:
        return ws.get_database(name)
    asked = f"has no database '{name}'" if name else f"has {len(names)} databases"
    raise DataAPIError("UNKNOWN_DATABASE",
                       f"workspace {ws.path} {asked}; it has {', '.join(names)}. Choose one "
                       "with --database (a database is created only in an empty workspace).")


def _serve(args: argparse.Namespace) -> int:
    from .api import Workspace
    from .errors import DataAPIError
    from .server import DataAPIServer

    if args.verbose:
        logging.basicConfig(stream=sys.stderr, level=logging.WARNING,
                            format="%(asctime)s %(name)s %(message)s")
        logging.getLogger("vectorize_kit").setLevel(logging.DEBUG)
    try:
        tokens = parse_tokens(args.token or [])
    except ValueError as exc:
        print(f"vectorize-kit: {exc}", file=sys.stderr)
        return 2
    if not tokens and os.environ.get(SERVE_TOKEN_ENV):
        tokens = {os.environ[SERVE_TOKEN_ENV]: "organization-administrator"}
    ws = None
    try:
        ws = Workspace(args.workspace, hf_endpoint=args.hf_endpoint)
        db = _database_to_serve(ws, args.database)
        server = DataAPIServer(db, host=args.host, port=args.port, tokens=tokens or None)
    except (DataAPIError, OSError) as exc:
        if ws is not None:
            ws.close()
        if isinstance(exc, DataAPIError):
            print(f"vectorize-kit: {exc.message}", file=sys.stderr)
        else:
            print(f"vectorize-kit: cannot listen on {args.host}:{args.port} "
                  f"({exc.strerror or exc}). Pick another --port (0 picks a free one).",
                  file=sys.stderr)
        return 1

    previous = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    try:
        server.start()
        print(f"Data API endpoint for database '{db.name}' (workspace {ws.path}) on "
              f"{server.url}", flush=True)
        if not tokens:
            print("Token (generated for this run, role organization-administrator; send it "
                  f"in the 'Token' header): {server.token}", flush=True)
        else:
            roles = sorted(tokens.values())
            print(f"Tokens: {len(roles)} accepted (roles: {', '.join(roles)}); send one in "
                  "the 'Token' header.", flush=True)
        if args.host not in ("127.0.0.1", "::1", "localhost"):
            print(f"Warning: listening on {args.host}, not only on this machine, over plain "
                  "HTTP: anyone who can reach it and holds a token can use the database.",
                  file=sys.stderr, flush=True)
        print("Press Ctrl-C to stop.", file=sys.stderr, flush=True)
        while server.running:
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("Stopped.", file=sys.stderr, flush=True)
    finally:
        server.stop()
        ws.close()
        signal.signal(signal.SIGTERM, previous)
    return 0


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    raise SystemExit(main())
