// A client not written in C#: loads ModelKit's shipped .proto files with @grpc/proto-loader and calls the server over
// h2c with @grpc/grpc-js. Usage: node client.js <host:port> <api-key> <protos-dir> <health-proto>
// Prints one JSON line per check; exits non-zero on the first failure.
'use strict';
const grpc = require('@grpc/grpc-js');
const loader = require('@grpc/proto-loader');
const path = require('path');

const [address, key, protos, healthProto] = process.argv.slice(2);
const options = { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true };
const load = (file) => grpc.loadPackageDefinition(loader.loadSync(file, { ...options, includeDirs: [path.dirname(file)] }));
const inference = load(path.join(protos, 'grpc_service.proto')).inference;
const model = load(path.join(protos, 'model.proto')).model;
const health = load(healthProto).grpc.health.v1;
const credentials = grpc.credentials.createInsecure();
const metadata = () => { const m = new grpc.Metadata(); m.set('x-api-key', key); return m; };
const unary = (client, method, request) => new Promise((resolve, reject) =>
  client[method](request, metadata(), { deadline: Date.now() + 30000 }, (error, response) => error ? reject(error) : resolve(response)));

async function main() {
  const oip = new inference.GRPCInferenceService(address, credentials);
  const live = await unary(oip, 'ServerLive', {});
  if (!live.live) throw new Error('ServerLive said not live');

  // demo-mlp: x FP32 [1, 64] → logits; sent as raw little-endian bytes, answered raw.
  const row = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i) * 0.5);
  const response = await unary(oip, 'ModelInfer', {
    model_name: 'demo-mlp', id: 'node-1',
    inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 64] }],
    raw_input_contents: [Buffer.from(row.buffer)],
  });
  const output = response.outputs[0];
  const raw = response.raw_output_contents[0];
  const logits = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  console.log(JSON.stringify({ check: 'ModelInfer', id: response.id, output: output.name, datatype: output.datatype, shape: output.shape, logits: Array.from(logits) }));

  // An unknown model: NOT_FOUND.
  try {
    await unary(oip, 'ModelInfer', { model_name: 'no-such-model', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 64] }], raw_input_contents: [Buffer.from(row.buffer)] });
    throw new Error('an unknown model was answered');
  } catch (error) {
    if (error.code !== grpc.status.NOT_FOUND) throw error;
    console.log(JSON.stringify({ check: 'NotFound', code: error.code, details: error.details }));
  }

  // Seed 001's ModelService: a streamed chat completion from the sample's chat model, token by token.
  const service = new model.ModelService(address, credentials);
  const chunks = [];
  await new Promise((resolve, reject) => {
    const call = service.CreateChatCompletionStream({
      model_id: 'gpt2-gettysburg', messages: [{ role: 'user', content: 'Four score and seven years ago' }], max_tokens: 12, temperature: 0, stream: true,
    }, metadata(), { deadline: Date.now() + 60000 });
    call.on('data', (chunk) => chunks.push(chunk));
    call.on('error', reject);
    call.on('end', resolve);
  });
  const last = chunks[chunks.length - 1];
  console.log(JSON.stringify({
    check: 'ChatStream', chunks: chunks.length, text: chunks.map((c) => c.choices[0].delta.content).join(''),
    role: chunks[0].choices[0].delta.role, finish: last.choices[0].finish_reason, completion_tokens: last.usage && last.usage.completion_tokens,
  }));

  const probe = new health.Health(address, credentials);
  const status = await new Promise((resolve, reject) => probe.Check({ service: '' }, (e, r) => e ? reject(e) : resolve(r)));
  console.log(JSON.stringify({ check: 'Health', status: status.status }));
}

main().then(() => process.exit(0), (error) => { console.error(error && error.stack || String(error)); process.exit(1); });
