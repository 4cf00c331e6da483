import { describe, expect, it } from 'vitest';
import { requestMarkerKey, signRequestMarker, verifyRequestMarker } from '../../../src/upstream/request-marker.ts';

describe('request marker', () => {
  const key = requestMarkerKey('admin-token-of-this-deployment');

  it('verifies what the same deployment signed', () => {
    const marker = signRequestMarker(key, '3f1c2b4e-0000-4000-8000-000000000000');
    expect(marker.startsWith('3f1c2b4e-0000-4000-8000-000000000000.')).toBe(true);
    expect(verifyRequestMarker(key, marker)).toBe(true);
    expect(verifyRequestMarker(requestMarkerKey('admin-token-of-this-deployment'), marker)).toBe(true);
  });

  it('rejects forged, altered, foreign and malformed markers', () => {
    const marker = signRequestMarker(key, 'req-1');
    expect(verifyRequestMarker(key, 'abc')).toBe(false);
    expect(verifyRequestMarker(key, 'req-1')).toBe(false);
    expect(verifyRequestMarker(key, `req-2${marker.slice(5)}`)).toBe(false);
    expect(verifyRequestMarker(key, `${marker}x`)).toBe(false);
    expect(verifyRequestMarker(key, `.${marker.split('.')[1]}`)).toBe(false);
    expect(verifyRequestMarker(requestMarkerKey('another-deployment-token'), marker)).toBe(false);
    expect(verifyRequestMarker(key, undefined)).toBe(false);
    expect(verifyRequestMarker(key, [marker, marker])).toBe(false);
  });

  it('without an admin token, makes a key nobody else shares', () => {
    const a = requestMarkerKey(undefined);
    expect(verifyRequestMarker(requestMarkerKey(undefined), signRequestMarker(a, 'r'))).toBe(false);
  });
});
