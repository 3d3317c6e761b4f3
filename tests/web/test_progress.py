"""Progress of long CLI work: plain lines when stderr is not a terminal, a bar when it is."""
import io

from web.progress import progress


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_plain_lines_count_up_to_the_total_and_say_when_done():
    out = io.StringIO()
    with progress("report delivery", total=3, unit="days", stream=out, min_interval=0) as step:
        for day in ("2026-01-01", "2026-01-02", "2026-01-03"):
            step(note=day)
    lines = out.getvalue().splitlines()
    assert lines[:3] == ["report delivery: 1/3 days (2026-01-01)",
                         "report delivery: 2/3 days (2026-01-02)",
                         "report delivery: 3/3 days (2026-01-03)"]
    assert lines[3].startswith("report delivery: done, 3/3 days (2026-01-03) in ")
    assert len(lines) == 4


def test_plain_lines_are_throttled_and_a_count_without_total_is_plain():
    out = io.StringIO()
    with progress("etl pull", unit="pages", stream=out, min_interval=3600) as step:
        for page in range(1, 101):
            step(note=f"{page * 100} records")
    lines = out.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("etl pull: done, 100 pages (10000 records)")


def test_a_terminal_gets_a_bar_instead():
    out = Terminal()
    with progress("dead-letter replay", total=2, unit="letters", stream=out) as step:
        step()
        step()
    text = out.getvalue()
    assert "dead-letter replay" in text and "2/2" in text and "done," not in text
