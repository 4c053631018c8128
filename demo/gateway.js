// gateway.js - the demo's public API. POST /orders creates an order in the
// orders service, charges it with the payments service, and records the
// outcome; GET /orders/:id reads one back. Exports over OTLP/gRPC.
'use strict';

const express = require('express');
const { call, listen } = require('./lib');

const ordersUrl = process.env.ORDERS_URL || `http://127.0.0.1:${process.env.ORDERS_PORT || 8081}`;
const paymentsUrl = process.env.PAYMENTS_URL || `http://127.0.0.1:${process.env.PAYMENTS_PORT || 8082}`;

const app = express();
app.use(express.json());

app.get('/health', (req, res) => res.json({ ok: true }));

app.post('/orders', async (req, res) => {
  const { item, quantity, card } = req.body || {};
  if (!item || !Number.isInteger(quantity) || quantity < 1) {
    return res.status(400).json({ error: 'item and a positive integer quantity are required' });
  }
  try {
    const created = await call('POST', `${ordersUrl}/orders`, { item, quantity });
    if (created.status !== 201) return res.status(502).json({ error: 'orders failed', detail: created.body });
    const order = created.body;
    const charge = await call('POST', `${paymentsUrl}/charge`, {
      order_id: order.id, amount: order.amount, card: card || '4242424242424242',
    });
    const status = charge.status === 200 ? 'paid' : 'declined';
    await call('PATCH', `${ordersUrl}/orders/${order.id}`, { status });
    if (status === 'declined') {
      return res.status(402).json({ id: order.id, status, error: 'payment declined' });
    }
    return res.status(201).json({ id: order.id, item, quantity, amount: order.amount, status });
  } catch (err) {
    return res.status(502).json({ error: err.message });
  }
});

app.get('/orders/:id', async (req, res) => {
  try {
    const found = await call('GET', `${ordersUrl}/orders/${encodeURIComponent(req.params.id)}`);
    return res.status(found.status).json(found.body);
  } catch (err) {
    return res.status(502).json({ error: err.message });
  }
});

listen(app, Number(process.env.GATEWAY_PORT || 8080), 'gateway');
