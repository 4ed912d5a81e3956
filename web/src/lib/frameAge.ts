/**
 * Frame age at result for "Use my webcam" (seed 003's end-to-end latency): from the moment
 * the page grabs a frame from the camera to the moment the snapshot made from that frame
 * arrives back, both on the page's clock (`performance.now()`).
 *
 * How a snapshot is tied to the frame it came from: `/ws/ingest` answers every message, in
 * order, and an `ack` carries `result.t_ns = [lo, hi]`, the range of the runtime's clock in
 * which the source stamped that frame; the snapshot's `t_ns` is that stamp. Frames the
 * latest-wins slot replaced never get a snapshot and are simply forgotten.
 */

/** A percentile summary of recent ages, in milliseconds. */
export interface AgeStats {
  /** Frames whose result came back (of the last `keep`). */
  n: number;
  p50: number;
  p99: number;
  max: number;
}

interface Acked {
  lo: number;
  hi: number;
  /** When the page grabbed the frame (ms, page clock). */
  grabbed: number;
}

/** Percentile `q` (0..1) of `xs` by the nearest-rank rule; NaN when empty. */
export function percentile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const rank = Math.min(s.length, Math.max(1, Math.ceil(q * s.length)));
  return s[rank - 1] as number;
}

export class FrameAges {
  /** Grab times of frames sent and not yet answered, in send order. */
  private readonly unanswered: number[] = [];
  /** Acked frames not yet matched to a snapshot, oldest first. */
  private acked: Acked[] = [];
  /** Snapshots that arrived before their frame's ack (another socket): `t_ns`, arrival. */
  private early: { t: number; at: number }[] = [];
  private readonly ages: number[] = [];

  /** `keep`: how many recent ages the statistics cover. */
  constructor(private readonly keep = 500) {}

  /** A frame grabbed at `grabbed` (ms) was sent. */
  sent(grabbed: number): void {
    this.unanswered.push(grabbed);
  }

  /** The server answered the oldest unanswered frame (`ack` or `error`, as parsed JSON). */
  answered(reply: { type?: unknown; result?: unknown }): void {
    const grabbed = this.unanswered.shift();
    if (grabbed === undefined || reply.type !== 'ack') return;
    const w = (reply.result as { t_ns?: unknown } | null | undefined)?.t_ns;
    if (!Array.isArray(w) || typeof w[0] !== 'number' || typeof w[1] !== 'number') return;
    const a: Acked = { lo: w[0], hi: w[1], grabbed };
    const i = this.early.findIndex((e) => e.t >= a.lo && e.t <= a.hi);
    if (i >= 0) {
      this.record(this.early[i]!.at - grabbed);
      this.early = this.early.slice(i + 1);
      return;
    }
    this.acked.push(a);
    if (this.acked.length > 256) this.acked.shift();
  }

  /** A snapshot of the webcam's source with capture time `t_ns` arrived at `now` (ms). */
  result(t_ns: number, now: number): number | null {
    const i = this.acked.findIndex((a) => t_ns >= a.lo && t_ns <= a.hi);
    if (i < 0) {
      // Its ack is still on the way (newer than every ack seen), or it is not our frame.
      const last = this.acked[this.acked.length - 1];
      if (!last || t_ns > last.hi) {
        this.early.push({ t: t_ns, at: now });
        if (this.early.length > 16) this.early.shift();
      }
      return null;
    }
    const age = now - this.acked[i]!.grabbed;
    // Results come in capture order: older frames were replaced in the slot.
    this.acked = this.acked.slice(i + 1);
    this.record(age);
    return age;
  }

  /** Percentiles over the last `keep` ages (null before the first result). */
  stats(): AgeStats | null {
    if (this.ages.length === 0) return null;
    return {
      n: this.ages.length,
      p50: percentile(this.ages, 0.5),
      p99: percentile(this.ages, 0.99),
      max: Math.max(...this.ages),
    };
  }

  /** Forgets everything (a new webcam session). */
  reset(): void {
    this.unanswered.length = 0;
    this.acked = [];
    this.early = [];
    this.ages.length = 0;
  }

  private record(age: number): void {
    this.ages.push(age);
    if (this.ages.length > this.keep) this.ages.shift();
  }
}
