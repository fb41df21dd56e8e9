/**
 * Open Inference Protocol (V2) REST types, written from the protocol's REST specification, plus the decoded forms
 * the data plane works with (typed arrays instead of JSON arrays).
 */
import type { TensorData, V2Datatype } from './datatypes.js';

export type Parameters = Record<string, unknown>;

/** One input as sent in JSON. `data` is absent when `parameters.binary_data_size` says the bytes follow the JSON. */
export interface WireInput {
  name: string;
  shape: number[];
  datatype: string;
  parameters?: Parameters;
  data?: unknown;
}

export interface WireRequestedOutput {
  name: string;
  parameters?: Parameters;
}

export interface WireInferRequest {
  id?: string;
  parameters?: Parameters;
  inputs: WireInput[];
  outputs?: WireRequestedOutput[];
}

export interface WireOutput {
  name: string;
  shape: number[];
  datatype: V2Datatype;
  parameters?: Parameters;
  data?: unknown[];
}

export interface WireInferResponse {
  model_name: string;
  model_version?: string;
  id?: string;
  parameters?: Parameters;
  outputs: WireOutput[];
}

/** Model metadata as the protocol reports it: dynamic dimensions are -1. */
export interface TensorSpec {
  name: string;
  datatype: V2Datatype;
  shape: number[];
}

export interface ModelSignature {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

/** A tensor with its contents decoded. */
export interface Tensor {
  name: string;
  datatype: V2Datatype;
  shape: number[];
  data: TensorData;
}

export interface RequestedOutput {
  name: string;
  /** true: raw bytes after the JSON header; false: JSON `data`. */
  binary: boolean;
}

/** A validated inference request: every input of the model present, shapes and sizes checked. */
export interface InferRequest {
  id?: string;
  inputs: Tensor[];
  /** The outputs to return, in the order to return them (all of the model's outputs when the request names none). */
  outputs: RequestedOutput[];
}

export interface InferResult {
  /** Only the requested outputs, in the requested order. */
  outputs: Tensor[];
}
