/**
 * An error with a stable code that callers match on (Node's `err.code` convention); the message
 * is for people and may change. Each area declares its codes in its own errors.ts.
 */
export class CodedError<C extends string = string> extends Error {
  readonly code: C;

  constructor(code: C, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}
