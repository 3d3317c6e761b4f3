"""Telling on-call: checks that raise conditions, and throttled e-mails about them.

Importing this package declares its actors (the minute tick on "default", the alert
e-mail on "priority").
"""
from actors.alerts import checks, mail  # noqa: F401
