import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStore, type FileStoreOptions } from '../../src/scheduler/store/file-store.ts';
import { stateStoreContract, type StorePlace } from '../support/contracts/state-store-contract.ts';
import { silentLogger } from '../support/file-store-fixtures.ts';

/** A temp dir per test (the etcd store runs the same contract on a key prefix of its own: test/integration/etcd-store.test.ts). */
function fileStorePlace(options: Partial<FileStoreOptions> = {}): () => Promise<StorePlace> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'corral-store-contract-'));
    return {
      open: () => new FileStore({ dir, logger: silentLogger, ...options }),
      remove: async () => rmSync(dir, { recursive: true, force: true }),
    };
  };
}

stateStoreContract('file store', fileStorePlace());
// The same promises hold while every append starts a snapshot in the background.
stateStoreContract('file store compacting at every append', fileStorePlace({ compactEvery: 1, logToSnapshot: 0 }));
