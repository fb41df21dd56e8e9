/**
 * A payload-log collector that costs as little as possible: it reads each POSTed batch (CloudEvents, batched mode)
 * to the end and answers 204 without parsing it, so the `modelship-payload` rows measure the server's side of the
 * payload log (serializing, queueing, POSTing) and not a collector's. Runs on the load generator's CPU, away from
 * the server's. Whether every record arrived is read from the server's own counters
 * (modelship_payload_log_records_total / _dropped_total), not here.
 * Usage: tsx bench/server/collector.ts <port>
 */
import { createServer } from 'node:http';

const [portArg] = process.argv.slice(2);

createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(204);
    res.end();
  });
}).listen(Number(portArg), '127.0.0.1');
