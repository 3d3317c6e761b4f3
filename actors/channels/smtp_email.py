"""E-mail through any SMTP server with the standard library."""
import smtplib
from email.message import EmailMessage
from email.utils import make_msgid

from actors.channels.errors import PermanentError, RetryableError
from actors.links import unsubscribe_headers


class SmtpEmail:
    provider = "smtp"

    def __init__(self, *, host, port, sender, username=None, password=None,
                 starttls=False, timeout=10.0):
        self.host, self.port, self.sender = host, port, sender
        self.username, self.password = username, password
        self.starttls, self.timeout = starttls, timeout

    def send_email(self, to: str, subject: str, text: str, html: str, *,
                   notification_id: int | None = None) -> str:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        message_id = make_msgid(domain=self.sender.rpartition("@")[2] or None)
        message["Message-ID"] = message_id
        for name, value in unsubscribe_headers(notification_id).items():  # RFC 8058
            message[name] = value
        message.set_content(text)
        message.add_alternative(html, subtype="html")
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            code = next(iter(error.recipients.values()))[0]
            raise _by_reply(code, "recipient refused") from None
        except smtplib.SMTPResponseException as error:
            raise _by_reply(error.smtp_code, "refused by the SMTP server") from None
        except (TimeoutError, smtplib.SMTPException, OSError) as error:
            raise RetryableError(type(error).__name__, "could not reach the SMTP server") from None
        return message_id


def _by_reply(code: int, reason: str) -> Exception:
    # 4xx replies are transient by definition (RFC 5321 4.2.1); 5xx are final.
    error_class = RetryableError if 400 <= code < 500 else PermanentError
    return error_class(str(code), reason)
