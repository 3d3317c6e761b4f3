"""The worker mesh: Dramatiq actors, channels and the appointment update path."""
