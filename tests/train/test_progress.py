"""Progress inside an epoch: lines at every tenth of the steps or every 30 s, a tqdm bar on a terminal, and the
running loss read only when something is printed."""

from __future__ import annotations

import io
import re
from pathlib import Path

from fcc_train.config import load_config
from fcc_train.train.loop import TrainingRun
from fcc_train.train.progress import LINE_SECONDS, BarProgress, LineProgress

REPO = Path(__file__).resolve().parents[2]
STEP_LINE = re.compile(r"^epoch (\d+)/(\d+) step (\d+)/(\d+) \((\d+)%\) loss (\S+) ")


class FakeClock:
    def __init__(self, step: float = 0.0) -> None:
        self.t, self.step = 0.0, step

    def __call__(self) -> float:
        self.t += self.step
        return self.t


class CountingLoss:
    def __init__(self) -> None:
        self.reads = 0

    def __call__(self) -> float:
        self.reads += 1
        return 1.0


def test_lines_mode_prints_every_tenth_of_a_digits_epoch(tmp_path):
    cfg = load_config(
        REPO / "configs/digits/ce.yaml",
        ["optim.epochs=2", "optim.batch_size=8", "train.progress=lines", "train.device=cpu", "train.threads=1"],
    )
    out = io.StringIO()
    run = TrainingRun(cfg, tmp_path / "run", stream=out, log=lambda s: print(s, file=out))
    run.clock = lambda: 0.0  # frozen: only the 10 % rule prints
    try:
        assert run.start()
        steps = run._built().loader.steps_per_epoch
        assert steps == sum(run._built().data.class_counts) // 8 and steps >= 50
        while not run.finished:
            run.queue_epoch()
            run.finish_epoch()
    finally:
        run.close()
    found = [tuple(int(g) for g in m.groups()[:5]) for m in map(STEP_LINE.match, out.getvalue().splitlines()) if m]
    # written out again: after step ceil(j * steps / 10) for j = 1..9 (the epoch's own line covers the last step)
    want_steps = []
    for j in range(1, 10):
        k = -(-j * steps // 10)
        if k not in want_steps and 0 < k < steps:
            want_steps.append(k)
    want = [(e, 2, k, steps, 100 * k // steps) for e in (1, 2) for k in want_steps]
    assert found == want
    assert len(found) == 2 * 9  # 50+ steps: nine distinct tenths per epoch
    epoch_lines = [line for line in out.getvalue().splitlines() if re.match(r"^epoch \d+/2 loss ", line)]
    assert len(epoch_lines) == 2


def test_time_rule_with_a_fake_clock():
    buf = io.StringIO()
    loss = CountingLoss()
    p = LineProgress(buf, 1, 1, 10**6, clock=FakeClock(1.0))  # tenths every 100000 steps: only the clock prints
    for done in range(1, 101):
        p.update(done, loss)
    steps = [int(m.group(3)) for m in map(STEP_LINE.match, buf.getvalue().splitlines()) if m]
    # the clock reads 1 s at construction and one more second per update: 30 s pass at step 30, 60, 90
    assert steps == [k for k in range(1, 101) if k % int(LINE_SECONDS) == 0] == [30, 60, 90]
    assert loss.reads == 3  # the loss (a host sync on a GPU) is read only for the lines printed

    buf2 = io.StringIO()
    p2 = LineProgress(buf2, 1, 1, 10**6, clock=FakeClock(LINE_SECONDS - 1))  # 29 s a step: every second step
    for done in range(1, 9):
        p2.update(done, CountingLoss())
    assert [int(m.group(3)) for m in map(STEP_LINE.match, buf2.getvalue().splitlines()) if m] == [2, 4, 6, 8]


def test_lines_rate_and_eta_follow_the_clock():
    buf = io.StringIO()
    p = LineProgress(buf, 3, 60, 40, clock=FakeClock(0.5))  # 0.5 s per step: 2 steps/s
    for done in range(1, 41):
        p.update(done, lambda: 0.25)
    first = buf.getvalue().splitlines()[0]
    assert first.startswith("epoch 3/60 step 4/40 (10%) loss 0.2500 2.0 steps/s eta 18s"), first
    assert len(buf.getvalue().splitlines()) == 9


def test_tqdm_bar_on_a_terminal_reads_the_loss_once_per_interval():
    class TTY(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = TTY()
    bar = BarProgress(stream, 2, clock=lambda: 0.0)  # frozen clock: the loss is read once per epoch
    for epoch in (1, 2):
        loss = CountingLoss()
        bar.begin_epoch(epoch, 25)
        for done in range(1, 26):
            bar.update(done, loss)
        bar.close()
        bar.end_epoch(epoch, 0.5, 12.5)
        assert loss.reads == 1
    bar.finish()
    text = stream.getvalue()
    assert "epoch 1" in text and "/25" in text and "step/s" in text  # tqdm's step bar with its rate
    assert "epochs: 100%" in text and "2/2" in text and "err 12.50%" in text
