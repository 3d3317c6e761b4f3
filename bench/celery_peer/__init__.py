"""A minimal Celery 5 implementation of the same send (its own venv: requirements.txt)."""
