import type { ColumnTable } from 'arquero';
import type { Table } from './table.js';

// Apart from table.ts so that the declarations of `Table` never import arquero's; this
// module is for lib's own code and stays out of both package entries.

/**
 * The arquero type of a batchlab table (the same object), for code that calls arquero
 * verbs the `Table` type does not list.
 *
 * @example
 * columnTable(sweep).groupby('policy').count().numRows()
 */
export function columnTable(table: Table): ColumnTable {
  return table as unknown as ColumnTable;
}
