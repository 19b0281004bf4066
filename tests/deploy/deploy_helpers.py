"""Shared by the deployment tests: nginx from the Debian package, run with the repository's site file.

The site file (deploy/nginx/meldwijzer.conf) is what an admin installs; `scripts/cluster.sh nginx-config`
renders it the way the admin would edit it (certificate paths, listen ports, one `server` line per
replica) next to a minimal main configuration. Tests use that same command, so what they run is what
the cluster runs.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path
from typing import Sequence

REPO = Path(__file__).resolve().parents[2]
SITE = REPO / "deploy" / "nginx" / "meldwijzer.conf"
CLUSTER = REPO / "scripts" / "cluster.sh"
INSTALL_NGINX = REPO / "deploy" / "install-nginx.sh"


def nginx_binary() -> str:
    """The nginx binary, installing the Debian package where possible; '' when there is none."""
    subprocess.run([str(INSTALL_NGINX)], check=False, capture_output=True, timeout=600)
    return shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else "")


def write_key_files(folder: Path) -> Path:
    """A production runner's two keys, mode 0600: the data key (returned) and the id key beside it, where
    ``MELDWIJZER_ID_KEY_FILE`` looks by default."""
    from cryptography.fernet import Fernet

    from bot.store import identities

    key = folder / "secret.key"
    for path, value in ((key, Fernet.generate_key()), (folder / identities.ID_KEY_FILE_NAME, identities.new_key())):
        path.write_bytes(value)
        path.chmod(0o600)
    return key


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def render_site(directory: Path, https_port: int, http_port: int, replicas: Sequence[int]) -> Path:
    """The admin's site with a self-signed certificate in ``directory``; returns the main config."""
    subprocess.run(
        [str(CLUSTER), "nginx-config", str(directory), str(https_port), str(http_port), *map(str, replicas)],
        cwd=REPO,
        check=True,
        capture_output=True,
        timeout=120,
    )
    return directory / "nginx.conf"
