import type { Tracer } from '@opentelemetry/api';
import type { QueryTracer } from '../db/query-tracing.js';

export interface Tracing {
  tracer: Tracer;
  /** For the database layer: a span per statement made inside a trace. */
  queryTracer: QueryTracer;
  /** Sends the spans buffered so far. */
  flush(): Promise<void>;
  /** Sends what is buffered, then stops tracing. */
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  /** OTEL_EXPORTER_OTLP_ENDPOINT; no endpoint, no tracing. */
  endpoint: string | undefined;
  serviceName: string;
  version: string;
  /** Where the exporter's own errors go (a collector that cannot be reached). */
  onError?: (message: string) => void;
}

/**
 * Starts OpenTelemetry when an endpoint is configured. Without one nothing is imported: the SDK's modules are
 * loaded by this dynamic import only, so a service without tracing does not pay for them.
 */
export async function startTracing(options: TracingOptions): Promise<Tracing | undefined> {
  if (!options.endpoint) return undefined;
  const { createTracing } = await import('./tracing.sdk.js');
  return createTracing({ ...options, endpoint: options.endpoint });
}
