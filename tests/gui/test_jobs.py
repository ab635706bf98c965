"""The job runner: engines on a worker thread, previews on the GUI thread, clean cancel."""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QTimer

from app.gui.jobs import JobRunner
from engines.remove.patchmatch import PatchMatchEngine
from engines.remove.request import RemoveRequest
from tests.unit.conftest import noise_texture, periodic_texture


def remove_job(image: np.ndarray, mask: np.ndarray):
    request = RemoveRequest(image, mask)
    return lambda report, token: PatchMatchEngine().run(request, report, token)


def square_mask(h: int, w: int, frac: float) -> np.ndarray:
    mask = np.zeros((h, w), bool)
    side = int((frac * h * w) ** 0.5)
    mask[h // 2 - side // 2 : h // 2 + side // 2, w // 3 : w // 3 + side] = True
    return mask


def test_previews_reach_the_gui_thread_before_the_result(qtbot):
    image = noise_texture(700, 900, seed=2, tint=(0.4, 0.5, 0.3))
    mask = square_mask(700, 900, 0.06)
    runner = JobRunner()
    events: list[str] = []
    runner.preview.connect(lambda img, box: events.append("preview"))
    runner.progress.connect(lambda step, total, msg, eta: events.append("progress"))
    runner.finished.connect(lambda result: events.append("finished"))
    with qtbot.waitSignal(runner.finished, timeout=30_000) as done:
        assert runner.start(remove_job(image, mask))
    result = done.args[0]
    assert events[-1] == "finished"
    assert events.count("preview") >= 2  # previews while it ran, not just the final image
    assert np.array_equal(result.image[~mask], image[~mask])
    assert not runner.busy


def test_only_one_job_at_a_time(qtbot):
    image = noise_texture(600, 800, seed=3, tint=(0.5, 0.5, 0.5))
    mask = square_mask(600, 800, 0.08)
    runner = JobRunner()
    busy: list[bool] = []
    runner.busy_changed.connect(busy.append)
    with qtbot.waitSignal(runner.finished, timeout=30_000):
        assert runner.start(remove_job(image, mask))
        assert not runner.start(remove_job(image, mask))
    assert busy == [True, False]


def test_cancel_ends_the_job_without_a_result(qtbot):
    image = noise_texture(1200, 1600, seed=4, tint=(0.5, 0.4, 0.4))
    original = image.copy()
    mask = square_mask(1200, 1600, 0.08)
    runner = JobRunner()
    results: list[object] = []
    runner.finished.connect(results.append)
    runner.progress.connect(lambda *args: runner.cancel())
    with qtbot.waitSignal(runner.cancelled, timeout=10_000):
        runner.start(remove_job(image, mask))
    assert results == [] and not runner.busy
    assert np.array_equal(image, original)


def test_engine_errors_become_a_sentence_for_the_user(qtbot):
    image = periodic_texture(64, 64)
    runner = JobRunner()
    with qtbot.waitSignal(runner.failed, timeout=10_000) as failed:
        runner.start(remove_job(image, np.zeros((64, 64), bool)))
    message, _detail = failed.args
    assert "mask is empty" in message


def test_unexpected_errors_keep_their_traceback_as_detail(qtbot):
    def broken(report, token):
        raise ValueError("bad shape")

    runner = JobRunner()
    with qtbot.waitSignal(runner.failed, timeout=5_000) as failed:
        runner.start(broken)
    message, detail = failed.args
    assert "bad shape" in message and "Traceback" in detail


def test_gui_thread_stays_responsive_during_a_4mp_fill(qtbot):
    image = noise_texture(1732, 2309, seed=5, tint=(0.45, 0.5, 0.35))  # 4 MP
    mask = square_mask(1732, 2309, 0.04)
    runner = JobRunner()
    ticks: list[float] = []
    probe = QTimer()
    probe.setInterval(10)
    probe.timeout.connect(lambda: ticks.append(time.perf_counter()))
    probe.start()
    with qtbot.waitSignal(runner.finished, timeout=60_000):
        runner.start(remove_job(image, mask))
    probe.stop()
    gaps = np.diff(ticks)
    assert len(ticks) > 20
    assert gaps.max() < 0.1, f"the GUI thread froze for {gaps.max() * 1000:.0f} ms"
    print(f"longest GUI-thread gap during the fill: {gaps.max() * 1000:.0f} ms")


def test_time_left_of_a_resumed_run_follows_its_own_pace(qtbot):
    """A training run resumed at 85 % must not promise the end in a blink."""
    from engines.base import Progress

    def resumed(report, token):
        for step in range(850, 1001, 10):  # 100 steps a second from where it resumed
            report(Progress(step, 1000, f"step {step}"))
            time.sleep(0.1)
        return "done"

    runner = JobRunner()
    seen: list[tuple[int, float]] = []
    runner.progress.connect(lambda step, total, msg, eta: seen.append((step, eta)))
    with qtbot.waitSignal(runner.finished, timeout=30_000):
        assert runner.start(resumed)
    late = [(step, eta) for step, eta in seen if 900 <= step <= 950 and eta >= 0]
    assert late, f"no time left was given between 90 % and 95 %: {seen}"
    for step, eta in late:
        left = (1000 - step) / 100  # seconds at the run's own pace
        assert 0.5 * left <= eta <= 2.0 * left, (step, eta)
