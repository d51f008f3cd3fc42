"""Show the pipeline's and importers' messages in the reader's language.

`synthesis.messages.Message` keeps an English template and its parameters; rows store it
as {"message": template, "params": {...}} (older rows hold plain strings, shown as is).
Translating when the message is shown, not when it is made, means a warning written by a
worker reads in the language of whoever opens the page.
"""

from __future__ import annotations

from django.utils.translation import gettext

from synthesis.messages import Message, as_message, message_json


def message_text(value: object) -> str:
    """A stored or live message in the active language; a plain string as it is."""
    message = as_message(value)
    if not isinstance(message, Message):
        return message
    try:
        return message.render(gettext)
    except (KeyError, ValueError, TypeError):
        # A translation whose placeholders do not match its msgid: English beats nothing.
        return str(message)


def error_text(error: BaseException) -> str:
    """A raised error's message (a Message or a string) in the active language."""
    if len(error.args) == 1 and isinstance(error.args[0], str | dict):
        return message_text(error.args[0])
    return str(error)


def messages_json(values: object) -> list:
    """A list of messages (or strings) as a JSON field stores them."""
    return [message_json(as_message(value)) for value in values or ()]
