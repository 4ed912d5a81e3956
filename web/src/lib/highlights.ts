/**
 * The highlights panel's model: triggers as they arrive on `/ws/stream` (seed 004's
 * `FusionResult`), each joined to the clip its rule asked for once `clip_saved` says it is
 * written, and every rule's phase per source from the snapshots' `rules`.
 */
import type { ClipSaved } from '../protocol/ClipSaved';
import type { FusionResult } from '../protocol/FusionResult';
import type { RuleStatus } from '../protocol/RuleStatus';
import type { TriggerEdge } from '../protocol/TriggerEdge';
import type { PlayItem, RecordingsView } from './recordings';

/** One trigger as the panel lists it. */
export interface HighlightEntry {
  key: string;
  rule: string;
  source: string;
  frameId: number;
  edge: TriggerEdge;
  score: number;
  reason: string;
  /** Label of the clip the trigger asked for (`null`: no `save_clip` action). */
  clipLabel: string | null;
  /** Id of that clip once it is saved. */
  clipId: string | null;
}

/** A rule's row: which source it watches and where it stands. */
export interface RuleRow extends RuleStatus {
  source: string;
}

export const MAX_HIGHLIGHTS = 50;

/** The list with `r` added at the top (newest first), at most `MAX_HIGHLIGHTS` long. */
export function addTrigger(list: HighlightEntry[], r: FusionResult): HighlightEntry[] {
  const t = r.trigger;
  const entry: HighlightEntry = {
    key: `${t.rule}@${t.source}:${String(t.frame_id)}:${t.edge}`,
    rule: t.rule,
    source: t.source,
    frameId: Number(t.frame_id),
    edge: t.edge,
    score: r.score,
    reason: r.reason,
    clipLabel: t.clip_label ?? null,
    clipId: null,
  };
  return [entry, ...list.filter((e) => e.key !== entry.key)].slice(0, MAX_HIGHLIGHTS);
}

/**
 * The list with the saved clip joined to every trigger that asked for it (overlapping
 * triggers extend one clip, so several entries may share it); the same list when none did.
 */
export function attachClip(list: HighlightEntry[], c: ClipSaved): HighlightEntry[] {
  if (!c.label || !list.some((e) => e.clipLabel === c.label && e.clipId !== c.id)) return list;
  return list.map((e) => (e.clipLabel === c.label ? { ...e, clipId: c.id } : e));
}

/** The playable clip of an entry, from the recordings listing (null until listed). */
export function clipOf(e: HighlightEntry, view: RecordingsView | null): PlayItem | null {
  if (!e.clipId || !view) return null;
  return view.clips.find((c) => c.key === `clip:${e.clipId}`) ?? null;
}

/** Every source's rules in one list, ordered by source then config order. */
export function ruleRows(bySource: Record<string, RuleStatus[]>): RuleRow[] {
  return Object.keys(bySource)
    .sort()
    .flatMap((source) => (bySource[source] ?? []).map((r) => ({ ...r, source })));
}

/** How a phase reads in the panel. */
export function phaseLabel(phase: RuleStatus['phase']): string {
  return phase === 'cooling_down' ? 'cooling down' : phase;
}

/** How an edge reads in the panel (`while_active` rules report begin, update and end). */
export function edgeLabel(edge: TriggerEdge): string {
  return edge === 'rise' ? 'fired' : edge;
}
