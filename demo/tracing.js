// tracing.js - OpenTelemetry setup shared by the demo services. Loaded with
// `node --require ./tracing.js SERVICE.js`. Each service exports OTLP to
// tracecheck's built-in receiver over its own protocol (gateway: gRPC,
// orders: HTTP/protobuf, payments: HTTP/JSON, inventory: HTTP/protobuf)
// unless DEMO_OTLP_PROTOCOL names one for all (grpc | http/protobuf |
// http/json); the gRPC instrumentation traces orders' calls to inventory
// and inventory's server side (the exporters' own gRPC calls make no spans);
// OTEL_EXPORTER_OTLP_COMPRESSION=gzip compresses the exports.
'use strict';

const { NodeSDK } = require('@opentelemetry/sdk-node');
const { BatchSpanProcessor } = require('@opentelemetry/sdk-trace');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http');
const { ExpressInstrumentation } = require('@opentelemetry/instrumentation-express');
const { PgInstrumentation } = require('@opentelemetry/instrumentation-pg');
const { GrpcInstrumentation } = require('@opentelemetry/instrumentation-grpc');

const service = process.env.DEMO_SERVICE || 'demo';
const defaults = { gateway: 'grpc', orders: 'http/protobuf', payments: 'http/json', inventory: 'http/protobuf' };
const protocol = process.env.DEMO_OTLP_PROTOCOL || defaults[service] || 'http/protobuf';
const compression = process.env.OTEL_EXPORTER_OTLP_COMPRESSION === 'gzip' ? 'gzip' : 'none';
const httpBase = process.env.OTLP_HTTP_ENDPOINT || 'http://127.0.0.1:4318';
const grpcUrl = process.env.OTLP_GRPC_ENDPOINT || 'http://127.0.0.1:4317';

function makeExporter() {
  if (protocol === 'grpc') {
    const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-grpc');
    return new OTLPTraceExporter({ url: grpcUrl, compression });
  }
  if (protocol === 'http/json') {
    const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http');
    return new OTLPTraceExporter({ url: `${httpBase}/v1/traces`, compression });
  }
  const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto');
  return new OTLPTraceExporter({ url: `${httpBase}/v1/traces`, compression });
}

const delay = Number(process.env.OTEL_BSP_SCHEDULE_DELAY || 100);
const sdk = new NodeSDK({
  resource: resourceFromAttributes({ 'service.name': service, 'deployment.environment': 'demo' }),
  spanProcessors: [new BatchSpanProcessor({ exporter: makeExporter(), scheduledDelayMillis: delay })],
  instrumentations: [
    new HttpInstrumentation({
      ignoreIncomingRequestHook: (req) => req.url === '/health',
    }),
    new ExpressInstrumentation(),
    new PgInstrumentation({ enhancedDatabaseReporting: false }),
    new GrpcInstrumentation(),
  ],
});
sdk.start();

let stopping = false;
function shutdown() {
  if (stopping) return;
  stopping = true;
  // an exporter whose receiver is gone may retry for many seconds: flush
  // what can be flushed, but stop within 2 s
  setTimeout(() => process.exit(0), 2000);
  sdk.shutdown().finally(() => process.exit(0));
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
