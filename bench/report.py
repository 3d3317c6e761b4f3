"""A results file as the Markdown table README's Performance section holds.

    python -m bench.report [bench/results/bench-....json]     (default: the newest)
"""
import json
import sys
from pathlib import Path

from bench.harness import RESULTS, _fmt


def markdown(path) -> str:
    data = json.loads(path.read_text())
    m = data["machine"]
    described = (f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, {m['os']}, "
                 f"Python {m['python']}, PostgreSQL {m['postgresql']}, RabbitMQ "
                 f"{m['rabbitmq']}; {m['when']}, scale `{data['scale']['name']}`.")
    lines = [described, "",
             "| figure | median | min–max | unit | goal |", "| --- | --- | --- | --- | --- |"]
    for f in data["figures"]:
        lines.append(f"| {f['name']} | {_fmt(f['median'])} | {_fmt(f['min'])}–{_fmt(f['max'])}"
                     f" | {f['unit']} | {f['goal']} |")
    lines += [""] + [f"- {note}" for note in data["notes"]]
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown(Path(sys.argv[1]) if len(sys.argv) > 1 else max(RESULTS.glob("bench-*.json"))))
