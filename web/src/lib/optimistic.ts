/**
 * Optimistic parameter values (seed 000 `useOptimisticValue`): a change shows at once, is sent
 * to the server, and is either confirmed by the ack or rolled back with the reason.
 *
 * `OptimisticParams` is the bookkeeping; `ParamSync` adds sending with per-key coalescing, so a
 * slider dragged quickly has at most one `set_params` in flight per key, and the last value
 * always goes out.
 */

export type Params = Record<string, unknown>;

interface PendingEntry {
  value: unknown;
  token: number;
}

export interface Rollback {
  key: string;
  /** The value the user asked for. */
  wanted: unknown;
  /** The value shown again. */
  restored: unknown;
  message: string;
}

export class OptimisticParams {
  private confirmed: Params = {};
  private readonly pending = new Map<string, PendingEntry>();
  private readonly errors = new Map<string, string>();
  private nextToken = 1;
  private readonly listeners = new Set<() => void>();
  private cached: Params | null = null;

  /** The values to show: pending ones over confirmed ones. Stable identity between changes. */
  get values(): Params {
    if (!this.cached) {
      const v: Params = { ...this.confirmed };
      for (const [k, p] of this.pending) v[k] = p.value;
      this.cached = v;
    }
    return this.cached;
  }

  get confirmedValues(): Params {
    return this.confirmed;
  }

  isPending(key: string): boolean {
    return this.pending.has(key);
  }

  /** Why the last change of `key` was refused (until the next change or `clearError`). */
  errorOf(key: string): string | null {
    return this.errors.get(key) ?? null;
  }

  clearError(key: string): void {
    if (this.errors.delete(key)) this.changed();
  }

  /** Server truth (get_params, an ack's params in force, a snapshot); pending keys keep showing. */
  setConfirmed(params: Params): void {
    const changed = Object.entries(params).some(([k, v]) => !sameValue(this.confirmed[k], v));
    if (!changed) return;
    this.confirmed = { ...this.confirmed, ...params };
    this.changed();
  }

  /** Starts a change: shows `value` now; returns the token to settle it with. */
  begin(key: string, value: unknown): number {
    const token = this.nextToken++;
    this.pending.set(key, { value, token });
    this.errors.delete(key);
    this.changed();
    return token;
  }

  /** The server applied the change. `inForce` is what the server says is in force now. */
  confirm(key: string, token: number, value: unknown, inForce?: Params): void {
    const p = this.pending.get(key);
    this.confirmed = { ...this.confirmed, ...(inForce ?? {}) };
    if (!inForce || !(key in inForce)) this.confirmed[key] = value;
    if (p && p.token === token) this.pending.delete(key);
    this.changed();
  }

  /**
   * The server refused the change. Rolls back to the confirmed value unless a newer change of
   * the same key is pending (that one decides). Returns the rollback, or null when superseded.
   */
  reject(key: string, token: number, message: string): Rollback | null {
    const p = this.pending.get(key);
    if (!p || p.token !== token) return null;
    this.pending.delete(key);
    this.errors.set(key, message);
    this.changed();
    return { key, wanted: p.value, restored: this.confirmed[key], message };
  }

  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private changed(): void {
    this.cached = null;
    for (const fn of this.listeners) fn();
  }
}

/** Sends `{[key]: value}` and resolves with the params in force (or whatever the ack said). */
export type SendParams = (partial: Params) => Promise<unknown>;

export class ParamSync {
  readonly store = new OptimisticParams();
  private readonly inFlight = new Set<string>();
  private readonly queued = new Map<string, { value: unknown; token: number }>();

  constructor(
    private readonly send: SendParams,
    private readonly onRollback: (r: Rollback) => void = () => {},
  ) {}

  /** Shows `value` at once and sends it (coalesced per key). */
  set(key: string, value: unknown): void {
    const token = this.store.begin(key, value);
    if (this.inFlight.has(key)) {
      this.queued.set(key, { value, token });
      return;
    }
    this.dispatch(key, value, token);
  }

  private dispatch(key: string, value: unknown, token: number): void {
    this.inFlight.add(key);
    this.send({ [key]: value }).then(
      (result) => {
        const inForce = isParams(result) ? result : undefined;
        this.store.confirm(key, token, value, inForce);
        this.next(key);
      },
      (err: unknown) => {
        // Rolls back unless a newer value of this key is pending (that one decides).
        const message = err instanceof Error ? err.message : String(err);
        const r = this.store.reject(key, token, message);
        if (r) this.onRollback(r);
        this.next(key);
      },
    );
  }

  private next(key: string): void {
    this.inFlight.delete(key);
    const q = this.queued.get(key);
    if (q) {
      this.queued.delete(key);
      this.dispatch(key, q.value, q.token);
    }
  }
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

function isParams(v: unknown): v is Params {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
