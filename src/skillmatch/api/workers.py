"""`skillmatch serve --workers N`: uvicorn worker processes that each listen on their own socket (on Linux).

With one listening socket shared by the workers, whichever worker wakes first accepts every connection
waiting (asyncio accepts in a loop), so a routing service's few keep-alive connections tend to end up on
one worker while the others idle. On Linux each worker instead opens its own SO_REUSEPORT socket on the
address, and the kernel spreads new connections over them (by a hash of the client's address and port).
The parent binds the address first without listening: it reserves the port and fails early when the
port is taken, but takes no connections. Elsewhere the workers share one socket.

Every listening socket is created with IPPROTO_TCP: asyncio enables TCP_NODELAY only on sockets that
report it, and uvicorn binds with protocol 0, so every keep-alive response waited for the client's
delayed ACK (about 40 ms on Linux; uvicorn issue #3149).
"""
from __future__ import annotations

import inspect
import os
import shutil
import socket
import sys
import tempfile
from typing import Any

import uvicorn
from uvicorn.supervisors import Multiprocess

from skillmatch.api.balance import ENV_BALANCE_DIR, ENV_WORKERS

SPREAD_BY_KERNEL = sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")
"""Whether each worker gets its own SO_REUSEPORT socket (Linux balances connections over those)."""


class TcpConfig(uvicorn.Config):
    """uvicorn's config whose listening socket reports IPPROTO_TCP (so that its connections get TCP_NODELAY)."""

    def bind_socket(self) -> socket.socket:
        sock = super().bind_socket()
        if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.proto != socket.IPPROTO_TCP:
            sock = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
        return sock


class WorkerAddress(socket.socket):
    """The parent's reservation of host:port. A worker process that receives it (uvicorn hands each worker its
    sockets by pickling) gets a socket of its own listening there instead (`listen_on`)."""

    backlog = 2048

    @classmethod
    def reserve(cls, host: str, port: int, backlog: int) -> WorkerAddress:
        """Bind host:port with SO_REUSEPORT, without listening (port 0: a free port, kept for every worker).

        A port something else listens on is refused, even another server's that shares it (SO_REUSEPORT
        would otherwise let a second server take half of the first one's connections).
        """
        family = socket.AF_INET6 if ":" in host else socket.AF_INET  # as uvicorn chooses (`Config.bind_socket`)
        sock = cls(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            if port:
                with socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP) as alone:
                    alone.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    alone.bind((host, port))
            _share_port(sock)
            sock.bind((host, port))
        except OSError as exc:
            sock.close()
            raise OSError(exc.errno, f"cannot listen on {host}:{port}: {exc.strerror}") from None
        sock.backlog = backlog
        return sock

    def __reduce_ex__(self, protocol: object) -> tuple[Any, tuple[Any, ...]]:
        return listen_on, (self.family, self.getsockname(), self.backlog)


def listen_on(family: socket.AddressFamily, address: tuple[Any, ...], backlog: int) -> socket.socket:
    """A TCP socket of this process listening on `address` beside the other workers' (SO_REUSEPORT)."""
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        _share_port(sock)
        sock.bind(address)
        sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    return sock


def _share_port(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)


def run_workers(app: str, workers: int, **options: Any) -> None:
    """Serve the app factory `app` ("module:function") from `workers` processes, as `uvicorn.run` does.

    The workers share a directory of their connection counts (`skillmatch.api.balance`), named to them in the
    environment they inherit.
    """
    config = TcpConfig(app, factory=True, workers=workers, **options)
    server = uvicorn.Server(config=config)
    if SPREAD_BY_KERNEL and config.uds is None and config.fd is None:
        sockets: list[socket.socket] = [WorkerAddress.reserve(config.host, config.port, config.backlog)]
        uvicorn.config.logger.info("Uvicorn running on http://%s:%d (Press CTRL+C to quit)",
                                   config.host, sockets[0].getsockname()[1])
    else:
        sockets = [config.bind_socket()]
    if "target" in inspect.signature(Multiprocess).parameters:  # uvicorn before 0.36 passes the server's run
        supervisor = Multiprocess(config, target=server.run, sockets=sockets)  # type: ignore[call-arg]
    else:
        supervisor = Multiprocess(config, sockets=sockets)
    balance_dir = tempfile.mkdtemp(prefix="skillmatch-workers-")
    os.environ.update({ENV_BALANCE_DIR: balance_dir, ENV_WORKERS: str(workers)})  # the workers spawn in run()
    try:
        supervisor.run()
    except KeyboardInterrupt:
        pass
    finally:
        for sock in sockets:
            sock.close()
        shutil.rmtree(balance_dir, ignore_errors=True)


__all__ = ["SPREAD_BY_KERNEL", "TcpConfig", "WorkerAddress", "listen_on", "run_workers"]
