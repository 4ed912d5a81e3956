import { describe, expect, it } from 'vitest';
import { InterpolationBuffer, interpolateValue, lerp } from './interpolate';

describe('interpolateValue', () => {
  it('lerps numbers and keeps the rest from next', () => {
    expect(lerp(0, 10, 0.25)).toBe(2.5);
    expect(interpolateValue({ x: 0, y: 10, label: 'a' }, { x: 10, y: 20, label: 'b' }, 0.5)).toEqual({ x: 5, y: 15, label: 'b' });
  });

  it('matches array items by id, not by index', () => {
    const prev = [{ id: 0, x: 0 }, { id: 1, x: 100 }];
    const next = [{ id: 1, x: 200 }, { id: 2, x: 50 }];
    expect(interpolateValue(prev, next, 0.5)).toEqual([{ id: 1, x: 150 }, { id: 2, x: 50 }]);
  });

  it('never blends ids and counts, nor values that change type', () => {
    expect(interpolateValue({ count: 2, id: 1, v: null }, { count: 4, id: 3, v: 5 }, 0.5)).toEqual({ count: 4, id: 3, v: 5 });
    expect(interpolateValue([1, 2], [3, 4, 5], 0.5)).toEqual([3, 4, 5]);
    expect(interpolateValue([0, 10], [10, 20], 0.5)).toEqual([5, 15]);
  });

  it('blends nested results: markers by key, blobs by id', () => {
    const a = { marker_manager: { markers: { m1: { x: 0, y: 0 } } }, blob_detection: { blobs: [{ id: 0, x: 0, y: 0, bbox: { x: 0, y: 0, w: 2, h: 2 } }] } };
    const b = { marker_manager: { markers: { m1: { x: 4, y: 8 }, m2: { x: 1, y: 1 } } }, blob_detection: { blobs: [{ id: 0, x: 10, y: 10, bbox: { x: 10, y: 10, w: 4, h: 4 } }] } };
    expect(interpolateValue(a, b, 0.25)).toEqual({
      marker_manager: { markers: { m1: { x: 1, y: 2 }, m2: { x: 1, y: 1 } } },
      blob_detection: { blobs: [{ id: 0, x: 2.5, y: 2.5, bbox: { x: 2.5, y: 2.5, w: 2.5, h: 2.5 } }] },
    });
  });
});

describe('InterpolationBuffer', () => {
  it('goes from the previous to the latest result over one interval (seed 003)', () => {
    const buf = new InterpolationBuffer<{ x: number }>();
    expect(buf.sample(0)).toBeNull();
    buf.push({ x: 0 }, 1000);
    expect(buf.sample(1010)).toEqual({ value: { x: 0 }, t: 1 });
    buf.push({ x: 100 }, 1040); // interval 40 ms
    expect(buf.sample(1040)?.value.x).toBe(0);
    expect(buf.sample(1050)?.value.x).toBe(25);
    expect(buf.sample(1060)?.value.x).toBe(50);
    expect(buf.sample(1070)?.value.x).toBe(75);
    expect(buf.sample(1080)).toEqual({ value: { x: 100 }, t: 1 });
    expect(buf.sample(5000)?.value.x).toBe(100); // held
  });

  it('does not interpolate across long gaps and can be reset', () => {
    const buf = new InterpolationBuffer<{ x: number }>(500);
    buf.push({ x: 0 }, 0);
    buf.push({ x: 100 }, 2000);
    expect(buf.sample(2001)?.value.x).toBe(100);
    buf.reset();
    expect(buf.sample(3000)).toBeNull();
    expect(buf.current).toBeNull();
  });
});

describe('FrameHistory', async () => {
  const { FrameHistory } = await import('./interpolate');
  it('finds results by camera and frame, forgetting the oldest', () => {
    const h = new FrameHistory<string>(2);
    h.push(0, 1, 'a');
    h.push(1, 1, 'b');
    h.push(0, 2, 'c');
    expect(h.get(0, 1)).toBeUndefined();
    expect(h.get(1, 1)).toBe('b');
    expect(h.get(0, 2)).toBe('c');
    expect(h.size).toBe(2);
  });
});
