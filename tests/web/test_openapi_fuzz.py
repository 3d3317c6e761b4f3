"""Property-based fuzzing of the API from its own OpenAPI document (schemathesis), against
the real app on PostgreSQL, every request signed (tests.web.fuzz_hooks), every check on:
no server error, no answer the document does not allow, no valid request refused, no
invalid one accepted. FUZZ_EXAMPLES sets the cases per operation and mode (make fuzz runs
more); the counts are printed per outcome."""
import collections
import os

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import CHECKS, load_all_checks

from tests.web import fuzz_hooks  # noqa: F401  (signs every request; the e164 format)

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))
load_all_checks()
ALL_CHECKS = [check for check in CHECKS.get_all() if callable(check)]
MODES = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)


def _fuzz(operation, mode, outcomes: collections.Counter) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              derandomize=not os.environ.get("FUZZ_RANDOM"),
              suppress_health_check=list(HealthCheck))
    def run(case):
        response = case.call_and_validate(checks=ALL_CHECKS)
        outcomes[f"{mode.value} {response.status_code}"] += 1

    run()


def test_the_api_keeps_its_documented_promises(app, capsys):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    outcomes = collections.Counter()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations
    for operation in operations:
        for mode in MODES:
            _fuzz(operation, mode, outcomes)
    assert len(ALL_CHECKS) >= 10
    with capsys.disabled():
        print(f"\nschemathesis: {sum(outcomes.values())} cases over {len(operations)} "
              f"operation(s), {len(ALL_CHECKS)} checks: {dict(sorted(outcomes.items()))}")
