"""Where a system's worker spends its time: py-spy over one drain, summarised as text.

    python -m bench.profile notifier --count 3000 --latency 0 --concurrency 16
writes bench/profiles/<system>-<latency>ms.txt: the functions with the most samples,
inclusive ("in it or below") and self ("in it"), from every worker process.
"""
import argparse
import collections
import subprocess
import sys
from pathlib import Path

from bench import harness, sending

PROFILES = harness.ROOT / "bench" / "profiles"


def summarise(raw: Path, top: int = 40) -> str:
    inclusive, own, total = collections.Counter(), collections.Counter(), 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        count = int(count)
        frames = [f.split(" (")[0] + " (" + f.split(" (")[-1].split(":")[0].rsplit("/", 1)[-1]
                  + ")" if " (" in f else f for f in stack.split(";")]
        if any("idle" in f or f.startswith("wait ") or "select (selectors" in f
               for f in frames[-1:]):
            pass
        total += count
        for frame in set(frames):
            inclusive[frame] += count
        own[frames[-1]] += count
    lines = [f"samples: {total}", "", "inclusive %  function (file)"]
    lines += [f"{100 * n / total:10.1f}  {f}" for f, n in inclusive.most_common(top)]
    lines += ["", "self %  function (file)"]
    lines += [f"{100 * n / total:6.1f}  {f}" for f, n in own.most_common(top)]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("system", choices=sending.SYSTEMS)
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--gevent", action="store_true")
    args = parser.parse_args()
    PROFILES.mkdir(parents=True, exist_ok=True)
    raw = harness.RESULTS / f"{args.system}.raw"
    raw.unlink(missing_ok=True)
    harness.RESULTS.mkdir(parents=True, exist_ok=True)
    spies = []

    def attach(workers):
        spies.extend(subprocess.Popen(
            [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(w.pid),
             "--subprocesses", "--nonblocking", "--format", "raw", "--rate", "200",
             "-o", str(raw.parent / f"{raw.name}.{w.pid}"), "--duration", "600"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for w in workers)
    results = harness.Results({})
    sending.bench(results, count=args.count, repetitions=1,
                  latencies={args.latency: args.concurrency}, systems=(args.system,),
                  gevent=args.gevent, on_ready=attach)
    for spy in spies:
        spy.wait(60)
    with raw.open("w") as merged:
        for part in raw.parent.glob(raw.name + ".*"):
            merged.write(part.read_text())
            part.unlink()
    out = PROFILES / f"{args.system}-{int(args.latency * 1000)}ms.txt"
    out.write_text(f"# {args.system}, {args.count} messages, latency {args.latency}s, "
                   f"concurrency {args.concurrency}, gevent={args.gevent}\n"
                   f"# {results.table().splitlines()[2]}\n" + summarise(raw))
    print(out.read_text()[:6000])


if __name__ == "__main__":
    main()
