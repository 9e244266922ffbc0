/** Coded errors of `corral lb`: thrown for bad start-up settings and broken invariants, never for a bad route. */
export class LbError extends Error {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = 'LbError';
    this.code = code;
  }
}

export class LbConfigError extends LbError {
  constructor(message: string) {
    super('ERR_LB_BAD_CONFIG', message);
    this.name = 'LbConfigError';
  }
}
