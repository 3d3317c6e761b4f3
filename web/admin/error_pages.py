"""Friendly 403 and 404 pages inside the admin's layout for people in the admin; the API
keeps its own answers (JSON for machines), so only /admin paths are handled here."""
from flask import request

MESSAGES = {
    403: ("Not for this account",
          ("Your account may not open this page. If you need it, ask an administrator to "
          "change your role or clinics.")),
    404: ("Not found",
          "There is nothing here: the link may be old, or the record belongs to another clinic."),
}


def init_app(app, admin) -> None:
    def handler(error):
        if not request.path.startswith("/admin"):
            return error
        title, message = MESSAGES[error.code]
        # Rendered by the index view: the admin's layout and the menu the account may see.
        return admin.index_view.render("admin/error.html", code=error.code, title=title,
                                       message=message), error.code

    for code in MESSAGES:
        app.register_error_handler(code, handler)
