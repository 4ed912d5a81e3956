import { describe, expect, it } from 'vitest';
import { FrameAges, percentile } from './frameAge';

const ack = (lo: number, hi: number) => ({ type: 'ack', result: { received: 1, t_ns: [lo, hi] } });

describe('FrameAges', () => {
  it('ties each snapshot to the frame whose ack brackets its t_ns', () => {
    const a = new FrameAges();
    a.sent(100); // grabbed at 100 ms
    a.sent(166);
    a.answered(ack(1_000, 2_000));
    a.answered(ack(5_000, 6_000));
    expect(a.result(5_500, 230)).toBe(64); // the second frame: 230 - 166
    // The first frame was replaced in the latest-wins slot: a late t_ns of it matches nothing.
    expect(a.result(1_500, 240)).toBeNull();
    expect(a.stats()).toEqual({ n: 1, p50: 64, p99: 64, max: 64 });
  });

  it('skips refused frames in the answer order and ignores acks without t_ns', () => {
    const a = new FrameAges();
    a.sent(0);
    a.sent(10);
    a.sent(20);
    a.answered({ type: 'error', result: undefined }); // frame grabbed at 0 refused
    a.answered({ type: 'ack', result: { received: 2 } }); // a server without the clock
    a.answered(ack(300, 400));
    expect(a.result(350, 70)).toBe(50); // grabbed at 20
    expect(a.result(200, 80)).toBeNull();
  });

  it('matches a snapshot that arrives before its ack', () => {
    const a = new FrameAges();
    a.sent(1_000);
    expect(a.result(42, 1_045)).toBeNull();
    a.answered(ack(40, 50));
    expect(a.stats()?.p50).toBe(45);
  });

  it('an answer with nothing in flight changes nothing', () => {
    const a = new FrameAges();
    a.answered(ack(1, 2));
    expect(a.result(1, 10)).toBeNull();
    expect(a.stats()).toBeNull();
  });

  it('keeps only the last `keep` ages; reset forgets all', () => {
    const a = new FrameAges(3);
    for (let i = 0; i < 5; i++) {
      a.sent(i * 100);
      a.answered(ack(i * 10, i * 10 + 5));
      expect(a.result(i * 10 + 1, i * 100 + 10 * (i + 1))).toBe(10 * (i + 1));
    }
    expect(a.stats()).toEqual({ n: 3, p50: 40, p99: 50, max: 50 });
    a.reset();
    expect(a.stats()).toBeNull();
  });
});

describe('percentile', () => {
  it('nearest rank', () => {
    const xs = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1
    expect(percentile(xs, 0.5)).toBe(50);
    expect(percentile(xs, 0.99)).toBe(99);
    expect(percentile(xs, 1)).toBe(100);
    expect(percentile([7], 0.99)).toBe(7);
    expect(percentile([], 0.5)).toBeNaN();
  });
});
