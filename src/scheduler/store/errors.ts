import { CodedError } from '../../shared/coded-error.ts';

export const ERR_STORE_LOCKED = 'ERR_STORE_LOCKED';
export const ERR_STORE_DAMAGED = 'ERR_STORE_DAMAGED';
export const ERR_STORE_UNREACHABLE = 'ERR_STORE_UNREACHABLE';

/** Errors of the state store that stop a scheduler from starting; their messages say what to do. */
export class StoreError extends CodedError<typeof ERR_STORE_LOCKED | typeof ERR_STORE_DAMAGED | typeof ERR_STORE_UNREACHABLE> {}

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

export class EtcdPrefixLockedError extends StoreError {
  /** The lock's value: the holder JSON (its `listen` is where a standby finds the leader). */
  readonly holder: string;
  constructor(prefix: string, holder: string) {
    super(
      ERR_STORE_LOCKED,
      `the etcd prefix ${prefix} is held by another running scheduler (${holder}); two writers on one prefix would lose acknowledged writes: stop that one first (a killed one's hold ends with its lease)`,
    );
    this.holder = holder;
  }
}

export class StoreUnreachableError extends StoreError {
  constructor(message: string) {
    super(ERR_STORE_UNREACHABLE, message);
  }
}

export const ERR_STORE_HOLD_LOST = 'ERR_STORE_HOLD_LOST';

/** A write refused because this scheduler no longer holds the etcd prefix (its lease ended; another may lead). */
export class StoreHoldLostError extends CodedError<typeof ERR_STORE_HOLD_LOST> {
  constructor(prefix: string) {
    super(ERR_STORE_HOLD_LOST, `this scheduler no longer holds the etcd prefix ${prefix} (its lease ran out): nothing was written; it is stepping down, retry on the leader`);
  }
}
