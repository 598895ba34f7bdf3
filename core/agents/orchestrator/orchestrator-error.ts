/**
 * What the orchestrator refuses, in words an analyst can act on: `message` says what happened,
 * `hint` what to do. `code` is for programs (the console maps it to its own error codes).
 */
export type OrchestratorErrorCode =
  | 'not_found' // no such incident, proposal or request id
  | 'invalid_transition' // the proposal is not in a state that allows this
  | 'invalid_input' // an edit, reason or result that does not parse
  | 'no_targets' // no executor to send a mitigation to
  | 'invalid_policy' // the policy given to open() does not parse
  | 'closed'; // the orchestrator was closed

export class OrchestratorError extends Error {
  readonly code: OrchestratorErrorCode;
  readonly hint: string;
  constructor(code: OrchestratorErrorCode, message: string, hint: string) {
    super(message);
    this.name = 'OrchestratorError';
    this.code = code;
    this.hint = hint;
  }
}
