import { describe, expect, it } from 'vitest';
import { angleAt, arcAt, distance, fitFrame, formatToolValue, nearest, toCanvas, toFrame } from './geometry';
import { freshId, Interaction } from './interaction';
import { namedPoints, readBlobCount, readBlobs, readKeypoints, readMarkers, readTools } from './results';
import { skeletonEdges } from './skeleton';
import { sparklinePoints, Ring } from './history';
import { parseVideoFrame, encodeVideoFrame } from './video';

describe('frame ↔ canvas', () => {
  it('letterboxes and maps both ways', () => {
    const f = fitFrame(640, 480, 1280, 720);
    expect(f.scale).toBe(1.5);
    expect(f.offsetX).toBe(160);
    expect(f.offsetY).toBe(0);
    const c = toCanvas({ x: 100, y: 200 }, f);
    expect(c).toEqual({ x: 310, y: 300 });
    expect(toFrame(c, f)).toEqual({ x: 100, y: 200 });
  });
});

describe('math', () => {
  it('angles and distances', () => {
    expect(angleAt({ x: 10, y: 0 }, { x: 0, y: 0 }, { x: 0, y: 10 })).toBeCloseTo(90);
    expect(angleAt({ x: 10, y: 0 }, { x: 0, y: 0 }, { x: -10, y: 0 })).toBeCloseTo(180);
    expect(distance({ x: 0, y: 0 }, { x: 3, y: 4 })).toBe(5);
    expect(arcAt({ x: 10, y: 0 }, { x: 0, y: 0 }, { x: 0, y: 10 }).anticlockwise).toBe(false);
    expect(arcAt({ x: 0, y: 10 }, { x: 0, y: 0 }, { x: 10, y: 0 }).anticlockwise).toBe(true);
    expect(formatToolValue('angle', 93.44)).toBe('93.4°');
    expect(formatToolValue('distance', 12)).toBe('12.0 px');
    expect(formatToolValue('angle', null)).toBe('—');
  });

  it('nearest within a radius', () => {
    const pts: [string, { x: number; y: number }][] = [['a', { x: 0, y: 0 }], ['b', { x: 10, y: 0 }]];
    expect(nearest({ x: 8, y: 1 }, pts, 5)).toBe('b');
    expect(nearest({ x: 50, y: 50 }, pts, 5)).toBeNull();
  });
});

const results = {
  blob_detection: { blobs: [{ id: 0, x: 10, y: 20, area: 30, bbox: { x: 5, y: 15, w: 10, h: 10 } }, { id: 1, x: 'bad' }], count: 1 },
  marker_manager: { markers: { m2: { x: 1, y: 2, label: 'knee', attached: true, blob: 0 }, m1: { x: 3, y: 4, label: 'm1', attached: false, blob: null } } },
  geometry: { angle_1: { type: 'angle', points: ['m1', 'knee', 'blob_0'], value: 92.5, valid: true, color: '#f00', min: 80, max: 100, mean: 90, reference: null }, junk: 3 },
  vision: { keypoints: [{ id: 'left_hip', x: 1, y: 1, score: 0.9 }, { id: 'left_knee', x: 1, y: 5, score: 0.8 }] },
};

describe('result readers', () => {
  it('read blobs, markers, tools and keypoints defensively', () => {
    expect(readBlobs(results)).toEqual([{ id: 0, x: 10, y: 20, area: 30, bbox: { x: 5, y: 15, w: 10, h: 10 } }]);
    expect(readBlobCount(results)).toBe(1);
    expect(readBlobCount({})).toBeNull();
    expect(readMarkers(results).map((m) => m.id)).toEqual(['m1', 'm2']);
    expect(readTools(results)).toHaveLength(1);
    expect(readTools(results)[0]).toMatchObject({ id: 'angle_1', value: 92.5, min: 80, max: 100 });
    expect(readKeypoints(results).map((k) => k.id)).toEqual(['left_hip', 'left_knee']);
    expect(readMarkers({ marker_manager: 5 })).toEqual([]);
  });

  it('names points like the server: marker ids and labels, blob_N, keypoint ids', () => {
    const pts = namedPoints(results);
    expect(pts.get('knee')).toMatchObject({ x: 1, y: 2 });
    expect(pts.get('m2')).toMatchObject({ x: 1, y: 2 });
    expect(pts.get('blob_0')).toMatchObject({ x: 10, y: 20 });
    expect(pts.get('left_knee')).toMatchObject({ x: 1, y: 5 });
  });

  it('skeleton edges by name or COCO index', () => {
    expect(skeletonEdges(['left_hip', 'left_knee', 'nose'])).toEqual([['left_hip', 'left_knee']]);
    expect(skeletonEdges(['11', '13'])).toEqual([['11', '13']]);
  });
});

describe('interaction', () => {
  it('collects the points a tool needs', () => {
    const ix = new Interaction();
    ix.startTool('angle');
    expect(ix.pick('a')).toBeNull();
    expect(ix.pick('b')).toBeNull();
    expect(ix.pick('c')).toEqual(['a', 'b', 'c']);
    expect(ix.getState().mode.kind).toBe('idle');
    ix.startTool('distance');
    expect(ix.pick('a')).toBeNull();
    ix.cancel();
    expect(ix.pick('b')).toBeNull();
    expect(freshId('m', ['m1', 'm3'])).toBe('m2');
  });
});

describe('history and video', () => {
  it('ring and sparkline', () => {
    const r = new Ring(3);
    [1, 2, 3, 4].forEach((v) => r.push(v));
    expect(r.values()).toEqual([2, 3, 4]);
    expect(r.max()).toBe(4);
    expect(r.mean()).toBe(3);
    expect(sparklinePoints([0, 2], 10, 10)).toBe('0.0,10.0 10.0,0.0');
  });

  it('video header round trip', () => {
    const buf = encodeVideoFrame({ frameId: 42, cameraId: 1, width: 640, height: 480 }, new Uint8Array([1, 2]));
    expect(parseVideoFrame(buf)).toMatchObject({ frameId: 42, cameraId: 1, width: 640, height: 480 });
    const bad = new Uint8Array(buf.slice(0));
    bad[0] = 0;
    expect(parseVideoFrame(bad.buffer)).toBeNull();
  });
});

describe('auth token', async () => {
  const { authToken, withToken } = await import('./auth');
  it('comes from ?token= once and is kept for the session', () => {
    const m = new Map<string, string>();
    const store = { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v) };
    expect(authToken({ search: '' }, store)).toBeNull();
    expect(authToken({ search: '?token=s3cret' }, store)).toBe('s3cret');
    expect(authToken({ search: '' }, store)).toBe('s3cret');
    expect(withToken('ws://h/ws/stream', 'a b')).toBe('ws://h/ws/stream?token=a%20b');
    expect(withToken('ws://h/ws/stream', null)).toBe('ws://h/ws/stream');
  });
});
