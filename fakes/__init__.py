"""Real-protocol stand-ins for the outside world (Twilio, SMTP, the upstream API),
serving tests, benchmarks and the dev mode on 127.0.0.1."""
