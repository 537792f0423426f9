#!/usr/bin/env python3
"""Point-in-time (as-of) join oracle for the feature store, computed with pandas.merge_asof.

Regenerate (from the repository root; needs python3 with pandas, e.g. Debian's python3-pandas, which installs into
/usr/bin/python3 -- a pyenv or venv python3 may not see it):

    /usr/bin/python3 tests/oracles/asof_oracle.py samples/QuickStart/data/flights-20k.json tests/MLOps.FeatureStore.Tests/data/asof

Inputs: the 20k real flights (JSON array of {"date":"2001/01/01 00:47","delay":66,"distance":1750,"origin":"DTW",...}).
Outputs, checked in under tests/MLOps.FeatureStore.Tests/data/asof/ (plain comma-separated, no quoted fields):

  features.csv      origin,ts,delay,distance -- every flight, in file order (= ingestion order). Duplicate (origin, ts)
                    pairs are kept: they test ties, where the latest ingested row must win.
  entities.csv      row,origin,ts -- 3000 entity rows, seeded (SEED below), in shuffled order: random existing origins at
                    random instants, instants equal to feature timestamps (including every duplicated (origin, ts)),
                    instants before an origin's first flight, instants exactly TOLERANCE (and TOLERANCE + 1 s) after a
                    flight, and origins that never fly (ZZZ, QQQ, XXX). "row" is the entity row's position.
  expected.csv      row,origin,ts,delay,distance -- merge_asof(backward, exact matches allowed), in entity order; delay and
                    distance are empty when nothing matches.
  expected_ttl.csv  the same with tolerance=pd.Timedelta("2h") (a match at most 2 hours old, both ends inclusive).

Timestamps are ISO 8601 UTC with a Z suffix and whole seconds (e.g. 2001-01-01T00:47:00Z).

The script also checks merge_asof against a brute-force scan that picks, per entity row, the feature row of the same
origin with the greatest ts <= the entity's ts and, among equal ts, the LAST one in file order (and, with the tolerance,
drops a match older than 2 hours). It fails if pandas disagrees -- it does not: on a stable-sorted right side,
merge_asof picks the last duplicate.
"""

import json
import os
import random
import sys

import pandas as pd

SEED = 20240611
TOLERANCE = pd.Timedelta("2h")
UNKNOWN_ORIGINS = ["ZZZ", "QQQ", "XXX"]


def iso(ts):
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def load_features(path):
    with open(path, encoding="utf-8") as f:
        flights = json.load(f)
    return pd.DataFrame(
        {
            "origin": [r["origin"] for r in flights],
            "ts": pd.to_datetime([r["date"] for r in flights], format="%Y/%m/%d %H:%M", utc=True),
            "delay": [int(r["delay"]) for r in flights],
            "distance": [int(r["distance"]) for r in flights],
        }
    )


def make_entities(features, rng):
    origins = sorted(features["origin"].unique())
    t_min, t_max = features["ts"].min(), features["ts"].max()
    span = int((t_max - t_min).total_seconds()) + 2 * 86400
    first = features.groupby("origin")["ts"].min()
    rows = []

    # 1. random existing origins at random instants across the range (and a day on either side)
    for _ in range(1300):
        rows.append((rng.choice(origins), t_min - pd.Timedelta(days=1) + pd.Timedelta(seconds=rng.randrange(span))))

    # 2. instants exactly equal to a feature timestamp: every duplicated (origin, ts), then random flights
    dup = features[features.duplicated(["origin", "ts"], keep=False)].drop_duplicates(["origin", "ts"])
    for o, t in zip(dup["origin"], dup["ts"]):
        rows.append((o, t))
    for i in rng.sample(range(len(features)), 700 - len(dup)):
        rows.append((features["origin"].iat[i], features["ts"].iat[i]))

    # 3. before an origin's first flight: one second before, or up to 30 days before
    for _ in range(400):
        o = rng.choice(origins)
        back = 1 if rng.random() < 0.3 else rng.randrange(1, 30 * 86400)
        rows.append((o, first[o] - pd.Timedelta(seconds=back)))

    # 4. the tolerance boundary: exactly 2 hours (inclusive) and 2 hours + 1 second after a flight
    for i in rng.sample(range(len(features)), 400):
        extra = 0 if i % 2 == 0 else 1
        rows.append((features["origin"].iat[i], features["ts"].iat[i] + TOLERANCE + pd.Timedelta(seconds=extra)))

    # 5. origins that never fly
    while len(rows) < 3000:
        rows.append((rng.choice(UNKNOWN_ORIGINS), t_min + pd.Timedelta(seconds=rng.randrange(span))))

    rng.shuffle(rows)
    return pd.DataFrame({"row": range(len(rows)), "origin": [r[0] for r in rows], "ts": [r[1] for r in rows]})


def as_of(entities, features, tolerance=None):
    left = entities.sort_values("ts")  # merge_asof needs both sides sorted on "on"
    right = features.sort_values("ts", kind="stable")  # stable: ingestion order kept among equal timestamps
    merged = pd.merge_asof(
        left, right, on="ts", by="origin", direction="backward", allow_exact_matches=True, tolerance=tolerance
    )
    return merged.sort_values("row").reset_index(drop=True)[["row", "origin", "ts", "delay", "distance"]]


def brute_force(entities, features, tolerance=None):
    by_origin = {o: g for o, g in features.groupby("origin", sort=False)}
    delays, distances = [], []
    for o, t in zip(entities["origin"], entities["ts"]):
        g = by_origin.get(o)
        hit = None
        if g is not None:
            c = g[g["ts"] <= t]
            if len(c) > 0:
                best = c["ts"].max()
                last = c[c["ts"] == best].iloc[-1]  # the last ingested among equal timestamps
                if tolerance is None or t - best <= tolerance:
                    hit = last
        delays.append(None if hit is None else int(hit["delay"]))
        distances.append(None if hit is None else int(hit["distance"]))
    return delays, distances


def check(merged, entities, features, tolerance, name):
    delays, distances = brute_force(entities, features, tolerance)
    got_delay = [None if pd.isna(v) else int(v) for v in merged["delay"]]
    got_distance = [None if pd.isna(v) else int(v) for v in merged["distance"]]
    bad = [i for i in range(len(merged)) if got_delay[i] != delays[i] or got_distance[i] != distances[i]]
    if bad:
        raise SystemExit(f"{name}: pandas merge_asof disagrees with the brute force on {len(bad)} rows, e.g. {bad[:5]}")


def write(df, path, columns):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(",".join(columns) + "\n")
        for rec in df[columns].itertuples(index=False):
            cells = []
            for c, v in zip(columns, rec):
                if c == "ts":
                    cells.append(iso(v))
                elif v is None or (not isinstance(v, str) and pd.isna(v)):
                    cells.append("")
                else:
                    cells.append(str(int(v)) if c != "origin" else v)
            f.write(",".join(cells) + "\n")


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    source, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    features = load_features(source)
    entities = make_entities(features, random.Random(SEED))

    expected = as_of(entities, features)
    expected_ttl = as_of(entities, features, TOLERANCE)
    check(expected, entities, features, None, "expected")
    check(expected_ttl, entities, features, TOLERANCE, "expected_ttl")

    write(features, os.path.join(out, "features.csv"), ["origin", "ts", "delay", "distance"])
    write(entities, os.path.join(out, "entities.csv"), ["row", "origin", "ts"])
    write(expected, os.path.join(out, "expected.csv"), ["row", "origin", "ts", "delay", "distance"])
    write(expected_ttl, os.path.join(out, "expected_ttl.csv"), ["row", "origin", "ts", "delay", "distance"])

    ties = features.duplicated(["origin", "ts"], keep=False).sum()
    print(
        f"pandas {pd.__version__}: {len(features)} features ({ties} rows in duplicated (origin, ts) pairs), "
        f"{len(entities)} entities, {expected['delay'].notna().sum()} matched, "
        f"{expected_ttl['delay'].notna().sum()} matched within {TOLERANCE}; merge_asof agrees with the brute force "
        "(ties: last ingested row wins)"
    )


if __name__ == "__main__":
    main()
