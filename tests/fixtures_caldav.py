"""A real CalDAV server for tests: Radicale, started on a free port in its own process.

`caldav_server` has one user (`practitioner` / `caldav-test-password`) and helpers to
make a calendar collection and PUT, GET and list resources in it, through plain HTTP
as any CalDAV client does.
"""

import base64
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fixtures_mail import free_port

USER = "practitioner"
PASSWORD = "caldav-test-password"  # noqa: S105 - a throwaway test server's


@dataclass
class CalDavServer:
    base_url: str
    user: str
    password: str

    def _request(self, method: str, path: str, body: bytes | None = None, headers=None):
        credentials = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        request = urllib.request.Request(  # noqa: S310 - loopback test server
            f"{self.base_url}{path}",
            data=body,
            method=method,
            headers={"Authorization": f"Basic {credentials}", **(headers or {})},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def make_calendar(self, name: str) -> str:
        """MKCALENDAR /user/name/ and return its path."""
        path = f"/{self.user}/{name}/"
        status, body = self._request("MKCALENDAR", path)
        assert status == 201, (status, body)
        return path

    def put(self, path: str, data: bytes) -> int:
        status, _ = self._request("PUT", path, data, {"Content-Type": "text/calendar"})
        return status

    def get(self, path: str) -> bytes:
        status, body = self._request("GET", path)
        assert status == 200, (status, body)
        return body

    def resources(self, collection: str) -> list[str]:
        """The hrefs of the calendar objects in a collection (PROPFIND depth 1)."""
        status, body = self._request(
            "PROPFIND",
            collection,
            b'<?xml version="1.0"?><propfind xmlns="DAV:"><prop><getetag/></prop></propfind>',
            {"Depth": "1", "Content-Type": "application/xml"},
        )
        assert status == 207, (status, body)
        import re

        hrefs = re.findall(rb"<(?:\w+:)?href>([^<]+)</(?:\w+:)?href>", body)
        return sorted(h.decode() for h in hrefs if h.decode().endswith(".ics"))


def _wait_for_port(port: int, process: subprocess.Popen, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "Radicale exited while starting"
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError("Radicale did not start listening")


@pytest.fixture
def caldav_server(tmp_path: Path):
    port = free_port()
    users = tmp_path / "users"
    users.write_text(f"{USER}:{PASSWORD}\n")
    config = tmp_path / "radicale.conf"
    config.write_text(
        "[server]\n"
        f"hosts = 127.0.0.1:{port}\n"
        "[auth]\n"
        "type = htpasswd\n"
        f"htpasswd_filename = {users}\n"
        "htpasswd_encryption = plain\n"
        "[rights]\n"
        "type = owner_only\n"
        "[storage]\n"
        f"filesystem_folder = {tmp_path / 'collections'}\n"
        "[logging]\n"
        "level = warning\n"
    )
    log = (tmp_path / "radicale.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "radicale", "--config", str(config)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_for_port(port, process)
        yield CalDavServer(f"http://127.0.0.1:{port}", USER, PASSWORD)
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
