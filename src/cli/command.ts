import type { Config } from '../config/config.js';

export type OptionValues = Record<string, string | undefined>;

export interface Command {
  /** The command line as the usage shows it. */
  synopsis: string;
  /** Lines of the usage text, each under 100 characters. */
  description: string[];
  options: Record<string, { type: 'string' }>;
  run(options: OptionValues, config: Config): Promise<void>;
}

export function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** Left-aligned columns, two spaces apart. */
export function formatTable(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, column) => Math.max(...all.map((row) => row[column]?.length ?? 0)));
  return all
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
