/**
 * The state of an incident, proposal, block or executor answer as a word and a colour (never the
 * colour alone). The tone says what the analyst should feel about it: waiting on them, done,
 * gone wrong, or over.
 */

export type StatusTone = 'waiting' | 'progress' | 'good' | 'bad' | 'over';

const TONES: Readonly<Record<string, StatusTone>> = {
  // incidents
  open: 'progress',
  proposed: 'waiting',
  mitigated: 'good',
  closed: 'over',
  // proposals and results
  pending: 'waiting',
  approved: 'progress',
  applied: 'good',
  accepted: 'progress',
  waiting: 'progress',
  refused: 'bad',
  failed: 'bad',
  timeout: 'bad',
  rejected: 'over',
  expired: 'over',
  revoked: 'over',
  superseded: 'over',
};

export function statusTone(status: string): StatusTone {
  return TONES[status] ?? 'progress';
}

export function StatusBadge({ status }: { status: string }) {
  return <span className={`status-badge status-badge--${statusTone(status)}`}>{status}</span>;
}
