// The dashboard's HTML: interpolated values are escaped, nested markup is not, and the
// dashboard folder depends on nothing but lib/ and the configuration.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { escapeHtml, html } from '../../../src/dashboard/html.ts';
import { rangeName } from '../../../src/dashboard/pages.ts';

describe('html', () => {
  it('escapes every interpolated string, in content and attributes', () => {
    const evil = `<script>alert("x")</script>' onmouseover='y`;
    expect(html`<p title="${evil}">${evil}</p>`.text).toBe(
      '<p title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39; onmouseover=&#39;y">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39; onmouseover=&#39;y</p>',
    );
    expect(escapeHtml('a & b')).toBe('a &amp; b');
  });

  it('keeps nested html as markup, and renders arrays, numbers and absent values', () => {
    const items = ['<a>', 'b'].map((s) => html`<li>${s}</li>`);
    expect(html`<ul>${items}</ul>${null}${undefined}${false}${3}`.text).toBe('<ul><li>&lt;a&gt;</li><li>b</li></ul>3');
  });

  it('falls back to 24 h for a range it does not know', () => {
    expect(rangeName('7d')).toBe('7d');
    expect(rangeName('toString')).toBe('24h');
    expect(rangeName(['1h'])).toBe('24h');
  });
});

describe('src/dashboard/', () => {
  it('imports only from lib/, config.ts and itself', () => {
    const dir = path.resolve(import.meta.dirname, '../../../src/dashboard');
    const offenders: string[] = [];
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
      const text = readFileSync(path.join(dir, file), 'utf8');
      for (const m of text.matchAll(/from '(\.{1,2}\/[^']+)'/g)) {
        const target = path.relative(path.resolve(dir, '..'), path.resolve(dir, m[1]!));
        if (!/^(lib\/|config\.ts$|dashboard\/)/.test(target)) offenders.push(`${file} -> ${target}`);
      }
    }
    expect(offenders).toEqual([]);
  });
});
