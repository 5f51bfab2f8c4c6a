"""Training logs: CSV files always, TensorBoard event files when ``tensorboard`` is installed.

``RunLog(out)`` appends ``<name>.csv`` rows (a header on first write; a resumed run keeps
appending) and mirrors every scalar as ``<name>/<key>`` and every image to a
``SummaryWriter(out / "tb")``. TensorBoard is optional (``pip install tensorboard``): without it
the CSVs and PNG curves are the record, and ``tensorboard_active`` says so.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

__all__ = ["RunLog"]


class RunLog:
    def __init__(self, out: Path, tensorboard: bool = True) -> None:
        self.out = Path(out)
        self.writer = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:  # torch's writer needs the tensorboard package
                SummaryWriter = None
            if SummaryWriter is not None:
                self.writer = SummaryWriter(str(self.out / "tb"))

    @property
    def tensorboard_active(self) -> bool:
        return self.writer is not None

    def scalars(self, name: str, step: int, numbers: dict) -> None:
        """One CSV row of ``numbers`` in ``<name>.csv`` and one TensorBoard scalar each."""
        path = self.out / f"{name}.csv"
        new = not path.exists()
        with open(path, "a", newline="") as fh:
            w = csv.writer(fh)
            if new:
                w.writerow(["step", *numbers])
            w.writerow([step, *(f"{v:.6g}" for v in numbers.values())])
        if self.writer is not None:
            for key, value in numbers.items():
                self.writer.add_scalar(f"{name}/{key}", value, step)

    def image(self, tag: str, step: int, rgb: np.ndarray) -> None:
        """An (H, W, 3) uint8 picture (TensorBoard only; PNGs are written by the caller)."""
        if self.writer is not None:
            self.writer.add_image(tag, rgb, step, dataformats="HWC")

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
