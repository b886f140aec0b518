"""Helpers for driving real forms in tests: CSRF is on, as in production."""

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

CSRF_PATTERN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def csrf_token(html: str) -> str:
    match = CSRF_PATTERN.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


class _FormParser(HTMLParser):
    """Collects each POST form of a page: its action and its fields as the page fills them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[PageForm] = []
        self._form: PageForm | None = None
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        attributes = {key: value if value is not None else "" for key, value in attrs}
        if tag == "form":
            if attributes.get("method", "get").lower() == "post":
                self._form = PageForm(attributes.get("action", ""))
                self.forms.append(self._form)
            return
        form = self._form
        name = attributes.get("name")
        if form is None or not name:
            return
        if tag == "input":
            kind = attributes.get("type", "text").lower()
            if kind in {"checkbox", "radio"}:
                form.choices.setdefault(name, []).append(attributes.get("value", "on"))
                if "checked" in attributes:
                    form.values.setdefault(name, []).append(attributes.get("value", "on"))
            elif kind == "submit":
                form.buttons[name] = attributes.get("value", "")
            elif kind not in {"button", "reset", "image", "file"}:
                form.values[name] = [attributes.get("value", "")]
                if kind != "hidden":
                    form.typed.append(name)
        elif tag == "button" and attributes.get("type", "submit") == "submit":
            form.buttons[name] = attributes.get("value", "")
        elif tag == "textarea":
            self._textarea = name
            form.values[name] = [""]
            form.typed.append(name)
            form.multi_line.add(name)
        elif tag == "select":
            self._select = name
        elif tag == "option" and self._select:
            form.choices.setdefault(self._select, []).append(attributes.get("value", ""))
            if "selected" in attributes:
                form.values[self._select] = [attributes.get("value", "")]

    def handle_data(self, data):
        if self._form is not None and self._textarea:
            self._form.values[self._textarea][0] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None


@dataclass
class PageForm:
    action: str
    values: dict[str, list[str]] = field(default_factory=dict)
    choices: dict[str, list[str]] = field(default_factory=dict)
    buttons: dict[str, str] = field(default_factory=dict)
    typed: list[str] = field(default_factory=list)
    multi_line: set[str] = field(default_factory=set)

    def answers(self) -> dict[str, list[str]]:
        """What a person sends: the page's values, a first choice where none was made,
        and the form's last button (its main action: "Book", after "Find")."""
        data = {name: list(values) for name, values in self.values.items()}
        for name, options in self.choices.items():
            if name not in data and options:
                data[name] = ["no" if "no" in options else options[0]]
        if self.buttons:
            name, value = list(self.buttons.items())[-1]
            data[name] = [value]
        return data


def post_forms(html: str) -> list[PageForm]:
    """Every form on the page that posts, with its fields."""
    parser = _FormParser()
    parser.feed(html)
    return parser.forms
