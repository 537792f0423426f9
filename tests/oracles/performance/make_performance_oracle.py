#!/usr/bin/env python3
"""Performance-metric oracle for MLOps.Monitoring.Performance, computed with scikit-learn (Debian python3-sklearn 1.2.1,
numpy 1.24).

Regenerate (from the repository root; Debian's packages install into /usr/bin/python3 -- a pyenv or venv python3 may
not see them):

    /usr/bin/python3 tests/oracles/performance/make_performance_oracle.py samples/QuickStart/data/flights-20k.json tests/oracles/performance/performance_oracle.json

Inputs: the real flights of the QuickStart (label: delay > 15 minutes; predictions and scores from simple rules on distance
and hour, which give many tied scores) plus small seeded synthetic cases (SEED), including a single class, no positive
prediction, perfect predictions, probabilities of exactly 0 and 1, constant true values.
Output: one JSON file {"binary": [...], "multiclass": [...], "regression": [...]}; every case holds its inputs and the
expected values; a value scikit-learn refuses (AUC with one class, R2 below two rows) is null.

  binary:     accuracy_score; precision_score, recall_score, f1_score with pos_label=True, zero_division=0;
              roc_auc_score(actual, scores); log_loss(actual, probabilities, labels=[False, True]) (eps 'auto' = float64 eps).
  multiclass: accuracy_score; precision_score, recall_score, f1_score with average='macro', zero_division=0.
  regression: mean_absolute_error; sqrt(mean_squared_error); r2_score.
"""

import json
import math
import sys
from datetime import datetime

import numpy as np
import sklearn
from sklearn import metrics

SEED = 20261208


def binary_case(name, actual, predicted, scores, probabilities):
    actual = [bool(a) for a in actual]
    predicted = [bool(p) for p in predicted]
    both = len(set(actual)) == 2
    return {
        "name": name,
        "actual": actual,
        "predicted": predicted,
        "scores": [float(s) for s in scores],
        "probabilities": [float(p) for p in probabilities],
        "accuracy": float(metrics.accuracy_score(actual, predicted)),
        "precision": float(metrics.precision_score(actual, predicted, pos_label=True, zero_division=0)),
        "recall": float(metrics.recall_score(actual, predicted, pos_label=True, zero_division=0)),
        "f1": float(metrics.f1_score(actual, predicted, pos_label=True, zero_division=0)),
        "roc_auc": float(metrics.roc_auc_score(actual, scores)) if both else None,
        "log_loss": float(metrics.log_loss(actual, probabilities, labels=[False, True])),
    }


def multiclass_case(name, actual, predicted):
    return {
        "name": name,
        "actual": list(actual),
        "predicted": list(predicted),
        "accuracy": float(metrics.accuracy_score(actual, predicted)),
        "precision_macro": float(metrics.precision_score(actual, predicted, average="macro", zero_division=0)),
        "recall_macro": float(metrics.recall_score(actual, predicted, average="macro", zero_division=0)),
        "f1_macro": float(metrics.f1_score(actual, predicted, average="macro", zero_division=0)),
        "class_count": len(set(actual) | set(predicted)),
    }


def regression_case(name, actual, predicted):
    actual = [float(a) for a in actual]
    predicted = [float(p) for p in predicted]
    return {
        "name": name,
        "actual": actual,
        "predicted": predicted,
        "mae": float(metrics.mean_absolute_error(actual, predicted)),
        "rmse": float(math.sqrt(metrics.mean_squared_error(actual, predicted))),
        "r2": float(metrics.r2_score(actual, predicted)) if len(actual) >= 2 else None,
    }


def bucket(delay):
    return "early" if delay < 0 else "on-time" if delay <= 15 else "late"


def main(flights_path, out_path):
    with open(flights_path) as f:
        flights = json.load(f)[:6000]
    delay = np.array([float(x["delay"]) for x in flights])
    distance = np.array([float(x["distance"]) for x in flights])
    hour = np.array([datetime.strptime(x["date"], "%Y/%m/%d %H:%M").hour for x in flights], dtype=float)
    delayed = delay > 15
    # A rule "late in the day is delayed": score = hour / 24 (24 distinct values: many ties), probability squashed from it.
    score = hour / 24.0
    probability = 1.0 / (1.0 + np.exp(-(hour - 15.0) / 3.0))
    rng = np.random.default_rng(SEED)

    binary = [
        binary_case("flights_hour_rule", delayed, hour >= 17, score, probability),
        binary_case("flights_distance_rule", delayed, distance > 1000, distance, np.clip(distance / 3000.0, 0, 1)),
        binary_case("flights_first_300", delayed[:300], hour[:300] >= 17, score[:300], probability[:300]),
        binary_case("perfect", [True, False, True, False, True], [True, False, True, False, True], [0.9, 0.1, 0.8, 0.2, 0.7], [1.0, 0.0, 1.0, 0.0, 1.0]),
        binary_case("all_wrong_extreme_probabilities", [True, False, True], [False, True, False], [0.0, 1.0, 0.0], [0.0, 1.0, 0.0]),
        binary_case("no_positive_prediction", [True, False, True, False], [False, False, False, False], [0.4, 0.4, 0.4, 0.4], [0.4, 0.4, 0.4, 0.4]),
        binary_case("single_class", [False, False, False], [True, False, False], [0.7, 0.2, 0.1], [0.7, 0.2, 0.1]),
        binary_case("single_row", [True], [True], [0.6], [0.6]),
        binary_case("all_tied_scores", [True, False, False, True, False], [True, True, True, True, True], [0.5] * 5, [0.5] * 5),
    ]
    for seed in range(8):
        n = int(rng.integers(2, 400))
        actual = rng.random(n) < rng.uniform(0.1, 0.9)
        if actual.all() or not actual.any():
            actual[0] = not actual[0]
        scores = np.round(rng.random(n) * rng.integers(2, 20)) / 20.0 + 0.3 * actual  # coarse: ties
        probs = np.clip(scores / scores.max(), 0, 1)
        binary.append(binary_case(f"random_{seed}", actual, probs >= 0.5, scores, probs))

    classes = ["early", "on-time", "late"]
    predicted_bucket = ["late" if h >= 17 else "on-time" if h >= 9 else "early" for h in hour]
    multiclass = [
        multiclass_case("flights_delay_buckets", [bucket(d) for d in delay], predicted_bucket),
        multiclass_case("flights_origin_as_destination", [x["destination"] for x in flights[:2000]], [x["origin"] for x in flights[:2000]]),
        multiclass_case("predicted_class_never_labelled", ["a", "a", "b", "b"], ["a", "c", "b", "c"]),
        multiclass_case("single_class", ["a", "a", "a"], ["a", "a", "a"]),
    ]
    for seed in range(5):
        n = int(rng.integers(1, 300))
        k = int(rng.integers(2, 7))
        actual = [f"c{int(v)}" for v in rng.integers(0, k, n)]
        predicted = [a if rng.random() < 0.6 else f"c{int(rng.integers(0, k + 1))}" for a in actual]
        multiclass.append(multiclass_case(f"random_{seed}", actual, predicted))

    regression = [
        regression_case("flights_delay_from_hour", delay, 2.5 * hour - 20.0),
        regression_case("flights_delay_from_distance", delay[:1000], distance[:1000] / 100.0),
        regression_case("perfect", [1.5, -2.0, 3.25], [1.5, -2.0, 3.25]),
        regression_case("constant_actual_exact", [4.0, 4.0, 4.0], [4.0, 4.0, 4.0]),
        regression_case("constant_actual_wrong", [4.0, 4.0, 4.0], [4.0, 5.0, 3.0]),
        regression_case("single_row", [2.0], [3.5]),
        regression_case("large_values", [1e9 + 1, 1e9 + 2, 1e9 + 4], [1e9, 1e9 + 3, 1e9 + 4]),
    ]
    for seed in range(5):
        n = int(rng.integers(2, 500))
        actual = rng.normal(10, 30, n)
        regression.append(regression_case(f"random_{seed}", actual, actual + rng.normal(0, rng.uniform(0.1, 20), n)))

    out = {"sklearn": sklearn.__version__, "numpy": np.__version__, "binary": binary, "multiclass": multiclass, "regression": regression}
    with open(out_path, "w") as f:
        json.dump(out, f, allow_nan=False)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
