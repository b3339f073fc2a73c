import os from 'node:os';
import { InputError } from '../util/errors.js';
import { checkPositive } from '../util/validate.js';

/** Fraction of free memory a measurement may allocate by default. */
export const DEFAULT_MEMORY_FRACTION = 0.5;

/**
 * The default tensor-memory budget: half of the memory free right now, leaving room
 * for the backend's workspace, the JavaScript heap and everything else on the host.
 *
 * @example
 * defaultGemmMemoryBudget() // => e.g. 1.1e10 on a host with 22 GB free
 */
export function defaultGemmMemoryBudget(): number {
  return Math.floor(os.freemem() * DEFAULT_MEMORY_FRACTION);
}

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
}

/**
 * Throws before anything is allocated when `bytes` of tensors would exceed the budget.
 * The message names the shape, the need and the budget, and says how to raise it.
 *
 * @example
 * assertGemmMemory('X[4096×4096]·W[4096×4096]', 2e8, 1e9) // ok
 * assertGemmMemory('X[1e6×1e5]', 4e11, 1e9) // throws InputError naming "memoryBudgetBytes"
 */
export function assertGemmMemory(what: string, bytes: number, budgetBytes: number = defaultGemmMemoryBudget()): void {
  checkPositive('memoryBudgetBytes', budgetBytes);
  if (!(bytes <= budgetBytes)) {
    throw new InputError(
      'memoryBudgetBytes',
      budgetBytes,
      `at least the ${gib(bytes)} of tensors that ${what} needs`,
      `refused before allocating: the budget is ${gib(budgetBytes)}, by default half of free memory; pass a larger memoryBudgetBytes (CLI: --memory-budget-gib) or a smaller shape`,
    );
  }
}
