"""Butterworth references for crates/stages/tests/signal_reference.rs (numpy, scipy).

Run: python3 make_butter_reference.py > butter_reference.json
"""
import json
import sys

import numpy as np
from scipy import signal

rate = 1_000_000.0
freqs = [0, 1000, 5000, 10000, 19000, 20000, 21000, 40000, 100000, 300000, 499000]
out = {}
for name, order, btype, fc in [("lp4_20k", 4, "lowpass", 20000), ("lp5_20k", 5, "lowpass", 20000),
                               ("hp3_100k", 3, "highpass", 100000)]:
    sos = signal.butter(order, fc, btype=btype, output="sos", fs=rate)
    _, h = signal.sosfreqz(sos, worN=np.array(freqs, dtype=float), fs=rate)
    out[name] = {"sos": sos.tolist(), "freqs": freqs, "gain": np.abs(h).tolist()}
json.dump(out, sys.stdout)
