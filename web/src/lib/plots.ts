/**
 * Results of well-known shapes, found anywhere in a snapshot's results and turned into plot
 * series with no per-stage code: `{"shape":"time_series","t0_s","dt_s","values","unit"}` and
 * `{"shape":"spectrum","df_hz","values","db","peak_hz","peak"}` (crates/stages/src/signal/shapes.rs),
 * either as a namespace's result or one level inside it.
 */

export interface PlotSeries {
  /** `ns` or `ns.key`. */
  key: string;
  kind: 'time_series' | 'spectrum';
  x: number[];
  y: number[];
  xLabel: string;
  yLabel: string;
  /** A one-line summary (peak of a spectrum, last value of a series). */
  note: string;
}

/** Points drawn at most per plot (longer series are strided). */
export const MAX_POINTS = 4096;

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const obj = (v: unknown): Record<string, unknown> | null =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;

function values(v: unknown): number[] | null {
  if (!Array.isArray(v)) return null;
  return v.map((x) => (typeof x === 'number' && Number.isFinite(x) ? x : Number.NaN));
}

function series(key: string, o: Record<string, unknown>): PlotSeries | null {
  const ys = values(o.values);
  if (!ys || ys.length === 0) return null;
  const stride = Math.ceil(ys.length / MAX_POINTS);
  const idx = Array.from({ length: Math.ceil(ys.length / stride) }, (_, i) => i * stride);
  const y = idx.map((i) => ys[i] ?? Number.NaN);
  if (o.shape === 'spectrum') {
    const df = num(o.df_hz);
    if (df === null) return null;
    const db = o.db === true;
    const peakHz = num(o.peak_hz);
    const peak = num(o.peak);
    return {
      key,
      kind: 'spectrum',
      x: idx.map((i) => i * df),
      y,
      xLabel: 'Hz',
      yLabel: db ? 'dB' : 'magnitude',
      note: peakHz !== null && peak !== null ? `peak ${formatHz(peakHz)} at ${peak.toFixed(1)}${db ? ' dB' : ''}` : '',
    };
  }
  if (o.shape === 'time_series') {
    const t0 = num(o.t0_s) ?? 0;
    const dt = num(o.dt_s);
    if (dt === null) return null;
    const unit = typeof o.unit === 'string' ? o.unit : '';
    const last = ys[ys.length - 1];
    return {
      key,
      kind: 'time_series',
      x: idx.map((i) => t0 + i * dt),
      y,
      xLabel: 's',
      yLabel: unit,
      note: last !== undefined && Number.isFinite(last) ? `last ${last.toPrecision(4)} ${unit}`.trim() : '',
    };
  }
  return null;
}

/** Every plottable result, sorted by key. */
export function findPlots(results: Record<string, unknown> | undefined): PlotSeries[] {
  const out: PlotSeries[] = [];
  for (const [ns, v] of Object.entries(results ?? {})) {
    const o = obj(v);
    if (!o) continue;
    if (typeof o.shape === 'string') {
      const s = series(ns, o);
      if (s) out.push(s);
      continue;
    }
    for (const [k, inner] of Object.entries(o)) {
      const io = obj(inner);
      if (io && typeof io.shape === 'string') {
        const s = series(`${ns}.${k}`, io);
        if (s) out.push(s);
      }
    }
  }
  return out.sort((a, b) => a.key.localeCompare(b.key));
}

/** `440 Hz`, `12.5 kHz`. */
export function formatHz(hz: number): string {
  if (Math.abs(hz) >= 1e6) return `${(hz / 1e6).toPrecision(4)} MHz`;
  if (Math.abs(hz) >= 1e3) return `${(hz / 1e3).toPrecision(4)} kHz`;
  return `${hz.toPrecision(4)} Hz`;
}
