"""Load benchmark: Meldwijzer against a stock `rasa init` bot, same Rasa, same .venv, same run.

Why a stock bot: "fast enough" only means something beside a baseline measured on the same machine at
the same moment. Both bots are driven with the same load shape over REST on loopback: U concurrent
users, each holding a conversation of T turns (one message after the reply to the previous one).
Rounds alternate project / stock so a noisy neighbour hits both alike. Printed per round and as medians:
messages per second, p50 and p95 latency, errors, and the ratios project/stock. A long-conversation
round shows p95 at turn 5 against turn 60 (the cost per message must not grow with the conversation),
and the resident memory of the servers after the load.

Run: ``make bench-load`` (or ``.venv/bin/python benchmarks/load.py --users 10 50 --rounds 2``).
Bounded: every request has a timeout, every round a fixed number of messages; loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import aiohttp
from cryptography.fernet import Fernet

REPO = Path(__file__).resolve().parents[1]
BIN = REPO / ".venv" / "bin"
STOCK_DIR = REPO / "build" / "bench-stock"
REQUEST_TIMEOUT_S = 120
START_TIMEOUT_S = 300

# What a teacher types in a first conversation, and what the stock moodbot understands: same length.
PROJECT_TURNS = (
    "ik maak me zorgen over een leerling",
    "ik ben leerkracht",
    "wat moet ik nu doen?",
    "mag ik anoniem advies vragen bij veilig thuis?",
    "ik heb de signalen vastgelegd",
    "wie moet ik bellen?",
)
STOCK_TURNS = ("hello", "I am sad", "yes", "are you a bot?", "great", "bye")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (Sanic may fork), from /proc."""
    total = 0.0
    for candidate in [pid, *_children(pid)]:
        try:
            for line in Path(f"/proc/{candidate}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
        except FileNotFoundError:
            continue
    return total


def _children(pid: int) -> List[int]:
    try:
        found = [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []
    return found + [g for c in found for g in _children(c)]


@dataclass
class Server:
    """One bot (Rasa server, plus its action server for the project) on free loopback ports."""

    name: str
    turns: Sequence[str]
    workdir: Path
    procs: List[subprocess.Popen] = field(default_factory=list)
    port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhooks/rest/webhook"

    def _spawn(self, args: List[str], cwd: Path, env: Dict[str, str], log: str) -> subprocess.Popen:
        handle = (self.workdir / log).open("ab")
        proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(proc)
        return proc

    def wait(self) -> None:
        import urllib.request

        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if any(p.poll() is not None for p in self.procs):
                raise RuntimeError(f"{self.name} stopped during start-up; see {self.workdir}")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/", timeout=2)
                return
            except OSError:
                time.sleep(1)
        raise RuntimeError(f"{self.name} did not start within {START_TIMEOUT_S}s")

    def memory_mb(self) -> float:
        return sum(rss_mb(p.pid) for p in self.procs)

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, 15)
        for proc in self.procs:
            proc.wait(timeout=60)


def base_env() -> Dict[str, str]:
    return {
        **os.environ,
        "RASA_TELEMETRY_ENABLED": "false",
        "LOG_LEVEL": "WARNING",
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    }


def start_project(workdir: Path) -> Server:
    server = Server("meldwijzer", PROJECT_TURNS, workdir)
    actions_port = free_port()
    env = {
        **base_env(),
        "RASA_PORT": str(server.port),
        "ACTIONS_PORT": str(actions_port),
        "SANIC_HOST": "127.0.0.1",
        "MELDWIJZER_DB_URL": f"sqlite:///{workdir / 'cases.db'}",
        "MELDWIJZER_TRACKER_DB_URL": f"sqlite:///{workdir / 'tracker.db'}",
        "MELDWIJZER_SECRET_KEY": Fernet.generate_key().decode(),
        "MELDWIJZER_REST_LOCAL": "1",
        "MELDWIJZER_WEB_ANONYMOUS": "1",
        "MELDWIJZER_API_TOKEN": "",
        "MELDWIJZER_REST_CLIENTS": "",
        "MELDWIJZER_ACTIONS_TOKEN": secrets.token_hex(24),  # as make run gives the pair
    }
    server._spawn([str(BIN / "python"), "-m", "actions.server", "--port", str(actions_port)], REPO, env, "actions.log")
    server._spawn(
        [
            str(BIN / "rasa"),
            "run",
            "--model",
            "models/meldwijzer.tar.gz",
            "--endpoints",
            "endpoints.yml",
            "--credentials",
            "credentials.yml",
            "--interface",
            "127.0.0.1",
            "--port",
            str(server.port),
        ],
        REPO,
        env,
        "rasa.log",
    )
    server.wait()
    return server


def stock_model() -> Path:
    """A `rasa init` project trained with this .venv, built once and kept under build/."""
    models = STOCK_DIR / "models"
    if not models.exists() or not list(models.glob("*.tar.gz")):
        shutil.rmtree(STOCK_DIR, ignore_errors=True)
        STOCK_DIR.mkdir(parents=True)
        print("building the stock `rasa init` bot (once) ...", flush=True)
        subprocess.run(
            [str(BIN / "rasa"), "init", "--no-prompt", "--init-dir", str(STOCK_DIR)],
            cwd=STOCK_DIR,
            env=base_env(),
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    return sorted(models.glob("*.tar.gz"))[-1]


def start_stock(workdir: Path) -> Server:
    server = Server("stock", STOCK_TURNS, workdir)
    server._spawn(
        [
            str(BIN / "rasa"),
            "run",
            "--model",
            str(stock_model()),
            "--interface",
            "127.0.0.1",
            "--port",
            str(server.port),
        ],
        STOCK_DIR,
        base_env(),
        "stock.log",
    )
    server.wait()
    return server


@dataclass
class Round:
    server: str
    users: int
    turns: int
    seconds: float
    latencies: List[List[float]]  # per turn index, in ms
    errors: int

    @property
    def all_latencies(self) -> List[float]:
        return [x for per_turn in self.latencies for x in per_turn]

    @property
    def throughput(self) -> float:
        return len(self.all_latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, q: float, turn: Optional[int] = None) -> float:
        data = sorted(self.latencies[turn] if turn is not None else self.all_latencies)
        return data[min(len(data) - 1, int(q * len(data)))] if data else float("nan")

    def window(self, q: float, first: int, count: int) -> float:
        """Percentile over turns first..first+count-1 (one cycle of the messages: the same texts)."""
        data = sorted(x for per_turn in self.latencies[first : first + count] for x in per_turn)
        return data[min(len(data) - 1, int(q * len(data)))] if data else float("nan")


async def drive(server: Server, users: int, turns: int, tag: str) -> Round:
    """``users`` conversations at once, ``turns`` messages each; a 5xx, a timeout or an empty reply is an error."""
    latencies: List[List[float]] = [[] for _ in range(turns)]
    errors = 0
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)

    async def conversation(session: aiohttp.ClientSession, user: int) -> None:
        nonlocal errors
        for turn in range(turns):
            text = server.turns[turn % len(server.turns)]
            start = time.perf_counter()
            try:
                async with session.post(server.url, json={"sender": f"{tag}-u{user}", "message": text}) as reply:
                    body = await reply.json(content_type=None)
                    ok = reply.status == 200 and bool(body)
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
                ok = False
            latencies[turn].append((time.perf_counter() - start) * 1000)
            errors += 0 if ok else 1

    start = time.perf_counter()
    async with aiohttp.ClientSession(timeout=timeout) as session:
        await asyncio.gather(*(conversation(session, u) for u in range(users)))
    return Round(server.name, users, turns, time.perf_counter() - start, latencies, errors)


def report(rounds: List[Round], users: int) -> None:
    mine = [r for r in rounds if r.server == "meldwijzer" and r.users == users]
    stock = [r for r in rounds if r.server == "stock" and r.users == users]
    for name, group in (("meldwijzer", mine), ("stock", stock)):
        for i, r in enumerate(group, 1):
            print(
                f"  {name:10} round {i}: {r.throughput:6.1f} msg/s  p50 {r.percentile(0.5):7.0f} ms  "
                f"p95 {r.percentile(0.95):7.0f} ms  errors {r.errors}"
            )
    med = lambda rs, f: statistics.median(f(r) for r in rs)  # noqa: E731
    tp = med(mine, lambda r: r.throughput) / med(stock, lambda r: r.throughput)
    p95 = med(mine, lambda r: r.percentile(0.95)) / med(stock, lambda r: r.percentile(0.95))
    print(
        f"  median ratio project/stock at {users} users: throughput x{tp:.2f} (target >= 1.0), "
        f"p95 x{p95:.2f} (target <= 1.3), errors {sum(r.errors for r in mine)} / {sum(r.errors for r in stock)}"
    )


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--turns", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--long-turns", type=int, default=60, help="turns of the long-conversation round (0: skip)")
    args = parser.parse_args(argv)
    if not (REPO / "models" / "meldwijzer.tar.gz").exists():
        print("models/meldwijzer.tar.gz is missing: run `make train` first", file=sys.stderr)
        return 1
    stock_model()
    with tempfile.TemporaryDirectory(prefix="mw-load-") as tmp:
        workdir = Path(tmp)
        project, stock = start_project(workdir), start_stock(workdir)
        try:
            rounds: List[Round] = []
            for users in args.users:
                for i in range(args.rounds):
                    for server in (project, stock) if i % 2 == 0 else (stock, project):
                        asyncio.run(drive(server, 2, 2, f"warm{users}{i}"))  # warm caches of this round
                        rounds.append(asyncio.run(drive(server, users, args.turns, f"r{users}-{i}-{server.name}")))
            load = os.getloadavg()[0]
            print(
                f"load benchmark on {os.cpu_count()} cores (1-min load average at the end {load:.1f}); "
                f"{args.turns} turns per conversation, {args.rounds} rounds each"
            )
            for users in args.users:
                print(f"{users} concurrent users:")
                report(rounds, users)
            if args.long_turns:
                for server in (project, stock):
                    long = asyncio.run(drive(server, 5, args.long_turns, f"long-{server.name}"))
                    # Turn 5 and turn 60 are different messages, each with 5 samples; the same messages
                    # at the start and at the end (one cycle of the turns each) compare like with like.
                    cycle, last = len(server.turns), args.long_turns - len(server.turns)
                    print(
                        f"long conversations ({server.name}, 5 users x {args.long_turns} turns): p95 at turn 5 "
                        f"{long.percentile(0.95, 4):.0f} ms, at turn {args.long_turns} "
                        f"{long.percentile(0.95, args.long_turns - 1):.0f} ms; the same {cycle} messages at "
                        f"turns 1-{cycle} p50 {long.window(0.5, 0, cycle):.0f} / "
                        f"p95 {long.window(0.95, 0, cycle):.0f} ms, "
                        f"at turns {last + 1}-{args.long_turns} p50 {long.window(0.5, last, cycle):.0f} / "
                        f"p95 {long.window(0.95, last, cycle):.0f} ms; errors {long.errors}"
                    )
            print(
                f"resident memory after the load: meldwijzer (rasa + actions) {project.memory_mb():.0f} MB, "
                f"stock {stock.memory_mb():.0f} MB"
            )
        finally:
            project.stop()
            stock.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
