import { CAPABILITY_LABELS, type ConsoleCapability } from '../../../core/console/api.ts';

function describe(capability: string): string {
  return capability in CAPABILITY_LABELS ? CAPABILITY_LABELS[capability as ConsoleCapability] : 'capability unknown to this console';
}

/** Capabilities as chips (id in monospace, description in the tooltip); `none` when the list is empty. */
export function CapabilityList({ capabilities, none = 'none' }: { capabilities: readonly string[]; none?: string }) {
  if (capabilities.length === 0) return <span className="muted">{none}</span>;
  return (
    <ul className="chips" role="list">
      {capabilities.map((capability) => (
        <li key={capability} className="chip" title={describe(capability)}>
          {capability}
        </li>
      ))}
    </ul>
  );
}
