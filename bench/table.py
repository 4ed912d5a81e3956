#!/usr/bin/env python3
"""Merges the JSON of `framebus bench --json`, `bench/gst_bench.py`, `bench/opencv_blob.py`
and `bench/sensor_gnuradio.py` (any of the peers, in any order) into one Markdown table:
every framebus figure beside its in-run baseline, then framebus beside its peers, with which
one is faster and by how much.

  python3 bench/table.py framebus.json [gst.json] [opencv.json] [gnuradio.json]
"""
import json
import sys


def fmt(v: float) -> str:
    a = abs(v)
    if a == 0:
        return "0"
    if a >= 1000:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 0.1:
        return f"{v:.2f}"
    return f"{v:.4f}"


def find(rows, bench, prefix):
    for r in rows:
        if r["bench"] == bench and r["metric"].startswith(prefix):
            return r
    return None


def verdict(fb: float, peer: float, higher_is_better: bool) -> str:
    if fb <= 0 or peer <= 0:
        return ""
    x = fb / peer if higher_is_better else peer / fb
    return f"framebus {x:.2f}× faster" if x >= 1 else f"framebus {1 / x:.2f}× slower"


def main() -> None:
    fb = json.load(open(sys.argv[1]))
    # Peers are recognised by their keys, in any order.
    peers = [json.load(open(a)) for a in sys.argv[2:]]
    gst = next((p for p in peers if "identity_ns" in p), None)
    cv = next((p for p in peers if "sizes" in p), None)
    gr = next((p for p in peers if "chain_one_core_msps" in p), None)
    print("| bench | metric | framebus | compared with | its value | ratio (framebus / it) | verdict |")
    print("|---|---|---:|---|---:|---:|---|")
    for r in fb:
        base = f"{fmt(r['baseline'])} {r['unit']}" if r.get("baseline") is not None else ""
        ratio = f"{r['ratio']:.2f}×" if r.get("ratio") is not None else ""
        print(f"| {r['bench']} | {r['metric']} | {fmt(r['value'])} {r['unit']} | "
              f"{r.get('baseline_name') or ''} | {base} | {ratio} | |")

    def peer(bench, metric, fb_value, unit, name, value, higher_is_better):
        if fb_value is None or value is None:
            return
        ratio = fb_value / value if value else float("nan")
        if unit == "blobs":
            same = abs(fb_value - value) < 0.01
            print(f"| {bench} | {metric} | {fmt(fb_value)} | {name} | {fmt(value)} | | "
                  f"{'same count' if same else 'counts differ'} |")
            return
        print(f"| {bench} | {metric} | {fmt(fb_value)} {unit} | {name} | {fmt(value)} {unit} | "
              f"{ratio:.2f}× | {verdict(fb_value, value, higher_is_better)} |")

    if gst:
        g = f"GStreamer {gst['version'].split()[-1]}"
        r = find(fb, "overhead", "per stage per frame")
        peer("vs peer", "per stage per frame (no-op stage vs `identity`)", r and r["value"], "ns",
             g, gst["identity_ns"], False)
        r = find(fb, "overhead", "per frame, 10 no-op")
        peer("vs peer", "per frame through 10 no-op stages", r and r["value"], "ns",
             f"{g} fakesrc ! identity ×10 ! fakesink", gst["ten_identities_per_buffer_ns"], False)
        r = find(fb, "edge_hop", "hop cost per frame")
        peer("vs peer", "thread hop cost per frame (edge vs `queue`)", r and r["value"], "ns",
             g, gst["queue_hop_ns"], False)
        r = find(fb, "throughput", "640×480 RGB")
        peer("vs peer", "640×480 RGB, 3 stages, 2 hops", r and r["value"], "fps",
             f"{g} videotestsrc ! queue ! identity ×3 ! queue ! fakesink", gst["video_fps"], True)
    if gr:
        g = f"GNU Radio {gr['version']}"
        r = find(fb, "sensor", "chain as GNU Radio's")
        peer("vs peer", "sensor chain, input MS/s, 1 core", r and r["value"], "MS/s",
             f"{g} pinned to 1 core (thread per block)", gr["chain_one_core_msps"], True)
        peer("vs peer", "sensor chain, input MS/s", r and r["value"], "MS/s",
             f"{g} on all {gr['cpus']} cores", gr["chain_all_cores_msps"], True)
        r = find(fb, "sensor", "64-tap FIR")
        peer("vs peer", "64-tap FIR, GMAC/s, 1 core", r and r["value"], "GMAC/s",
             f"{g} fir_filter_fff (VOLK)", gr["fir64_one_core_gmacs"], True)
        r = find(fb, "sensor", "1024-point windowed FFT")
        peer("vs peer", "1024-point windowed FFT, µs per frame", r and r["value"], "µs",
             f"{g} stream_to_vector + fft_vfc (FFTW)", gr["fft1024_one_core_us"], False)
    if cv:
        c = f"OpenCV {cv['version']}"
        for size, s in cv["sizes"].items():
            w, h = size.split("x")
            r = find(fb, "blob", f"{w}×{h} stage, median")
            peer("vs peer", f"blobs {w}×{h}, ms per frame", r and r["value"], "ms",
                 f"{c} threshold + CCWithStats, 1 thread", s["ms_1_thread"], False)
            peer("vs peer", f"blobs {w}×{h}, ms per frame", r and r["value"], "ms",
                 f"{c} same, {cv['default_threads']} threads", s["ms_default_threads"], False)
            peer("vs peer", f"blobs {w}×{h}, ms per frame", r and r["value"], "ms",
                 f"{c} threshold + connectedComponents (labels only, no stats), 1 thread",
                 s["ms_labels_only_1_thread"], False)
            r = find(fb, "blob", f"{w}×{h} blobs kept")
            peer("vs peer", f"blobs {w}×{h} kept per frame (same pixels?)", r and r["value"], "blobs",
                 c, s["blobs"], True)


if __name__ == "__main__":
    main()
