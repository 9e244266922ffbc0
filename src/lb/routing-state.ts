import { TableHolder } from '../events/table-holder.ts';
import { EMPTY_ROUTING_TABLE, buildRoutingTable, sameRoutingTable, type RoutingTable } from './core/routing-table.ts';

/** Where the request path reads the table: one property read, no await. */
export interface TableSource {
  readonly current: RoutingTable;
}

export interface RoutingStateOptions {
  readonly groups: readonly string[];
  readonly debounceMs: number;
  /** Called after each swap with the new and the previous table. */
  readonly onSwap: (table: RoutingTable, previous: RoutingTable) => void;
}

/** The LB's one routing table, rebuilt from each new cluster view and swapped when it changed. */
export class RoutingState extends TableHolder<RoutingTable> implements TableSource {
  constructor(options: RoutingStateOptions) {
    super({
      initial: EMPTY_ROUTING_TABLE,
      debounceMs: options.debounceMs,
      build: (view) => buildRoutingTable(view, { groups: options.groups }),
      same: sameRoutingTable,
      onSwap: options.onSwap,
    });
  }
}
