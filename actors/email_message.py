"""One MIME e-mail (plain text and HTML), for the adapters that send raw messages."""
from email.message import EmailMessage
from email.utils import make_msgid


def mime_message(sender: str, to: str, subject: str, text: str, html: str,
                 headers: dict | None = None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message
