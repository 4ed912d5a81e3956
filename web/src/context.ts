/** React access to the app model and the canvas interaction state. */
import { createContext, useContext, useSyncExternalStore } from 'react';
import type { Interaction, InteractionState } from './lib/interaction';
import type { AppModel, UiState } from './lib/model';
import type { Params } from './lib/optimistic';

export interface AppContextValue {
  model: AppModel;
  interaction: Interaction;
}

export const AppContext = createContext<AppContextValue | null>(null);

export function useApp(): AppContextValue {
  const v = useContext(AppContext);
  if (!v) throw new Error('AppContext missing');
  return v;
}

export function useUi(): UiState {
  const { model } = useApp();
  return useSyncExternalStore(model.subscribe, model.getState);
}

export function useInteraction(): InteractionState {
  const { interaction } = useApp();
  return useSyncExternalStore(interaction.subscribe, interaction.getState);
}

/** The optimistic params of a target: what to show, and a setter that sends. */
export function useParams(target: string): {
  values: Params;
  set: (key: string, value: unknown) => void;
  isPending: (key: string) => boolean;
  errorOf: (key: string) => string | null;
  clearError: (key: string) => void;
} {
  const { model } = useApp();
  const sync = model.params(target);
  const values = useSyncExternalStore(
    (fn) => sync.store.subscribe(fn),
    () => sync.store.values,
  );
  return {
    values,
    set: (key, value) => sync.set(key, value),
    isPending: (key) => sync.store.isPending(key),
    errorOf: (key) => sync.store.errorOf(key),
    clearError: (key) => sync.store.clearError(key),
  };
}

/** Why parameter controls are disabled right now, or null. */
export function useLockReason(): string | null {
  const ui = useUi();
  if (ui.connection.state !== 'open') return 'Not connected to the server';
  const state = ui.snapshot?.state ?? ui.runState;
  if (state === 'recording') return 'Locked while recording: stop recording to change parameters';
  return null;
}
