/**
 * Errors a person will read: a stable code for scripts (`--json`), a message saying what
 * happened, and a hint saying what to do about it.
 */
export class SwarmError<Code extends string = string> extends Error {
  readonly code: Code;
  readonly hint: string;
  constructor(code: Code, message: string, hint: string) {
    super(message);
    this.code = code;
    this.hint = hint;
  }
}
