import { describe, expect, it } from 'vitest';
import { findPlots, formatHz, MAX_POINTS } from './plots';

describe('findPlots', () => {
  it('finds spectra and time series at the top of a namespace or one level in', () => {
    const results = {
      fft: { shape: 'spectrum', df_hz: 10, values: [-80, -20, -60], db: true, peak_hz: 10, peak: -20, averaged: 1 },
      stats: { mean: 1, series: { shape: 'time_series', t0_s: 2, dt_s: 0.5, values: [1, 2, 3], unit: 'V' } },
      blob_detection: { count: 3, blobs: [] },
      odd: { shape: 'unknown', values: [1] },
      empty: { shape: 'spectrum', df_hz: 1, values: [] },
    };
    const plots = findPlots(results);
    expect(plots.map((p) => p.key)).toEqual(['fft', 'stats.series']);
    expect(plots[0]).toMatchObject({ kind: 'spectrum', x: [0, 10, 20], y: [-80, -20, -60], yLabel: 'dB', note: 'peak 10.00 Hz at -20.0 dB' });
    expect(plots[1]).toMatchObject({ kind: 'time_series', x: [2, 2.5, 3], y: [1, 2, 3], yLabel: 'V', note: 'last 3.000 V' });
  });

  it('strides long series to at most MAX_POINTS, keeping the x of each point', () => {
    const n = MAX_POINTS * 2 + 1;
    const [p] = findPlots({ fft: { shape: 'spectrum', df_hz: 2, values: Array.from({ length: n }, (_, i) => i), db: false } });
    expect(p!.y.length).toBeLessThanOrEqual(MAX_POINTS);
    expect(p!.x[1]).toBe(p!.y[1]! * 2);
    expect(p!.yLabel).toBe('magnitude');
  });

  it('turns non-numbers into gaps and skips shapes without their axis', () => {
    const [p] = findPlots({ s: { shape: 'time_series', dt_s: 1, values: [1, null, 'x', 4] } });
    expect(p!.y).toEqual([1, Number.NaN, Number.NaN, 4]);
    expect(findPlots({ s: { shape: 'time_series', values: [1] } })).toEqual([]);
    expect(findPlots(undefined)).toEqual([]);
  });

  it('formats frequencies', () => {
    expect(formatHz(440)).toBe('440.0 Hz');
    expect(formatHz(12_500)).toBe('12.50 kHz');
    expect(formatHz(1_000_000)).toBe('1.000 MHz');
  });
});
