// The architecture as a test: layers only point down, SQL stays in db/ and store/, modules
// stay small, and the operator-facing configuration stays short. A new folder must be given
// a layer here before anything may import it.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { envSchema } from '../../../src/config.ts';

const ROOT = path.resolve(import.meta.dirname, '../../..');

/**
 * Each module's layer, by the first path segments that match. A module may import from a
 * lower layer and from its own folder; not from a higher layer, nor across folders of the
 * same layer.
 */
const LAYERS: [prefix: string, layer: number][] = [
  ['src/lib/', 0],
  ['src/config.ts', 0.5],
  ['src/errors.ts', 0.5],
  ['src/ids.ts', 0.5],
  ['src/logger.ts', 0.5],
  ['src/metrics.ts', 0.5],
  ['src/db/', 1],
  ['src/responses/', 1],
  ['src/store/', 2],
  ['src/dev-upstream/', 2],
  ['src/poller/', 3],
  ['src/upstream/', 3],
  ['src/processor/', 4],
  ['src/jobs/', 5],
  // HTML and assets only (it imports lib/ and config alone); the gateway serves it.
  ['src/dashboard/', 5.5],
  ['src/gateway/', 6],
  ['src/roles/', 7],
  ['workers/', 8],
];

function layerOf(file: string): { layer: number; folder: string } | undefined {
  const match = LAYERS.find(([prefix]) => file === prefix || file.startsWith(prefix));
  return match && { layer: match[1], folder: match[0] };
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(path.join(ROOT, dir))) {
    const rel = `${dir}/${name}`;
    if (statSync(path.join(ROOT, rel)).isDirectory()) out.push(...sourceFiles(rel));
    else if (name.endsWith('.ts')) out.push(rel);
  }
  return out;
}

const FILES = [...sourceFiles('src'), ...sourceFiles('workers')];
const IMPORT = /(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s+'(\.{1,2}\/[^']+)'/g;

function importsOf(file: string): string[] {
  const text = readFileSync(path.join(ROOT, file), 'utf8');
  return [...text.matchAll(IMPORT)].map((m) => path.relative(ROOT, path.resolve(path.dirname(path.join(ROOT, file)), m[1]!)));
}

describe('architecture', () => {
  it('gives every source file a layer', () => {
    expect(FILES.filter((f) => layerOf(f) === undefined)).toEqual([]);
  });

  it('imports only point down (or within a folder)', () => {
    const violations: string[] = [];
    for (const file of FILES) {
      const from = layerOf(file)!;
      for (const target of importsOf(file)) {
        const to = layerOf(target);
        if (!to) continue; // outside src/ (none today)
        const sameFolder = from.folder === to.folder;
        if (!sameFolder && to.layer >= from.layer) violations.push(`${file} -> ${target}`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('keeps db/, store/ and responses/ free of the layers above them', () => {
    const above = /^src\/(jobs|poller|upstream|processor|gateway|roles)\//;
    const offenders = FILES.filter((f) => /^src\/(db|store|responses)\//.test(f)).flatMap((f) =>
      importsOf(f).filter((t) => above.test(t)).map((t) => `${f} -> ${t}`),
    );
    expect(offenders).toEqual([]);
  });

  it('has no SQL in gateway/ or upstream/', () => {
    const sqlish = /from 'drizzle-orm|from 'pg'|\bsql`|\.execute\(|\.query\(/;
    const offenders = FILES.filter((f) => /^src\/(gateway|upstream)\//.test(f)).filter((f) =>
      sqlish.test(readFileSync(path.join(ROOT, f), 'utf8')),
    );
    expect(offenders).toEqual([]);
  });

  it('keeps every module under 350 lines', () => {
    const long = FILES.map((f) => [f, readFileSync(path.join(ROOT, f), 'utf8').split('\n').length] as const).filter(
      ([, n]) => n > 350,
    );
    expect(long).toEqual([]);
  });

  it('has at most 24 environment variables in the configuration', () => {
    expect(Object.keys(envSchema.shape).length).toBeLessThanOrEqual(24);
  });
});
