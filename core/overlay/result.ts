/**
 * Decoders in the overlay are total: they never throw on hostile input. They return either a
 * value or a typed error naming what was wrong, so the caller can count, log and drop.
 */
export type Result<T, E extends { code: string }> = { ok: true; value: T } | { ok: false; error: E };

export interface DecodeError<Code extends string = string> {
  code: Code;
  message: string;
}

export function ok<T>(value: T): { ok: true; value: T } {
  return { ok: true, value };
}

export function fail<Code extends string>(code: Code, message: string): { ok: false; error: DecodeError<Code> } {
  return { ok: false, error: { code, message } };
}
