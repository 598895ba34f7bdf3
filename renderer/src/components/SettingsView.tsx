/**
 * Settings of this console's node: which registry it registers with and under which hostname.
 * Saving restarts the node's overlay connection, so the form says so before and after.
 */
import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { CallErrorAlert } from './CallErrorAlert.tsx';
import { TimeStamp } from './TimeStamp.tsx';
import { useIdentity } from './store-hooks.ts';

export function SettingsView({ focusHeading }: { focusHeading: boolean }) {
  const settings = useIdentity((state) => state.settings);
  const saveState = useIdentity((state) => state.settingsSave);
  const save = useIdentity((state) => state.saveSettings);
  const clearOutcome = useIdentity((state) => state.clearSettingsSaveOutcome);
  // Drafts are null until edited, so the fields follow the service's values (e.g. after a save
  // from another window) until the analyst starts typing.
  const [registryDraft, setRegistryDraft] = useState<string | null>(null);
  const [hostnameDraft, setHostnameDraft] = useState<string | null>(null);
  const headingRef = useRef<HTMLHeadingElement>(null);
  const id = useId();
  const registry = registryDraft ?? settings.registry ?? '';
  const hostname = hostnameDraft ?? settings.hostname;

  useEffect(() => {
    // Arriving from "Open settings", whose button is gone now: start reading at the heading.
    if (focusHeading) headingRef.current?.focus();
  }, [focusHeading]);

  useEffect(() => () => clearOutcome(), [clearOutcome]);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (saveState.busy) return;
    if (await save(registry.trim(), hostname.trim())) {
      setRegistryDraft(null);
      setHostnameDraft(null);
    }
  };

  return (
    <div className="settings-view">
      <h1 ref={headingRef} tabIndex={-1} className="view-title">
        Settings
      </h1>
      <form aria-label="Settings" className="panel settings-form" onSubmit={submit} noValidate>
        <p className="panel__lead">
          This node registers with a registry so that peers can find it, under a hostname they can ask for. Saving restarts this node’s overlay
          connection: tunnels to peers drop for a moment and are re-established.
        </p>
        <div className="field">
          <label htmlFor={`${id}-registry`}>Registry</label>
          <input
            id={`${id}-registry`}
            className="input mono"
            value={registry}
            onChange={(event) => setRegistryDraft(event.target.value)}
            aria-describedby={`${id}-registry-help`}
            placeholder="203.0.113.10:9000"
            autoComplete="off"
            spellCheck={false}
          />
          <p id={`${id}-registry-help`} className="field__help">
            HOST:PORT of the registry, e.g. 203.0.113.10:9000.
          </p>
        </div>
        <div className="field">
          <label htmlFor={`${id}-hostname`}>Hostname</label>
          <input
            id={`${id}-hostname`}
            className="input mono"
            value={hostname}
            onChange={(event) => setHostnameDraft(event.target.value)}
            aria-describedby={`${id}-hostname-help`}
            placeholder="soc-console"
            autoComplete="off"
            spellCheck={false}
          />
          <p id={`${id}-hostname-help`} className="field__help">
            Lowercase letters, digits and dashes (1–63), e.g. soc-console.
          </p>
        </div>
        <div className="form-actions">
          <button type="submit" className="btn btn--primary" aria-disabled={saveState.busy || undefined}>
            Save
          </button>
          {saveState.busy ? <span className="busy-note">Saving…</span> : null}
        </div>
        <div role="status" className="form-result">
          {saveState.savedAt ? (
            <p className="result result--trusted">
              Saved <TimeStamp iso={saveState.savedAt} />. This node’s overlay connection restarts with the new settings.
            </p>
          ) : null}
        </div>
        <CallErrorAlert error={saveState.error} />
      </form>
      <section aria-label="Local lab" className="panel lab-panel">
        <h2 className="panel__title">Local lab</h2>
        <p>
          {settings.lab ? (
            <>
              <span className="state state--good">running</span> A registry, a log monitor replaying a sample log and a dry-run firewall executor run
              on loopback with this console.
            </>
          ) : (
            <>
              <span className="state state--muted">not running</span> This console uses the registry above; start the lab with{' '}
              <code>swarmctl lab</code> to try the console without other machines.
            </>
          )}
        </p>
      </section>
    </div>
  );
}
