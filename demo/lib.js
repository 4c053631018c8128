// lib.js - small helpers shared by the demo services: a JSON HTTP client
// on node:http (instrumented, so calls carry the trace context) and the
// listen address.
'use strict';

const http = require('node:http');

function call(method, url, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? null : Buffer.from(JSON.stringify(body));
    const req = http.request(url, {
      method,
      headers: data ? { 'content-type': 'application/json', 'content-length': data.length } : {},
      timeout: 10000,
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let json = null;
        try { json = text ? JSON.parse(text) : null; } catch (e) { json = { raw: text }; }
        resolve({ status: res.statusCode, body: json });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: timeout`)));
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

function listen(app, port, name) {
  const server = app.listen(port, '127.0.0.1', () => {
    console.log(`${name} listening on http://127.0.0.1:${port}`);
  });
  const stop = () => server.close();
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  return server;
}

module.exports = { call, listen };
