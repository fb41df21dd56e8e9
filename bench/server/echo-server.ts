/**
 * The floor: a bare node:http server that reads each request body and answers with a fixed binary inference
 * response of the size modelship sends for one row (the JSON header and `features` FP32 values), with the same
 * headers. No parsing, no inference, no logs, no metrics: what any Node HTTP server pays per request on this
 * core (Node's HTTP machinery plus the kernel's loopback TCP), which bounds what modelship can reach.
 * Usage: tsx bench/server/echo-server.ts <port> <modelName> <features>
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';

const [portArg, modelName, featuresArg] = process.argv.slice(2);
const features = Number(featuresArg);
const header = JSON.stringify({
  model_name: modelName,
  model_version: '1',
  outputs: [
    {
      name: 'y',
      datatype: 'FP32',
      shape: [1, features],
      parameters: { binary_data_size: features * 4 },
    },
  ],
});
const body = Buffer.concat([Buffer.from(header), Buffer.alloc(features * 4)]);
const headerLength = Buffer.byteLength(header);

createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    res.writeHead(200, {
      'Content-Type': 'application/octet-stream',
      'Content-Length': body.byteLength,
      'Inference-Header-Content-Length': headerLength,
      'x-request-id': randomUUID(),
    });
    res.end(body);
  });
}).listen(Number(portArg), '127.0.0.1');
