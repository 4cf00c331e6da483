import type { Executor } from '../db/client.ts';
import type { ModelApi, ModelRow } from '../db/schema/index.ts';
import type { Logger } from '../logger.ts';
import { listModels } from '../store/models.ts';

/** Where a model's calls go and how (DESIGN 10). */
export interface ModelRoute {
  /** OpenAI-style base URL incl. the version prefix, without a trailing slash. */
  baseUrl: string;
  api: ModelApi;
  /** Sent as `Authorization: Bearer …`; undefined: none. */
  apiKey: string | undefined;
  /** Upstream calls of this model in flight across every flex process (the per-model limit). */
  concurrency: number;
}

export interface CatalogOptions {
  db: Executor;
  /** UPSTREAM_URL: where a model not in the table goes (with the Responses API). */
  defaultUrl: string;
  /** UPSTREAM_API_KEY. */
  defaultApiKey: string | undefined;
  /** MODEL_CONCURRENCY: the limit of a model with none of its own. */
  defaultConcurrency: number;
  /**
   * Reads the environment variable a model's `upstream_api_key_env` names (the key is never
   * stored); the entry points pass process.env's reader, tests a map.
   */
  secret(name: string): string | undefined;
  logger: Logger;
}

/**
 * This process's view of the `models` table: read once at start, again on every change
 * announced on MODELS_CHANNEL (the roles subscribe it to the process's LISTEN connection)
 * and after a lost connection, and every REFRESH_MS as a backstop. Lookups are synchronous
 * and cost nothing on the hot path.
 */
export class ModelCatalog {
  readonly #opts: CatalogOptions;
  #byName = new Map<string, ModelRow>();
  #timer: NodeJS.Timeout | undefined;
  #loading: Promise<void> | undefined;
  #again = false;

  /** The backstop: a change whose NOTIFY was lost reaches every process within this. */
  static readonly REFRESH_MS = 30_000;

  constructor(opts: CatalogOptions) {
    this.#opts = { ...opts, defaultUrl: opts.defaultUrl.replace(/\/+$/, '') };
  }

  async start(): Promise<void> {
    await this.reload();
    this.#timer = setInterval(() => void this.reload().catch(() => {}), ModelCatalog.REFRESH_MS);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** Reads the table again; concurrent calls share one read, and one more after it. */
  reload(): Promise<void> {
    if (this.#loading) {
      this.#again = true;
      return this.#loading;
    }
    this.#loading = (async () => {
      try {
        do {
          this.#again = false;
          const rows = await listModels(this.#opts.db);
          this.#byName = new Map(rows.map((r) => [r.name, r]));
        } while (this.#again);
      } catch (err) {
        this.#opts.logger.warn({ err, component: 'model-catalog' }, 'could not read the models table; keeping the last view');
        throw err;
      } finally {
        this.#loading = undefined;
      }
    })();
    return this.#loading;
  }

  route(model: string): ModelRoute {
    const row = this.#byName.get(model);
    if (!row) {
      return { baseUrl: this.#opts.defaultUrl, api: 'responses', apiKey: this.#opts.defaultApiKey, concurrency: this.#opts.defaultConcurrency };
    }
    return {
      baseUrl: row.upstreamUrl.replace(/\/+$/, ''),
      api: row.api,
      apiKey: row.upstreamApiKeyEnv ? this.#opts.secret(row.upstreamApiKeyEnv) : this.#opts.defaultApiKey,
      concurrency: row.concurrency ?? this.#opts.defaultConcurrency,
    };
  }

  /** The per-model limits as the processor's claim takes them. */
  concurrency(): { default: number; overrides: Record<string, number> } {
    const overrides: Record<string, number> = {};
    for (const row of this.#byName.values()) if (row.concurrency !== null) overrides[row.name] = row.concurrency;
    return { default: this.#opts.defaultConcurrency, overrides };
  }
}
