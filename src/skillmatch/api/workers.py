"""`skillmatch serve --workers N`: uvicorn worker processes on one listening socket that is marked TCP.

uvicorn binds the shared socket itself with `proto` 0; accepted connections inherit it, and asyncio
enables TCP_NODELAY only on sockets that report IPPROTO_TCP, so every keep-alive response waited for the
client's delayed ACK (about 40 ms on Linux; uvicorn issue #3149). The socket here is the same one,
re-wrapped with its protocol stated.
"""
from __future__ import annotations

import inspect
import socket
from typing import Any

import uvicorn
from uvicorn.supervisors import Multiprocess


class TcpConfig(uvicorn.Config):
    """uvicorn's config whose listening socket reports IPPROTO_TCP (so that its connections get TCP_NODELAY)."""

    def bind_socket(self) -> socket.socket:
        sock = super().bind_socket()
        if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.proto != socket.IPPROTO_TCP:
            sock = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
        return sock


def run_workers(app: str, workers: int, **options: Any) -> None:
    """Serve the app factory `app` ("module:function") from `workers` processes, as `uvicorn.run` does."""
    config = TcpConfig(app, factory=True, workers=workers, **options)
    server = uvicorn.Server(config=config)
    sockets = [config.bind_socket()]
    if "target" in inspect.signature(Multiprocess).parameters:  # uvicorn before 0.36 passes the server's run
        supervisor = Multiprocess(config, target=server.run, sockets=sockets)  # type: ignore[call-arg]
    else:
        supervisor = Multiprocess(config, sockets=sockets)
    try:
        supervisor.run()
    except KeyboardInterrupt:
        pass


__all__ = ["TcpConfig", "run_workers"]
