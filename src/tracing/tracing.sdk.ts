import { context, DiagLogLevel, diag, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { QueryTracer } from '../db/query-tracing.js';
import type { Tracing, TracingOptions } from './tracing.js';

/** The SQL statement's first keyword (SELECT, INSERT, WITH...): the span's name. */
const operationOf = (statement: string) => /^\s*([A-Za-z]+)/.exec(statement)?.[1]?.toUpperCase() ?? 'QUERY';

/** The OpenTelemetry SDK: spans batched and sent as OTLP/HTTP (JSON) to ENDPOINT/v1/traces. */
export function createTracing(options: TracingOptions & { endpoint: string }): Tracing {
  const { onError } = options;
  if (onError) {
    const report = (message: string, ...args: unknown[]) =>
      onError([message, ...args.map((arg) => (arg instanceof Error ? arg.message : String(arg)))].join(' '));
    diag.setLogger(
      { error: report, warn: report, info: () => {}, debug: () => {}, verbose: () => {} },
      DiagLogLevel.WARN,
    );
  }
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': options.serviceName, 'service.version': options.version }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${options.endpoint}/v1/traces` }))],
  });
  // The AsyncLocalStorage context manager (a query finds its request's span) and the W3C traceparent propagator.
  provider.register();
  const tracer = provider.getTracer('energyexe-core', options.version);

  const queryTracer: QueryTracer = {
    trace(statement, run) {
      // Statements outside a request (the email worker's polling, migrations) would be traces of their own,
      // one every poll: only those made for a traced request are recorded.
      if (!trace.getSpan(context.active())) return run();
      const operation = operationOf(statement);
      return tracer.startActiveSpan(
        operation,
        {
          kind: SpanKind.CLIENT,
          // Statements carry $n placeholders, never the values (which may be password hashes or tokens).
          attributes: { 'db.system.name': 'postgresql', 'db.operation.name': operation, 'db.query.text': statement },
        },
        async (span) => {
          try {
            return await run();
          } catch (error) {
            span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
            throw error;
          } finally {
            span.end();
          }
        },
      );
    },
  };

  return {
    tracer,
    queryTracer,
    flush: () => provider.forceFlush(),
    async shutdown() {
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
      diag.disable();
    },
  };
}
