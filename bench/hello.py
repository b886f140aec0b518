"""A bare Flask hello-world: the floor that bench.http compares the clinic's pages with."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "Hello, world!"
