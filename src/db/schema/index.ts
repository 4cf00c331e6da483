export * from './users.ts';
export * from './api-keys.ts';
export * from './batches.ts';
export * from './requests.ts';
export * from './idempotency-keys.ts';
export * from './models.ts';
export * from './usage-rollups.ts';
