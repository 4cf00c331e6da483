// The dashboard's static files: uPlot from node_modules and our own from ./assets, read once
// when the app is built (never per request, and never relative to the working directory),
// each named in pages with its content hash so a browser may cache it for good.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

export interface Asset {
  body: Buffer;
  contentType: string;
  /** The first 16 hex digits of the body's SHA-256: the `?v=` of its URL and its ETag. */
  hash: string;
}

export interface Assets {
  get(name: string): Asset | undefined;
  /** `/dashboard/assets/<name>?v=<hash>` (throws for a name that is not an asset: a bug). */
  url(name: string): string;
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

const OWN = ['app.js', 'app.css', 'overview.js', 'requests.js', 'request.js', 'keys.js', 'models.js'];

export function loadAssets(): Assets {
  const require = createRequire(import.meta.url);
  const sources: [name: string, file: string][] = [
    ['uPlot.iife.min.js', require.resolve('uplot/dist/uPlot.iife.min.js')],
    ['uPlot.min.css', require.resolve('uplot/dist/uPlot.min.css')],
    ...OWN.map((name): [string, string] => [name, path.join(import.meta.dirname, 'assets', name)]),
  ];
  const byName = new Map<string, Asset>();
  for (const [name, file] of sources) {
    const body = readFileSync(file);
    const contentType = TYPES[path.extname(name)];
    if (contentType === undefined) throw new Error(`dashboard asset ${name} has no known content type`);
    byName.set(name, { body, contentType, hash: createHash('sha256').update(body).digest('hex').slice(0, 16) });
  }
  return {
    get: (name) => byName.get(name),
    url(name) {
      const asset = byName.get(name);
      if (!asset) throw new Error(`no dashboard asset named ${name}`);
      return `/dashboard/assets/${name}?v=${asset.hash}`;
    },
  };
}
