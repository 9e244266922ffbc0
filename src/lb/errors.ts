import { CodedError } from '../shared/coded-error.ts';

/** Coded errors of `corral lb`: thrown for bad start-up settings and broken invariants, never for a bad route. */
export class LbError extends CodedError {}

export class LbConfigError extends LbError {
  constructor(message: string) {
    super('ERR_LB_BAD_CONFIG', message);
  }
}
