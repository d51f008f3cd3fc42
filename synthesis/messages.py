"""Messages for people (warnings, import errors) that stay translatable in pure code.

The pipeline and the importers never import Django, so they cannot translate. They mark
each English template with `gettext_noop` (which makemessages extracts) and return a
`Message`: the template and its named parameters. `str()` gives the English text; the
Django side translates the template when it shows the message (`courses.messages`), in
the reader's language rather than the language of whoever started the work.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


def gettext_noop(message: str) -> str:
    """The message itself: marks a literal for extraction into the translation catalogue."""
    return message


class Message(str):
    """A template with `%(name)s` parameters and their values; as a str, the English text.

    Being a str, a Message goes wherever a warning string went (a log line, a manifest,
    `"scene 3" in warning`); `as_json` and `render` keep the template and parameters, so
    the Django side can translate it. A parameter may itself be a Message (the problem in
    "scene 3: ..."), so each part is translated on its own. Values other than JSON
    scalars are kept as their str().
    """

    template: str
    params: dict[str, Any]

    def __new__(cls, template: str, /, **params: Any) -> Message:
        plain = {name: _plain(value) for name, value in params.items()}
        self = super().__new__(cls, template % plain if plain else template)
        self.template = template
        self.params = plain
        return self

    def render(self, translate: Callable[[str], str]) -> str:
        """The text with `translate(template)` applied to this message and every nested one."""
        if not self.params:
            return translate(self.template)
        values = {
            name: value.render(translate) if isinstance(value, Message) else value
            for name, value in self.params.items()
        }
        return translate(self.template) % values

    def as_json(self) -> dict[str, Any]:
        """{"message": template, "params": {...}}, nested messages in the same form."""
        params = {
            name: value.as_json() if isinstance(value, Message) else value
            for name, value in self.params.items()
        }
        return {"message": self.template, "params": params}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Message:
        params = {
            name: cls.from_json(value) if _is_message_json(value) else value
            for name, value in dict(data.get("params") or {}).items()
        }
        return cls(str(data["message"]), **params)

    def __repr__(self) -> str:
        return f"Message({self.template!r}, **{self.params!r})"


def as_message(value: object) -> Message | str:
    """A stored message (JSON form) as a Message; a plain string (older rows) stays as is."""
    if isinstance(value, str):  # a Message is a str too
        return value
    if _is_message_json(value):
        return Message.from_json(value)  # type: ignore[arg-type]
    return str(value)


def message_json(value: Message | str) -> dict[str, Any] | str:
    """What a JSON field stores for a message: its JSON form, or a plain string as is."""
    return value.as_json() if isinstance(value, Message) else str(value)


def _is_message_json(value: object) -> bool:
    return isinstance(value, Mapping) and isinstance(value.get("message"), str)


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool | Message):
        return value
    return str(value)
