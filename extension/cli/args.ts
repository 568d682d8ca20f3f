// Argument parsing for the CLI subcommands: node's parseArgs, with its errors turned into
// UsageError (exit 2) and helpers for typed values.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './errors';

export function parse<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T, maxPositionals: number) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  if (parsed.positionals.length > maxPositionals) {
    throw new UsageError(`unexpected argument '${parsed.positionals[maxPositionals]}'`);
  }
  return parsed;
}

export function intOption(value: string | undefined, name: string, min = 0): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}, got '${value}'`);
  return n;
}

export function numberOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} must be a positive number, got '${value}'`);
  return n;
}

export function choiceOption<C extends string>(value: string | undefined, name: string, choices: readonly C[]): C | undefined {
  if (value === undefined) return undefined;
  if (!(choices as readonly string[]).includes(value)) throw new UsageError(`--${name} must be one of ${choices.join(', ')}, got '${value}'`);
  return value as C;
}

export function requireRun(positionals: string[]): string {
  const run = positionals[0];
  if (!run) throw new UsageError('missing RUN (the run folder)');
  return run;
}

/** `--preset` and `--device` of the commands that train (the trainer's own choices). */
export const PRESETS = ['auto', 'nano', 'tiny', 'small', 'base', 'large'] as const;
export const DEVICES = ['auto', 'cuda', 'mps', 'cpu'] as const;
