"""`jalin replay` progress: a bar on a terminal, plain lines with rate and ETA in a log."""
import io

from services.evaluation.rebuild import Progress


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_a_terminal_gets_a_bar_with_the_phase_and_the_count():
    out = Terminal()
    progress = Progress(stream=out)
    progress.update(500, 1000, "catch-up")
    progress.update(1000, 1000, "refresh", force=True)
    progress.close()
    text = out.getvalue()
    assert "refresh: 100%" in text and "1.00k/1.00k" in text and text.endswith("\n")


def test_a_log_gets_lines_with_rate_and_eta_at_most_every_interval():
    out = io.StringIO()
    progress = Progress(stream=out, every=3600)
    progress.update(1, 10, "catch-up", force=True)
    progress.update(2, 10, "catch-up")  # within the interval: nothing
    progress.update(10, 10, "done", force=True)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and lines[0].startswith("catch-up: 1/10 events") and "events/s, ETA" in lines[0]
