"""Removes the segmentation-mask branch from BlazePose landmark models.

    python prune_mask.py SRC.onnx DST.onnx

The landmark model computes a 256x256 person mask (output `Identity_2`) that framebus does not
use; ONNX Runtime runs every node of a graph whatever outputs a run asks for, so the mask costs
about half of the model's time. This keeps the outputs framebus reads (`Identity` landmarks,
`Identity_1` person score, `Identity_3` heatmaps, `Identity_4` world landmarks) and exactly the
nodes and weights they depend on; nothing is changed or re-ordered. It then runs both models
in ONNX Runtime on the same inputs and fails unless the kept outputs are bit-identical.
"""

import sys

import numpy as np
import onnx
import onnxruntime as ort

KEEP = ["Identity", "Identity_1", "Identity_3", "Identity_4"]


def prune(src: str, dst: str) -> None:
    m = onnx.load(src)
    g = m.graph
    if [o.name for o in g.output] != KEEP[:2] + ["Identity_2"] + KEEP[2:]:
        sys.exit(f"{src}: unexpected outputs {[o.name for o in g.output]}")
    need = set(KEEP)
    kept = []
    for n in reversed(list(g.node)):
        if any(o in need for o in n.output):
            kept.append(n)
            need.update(n.input)
    kept.reverse()
    outs = [o for o in g.output if o.name in KEEP]
    inits = [i for i in g.initializer if i.name in need]
    print(f"{src}: nodes {len(g.node)} -> {len(kept)}, weights {len(g.initializer)} -> {len(inits)}")
    del g.node[:]
    g.node.extend(kept)
    del g.output[:]
    g.output.extend(outs)
    del g.initializer[:]
    g.initializer.extend(inits)
    onnx.checker.check_model(m)
    onnx.save(m, dst)


def same_outputs(src: str, dst: str) -> None:
    o = ort.SessionOptions()
    o.intra_op_num_threads = 1
    a = ort.InferenceSession(src, o, providers=["CPUExecutionProvider"])
    b = ort.InferenceSession(dst, o, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(7)
    for x in (rng.random((1, 256, 256, 3), dtype=np.float32), np.zeros((1, 256, 256, 3), np.float32)):
        ra = a.run(KEEP, {"input_1": x})
        rb = b.run(KEEP, {"input_1": x})
        for name, u, v in zip(KEEP, ra, rb):
            if not np.array_equal(u, v):
                sys.exit(f"{dst}: output {name} differs (max {np.abs(u - v).max()})")
    print(f"{dst}: kept outputs bit-identical to {src}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    prune(sys.argv[1], sys.argv[2])
    same_outputs(sys.argv[1], sys.argv[2])
