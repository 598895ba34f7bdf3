/**
 * This node: its identity and status, the console settings, and the state of the link to the
 * console service. Also owns saving the settings, because a save replaces them.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { ConsoleApi, ConsoleSettings, ConsoleStatus, IdentityView } from '../../../core/console/api.ts';
import { INITIAL_CONNECTION_STATE, type ConnectionState } from '../transport/connection.ts';
import { BUSY, IDLE, toCallErrorView, type ActionState, type CallErrorView } from './call-outcome.ts';

export interface SettingsSaveState extends ActionState {
  /** When the last save succeeded (ISO time), so the form can say so. */
  savedAt: string | null;
}

export interface IdentityState {
  /** False until the first snapshot arrived: the UI shows a loading state instead of empty lists. */
  loaded: boolean;
  /** Why the first snapshot could not be loaded, if it could not. */
  loadError: CallErrorView | null;
  status: ConsoleStatus;
  statusMessage: string | null;
  identity: IdentityView | null;
  settings: ConsoleSettings;
  connection: ConnectionState;
  settingsSave: SettingsSaveState;

  applyIdentity(update: { identity: IdentityView | null; status: ConsoleStatus; statusMessage: string | null; settings: ConsoleSettings }): void;
  setLoadError(error: CallErrorView | null): void;
  setConnection(connection: ConnectionState): void;
  /** Saves registry and hostname; resolves true when the service accepted them. */
  saveSettings(registry: string, hostname: string): Promise<boolean>;
  clearSettingsSaveOutcome(): void;
}

export type IdentityStore = StoreApi<IdentityState>;

const NO_SETTINGS: ConsoleSettings = { registry: null, hostname: '', lab: false };
const SETTINGS_NOT_SAVED: SettingsSaveState = { ...IDLE, savedAt: null };

export function createIdentityStore(api: ConsoleApi, now: () => Date = () => new Date()): IdentityStore {
  return createStore<IdentityState>()((set) => ({
    loaded: false,
    loadError: null,
    status: 'unconfigured',
    statusMessage: null,
    identity: null,
    settings: NO_SETTINGS,
    connection: INITIAL_CONNECTION_STATE,
    settingsSave: SETTINGS_NOT_SAVED,

    applyIdentity({ identity, status, statusMessage, settings }) {
      set({ loaded: true, loadError: null, identity, status, statusMessage, settings });
    },

    setLoadError(loadError) {
      set({ loadError });
    },

    setConnection(connection) {
      set({ connection });
    },

    async saveSettings(registry, hostname) {
      set({ settingsSave: { ...BUSY, savedAt: null } });
      try {
        const settings = await api.call('saveSettings', { registry, hostname });
        set({ settings, settingsSave: { ...IDLE, savedAt: now().toISOString() } });
        return true;
      } catch (error) {
        set({ settingsSave: { busy: false, error: toCallErrorView(error), savedAt: null } });
        return false;
      }
    },

    clearSettingsSaveOutcome() {
      set({ settingsSave: SETTINGS_NOT_SAVED });
    },
  }));
}

export const selectRegistryEndpoint = (state: IdentityState): string | null => state.identity?.registry.endpoint ?? state.settings.registry;
export const selectNeedsSettings = (state: IdentityState): boolean => state.status !== 'running';
