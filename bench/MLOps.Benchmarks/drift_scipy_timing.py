#!/usr/bin/env python3
"""Times numpy/scipy on the drift benchmark's sizes, beside DriftBenchmarks / DriftSampleTestBenchmarks (same shapes, not the
same random numbers): 50 features, a 100,000-row reference and a 1,000,000-row window per feature, a 10,000-value reference
sample. Prints the best of 3 rounds for (a) one pass (sum of each column), (b) the histogram metrics as MLRun computes them
(numpy.histogram on the reference edges plus the open edge bins, TVD, Hellinger, KL, PSI, Jensen-Shannon), (c) ks_2samp +
wasserstein_distance against the sample.

    /usr/bin/python3 bench/MLOps.Benchmarks/drift_scipy_timing.py
"""
import time

import numpy as np
from scipy import stats
from scipy.spatial.distance import jensenshannon

FEATURES, REF_ROWS, CUR_ROWS, SAMPLE = 50, 100_000, 1_000_000, 10_000
rng = np.random.default_rng(20261208)


def column(rows, f, shift):
    n = rng.standard_normal(rows) + shift
    v = [n * 40 + 5, np.exp(6.5 + 0.6 * n), np.round(n * 3 + 10)][f % 3]
    v[rng.integers(0, 100, rows) == 0] = np.nan
    return v


refs = [column(REF_ROWS, f, 0) for f in range(FEATURES)]
curs = [column(CUR_ROWS, f, 0.1) for f in range(FEATURES)]
samples = [np.sort(rng.choice(r[~np.isnan(r)], SAMPLE, replace=False)) for r in refs]
ref_hist = []
for r in refs:
    r = r[~np.isnan(r)]
    edges = np.histogram_bin_edges(r, 20)
    counts = np.concatenate([[0], np.histogram(r, edges)[0], [0]])
    ref_hist.append((edges, counts / counts.sum()))


def one_pass():
    return sum(float(np.sum(c)) for c in curs)


def histogram_metrics():
    total = 0.0
    for (edges, p), c in zip(ref_hist, curs):
        c = c[~np.isnan(c)]
        inner = np.histogram(c[(c >= edges[0]) & (c <= edges[-1])], edges)[0]
        counts = np.concatenate([[np.sum(c < edges[0])], inner, [np.sum(c > edges[-1])]])
        q = counts / counts.sum()
        pp, qq = np.where(p == 0, 1e-4, p), np.where(q == 0, 1e-4, q)
        tvd = np.sum(np.abs(p - q)) / 2
        hel = np.sqrt(max(1 - np.sum(np.sqrt(p * q)), 0))
        kl = np.sum(np.where(p != 0, p * np.log(pp / qq), 0)) + np.sum(np.where(q != 0, q * np.log(qq / pp), 0))
        psi = np.sum((qq - pp) * np.log(qq / pp))
        js = jensenshannon(p, q)
        total += tvd + hel + kl + psi + js
    return total


def sample_tests():
    total = 0.0
    for s, c in zip(samples, curs):
        c = c[~np.isnan(c)]
        total += stats.ks_2samp(s, c).pvalue + stats.wasserstein_distance(s, c)
    return total


for name, fn in [("one pass (sum of each column)", one_pass), ("histogram metrics", histogram_metrics),
                 ("KS + Wasserstein", sample_tests)]:
    best = min((lambda t0: (fn(), time.perf_counter() - t0)[1])(time.perf_counter()) for _ in range(3))
    print(f"{name:32s} {best * 1000:10.1f} ms")
