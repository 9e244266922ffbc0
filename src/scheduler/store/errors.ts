import { CodedError } from '../../shared/coded-error.ts';

export const ERR_STORE_LOCKED = 'ERR_STORE_LOCKED';
export const ERR_STORE_DAMAGED = 'ERR_STORE_DAMAGED';

/** Errors of the state store that stop a scheduler from starting; their messages say what to do. */
export class StoreError extends CodedError<typeof ERR_STORE_LOCKED | typeof ERR_STORE_DAMAGED> {}

export class StoreLockedError extends StoreError {
  constructor(dir: string, holder: string) {
    super(
      ERR_STORE_LOCKED,
      `the data dir ${dir} is locked by another running scheduler (${holder}); two schedulers on one data dir would lose acknowledged writes: stop that one first`,
    );
  }
}

export class StoreDamagedError extends StoreError {
  constructor(message: string) {
    super(ERR_STORE_DAMAGED, message);
  }
}
