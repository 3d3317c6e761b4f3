"""Message text, rendered at send time from the current appointment (Jinja2 templates).

Templates live in ``actors/templates`` as ``<kind>.<channel>.<language>.<part>``. The
language is the patient's when their clinic offers it (or sets no languages) and a template
exists, else the clinic's first language, else English (``language_for``). Text holds the minimum a patient needs:
first name, clinic, local date and time, address, clinic phone, how to opt out.
"""
import time
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from flask import current_app
from jinja2 import (
    Environment,
    PackageLoader,
    StrictUndefined,
    TemplateNotFound,
    select_autoescape,
)

from actors.clinic_settings import clinic_languages, help_contact
from actors.segments import segment_count
from db.staff import latest_template

FALLBACK_LANGUAGE = "en"

_env = Environment(
    loader=PackageLoader("actors", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    keep_trailing_newline=False,
    # The shipped files do not change while a process runs (staff edits are versions in
    # the database): no stat() of the template file for every message sent.
    auto_reload=False,
)


@dataclass(frozen=True)
class Rendered:
    body: str
    subject: str | None = None
    html: str | None = None
    segments: int | None = None


def _language(language: str | None) -> str:
    return (language or FALLBACK_LANGUAGE).split("-")[0].lower()


#: The languages some template is written in (the files shipped with the code).
TEMPLATE_LANGUAGES = frozenset(name.split(".")[2] for name in _env.list_templates())


def language_for(patient, location) -> tuple[str, ...]:
    """The languages to render for ``patient`` of ``location``, best first: the patient's
    own when the clinic offers it (any, when the clinic sets no languages), then the
    clinic's default. ``render`` takes the first with a template, else English."""
    offered = clinic_languages(location)
    own = _language(patient.language) if patient.language else None
    if not offered:
        return (own or FALLBACK_LANGUAGE,)
    return (own, offered[0]) if own in offered else (offered[0],)


def _candidates(language) -> list[str]:
    """``render``'s language argument (one code, ``language_for``'s tuple or None), then
    the fallback."""
    chosen = (language,) if language is None or isinstance(language, str) else language
    return [_language(code) for code in chosen] + [FALLBACK_LANGUAGE]


def compile_source(name: str, source: str):
    """A template from text (a version edited in the admin), escaped like the file it replaces."""
    if name.endswith(".html"):
        source = "{% autoescape true %}" + source + "{% endautoescape %}"
    return _env.from_string(source)


_compiled: dict[int, object] = {}  # template version id -> compiled template
# name -> (when to look again, compiled template or None for "use the file"). Looking up the
# newest version once per message cost a fifth of the send path (bench/profiles/); a saved
# edit now reaches each worker within TEMPLATE_CACHE_SECONDS.
_newest: dict[str, tuple[float, object | None]] = {}


def forget_stored_templates() -> None:
    """Drop this process's cache of admin-edited templates (called after an edit is saved)."""
    _newest.clear()


def _stored(name: str):
    now = time.monotonic()
    cached = _newest.get(name)
    if cached is not None and cached[0] > now:
        return cached[1]
    stored = latest_template(name)
    compiled = None
    if stored is not None:
        if stored.id not in _compiled:
            _compiled[stored.id] = compile_source(name, stored.body)
        compiled = _compiled[stored.id]
    _newest[name] = (now + current_app.config["TEMPLATE_CACHE_SECONDS"], compiled)
    return compiled


def _load(name: str):
    """The newest version saved in the admin wins over the file shipped with the code."""
    return _stored(name) or _env.get_template(name)


def _template(kind: str, channel: str, language: str, part: str):
    for candidate in _candidates(language):
        try:
            return _load(f"{kind}.{channel}.{candidate}.{part}"), candidate
        except TemplateNotFound:
            continue
    raise TemplateNotFound(f"{kind}.{channel}.{FALLBACK_LANGUAGE}.{part}")


def context_for(appointment, patient, location, notification=None) -> dict:
    """What a template may use: nothing beyond the minimum the patient needs; with the
    ``notification`` being rendered, an e-mail's links and what an acknowledgement answers."""
    local = appointment.starts_at.astimezone(ZoneInfo(location.timezone))
    # Dates in the language the message is written in (the first with templates).
    locale = next(code for code in _candidates(language_for(patient, location))
                  if code in TEMPLATE_LANGUAGES)
    return {
        "first_name": patient.given_name,
        "clinic": location.name,
        "address": location.address,
        "clinic_phone": help_contact(location),
        "date": format_date(local.date(), format="EEE d MMM", locale=locale),
        "time": format_time(local.time(), format="short", locale=locale),
        "cancelled": appointment.status == "cancelled",
        **(_extras(notification) if notification is not None else {}),
    }


def _extras(notification) -> dict:
    from actors.links import email_links  # actors.replies imports the send path, which
    from actors.replies import answer_of  # imports this module
    extras = {}
    if notification.kind == "broadcast":
        from actors.broadcasts import context_of  # imports the send path too
        extras.update(context_of(notification))
    if notification.channel == "email":
        return {**extras, **email_links(notification.id)}
    return {**extras, "answer": answer_of(notification)} if notification.kind == "reply" \
        else extras


def render(kind: str, channel: str, context: dict,
           language: str | tuple[str, ...] | None) -> Rendered:
    """The message in the first of ``language`` (a code, or ``language_for``'s choice)
    that has the template, else in English."""
    if channel == "sms":
        template, _ = _template(kind, "sms", language, "txt")
        body = " ".join(template.render(context).split())
        return Rendered(body=body, segments=segment_count(body))
    subject, _ = _template(kind, "email", language, "subject.txt")
    text, _ = _template(kind, "email", language, "txt")
    html, _ = _template(kind, "email", language, "html")
    return Rendered(body=text.render(context).strip() + "\n",
                    subject=" ".join(subject.render(context).split()),
                    html=html.render(context))
