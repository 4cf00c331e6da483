/**
 * The NOTIFY channel on which a transaction that makes requests terminal announces their
 * ids (comma-separated, at most NOTIFY_IDS_PER_MESSAGE per message: NOTIFY payloads are
 * limited to 8,000 bytes and a uuid takes 37 with its comma).
 */
export const TERMINAL_CHANNEL = 'volley_request_terminal';
export const NOTIFY_IDS_PER_MESSAGE = 200;

/**
 * The NOTIFY channel on which `cancelRequest` announces a canceled request's id (one id per
 * message), so whichever flex process holds its upstream call aborts it.
 */
export const CANCEL_CHANNEL = 'volley_request_cancel';

/**
 * The NOTIFY channel on which a change to the `models` table is announced (the model's name),
 * so every process reloads its catalog within a round trip (DESIGN 10).
 */
export const MODELS_CHANNEL = 'volley_models_changed';

/**
 * The NOTIFY channel on which a revoked or changed API key is announced (its id), so every
 * gateway forgets the keys it cached at once, not after KEY_CACHE_TTL_MS (DESIGN 12).
 */
export const API_KEYS_CHANNEL = 'volley_api_keys_changed';
