/** Canvas interaction state: the tool being built, the selected marker, drag overrides. */
import type { Point } from './results';
import type { ToolType } from './results';

export type Mode = { kind: 'idle' } | { kind: 'pick'; tool: ToolType; needed: number; picked: string[] };

export interface InteractionState {
  mode: Mode;
  selectedMarker: string | null;
  /** Attach markers added by clicking to the nearest blob. */
  attachNew: boolean;
  /**
   * Draw the results of the video frame on screen when they are known (aligned with the
   * picture); otherwise, and when off, blend the last two results (smooth at display rate).
   */
  lockToVideo: boolean;
  /**
   * Billiards calibration mode: the playing-area corners being edited (frame px, in order
   * from the origin corner), or null when not calibrating. Clicks add corners up to four;
   * dragging a corner moves it.
   */
  calibration: Point[] | null;
}

/** Points a tool needs: angle a–vertex–c, distance a–b, line angle a–b against a reference. */
export function pointsNeeded(tool: ToolType): number {
  return tool === 'angle' ? 3 : 2;
}

/** `prefix<n>` with the smallest n ≥ 1 not in `taken`. */
export function freshId(prefix: string, taken: Iterable<string>): string {
  const used = new Set(taken);
  for (let n = 1; ; n++) {
    const id = `${prefix}${n}`;
    if (!used.has(id)) return id;
  }
}

export class Interaction {
  private state: InteractionState = { mode: { kind: 'idle' }, selectedMarker: null, attachNew: false, lockToVideo: true, calibration: null };
  private readonly listeners = new Set<() => void>();
  /** Marker positions shown locally while dragging (and until the server catches up). */
  readonly overrides = new Map<string, Point>();
  /** Marker ids asked for but not yet seen in a snapshot. */
  readonly reservedIds = new Set<string>();

  getState = (): InteractionState => this.state;

  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };

  startTool(tool: ToolType): void {
    this.set({ mode: { kind: 'pick', tool, needed: pointsNeeded(tool), picked: [] } });
  }

  cancel(): void {
    this.set({ mode: { kind: 'idle' } });
  }

  /** Adds a picked point; returns the full list when the tool has all its points. */
  pick(name: string): string[] | null {
    const m = this.state.mode;
    if (m.kind !== 'pick') return null;
    const picked = [...m.picked, name];
    if (picked.length >= m.needed) {
      this.set({ mode: { kind: 'idle' } });
      return picked;
    }
    this.set({ mode: { ...m, picked } });
    return null;
  }

  select(id: string | null): void {
    if (this.state.selectedMarker !== id) this.set({ selectedMarker: id });
  }

  setLockToVideo(v: boolean): void {
    this.set({ lockToVideo: v });
  }

  /** Enters calibration mode with `corners` (the detected ones, or none to click them). */
  startCalibration(corners: Point[]): void {
    this.set({ calibration: corners.slice(0, 4).map((p) => ({ ...p })), mode: { kind: 'idle' } });
  }

  /** Adds a clicked corner (ignored past four or outside calibration mode). */
  addCorner(p: Point): void {
    const c = this.state.calibration;
    if (c && c.length < 4) this.set({ calibration: [...c, p] });
  }

  /** Moves corner `i`. */
  moveCorner(i: number, p: Point): void {
    const c = this.state.calibration;
    if (c && i >= 0 && i < c.length) this.set({ calibration: c.map((q, k) => (k === i ? p : q)) });
  }

  /** Clears the corners, to click them again. */
  clearCorners(): void {
    if (this.state.calibration) this.set({ calibration: [] });
  }

  endCalibration(): void {
    this.set({ calibration: null });
  }

  setAttachNew(v: boolean): void {
    this.set({ attachNew: v });
  }

  private set(patch: Partial<InteractionState>): void {
    this.state = { ...this.state, ...patch };
    for (const fn of this.listeners) fn();
  }
}
