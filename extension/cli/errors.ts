// Errors the CLI turns into exit codes: UsageError -> 2, anything else -> 1 (DESIGN.md "The CLI").
export class UsageError extends Error {}

export function fail(message: string): never {
  throw new Error(message);
}
