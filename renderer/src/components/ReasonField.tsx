import { useId } from 'react';
import { MAX_REASON_BYTES, utf8Length } from '../../../core/console/api.ts';

/** The "Reason" textbox of reject and revoke, with the byte budget the overlay message allows. */
export function ReasonField({ value, onChange, purpose }: { value: string; onChange: (value: string) => void; purpose: string }) {
  const id = useId();
  const bytes = utf8Length(value);
  const tooLong = bytes > MAX_REASON_BYTES;
  return (
    <div className="field">
      <label htmlFor={id}>Reason</label>
      <textarea
        id={id}
        className="input"
        rows={3}
        value={value}
        onChange={(event) => onChange(event.target.value)}
        aria-describedby={`${id}-help`}
        aria-invalid={tooLong || undefined}
      />
      <p id={`${id}-help`} className={tooLong ? 'field__help field__help--error' : 'field__help'}>
        {purpose} Optional; {bytes} of {MAX_REASON_BYTES} bytes{tooLong ? ' — too long, shorten it' : ''}.
      </p>
    </div>
  );
}

export function reasonFits(reason: string): boolean {
  return utf8Length(reason) <= MAX_REASON_BYTES;
}
