/**
 * The limit: onnxruntime-node in-process, no HTTP, one session.run after another on the same inputs, for each
 * batch size. Prints one JSON line: [{batch, rowsPerSecond, msPerRun, cpuRowsPerSecond}], where
 * cpuRowsPerSecond counts rows per second of this process's CPU time (user + system): the same as rowsPerSecond
 * when the core is not shared, and what the limit would be on a quiet core when it is.
 * Usage: tsx bench/server/raw-ort.ts <model.onnx> <inputName> <features> <batchSizes,comma> <secondsEach> <intraOpThreads>
 */
import * as ort from 'onnxruntime-node';

const [modelPath, inputName, featuresArg, batchesArg, secondsArg, threadsArg] = process.argv.slice(2);
const features = Number(featuresArg);
const session = await ort.InferenceSession.create(modelPath!, {
  intraOpNumThreads: Number(threadsArg ?? 1),
  graphOptimizationLevel: 'all',
});
const results = [];
for (const batch of batchesArg!.split(',').map(Number)) {
  const data = Float32Array.from({ length: batch * features }, (_, i) => Math.sin(i));
  const feeds = { [inputName!]: new ort.Tensor('float32', data, [batch, features]) };
  for (let i = 0; i < 20; i++) await session.run(feeds); // warm-up
  let runs = 0;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const until = started + Number(secondsArg) * 1000;
  while (performance.now() < until) {
    await session.run(feeds);
    runs++;
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  results.push({
    batch,
    rowsPerSecond: (runs * batch) / seconds,
    msPerRun: (seconds * 1000) / runs,
    cpuRowsPerSecond: (runs * batch) / cpuSeconds,
  });
}
console.log(JSON.stringify(results));
