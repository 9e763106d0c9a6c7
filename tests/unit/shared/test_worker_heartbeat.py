"""Worker liveness reflects progress: the stop flag beats when the loop looks at it."""
import socket
import threading
import time

from shared.metrics import Metrics, serve_metrics
from shared.worker import HEARTBEAT, Heartbeat, alive, last_heartbeat, main


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def beat_of(metrics):
    return metrics.registry.get_sample_value(f"jalin_{HEARTBEAT}", {"worker": "w"})


def test_looking_at_the_flag_beats_and_a_long_wait_beats_in_slices():
    metrics = Metrics()
    stop = Heartbeat(metrics, "w")
    stop._gauge.set(0)
    assert not stop.is_set()
    assert beat_of(metrics) > time.time() - 5
    stop.SLICE = 0.05
    stop._gauge.set(0)
    beats = []
    watcher = threading.Thread(target=lambda: [beats.append(beat_of(metrics)) or time.sleep(0.05) for _ in range(6)])
    watcher.start()
    assert stop.wait(0.3) is False
    watcher.join()
    assert len({b for b in beats if b}) >= 2  # several beats during one wait
    threading.Timer(0.05, stop.set).start()
    assert stop.wait(10) is True


def test_the_probe_fails_when_the_loop_stops_going_round():
    metrics = Metrics()
    stop = Heartbeat(metrics, "w")
    port = free_port()
    server = serve_metrics(metrics, port)
    try:
        assert alive(port, max_age=60) is None
        assert main(["alive", "--port", str(port), "--max-age", "60"]) == 0
        stop._gauge.set(time.time() - 600)  # nothing looked at the flag for ten minutes
        assert "no progress" in alive(port, max_age=60)
        assert main(["alive", "--port", str(port), "--max-age", "60"]) == 1
    finally:
        server.shutdown()
    assert "not reachable" in alive(port, max_age=60)


def test_last_heartbeat_reads_the_exposition():
    text = f'# HELP x\njalin_{HEARTBEAT}{{worker="a"}} 1.7e+09\njalin_{HEARTBEAT}{{worker="b"}} 1.8e+09\n'
    assert last_heartbeat(text) == 1.8e9
    assert last_heartbeat("jalin_other 1\n") is None
