// payments.js - the demo's payments service: approves a charge unless the
// card is the test card that always declines. Adds its own span with the
// payment's attributes. Exports over OTLP HTTP/JSON.
'use strict';

const express = require('express');
const { trace, SpanStatusCode } = require('@opentelemetry/api');
const { listen } = require('./lib');

const tracer = trace.getTracer('payments');
const DECLINED_CARD = '4000000000000002';

const app = express();
app.use(express.json());

app.get('/health', (req, res) => res.json({ ok: true }));

app.post('/charge', (req, res) => {
  const { order_id: orderId, amount, card } = req.body || {};
  tracer.startActiveSpan('authorize card', (span) => {
    span.setAttribute('payment.order_id', Number(orderId));
    span.setAttribute('payment.amount', Number(amount));
    span.setAttribute('payment.card_last4', String(card || '').slice(-4));
    const approved = card !== DECLINED_CARD;
    span.setAttribute('payment.approved', approved);
    if (!approved) span.setStatus({ code: SpanStatusCode.ERROR, message: 'card declined' });
    span.end();
    res.status(approved ? 200 : 402).json({ status: approved ? 'approved' : 'declined' });
  });
});

listen(app, Number(process.env.PAYMENTS_PORT || 8082), 'payments');
