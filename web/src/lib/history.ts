/** Fixed-size numeric history for the small per-stage charts. */
export class Ring {
  private readonly buf: number[] = [];
  constructor(private readonly capacity = 120) {}

  push(v: number): void {
    this.buf.push(v);
    if (this.buf.length > this.capacity) this.buf.splice(0, this.buf.length - this.capacity);
  }

  values(): readonly number[] {
    return this.buf;
  }

  get last(): number | undefined {
    return this.buf[this.buf.length - 1];
  }

  max(): number {
    return this.buf.reduce((m, v) => Math.max(m, v), 0);
  }

  mean(): number {
    return this.buf.length ? this.buf.reduce((s, v) => s + v, 0) / this.buf.length : 0;
  }
}

/** SVG polyline points for values scaled into w × h (y grows downwards). */
export function sparklinePoints(values: readonly number[], w: number, h: number, max?: number): string {
  if (values.length === 0) return '';
  const top = max ?? Math.max(...values, 1e-9);
  const dx = values.length > 1 ? w / (values.length - 1) : 0;
  return values
    .map((v, i) => `${(i * dx).toFixed(1)},${(h - (Math.min(v, top) / top) * h).toFixed(1)}`)
    .join(' ');
}
