#!/usr/bin/env python3
"""Hold framebus-billiards against pooltool-billiards 0.6.0 on seeded shots.

Both engines get the same balls and cue strikes (physics frame: pooltool's coordinates) and
the same models: frictional inelastic ball-ball with Alciatore's friction curve, Han 2005 for
straight and round cushions, instantaneous point cue strike with squirt, pooltool's 7-ft
table. Prints event-sequence agreement, rest-position differences and timings side by side.

Usage (see pooltool_compare.sh, which makes the venv and builds our CLI):
    python pooltool_compare.py --ours PATH_TO_simulate_EXAMPLE [--shots 200] [--seed 1]
        [--write-fixtures crates/billiards/tests/fixtures/pooltool_shots.json]
"""

import argparse
import json
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("HOME", tempfile.mkdtemp(prefix="pooltool-home-"))

import numpy as np  # noqa: E402
import pooltool as pt  # noqa: E402
from pooltool.physics.resolve.ball_cushion import Han2005Circular, Han2005Linear  # noqa: E402

R = 0.028575
W, L = 0.9906, 1.9812


def engine():
    resolver = pt.physics.Resolver.default()
    resolver.ball_linear_cushion = Han2005Linear()
    resolver.ball_circular_cushion = Han2005Circular()
    return pt.physics.PhysicsEngine(resolver=resolver)


def random_layout(rng, n):
    """n balls (the first is "cue") at random non-overlapping spots on the cloth."""
    balls = []
    while len(balls) < n:
        x = rng.uniform(R + 0.01, W - R - 0.01)
        y = rng.uniform(R + 0.01, L - R - 0.01)
        if all(math.hypot(x - b["x"], y - b["y"]) > 2 * R + 0.005 for b in balls):
            balls.append({"id": "cue" if not balls else str(len(balls)), "x": x, "y": y})
    return balls


def random_shot(rng):
    balls = random_layout(rng, rng.randint(2, 6))
    cue, target = balls[0], rng.choice(balls[1:])
    # Aim roughly at a ball half the time (so most shots have ball-ball collisions).
    if rng.random() < 0.6:
        phi = math.degrees(math.atan2(target["y"] - cue["y"], target["x"] - cue["x"]))
        phi += rng.uniform(-4, 4)
    else:
        phi = rng.uniform(0, 360)
    a, b = rng.uniform(-0.3, 0.3), rng.uniform(-0.3, 0.3)
    return {
        "balls": balls,
        "cue": {
            "ball": "cue",
            "V0": round(rng.uniform(0.5, 4.0), 4),
            "phi": phi % 360,
            "theta": rng.choice([0.0, 0.0, rng.uniform(0, 15)]),
            "a": a,
            "b": b,
        },
    }


def three_cushion_shot():
    """The cue ball alone, long diagonal shot that travels around the table (≥ 3 cushions)."""
    return {
        "balls": [{"id": "cue", "x": 0.3, "y": 0.4}],
        "cue": {"ball": "cue", "V0": 2.5, "phi": 63.0, "theta": 0.0, "a": 0.1, "b": 0.1},
    }


def nine_ball_break():
    """A 9-ball diamond on the foot spot (0.1 mm gaps) broken from the head string."""
    balls = [{"id": "cue", "x": W / 2 + 0.05, "y": L / 4}]
    d = 2 * R + 1e-4
    rows = [1, 2, 3, 2, 1]
    k = 1
    for i, n in enumerate(rows):
        for j in range(n):
            balls.append(
                {
                    "id": str(k),
                    "x": W / 2 + (j - (n - 1) / 2) * d,
                    "y": 3 * L / 4 + i * d * math.sqrt(3) / 2,
                }
            )
            k += 1
    phi = math.degrees(math.atan2(3 * L / 4 - L / 4, W / 2 - balls[0]["x"]))
    return {
        "balls": balls,
        "cue": {"ball": "cue", "V0": 6.0, "phi": phi, "theta": 0.0, "a": 0.0, "b": 0.1},
    }


def pooltool_run(shot, eng):
    balls = {b["id"]: pt.Ball.create(b["id"], xy=(b["x"], b["y"])) for b in shot["balls"]}
    cue = pt.Cue(cue_ball_id=shot["cue"]["ball"])
    system = pt.System(table=pt.Table.default(), balls=balls, cue=cue)
    c = shot["cue"]
    system.cue.set_state(V0=c["V0"], phi=c["phi"], theta=c["theta"], a=c["a"], b=c["b"])
    t0 = time.perf_counter()
    pt.simulate(system, engine=eng, inplace=True)
    elapsed = time.perf_counter() - t0
    events = [
        {"t": float(e.time), "type": str(e.event_type.value), "agents": list(e.ids)}
        for e in system.events
        if str(e.event_type.value) != "none"
    ]
    final = [
        {
            "id": bid,
            "x": float(b.state.rvw[0][0]),
            "y": float(b.state.rvw[0][1]),
            "pocketed": int(b.state.s) == pt.constants.pocketed,
        }
        for bid, b in system.balls.items()
    ]
    return {"events": events, "final": final, "seconds": elapsed}


def ours_run(binary, shots, repeat):
    lines = "".join(json.dumps({**s, "repeat": repeat}) + "\n" for s in shots)
    out = subprocess.run([binary], input=lines, capture_output=True, text=True, check=True)
    return [json.loads(line) for line in out.stdout.splitlines()]


def seq(events, collisions_only=False):
    keep = ("stick_ball", "ball_ball", "ball_linear_cushion", "ball_circular_cushion", "ball_pocket")
    return [
        (e["type"], tuple(e["agents"]))
        for e in events
        if not collisions_only or e["type"] in keep
    ]


def rest_diffs(a, b):
    """Distances between the two engines' rest positions of balls on the table in both."""
    fb = {f["id"]: f for f in b}
    out = []
    for f in a:
        g = fb[f["id"]]
        if not f["pocketed"] and not g["pocketed"]:
            out.append(math.hypot(f["x"] - g["x"], f["y"] - g["y"]))
    return out


def pct(x, q):
    return float(np.percentile(x, q)) if x else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ours", required=True)
    ap.add_argument("--shots", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--write-fixtures")
    ap.add_argument("--fixtures", type=int, default=16)
    args = ap.parse_args()

    rng = random.Random(args.seed)
    shots = [random_shot(rng) for _ in range(args.shots)]
    eng = engine()

    print("warming up pooltool (numba compiles every routine once)...", file=sys.stderr)
    for s in shots[:5] + [three_cushion_shot(), nine_ball_break()]:
        pooltool_run(s, eng)

    theirs = [pooltool_run(s, eng) for s in shots]
    ours = ours_run(args.ours, shots, repeat=20)

    full = coll = 0
    diffs, mismatches = [], []
    for i, (a, b) in enumerate(zip(ours, theirs)):
        if "error" in a:
            mismatches.append((i, "error: " + a["error"]))
            continue
        same_full = seq(a["events"]) == seq(b["events"])
        same_coll = seq(a["events"], True) == seq(b["events"], True)
        full += same_full
        coll += same_coll
        if same_coll:
            diffs.extend(rest_diffs(a["final"], b["final"]))
        else:
            sa, sb = seq(a["events"], True), seq(b["events"], True)
            k = next((k for k in range(min(len(sa), len(sb))) if sa[k] != sb[k]), min(len(sa), len(sb)))
            mismatches.append((i, f"first difference at collision {k}: ours {sa[k:k+2]} pooltool {sb[k:k+2]}"))

    n = len(shots)
    print(f"\n{n} seeded shots (seed {args.seed}), 2-6 balls, V0 0.5-4 m/s, english within 0.3 R")
    print(f"{'':42} {'result':>12} {'goal':>10}")
    print(f"{'collision sequence identical':42} {100 * coll / n:>11.1f}% {'>= 99 %':>10}")
    print(f"{'full event sequence identical (+transitions)':42} {100 * full / n:>11.1f}%")
    dm = [d * 1000 for d in diffs]
    print(f"{'rest position difference, median':42} {pct(dm, 50):>10.2e}mm {'<= 1 mm':>10}")
    print(f"{'rest position difference, p95':42} {pct(dm, 95):>10.2e}mm")
    print(f"{'rest position difference, max':42} {max(dm) if dm else float('nan'):>10.2e}mm")
    dt = [
        abs(ea["t"] - eb["t"])
        for a, b in zip(ours, theirs)
        if "events" in a and seq(a["events"]) == seq(b["events"])
        for ea, eb in zip(a["events"], b["events"])
    ]
    print(f"{'event time difference, max (matching shots)':42} {max(dt) if dt else float('nan'):>10.2e}s")
    ot = [a.get("us_per_shot", float("nan")) for a in ours]
    tt = [b["seconds"] * 1e6 for b in theirs]
    print(f"{'time per shot, median (ours / pooltool)':42} {statistics.median(ot):>9.1f}us / {statistics.median(tt) / 1000:.2f} ms")

    specials = []
    for name, shot in (("3-cushion shot", three_cushion_shot()), ("9-ball break", nine_ball_break())):
        times = [pooltool_run(shot, eng)["seconds"] for _ in range(5)]
        ref = pooltool_run(shot, eng)
        specials.append((shot, ref))
        mine = ours_run(args.ours, [shot], repeat=200)[0]
        cushions = sum(1 for e in mine["events"] if e["type"] == "ball_linear_cushion" and e["agents"][0] == "cue")
        same = seq(mine["events"], True) == seq(ref["events"], True)
        print(
            f"{name + ' time (ours / pooltool)':42} {mine['us_per_shot']:>9.1f}us / {statistics.median(times) * 1000:.2f} ms"
            f"  ({len(mine['events'])} events, {cushions} cue-ball cushions, same collisions: {same})"
        )
    if mismatches:
        print(f"\n{len(mismatches)} shots differ:")
        for i, why in mismatches[:20]:
            print(f"  shot {i}: {why}")

    if args.write_fixtures:
        fx = []
        for s, b in list(zip(shots, theirs))[: args.fixtures] + specials:
            fx.append({"shot": s, "pooltool": {"events": b["events"], "final": b["final"]}})
        with open(args.write_fixtures, "w") as f:
            json.dump({"generator": "bench/pooltool_compare.py", "pooltool": "0.6.0", "seed": args.seed, "shots": fx}, f, indent=1)
            f.write("\n")
        print(f"wrote {len(fx)} fixtures to {args.write_fixtures}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
