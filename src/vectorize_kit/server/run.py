"""Running the Data API server: in the background of a notebook or script, or in the
foreground (``vectorize-kit serve``), on uvicorn."""

from __future__ import annotations

import html
import logging
import socket
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from ..api import Database
from ..commands import DatabaseState
from .app import create_app
from .auth import TokenTable

__all__ = ["DataAPIServer", "serve"]

logger = logging.getLogger("vectorize_kit.server")

Tokens = Mapping[str, str] | Iterable[str] | str | None


class DataAPIServer:
    """A Data API endpoint serving one database of a workspace over HTTP.

    Start it with :meth:`start` (or :func:`serve`), point curl or astrapy at :attr:`url`
    with a token, and :meth:`stop` it (or use it as a context manager). Like an Astra DB
    database, it has one API endpoint; serve several databases with several servers.

    Parameters
    ----------
    database
        The database to serve (a :class:`~vectorize_kit.Database` of an open workspace; the
        server shares it with the notebook: both see every change at once).
    host
        Keyword-only. The address to listen on: ``127.0.0.1`` (this machine only) by default.
    port
        Keyword-only. The port; 0 (the default) picks a free one.
    tokens
        Keyword-only. ``{token: role}`` with roles ``read-only``, ``database-administrator``
        and ``organization-administrator``; a plain string or list: tokens with the
        organization-administrator role. By default one token is generated
        (:attr:`token`); it is never shown by a repr.

    Attributes
    ----------
    url
        The API endpoint, e.g. ``http://127.0.0.1:54321`` (astrapy's ``api_endpoint``).
    token
        The generated token, or the first one given (keep it out of notebook output:
        pass ``server.token`` on, do not display it).
    """

    def __init__(self, database: Database, *, host: str = "127.0.0.1", port: int = 0,
                 tokens: Tokens = None) -> None:
        state = getattr(database, "_state", None)
        if not isinstance(state, DatabaseState):
            raise TypeError(f"serve() serves a database of a local workspace "
                            f"(vk.Workspace(...).get_database(...)), not {database!r}")
        self.database = database
        self.host = host
        if tokens is not None and not isinstance(tokens, (str, Mapping)):
            tokens = list(tokens)
        self._tokens = TokenTable(tokens)
        if self._tokens.generated is not None:
            self.token = self._tokens.generated
        else:
            self.token = tokens if isinstance(tokens, str) else next(iter(tokens))  # type: ignore
        self._sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # accepted connections inherit it: without it, a response written in two parts
        # waits for the client's delayed ACK (40 ms a request on Linux)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            self._sock.bind((host, port))
        except OSError:
            self._sock.close()
            raise
        self.port: int = self._sock.getsockname()[1]
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def app(self) -> Any:
        """The ASGI application (for another ASGI server, or for tests)."""
        return create_app(self.database._state, self._tokens)

    def _config(self) -> Any:
        import uvicorn

        return uvicorn.Config(self.app(), log_level="warning", access_log=False,
                              lifespan="off", timeout_keep_alive=30)

    def start(self) -> DataAPIServer:
        """Serve in a background thread; returns once the server accepts connections."""
        if self.running:
            return self
        self._check_not_stopped()
        import uvicorn

        self._sock.listen(2048)
        self._server = uvicorn.Server(self._config())
        self._thread = threading.Thread(target=self._server.run,
                                        kwargs={"sockets": [self._sock]},
                                        name=f"vectorize-kit-serve-{self.port}", daemon=True)
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                self.stop()
                raise RuntimeError(f"the Data API server on {self.url} stopped at start-up; "
                                   "see the 'uvicorn.error' log")
            self._thread.join(0.01)
        logger.info("Data API server for database %s on %s", self.database.name, self.url)
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted (Ctrl-C or SIGTERM)."""
        self._check_not_stopped()
        import uvicorn

        self._sock.listen(2048)
        self._server = uvicorn.Server(self._config())
        self._server.run(sockets=[self._sock])

    def _check_not_stopped(self) -> None:
        if self._sock.fileno() == -1:
            raise RuntimeError("this server was stopped and its port given back: make a new "
                               "one (vk.serve(db)) to serve again")

    def stop(self) -> None:
        """Stop serving (requests in flight finish first) and free the port."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        self._sock.close()

    def __enter__(self) -> DataAPIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return (f"DataAPIServer(url={self.url!r}, database={self.database.name!r}, {state}, "
                f"token roles={self._tokens.roles()})")

    def _repr_html_(self) -> str:
        state = "running" if self.running else "stopped"
        return (f"<b>Data API server</b> ({state}) for database "
                f"<code>{html.escape(self.database.name)}</code> at "
                f"<code>{html.escape(self.url)}</code>; token roles: "
                f"{html.escape(', '.join(self._tokens.roles()))} (tokens are not shown)")


def serve(database: Database, *, host: str = "127.0.0.1", port: int = 0,
          tokens: Tokens = None) -> DataAPIServer:
    """Serve ``database`` as a Data API endpoint in the background; returns the running
    :class:`DataAPIServer` (its ``url`` and ``token`` are what curl and astrapy need).

    Examples
    --------
    >>> server = serve(db)                                    # doctest: +SKIP
    >>> from astrapy import DataAPIClient                     # doctest: +SKIP
    >>> adb = DataAPIClient(environment="other").get_database(  # doctest: +SKIP
    ...     server.url, token=server.token, keyspace="default_keyspace")
    """
    return DataAPIServer(database, host=host, port=port, tokens=tokens).start()
