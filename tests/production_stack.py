"""The site as production runs it, for tests: a certificate, gunicorn, nginx in front.

- `self_signed_certificate(folder)` makes a key and a certificate for 127.0.0.1 with the
  openssl command (Debian's openssl package, always present where nginx is).
- `Gunicorn(...)` serves wsgi:app with two sync workers on a free loopback port, over
  plain HTTP (behind the proxy) or with TLS straight to gunicorn (--certfile/--keyfile).
- `Nginx(...)` renders deploy/nginx.conf with deploy/render-nginx.sh, exactly as the
  README tells an operator to, and runs Debian's nginx with it inside a small main
  configuration of its own (the one /etc/nginx/nginx.conf gives on a server).

Every process started here is stopped when its `with` block ends.
"""

import http.client
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

from bench.http import has_control_socket

ROOT = Path(__file__).resolve().parent.parent
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
# Generous: on a busy two-core machine two workers importing the application take a while.
START_TIMEOUT = 120


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A throwaway certificate and key for https://127.0.0.1, valid for two days."""
    certificate, key = folder / "certificate.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(certificate),
        ],
        check=True,
        capture_output=True,
    )
    return certificate, key


def unverified_tls() -> ssl.SSLContext:
    """For talking to our own self-signed loopback server only."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def get(url_host: str, port: int, path: str, *, tls: bool) -> http.client.HTTPResponse:
    """One GET on loopback; the response is read in full before returning."""
    if tls:
        connection = http.client.HTTPSConnection(
            url_host, port, timeout=10, context=unverified_tls()
        )
    else:
        connection = http.client.HTTPConnection(url_host, port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.body = response.read()
        return response
    finally:
        connection.close()


def wait_until_answering(process, port: int, *, tls: bool, name: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}:\n{log.read_text()}")
        try:
            if get("127.0.0.1", port, "/", tls=tls).status < 500:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{name} did not answer within {START_TIMEOUT} s:\n{log.read_text()}")


def stop(process) -> None:
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Gunicorn:
    """`gunicorn wsgi:app` with two workers, as `make serve` runs it; TLS when given a pair."""

    def __init__(self, environment: dict[str, str], log: Path, *, tls: tuple[Path, Path] = ()):
        self.environment = {**os.environ, **environment}
        self.log, self.tls = log, tls
        self.port = free_port()
        self.process = None

    def __enter__(self) -> "Gunicorn":
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            "2",
            "--chdir",
            str(ROOT),
            "--error-logfile",
            "-",
        ]
        if has_control_socket():
            # gunicorn 27 listens on ~/.gunicorn/gunicorn.ctl by default: one path for every
            # gunicorn on the machine, so two test runs at once would take it from each other.
            command.append("--no-control-socket")
        if self.tls:
            certificate, key = self.tls
            command += ["--certfile", str(certificate), "--keyfile", str(key)]
        command.append("wsgi:app")
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=self.environment, stdout=output, stderr=output
            )
        try:
            wait_until_answering(
                self.process, self.port, tls=bool(self.tls), name="gunicorn", log=self.log
            )
        except BaseException:
            stop(self.process)
            raise
        return self

    def __exit__(self, *_exc) -> None:
        stop(self.process)


def render_nginx_site(environment: dict[str, str]) -> str:
    """deploy/nginx.conf with its placeholders filled in, by the script the README gives."""
    result = subprocess.run(
        ["sh", str(ROOT / "deploy" / "render-nginx.sh")],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **environment},
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout


class Nginx:
    """Debian's nginx terminating TLS on a free port and passing requests to `upstream_port`."""

    def __init__(self, folder: Path, certificate: Path, key: Path, upstream_port: int):
        self.folder = folder
        self.https_port, self.http_port = free_port(), free_port()
        self.site = render_nginx_site(
            {
                "SERVER_NAME": "127.0.0.1",
                "HTTPS_PORT": str(self.https_port),
                "HTTP_PORT": str(self.http_port),
                "CERTIFICATE": str(certificate),
                "CERTIFICATE_KEY": str(key),
                "GUNICORN": f"127.0.0.1:{upstream_port}",
            }
        )
        self.log = folder / "nginx-error.log"
        self.process = None

    def _main_configuration(self) -> Path:
        # What Debian's /etc/nginx/nginx.conf provides around conf.d/*.conf, with every
        # path inside this test's folder so that it runs beside any other nginx.
        temporary = self.folder / "nginx-temp"
        temporary.mkdir(exist_ok=True)
        # Worker processes may run as an unprivileged user: let them use the folder.
        for path in (self.folder, temporary):
            path.chmod(0o777)
        (self.folder / "clinic.conf").write_text(self.site)
        main = self.folder / "nginx-main.conf"
        main.write_text(
            f"""
worker_processes 1;
pid {self.folder / "nginx.pid"};
error_log {self.log} warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {temporary}/body;
    proxy_temp_path {temporary}/proxy;
    fastcgi_temp_path {temporary}/fastcgi;
    uwsgi_temp_path {temporary}/uwsgi;
    scgi_temp_path {temporary}/scgi;
    include {self.folder / "clinic.conf"};
}}
"""
        )
        return main

    def __enter__(self) -> "Nginx":
        main = self._main_configuration()
        command = [NGINX, "-e", str(self.log), "-c", str(main), "-g", "daemon off;"]
        check = subprocess.run([*command[:-2], "-t"], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"nginx refused the configuration:\n{check.stderr}")
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            wait_until_answering(
                self.process, self.https_port, tls=True, name="nginx", log=self.log
            )
        except BaseException:
            stop(self.process)
            raise
        return self

    def __exit__(self, *_exc) -> None:
        # SIGTERM is nginx's fast shutdown; its workers end with the master.
        stop(self.process)
