"""Progress bars on stderr (tqdm), shown only when stderr is a terminal."""
from __future__ import annotations

import contextlib


class _BuildBars:
    """A ProgressReporter (``netdsl.tensorrt.progress``) drawing one tqdm bar per open build phase, nested."""

    def __init__(self, stream):
        self.stream = stream
        self.bars: dict[str, object] = {}

    def phase_start(self, name, parent, num_steps):
        from tqdm import tqdm
        self.bars[name] = tqdm(total=max(num_steps, 1), desc=name, position=len(self.bars), leave=False,
                               file=self.stream, unit="step", dynamic_ncols=True)

    def step(self, name, step):
        bar = self.bars.get(name)
        if bar is not None:
            bar.n = min(step + 1, bar.total)
            bar.refresh()

    def phase_finish(self, name):
        bar = self.bars.pop(name, None)
        if bar is not None:
            bar.close()

    def close(self):
        for bar in self.bars.values():
            bar.close()
        self.bars.clear()


@contextlib.contextmanager
def build_progress(stream):
    """Yield a build ProgressReporter drawing on ``stream`` if it is a terminal, else None."""
    if not (hasattr(stream, "isatty") and stream.isatty()):
        yield None
        return
    bars = _BuildBars(stream)
    try:
        yield bars
    finally:
        bars.close()


def iterate(items, stream, what: str, threshold: int = 3):
    """``items`` wrapped in a tqdm bar on ``stream`` when there are more than ``threshold`` and it is a terminal."""
    items = list(items)
    if len(items) <= threshold or not (hasattr(stream, "isatty") and stream.isatty()):
        return items
    from tqdm import tqdm
    return tqdm(items, desc=what, file=stream, unit=what.split()[-1] if what else "it", leave=False)


class ItemProgress:
    """Progress over ``total`` items (e.g. images) on ``stream``, and printing that does not break the bar.

    A tqdm bar is drawn only when there are more than ``threshold`` items and
    ``stream`` is a terminal; otherwise :meth:`advance` does nothing and
    :meth:`echo` is a plain ``print``. Use as a context manager (closes the bar).
    """

    def __init__(self, total: int, stream, what: str, threshold: int = 3):
        self.bar = None
        if total > threshold and hasattr(stream, "isatty") and stream.isatty():
            from tqdm import tqdm
            self.bar = tqdm(total=total, desc=what, file=stream, unit=what.split()[-1] if what else "it",
                            leave=False, dynamic_ncols=True)

    def advance(self, n: int = 1) -> None:
        if self.bar is not None:
            self.bar.update(n)
            if self.bar.n >= self.bar.total:
                self.bar.refresh()  # tqdm throttles redraws: always show the finished count

    def echo(self, text: str, file) -> None:
        """Print ``text`` (one or more lines) to ``file``, clearing and redrawing the bar around it."""
        if self.bar is None:
            print(text, file=file)
        else:
            self.bar.write(text, file=file)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
