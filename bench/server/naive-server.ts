/**
 * The naive baseline: the Express wrapper people write by hand around onnxruntime-node. express.json() parses the
 * body, each request converts its JSON arrays to tensors and calls session.run on its own, outputs go back as JSON
 * arrays. It speaks the same V2 JSON as the real server so one load generator drives both.
 * Usage: tsx bench/server/naive-server.ts <model.onnx> <port> <intraOpThreads>
 */
import express from 'express';
import * as ort from 'onnxruntime-node';

const [modelPath, portArg, threadsArg] = process.argv.slice(2);
const session = await ort.InferenceSession.create(modelPath!, { intraOpNumThreads: Number(threadsArg ?? 1) });
const app = express();
app.use(express.json({ limit: '64mb' }));

interface Input {
  name: string;
  shape: number[];
  datatype: string;
  data: number[];
}

app.post('/v2/models/:model/infer', async (req, res) => {
  try {
    const feeds: Record<string, ort.Tensor> = {};
    for (const input of req.body.inputs as Input[]) {
      feeds[input.name] = new ort.Tensor(
        'float32',
        Float32Array.from(input.data.flat(Infinity) as number[]),
        input.shape,
      );
    }
    const results = await session.run(feeds);
    res.json({
      model_name: req.params.model,
      outputs: Object.entries(results).map(([name, t]) => ({
        name,
        shape: t.dims,
        datatype: t.type === 'int64' ? 'INT64' : 'FP32',
        data: Array.from(t.data as Float32Array, Number),
      })),
    });
  } catch (err) {
    res.status(400).json({ error: String(err) });
  }
});

app.listen(Number(portArg), '127.0.0.1', () => console.log('listening'));
