/**
 * The tables batchlab returns and accepts. At run time they are arquero ColumnTables,
 * so every arquero verb works on them; the type lists the methods batchlab's callers
 * use, so that batchlab's public declarations never import arquero's (whose own
 * declarations fail a consumer's `skipLibCheck: false` build). Code that imports
 * arquero itself may cast a Table to arquero's `ColumnTable`: it is one.
 *
 * @example
 * const t: Table = aq.from([{ m: 1, seconds: 0.002 }]);
 * t.numRows() // => 1
 * t.objects()[0].seconds // => 0.002
 */
export interface Table {
  /** Rows after any filter. */
  numRows(): number;
  /** Columns. */
  numCols(): number;
  /** Rows before any filter. */
  totalRows(): number;
  /** Column names, in order. */
  columnNames(filter?: (name: string, index: number) => boolean): string[];
  /** The value of column `name` at row `row` (default 0). */
  get(name: string, row?: number): any;
  /** The values of column `name`, one per row. */
  array(name: string, constructor?: ArrayConstructor | Float64ArrayConstructor | Int32ArrayConstructor): ArrayLike<any>;
  /** The rows as plain objects. */
  objects(options?: { limit?: number; offset?: number; columns?: unknown; grouped?: unknown }): Record<string, any>[];
  /** One row as a plain object (default row 0). */
  object(row?: number): Record<string, any>;
  /** Rows where the predicate (an arquero expression or function) holds. */
  filter(predicate: unknown): Table;
  /** The named columns, in this order. */
  select(...columns: unknown[]): Table;
  /** New or replaced columns from arquero expressions or functions. */
  derive(values: object, options?: object): Table;
  /** Rows sorted by the given columns or expressions. */
  orderby(...keys: unknown[]): Table;
  /** Rows from `start` up to, not including, `end`. */
  slice(start?: number, end?: number): Table;
  /** This table's rows followed by the rows of `others`. */
  concat(...others: unknown[]): Table;
  /** The table as CSV text. */
  toCSV(options?: object): string;
  /** The table as a Markdown table. */
  toMarkdown(options?: object): string;
  /** The table as an HTML table. */
  toHTML(options?: object): string;
}
