"""Modelship's example trainer: a scikit-learn classifier exported to ONNX, following the retraining job contract.

The operator runs this once per retraining run (CronJob or `kubectl modelship retrain`), non-root, on a read-only
root filesystem with a writable /tmp. It reads where to write from the MODELSHIP_* variables, trains on a dataset
shipped inside scikit-learn (no network), and leaves in the run's output folder:

  model.onnx     the classifier: input `features` FP32 [-1, F]; outputs `label` INT64 [-1] and
                 `probabilities` FP32 [-1, classes] (skl2onnx with zipmap off)
  metrics.json   accuracy, f1 (and auc for two classes) on the evaluation rows, plus lineage
  holdout.json   the evaluation rows as an inference request with their labels, which the validation job
                 (`modelship-server inspect --holdout`) scores with the serving runtime itself
  baseline.json  the input drift baseline (server-image/README.md, "Input drift"): per feature, quantile bin edges
                 over the training rows and their frequencies, and the predicted labels' frequencies; the serving
                 runtime compares live traffic with it (--baseline-uri)

and ends by writing its summary (JSON, under 4096 bytes) to MODELSHIP_TERMINATION_LOG, which Kubernetes hands back
to the operator as the container's termination message. A run that cannot finish writes `trainer failed: <why>`
there instead and exits 1.

Knobs (environment), for demos and tests:
  TRAINER_DATASET        breast_cancer (default), iris or wine
  TRAINER_SEED           which sample of the training rows this run learns from (the evaluation rows are fixed);
                         default: derived from MODELSHIP_RUN_ID, so each run differs (0 without a run id)
  TRAINER_QUALITY        good (default) or bad: trained on shuffled labels, so a quality gate must reject it
  TRAINER_OUTPUT         onnx (default) or garbage: model.onnx is not ONNX (its sha256 is right), so validation
                         must reject it
  TRAINER_HOLDOUT_ROWS   evaluation rows held out of training (default 100, at most 30 % of the dataset): the
                         metrics are computed on them and holdout.json holds them

Run by hand:  MODELSHIP_OUTPUT_DIR=/tmp/run1 MODELSHIP_TERMINATION_LOG=/tmp/run1.summary python3 train.py
"""

import hashlib
import json
import os
import sys
import time
import traceback
import zlib

SUMMARY_LIMIT = 4096
BASELINE_BINS = 10
REASON_LIMIT = 1000
DATASETS = ("breast_cancer", "iris", "wine")
# The evaluation split never changes (see train); each run trains on this share of the remaining rows.
EVALUATION_SPLIT_SEED = 0
TRAINING_SAMPLE = 0.9


class TrainerError(Exception):
    """A reason the run cannot produce a model, for the termination message."""


def log(message):
    print(f"trainer: {message}", file=sys.stderr, flush=True)


def env(name, default=None):
    value = os.environ.get(name, "").strip()
    return value if value else default


def output_dir():
    """The run's folder: MODELSHIP_OUTPUT_DIR (pvc:// outputs, mounted by the operator), created if missing."""
    directory = env("MODELSHIP_OUTPUT_DIR")
    uri = env("MODELSHIP_OUTPUT_URI", "")
    if directory is None:
        if uri.startswith("s3://"):
            raise TrainerError(
                f"MODELSHIP_OUTPUT_URI is {uri}: this example writes to pvc:// outputs only "
                "(MODELSHIP_OUTPUT_DIR); set spec.retraining.output to pvc://<claim>/<prefix>"
            )
        raise TrainerError(
            "MODELSHIP_OUTPUT_DIR is not set: the folder to write the model into "
            "(the operator sets it for pvc:// outputs)"
        )
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as e:
        raise TrainerError(f"cannot create the output folder {directory}: {e.strerror}") from e
    return directory


def int_knob(name, default, minimum):
    raw = env(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise TrainerError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise TrainerError(f"{name} must be at least {minimum}, got {value}")
    return value


def choice_knob(name, default, allowed):
    value = env(name, default)
    if value not in allowed:
        raise TrainerError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def default_seed():
    """One seed per run: the same run id gives the same model, a new run a new training sample (fresh data)."""
    run_id = env("MODELSHIP_RUN_ID")
    return zlib.crc32(run_id.encode()) % 2**31 if run_id else 0


def write_json(path, doc):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def quantile_edges(values, bins):
    """The lower i/bins-quantiles of the values (1 <= i < bins), duplicates dropped: the rule of the serving
    runtime's `modelship-server baseline` (server-image/src/monitoring/drift/compute.ts), so both agree."""
    ordered = sorted(float(v) for v in values)
    n = len(ordered)
    edges = []
    for i in range(1, bins):
        edge = ordered[-(-i * n // bins) - 1]  # ceil(i * n / bins) - 1, in integers
        if not edges or edge > edges[-1]:
            edges.append(edge)
    return edges


def bin_frequencies(values, edges):
    """The fraction of the values in each bin (-inf, e0], (e0, e1], ..., (e_last, +inf)."""
    import bisect

    counts = [0] * (len(edges) + 1)
    for v in values:
        counts[bisect.bisect_left(edges, float(v))] += 1
    return [c / len(values) for c in counts]


def baseline_document(x_train, feature_names, predicted, classes, bins=BASELINE_BINS):
    """baseline.json: the training rows' distribution per feature (input `features`, one column each) and the
    distribution of the model's own predictions on them (output `label`)."""
    features = []
    for j, name in enumerate(feature_names):
        # FP32, as the server sees the values (float() of a float32 is exact).
        column = [float(v) for v in x_train[:, j]]
        edges = quantile_edges(column, bins)
        features.append(
            {
                "name": name,
                "input": "features",
                "column": j,
                "kind": "numeric",
                "edges": edges,
                "frequencies": bin_frequencies(column, edges),
            }
        )
    values = [str(int(c)) for c in classes]
    counts = {v: 0 for v in values}
    for p in predicted:
        counts[str(int(p))] += 1
    label = {
        "output": "label",
        "kind": "categorical",
        "values": values,
        "frequencies": [counts[v] / len(predicted) for v in values] + [0.0],
    }
    return {"version": 1, "features": features, "outputs": [label]}


def train(out):
    dataset = choice_knob("TRAINER_DATASET", "breast_cancer", DATASETS)
    quality = choice_knob("TRAINER_QUALITY", "good", ("good", "bad"))
    output = choice_knob("TRAINER_OUTPUT", "onnx", ("onnx", "garbage"))
    seed = int_knob("TRAINER_SEED", default_seed(), 0)
    holdout_rows = int_knob("TRAINER_HOLDOUT_ROWS", 100, 1)

    # Imported here: a wrong knob fails in milliseconds, not after seconds of imports.
    import numpy as np
    import sklearn
    import skl2onnx
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn import datasets
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    started = time.monotonic()
    bunch = getattr(datasets, f"load_{dataset}")()
    x, y = bunch.data, bunch.target
    # Metric labels of the drift baseline: "mean radius", "sepal length (cm)", ...
    feature_names = [str(n) for n in bunch.feature_names]
    # The serving runtime sees FP32: train and evaluate on the values the model will get.
    x = x.astype(np.float32)
    y = y.astype(np.int64)
    classes = np.unique(y)
    test_rows = min(holdout_rows, int(len(y) * 0.3))
    if test_rows < len(classes):
        raise TrainerError(f"TRAINER_HOLDOUT_ROWS={holdout_rows} leaves too few rows to evaluate {dataset}")
    # The evaluation rows are the same in every run (a fixed split), so that runs, and a candidate and the version it
    # would replace, are compared on the same rows. Each run trains on its own sample of the rest: fresh data.
    x_rest, x_test, y_rest, y_test = train_test_split(
        x, y, test_size=test_rows, random_state=EVALUATION_SPLIT_SEED, stratify=y
    )
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(len(y_rest), int(len(y_rest) * TRAINING_SAMPLE), replace=False))
    x_train, y_train = x_rest[sample], y_rest[sample]
    log(
        f"dataset sklearn:{dataset}: {len(y_train)} training rows, {len(y_test)} evaluation rows, "
        f"{x.shape[1]} features, {len(classes)} classes; seed {seed}, quality {quality}, output {output}"
    )
    stable = env("MODELSHIP_STABLE_VERSION")
    if stable:
        log(f"the serving version is {stable} ({env('MODELSHIP_STABLE_MODEL_URI', 'no URI given')})")

    fit_labels = y_train
    if quality == "bad":
        # Labels shuffled: the model learns nothing about the features (about chance accuracy, the majority class
        # at best), a stand-in for a broken feature pipeline that a quality gate must catch.
        fit_labels = rng.permutation(y_train)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
    model.fit(x_train, fit_labels)

    predicted = model.predict(x_test)
    metrics = {
        "accuracy": accuracy_score(y_test, predicted),
        "f1": f1_score(y_test, predicted, average="binary" if len(classes) == 2 else "macro"),
    }
    if len(classes) == 2:
        metrics["auc"] = roc_auc_score(y_test, model.predict_proba(x_test)[:, 1])
    metrics = {k: round(float(v), 6) for k, v in metrics.items()}
    log(f"trained in {time.monotonic() - started:.1f} s: " + ", ".join(f"{k} {v}" for k, v in metrics.items()))

    model_path = os.path.join(out, "model.onnx")
    if output == "garbage":
        # Not ONNX, but a complete file whose sha256 the summary reports correctly: only loading it tells.
        with open(model_path, "wb") as f:
            f.write(b"this is not an ONNX model: TRAINER_OUTPUT=garbage\n" + bytes(range(256)))
    else:
        onnx_model = to_onnx(
            model,
            initial_types=[("features", FloatTensorType([None, x.shape[1]]))],
            options={id(model): {"zipmap": False}},
            target_opset={"": 17, "ai.onnx.ml": 3},
        )
        onnx_model.graph.name = dataset
        # skl2onnx lists the default domain's opset twice; one entry per domain is what the ONNX spec asks for.
        opsets = {o.domain: o.version for o in onnx_model.opset_import}
        del onnx_model.opset_import[:]
        for domain, version in sorted(opsets.items()):
            onnx_model.opset_import.add(domain=domain, version=version)
        # skl2onnx names the outputs output_label and output_probability; the serving contract is label and
        # probabilities, as the sample models have.
        rename_outputs(onnx_model, {"output_label": "label", "output_probability": "probabilities"})
        with open(model_path, "wb") as f:
            f.write(onnx_model.SerializeToString())

    data = {"ref": f"sklearn:{dataset}", "rows": int(len(y_train))}
    write_json(
        os.path.join(out, "holdout.json"),
        {
            "inputs": [
                {
                    "name": "features",
                    "shape": [int(len(y_test)), int(x.shape[1])],
                    "datatype": "FP32",
                    # FP32 values printed shortest (as float32, not float64) so the server parses exactly them.
                    "data": [float(np.format_float_positional(v, unique=True)) for v in x_test.ravel()],
                }
            ],
            "output": "label",
            "labels": [int(v) for v in y_test],
        },
    )
    write_json(
        os.path.join(out, "baseline.json"),
        baseline_document(x_train, feature_names, model.predict(x_train), classes),
    )
    write_json(
        os.path.join(out, "metrics.json"),
        {
            **metrics,
            "rows": data["rows"],
            "evaluationRows": int(len(y_test)),
            "data": data,
            "seed": seed,
            "quality": quality,
            "estimator": "StandardScaler + LogisticRegression",
            "runId": env("MODELSHIP_RUN_ID"),
            "deployment": env("MODELSHIP_DEPLOYMENT"),
            "modelName": env("MODELSHIP_MODEL_NAME"),
            "outputUri": env("MODELSHIP_OUTPUT_URI"),
            "stableVersion": stable,
            "stableModelUri": env("MODELSHIP_STABLE_MODEL_URI"),
            "versions": {"scikit-learn": sklearn.__version__, "skl2onnx": skl2onnx.__version__},
        },
    )
    return {
        "model": "model.onnx",
        "sha256": sha256_of(model_path),
        "metrics": metrics,
        "metricsFile": "metrics.json",
        "data": data,
        "holdout": "holdout.json",
    }


def rename_outputs(onnx_model, names):
    graph = onnx_model.graph
    for node in graph.node:
        node.output[:] = [names.get(o, o) for o in node.output]
        node.input[:] = [names.get(i, i) for i in node.input]
    for output in graph.output:
        output.name = names.get(output.name, output.name)


def report(text):
    """The termination message: the summary, or why there is none."""
    path = env("MODELSHIP_TERMINATION_LOG")
    if path is None:
        log("MODELSHIP_TERMINATION_LOG is not set: the summary goes to stdout only")
        return
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def main():
    try:
        out = output_dir()
        summary = json.dumps(train(out), separators=(",", ":"))
        if len(summary.encode()) > SUMMARY_LIMIT:
            raise TrainerError(f"the summary is {len(summary.encode())} bytes, more than {SUMMARY_LIMIT}")
    except Exception as e:  # noqa: BLE001 - every failure must reach the termination message
        if not isinstance(e, TrainerError):
            traceback.print_exc()
        # One line, short: the reason ends up in the ModelVersion's status (the traceback is in the pod's log).
        reason = " ".join(str(e).split()) or "no message"
        if not isinstance(e, TrainerError):
            reason = f"{type(e).__name__}: {reason}"
        if len(reason) > REASON_LIMIT:
            reason = reason[: REASON_LIMIT - 1] + "…"
        log(f"failed: {reason}")
        report(f"trainer failed: {reason}")
        return 1
    report(summary)
    print(summary, flush=True)
    log(f"wrote model.onnx, metrics.json, holdout.json and baseline.json to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
