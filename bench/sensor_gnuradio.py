#!/usr/bin/env python3
"""GNU Radio 3.10 running the sensor chain of `framebus bench --only sensor`, printed as JSON:

  vector_source_f (12-bit counts: two tones + noise, repeated) → head
  → multiply_const_ff (counts → volts) → multiply_const_ff (+6 dB)
  → fir_filter_fff (64-tap low-pass) → fir_filter_fff (64 taps, decimating by 16)
  → stream_to_vector (1024) → fft_vfc (1024, Hann) → complex_to_mag_squared → null_sink

Figures: chain input samples/s pinned to one core (GNU Radio's threads inherit the
affinity set before `tb.start()`) and on every core; the 64-tap FIR alone (multiply-adds/s);
a 1024-point windowed FFT alone (µs per frame). Run with Debian's interpreter and no user site
(GNU Radio's bindings are built for Debian's numpy):

  PYTHONNOUSERSITE=1 PYTHONPATH=target/gr_py /usr/bin/python3 bench/sensor_gnuradio.py [--quick]
"""
import json
import os
import sys
import time

import numpy as np
from gnuradio import blocks, fft, gr
from gnuradio import filter as grfilter
from gnuradio.fft import window

RATE = 1_000_000.0


def lowpass(taps: int, cutoff_hz: float, rate: float) -> list:
    """firwin-style Hamming low-pass with exactly `taps` taps, unit DC gain."""
    n = np.arange(taps) - (taps - 1) / 2
    fc = cutoff_hz / rate
    h = 2 * fc * np.sinc(2 * fc * n) * np.hamming(taps)
    return list((h / h.sum()).astype(np.float32))


def source_data() -> list:
    t = np.arange(1 << 16) / RATE
    rng = np.random.default_rng(1)
    x = 0.5 * np.sin(2 * np.pi * 10_000 * t) + 0.25 * np.sin(2 * np.pi * 200_000 * t)
    x += rng.normal(0, 0.01, t.size)
    return list(np.clip(np.round(x * 2048), -2048, 2047).astype(np.float32))


def run(tb: gr.top_block, cpus) -> float:
    os.sched_setaffinity(0, cpus)
    t0 = time.perf_counter()
    tb.run()
    return time.perf_counter() - t0


def chain(n: int, data: list) -> gr.top_block:
    tb = gr.top_block()
    src = blocks.vector_source_f(data, True)
    head = blocks.head(gr.sizeof_float, n)
    volts = blocks.multiply_const_ff(3.3 / 2048)
    gain = blocks.multiply_const_ff(10 ** (6 / 20))
    fir = grfilter.fir_filter_fff(1, lowpass(64, 20_000, RATE))
    dec = grfilter.fir_filter_fff(16, lowpass(64, 0.8 * RATE / 32, RATE))
    s2v = blocks.stream_to_vector(gr.sizeof_float, 1024)
    f = fft.fft_vfc(1024, True, window.hann(1024), False, 1)
    mag = blocks.complex_to_mag_squared(1024)
    sink = blocks.null_sink(gr.sizeof_float * 1024)
    tb.connect(src, head, volts, gain, fir, dec, s2v, f, mag, sink)
    return tb


def fir_alone(n: int, data: list) -> gr.top_block:
    tb = gr.top_block()
    src = blocks.vector_source_f(data, True)
    head = blocks.head(gr.sizeof_float, n)
    fir = grfilter.fir_filter_fff(1, lowpass(64, 20_000, RATE))
    sink = blocks.null_sink(gr.sizeof_float)
    tb.connect(src, head, fir, sink)
    return tb


def fft_alone(frames: int, data: list) -> gr.top_block:
    tb = gr.top_block()
    src = blocks.vector_source_f(data, True)
    head = blocks.head(gr.sizeof_float, frames * 1024)
    s2v = blocks.stream_to_vector(gr.sizeof_float, 1024)
    f = fft.fft_vfc(1024, True, window.hann(1024), False, 1)
    sink = blocks.null_sink(gr.sizeof_gr_complex * 1024)
    tb.connect(src, head, s2v, f, sink)
    return tb


def main() -> None:
    quick = "--quick" in sys.argv
    n = 20_000_000 if quick else 100_000_000
    data = source_data()
    all_cpus = os.sched_getaffinity(0)
    one = {min(all_cpus)}
    out = {"version": gr.version(), "cpus": len(all_cpus)}
    run(chain(1_000_000, data), one)  # warm-up (plans, VOLK)
    out["chain_one_core_msps"] = n / run(chain(n, data), one) / 1e6
    out["chain_all_cores_msps"] = n / run(chain(n, data), all_cpus) / 1e6
    out["fir64_one_core_gmacs"] = 64 * n / run(fir_alone(n, data), one) / 1e9
    frames = n // 1024 // 2
    out["fft1024_one_core_us"] = run(fft_alone(frames, data), one) / frames * 1e6
    os.sched_setaffinity(0, all_cpus)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
