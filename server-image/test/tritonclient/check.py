"""Drives a Modelship server with Triton's own client (tritonclient.http), unchanged, and checks every answer.

Usage: python check.py <host:port> <model>   (the model is test/fixtures' all-types identity model)
Prints one JSON object of what was checked; exits non-zero on the first mismatch.
"""
import json
import sys

import numpy as np
import tritonclient.http as httpclient

url, model = sys.argv[1], sys.argv[2]
client = httpclient.InferenceServerClient(url=url)
checked = {}

assert client.is_server_live()
assert client.is_server_ready()
assert client.is_model_ready(model)
checked["health"] = True

meta = client.get_server_metadata()
assert "binary_tensor_data" in meta["extensions"], meta
model_meta = client.get_model_metadata(model)
assert model_meta["platform"] == "onnx_onnxv1", model_meta
checked["metadata_inputs"] = len(model_meta["inputs"])
config = client.get_model_config(model)
assert config["max_batch_size"] > 0, config
checked["config_max_batch_size"] = config["max_batch_size"]

VALUES = {
    "BOOL": np.array([[True, False], [False, True]], dtype=np.bool_),
    "INT8": np.array([[-128, 127], [0, -1]], dtype=np.int8),
    "INT16": np.array([[-32768, 32767], [1, -1]], dtype=np.int16),
    "INT32": np.array([[-2147483648, 2147483647], [5, -5]], dtype=np.int32),
    "INT64": np.array([[-(2**63), 2**63 - 1], [0, -7]], dtype=np.int64),
    "UINT8": np.array([[0, 255], [1, 2]], dtype=np.uint8),
    "UINT16": np.array([[0, 65535], [1, 2]], dtype=np.uint16),
    "UINT32": np.array([[0, 4294967295], [1, 2]], dtype=np.uint32),
    "UINT64": np.array([[0, 2**64 - 1], [1, 2]], dtype=np.uint64),
    "FP16": np.array([[1.0, -2.0], [65504.0, 0.5]], dtype=np.float16),
    "FP32": np.array([[1.5, -2.25], [3.4e38, 1e-7]], dtype=np.float32),
    "FP64": np.array([[np.pi, -1e300], [5e-324, 0.0]], dtype=np.float64),
    "BYTES": np.array([[b"hello", "w\u00f6rld".encode()], [b"", b"\x01\x7f"]], dtype=np.object_),
}
ORT = {"BOOL": "bool", "INT8": "int8", "INT16": "int16", "INT32": "int32", "INT64": "int64", "UINT8": "uint8",
       "UINT16": "uint16", "UINT32": "uint32", "UINT64": "uint64", "FP16": "float16", "FP32": "float32",
       "FP64": "float64", "BYTES": "string"}
# Inputs JSON cannot carry exactly: 64-bit extremes beyond 2^53 (JSON.parse reads numbers as doubles), and FP16
# (binary only). The server writes 64-bit outputs exactly in JSON, so every output is checked both ways.
JSON_SAFE = {k: v for k, v in VALUES.items() if k not in ("INT64", "UINT64", "FP16")}


def run(binary_in, binary_out):
    inputs = []
    for dt, value in VALUES.items():
        i = httpclient.InferInput(f"in_{ORT[dt]}", list(value.shape), dt)
        use_binary = binary_in or dt not in JSON_SAFE
        i.set_data_from_numpy(value, binary_data=use_binary)
        inputs.append(i)
    outputs = [httpclient.InferRequestedOutput(f"out_{ORT[dt]}", binary_data=binary_out or dt == "FP16") for dt in VALUES]
    result = client.infer(model, inputs, outputs=outputs, request_id="tc-1")
    assert result.get_response()["id"] == "tc-1"
    for dt, value in VALUES.items():
        got = result.as_numpy(f"out_{ORT[dt]}")
        if dt == "BYTES" and not binary_out:
            # JSON BYTES come back as str; compare their UTF-8 bytes.
            got = np.array([[x.encode() if isinstance(x, str) else x for x in row] for row in got], dtype=np.object_)
        assert got.shape == value.shape, (dt, got.shape)
        assert np.array_equal(got, value), (dt, got, value)
    return True


checked["binary_in_binary_out"] = run(True, True)
checked["json_in_json_out"] = run(False, False)
checked["binary_in_json_out"] = run(True, False)

stats = client.get_inference_statistics(model)
checked["inference_count"] = stats["model_stats"][0]["inference_count"]
print(json.dumps(checked))
