import { describe, expect, it } from 'vitest';
import {
  aimLine,
  applyHomography,
  billiardsDrawing,
  calibrationBody,
  formatEvent,
  quadProblem,
  readGame,
  readTable,
  type GameEvent,
} from './billiards';
// One snapshot of `framebus run examples/billiards.toml` (frame 37, the cue aimed; paths
// thinned to every 4th point).
import snapshot from './fixtures/billiards_snapshot.json';
import { Interaction } from './interaction';

const results = snapshot.results as Record<string, unknown>;
const L = 1.9812;
const W = 0.9906;

describe('table → image homography', () => {
  it('maps the playing-area corners in metres onto the detected corners in pixels', () => {
    const t = readTable(results);
    expect(t).not.toBeNull();
    const metres = [
      { x: 0, y: 0 },
      { x: L, y: 0 },
      { x: L, y: W },
      { x: 0, y: W },
    ];
    metres.forEach((m, i) => {
      const p = applyHomography(t!.toImage, m)!;
      expect(Math.abs(p.x - t!.corners[i]!.x)).toBeLessThan(0.5);
      expect(Math.abs(p.y - t!.corners[i]!.y)).toBeLessThan(0.5);
    });
  });

  it('applies the projective divide', () => {
    // x' = (2x + 1) / (0.5x + 1), y' = y / (0.5x + 1)
    const h = [2, 0, 1, 0, 1, 0, 0.5, 0, 1];
    expect(applyHomography(h, { x: 2, y: 4 })).toEqual({ x: 2.5, y: 2 });
    expect(applyHomography([1, 0, 0, 0, 1, 0, 0, 0, 0], { x: 1, y: 1 })).toBeNull();
  });

  it('is null without a found table or with a malformed homography', () => {
    expect(readTable({})).toBeNull();
    expect(readTable({ table_detection: { found: false } })).toBeNull();
    expect(readTable({ table_detection: { found: true, to_image: [1, 2, 3] } })).toBeNull();
  });
});

describe('billiards drawing', () => {
  const d = billiardsDrawing(results);
  const tracks = (results.ball_tracking as { balls: { id: string; x: number; y: number; pocketed: boolean }[] }).balls;

  it('draws every ball on the table with its id, at its tracked position in pixels', () => {
    expect(d.balls.map((b) => b.id)).toEqual(tracks.filter((b) => !b.pocketed).map((b) => b.id));
    // The ball whose detection sits at the cue tip's aim: the cue ball, about 140 px ahead of the tip.
    const cue = d.balls.find((b) => b.id === 'cue' && b.at.x < 400)!;
    expect(cue.at.x).toBeGreaterThan(300);
    const t = readTable(results)!;
    for (const b of d.balls) {
      // Inside the playing area's bounding box.
      expect(b.at.x).toBeGreaterThan(t.corners[0]!.x);
      expect(b.at.x).toBeLessThan(t.corners[2]!.x);
      expect(b.at.y).toBeGreaterThan(t.corners[0]!.y);
      expect(b.at.y).toBeLessThan(t.corners[2]!.y);
    }
  });

  it('draws the cue line with an aim line from the tip away from the butt', () => {
    expect(d.cue).not.toBeNull();
    const { tip, butt, aimEnd } = d.cue!;
    const dirCue = Math.atan2(tip.y - butt.y, tip.x - butt.x);
    const dirAim = Math.atan2(aimEnd.y - tip.y, aimEnd.x - tip.x);
    expect(Math.abs(dirCue - dirAim)).toBeLessThan(1e-9);
    // The aim points at the cue ball: the cue ball lies within a ball radius of the aim line.
    const cue = d.balls.find((b) => b.id === 'cue' && b.at.x < 400)!;
    const ux = Math.cos(dirAim);
    const uy = Math.sin(dirAim);
    const off = Math.abs((cue.at.x - tip.x) * uy - (cue.at.y - tip.y) * ux);
    expect(off).toBeLessThan(readTable(results)!.ballRadiusPx);
  });

  it('maps every predicted path to pixels, starting at its ball', () => {
    const pred = results.trajectory as { paths: { id: string; points: number[][] }[] };
    expect(d.paths.length).toBe(pred.paths.length);
    const aimed = d.paths[0]!;
    expect(aimed.id).toBe('cue');
    const cue = d.balls.find((b) => b.id === 'cue' && b.at.x < 400)!;
    expect(Math.hypot(aimed.points[0]!.x - cue.at.x, aimed.points[0]!.y - cue.at.y)).toBeLessThan(1);
    // Collision points: one per predicted collision, a ball–ball among them.
    expect(d.collisions.length).toBe((results.trajectory as { collisions: unknown[] }).collisions.length);
    expect(d.collisions.some((c) => c.label === 'ball_ball')).toBe(true);
  });

  it('draws nothing without a table, and no prediction when inactive', () => {
    expect(billiardsDrawing({ ball_tracking: results.ball_tracking })).toEqual({
      table: null,
      balls: [],
      cue: null,
      paths: [],
      collisions: [],
      pockets: [],
    });
    const inactive = billiardsDrawing({ ...results, trajectory: { ...(results.trajectory as object), active: false } });
    expect(inactive.paths).toEqual([]);
    expect(inactive.balls.length).toBe(d.balls.length);
  });

  it('skips pocketed balls and malformed entries', () => {
    const r = {
      ...results,
      ball_tracking: { balls: [{ id: '3', x: 1, y: 0.5, pocketed: true }, { id: 7, x: 1, y: 0.5 }, { id: '9', x: 'a', y: 0.5 }, { id: '4', x: 1, y: 0.5 }] },
    };
    expect(billiardsDrawing(r).balls.map((b) => b.id)).toEqual(['4']);
  });
});

describe('aim line', () => {
  it('continues the cue from the tip', () => {
    expect(aimLine({ x: 10, y: 10 }, { x: 0, y: 10 }, 5)).toEqual({ x: 15, y: 10 });
    const p = aimLine({ x: 0, y: 0 }, { x: -3, y: -4 }, 10);
    expect(p.x).toBeCloseTo(6);
    expect(p.y).toBeCloseTo(8);
    expect(aimLine({ x: 1, y: 1 }, { x: 1, y: 1 }, 10)).toEqual({ x: 1, y: 1 });
  });
});

describe('game events feed', () => {
  const ev = (kind: string, frame_id: number, balls: [string, string] = ['', '']) => ({ kind, frame_id, t_ns: frame_id * 1000, balls });

  it('shows game events newest first, without state_updated and trajectory_calculated', () => {
    const g = readGame({
      game_state: {
        phase: 'moving',
        shots: 2,
        balls_on_table: 14,
        pocketed: ['3', 'cue'],
        sequence: 99,
        recent: [ev('shot_started', 10, ['cue', '']), ev('trajectory_calculated', 11), ev('ball_collision', 12, ['cue', '3']), ev('pocketed', 20, ['3', '']), ev('state_updated', 21)],
      },
    })!;
    expect(g.events.map((e) => e.kind)).toEqual(['pocketed', 'ball_collision', 'shot_started']);
    expect(g.shots).toBe(2);
    expect(g.pocketed).toEqual(['3', 'cue']);
    expect(g.phase).toBe('moving');
  });

  it('reads the real snapshot, and nothing without the stage', () => {
    const g = readGame(results)!;
    expect(g.events.every((e) => e.kind !== 'trajectory_calculated')).toBe(true);
    expect(readGame({})).toBeNull();
    expect(readGame({ game_state: { recent: [{ kind: 5 }, null] } })!.events).toEqual([]);
  });

  it('names the balls and rails', () => {
    const e = (kind: string, balls: [string, string]): GameEvent => ({ kind, frame_id: 1, t_ns: 0, balls });
    expect(formatEvent(e('ball_collision', ['cue', '9']))).toBe('Collision: cue ball – 9 ball');
    expect(formatEvent(e('cushion', ['8', 'top']))).toBe('Cushion: 8 ball off the top rail');
    expect(formatEvent(e('pocketed', ['12', '']))).toBe('Pocketed: 12 ball');
    expect(formatEvent(e('scratch', ['cue', '']))).toBe('Scratch: cue ball pocketed');
    expect(formatEvent(e('something_new', ['a', '']))).toBe('something_new a');
  });
});

describe('calibration corners', () => {
  const rect = [
    { x: 100, y: 90 },
    { x: 1175, y: 90 },
    { x: 1175, y: 628 },
    { x: 100, y: 628 },
  ];

  it('accepts a convex quadrilateral in either winding', () => {
    expect(quadProblem(rect)).toBeNull();
    expect(quadProblem([...rect].reverse())).toBeNull();
  });

  it('refuses a bow tie, three corners on a line and the wrong count', () => {
    expect(quadProblem([rect[0]!, rect[2]!, rect[1]!, rect[3]!])).toMatch(/convex/);
    expect(quadProblem([rect[0]!, { x: 600, y: 90 }, rect[1]!, rect[3]!])).toMatch(/line/);
    expect(quadProblem(rect.slice(0, 3))).toMatch(/4 corners/);
  });

  it('sends the corners rounded to a tenth of a pixel', () => {
    expect(calibrationBody([{ x: 100.04, y: 90.06 }, ...rect.slice(1)])).toEqual({
      corners: [
        [100, 90.1],
        [1175, 90],
        [1175, 628],
        [100, 628],
      ],
    });
  });
});

describe('calibration mode', () => {
  it('starts from the detected corners, adds clicked ones up to four, moves and clears them', () => {
    const ix = new Interaction();
    expect(ix.getState().calibration).toBeNull();
    ix.addCorner({ x: 1, y: 1 });
    expect(ix.getState().calibration).toBeNull();
    ix.startCalibration([{ x: 0, y: 0 }]);
    ix.moveCorner(0, { x: 5, y: 6 });
    ix.moveCorner(3, { x: 9, y: 9 });
    expect(ix.getState().calibration).toEqual([{ x: 5, y: 6 }]);
    for (let i = 0; i < 5; i++) ix.addCorner({ x: i, y: i });
    expect(ix.getState().calibration!.length).toBe(4);
    ix.clearCorners();
    expect(ix.getState().calibration).toEqual([]);
    ix.endCalibration();
    expect(ix.getState().calibration).toBeNull();
  });
});
