// The Node.js peer server: what a Node developer writes to serve one ONNX model without a serving library. One
// onnxruntime-node session behind Node's http server, one run per request (no batching, no auth), answering seed 000's
// POST /api/v1/models/{model_id}/inference with the body ModelKit takes and the fields it answers. input_data is one
// float matrix for a single-input model, or an object of named int64/float matrices.
//   node server.js <model.onnx> <model_id> [port=9104]
// Install with: npm install --prefix benchmarks/peers/NodeServer --no-package-lock --ignore-scripts
// (--ignore-scripts: the package's install script would fetch GPU binaries from outside npm; the CPU ones are in the package).
'use strict';
const http = require('node:http');
const crypto = require('node:crypto');
const ort = require('onnxruntime-node');

const [modelPath, modelId, portText] = process.argv.slice(2);
if (!modelPath || !modelId) {
  console.error('usage: node server.js <model.onnx> <model_id> [port=9104]');
  process.exit(2);
}
const port = Number(portText || 9104);

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
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
