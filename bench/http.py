"""The clinic over HTTP under gunicorn, beside a bare Flask hello-world under the same settings.

    python -m bench.http [--requests 300] [--rounds 3] [--bookings 200] [--concurrency 8]
                         [--workers 2] [--backend sqlite|postgresql|both]

Starts gunicorn on loopback (a free port, sync workers) for bench/hello.py, and for the
clinic itself with production settings on each backend (a temporary SQLite database; a
scratch PostgreSQL database named perf_http_* on the server of bench/postgres.py when one
answers), migrated and loaded with the demo clinic plus three session types given by 1, 5
and 20 practitioners. A fixed number of requests is sent by a fixed number of client
threads (the load generator), each with its own connection, at:

- hello-world, the floor,
- the home page,
- the day-and-time step of the booking flow, "any practitioner", for starts across a
  month (fourteen days per page), for the session given by 1, 5 and 20 practitioners,
- once, after the rounds: the booking form POST (a real form with its CSRF token), each
  asking for a distinct slot in Colette's hours; a 409 (the demo diary, loaded by
  `flask seed-demo`, already holds some of them) is counted separately. The caps on
  online holds per contact and address are lifted for it. It has no target.

The GET workloads run in turn, round after round (--rounds), hello-world included, so
that the floor and the figures share the machine's load. Prints each workload's requests
per second (best round, and the median of the rounds) with the 50th and 95th percentile
latency, its ratio to hello-world's (best round to best round), and the statements one
times page sends for 1, 5 and 20 practitioners (counted in-process), built and kept: the
page is kept between requests until what it shows may have changed, so most requests in
the rounds are answered from it, as they would be on a busy day (booking.public.page_cache).

Targets: the times page with 20 practitioners at least 0.15x hello-world's requests per
second (the tolerance of bench/harness.py applies); the same statements for 1, 5 and 20
practitioners. Loopback only; the load is bounded in count, and every request has a timeout.
"""

import argparse
import http.client
import itertools
import os
import re
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from cryptography.fernet import Fernet

from bench import harness, percentile

# Production refuses to start without record keys; a benchmark run makes its own.
os.environ.setdefault("CLINICAL_RECORD_KEYS", Fernet.generate_key().decode())

ROOT = Path(__file__).resolve().parent.parent
LONDON = ZoneInfo("Europe/London")
CSRF_PATTERN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
REQUEST_TIMEOUT = 60
WARM_UP = 20
# Starting the clinic imports a good deal; on a crowded machine that alone takes many seconds.
START_TIMEOUT = 120
TIMES_RATIO_TARGET = 0.15
CLINIC_SIZES = (1, 5, 20)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def has_control_socket() -> bool:
    """Whether this gunicorn has the machine-wide control socket (27 and later)."""
    from gunicorn import config

    return any(setting.name == "control_socket_disable" for setting in config.KNOWN_SETTINGS)


class Gunicorn:
    """gunicorn serving `target` on 127.0.0.1 until the `with` block ends."""

    def __init__(self, target: str, *, workers: int, env: dict[str, str] | None = None):
        self.target, self.workers = target, workers
        self.env = {**os.environ, **(env or {})}
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
            str(self.workers),
            "--worker-class",
            "sync",
            "--log-level",
            "warning",
            "--chdir",
            str(ROOT),
            # gunicorn 27 puts one control socket at a path shared by the whole machine;
            # two servers at once (tests in parallel, a benchmark) would take each other's.
            *(["--no-control-socket"] if has_control_socket() else []),
            self.target,
        ]
        self.process = subprocess.Popen(command, cwd=ROOT, env=self.env)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code = self.process.returncode
                raise RuntimeError(f"gunicorn for {self.target} exited with {code}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                connection.request("GET", "/")
                status = connection.getresponse().status
                connection.close()
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        self.__exit__(None, None, None)
        raise RuntimeError(f"gunicorn for {self.target} did not answer within {START_TIMEOUT} s")

    def __exit__(self, *_exc):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class Workload:
    """What each request asks for; `setup` runs once per client thread (cookies, tokens)."""

    name: str
    count: int
    request: object  # (index, state) -> (method, path, body, headers)
    setup: object = None  # (connection) -> state
    expected: tuple[int, ...] = (200,)
    refused: tuple[int, ...] = ()


@dataclass
class Result:
    name: str
    count: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    def percentile(self, fraction: float) -> float:
        return percentile(self.latencies, fraction) * 1000


def drive(port: int, workload: Workload, concurrency: int) -> Result:
    """Send workload.count requests from `concurrency` threads; return the timings."""
    result = Result(workload.name, workload.count, 0.0)
    lock = threading.Lock()
    next_index = iter(range(workload.count))
    ready = threading.Barrier(concurrency + 1)

    def client():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
        state = workload.setup(connection) if workload.setup else None
        ready.wait()
        latencies, statuses, errors = [], Counter(), []
        while True:
            with lock:
                index = next(next_index, None)
            if index is None:
                break
            method, path, body, headers = workload.request(index, state)
            started = time.perf_counter()
            try:
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                statuses[response.status] += 1
            except (OSError, http.client.HTTPException) as error:
                # gunicorn's sync workers close the connection after each response;
                # http.client reopens it, so only a real failure lands here.
                errors.append(f"{type(error).__name__}: {error}")
                connection.close()
            latencies.append(time.perf_counter() - started)
        connection.close()
        with lock:
            result.latencies.extend(latencies)
            result.statuses.update(statuses)
            result.errors.extend(errors)

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    ready.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    result.seconds = time.perf_counter() - started
    return result


def get(path: str):
    return lambda _index, _state: ("GET", path, None, {})


def warm_up(port: int, path: str) -> None:
    drive(port, Workload("warm-up", WARM_UP, get(path)), 2)


def month_of_times_pages(today: date, slug: str) -> list[str]:
    """The day-and-time step, anyone, for starts spread over a month."""
    paths = []
    for offset in range(0, 29, 7):
        first = (today + timedelta(days=offset)).isoformat()
        paths.append(f"/book/{slug}/times?practitioner=any&first={first}")
    return paths


def session_slug(size: int) -> str:
    return f"bench-given-by-{size}"


def add_practitioners() -> None:
    """Three session types given by 1, 5 and 20 practitioners, each with a busy fortnight.

    Runs inside the clinic's app (see prepare_clinic_database).
    """
    from booking.extensions import db
    from booking.models import Appointment, Patient, Practitioner, SessionType, WorkingHours

    patient = Patient(name="Bench Patient", email="bench.patient@example.org")
    soon = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0)
    practitioners = []
    for number in range(max(CLINIC_SIZES)):
        practitioner = Practitioner(
            slug=f"bench-practitioner-{number}",
            name=f"Bench Practitioner {number}",
            position=10 + number,
            working_hours=[
                WorkingHours(weekday=day, starts_at=clock(9), ends_at=clock(17)) for day in range(6)
            ],
        )
        practitioners.append(practitioner)
    for size in CLINIC_SIZES:
        session_type = SessionType(
            slug=session_slug(size),
            name=f"Massage given by {size}",
            duration_minutes=45,
            price_pence=6000,
            practitioners=practitioners[:size],
        )
        db.session.add(session_type)
    db.session.add_all([patient, *practitioners])
    db.session.flush()
    # Every other hour taken for each practitioner over the next fortnight.
    for number, practitioner in enumerate(practitioners):
        for day in range(1, 15):
            for hour in range(0, 8, 2):
                starts_at = soon + timedelta(days=day, hours=hour + number % 2)
                db.session.add(
                    Appointment(
                        uid=f"bench-http-{practitioner.id}-{day}-{hour}",
                        practitioner=practitioner,
                        patient=patient,
                        session_type_id=session_type.id,
                        starts_at=starts_at,
                        ends_at=starts_at + timedelta(minutes=45),
                        status="booked",
                        price_pence=0,
                    )
                )
    db.session.commit()


def statements_per_times_page(env: dict[str, str], today: date) -> dict[str, dict[int, int]]:
    """The statements one times page sends for 1, 5 and 20 practitioners (in-process): when
    it is built (the first request for it) and when it is kept (the same page again, nothing
    changed). The settings row's read is left out: whether it happens depends on the age
    of the worker's copy (bench/settings.py), not on the size of the clinic; so is SQLite's
    BEGIN, a statement of its own there."""
    from sqlalchemy import event

    from booking import create_app
    from booking.extensions import db

    app = create_app("production", SQLALCHEMY_DATABASE_URI=env["DATABASE_URL"])
    client = app.test_client()
    assert client.get("/book").status_code == 200  # templates compiled, settings read
    with app.app_context():
        engine = db.engine
    counts: dict[str, dict[int, int]] = {"built": {}, "kept": {}}
    for size in CLINIC_SIZES:
        path = month_of_times_pages(today, session_slug(size))[0]
        for kind in ("built", "kept"):
            statements: list[str] = []

            def count(_conn, _cursor, statement, *_args, statements=statements):
                if "from clinic_settings" not in statement.lower() and not statement.startswith(
                    "BEGIN"
                ):
                    statements.append(statement)

            event.listen(engine, "before_cursor_execute", count)
            try:
                response = client.get(path)
            finally:
                event.remove(engine, "before_cursor_execute", count)
            assert response.status_code == 200
            counts[kind][size] = len(statements)
    with app.app_context():
        db.engine.dispose()
    return counts


def stretching_slots(today: date, horizon_days: int = 89) -> list[str]:
    """Back-to-back 30-minute starts inside Colette's demo hours, from tomorrow on (UTC)."""
    slots = []
    for offset in range(1, horizon_days):
        day = today + timedelta(days=offset)
        if day.weekday() < 5:
            spans = [(9, 13), (14, 18)]
        elif day.weekday() == 5:
            spans = [(9, 13)]
        else:
            continue
        for first_hour, last_hour in spans:
            for minutes in range(first_hour * 60, last_hour * 60, 30):
                local = datetime.combine(day, clock(minutes // 60, minutes % 60), tzinfo=LONDON)
                slots.append(local.astimezone(UTC).strftime("%Y%m%dT%H%MZ"))
    return slots


def booking_workload(count: int, today: date) -> Workload:
    slots = stretching_slots(today)
    if count >= len(slots):
        raise SystemExit(f"--bookings must be below {len(slots)}, the free slots available")

    def details_path(start: str) -> str:
        return f"/book/stretching/details?practitioner=colette-assor&start={start}"

    def setup(connection):
        # The last slot is never booked here, so its form always shows: a session cookie
        # and a CSRF token for this client, reused for every POST it sends.
        connection.request("GET", details_path(slots[-1]))
        response = connection.getresponse()
        html = response.read().decode()
        cookie = next(
            value.split(";", 1)[0]
            for name, value in response.getheaders()
            if name.lower() == "set-cookie" and value.startswith("session=")
        )
        return {"cookie": cookie, "token": CSRF_PATTERN.search(html).group(1)}

    def request(index, state):
        body = urlencode(
            {
                "csrf_token": state["token"],
                "name": f"Bench Patient {index}",
                "email": f"bench.patient.{index}@example.org",
                "phone": "07700 900123",
                "note": "",
                "cauda_equina": "no",
                "other_warning": "no",
                "consent": "y",
            }
        ).encode()
        headers = {
            "Cookie": state["cookie"],
            "Content-Type": "application/x-www-form-urlencoded",
        }
        return "POST", details_path(slots[index]), body, headers

    return Workload(
        "booking POST (a distinct slot each)",
        count,
        request,
        setup=setup,
        expected=(302,),
        refused=(409,),
    )


def prepare_clinic_database(env: dict[str, str]) -> None:
    for command in (["db", "upgrade"], ["seed-demo"]):
        subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", *command],
            cwd=ROOT,
            env={**os.environ, **env},
            check=True,
            capture_output=True,
        )
    script = (
        "from wsgi import app\n"
        "from bench.http import add_practitioners\n"
        "with app.app_context():\n"
        "    add_practitioners()\n"
    )
    subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**os.environ, **env},
        check=True,
        capture_output=True,
    )


@dataclass
class Rounds:
    """One workload's results, a round each; figures by the best round and the median."""

    workload: Workload
    results: list[Result] = field(default_factory=list)

    @property
    def best(self) -> float:
        return max(result.per_second for result in self.results)

    @property
    def median(self) -> float:
        return statistics.median(result.per_second for result in self.results)

    def latencies(self) -> list[float]:
        return [latency for result in self.results for latency in result.latencies]

    def answered(self, statuses: tuple[int, ...]) -> int:
        return sum(result.statuses[s] for result in self.results for s in statuses)

    @property
    def count(self) -> int:
        return sum(result.count for result in self.results)


def report(rounds: list[Rounds], hello: Rounds) -> bool:
    """Print a line per workload; True when every answer was an expected one."""
    header = (
        f"{'workload':<40} {'requests':>8} {'ok':>6} {'409':>5} {'other':>6} "
        f"{'req/s best':>10} {'median':>7} {'p50 ms':>7} {'p95 ms':>7} {'vs hello':>9}"
    )
    print(header)
    print("-" * len(header))
    healthy = True
    for each in [hello, *rounds]:
        workload = each.workload
        ok, refused = each.answered(workload.expected), each.answered(workload.refused)
        other = each.count - ok - refused
        healthy &= other == 0
        latencies = each.latencies()
        print(
            f"{workload.name:<40} {each.count:>8} {ok:>6} {refused:>5} {other:>6} "
            f"{each.best:>10.1f} {each.median:>7.1f} {percentile(latencies, 0.5) * 1000:>7.1f} "
            f"{percentile(latencies, 0.95) * 1000:>7.1f} {each.best / hello.best:>8.2f}x"
        )
        unexpected: Counter = Counter()
        errors: list[str] = []
        for result in each.results:
            unexpected.update(
                {s: n for s, n in result.statuses.items() if s not in workload.expected}
            )
            errors.extend(result.errors)
        if unexpected or errors:
            print(f"    other answers: {dict(unexpected)} {errors[:3]}")
    return healthy


def times_workload(size: int, count: int, today: date) -> Workload:
    paths = month_of_times_pages(today, session_slug(size))
    return Workload(
        f"times page, anyone of {size:>2} practitioners",
        count,
        lambda index, _state: ("GET", paths[index % len(paths)], None, {}),
    )


def measure_clinic(backend: str, database_url: str, options, hello_port: int) -> bool:
    """Serve the clinic on `database_url`, drive the workloads in rounds beside hello-world,
    print; True when the targets are met."""
    today = datetime.now(LONDON).date()
    times_loads = {size: times_workload(size, options.requests, today) for size in CLINIC_SIZES}
    hello_load = Workload("hello-world (bare Flask), the floor", options.requests, get("/"))
    largest_paths = month_of_times_pages(today, session_slug(max(CLINIC_SIZES)))
    fresh = itertools.count()
    built_every_time = Workload(
        f"times page, {max(CLINIC_SIZES)}, never kept (no target)",
        options.requests,
        # An address of its own each time (an argument the page ignores): built afresh.
        lambda index, _state: (
            "GET",
            f"{largest_paths[index % len(largest_paths)]}&fresh={next(fresh)}",
            None,
            {},
        ),
    )
    gets = [
        Workload("home page", options.requests, get("/")),
        *times_loads.values(),
        built_every_time,
    ]
    env = {
        "APP_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "CLINICAL_RECORD_KEYS": os.environ["CLINICAL_RECORD_KEYS"],
        "DATABASE_URL": database_url,
        # The booking limit per visitor, and the caps on what one contact or address may
        # hold online, would turn this benchmark into a test of them: every POST comes
        # from one address.
        "RATELIMIT_ENABLED": "0",
        "ONLINE_HOLDS_PER_CONTACT": "1000000",
        "ONLINE_HOLDS_PER_ADDRESS": "1000000",
        "PUBLIC_BASE_URL": "http://127.0.0.1",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": "9",
    }
    prepare_clinic_database(env)
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        statements = statements_per_times_page(env, today)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    hello = Rounds(hello_load)
    rounds = [Rounds(workload) for workload in gets]
    with Gunicorn("wsgi:app", workers=options.workers, env=env) as server:
        warm_up(server.port, "/")
        for load in times_loads.values():
            warm_up(server.port, load.request(0, None)[1])
        for _ in range(options.rounds):
            hello.results.append(drive(hello_port, hello_load, options.concurrency))
            for each in rounds:
                each.results.append(drive(server.port, each.workload, options.concurrency))
        booking = Rounds(booking_workload(options.bookings, today))
        booking.results.append(drive(server.port, booking.workload, options.concurrency))

    print(f"\n{backend} ({options.rounds} rounds of {options.requests} requests per GET workload):")
    healthy = report([*rounds, booking], hello)
    largest = rounds[1 + CLINIC_SIZES.index(max(CLINIC_SIZES))]
    ratio = largest.best / hello.best
    fast_enough = harness.at_least(ratio, TIMES_RATIO_TARGET)
    constant = harness.exactly(
        all(len(set(counts.values())) == 1 for counts in statements.values())
    )
    print(
        f"statements per times page for {', '.join(str(n) for n in CLINIC_SIZES)} practitioners: "
        + "; ".join(
            f"{kind} {', '.join(str(counts[n]) for n in CLINIC_SIZES)}"
            for kind, counts in statements.items()
        )
        + f"; target: equal: {constant.word}"
    )
    print(
        f"times page with {max(CLINIC_SIZES)} practitioners: {ratio:.3f}x hello-world's "
        f"requests per second (best rounds; {largest.median / hello.median:.3f}x by the "
        f"medians); target >= {TIMES_RATIO_TARGET}x: {fast_enough.word}"
    )
    return healthy and not fast_enough.fails and not constant.fails


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="GET requests per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the GET workloads")
    parser.add_argument("--bookings", type=int, default=200, help="booking POSTs")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    harness.backend_arguments(parser)
    options = parser.parse_args()
    sys.path.insert(0, str(ROOT))

    print(
        f"gunicorn on 127.0.0.1, {options.workers} sync workers; {options.concurrency} client "
        f"threads on the same {os.cpu_count()}-core machine"
    )
    with Gunicorn("bench.hello:app", workers=options.workers) as hello_server:
        warm_up(hello_server.port, "/")
        met = True
        if options.backend in ("sqlite", "both"):
            with harness.sqlite_database("http") as url:
                met &= measure_clinic("SQLite", url, options, hello_server.port)
        if options.backend in ("postgresql", "both"):
            from bench.postgres import Unreachable, scratch_database, sqlalchemy_url

            try:
                with scratch_database("perf_http") as conninfo:
                    met &= measure_clinic(
                        "PostgreSQL", sqlalchemy_url(conninfo), options, hello_server.port
                    )
            except Unreachable as error:
                print(f"PostgreSQL: skipped: {error}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
