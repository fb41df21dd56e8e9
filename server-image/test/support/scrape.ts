/** Reads series off the metrics port the way Prometheus would, for exact assertions. */
import { http } from './client.js';

export interface Scrape {
  /** The value of `name{a="x",b="y"}` (labels in any order), or undefined when there is no such series. */
  value(series: string): number | undefined;
}

export async function scrape(metricsBase: string): Promise<Scrape> {
  const text = (await http(`${metricsBase}/metrics`)).body.toString();
  const key = (s: string) => {
    const m = /^([^{ ]+)(?:\{(.*)\})?$/.exec(s)!;
    return `${m[1]}{${(m[2] ?? '').split(',').filter(Boolean).sort().join(',')}}`;
  };
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const space = line.lastIndexOf(' ');
    if (!line.startsWith('#') && space > 0)
      values.set(key(line.slice(0, space)), Number(line.slice(space + 1)));
  }
  return { value: (series) => values.get(key(series)) };
}
