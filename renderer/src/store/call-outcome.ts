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

/** `activities` with `target`'s entry set to `activity`, or removed when it is null (the call is over and nothing is left to show). */
export function withActivity<A extends ActionState>(activities: Readonly<Record<string, A>>, target: string, activity: A | null): Readonly<Record<string, A>> {
  const { [target]: _previous, ...rest } = activities;
  return activity ? { ...rest, [target]: activity } : rest;
}
