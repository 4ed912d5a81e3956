import { describe, expect, it } from 'vitest';
import type { FusionResult } from '../protocol/FusionResult';
import { addTrigger, attachClip, clipOf, MAX_HIGHLIGHTS, phaseLabel, ruleRows } from './highlights';
import { recordingsView } from './recordings';

const fire = (rule: string, frame: number, clip_label?: string, edge: FusionResult['trigger']['edge'] = 'rise'): FusionResult => ({
  should_trigger: true,
  score: 1,
  reason: `${rule}: knee_angle=75.0 < 80`,
  trigger: { rule, source: 'camera_0', frame_id: frame as unknown as bigint, t_ns: 0 as unknown as bigint, edge, clip_label },
});

const saved = (id: string, label: string) => ({ id, source: 'camera_0', label, path: `clips/${id}.mp4`, duration_s: 2, frames: 60 as unknown as bigint });

describe('highlights', () => {
  it('lists triggers newest first, bounded, without duplicates', () => {
    let l = addTrigger([], fire('deep_knee', 10, 'deep_knee@camera_0:10'));
    l = addTrigger(l, fire('open_knee', 12, undefined, 'begin'));
    l = addTrigger(l, fire('open_knee', 12, undefined, 'begin'));
    expect(l.map((e) => [e.rule, e.frameId, e.edge])).toEqual([
      ['open_knee', 12, 'begin'],
      ['deep_knee', 10, 'rise'],
    ]);
    expect(l[1]!.clipLabel).toBe('deep_knee@camera_0:10');
    expect(l[0]!.clipLabel).toBeNull();
    for (let i = 0; i < 2 * MAX_HIGHLIGHTS; i++) l = addTrigger(l, fire('r', 100 + i));
    expect(l).toHaveLength(MAX_HIGHLIGHTS);
    expect(l[0]!.frameId).toBe(100 + 2 * MAX_HIGHLIGHTS - 1);
  });

  it('joins a saved clip to the triggers that asked for it, and to no other', () => {
    let l = addTrigger([], fire('deep_knee', 10, 'deep_knee@camera_0:10'));
    l = addTrigger(l, fire('other', 11, 'other@camera_0:11'));
    const same = attachClip(l, saved('c9', 'not-ours'));
    expect(same).toBe(l);
    l = attachClip(l, saved('c1', 'deep_knee@camera_0:10'));
    expect(l.find((e) => e.rule === 'deep_knee')?.clipId).toBe('c1');
    expect(l.find((e) => e.rule === 'other')?.clipId).toBeNull();
    expect(attachClip(l, saved('c1', 'deep_knee@camera_0:10'))).toBe(l);
  });

  it('finds the playable clip in the recordings listing once listed', () => {
    let l = addTrigger([], fire('deep_knee', 10, 'deep_knee@camera_0:10'));
    l = attachClip(l, saved('c1', 'deep_knee@camera_0:10'));
    expect(clipOf(l[0]!, null)).toBeNull();
    const empty = recordingsView({ sessions: [] }, { clips: [] });
    expect(clipOf(l[0]!, empty)).toBeNull();
    const view = recordingsView(
      { sessions: [] },
      { clips: [{ id: 'c1', file: { name: 'c1.mp4', url: '/api/v1/clips/c1.mp4', bytes: 1000, content_type: 'video/mp4' }, meta: { label: 'deep_knee@camera_0:10', source: 'camera_0' } }] },
      'tok',
    );
    const clip = clipOf(l[0]!, view);
    expect(clip?.url).toContain('/api/v1/clips/c1.mp4');
  });

  it('orders rule rows by source and names phases', () => {
    const rows = ruleRows({
      camera_1: [{ id: 'b', phase: 'active', fired: 1, last_frame_id: 5 }],
      camera_0: [{ id: 'a', phase: 'cooling_down', fired: 2, last_frame_id: 9 }],
    });
    expect(rows.map((r) => [r.source, r.id])).toEqual([
      ['camera_0', 'a'],
      ['camera_1', 'b'],
    ]);
    expect(phaseLabel('cooling_down')).toBe('cooling down');
    expect(phaseLabel('armed')).toBe('armed');
  });
});
