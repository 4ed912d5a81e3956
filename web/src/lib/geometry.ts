/** Frame ↔ canvas mapping, hit testing and the math the overlays draw. */
import type { Point } from './results';

export interface Fit {
  scale: number;
  offsetX: number;
  offsetY: number;
}

/** Letterboxes a frame of `fw × fh` into a canvas of `cw × ch` (contain, centred). */
export function fitFrame(fw: number, fh: number, cw: number, ch: number): Fit {
  if (fw <= 0 || fh <= 0) return { scale: 1, offsetX: 0, offsetY: 0 };
  const scale = Math.min(cw / fw, ch / fh);
  return { scale, offsetX: (cw - fw * scale) / 2, offsetY: (ch - fh * scale) / 2 };
}

export function toCanvas(p: Point, f: Fit): Point {
  return { x: f.offsetX + p.x * f.scale, y: f.offsetY + p.y * f.scale };
}

export function toFrame(p: Point, f: Fit): Point {
  return { x: (p.x - f.offsetX) / f.scale, y: (p.y - f.offsetY) / f.scale };
}

export function distance(a: Point, b: Point): number {
  return Math.hypot(b.x - a.x, b.y - a.y);
}

/** The inner angle at `b` of a–b–c, degrees in [0, 180]. */
export function angleAt(a: Point, b: Point, c: Point): number {
  const a1 = Math.atan2(a.y - b.y, a.x - b.x);
  const a2 = Math.atan2(c.y - b.y, c.x - b.x);
  let d = Math.abs(a1 - a2) * (180 / Math.PI);
  if (d > 180) d = 360 - d;
  return d;
}

/** Start and sweep (radians, canvas orientation) of the short arc at `b` between a and c. */
export function arcAt(a: Point, b: Point, c: Point): { start: number; end: number; anticlockwise: boolean } {
  const start = Math.atan2(a.y - b.y, a.x - b.x);
  const end = Math.atan2(c.y - b.y, c.x - b.x);
  let sweep = end - start;
  while (sweep <= -Math.PI) sweep += 2 * Math.PI;
  while (sweep > Math.PI) sweep -= 2 * Math.PI;
  return { start, end, anticlockwise: sweep < 0 };
}

/** The nearest of `points` to `p` within `radius`, by name. */
export function nearest(p: Point, points: Iterable<[string, Point]>, radius: number): string | null {
  let best: string | null = null;
  let bestD = radius;
  for (const [name, q] of points) {
    const d = distance(p, q);
    if (d <= bestD) {
      best = name;
      bestD = d;
    }
  }
  return best;
}

/** Formats a tool value with its unit. */
export function formatToolValue(type: string, v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  return type === 'distance' ? `${v.toFixed(1)} px` : `${v.toFixed(1)}°`;
}
