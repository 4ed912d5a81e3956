/**
 * The pose drawing model: the body skeleton from `vision` keypoints, hands from a `hands`
 * result (21 MediaPipe points each, with handedness) and angle labels at the joints from
 * `vision.angles`, all in image pixels; the canvas only strokes what this returns.
 */
import type { Point } from './results';
import { skeletonEdges } from './skeleton';

export const POSE_COLORS = { body: '#f687b3', hand: '#4fd1c5', angle: '#fefcbf' };

/** MediaPipe Hands' 21 landmark names, in model order. */
export const HAND_POINTS = [
  'wrist', 'thumb_cmc', 'thumb_mcp', 'thumb_ip', 'thumb_tip',
  'index_finger_mcp', 'index_finger_pip', 'index_finger_dip', 'index_finger_tip',
  'middle_finger_mcp', 'middle_finger_pip', 'middle_finger_dip', 'middle_finger_tip',
  'ring_finger_mcp', 'ring_finger_pip', 'ring_finger_dip', 'ring_finger_tip',
  'pinky_mcp', 'pinky_pip', 'pinky_dip', 'pinky_tip',
] as const;

/** MediaPipe Hands' connections, as indices into `HAND_POINTS`. */
export const HAND_EDGES: [number, number][] = [
  [0, 1], [1, 2], [2, 3], [3, 4],
  [0, 5], [5, 6], [6, 7], [7, 8],
  [5, 9], [9, 10], [10, 11], [11, 12],
  [9, 13], [13, 14], [14, 15], [15, 16],
  [13, 17], [0, 17], [17, 18], [18, 19], [19, 20],
];

/** Keypoints below this score are neither drawn nor joined. */
export const MIN_SCORE = 0.2;

export interface Segment {
  a: Point;
  b: Point;
}

export interface HandView {
  handedness: string;
  score: number;
  points: Point[];
  lines: Segment[];
}

export interface AngleLabel extends Point {
  name: string;
  deg: number;
  text: string;
}

export interface PoseDrawing {
  body: { points: Point[]; lines: Segment[] };
  hands: HandView[];
  angles: AngleLabel[];
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const obj = (v: unknown): Record<string, unknown> | null =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;

interface Kp extends Point {
  id: string;
  score: number;
}

function keypoints(list: unknown): Kp[] {
  if (!Array.isArray(list)) return [];
  const out: Kp[] = [];
  list.forEach((k: unknown, i) => {
    const o = obj(k);
    const x = num(o?.x);
    const y = num(o?.y);
    if (!o || x === null || y === null) return;
    const id = typeof o.id === 'string' || typeof o.id === 'number' ? String(o.id) : String(i);
    out.push({ id, x, y, score: num(o.score) ?? num(o.visibility) ?? 1 });
  });
  return out;
}

/** Joint angles (degrees) of a pose result: `{name: deg | null}`; nulls and junk skipped. */
export function readAngles(results: Record<string, unknown> | undefined, ns = 'vision'): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of Object.entries(obj(obj(results?.[ns])?.angles) ?? {})) {
    const d = num(v) ?? num(obj(v)?.deg) ?? num(obj(v)?.value);
    if (d !== null) out.set(k, d);
  }
  return out;
}

/** Hands of a `hands` result; a hand without 21 usable points draws what it has. */
export function readHands(results: Record<string, unknown> | undefined, ns = 'hands'): HandView[] {
  const list = obj(results?.[ns])?.hands;
  if (!Array.isArray(list)) return [];
  const hands: HandView[] = [];
  for (const h of list) {
    const o = obj(h);
    if (!o) continue;
    const kps = keypoints(o.keypoints);
    // By name when named, else by position in the list.
    const byIdx = new Map<number, Kp>();
    kps.forEach((k, i) => {
      const named = HAND_POINTS.indexOf(k.id as (typeof HAND_POINTS)[number]);
      byIdx.set(named >= 0 ? named : i, k);
    });
    const lines: Segment[] = [];
    for (const [a, b] of HAND_EDGES) {
      const pa = byIdx.get(a);
      const pb = byIdx.get(b);
      if (pa && pb) lines.push({ a: { x: pa.x, y: pa.y }, b: { x: pb.x, y: pb.y } });
    }
    hands.push({
      handedness: typeof o.handedness === 'string' ? o.handedness : '',
      score: num(o.score) ?? 1,
      points: kps.map((k) => ({ x: k.x, y: k.y })),
      lines,
    });
  }
  return hands;
}

/** Everything the canvas draws for pose and hands, in image pixels. */
export function poseDrawing(results: Record<string, unknown> | undefined, ns = { pose: 'vision', hands: 'hands' }): PoseDrawing {
  const kps = keypoints(obj(results?.[ns.pose])?.keypoints).filter((k) => k.score >= MIN_SCORE);
  const byId = new Map(kps.map((k) => [k.id, k]));
  const lines: Segment[] = [];
  for (const [a, b] of skeletonEdges(byId.keys())) {
    const ka = byId.get(a);
    const kb = byId.get(b);
    if (ka && kb) lines.push({ a: { x: ka.x, y: ka.y }, b: { x: kb.x, y: kb.y } });
  }
  const angles: AngleLabel[] = [];
  for (const [name, deg] of readAngles(results, ns.pose)) {
    // An angle is named for its vertex keypoint (`left_knee`); labels only where it is seen.
    const k = byId.get(name);
    if (k) angles.push({ name, deg, x: k.x, y: k.y, text: `${Math.round(deg)}°` });
  }
  return { body: { points: kps.map((k) => ({ x: k.x, y: k.y })), lines }, hands: readHands(results, ns.hands), angles };
}

/** Current value and range of each angle over the frames seen since the last reset. */
export class AngleRanges {
  private readonly ranges = new Map<string, { value: number; min: number; max: number }>();

  update(angles: Map<string, number>): void {
    for (const [k, v] of angles) {
      const r = this.ranges.get(k);
      if (!r) this.ranges.set(k, { value: v, min: v, max: v });
      else this.ranges.set(k, { value: v, min: Math.min(r.min, v), max: Math.max(r.max, v) });
    }
  }

  reset(): void {
    this.ranges.clear();
  }

  /** Rows sorted by name: `left_knee 142° (95–165°)`. */
  rows(): { name: string; value: string; range: string }[] {
    return [...this.ranges.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, r]) => ({ name, value: `${r.value.toFixed(1)}°`, range: `${Math.round(r.min)}–${Math.round(r.max)}°` }));
  }
}
