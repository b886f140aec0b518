"""Run one attempt in many threads released at the same moment, as racing requests would."""

import threading
from collections.abc import Callable

from booking.clinic import DomainError
from booking.extensions import db


def race(app, count: int, attempt: Callable[[int], str], *, timeout: float = 120) -> list[str]:
    """Call attempt(0) ... attempt(count - 1), each in its own thread and app context.

    The threads wait at one start line holding no database connection, so the attempts
    meet at the database. Returns what each attempt returned, in finishing order; a
    refusal gives its message for a person, any other exception its type and text.
    """
    start_line = threading.Barrier(count)
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(number: int) -> None:
        with app.app_context():
            start_line.wait(timeout=60)
            try:
                result = attempt(number)
            except DomainError as error:
                result = error.message
            except Exception as error:  # noqa: BLE001 - reported in the outcomes, never hidden
                result = f"{type(error).__name__}: {error}"
            finally:
                db.session.remove()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=run, args=(number,)) for number in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return outcomes
