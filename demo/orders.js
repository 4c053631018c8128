// orders.js - the demo's orders service: stores orders in PostgreSQL (pg,
// instrumented: every query is a span) and reserves their stock with the
// inventory service over gRPC (instrumented: a client span, inventory's
// server span below it). Exports over OTLP HTTP/protobuf.
'use strict';

const path = require('node:path');
const express = require('express');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const { Pool } = require('pg');
const { context } = require('@opentelemetry/api');
const { suppressTracing } = require('@opentelemetry/core');
const { listen } = require('./lib');

const pool = new Pool({
  host: '127.0.0.1',
  port: Number(process.env.PGPORT || 54329),
  user: process.env.PGUSER || 'postgres',
  database: process.env.PGDATABASE || 'orders',
  max: 4,
});

const PRICES = { book: 1200, pen: 150, lamp: 4500 };

const inventoryAddr = process.env.INVENTORY_ADDR || `127.0.0.1:${process.env.INVENTORY_PORT || 8083}`;
const inventoryProto = grpc.loadPackageDefinition(protoLoader.loadSync(
  path.join(__dirname, 'proto', 'inventory.proto'),
  { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true }));
const inventory = new inventoryProto.inventory.v1.Inventory(inventoryAddr, grpc.credentials.createInsecure());

// Reserve(sku, quantity, order_id) on inventory; resolves with its reply,
// rejects with the gRPC error (err.code, err.details).
function reserve(sku, quantity, orderId) {
  return new Promise((resolve, reject) => {
    inventory.Reserve({ sku, quantity, order_id: String(orderId) },
      { deadline: Date.now() + 5000 },
      (err, reply) => (err ? reject(err) : resolve(reply)));
  });
}

async function migrate() {
  await pool.query(`CREATE TABLE IF NOT EXISTS orders (
    id SERIAL PRIMARY KEY, item TEXT NOT NULL, quantity INT NOT NULL,
    amount INT NOT NULL, status TEXT NOT NULL DEFAULT 'pending',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now())`);
}

const app = express();
app.use(express.json());

app.get('/health', (req, res) => res.json({ ok: true }));

// Inserts the order, then reserves its stock with inventory. When inventory
// refuses (unknown item, not enough stock) the order is marked rejected and
// the answer is 409 with inventory's reason.
app.post('/orders', async (req, res) => {
  const { item, quantity } = req.body || {};
  const amount = (PRICES[item] || 999) * quantity;
  const r = await pool.query(
    'INSERT INTO orders (item, quantity, amount) VALUES ($1, $2, $3) RETURNING id, item, quantity, amount, status',
    [item, quantity, amount]);
  const order = r.rows[0];
  try {
    await reserve(item, quantity, order.id);
  } catch (err) {
    if (err.code === grpc.status.NOT_FOUND || err.code === grpc.status.RESOURCE_EXHAUSTED ||
        err.code === grpc.status.INVALID_ARGUMENT) {
      await pool.query("UPDATE orders SET status = 'rejected' WHERE id = $1", [order.id]);
      return res.status(409).json({ ...order, status: 'rejected', error: `inventory: ${err.details}` });
    }
    return res.status(502).json({ error: `inventory: ${err.details || err.message}` });
  }
  res.status(201).json(order);
});

app.get('/orders/:id', async (req, res) => {
  const id = Number(req.params.id);
  if (!Number.isInteger(id)) return res.status(404).json({ error: 'order not found' });
  const r = await pool.query('SELECT id, item, quantity, amount, status FROM orders WHERE id = $1', [id]);
  if (r.rowCount === 0) return res.status(404).json({ error: 'order not found' });
  res.json(r.rows[0]);
});

app.patch('/orders/:id', async (req, res) => {
  const r = await pool.query('UPDATE orders SET status = $1 WHERE id = $2', [req.body.status, Number(req.params.id)]);
  res.status(r.rowCount ? 204 : 404).end();
});

// Start-up queries are not part of any test's trace: no spans for them, so
// nothing is exported before the first request.
context.with(suppressTracing(context.active()), migrate).then(() => listen(app, Number(process.env.ORDERS_PORT || 8081), 'orders'), (err) => {
  console.error(`orders: cannot reach PostgreSQL: ${err.message}`);
  process.exit(1);
});
