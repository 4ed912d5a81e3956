/**
 * Smooth overlays at display rate (seed 003): keep the last two results and blend them by the
 * time elapsed since the newest arrived, relative to the interval between the two.
 * t = 0 shows the previous result, t = 1 the latest; after that the latest is held.
 */

/** Keys whose numbers are identities or counts, never blended. */
const DISCRETE_KEYS = new Set(['id', 'count', 'frame_id', 'sequence', 'blob', 'camera_id']);

export function lerp(a: number, b: number, t: number): number {
  return a + (b - a) * t;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function idOf(v: unknown): string | null {
  if (!isPlainObject(v)) return null;
  const id = v.id;
  return typeof id === 'string' || typeof id === 'number' ? String(id) : null;
}

/**
 * Blends two JSON values of the same shape: numbers are interpolated, arrays of objects with an
 * `id` are matched by id (else by index when the lengths agree), objects key by key. Anything
 * that appears only in `next`, or changes type, is taken from `next` as it is.
 */
export function interpolateValue(prev: unknown, next: unknown, t: number, key?: string): unknown {
  if (t >= 1 || prev === next) return next;
  if (typeof next === 'number' && typeof prev === 'number') {
    if (!Number.isFinite(prev) || !Number.isFinite(next) || (key && DISCRETE_KEYS.has(key))) return next;
    return lerp(prev, next, Math.max(0, t));
  }
  if (Array.isArray(next) && Array.isArray(prev)) {
    const byId = new Map<string, unknown>();
    for (const p of prev) {
      const id = idOf(p);
      if (id !== null) byId.set(id, p);
    }
    if (byId.size > 0) {
      return next.map((n) => {
        const id = idOf(n);
        const p = id === null ? undefined : byId.get(id);
        return p === undefined ? n : interpolateValue(p, n, t);
      });
    }
    if (prev.length === next.length) return next.map((n, i) => interpolateValue(prev[i], n, t));
    return next;
  }
  if (isPlainObject(next) && isPlainObject(prev)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(next)) {
      out[k] = k in prev ? interpolateValue(prev[k], next[k], t, k) : next[k];
    }
    return out;
  }
  return next;
}

export interface Sample<T> {
  value: T;
  /** Blend factor used, 0..1. */
  t: number;
}

/** The last two values with their arrival times; samples a blend at any later time. */
export class InterpolationBuffer<T> {
  private prev: { value: T; at: number } | null = null;
  private latest: { value: T; at: number } | null = null;

  /** Longer gaps than this are not interpolated (a pause, a reconnect). */
  constructor(private readonly maxIntervalMs = 500) {}

  push(value: T, at: number): void {
    this.prev = this.latest;
    this.latest = { value, at };
  }

  reset(): void {
    this.prev = this.latest = null;
  }

  get current(): T | null {
    return this.latest?.value ?? null;
  }

  /** Blend factor at `now`: how far we are through the latest interval. */
  factor(now: number): number {
    if (!this.prev || !this.latest) return 1;
    const interval = this.latest.at - this.prev.at;
    if (interval <= 0 || interval > this.maxIntervalMs) return 1;
    return Math.min(1, Math.max(0, (now - this.latest.at) / interval));
  }

  sample(now: number): Sample<T> | null {
    if (!this.latest) return null;
    const t = this.factor(now);
    if (!this.prev || t >= 1) return { value: this.latest.value, t: 1 };
    return { value: interpolateValue(this.prev.value, this.latest.value, t) as T, t };
  }
}

/**
 * Results of recent frames by (camera, frame id), so overlays can be drawn with the results of
 * exactly the video frame on screen: the preview arrives later and slower than snapshots, and
 * the newest results drawn over an older picture sit beside what they measured.
 */
export class FrameHistory<T> {
  private readonly byFrame = new Map<string, T>();

  constructor(private readonly capacity = 90) {}

  push(cameraId: number, frameId: number, value: T): void {
    const key = `${cameraId}:${frameId}`;
    this.byFrame.delete(key);
    this.byFrame.set(key, value);
    while (this.byFrame.size > this.capacity) {
      const oldest = this.byFrame.keys().next().value;
      if (oldest === undefined) break;
      this.byFrame.delete(oldest);
    }
  }

  get(cameraId: number, frameId: number): T | undefined {
    return this.byFrame.get(`${cameraId}:${frameId}`);
  }

  clear(): void {
    this.byFrame.clear();
  }

  get size(): number {
    return this.byFrame.size;
  }
}
