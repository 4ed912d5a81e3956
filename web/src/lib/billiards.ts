/**
 * Billiards (seed 002) results read for drawing: the table (`table_detection`, pixels, with the
 * table → image homography), tracked balls (`ball_tracking`, metres), the cue line
 * (`cue_detection`, pixels), the predicted shot (`trajectory`, metres) and the game events
 * (`game_state`). Everything is mapped to frame pixels here; nothing depends on ball colours.
 */
import type { Point } from './results';

/** A 3×3 homography, row-major. */
export type Homography = readonly number[];

export interface TableView {
  /** `detected` or `calibrated`. */
  source: string;
  /** Playing-area corners, frame px, from the origin corner along the long side. */
  corners: Point[];
  pockets: Point[];
  /** Table metres → frame px. */
  toImage: Homography;
  ballRadiusPx: number;
}

export interface BallView {
  id: string;
  /** Centre, frame px. */
  at: Point;
  atRest: boolean;
}

export interface CueView {
  tip: Point;
  butt: Point;
  /** Where the aim line from the tip (away from the butt) ends, frame px. */
  aimEnd: Point;
}

export interface PathView {
  id: string;
  points: Point[];
}

export interface MarkView {
  at: Point;
  /** Collision type (`ball_ball`, `ball_linear_cushion`, …) or, for pockets, the ball id. */
  label: string;
}

/** What the billiards overlay draws, in frame pixels. */
export interface BilliardsDrawing {
  table: TableView | null;
  balls: BallView[];
  cue: CueView | null;
  paths: PathView[];
  collisions: MarkView[];
  pockets: MarkView[];
}

export interface GameEvent {
  kind: string;
  frame_id: number;
  t_ns: number;
  balls: [string, string];
}

export interface GameView {
  phase: string;
  shots: number;
  ballsOnTable: number;
  pocketed: string[];
  /** Events for the feed, newest first. */
  events: GameEvent[];
  sequence: number;
}

/** Event kinds shown in the feed (`state_updated` and `trajectory_calculated` are not). */
export const FEED_KINDS = new Set(['shot_started', 'ball_collision', 'cushion', 'pocketed', 'scratch', 'balls_at_rest']);

type Obj = Record<string, unknown>;

const obj = (v: unknown): Obj | null => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const pair = (v: unknown): Point | null => {
  if (!Array.isArray(v) || v.length < 2) return null;
  const x = num(v[0]);
  const y = num(v[1]);
  return x === null || y === null ? null : { x, y };
};
const xy = (v: unknown): Point | null => {
  const o = obj(v);
  if (!o) return null;
  const x = num(o.x);
  const y = num(o.y);
  return x === null || y === null ? null : { x, y };
};

/** Maps `p` through the homography `h`; null when it goes to infinity. */
export function applyHomography(h: Homography, p: Point): Point | null {
  const w = h[6]! * p.x + h[7]! * p.y + h[8]!;
  if (!Number.isFinite(w) || Math.abs(w) < 1e-12) return null;
  return { x: (h[0]! * p.x + h[1]! * p.y + h[2]!) / w, y: (h[3]! * p.x + h[4]! * p.y + h[5]!) / w };
}

/** The table of `table_detection` (null when not found). */
export function readTable(results: Obj, ns = 'table_detection'): TableView | null {
  const t = obj(results[ns]);
  if (!t || t.found !== true) return null;
  const h = Array.isArray(t.to_image) ? t.to_image.map(num) : [];
  if (h.length !== 9 || h.some((v) => v === null)) return null;
  const points = (v: unknown) => (Array.isArray(v) ? v.map(pair).filter((p): p is Point => p !== null) : []);
  return {
    source: typeof t.source === 'string' ? t.source : '',
    corners: points(t.corners),
    pockets: points(t.pockets),
    toImage: h as number[],
    ballRadiusPx: num(t.ball_radius_px) ?? 10,
  };
}

/** The aim line: from the tip, away from the butt, `length` px long. */
export function aimLine(tip: Point, butt: Point, length: number): Point {
  const dx = tip.x - butt.x;
  const dy = tip.y - butt.y;
  const d = Math.hypot(dx, dy);
  if (d < 1e-9) return { ...tip };
  return { x: tip.x + (dx / d) * length, y: tip.y + (dy / d) * length };
}

/** Everything the billiards overlay draws, in frame pixels (empty without a table). */
export function billiardsDrawing(results: Obj): BilliardsDrawing {
  const table = readTable(results);
  const out: BilliardsDrawing = { table, balls: [], cue: null, paths: [], collisions: [], pockets: [] };
  if (!table) return out;
  const toPx = (p: Point | null) => (p ? applyHomography(table.toImage, p) : null);

  const tracks = obj(results.ball_tracking);
  if (tracks && Array.isArray(tracks.balls)) {
    for (const b of tracks.balls) {
      const o = obj(b);
      if (!o || o.pocketed === true || typeof o.id !== 'string') continue;
      const at = toPx(xy(o));
      if (at) out.balls.push({ id: o.id, at, atRest: o.at_rest === true });
    }
  }

  const cue = obj(results.cue_detection);
  if (cue && cue.visible === true) {
    const tip = pair(cue.tip_px);
    const butt = pair(cue.butt_px);
    // The aim line reaches across the table: its diagonal in pixels.
    const [c0, , c2] = table.corners;
    const reach = c0 && c2 ? Math.hypot(c2.x - c0.x, c2.y - c0.y) : 1000;
    if (tip && butt) out.cue = { tip, butt, aimEnd: aimLine(tip, butt, reach) };
  }

  const pred = obj(results.trajectory);
  if (pred && pred.active === true) {
    for (const p of Array.isArray(pred.paths) ? pred.paths : []) {
      const o = obj(p);
      if (!o || typeof o.id !== 'string' || !Array.isArray(o.points)) continue;
      const points = o.points.map((q) => toPx(pair(q))).filter((q): q is Point => q !== null);
      if (points.length >= 2) out.paths.push({ id: o.id, points });
    }
    for (const c of Array.isArray(pred.collisions) ? pred.collisions : []) {
      const o = obj(c);
      const at = toPx(xy(o));
      if (o && at) out.collisions.push({ at, label: typeof o.type === 'string' ? o.type : '' });
    }
    for (const c of Array.isArray(pred.pockets) ? pred.pockets : []) {
      const o = obj(c);
      const at = toPx(xy(o));
      if (o && at) out.pockets.push({ at, label: typeof o.ball === 'string' ? o.ball : '' });
    }
  }
  return out;
}

/** The game of `game_state` (null without the stage): feed events newest first. */
export function readGame(results: Obj, ns = 'game_state'): GameView | null {
  const g = obj(results[ns]);
  if (!g) return null;
  const events: GameEvent[] = [];
  for (const e of Array.isArray(g.recent) ? g.recent : []) {
    const o = obj(e);
    if (!o || typeof o.kind !== 'string' || !FEED_KINDS.has(o.kind)) continue;
    const balls = Array.isArray(o.balls) ? o.balls.map((b) => (typeof b === 'string' ? b : '')) : [];
    events.push({ kind: o.kind, frame_id: num(o.frame_id) ?? 0, t_ns: num(o.t_ns) ?? 0, balls: [balls[0] ?? '', balls[1] ?? ''] });
  }
  events.reverse();
  return {
    phase: typeof g.phase === 'string' ? g.phase : '',
    shots: num(g.shots) ?? 0,
    ballsOnTable: num(g.balls_on_table) ?? 0,
    pocketed: Array.isArray(g.pocketed) ? g.pocketed.filter((b): b is string => typeof b === 'string') : [],
    events,
    sequence: num(g.sequence) ?? 0,
  };
}

const ballName = (id: string) => (id === 'cue' ? 'cue ball' : /^\d+$/.test(id) ? `${id} ball` : id);

/** One line of the events feed. */
export function formatEvent(e: GameEvent): string {
  const [a, b] = e.balls;
  switch (e.kind) {
    case 'shot_started':
      return 'Shot started';
    case 'ball_collision':
      return `Collision: ${ballName(a)} – ${ballName(b)}`;
    case 'cushion':
      return `Cushion: ${ballName(a)} off the ${b} rail`;
    case 'pocketed':
      return `Pocketed: ${ballName(a)}`;
    case 'scratch':
      return 'Scratch: cue ball pocketed';
    case 'balls_at_rest':
      return 'Balls at rest';
    default:
      return [e.kind, a, b].filter(Boolean).join(' ');
  }
}

/**
 * Why four corners are not a usable calibration (the server refuses the same), or null:
 * the wrong count, or not a convex quadrilateral in the order given.
 */
export function quadProblem(c: Point[]): string | null {
  if (c.length !== 4) return `needs 4 corners, has ${c.length}`;
  let sign = 0;
  for (let i = 0; i < 4; i++) {
    const a = c[i]!;
    const b = c[(i + 1) % 4]!;
    const d = c[(i + 2) % 4]!;
    const cross = (b.x - a.x) * (d.y - b.y) - (b.y - a.y) * (d.x - b.x);
    if (Math.abs(cross) < 1e-6) return 'three corners on a line';
    const s = Math.sign(cross);
    if (sign !== 0 && s !== sign) return 'not a convex quadrilateral (click the corners in order around the table)';
    sign = s;
  }
  return null;
}

/** Corners rounded to 0.1 px, as `PUT /api/v1/calibration` takes them. */
export function calibrationBody(c: Point[]): { corners: [number, number][] } {
  const r = (v: number) => Math.round(v * 10) / 10;
  return { corners: c.map((p) => [r(p.x), r(p.y)]) };
}
