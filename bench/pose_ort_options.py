"""ONNX Runtime's options on the pose models, one thread, CPU time per run (best and median of
three means of N runs, `time.process_time`, which counts every thread of the process).

    python pose_ort_options.py ORIG_DIR [N]      (bench/pose_ort_options.sh sets it up)

ORIG_DIR holds the landmark models as converted, before tools/pose_models/prune_mask.sh; the
shipped (pruned) ones are read from models/. Measures, each against the shipped default:
graph optimization level (ALL is ORT's default and includes the NCHWc layout; EXTENDED and
BASIC do not), `session.set_denormal_as_zero`, `session.intra_op.allow_spinning` = 0, memory
pattern + CPU arena off, IOBinding with preallocated outputs, asking only for the outputs
used, the segmentation branch pruned, and int8 static quantization (QDQ, per channel,
calibrated on the four people photos) with how far its outputs move on those photos; then,
on the full landmark model, opset 17 and ORT's saved optimized model.
"""

import glob
import sys
import time

import numpy as np
import onnxruntime as ort
from PIL import Image

ort.set_default_logger_severity(3)
L = ort.GraphOptimizationLevel
ORIG = sys.argv[1]
N = int(sys.argv[2]) if len(sys.argv) > 2 else 60
PHOTOS = sorted(glob.glob("crates/stages/tests/fixtures/people/*.png"))


def session(path, level=L.ORT_ENABLE_ALL, cfg=(), mem=True):
    o = ort.SessionOptions()
    o.intra_op_num_threads = 1
    o.inter_op_num_threads = 1
    o.graph_optimization_level = level
    o.enable_mem_pattern = mem
    o.enable_cpu_mem_arena = mem
    for k, v in cfg:
        o.add_session_config_entry(k, v)
    return ort.InferenceSession(path, o, providers=["CPUExecutionProvider"])


def cpu_ms(s, outs=None):
    i = s.get_inputs()[0]
    x = np.random.default_rng(1).random(i.shape, dtype=np.float32)
    for _ in range(8):
        s.run(outs, {i.name: x})
    means = []
    for _ in range(3):
        c0 = time.process_time()
        for _ in range(N):
            s.run(outs, {i.name: x})
        means.append((time.process_time() - c0) / N * 1e3)
    means.sort()
    return f"{means[0]:6.2f} {means[1]:6.2f}"


def iobinding_ms(s):
    """Input and outputs bound once to buffers of their own (no output allocated per run)."""
    x = np.random.default_rng(1).random(s.get_inputs()[0].shape, dtype=np.float32)
    b = s.io_binding()
    b.bind_ortvalue_input("input_1", ort.OrtValue.ortvalue_from_numpy(x))
    for o in s.get_outputs():
        b.bind_ortvalue_output(o.name, ort.OrtValue.ortvalue_from_numpy(np.zeros(o.shape, np.float32)))
    for _ in range(8):
        s.run_with_iobinding(b)
    means = []
    for _ in range(3):
        c0 = time.process_time()
        for _ in range(N):
            s.run_with_iobinding(b)
        means.append((time.process_time() - c0) / N * 1e3)
    means.sort()
    return f"{means[0]:6.2f} {means[1]:6.2f}"


def letterboxed(n, signed):
    out = []
    for f in PHOTOS:
        im = Image.open(f).convert("RGB")
        s = n / max(im.size)
        im = im.resize((max(1, round(im.size[0] * s)), max(1, round(im.size[1] * s))), Image.BILINEAR)
        c = Image.new("RGB", (n, n))
        c.paste(im, ((n - im.size[0]) // 2, (n - im.size[1]) // 2))
        a = np.asarray(c, np.float32) / 255.0
        out.append((a * 2 - 1 if signed else a)[None])
    return out


def int8(src, dst, inputs):
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter(inputs)

        def get_next(self):
            x = next(self.it, None)
            return None if x is None else {"input_1": x}

    quant_pre_process(src, dst + ".pre.onnx", skip_symbolic_shape=True)
    quantize_static(dst + ".pre.onnx", dst, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)


def main():
    print(f"CPU ms per run, best and median of 3 x {N} runs, 1 thread, onnxruntime {ort.__version__}")
    for name in ["pose_detection", "pose_landmark_lite", "pose_landmark_full"]:
        shipped = f"models/{name}.onnx"
        lm = "landmark" in name
        print(f"{name}:")
        print(f"  shipped, ALL (default)            {cpu_ms(session(shipped))}")
        if lm:
            orig = f"{ORIG}/{name}.onnx"
            print(f"  as converted (with the mask)      {cpu_ms(session(orig))}")
            print(f"  as converted, used outputs only   "
                  f"{cpu_ms(session(orig), ['Identity', 'Identity_1', 'Identity_3', 'Identity_4'])}")
        print(f"  EXTENDED (no NCHWc)               {cpu_ms(session(shipped, L.ORT_ENABLE_EXTENDED))}")
        print(f"  BASIC                             {cpu_ms(session(shipped, L.ORT_ENABLE_BASIC))}")
        print(f"  set_denormal_as_zero              "
              f"{cpu_ms(session(shipped, cfg=[('session.set_denormal_as_zero', '1')]))}")
        print(f"  allow_spinning 0                  "
              f"{cpu_ms(session(shipped, cfg=[('session.intra_op.allow_spinning', '0')]))}")
        print(f"  mem pattern + arena off           {cpu_ms(session(shipped, mem=False))}")
        print(f"  IOBinding, outputs preallocated   {iobinding_ms(session(shipped))}")
        inputs = letterboxed(256 if lm else 224, not lm)
        q = f"target/{name}_int8.onnx"
        int8(shipped, q, inputs)
        a, b = session(shipped), session(q)
        print(f"  int8 QDQ (calibrated on 4 photos) {cpu_ms(b)}")
        for f, x in zip(PHOTOS, inputs):
            ra, rb = a.run(None, {"input_1": x}), b.run(None, {"input_1": x})
            if lm:
                u, v = (r[0].reshape(39, 5)[:33, :2] for r in (ra, rb))
                e = np.linalg.norm(u - v, axis=1)
                what = f"keypoints vs fp32 median {np.median(e):.2f} px, max {e.max():.2f} px (256 crop)"
            else:
                k = int(np.argmax(ra[1]))
                what = (f"best anchor: fp32 logit {ra[1].ravel()[k]:.2f} → int8 {rb[1].ravel()[k]:.2f}, "
                        f"box moves {np.abs(ra[0][0, k, :4] - rb[0][0, k, :4]).max():.1f} px (224)")
            print(f"    {f.split('/')[-1]:16} {what}")

    # The full landmark model: another opset, and ORT's optimized model saved and reloaded.
    import onnx
    from onnx import version_converter

    shipped = "models/pose_landmark_full.onnx"
    onnx.save(version_converter.convert_version(onnx.load(shipped), 17), "target/pose_landmark_full_op17.onnx")
    o = ort.SessionOptions()
    o.intra_op_num_threads = 1
    o.optimized_model_filepath = "target/pose_landmark_full_ortopt.onnx"
    ort.InferenceSession(shipped, o, providers=["CPUExecutionProvider"])
    print("pose_landmark_full (session creation ms, then run):")
    for what, path, level in [
        ("shipped, ALL                     ", shipped, L.ORT_ENABLE_ALL),
        ("opset 17 (onnx.version_converter)", "target/pose_landmark_full_op17.onnx", L.ORT_ENABLE_ALL),
        ("ORT-optimized saved, loaded as is", "target/pose_landmark_full_ortopt.onnx", L.ORT_DISABLE_ALL),
    ]:
        c0 = time.perf_counter()
        s = session(path, level)
        print(f"  {what} {(time.perf_counter() - c0) * 1e3:5.0f} ms  {cpu_ms(s)}")


main()
