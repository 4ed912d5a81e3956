"""Reference values for crates/stages/tests/signal_reference.rs, computed with numpy/scipy.

Run: python3 make_signal_reference.py > signal_reference.json (numpy, scipy installed).
"""
import json

import numpy as np
from scipy import signal

rate = 1_000_000.0
n = np.arange(4096)
x = (0.7 * np.sin(2 * np.pi * 5_000 * n / rate)
     + 0.3 * np.sin(2 * np.pi * 150_000 * n / rate + 0.4)
     + 0.1 * np.cos(2 * np.pi * 333_000 * n / rate)).astype(np.float32)

designs = {
    "lowpass_64_hamming": signal.firwin(64, 20_000, window="hamming", fs=rate),
    "highpass_101_hamming": signal.firwin(101, 100_000, window="hamming", pass_zero=False, fs=rate),
    "bandpass_101_blackman": signal.firwin(101, [100_000, 200_000], window="blackman", pass_zero=False, fs=rate),
    "bandstop_101_hann": signal.firwin(101, [100_000, 200_000], window="hann", fs=rate),
}
decim = signal.firwin(64, 0.8 / 16)
y = signal.lfilter(designs["lowpass_64_hamming"], 1.0, x.astype(np.float64))
yd = signal.lfilter(decim, 1.0, x.astype(np.float64))[::16]

m = np.arange(1024)
t = (0.5 * np.sin(2 * np.pi * 10_123 * m / 62_500) + 0.05).astype(np.float32)
w = signal.windows.hann(1024, sym=True)
mag = np.abs(np.fft.rfft(t.astype(np.float64) * w)) * 2 / w.sum()

json.dump({
    "rate": rate,
    "input": x.tolist(),
    "designs": {k: v.tolist() for k, v in designs.items()},
    "lowpass_output": y.tolist(),
    "decimate_16_taps": decim.tolist(),
    "decimate_16_output": yd.tolist(),
    "fft_input": t.tolist(),
    "fft_hann_magnitude": mag.tolist(),
}, __import__("sys").stdout)

