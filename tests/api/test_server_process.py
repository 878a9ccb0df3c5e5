"""`skillmatch serve` as real processes on 127.0.0.1: replicas sharing PostgreSQL, a promote under load, bind refusal."""
from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import os
import pickle
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.reduction import ForkingPickler
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from skillmatch.api.workers import SPREAD_BY_KERNEL, TcpConfig, WorkerAddress
from skillmatch.cli import app as cli
from skillmatch.models.folder import promote

from .conftest import NOW, add_version

SKILLMATCH = Path(sys.executable).with_name("skillmatch")
STARTUP_S = 90.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(models_dir: Path, database_url: str, *extra: str, log: Path | None = None) -> Iterator[httpx.Client]:
    """A `skillmatch serve` process, ready (GET /readyz is 200), stopped and reaped on exit (its stderr in `log`)."""
    port = _free_port()
    env = {**os.environ, "SKILLMATCH_DATABASE_URL": database_url}
    env.pop("SKILLMATCH_API_TOKENS", None)
    stderr = log.open("wb") if log is not None else subprocess.PIPE
    process = subprocess.Popen([str(SKILLMATCH), "serve", "--models", str(models_dir), "--port", str(port),
                                "--reload-interval", "0.2", "--log-level", "info" if log else "warning", *extra],
                               env=env, stdout=subprocess.DEVNULL, stderr=stderr)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30.0)
    try:
        deadline = time.monotonic() + STARTUP_S
        while True:
            assert process.poll() is None, log.read_text() if log else process.stderr.read().decode()
            try:
                if client.get("/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not become ready"
            time.sleep(0.2)
        yield client
    finally:
        client.close()
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if log is not None:
            stderr.close()


def test_two_servers_sharing_postgresql_act_as_one(models_dir, postgres_schema_url, round_body, logged):
    with serving(models_dir, postgres_schema_url) as first, serving(models_dir, postgres_schema_url) as second:
        answer = first.post("/v1/assign", json=round_body)
        assert answer.status_code == 200, answer.text
        assert second.post("/v1/assign", json=round_body).json() == answer.json()
        engine = sa.create_engine(postgres_schema_url)
        with engine.connect() as conn:
            decisions = conn.execute(sa.text("SELECT count(*) FROM decisions")).scalar_one()
            rounds = conn.execute(sa.text("SELECT count(*) FROM rounds WHERE request_id = 'r-1'")).scalar_one()
        engine.dispose()
        assert (rounds, decisions) == (1, len(answer.json()["assignments"]))

        row = logged.iloc[[0]].drop(columns=["message_words"]).copy()
        row["ticket_id"] = "shared-outcome"
        outcome = row.to_json(orient="records", date_format="iso")
        agent, topic = row["agent_id"].iloc[0], row["topic"].iloc[0]

        def outcomes_seen(client: httpx.Client) -> int:
            topics = client.get(f"/v1/agents/{agent}").json()["topics"]
            return next((t["outcomes"] for t in topics if t["topic"] == topic), 0)

        before = outcomes_seen(second)
        assert first.post("/v1/outcomes", content=outcome, headers={"content-type": "application/json"}).json()[
            "inserted"] == 1
        deadline = time.monotonic() + 10
        while outcomes_seen(second) == before:
            assert time.monotonic() < deadline, "the other server never saw the outcome"
            time.sleep(0.3)
        assert outcomes_seen(second) == before + 1


def test_a_promote_during_a_steady_request_stream_fails_no_request(models_dir, trained, tmp_path, round_body):
    new_version = add_version(models_dir, trained[0], "v2")
    with serving(models_dir, f"sqlite:///{tmp_path / 'ledger.db'}", log=tmp_path / "server.log") as client:
        old_version = client.get("/v1/model").json()["model_version"]
        statuses: list[int] = []
        versions: list[str] = []  # in the order answers arrived, all streams
        per_stream: list[list[str]] = [[] for _ in range(3)]
        stop = threading.Event()

        def stream(k: int) -> None:
            with httpx.Client(base_url=client.base_url, timeout=30.0) as own:
                i = 0
                while not stop.is_set():
                    i += 1  # ids of their own: a shared id would replay another stream's (older) answer
                    response = own.post("/v1/assign", json={**round_body, "request_id": f"stream-{k}-{i}"})
                    statuses.append(response.status_code)
                    if response.status_code == 200:
                        versions.append(response.json()["model_version"])
                        per_stream[k].append(versions[-1])

        workers = [threading.Thread(target=stream, args=(k,)) for k in range(len(per_stream))]
        for w in workers:
            w.start()
        time.sleep(1.0)
        promote(models_dir, "v2")
        deadline = time.monotonic() + 30
        while new_version not in versions[-3:] and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)
        stop.set()
        for w in workers:
            w.join()
    assert statuses and set(statuses) == {200}, f"failed requests: {[s for s in statuses if s != 200]}"
    # the server's own lines (not its access log), to tell why if it kept answering with the old version
    server_log = "\n".join(line for line in (tmp_path / "server.log").read_text().splitlines()
                           if '"route"' not in line)
    assert versions[0] == old_version and versions[-1] == new_version, server_log[-4000:]
    for answered in per_stream:  # a request sent after a new-version answer is answered by the new version
        assert old_version not in answered[answered.index(new_version):]
    # only requests in flight when the first new answer came (one per other stream) answer with the old one
    assert versions[versions.index(new_version):].count(old_version) <= len(per_stream) - 1


def test_serving_a_public_address_without_tokens_is_refused(models_dir, monkeypatch):
    monkeypatch.delenv("SKILLMATCH_API_TOKENS", raising=False)
    monkeypatch.delenv("SKILLMATCH_API_TOKENS_FILE", raising=False)
    result = CliRunner().invoke(cli, ["serve", "--models", str(models_dir), "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "refusing to serve on 0.0.0.0 without authentication" in result.output


def test_several_workers_serve_and_share_the_metrics(models_dir, tmp_path, round_body, monkeypatch):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "metrics"))
    (tmp_path / "metrics").mkdir()
    with serving(models_dir, f"sqlite:///{tmp_path / 'ledger.db'}", "--workers", "2") as client:
        for i in range(6):
            response = client.post("/v1/assign", json={**round_body, "request_id": f"w-{i}"})
            assert response.status_code == 200, response.text
        text = client.get("/metrics").text
    assert 'skillmatch_http_requests_total{method="POST",route="/v1/assign",status="200"} 6.0' in text


@pytest.mark.skipif(not SPREAD_BY_KERNEL, reason="the kernel spreads connections over the workers only on Linux")
def test_new_connections_are_spread_over_the_workers(models_dir, tmp_path):
    """A routing service's connections must not all land on one worker while the others idle."""
    log = tmp_path / "server.log"
    with serving(models_dir, f"sqlite:///{tmp_path / 'ledger.db'}", "--workers", "2", log=log) as client:
        for _ in range(24):  # a new connection each time
            with httpx.Client(base_url=client.base_url, timeout=30.0) as fresh:
                assert fresh.get("/v1/model").status_code == 200
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    workers = {line["worker_pid"] for line in lines if line["route"] == "/v1/model"}
    assert len(workers) == 2


@pytest.mark.skipif(not SPREAD_BY_KERNEL, reason="the kernel spreads connections over the workers only on Linux")
def test_keep_alive_connections_end_up_evenly_spread_over_the_workers(models_dir, tmp_path):
    """A routing service's 8 keep-alive connections, however the kernel placed them, end up 4 per worker
    (a worker over its share closes one after an answer), and no request fails on the way."""
    with serving(models_dir, f"sqlite:///{tmp_path / 'ledger.db'}", "--workers", "2") as client:
        host, port = client.base_url.host, client.base_url.port
        stop, failures, closed = threading.Event(), [], []

        def keep_asking() -> None:
            connection = http.client.HTTPConnection(host, port, timeout=30.0)  # reconnects after a close
            while not stop.is_set():
                connection.request("GET", "/v1/model")
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    failures.append(response.status)
                if (response.getheader("connection") or "").lower() == "close":
                    closed.append(1)
                time.sleep(0.005)
            connection.close()

        streams = [threading.Thread(target=keep_asking) for _ in range(8)]
        for s in streams:
            s.start()
        spread, deadline = [], time.monotonic() + 40.0
        try:
            while time.monotonic() < deadline:
                time.sleep(0.5)
                spread = sorted(float(v) for v in re.findall(
                    r'^skillmatch_worker_connections\{pid="\d+"\} (\S+)$', client.get("/metrics").text, re.M))
                # the 8 streams, and this poll's connection on one of the workers
                if len(spread) == 2 and spread[1] - spread[0] <= 1 and sum(spread) >= 8:
                    break
        finally:
            stop.set()
            for s in streams:
                s.join()
    assert len(spread) == 2 and spread[1] - spread[0] <= 1 and sum(spread) >= 8, spread
    assert failures == []


@pytest.mark.skipif(not SPREAD_BY_KERNEL, reason="each worker listens on its own socket only on Linux")
def test_each_worker_listens_on_its_own_socket_at_the_reserved_address():
    reserved = WorkerAddress.reserve("127.0.0.1", 0, backlog=64)
    port = reserved.getsockname()[1]
    with pytest.raises(ConnectionRefusedError):  # the parent's reservation takes no connections
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    workers = [pickle.loads(ForkingPickler.dumps(reserved)) for _ in range(2)]  # as uvicorn hands them over
    assert [w.getsockname()[1] for w in workers] == [port, port]
    clients = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(32)]
    accepted = []
    for w in workers:
        w.setblocking(False)
        n = 0
        with contextlib.suppress(BlockingIOError):
            while True:
                w.accept()[0].close()
                n += 1
        accepted.append(n)
    with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{port}"):  # a second server on the port
        WorkerAddress.reserve("127.0.0.1", port, backlog=64)
    for sock in (*clients, *workers, reserved):
        sock.close()
    assert sum(accepted) == 32 and min(accepted) > 0


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
@pytest.mark.parametrize("spread", [True, False], ids=["own-sockets", "shared-socket"])
def test_worker_processes_answer_without_nagle_delays(spread, loop):
    """Workers' connections must get TCP_NODELAY (uvicorn binds with protocol 0: uvicorn issue #3149), with
    asyncio's loop and with uvloop (which uvicorn runs when it is installed, as it is on Linux)."""
    run = asyncio.run if loop == "asyncio" else pytest.importorskip("uvloop").run
    if spread and not SPREAD_BY_KERNEL:
        pytest.skip("each worker listens on its own socket only on Linux")
    if spread:
        listener = pickle.loads(ForkingPickler.dumps(WorkerAddress.reserve("127.0.0.1", 0, backlog=64)))
    else:
        listener = TcpConfig("skillmatch.api.app:app_from_env", factory=True, host="127.0.0.1", port=0).bind_socket()
    assert listener.proto == socket.IPPROTO_TCP

    async def accepted_nodelay() -> int:
        found: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            found.set_result(writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(on_connection, sock=listener)
        async with server:
            _, writer = await asyncio.open_connection(*listener.getsockname())
            value = await asyncio.wait_for(found, 5)
            writer.close()
            return value

    assert run(accepted_nodelay()) != 0
