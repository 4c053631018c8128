#!/usr/bin/env node
// server.js - a gRPC server for the gRPC trigger's tests, on an ephemeral
// 127.0.0.1 port: Tracetest's Pokeshop API (the .proto of its CLI tests)
// and tctest.Probe (probe.proto: echo, a server stream, a chosen non-OK
// status). Every answer's metadata echoes the request's metadata as
// x-echo-<key>, so a test can see the traceparent that arrived.
//
//   node tests/grpc/server.js        prints "port N" when ready; exits when
//                                    stdin closes or after 300 s
'use strict';
const path = require('path');
const root = path.join(__dirname, '..', '..');
const modules = path.join(root, 'demo', 'node_modules');
const grpc = require(path.join(modules, '@grpc', 'grpc-js'));
const loader = require(path.join(modules, '@grpc', 'proto-loader'));

const options = { keepCase: true, longs: String, enums: String, defaults: false, oneofs: true };
const apiProto = path.join(root, 'tests', 'data', 'tracetest-resources', 'testing', 'cli-e2etest', 'testscenarios',
  'test', 'resources', 'api.proto');
const pokeshop = grpc.loadPackageDefinition(loader.loadSync(apiProto, options)).pokeshop;
const tctest = grpc.loadPackageDefinition(loader.loadSync(path.join(__dirname, 'probe.proto'), options)).tctest;

function echo(call) {
  const md = new grpc.Metadata();
  const got = call.metadata.getMap();
  for (const k of Object.keys(got)) {
    if (!k.endsWith('-bin')) md.set('x-echo-' + k, String(got[k]));
  }
  return md;
}

function unary(fn) {
  return (call, callback) => {
    call.sendMetadata(echo(call));
    fn(call.request, callback);
  };
}

const pokemons = [
  { id: 1, name: 'Bulbasaur', type: 'grass', isFeatured: false },
  { id: 25, name: 'Pikachu', type: 'electric', isFeatured: true, imageUrl: 'https://example.com/25.png' },
];

const server = new grpc.Server();
server.addService(pokeshop.Pokeshop.service, {
  createPokemon: unary((req, cb) => cb(null, Object.assign({}, req, { id: 42 }))),
  getPokemonList: unary((req, cb) => {
    const items = pokemons.slice(req.skip || 0, (req.skip || 0) + (req.take || pokemons.length));
    cb(null, { items, totalCount: pokemons.length });
  }),
  importPokemon: unary((req, cb) => cb(null, req)),
});
server.addService(tctest.Probe.service, {
  Echo: unary((req, cb) => cb(null, req)),
  Fail: unary((req, cb) => cb({ code: req.code, details: req.message })),
  List: (call) => {
    call.sendMetadata(echo(call));
    const req = call.request;
    if (!req.endless) {
      for (let i = 1; i <= (req.count || 0); i++) call.write({ id: i, name: 'item ' + i });
      call.end();
      return;
    }
    let i = 0;
    const t = setInterval(() => call.write({ id: ++i, name: 'item ' + i }), 20);
    const stop = () => clearInterval(t);
    call.on('cancelled', stop);
    call.on('close', stop);
    call.on('error', stop);
  },
  Upload: (call, cb) => call.on('data', () => {}).on('end', () => cb(null, {})),
});

server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) {
    process.stderr.write(`grpc test server: ${err.message}\n`);
    process.exit(2);
  }
  process.stdout.write(`port ${port}\n`);
});

const quit = () => process.exit(0);
process.stdin.on('end', quit);
process.stdin.on('error', quit);
process.stdin.resume();
process.on('SIGTERM', () => process.exit(0));
setTimeout(() => process.exit(0), 300000).unref();
