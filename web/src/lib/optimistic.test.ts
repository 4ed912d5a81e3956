import { describe, expect, it } from 'vitest';
import { OptimisticParams, ParamSync, type Params, type Rollback } from './optimistic';

function deferred() {
  let resolve!: (v: unknown) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<unknown>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const flush = () => new Promise((r) => setTimeout(r, 0));

describe('OptimisticParams', () => {
  it('shows a change at once and keeps it over server values until settled', () => {
    const s = new OptimisticParams();
    s.setConfirmed({ threshold: 200, invert: false });
    const t = s.begin('threshold', 120);
    expect(s.values.threshold).toBe(120);
    expect(s.isPending('threshold')).toBe(true);
    s.setConfirmed({ threshold: 200 }); // a snapshot from before the change
    expect(s.values.threshold).toBe(120);
    s.confirm('threshold', t, 120, { threshold: 120, invert: false });
    expect(s.values.threshold).toBe(120);
    expect(s.isPending('threshold')).toBe(false);
  });

  it('rolls back to the confirmed value on error, with the reason', () => {
    const s = new OptimisticParams();
    s.setConfirmed({ threshold: 200 });
    const t = s.begin('threshold', 50);
    const r = s.reject('threshold', t, 'busy: recording');
    expect(r).toEqual({ key: 'threshold', wanted: 50, restored: 200, message: 'busy: recording' });
    expect(s.values.threshold).toBe(200);
    expect(s.errorOf('threshold')).toBe('busy: recording');
    s.begin('threshold', 60);
    expect(s.errorOf('threshold')).toBeNull();
  });

  it('an older reply never undoes a newer change', () => {
    const s = new OptimisticParams();
    s.setConfirmed({ v: 1 });
    const t1 = s.begin('v', 2);
    const t2 = s.begin('v', 3);
    expect(s.reject('v', t1, 'nope')).toBeNull();
    expect(s.values.v).toBe(3);
    s.confirm('v', t1, 2);
    expect(s.values.v).toBe(3);
    expect(s.isPending('v')).toBe(true);
    s.confirm('v', t2, 3);
    expect(s.isPending('v')).toBe(false);
    expect(s.values.v).toBe(3);
  });

  it('notifies only on real changes and keeps a stable values object', () => {
    const s = new OptimisticParams();
    let n = 0;
    s.subscribe(() => n++);
    s.setConfirmed({ a: 1, b: [1, 2] });
    const v = s.values;
    s.setConfirmed({ a: 1, b: [1, 2] });
    expect(n).toBe(1);
    expect(s.values).toBe(v);
  });
});

describe('ParamSync', () => {
  it('coalesces a fast drag into one request in flight per key, last value wins', async () => {
    const calls: { partial: Params; d: ReturnType<typeof deferred> }[] = [];
    const sync = new ParamSync((partial) => {
      const d = deferred();
      calls.push({ partial, d });
      return d.promise;
    });
    sync.store.setConfirmed({ threshold: 200 });
    sync.set('threshold', 190);
    sync.set('threshold', 180);
    sync.set('threshold', 170);
    expect(calls.map((c) => c.partial)).toEqual([{ threshold: 190 }]);
    expect(sync.store.values.threshold).toBe(170);
    calls[0]!.d.resolve({ threshold: 190 });
    await flush();
    expect(calls.map((c) => c.partial)).toEqual([{ threshold: 190 }, { threshold: 170 }]);
    expect(sync.store.values.threshold).toBe(170); // still pending, still shown
    calls[1]!.d.resolve({ threshold: 170, invert: false });
    await flush();
    expect(sync.store.isPending('threshold')).toBe(false);
    expect(sync.store.values).toEqual({ threshold: 170, invert: false });
  });

  it('rolls back and reports when the server refuses', async () => {
    const rollbacks: Rollback[] = [];
    const sync = new ParamSync(() => Promise.reject(new Error('parameters are locked while recording')), (r) => rollbacks.push(r));
    sync.store.setConfirmed({ gain: 3 });
    sync.set('gain', 10);
    expect(sync.store.values.gain).toBe(10);
    await flush();
    expect(sync.store.values.gain).toBe(3);
    expect(rollbacks).toEqual([{ key: 'gain', wanted: 10, restored: 3, message: 'parameters are locked while recording' }]);
  });

  it('keys are independent', async () => {
    const sent: Params[] = [];
    const sync = new ParamSync((p) => {
      sent.push(p);
      return new Promise(() => {});
    });
    sync.set('a', 1);
    sync.set('b', true);
    expect(sent).toEqual([{ a: 1 }, { b: true }]);
  });
});
