// The Node.js peer server: what a Node developer writes to serve one ONNX model without a serving library. One
// onnxruntime-node session behind Node's http server, one run per request (no batching, no auth), answering seed 000's
// POST /api/v1/models/{model_id}/inference with the body ModelKit takes and the fields it answers. input_data is one
// float matrix for a single-input model, or an object of named int64/float matrices. When grpcPort is given it also
// serves the Open Inference Protocol's inference.GRPCInferenceService/ModelInfer (h2c, @grpc/grpc-js, the repository's
// own src/ModelKit.Grpc/Protos/grpc_service.proto): FP32/INT64 inputs from raw_input_contents (little-endian) or from
// contents, the first output answered the same way (raw_output_contents or contents.fp32_contents).
//   node server.js <model.onnx> <model_id> [port=9104] [grpcPort]
// Install with: npm install --prefix benchmarks/peers/NodeServer --no-package-lock --ignore-scripts
// (--ignore-scripts: the package's install script would fetch GPU binaries from outside npm; the CPU ones are in the package).
'use strict';
const http = require('node:http');
const crypto = require('node:crypto');
const path = require('node:path');
const ort = require('onnxruntime-node');

const [modelPath, modelId, portText, grpcPortText] = process.argv.slice(2);
if (!modelPath || !modelId) {
  console.error('usage: node server.js <model.onnx> <model_id> [port=9104] [grpcPort]');
  process.exit(2);
}
const port = Number(portText || 9104);
const grpcPort = grpcPortText ? Number(grpcPortText) : undefined;

function reply(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

// A rows × columns JSON matrix as a tensor of the input's element type.
function matrix(rows, type) {
  if (!Array.isArray(rows) || rows.length === 0 || !Array.isArray(rows[0])) throw new Error('each input is a matrix');
  const columns = rows[0].length;
  const values = type === 'int64' ? new BigInt64Array(rows.length * columns) : new Float32Array(rows.length * columns);
  let i = 0;
  for (const row of rows) {
    if (row.length !== columns) throw new Error('the rows differ in length');
    for (const v of row) values[i++] = type === 'int64' ? BigInt(v) : v;
  }
  return new ort.Tensor(type, values, [rows.length, columns]);
}

async function main() {
  const session = await ort.InferenceSession.create(modelPath);
  const inputs = session.inputNames;
  const types = Object.fromEntries(session.inputMetadata.map((m) => [m.name, m.type]));
  const output = session.outputNames[0];
  const route = `/api/v1/models/${modelId}/inference`;
  const server = http.createServer((req, res) => {
    if (req.url !== route || req.method !== 'POST') {
      req.resume(); // read the body away, or the next request on this kept-alive connection is never parsed
      return reply(res, 404, { error: `${req.method} ${req.url.slice(0, 80)} is not served here` });
    }
    const started = process.hrtime.bigint();
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      try {
        const data = JSON.parse(Buffer.concat(chunks).toString('utf8')).input_data;
        const feeds = {};
        if (Array.isArray(data)) feeds[inputs[0]] = matrix(data, types[inputs[0]] || 'float32');
        else for (const name of inputs) feeds[name] = matrix(data[name], types[name] || 'float32');
        const results = await session.run(feeds, [output]);
        const tensor = results[output];
        reply(res, 200, {
          request_id: crypto.randomUUID().replaceAll('-', ''),
          model_id: modelId,
          output_data: { [output]: { shape: tensor.dims, datatype: 'FP32', data: Array.from(tensor.data) } },
          processing_time: Number(process.hrtime.bigint() - started) / 1e9,
          timestamp: new Date().toISOString(),
        });
      } catch (e) {
        reply(res, 400, { error: String(e.message || e) });
      }
    });
  });
  server.listen(port, '127.0.0.1', () => console.log(`node peer: ${modelId} on http://127.0.0.1:${port} (onnxruntime-node ${require('onnxruntime-node/package.json').version})`));
  if (grpcPort !== undefined) serveGrpc(session, types, output);
}

// The Open Inference Protocol's datatypes for the tensor types this peer takes.
const grpcTypes = { float32: 'FP32', int64: 'INT64' };

class GrpcError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

// One request input as a tensor: from its raw little-endian bytes when the request has raw_input_contents, otherwise
// from contents.fp32_contents / contents.int64_contents. The dims are the input's shape.
function grpcTensor(grpc, input, raw, types) {
  const type = types[input.name];
  if (type === undefined) {
    throw new GrpcError(grpc.status.INVALID_ARGUMENT, `input '${input.name}' is not an input of ${modelId}; its inputs are ${Object.keys(types).join(', ')}`);
  }
  if (!grpcTypes[type]) throw new GrpcError(grpc.status.INVALID_ARGUMENT, `input '${input.name}' has type ${type}, which this server does not take (FP32 or INT64)`);
  if (input.datatype !== grpcTypes[type]) {
    throw new GrpcError(grpc.status.INVALID_ARGUMENT, `input '${input.name}' is ${grpcTypes[type]}, not '${input.datatype}'`);
  }
  const dims = input.shape.map(Number);
  if (dims.length === 0 || dims.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    throw new GrpcError(grpc.status.INVALID_ARGUMENT, `input '${input.name}' has shape [${input.shape.join(', ')}]; each dimension must be a whole number >= 0`);
  }
  const count = dims.reduce((a, b) => a * b, 1);
  const values = type === 'int64' ? new BigInt64Array(count) : new Float32Array(count);
  if (raw) {
    if (raw.length !== values.byteLength) {
      throw new GrpcError(grpc.status.INVALID_ARGUMENT, `input '${input.name}' has ${raw.length} raw bytes; shape [${dims.join(', ')}] of ${input.datatype} needs ${values.byteLength}`);
    }
    new Uint8Array(values.buffer).set(raw); // a copy: the Buffer's byteOffset need not be aligned for the typed array
  } else {
    const contents = input.contents || {};
    const list = (type === 'int64' ? contents.int64_contents : contents.fp32_contents) || [];
    if (list.length !== count) {
      throw new GrpcError(grpc.status.INVALID_ARGUMENT, `input '${input.name}' has ${list.length} values in contents.${type === 'int64' ? 'int64' : 'fp32'}_contents; shape [${dims.join(', ')}] needs ${count}`);
    }
    for (let i = 0; i < count; i++) values[i] = type === 'int64' ? BigInt(list[i]) : list[i];
  }
  return new ort.Tensor(type, values, dims);
}

// ModelInfer on an h2c gRPC listener: one session.run per call, like the REST route.
function serveGrpc(session, types, output) {
  const grpc = require('@grpc/grpc-js');
  const protoLoader = require('@grpc/proto-loader');
  const definition = protoLoader.loadSync(path.join(__dirname, '../../../src/ModelKit.Grpc/Protos/grpc_service.proto'), {
    keepCase: true,
    longs: String,
    bytes: Buffer,
    defaults: true,
    oneofs: true,
  });
  const service = grpc.loadPackageDefinition(definition).inference.GRPCInferenceService.service;
  const inputCount = session.inputNames.length;

  async function modelInfer(call, callback) {
    try {
      const request = call.request;
      if (request.model_name !== modelId) {
        throw new GrpcError(grpc.status.NOT_FOUND, `model '${request.model_name}' is not served here; this server serves '${modelId}'`);
      }
      const raw = request.raw_input_contents.length > 0;
      if (request.inputs.length !== inputCount) {
        throw new GrpcError(grpc.status.INVALID_ARGUMENT, `the request has ${request.inputs.length} inputs; ${modelId} takes ${inputCount} (${session.inputNames.join(', ')})`);
      }
      if (raw && request.raw_input_contents.length !== request.inputs.length) {
        throw new GrpcError(grpc.status.INVALID_ARGUMENT, `the request has ${request.raw_input_contents.length} raw_input_contents for ${request.inputs.length} inputs; it needs one per input`);
      }
      const feeds = {};
      request.inputs.forEach((input, i) => {
        if (feeds[input.name]) throw new GrpcError(grpc.status.INVALID_ARGUMENT, `input '${input.name}' is given twice`);
        feeds[input.name] = grpcTensor(grpc, input, raw ? request.raw_input_contents[i] : undefined, types);
      });
      const results = await session.run(feeds, [output]);
      const tensor = results[output];
      const data = tensor.data;
      const answer = { name: output, datatype: 'FP32', shape: tensor.dims };
      const response = { model_name: modelId, id: request.id, outputs: [answer] };
      if (raw) response.raw_output_contents = [Buffer.from(data.buffer, data.byteOffset, data.byteLength)];
      else answer.contents = { fp32_contents: Array.from(data) };
      callback(null, response);
    } catch (e) {
      callback({ code: e instanceof GrpcError ? e.code : grpc.status.INVALID_ARGUMENT, details: String(e.message || e) });
    }
  }

  const server = new grpc.Server();
  server.addService(service, { ModelInfer: modelInfer });
  server.bindAsync(`127.0.0.1:${grpcPort}`, grpc.ServerCredentials.createInsecure(), (err, bound) => {
    if (err) {
      console.error(`node peer: gRPC could not bind 127.0.0.1:${grpcPort}: ${err.message}`);
      process.exit(1);
    }
    console.log(`node peer: ${modelId} ModelInfer on grpc h2c 127.0.0.1:${bound} (@grpc/grpc-js ${require('@grpc/grpc-js/package.json').version})`);
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
