/** How a failed call is kept in a store: what happened and what to do, ready to show. */
import { ConsoleCallError } from '../../../core/console/api.ts';

export interface CallErrorView {
  code: string;
  message: string;
  hint: string;
}

/** Busy/error state of one action on one target (a request, a peer, a form). */
export interface ActionState {
  busy: boolean;
  error: CallErrorView | null;
}

export const IDLE: ActionState = { busy: false, error: null };
export const BUSY: ActionState = { busy: true, error: null };

export function toCallErrorView(error: unknown): CallErrorView {
  if (error instanceof ConsoleCallError) return { code: error.code, message: error.message, hint: error.hint };
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'unexpected', message: `unexpected error: ${message}`, hint: 'reload the page; if it happens again, see the console service log' };
}
