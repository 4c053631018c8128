// inventory.js - the demo's inventory service, over gRPC (@grpc/grpc-js,
// the service in proto/inventory.proto). Reserve takes units of an item off
// its stock for an order (orders calls it while creating an order);
// WatchStock streams an item's stock level. The stock is kept in memory.
// The gRPC instrumentation makes a server span of each call, joined to the
// caller's trace; the handlers add the call's details to it. Exports over
// OTLP HTTP/protobuf.
'use strict';

const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const { trace } = require('@opentelemetry/api');

const PROTO = path.join(__dirname, 'proto', 'inventory.proto');
const LOADER_OPTIONS = { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true };
const WATCH_MAX = 20;
const WATCH_INTERVAL_MS = 5;

// Plenty, so that runs of the demo suite and the benchmark never exhaust it.
const stock = new Map([['book', 100000], ['pen', 100000], ['lamp', 100000]]);
let reservations = 0;

function fail(code, message) {
  const err = new Error(message);
  err.code = code;
  return err;
}

function annotate(attrs) {
  const span = trace.getActiveSpan();
  if (span) span.setAttributes(attrs);
}

function reserve(call, callback) {
  const { sku, quantity, order_id: orderId } = call.request;
  annotate({ 'inventory.sku': sku, 'inventory.quantity': quantity, 'inventory.order_id': orderId });
  if (!stock.has(sku)) return callback(fail(grpc.status.NOT_FOUND, `unknown sku "${sku}"`));
  if (!Number.isInteger(quantity) || quantity < 1) {
    return callback(fail(grpc.status.INVALID_ARGUMENT, 'quantity must be a positive integer'));
  }
  const level = stock.get(sku);
  if (quantity > level) {
    return callback(fail(grpc.status.RESOURCE_EXHAUSTED, `only ${level} of "${sku}" left`));
  }
  stock.set(sku, level - quantity);
  reservations += 1;
  const reply = { reservation_id: `res-${reservations}`, remaining: level - quantity };
  annotate({ 'inventory.reservation_id': reply.reservation_id, 'inventory.remaining': reply.remaining });
  return callback(null, reply);
}

function watchStock(call) {
  const { sku } = call.request;
  const count = call.request.count || 1;
  annotate({ 'inventory.sku': sku, 'inventory.count': count });
  if (!stock.has(sku)) {
    call.emit('error', fail(grpc.status.NOT_FOUND, `unknown sku "${sku}"`));
    return;
  }
  if (!Number.isInteger(count) || count < 1 || count > WATCH_MAX) {
    call.emit('error', fail(grpc.status.INVALID_ARGUMENT, `count must be 1 to ${WATCH_MAX}`));
    return;
  }
  let sent = 0;
  const timer = setInterval(() => {
    if (call.cancelled) { clearInterval(timer); return; }
    call.write({ sku, level: stock.get(sku) });
    sent += 1;
    if (sent === count) {
      clearInterval(timer);
      annotate({ 'inventory.messages': sent });
      call.end();
    }
  }, WATCH_INTERVAL_MS);
  call.on('cancelled', () => clearInterval(timer));
}

const proto = grpc.loadPackageDefinition(protoLoader.loadSync(PROTO, LOADER_OPTIONS));
const server = new grpc.Server();
server.addService(proto.inventory.v1.Inventory.service, { Reserve: reserve, WatchStock: watchStock });

const port = Number(process.env.INVENTORY_PORT || 8083);
server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err) => {
  if (err) {
    console.error(`inventory: cannot listen on 127.0.0.1:${port}: ${err.message}`);
    process.exit(1);
  }
  console.log(`inventory listening on 127.0.0.1:${port} (gRPC)`);
});

const stop = () => server.tryShutdown(() => {});
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
