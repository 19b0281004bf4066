"""The service definitions: systemd units (verified by systemd) and the nginx site, run for real.

The nginx site is tested with Debian's nginx in front of a stub upstream that records what reaches it:
only /webhooks/, /socket.io/ (with the WebSocket upgrade headers) and /chat are forwarded, every answer
carries the security headers, plain HTTP is redirected, a dead replica is skipped, and the access log
never holds a dossier download token.
"""

from __future__ import annotations

import configparser
import json
import shutil
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import pytest
import requests

from deploy_helpers import REPO, SITE, free_port, nginx_binary, render_site

pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
UNITS = REPO / "deploy" / "systemd"
INSTALL_ROOT = "/opt/meldwijzer"
ENV_FILE = "/etc/meldwijzer/meldwijzer.env"


def service_missing(reason: str) -> None:
    from conftest import service_missing as rule

    rule(reason)


# --- systemd ---------------------------------------------------------------------------------------


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read(UNITS / name, encoding="utf-8")
    return parser


def repo_path(installed: str) -> Path:
    assert installed.startswith(INSTALL_ROOT + "/"), installed
    return REPO / installed[len(INSTALL_ROOT) + 1 :]


def test_units_start_the_production_runner_and_read_the_example_settings() -> None:
    for name, mode in (("meldwijzer-rasa.service", "rasa"), ("meldwijzer-actions.service", "actions")):
        service = unit(name)["Service"]
        command = service["ExecStart"].split()
        assert repo_path(command[0]) == REPO / "scripts" / "serve.sh" and command[1:] == [mode]
        assert service["EnvironmentFile"] == ENV_FILE
        assert service["RestartPreventExitStatus"] == "2"  # a configuration error is not retried
        assert service["User"] == "meldwijzer" and service["UMask"] == "0077"
    purge = unit("meldwijzer-purge.service")["Service"]
    command = purge["ExecStart"].split()
    assert repo_path(command[0]).parent == REPO / ".venv" / "bin"
    assert command[1:4] == ["-m", "bot", "purge"] and "--older-than" in command
    assert purge["Type"] == "oneshot" and purge["EnvironmentFile"] == ENV_FILE
    assert unit("meldwijzer-purge.timer")["Timer"]["OnCalendar"]
    assert (REPO / "deploy" / "meldwijzer.env.example").is_file()


def test_systemd_verifies_the_units(tmp_path: Path) -> None:
    """`systemd-analyze verify` with the install root mapped onto this checkout; any warning fails."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed; the parser test above still checks the units")
    (tmp_path / "meldwijzer.env").write_text("", encoding="utf-8")
    names = sorted(p.name for p in UNITS.iterdir())
    for name in names:
        text = (UNITS / name).read_text(encoding="utf-8")
        (tmp_path / name).write_text(
            text.replace(ENV_FILE, str(tmp_path / "meldwijzer.env")).replace(INSTALL_ROOT, str(REPO)), encoding="utf-8"
        )
    assert (REPO / ".venv" / "bin" / "python").exists()  # the purge unit's ExecStart, mapped onto this checkout
    done = subprocess.run(
        [analyze, "verify", "--man=no", *[str(tmp_path / n) for n in names]],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr


# --- nginx -----------------------------------------------------------------------------------------

Seen = List[Tuple[str, str, Dict[str, str], bytes]]


class Recorder(BaseHTTPRequestHandler):
    """A stand-in for a Rasa replica: answers 200 and records method, path, headers and body."""

    seen: Seen

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.seen.append((self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        payload = json.dumps({"ok": True}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _answer

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture(scope="module")
def nginx() -> str:
    binary = nginx_binary()
    if not binary:
        service_missing("nginx is not installed and could not be installed (deploy/install-nginx.sh)")
    return binary


def test_nginx_accepts_the_site(nginx: str, tmp_path: Path) -> None:
    main = render_site(tmp_path, free_port(), free_port(), [5005])
    done = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(main)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def proxy(nginx: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dict[str, object]]:
    """nginx with the site in front of a dead replica and a recording one."""
    workdir = tmp_path_factory.mktemp("nginx")
    seen: Seen = []
    handler = type("Handler", (Recorder,), {"seen": seen})
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    dead = free_port()
    https, http = free_port(), free_port()
    main = render_site(workdir, https, http, [dead, upstream.server_address[1]])
    process = subprocess.Popen(
        [nginx, "-p", str(workdir), "-c", str(main), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    for _ in range(100):
        try:
            requests.get(f"https://127.0.0.1:{https}/", verify=False, timeout=2)
            break
        except requests.ConnectionError:
            if process.poll() is not None:
                pytest.fail(f"nginx stopped: {process.stderr.read().decode()}")
            time.sleep(0.1)
    try:
        yield {"https": f"https://127.0.0.1:{https}", "http": f"http://127.0.0.1:{http}", "seen": seen, "dir": workdir}
    finally:
        process.terminate()
        process.wait(timeout=30)
        upstream.shutdown()


def get(proxy: Dict[str, object], path: str, **kwargs: object) -> requests.Response:
    return requests.get(f"{proxy['https']}{path}", verify=False, timeout=10, allow_redirects=False, **kwargs)


SECURITY_HEADERS = ("Strict-Transport-Security", "X-Content-Type-Options", "Referrer-Policy", "Permissions-Policy")


@pytest.mark.parametrize("path", ["/chat", "/chat/widget.js", "/webhooks/rest/"])
def test_the_chat_and_the_webhooks_are_forwarded_with_security_headers(proxy: Dict[str, object], path: str) -> None:
    reply = get(proxy, path)
    assert reply.status_code == 200
    assert proxy["seen"][-1][1] == path
    for header in SECURITY_HEADERS:
        assert header in reply.headers, header
    assert reply.headers["X-Content-Type-Options"] == "nosniff"


def test_a_rest_message_reaches_a_live_replica_when_another_is_down(proxy: Dict[str, object]) -> None:
    body = {"sender": "juf", "message": "hallo"}
    for _ in range(4):  # round robin would pick the dead replica at least once
        reply = requests.post(f"{proxy['https']}/webhooks/rest/webhook", json=body, verify=False, timeout=10)
        assert reply.status_code == 200
    method, path, _, received = proxy["seen"][-1]
    assert (method, path, json.loads(received)) == ("POST", "/webhooks/rest/webhook", body)


def test_socket_io_is_forwarded_with_the_websocket_upgrade(proxy: Dict[str, object]) -> None:
    reply = get(
        proxy, "/socket.io/?EIO=4&transport=websocket", headers={"Upgrade": "websocket", "Connection": "Upgrade"}
    )
    assert reply.status_code == 200
    _, path, headers, _ = proxy["seen"][-1]
    assert path.startswith("/socket.io/")
    assert headers.get("upgrade") == "websocket" and headers.get("connection", "").lower() == "upgrade"


@pytest.mark.parametrize("path", ["/", "/status", "/model/parse", "/conversations/x/tracker", "/webhooks"])
def test_rasa_routes_outside_the_channels_are_not_reachable(proxy: Dict[str, object], path: str) -> None:
    before = len(proxy["seen"])
    assert get(proxy, path).status_code in (301, 404)  # /webhooks: nginx's own redirect to /webhooks/
    assert len(proxy["seen"]) == before


def test_plain_http_is_redirected_to_https(proxy: Dict[str, object]) -> None:
    reply = requests.get(f"{proxy['http']}/chat", timeout=10, allow_redirects=False)
    assert reply.status_code == 301 and reply.headers["Location"].startswith("https://")


def test_the_access_log_holds_no_download_token_or_query(proxy: Dict[str, object]) -> None:
    get(proxy, "/chat/dossier/GEHEIMTOKEN123/pdf")
    get(proxy, "/chat?naam=GEHEIMENAAM")
    time.sleep(0.2)  # nginx writes the log line after the answer
    log = (Path(str(proxy["dir"])) / "meldwijzer.access.log").read_text(encoding="utf-8")
    assert "/chat/dossier/..." in log
    assert "GEHEIMTOKEN123" not in log and "GEHEIMENAAM" not in log


def test_the_site_file_forwards_only_the_channel_paths() -> None:
    """What test_rasa_routes_outside_the_channels_are_not_reachable relies on, stated for the admin."""
    locations = [
        line.split()[1:-1]
        for line in SITE.read_text(encoding="utf-8").splitlines()
        if line.strip().startswith("location")
    ]
    assert locations == [["/webhooks/"], ["/socket.io/"], ["=", "/chat"], ["/chat/"], ["/"]]
