// Types of build.mjs for the TypeScript that imports it (tests, drive scripts).
import type { BuildOptions } from 'esbuild';

export const ROOT: string;
export const SPAWNED_ENTRIES: string[];
export const NODE_BUNDLES: Array<[source: string, output: string, format: 'esm' | 'cjs']>;
export const EXTERNAL: string[];
export function nodeBundleOptions(
  source: string,
  outfile: string,
  format?: 'esm' | 'cjs',
): BuildOptions;
export function buildNode(): Promise<void>;
export function buildRenderer(): void;
