"""Start-up of the desktop window: from launching the interpreter to a shown, responsive
window, against a bare Qt window started the same way.

Run it from the repository root (a script, not a test; pytest does not collect it)::

    .venv/bin/python tests/benchmarks/startup.py [--runs N]

Each run is a fresh process (``python -c ...``) on Qt's offscreen platform, so that the
imports, the QApplication and the window are all paid for again, as at a real start:

- window: ``transfigure`` with no photo, through ``app.__main__.main([])`` (the command
  line, the platform check, ``app.gui.window.run_window``);
- window + photo: the same with a 12 MP JPEG to open (``transfigure photo.jpg``);
- baseline: a bare ``QApplication`` and an empty ``QMainWindow``.

The time is taken from just before the process is spawned to the first zero-timer the
event loop runs after ``show()`` (``time.perf_counter`` is the system's monotonic clock,
the same in both processes). The child also reports whether torch was imported (the
window must import it lazily: it costs seconds) and its peak resident set
(``VmHWM`` on Linux: ``ru_maxrss`` would report the benchmark's own peak, which a child
inherits across fork and exec). Settings go to a temporary folder, never the user's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TARGET_S = 2.0

# The child creates the QApplication itself, queues a zero-timer and hands over to the
# code under test: run_window() reuses the existing application (QApplication.instance()),
# and the timer fires in the first event-loop round, once the window is shown.
CHILD = r"""
import json, sys, time
variant, settings_dir, photo = sys.argv[1], sys.argv[2], sys.argv[3]
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow
QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, settings_dir)
QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, settings_dir)
app = QApplication(sys.argv[:1])

def report():
    shown = [w for w in app.topLevelWidgets() if isinstance(w, QMainWindow) and w.isVisible()]
    if not shown:  # not yet: wait for the next round
        QTimer.singleShot(0, report)
        return
    now = time.perf_counter()
    rss_mb = None
    try:  # Linux: the high-water mark of this program (ru_maxrss keeps the parent's)
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    rss_mb = int(line.split()[1]) / 1024
    except OSError:
        try:
            import resource
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            rss_mb = rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024
        except ImportError:
            pass
    print("RESULT", json.dumps({"t": now, "torch": "torch" in sys.modules, "rss_mb": rss_mb}),
          flush=True)
    app.exit(0)

QTimer.singleShot(0, report)
if variant == "baseline":
    window = QMainWindow()
    window.show()
    sys.exit(app.exec())
from app.__main__ import main
sys.exit(main([photo] if photo else []))
"""


@dataclass
class Run:
    seconds: float
    torch: bool
    rss_mb: float | None


def one_run(variant: str, photo: str, settings: Path) -> Run:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(settings))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    cmd = [sys.executable, "-c", CHILD, variant, str(settings), photo]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip()[-2000:]
        raise SystemExit(f"{variant}: the child failed (exit {proc.returncode}):\n{tail}")
    result = json.loads(lines[-1][len("RESULT "):])
    return Run(result["t"] - start, result["torch"], result["rss_mb"])


def write_photo(path: Path) -> None:
    """A 4000×3000 JPEG with some structure (noise would compress badly, flat too well)."""
    import numpy as np
    from PIL import Image

    y, x = np.mgrid[0:3000, 0:4000]
    rgb = np.stack([(x // 7) % 256, (y // 5) % 256, ((x + y) // 11) % 256], axis=-1)
    Image.fromarray(rgb.astype(np.uint8)).save(path, quality=90)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per variant (median)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="transfigure-startup-") as tmp:
        photo = Path(tmp) / "photo-12mp.jpg"
        write_photo(photo)
        variants = {"baseline: bare QApplication + empty QMainWindow": ("baseline", ""),
                    "window (transfigure)": ("window", ""),
                    "window + 12 MP JPEG (transfigure photo.jpg)": ("window", str(photo))}
        runs: dict[str, list[Run]] = {name: [] for name in variants}
        first: dict[str, Run] = {}
        for i in range(args.runs + 1):  # the first round warms the disk cache; shown apart
            for n, (name, (variant, path)) in enumerate(variants.items()):
                settings = Path(tmp) / f"settings-{n}-{i}"  # each run starts without settings
                settings.mkdir()
                run = one_run(variant, path, settings)
                if i == 0:
                    first[name] = run
                else:
                    runs[name].append(run)

    print("# Start-up to an interactive window (QT_QPA_PLATFORM=offscreen)\n")
    print(f"python {platform.python_version()}, {platform.system()} {platform.machine()}, "
          f"{os.cpu_count()} CPU cores; median of {args.runs} fresh processes after one "
          "warm-up run (shown as 'first run'). Time: process spawn → first event-loop round "
          "after show(); RSS: peak resident set of the child.\n")
    print("| variant | median s | min s | max s | first run s | torch imported | "
          "peak RSS MB |")
    print("| --- | ---: | ---: | ---: | ---: | --- | ---: |")
    for name, rs in runs.items():
        secs = [r.seconds for r in rs]
        rss = [r.rss_mb for r in rs if r.rss_mb is not None]
        rss_text = f"{statistics.median(rss):.0f}" if rss else "—"
        torch = "yes" if any(r.torch for r in rs) else "no"
        print(f"| {name} | {statistics.median(secs):.3f} | {min(secs):.3f} | "
              f"{max(secs):.3f} | {first[name].seconds:.3f} | {torch} | {rss_text} |")
    baseline, window_only, *_ = runs.values()
    window = statistics.median(r.seconds for r in window_only)
    base = statistics.median(r.seconds for r in baseline)
    torch = any(r.torch for rs in list(runs.values())[1:] for r in rs)
    print(f"\nTarget: window median ≤ {TARGET_S:.1f} s: "
          f"{'PASS' if window <= TARGET_S else 'FAIL'} ({window:.3f} s; "
          f"{window - base:+.3f} s over the bare Qt window).")
    print(f"Target: torch not imported at start-up: {'FAIL' if torch else 'PASS'}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
