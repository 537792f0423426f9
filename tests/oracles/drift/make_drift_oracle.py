#!/usr/bin/env python3
"""Drift-metric oracle for MLOps.Monitoring, computed with numpy and scipy (Debian python3-numpy, python3-scipy 1.10).

Regenerate (from the repository root; Debian's packages install into /usr/bin/python3 -- a pyenv or venv python3 may
not see them):

    /usr/bin/python3 tests/oracles/drift/make_drift_oracle.py samples/QuickStart/data/flights-20k.json tests/oracles/drift/drift_oracle.json

Inputs: the 20k real flights of the QuickStart (delay, distance, origin) plus small synthetic cases, seeded (SEED).
Output: one JSON file {"numeric": [...], "categorical": [...]}; every case holds its inputs and the expected values.
NaN (an input's missing value, or an undefined metric) is written as null.

Numeric case: reference histogram = numpy.histogram(reference without NaN, bins) (edges from numpy.histogram_bin_edges;
a constant feature gets [v - 0.5, v + 0.5]); current counts = [values < first edge, numpy.histogram of the values inside
[first, last edge], values > last edge]; p, q = counts / total.
  tvd = sum|p - q| / 2; hellinger = sqrt(max(1 - sum sqrt(p q), 0));
  kl = KL(p||q) + KL(q||p), KL(a||b) = sum over a > 0 of a ln(a / (b if b > 0 else 1e-4))  (MLRun's histogram_distance);
  psi = sum (q' - p') ln(q' / p'), zeros replaced with 1e-4 on both sides (Evidently's);
  js = scipy.spatial.distance.jensenshannon(p, q) (natural log);
  ks = scipy.stats.ks_2samp(reference, current) (method 'auto'); the reference sample is the whole reference here;
  wasserstein = scipy.stats.wasserstein_distance(reference, current); wasserstein_norm = wasserstein / numpy.std(reference);
  mw = scipy.stats.mannwhitneyu(reference, current, alternative='two-sided', method='asymptotic', use_continuity=True)
  (tie-corrected variance, continuity correction; mw_statistic is U of the reference).
An empty window (no value that is not NaN) has every metric NaN.
Categorical case: table = [reference counts, current counts] over the sorted union of categories;
  chi2, p, dof = scipy.stats.chi2_contingency(table) (defaults: Yates' correction when dof = 1); distances as above on the
  shares over the same categories.
"""

import json
import math
import sys

import numpy as np
import scipy
from scipy import stats
from scipy.spatial.distance import jensenshannon

SEED = 20261208
ZERO = 1e-4


def nan_to_none(x):
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else x


def listed(values):
    return [nan_to_none(float(v)) for v in values]


def distances(p, q):
    def kl(a, b):
        return float(np.sum(np.where(a != 0, a * np.log(np.where(a != 0, a, 1.0) / np.where(b != 0, b, ZERO)), 0.0)))
    pp, qq = np.where(p == 0, ZERO, p), np.where(q == 0, ZERO, q)
    return {
        "tvd": float(np.sum(np.abs(p - q)) / 2),
        "hellinger": float(np.sqrt(max(1 - np.sum(np.sqrt(p * q)), 0))),
        "kl": kl(p, q) + kl(q, p),
        "psi": float(np.sum((qq - pp) * np.log(qq / pp))),
        "js": float(jensenshannon(p, q)),
    }


def numeric_case(name, reference, current, bins=20):
    reference = np.asarray(reference, dtype=float)
    current = np.asarray(current, dtype=float)
    ref = reference[~np.isnan(reference)]
    cur = current[~np.isnan(current)]
    edges = np.histogram_bin_edges(ref, bins=bins)
    ref_counts = np.concatenate([[0], np.histogram(ref, bins=edges)[0], [0]])
    inside = cur[(cur >= edges[0]) & (cur <= edges[-1])]
    cur_counts = np.concatenate([[np.sum(cur < edges[0])], np.histogram(inside, bins=edges)[0], [np.sum(cur > edges[-1])]])
    expected = {"edges": listed(edges), "reference_counts": [int(c) for c in ref_counts],
                "current_counts": [int(c) for c in cur_counts], "count": int(cur.size),
                "missing": int(current.size - cur.size), "std": float(np.std(ref))}
    if cur.size == 0:
        expected.update({k: None for k in ["tvd", "hellinger", "kl", "psi", "js", "ks_statistic", "ks_pvalue",
                                          "wasserstein", "wasserstein_norm", "mw_statistic", "mw_pvalue"]})
    else:
        p = ref_counts / ref_counts.sum()
        q = cur_counts / cur_counts.sum()
        expected.update(distances(p, q))
        ks = stats.ks_2samp(ref, cur)
        w = float(stats.wasserstein_distance(ref, cur))
        std = float(np.std(ref))
        mw = stats.mannwhitneyu(ref, cur, alternative="two-sided", method="asymptotic", use_continuity=True)
        expected.update({"ks_statistic": float(ks.statistic), "ks_pvalue": float(ks.pvalue),
                         "ks_exact": bool(max(ref.size, cur.size) <= 10000), "wasserstein": w,
                         "wasserstein_norm": (w / std) if std > 0 else (0.0 if w == 0 else float("inf")),
                         "mw_statistic": float(mw.statistic), "mw_pvalue": float(mw.pvalue)})
    return {"name": name, "bins": bins, "reference": listed(reference), "current": listed(current), "expected": expected}


def categorical_case(name, reference, current):
    cats = sorted(set(c for c in reference if c is not None) | set(c for c in current if c is not None))
    r = np.array([sum(1 for x in reference if x == c) for c in cats], dtype=float)
    k = np.array([sum(1 for x in current if x == c) for c in cats], dtype=float)
    expected = {"categories": cats, "count": int(k.sum()), "missing": sum(1 for x in current if x is None),
                "unseen": int(sum(k[i] for i in range(len(cats)) if r[i] == 0))}
    if k.sum() == 0:
        expected.update({m: None for m in ["tvd", "hellinger", "kl", "psi", "js", "chi2", "chi2_pvalue"]})
        expected["dof"] = len(cats) - 1
    else:
        expected.update(distances(r / r.sum(), k / k.sum()))
        chi2, pvalue, dof, _ = stats.chi2_contingency(np.array([r, k]))
        expected.update({"chi2": float(chi2), "chi2_pvalue": float(pvalue), "dof": int(dof)})
    return {"name": name, "reference": reference, "current": current, "expected": expected}


def main(flights_path, out_path):
    with open(flights_path) as f:
        flights = json.load(f)
    delay = [float(x["delay"]) for x in flights]
    distance = [float(x["distance"]) for x in flights]
    origin = [x["origin"] for x in flights]
    rng = np.random.default_rng(SEED)

    numeric = [
        numeric_case("flights_delay_exact", delay[:5000], delay[5000:8000]),
        numeric_case("flights_distance_x1.5_exact", distance[:5000], [d * 1.5 for d in distance[8000:10000]]),
        numeric_case("flights_delay_equal_sizes", delay[:300], delay[300:600]),
        # windows of 100 real delays (many ties) against 10,000: the size at which the default detector runs Mann-Whitney
        *[numeric_case(f"flights_delay_window_100_{k}", delay[:10000], delay[10000 + 100 * k:10100 + 100 * k]) for k in range(4)],
        numeric_case("flights_delay_window_100_plus5", delay[:10000], [d + 5 for d in delay[14000:14100]]),
        numeric_case("flights_delay_asymptotic", delay[:12000], delay[12000:20000]),
        numeric_case("flights_delay_plus60_asymptotic", delay[:12000], [d + 60 for d in delay[12000:20000]]),
        numeric_case("flights_distance_asymptotic_small_window", distance[:12000], distance[15000:15050]),
        numeric_case("flights_distance_asymptotic_mid_window", distance[:11000], distance[12000:12400]),
        numeric_case("flights_distance_x1.1_asymptotic", distance[:12000], [d * 1.1 for d in distance[12000:20000]]),
        numeric_case("flights_distance_x1.3_asymptotic_small_window", distance[:12000], [d * 1.3 for d in distance[16000:16060]]),
        numeric_case("empty_window", delay[:1000], []),
        numeric_case("all_nan_window", delay[:1000], [float("nan")] * 5),
        numeric_case("constant_feature", [5.0] * 50, [5.0] * 10 + [4.8, 5.2, 5.6, 4.4, 7.0]),
        numeric_case("nans", [float("nan") if i % 7 == 0 else v for i, v in enumerate(delay[:400])],
                     [float("nan") if i % 5 == 0 else v for i, v in enumerate(delay[400:700])]),
        numeric_case("single_value", delay[:1000], [123.0]),
        numeric_case("ties", [float(x) for x in rng.integers(0, 6, 200)], [float(x) for x in rng.integers(0, 7, 150)]),
        numeric_case("small_samples", [1.5, 2.0, 2.0, 3.25, 4.0, 7.5, 9.0], [2.0, 5.0, 6.5, 8.0, 10.0]),
        numeric_case("values_on_edges_and_outside", [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0],
                     [-1.0, 0.0, 0.5, 5.0, 9.999, 10.0, 10.0, 11.0], bins=10),
        numeric_case("five_bins", distance[:2000], distance[2000:2600], bins=5),
    ]
    shifted = origin[12000:14000]
    categorical = [
        categorical_case("flights_origin", origin[:5000], origin[5000:7000]),
        categorical_case("flights_origin_unseen", origin[:5000], ["ZZZ" if i % 20 == 0 else o for i, o in enumerate(shifted)]),
        categorical_case("flights_origin_moved", origin[:5000], ["ORD" if i % 10 == 0 else o for i, o in enumerate(shifted)]),
        categorical_case("two_categories_yates", ["a"] * 30 + ["b"] * 70, ["a"] * 20 + ["b"] * 25 + [None] * 3),
        categorical_case("single_category", ["a"] * 10, ["a"] * 4),
        categorical_case("empty_window", ["a", "b", "b"], [None, None]),
    ]
    with open(out_path, "w") as f:
        json.dump({"generator": "make_drift_oracle.py", "scipy": scipy.__version__, "numpy": np.__version__, "seed": SEED,
                   "numeric": numeric, "categorical": categorical}, f, allow_nan=True)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
