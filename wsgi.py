"""Entry point for gunicorn and the `flask` command: `app = create_app()`."""

from booking import create_app

app = create_app()
