"""The single-frame benchmark's covariance-gate curve (benchmarks.refine.gate_curve): what a
translation 1-sigma gate passes, on top of the contrast gate, and what it refuses."""

import numpy as np

from benchmarks.refine import gate_curve


def test_gate_curve_counts_what_passes_and_what_it_refuses():
    sd_t = np.array([0.03, 0.045, 0.05, 0.07, 0.09])
    accepted = np.array([True, True, True, True, False])  # the contrast gate refused the last
    ok = np.array([True, True, False, True, True])
    (g1, n1, s1, r1), (g2, n2, s2, r2), (g3, n3, s3, r3) = gate_curve(
        sd_t, accepted, ok, (0.04, 0.05, 0.2)
    )
    assert (g1, n1, s1, r1) == (0.04, 1, 1.0, 3)  # only 3 cm passes; 4.5, 7 and 9 cm refused
    assert (g2, n2, r2) == (0.05, 3, 2) and np.isclose(s2, 2 / 3)  # the gate is inclusive
    assert (g3, n3, r3) == (0.2, 4, 1) and np.isclose(s3, 3 / 4)  # contrast refused one good


def test_gate_curve_with_nothing_passing_has_no_share():
    one = np.array([True])
    ((_, n, share, refused),) = gate_curve(np.array([0.1]), one, one, (0.01,))
    assert n == 0 and np.isnan(share) and refused == 1
