/**
 * Asks a peer for trust. The justification is what the peer's operator reads before deciding,
 * so it is required; capabilities asked for are what this console wants to use (typically
 * `events.subscribe` from a monitor).
 */
import { useId, useRef, useState, type FormEvent } from 'react';
import { CONSOLE_CAPABILITIES, MAX_JUSTIFICATION_BYTES, utf8Length, type ConsoleCapability, type HandshakeResultView } from '../../../core/console/api.ts';
import { CallErrorAlert } from './CallErrorAlert.tsx';
import { useHandshakes } from './store-hooks.ts';

/**
 * CAPABILITY_LABELS describe a grant from the granting side ("subscribe to our event stream");
 * here this node is the one asking, so "our" would point the wrong way.
 */
const ASK_FOR_LABELS: Record<ConsoleCapability, string> = {
  'events.subscribe': 'subscribe to their event stream',
  'events.publish': 'publish events (anomalies) to them',
  'mitigation.request': 'send them mitigation requests',
  'data.exchange': 'exchange data',
};

function resultText(result: HandshakeResultView): string {
  switch (result.status) {
    case 'trusted':
      return `trusted: ${result.hostname} trusts this node now.`;
    case 'pending':
      return `pending: request delivered to ${result.hostname}; waiting for its operator to approve.`;
    case 'sending':
      return `sending: request queued for ${result.hostname}, not acknowledged yet; it is retried in the background.`;
    case 'rejected':
      return `rejected: ${result.hostname} refused: ${result.reason?.trim() || 'no reason given'}.`;
  }
}

type FieldProblem = { field: 'peer' | 'justification'; message: string } | null;

export function RequestTrustForm() {
  const send = useHandshakes((state) => state.sendTrustRequest);
  const outcome = useHandshakes((state) => state.trustRequest);
  const [peer, setPeer] = useState('');
  const [justification, setJustification] = useState('');
  const [want, setWant] = useState<ReadonlySet<ConsoleCapability>>(new Set());
  const [problem, setProblem] = useState<FieldProblem>(null);
  const peerRef = useRef<HTMLInputElement>(null);
  const justificationRef = useRef<HTMLTextAreaElement>(null);
  const id = useId();
  const bytes = utf8Length(justification);

  const toggle = (capability: ConsoleCapability, checked: boolean) => {
    const next = new Set(want);
    if (checked) next.add(capability);
    else next.delete(capability);
    setWant(next);
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (outcome.busy) return;
    // Say which field is wrong and put the cursor there, rather than a generic "invalid form".
    if (peer.trim() === '') {
      setProblem({ field: 'peer', message: 'Name the peer: its hostname, overlay address or fingerprint.' });
      peerRef.current?.focus();
      return;
    }
    if (justification.trim() === '') {
      setProblem({ field: 'justification', message: 'Say why: the peer’s operator reads this before deciding.' });
      justificationRef.current?.focus();
      return;
    }
    if (bytes > MAX_JUSTIFICATION_BYTES) {
      setProblem({ field: 'justification', message: `Shorten the justification to ${MAX_JUSTIFICATION_BYTES} bytes.` });
      justificationRef.current?.focus();
      return;
    }
    setProblem(null);
    const sent = await send({
      target: peer.trim(),
      justification: justification.trim(),
      want: CONSOLE_CAPABILITIES.filter((capability) => want.has(capability)),
      offer: [],
    });
    if (sent) {
      // Clear the text so a second press of Enter does not send the same request again.
      setPeer('');
      setJustification('');
    }
  };

  return (
    <form aria-label="Request trust" className="panel trust-form" onSubmit={submit} noValidate>
      <header className="panel__header">
        <h2 className="panel__title">Request trust</h2>
      </header>
      <div className="field">
        <label htmlFor={`${id}-peer`}>Peer</label>
        <input
          ref={peerRef}
          id={`${id}-peer`}
          className="input mono"
          value={peer}
          onChange={(event) => setPeer(event.target.value)}
          aria-describedby={`${id}-peer-help`}
          aria-invalid={problem?.field === 'peer' || undefined}
          autoComplete="off"
          spellCheck={false}
          placeholder="gcp-log-monitor"
        />
        <p id={`${id}-peer-help`} className={problem?.field === 'peer' ? 'field__help field__help--error' : 'field__help'}>
          {problem?.field === 'peer' ? problem.message : 'Hostname, overlay address or fingerprint.'}
        </p>
      </div>
      <div className="field">
        <label htmlFor={`${id}-justification`}>Justification</label>
        <textarea
          ref={justificationRef}
          id={`${id}-justification`}
          className="input"
          rows={3}
          value={justification}
          onChange={(event) => setJustification(event.target.value)}
          aria-describedby={`${id}-justification-help`}
          aria-invalid={problem?.field === 'justification' || bytes > MAX_JUSTIFICATION_BYTES || undefined}
        />
        <p id={`${id}-justification-help`} className={problem?.field === 'justification' ? 'field__help field__help--error' : 'field__help'}>
          {problem?.field === 'justification' ? problem.message : 'Shown to the peer’s operator.'} {bytes} of {MAX_JUSTIFICATION_BYTES} bytes.
        </p>
      </div>
      <fieldset className="capability-fieldset capability-fieldset--compact">
        <legend>Ask for</legend>
        {CONSOLE_CAPABILITIES.map((capability) => {
          const checkboxId = `${id}-want-${capability}`;
          return (
            <div className="checkbox-row" key={capability}>
              <input
                id={checkboxId}
                type="checkbox"
                checked={want.has(capability)}
                onChange={(event) => toggle(capability, event.target.checked)}
                aria-describedby={`${checkboxId}-description`}
              />
              <label htmlFor={checkboxId} className="mono">
                {capability}
              </label>
              <span id={`${checkboxId}-description`} className="checkbox-row__description">
                {ASK_FOR_LABELS[capability]}
              </span>
            </div>
          );
        })}
      </fieldset>
      <div className="form-actions">
        <button type="submit" className="btn btn--primary" aria-disabled={outcome.busy || undefined}>
          Send request
        </button>
        {outcome.busy ? <span className="busy-note">Sending…</span> : null}
      </div>
      <div role="status" className="form-result">
        {outcome.result ? <p className={`result result--${outcome.result.status}`}>{resultText(outcome.result)}</p> : null}
      </div>
      <CallErrorAlert error={outcome.error} />
    </form>
  );
}
