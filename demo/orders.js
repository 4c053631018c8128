// orders.js - the demo's orders service: stores orders in PostgreSQL (pg,
// instrumented: every query is a span). Exports over OTLP HTTP/protobuf.
'use strict';

const express = require('express');
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

async function migrate() {
  await pool.query(`CREATE TABLE IF NOT EXISTS orders (
    id SERIAL PRIMARY KEY, item TEXT NOT NULL, quantity INT NOT NULL,
    amount INT NOT NULL, status TEXT NOT NULL DEFAULT 'pending',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now())`);
}

const app = express();
app.use(express.json());

app.get('/health', (req, res) => res.json({ ok: true }));

app.post('/orders', async (req, res) => {
  const { item, quantity } = req.body || {};
  const amount = (PRICES[item] || 999) * quantity;
  const r = await pool.query(
    'INSERT INTO orders (item, quantity, amount) VALUES ($1, $2, $3) RETURNING id, item, quantity, amount, status',
    [item, quantity, amount]);
  res.status(201).json(r.rows[0]);
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
