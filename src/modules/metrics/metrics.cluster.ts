import type { Worker } from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';

/**
 * With WEB_CONCURRENCY > 1 a scrape reaches one worker, but must report them all. That worker asks the
 * primary, which gathers every worker's figures through prom-client's cluster protocol (AggregatorRegistry),
 * sums them and sends the text back.
 */
const SCRAPE_REQUEST = 'energyexe:metrics:scrape';
const SCRAPE_RESPONSE = 'energyexe:metrics:scraped';

/** The primary's side gives up a little after prom-client's own 5 s wait for the workers. */
const SCRAPE_TIMEOUT_MS = 6000;

interface ScrapeRequest {
  type: typeof SCRAPE_REQUEST;
  id: number;
}

interface ScrapeResponse {
  type: typeof SCRAPE_RESPONSE;
  id: number;
  body?: string;
  error?: string;
}

/**
 * In the primary: answers the workers' scrape requests. Shaped as an extension of the cluster primary
 * (src/cluster.ts), which hands it every worker message.
 */
export function createMetricsAggregator() {
  const aggregator = new AggregatorRegistry();
  return {
    name: 'metrics',
    /** Answers a scrape request; false for any other message. */
    onWorkerMessage(worker: Worker, message: unknown): boolean {
      const request = message as Partial<ScrapeRequest> | null;
      if (request?.type !== SCRAPE_REQUEST || typeof request.id !== 'number') return false;
      const id = request.id;
      const reply = (response: Omit<ScrapeResponse, 'type' | 'id'>) => {
        if (worker.isConnected()) worker.send({ type: SCRAPE_RESPONSE, id, ...response } satisfies ScrapeResponse);
      };
      aggregator.clusterMetrics().then(
        (body) => reply({ body }),
        (error: unknown) => reply({ error: (error as Error).message ?? String(error) }),
      );
      return true;
    },
  };
}

let nextId = 0;
const pending = new Map<number, { resolve(body: string): void; reject(error: Error): void }>();
let listening = false;

function onPrimaryMessage(message: Partial<ScrapeResponse> | null): void {
  if (message?.type !== SCRAPE_RESPONSE || typeof message.id !== 'number') return;
  const request = pending.get(message.id);
  if (!request) return;
  pending.delete(message.id);
  if (typeof message.body === 'string') request.resolve(message.body);
  else request.reject(new Error(message.error ?? 'no metrics from the primary'));
}

/**
 * In a worker: offers `registry` to the primary's gathering, and returns the scrape function of GET /metrics,
 * which asks the primary for every worker's figures.
 */
export function scrapeThroughPrimary(registry: Registry): () => Promise<string> {
  AggregatorRegistry.setRegistries([registry]);
  // Constructing one installs prom-client's answer to the primary's requests in this worker.
  new AggregatorRegistry();
  if (!listening) {
    listening = true;
    process.on('message', onPrimaryMessage);
  }
  return () =>
    new Promise<string>((resolve, reject) => {
      const send = process.send?.bind(process);
      if (!send) {
        reject(new Error('not a cluster worker'));
        return;
      }
      nextId += 1;
      const id = nextId;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error('the primary did not answer in time'));
      }, SCRAPE_TIMEOUT_MS);
      pending.set(id, {
        resolve: (body) => {
          clearTimeout(timer);
          resolve(body);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      send({ type: SCRAPE_REQUEST, id } satisfies ScrapeRequest);
    });
}
