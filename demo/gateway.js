// gateway.js - the demo's public API. POST /orders creates an order in the
// orders service, charges it with the payments service, and records the
// outcome; GET /orders/:id reads one back; POST /graphql answers GraphQL
// queries on orders (graphql.js: `order(id: ID!) { id item quantity amount
// status }`), reading them from the orders service as GET /orders/:id does.
// Exports over OTLP/gRPC.
'use strict';

const express = require('express');
const { trace, SpanStatusCode } = require('@opentelemetry/api');
const { call, listen } = require('./lib');
const graphql = require('./graphql');

const tracer = trace.getTracer('gateway');

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
    if (created.status === 409) return res.status(409).json(created.body); // inventory refused
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

// GraphQL over HTTP: {"query", "variables", "operationName"} in a JSON body.
// A request that GraphQL can read answers 200, its errors (a syntax error,
// an unknown field, an order that does not exist) in "errors"; a body with
// no query is 400. The operation is a span of its own, "query NAME".
const resolvers = {
  async order({ id }) {
    const found = await call('GET', `${ordersUrl}/orders/${encodeURIComponent(id)}`);
    if (found.status === 404) throw new Error('order not found');
    if (found.status !== 200) throw new Error(`orders answered ${found.status}`);
    return found.body;
  },
};

app.post('/graphql', async (req, res) => {
  const body = req.body;
  if (!body || typeof body !== 'object' || typeof body.query !== 'string') {
    return res.status(400).json({ errors: [{ message: 'Must provide query string.' }] });
  }
  const m = /^\s*(query|mutation|subscription)\b\s*([_A-Za-z][_0-9A-Za-z]*)?/.exec(body.query);
  const opType = m ? m[1] : 'query';
  const opName = body.operationName || (m && m[2]) || null;
  return tracer.startActiveSpan(opName ? `${opType} ${opName}` : opType, async (span) => {
    span.setAttribute('graphql.operation.type', opType);
    if (opName) span.setAttribute('graphql.operation.name', opName);
    span.setAttribute('graphql.document', body.query);
    try {
      const result = await graphql.execute(body, resolvers);
      if (result.errors) {
        span.setAttribute('graphql.errors', result.errors.length);
        span.setStatus({ code: SpanStatusCode.ERROR, message: result.errors[0].message });
      }
      return res.status(200).json(result);
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: err.message });
      return res.status(500).json({ errors: [{ message: err.message }] });
    } finally {
      span.end();
    }
  });
});

listen(app, Number(process.env.GATEWAY_PORT || 8080), 'gateway');
