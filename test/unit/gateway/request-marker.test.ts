import { describe, expect, it } from 'vitest';
import { MARKER_TTL_MS, requestMarkerKey, signRequestMarker, verifyRequestMarker } from '../../../src/upstream/request-marker.ts';

describe('request marker', () => {
  const key = requestMarkerKey('admin-token-of-this-deployment');
  const id = '3f1c2b4e-0000-4000-8000-000000000000';
  const body = '{"model":"m","input":"hi"}';
  const now = 1_800_000_000_000;

  it('verifies what the same deployment signed, for the same body, while fresh', () => {
    const marker = signRequestMarker(key, id, body, now);
    expect(marker.startsWith(`${id}.`)).toBe(true);
    expect(verifyRequestMarker(key, marker, body, now)).toBe(id);
    expect(verifyRequestMarker(requestMarkerKey('admin-token-of-this-deployment'), marker, Buffer.from(body), now + 1_000)).toBe(id);
  });

  it('refuses it for another body, after it expired, or with any part changed', () => {
    const marker = signRequestMarker(key, id, body, now);
    expect(verifyRequestMarker(key, marker, '{"model":"m","input":"something else"}', now)).toBeUndefined();
    expect(verifyRequestMarker(key, marker, body, now + MARKER_TTL_MS + 1_000)).toBeUndefined();
    const [rid, expiry, hash, mac] = marker.split('.') as [string, string, string, string];
    expect(verifyRequestMarker(key, [rid, String(Number(expiry) + 3600), hash, mac].join('.'), body, now)).toBeUndefined();
    expect(verifyRequestMarker(key, ['4f1c2b4e-0000-4000-8000-000000000000', expiry, hash, mac].join('.'), body, now)).toBeUndefined();
  });

  it('rejects forged, foreign and malformed markers', () => {
    const marker = signRequestMarker(key, 'req-1', body, now);
    for (const bad of ['abc', 'req-1', `${marker}x`, `.${marker}`, marker.split('.').slice(0, 3).join('.')]) {
      expect(verifyRequestMarker(key, bad, body, now)).toBeUndefined();
    }
    expect(verifyRequestMarker(requestMarkerKey('another-deployment-token'), marker, body, now)).toBeUndefined();
    expect(verifyRequestMarker(key, undefined, body, now)).toBeUndefined();
    expect(verifyRequestMarker(key, [marker, marker], body, now)).toBeUndefined();
  });

  it('without an admin token, makes a key nobody else shares', () => {
    const a = requestMarkerKey(undefined);
    expect(verifyRequestMarker(requestMarkerKey(undefined), signRequestMarker(a, 'r', body, now), body, now)).toBeUndefined();
  });
});
