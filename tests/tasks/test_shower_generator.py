"""The shower-generator base's own arithmetic (its verbs run through the calogan task: tests/tasks/test_calogan.py)."""

from __future__ import annotations

import numpy as np

from nnlab.tasks.shower_generator import _two_figures


def test_the_training_range_rounds_outward_to_two_significant_figures():
    assert [_two_figures(v, np.floor) for v in (1.004, 1.23, 0.01234, 20.0)] == [1.0, 1.2, 0.012, 20.0]
    assert [_two_figures(v, np.ceil) for v in (99.98, 100.0, 2.01, 0.01234)] == [100.0, 100.0, 2.1, 0.013]
