import { TableHolder } from '../events/table-holder.ts';
import { EMPTY_ROUTING_TABLE, buildRoutingTable, certificatesOf, sameRoutingTable, type RoutingOptions, type RoutingTable } from './core/routing-table.ts';

/** Loads certificate files; returns those that failed (path → why). */
export type CertificateCheck = (paths: readonly string[]) => ReadonlyMap<string, string>;

export interface RoutingTableHolderOptions {
  readonly groups: readonly string[];
  readonly strictMode?: boolean;
  readonly debounceMs: number;
  /** Called after each swap with the new and the previous table. */
  readonly onSwap: (table: RoutingTable, previous: RoutingTable) => void;
  /** Absent: certificates are taken as readable (tests of the core wiring). */
  readonly checkCertificates?: CertificateCheck;
}

/** The LB's one routing table, rebuilt from each new cluster view and swapped when it changed. */
export class RoutingTableHolder extends TableHolder<RoutingTable> {
  constructor(options: RoutingTableHolderOptions) {
    const routing: RoutingOptions = { groups: options.groups, strictMode: options.strictMode ?? false };
    super({
      initial: EMPTY_ROUTING_TABLE,
      debounceMs: options.debounceMs,
      build: (view) => {
        const table = buildRoutingTable(view, routing);
        // A route whose certificate cannot be loaded is rejected by building again with that fact.
        const bad = options.checkCertificates?.(certificatesOf(table));
        return bad === undefined || bad.size === 0 ? table : buildRoutingTable(view, { ...routing, badCertificates: bad });
      },
      same: sameRoutingTable,
      onSwap: options.onSwap,
    });
  }
}
