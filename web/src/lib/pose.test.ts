import { describe, expect, it } from 'vitest';
import { AngleRanges, HAND_EDGES, HAND_POINTS, poseDrawing, readAngles, readHands } from './pose';

// Shaped as crates/stages/src/pose/blazepose.rs and hands.rs publish them.
const hand = (handedness: string, dx: number) => ({
  handedness,
  handedness_score: 0.9,
  score: 0.95,
  keypoints: HAND_POINTS.map((id, i) => ({ id, x: dx + i, y: 100 + i * 2, z: 0 })),
  world: [],
});
const results = {
  vision: {
    valid: true,
    keypoints: [
      { id: 'left_hip', x: 100, y: 200, z: 0, score: 0.9, visibility: 0.9 },
      { id: 'left_knee', x: 110, y: 300, z: 0, score: 0.9, visibility: 0.9 },
      { id: 'left_ankle', x: 100, y: 400, z: 0, score: 0.9, visibility: 0.9 },
      { id: 'right_knee', x: 150, y: 300, z: 0, score: 0.1, visibility: 0.1 },
    ],
    angles: { left_knee: 151.4, right_knee: 90, left_elbow: null, bogus: 'x' },
  },
  hands: { hands: [hand('left', 0), hand('right', 500)], detected: 2 },
};

describe('pose drawing model', () => {
  const d = poseDrawing(results);

  it('joins the body keypoints that are seen', () => {
    expect(d.body.points).toHaveLength(3); // right_knee is below the score floor
    expect(d.body.lines).toEqual([
      { a: { x: 100, y: 200 }, b: { x: 110, y: 300 } },
      { a: { x: 110, y: 300 }, b: { x: 100, y: 400 } },
    ]);
  });

  it('labels angles at their joints, only where the joint is seen', () => {
    expect(d.angles).toEqual([{ name: 'left_knee', deg: 151.4, x: 110, y: 300, text: '151°' }]);
    expect([...readAngles(results)]).toEqual([['left_knee', 151.4], ['right_knee', 90]]);
  });

  it('draws each hand with its 21 points and MediaPipe connections', () => {
    expect(d.hands.map((h) => h.handedness)).toEqual(['left', 'right']);
    const right = d.hands[1]!;
    expect(right.points).toHaveLength(21);
    expect(right.lines).toHaveLength(HAND_EDGES.length);
    // thumb_ip → thumb_tip (3 → 4)
    expect(right.lines[3]).toEqual({ a: { x: 503, y: 106 }, b: { x: 504, y: 108 } });
  });

  it('joins only the hand points present and tolerates junk', () => {
    const partial = { hands: { hands: [{ handedness: 'left', keypoints: [{ id: 'wrist', x: 1, y: 2 }, { id: 'thumb_cmc', x: 3, y: 4 }, { id: 'pinky_tip', x: 'no' }] }, 7] } };
    const [h] = readHands(partial);
    expect(h?.points).toHaveLength(2);
    expect(h?.lines).toEqual([{ a: { x: 1, y: 2 }, b: { x: 3, y: 4 } }]);
    expect(readHands({ hands: { hands: 'none' } })).toEqual([]);
    expect(poseDrawing({})).toEqual({ body: { points: [], lines: [] }, hands: [], angles: [] });
  });
});

describe('AngleRanges', () => {
  it('keeps current value and range per angle until reset', () => {
    const r = new AngleRanges();
    r.update(new Map([['left_knee', 150], ['left_hip', 80]]));
    r.update(new Map([['left_knee', 95.25]]));
    r.update(new Map([['left_knee', 120]]));
    expect(r.rows()).toEqual([
      { name: 'left_hip', value: '80.0°', range: '80–80°' },
      { name: 'left_knee', value: '120.0°', range: '95–150°' },
    ]);
    r.reset();
    expect(r.rows()).toEqual([]);
  });
});
